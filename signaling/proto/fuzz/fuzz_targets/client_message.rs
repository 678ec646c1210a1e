//! Any bytes a client may send: parsing never panics, and whatever parses writes back out and
//! reads in again as the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use q10_signaling_proto::ClientMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(message) = ClientMessage::parse(text) {
        let written = serde_json::to_string(&message).expect("a parsed message serializes");
        assert_eq!(ClientMessage::parse(&written).expect("what we write we read"), message);
    }
});
