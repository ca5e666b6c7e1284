//! An upstream's complete (non-streamed) answer, read by every protocol's decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::upstream_response(data));
