//! Picks the memory layout of the emulated board from the target, and links
//! with cortex-m-rt's `link.x`.

use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

/// qemu `lm3s6965evb` (Cortex-M3): 256 KiB flash at 0, 64 KiB RAM.
const LM3S6965: &str = "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 64K\n}\n";
/// qemu `microbit`, nRF51822 (Cortex-M0): 256 KiB flash at 0, 16 KiB RAM.
const NRF51822: &str = "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 16K\n}\n";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(board_microbit)");
    let target = env::var("TARGET").unwrap_or_default();
    let memory = match target.as_str() {
        "thumbv7m-none-eabi" => LM3S6965,
        "thumbv6m-none-eabi" => NRF51822,
        other => {
            eprintln!(
                "tripline-mcu is firmware: build it with --target thumbv7m-none-eabi \
                 or thumbv6m-none-eabi (got {other:?})"
            );
            return ExitCode::FAILURE;
        }
    };
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("OUT_DIR is not set");
        return ExitCode::FAILURE;
    };
    if let Err(e) = fs::write(out.join("memory.x"), memory) {
        eprintln!("cannot write memory.x: {e}");
        return ExitCode::FAILURE;
    }
    if target == "thumbv6m-none-eabi" {
        println!("cargo:rustc-cfg=board_microbit");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    ExitCode::SUCCESS
}
