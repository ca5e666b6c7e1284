//! An upstream's openai event stream, as the relay reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::protocol::Protocol;

fuzz_target!(|data: &[u8]| {
    let decoder = Protocol::OpenAi.stream_decoder(&switchyard_fuzz::meta());
    switchyard_fuzz::stream(decoder, data);
});
