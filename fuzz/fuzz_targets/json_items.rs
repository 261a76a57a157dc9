//! `formats::parse` on an API body posted as InputKind::Json: any input, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syndic::formats::{InputKind, parse};

fuzz_target!(|data: &[u8]| {
    let _ = parse(InputKind::Json, data);
});
