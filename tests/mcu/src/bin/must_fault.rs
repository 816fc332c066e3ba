//! Harness self-test: a check that executes an undefined instruction. Run on
//! qemu, the HardFault handler must exit non-zero.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use tripline_mcu::{failing_handlers, run_all, Check, Outcome};

failing_handlers!();

fn undefined_instruction() -> Outcome {
    cortex_m::asm::udf()
}

#[entry]
fn main() -> ! {
    run_all(
        "harness self-test (a HardFault)",
        &[Check {
            name: "undefined_instruction",
            run: undefined_instruction,
        }],
    )
}
