//! A client's request body on the anthropic route.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::protocol::Protocol;

fuzz_target!(|data: &[u8]| switchyard_fuzz::request(Protocol::Anthropic, data));
