//! `formats::parse` on an API body posted as InputKind::Json: any input, no panic.
//! Oracle (oracle/mod.rs): an accepted body renders in every format and reads back equal.
#![no_main]

#[path = "../oracle/mod.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;
use syndic::formats::InputKind;

fuzz_target!(|data: &[u8]| {
    oracle::tolerate_known_panics();
    oracle::publisher(InputKind::Json, data);
});
