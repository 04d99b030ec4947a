//! Binary payloads (inline data, thought signatures) as ADK serializes them: base64 text.
//! adk-python writes URL-safe base64 with padding; input is accepted in the standard or
//! the URL-safe alphabet, padded or not.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes that serialize as URL-safe padded base64, like adk-python's `bytes` fields.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    /// Decodes base64 in either alphabet, with or without padding.
    pub fn decode(text: &str) -> Option<Self> {
        let text = text.trim();
        for engine in [&URL_SAFE, &STANDARD] {
            if let Ok(b) = engine.decode(text) {
                return Some(Base64Bytes(b));
            }
        }
        for engine in [&URL_SAFE_NO_PAD, &STANDARD_NO_PAD] {
            if let Ok(b) = engine.decode(text.trim_end_matches('=')) {
                return Some(Base64Bytes(b));
            }
        }
        None
    }

    /// The canonical text: URL-safe alphabet with padding.
    pub fn encode(&self) -> String {
        URL_SAFE.encode(&self.0)
    }
}

impl From<Vec<u8>> for Base64Bytes {
    fn from(v: Vec<u8>) -> Self {
        Base64Bytes(v)
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Base64Bytes::decode(&text).ok_or_else(|| {
            serde::de::Error::custom("invalid base64 (standard or URL-safe expected)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_alphabets_decode_to_the_same_bytes() {
        let raw = vec![0xff, 0xfe, 0x00, 0x01, 0x3f, 0x3e];
        assert_eq!(Base64Bytes::decode("__4AAT8-").unwrap().0, raw);
        assert_eq!(Base64Bytes::decode("//4AAT8+").unwrap().0, raw);
        assert_eq!(Base64Bytes::decode("/w").unwrap().0, vec![0xff]);
        assert_eq!(Base64Bytes(raw).encode(), "__4AAT8-");
        assert!(Base64Bytes::decode("not base64!").is_none());
    }
}
