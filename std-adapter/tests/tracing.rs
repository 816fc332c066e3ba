//! `tracing` records for state changes and rejections, carrying the name.
//! Alone in its file: tracing caches per-callsite interest process-wide, so a
//! scoped subscriber is only reliable when no other test thread logs.
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tripline_core::Config;
use tripline_std::CircuitBreaker;

#[test]
fn state_changes_and_rejections_become_tracing_events_with_the_name() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("no panic").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Buffer::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let b = CircuitBreaker::new(
            "payments",
            Config::builder()
                .consecutive_failures(1)
                .open_duration(Duration::from_secs(1))
                .build()
                .expect("valid configuration"),
        );
        let _ = b.call(|| Err::<(), _>(()));
        let _ = b.call(|| Ok::<_, ()>(()));
    });
    let text = String::from_utf8(out.0.lock().expect("no panic").clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(" WARN"), "{text}");
    assert!(
        lines[0]
            .contains("circuit breaker state changed breaker=payments from=\"closed\" to=\"open\""),
        "{text}"
    );
    assert!(lines[1].starts_with("DEBUG"), "{text}");
    assert!(
        lines[1].contains("call rejected by circuit breaker breaker=payments reason=Open"),
        "{text}"
    );
}
