//! An embeddings request body as each client shape sends it (OpenAI, Gemini one and batch).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::embeddings_request(data));
