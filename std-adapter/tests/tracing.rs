//! `tracing` records for state changes and rejections, carrying the name.
//! Alone in its file: tracing caches per-callsite interest process-wide, so a
//! scoped subscriber is only reliable when no other test thread logs.
#![cfg(feature = "tracing")]

#[path = "support/log_capture.rs"]
mod log_capture;

use log_capture::capture;

use std::time::Duration;

use tripline_core::Config;
use tripline_std::CircuitBreaker;

#[test]
fn state_changes_and_rejections_become_tracing_events_with_the_name() {
    let (subscriber, out) = capture(tracing::Level::DEBUG);
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
    let text = out.text();
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
