//! Harness self-test: one check that fails. Run on qemu, it must exit
//! non-zero, or the harness could not report a failure.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use tripline_mcu::{ensure_eq, failing_handlers, run_all, Check, Outcome};

failing_handlers!();

fn one_is_two() -> Outcome {
    ensure_eq(1, 2)
}

#[entry]
fn main() -> ! {
    run_all(
        "harness self-test (a failing check)",
        &[Check {
            name: "one_is_two",
            run: one_is_two,
        }],
    )
}
