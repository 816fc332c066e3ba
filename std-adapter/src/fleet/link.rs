//! The link to Redis: connecting and running commands under the command
//! timeout, telling a refused command from a broken link, the reconnect
//! backoff, and the last error seen.

use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tripline_core::{Backoff, Jitter, Rate};

use super::{lock, Shared};

/// Why a command did not succeed.
pub(super) enum Fault {
    /// Redis answered with an error: that command failed, the link is fine.
    Refused,
    /// An I/O error or a timeout: the link is given up.
    Broken,
}

/// Connection attempts back off exponentially, with jitter, from 50 ms up to 5 s.
pub(super) const RECONNECT: Backoff = match Backoff::exponential(Duration::from_millis(50), 2_000)
    .max_delay(Duration::from_secs(5))
    .jitter(Jitter::Bounded(Rate::percent(20)))
    .build()
{
    Ok(b) => b,
    Err(e) => panic!("{}", e.as_str()),
};

impl Shared {
    pub(super) fn note_error(&self, error: &dyn std::fmt::Display) {
        *lock(&self.last_error) = Some(error.to_string());
    }

    pub(super) async fn connect(&self) -> Option<MultiplexedConnection> {
        let connecting = self.config.client.get_multiplexed_async_connection();
        match tokio::time::timeout(self.config.op_timeout, connecting).await {
            Ok(Ok(conn)) => {
                self.counts.connects.fetch_add(1, Ordering::Relaxed);
                Some(conn)
            }
            Ok(Err(e)) => {
                self.note_error(&e);
                self.counts.connect_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                self.note_error(&"connecting to Redis timed out");
                self.counts.connect_failures.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Runs one command with the op timeout.
    pub(super) async fn run<T>(
        &self,
        cmd: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Fault> {
        match tokio::time::timeout(self.config.op_timeout, cmd).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                self.note_error(&e);
                Err(fault(&e))
            }
            Err(_) => {
                self.note_error(&"a Redis command timed out");
                Err(Fault::Broken)
            }
        }
    }
}

/// An error reply (`READONLY`, `NOPERM`, `WRONGTYPE`, an out-of-range
/// argument) fails one command; anything else means the link is gone.
pub(super) fn fault(e: &redis::RedisError) -> Fault {
    let broken = e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), redis::ErrorKind::Parse);
    if broken {
        Fault::Broken
    } else {
        Fault::Refused
    }
}
