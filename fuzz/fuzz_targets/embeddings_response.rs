//! An upstream's embeddings answer (OpenAI, Gemini); the first byte is the number of inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchyard_fuzz::embeddings_response(data));
