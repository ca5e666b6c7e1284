//! A Responses API event stream, as the Responses decoder reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::protocol::responses::EventDecoder;

fuzz_target!(|data: &[u8]| {
    let decoder = Box::new(EventDecoder::new(&switchyard_fuzz::meta()));
    switchyard_fuzz::stream(decoder, data);
});
