//! `Registry::get_or_create` with another config for an existing name logs
//! a warning. Alone in its file: tracing caches per-callsite interest
//! process-wide, so a scoped subscriber is only reliable when no other test
//! thread logs.
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use tripline_core::Config;
use tripline_std::Registry;

#[test]
fn a_config_mismatch_in_get_or_create_is_a_tracing_warning() {
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
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let strict = Config::builder()
        .consecutive_failures(1)
        .build()
        .expect("valid configuration");
    let registry = Registry::new();
    tracing::subscriber::with_default(subscriber, || {
        registry.get_or_create("ledger", Config::DEFAULT);
        registry.get_or_create("ledger", Config::DEFAULT); // the same: silent
        let kept = registry.get_or_create("ledger", strict);
        assert_eq!(kept.config(), Config::DEFAULT);
    });
    let text = String::from_utf8(out.0.lock().expect("no panic").clone()).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with(" WARN"), "{text}");
    assert!(
        lines[0].contains(
            "circuit breaker already exists with another config; it keeps its own breaker=\"ledger\""
        ),
        "{text}"
    );
    assert!(lines[0].contains("requested=Config"), "{text}");
}
