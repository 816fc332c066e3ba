//! A generic Cortex-M memory map (256 KiB flash, 64 KiB RAM) for cortex-m-rt's
//! `link.x`; the probes are measured, never run.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let memory = "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 64K\n}\n";
    if let Err(e) = std::fs::write(out.join("memory.x"), memory) {
        println!("cargo::error=cannot write memory.x: {e}");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
}
