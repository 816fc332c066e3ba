//! The harness of the on-target checks: a list of named check functions run
//! in order, each reported over semihosting as `ok` or `FAIL`, then an exit
//! through semihosting that is non-zero if any check failed.
//!
//! The firmware binaries in `src/bin` use it; `core_only` and `baseline`
//! (the footprint probes) do not, so that no semihosting code is counted in
//! them.
#![no_std]

use core::fmt::Debug;
use core::panic::Location;

use cortex_m_semihosting::{debug, hprint, hprintln};

/// Why a check failed: the source line of the failed expectation.
#[derive(Clone, Copy, Debug)]
pub struct Fail {
    /// Where the failed expectation is.
    pub location: &'static Location<'static>,
}

impl Fail {
    /// A failure at the caller's location.
    #[track_caller]
    #[must_use]
    pub fn here() -> Fail {
        Fail {
            location: Location::caller(),
        }
    }
}

/// What a check returns.
pub type Outcome = Result<(), Fail>;

/// One named check.
#[derive(Clone, Copy)]
pub struct Check {
    /// Printed before the verdict.
    pub name: &'static str,
    /// The check itself.
    pub run: fn() -> Outcome,
}

/// Fails the check at the caller's line unless `cond` holds.
///
/// # Errors
/// [`Fail`] at the caller's location when `cond` is false.
#[track_caller]
pub fn ensure(cond: bool) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(Fail::here())
    }
}

/// Fails the check at the caller's line unless `left == right`, printing both.
///
/// # Errors
/// [`Fail`] at the caller's location when the values differ.
#[track_caller]
pub fn ensure_eq<T: PartialEq + Debug>(left: T, right: T) -> Outcome {
    if left == right {
        Ok(())
    } else {
        hprint!("left {:?} != right {:?}; ", left, right);
        Err(Fail::here())
    }
}

/// Runs every check, prints the verdicts and a closing line
/// `mcu: N passed, N failed`, and exits qemu: success only if all passed.
pub fn run_all(board: &str, checks: &[Check]) -> ! {
    hprintln!("tripline-core on {}: {} checks", board, checks.len());
    let mut failed = 0u32;
    for check in checks {
        hprint!("  {} ... ", check.name);
        match (check.run)() {
            Ok(()) => hprintln!("ok"),
            Err(fail) => {
                failed += 1;
                hprintln!("FAIL at {}:{}", fail.location.file(), fail.location.line());
            }
        }
    }
    let total = checks.len() as u32;
    hprintln!("mcu: {} passed, {} failed", total - failed, failed);
    exit(failed == 0)
}

/// Ends the emulation: exit code 0 if `success`, non-zero otherwise.
pub fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a debugger or emulator listening.
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Defines the panic handler and the HardFault handler of a harness binary:
/// both print what happened and exit qemu with failure, so that a panic or a
/// fault can never look like a pass.
#[macro_export]
macro_rules! failing_handlers {
    () => {
        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo) -> ! {
            cortex_m_semihosting::hprintln!("PANIC: {}", info);
            $crate::exit(false)
        }

        // cortex-m-rt requires the HardFault handler to be an `unsafe fn`;
        // it only reports and exits.
        #[allow(unsafe_code)]
        #[cortex_m_rt::exception]
        unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
            cortex_m_semihosting::hprintln!("HARDFAULT at pc {:#010x}", frame.pc());
            $crate::exit(false)
        }
    };
}
