#![no_main]
//! Fuzz target `metadata`: see `harness.rs` for what it feeds to the scanner.

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::metadata(data));
