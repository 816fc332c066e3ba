//! What the `tracing` tests share: a subscriber that writes plain lines
//! (no colour, no time) into a buffer the test reads back.

use std::sync::{Arc, Mutex};

/// The lines logged so far.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("no panic").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything logged, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("no panic").clone()).expect("utf-8")
    }
}

/// A subscriber for events at `level` and above, and where they go.
pub fn capture(level: tracing::Level) -> (impl tracing::Subscriber + Send + Sync, Captured) {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    (subscriber, out)
}
