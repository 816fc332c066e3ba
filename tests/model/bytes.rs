//! Builds a configuration and an operation sequence from raw bytes, for the
//! fuzz target (`fuzz/fuzz_targets/model.rs`) and its stable smoke test
//! (`tests/model.rs`). Every byte string decodes to something; a short one
//! ends with zeros.

use crate::reference::{Kind, Op, Spec};
use tripline::State;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    fn flag(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    /// A duration in µs: one tag byte picks its scale, near-`u64::MAX` included.
    fn micros(&mut self) -> u64 {
        match self.u8() % 8 {
            0..=2 => u64::from(self.u16()) % 5_000,
            3 | 4 => u64::from(self.u32()) % 20_000_000,
            5 => u64::MAX - u64::from(self.u32()),
            6 => u64::MAX,
            _ => self.u64(),
        }
    }
    fn state(&mut self) -> State {
        match self.u8() % 6 {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            4 => State::Disabled,
            _ => State::MetricsOnly,
        }
    }
    fn kind(&mut self) -> Kind {
        match self.u8() % 8 {
            0..=2 => Kind::Success,
            3..=5 => Kind::Failure,
            6 => Kind::RetryAfter(self.micros()),
            _ => Kind::Ignored,
        }
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.flag() {
            Some(f(self))
        } else {
            None
        }
    }
}

/// The configuration inputs (not always valid: the builder must refuse
/// exactly the invalid ones) and the operations encoded in `data`.
pub fn decode(data: &[u8]) -> (Spec, Vec<Op>) {
    let mut b = Bytes(data);
    let spec = Spec {
        window: [1, 4, 10][usize::from(b.u8() % 3)],
        time_window: b.opt(|b| ([1, 3, 8][usize::from(b.u8() % 3)], b.micros())),
        consecutive_failures: b.opt(|b| u32::from(b.u8() % 8)),
        failure_rate: b.opt(|b| b.u16() % 1_100),
        slow_rate: b.opt(|b| (b.u16() % 1_100, u64::from(b.u16() % 4_000))),
        minimum_calls: u32::from(b.u8() % 14),
        open_us: b.micros(),
        backoff: b.opt(|b| (900 + b.u32() % 3_000, b.micros())),
        jitter: b.opt(|b| (b.u16() % 1_100, b.u32())),
        half_open_permits: u16::from(b.u8() % 5),
        half_open_successes: u16::from(b.u8() % 5),
        half_open_limit_us: b.opt(|b| b.micros()),
        count_cancel_as_failure: b.flag(),
        initial_state: b.state(),
        track_latency: b.flag(),
    };
    let mut ops = Vec::new();
    while !b.0.is_empty() && ops.len() < 400 {
        let op = match b.u8() % 16 {
            0..=2 => Op::Acquire,
            3..=5 => Op::Record(usize::from(b.u8()), b.kind()),
            6 => Op::Cancel(usize::from(b.u8())),
            7..=9 => Op::Call(b.kind(), b.micros()),
            10 | 11 => Op::Advance(b.micros()),
            12 => Op::SetClock(b.micros()),
            13 => Op::Transition(b.state()),
            14 => Op::OpenFor(b.micros()),
            _ => Op::Reset,
        };
        ops.push(op);
    }
    (spec, ops)
}
