//! `Registry::get_or_create` with another config for an existing name logs
//! a warning. Alone in its file: tracing caches per-callsite interest
//! process-wide, so a scoped subscriber is only reliable when no other test
//! thread logs.
#![cfg(feature = "tracing")]

#[path = "support/log_capture.rs"]
mod log_capture;

use log_capture::capture;

use tripline_core::Config;
use tripline_std::Registry;

#[test]
fn a_config_mismatch_in_get_or_create_is_a_tracing_warning() {
    let (subscriber, out) = capture(tracing::Level::WARN);
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
    let text = out.text();
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
