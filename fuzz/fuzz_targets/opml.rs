//! `formats::opml::parse` on an OPML import: any input, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = syndic::formats::opml::parse(data);
});
