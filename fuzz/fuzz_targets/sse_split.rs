//! The SSE splitter the relay reads translated streams with.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    switchyard_fuzz::sse_split(data);
});
