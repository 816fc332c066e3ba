//! Bytes → a configuration and an operation sequence → the core and the
//! reference model side by side, compared after every step, with the
//! invariants checked (tests/model/reference.rs). A configuration the builder
//! refuses must be one the documented rules refuse, and the other way round.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/model/reference.rs"]
mod reference;

#[path = "../../tests/model/bytes.rs"]
mod bytes;

fuzz_target!(|data: &[u8]| {
    let (spec, ops) = bytes::decode(data);
    if let Err(e) = reference::check_both(&spec, &ops) {
        panic!("{e}\n{spec:?}\n{ops:?}");
    }
});
