//! `formats::opml::parse` on an OPML import: any input, no panic.
#![no_main]

#[path = "../oracle/mod.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oracle::tolerate_known_panics();
    let _ = syndic::formats::opml::parse(data);
});
