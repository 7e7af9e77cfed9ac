//! Lowercase RFC 4648 base32 without padding, with strict (canonical-only) decoding.
//!
//! The alphabet `a–z 2–7` has no `_` (the key's separator), no look-alike case pairs, and
//! survives URLs, headers and double-click selection. Decoding refuses any character outside the
//! alphabet, impossible lengths and non-zero trailing bits, so every key has exactly one text.

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Number of characters that encode `len` bytes.
pub(crate) const fn encoded_len(len: usize) -> usize {
    (len * 8).div_ceil(5)
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 0x1F)]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            ALPHABET[usize::from((buffer << (5 - bits)) & 0x1F)],
        ));
    }
    out
}

fn value_of(c: u8) -> Option<u16> {
    match c {
        b'a'..=b'z' => Some(u16::from(c - b'a')),
        b'2'..=b'7' => Some(u16::from(c - b'2') + 26),
        _ => None,
    }
}

/// Decodes `text`, or `None` if it is not the canonical encoding of some byte string.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &c in text.as_bytes() {
        buffer = (buffer << 5) | value_of(c)?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xFF).ok()?);
            buffer &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be fewer than 5 (else a whole character was spare) and all zero.
    if bits >= 5 || buffer != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rfc4648_vectors_lowercased() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn refuses_non_canonical_and_foreign_text() {
        assert_eq!(decode("mz"), None); // "f" is "my": non-zero trailing bits
        assert_eq!(decode("m"), None); // a lone character cannot end a byte
        assert_eq!(decode("MZXW6"), None); // uppercase
        assert_eq!(decode("mzxw6="), None); // padding
        assert_eq!(decode("mzx_6"), None);
        assert_eq!(decode("mzxw1"), None); // '1' is not in the alphabet
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = encode(&bytes);
            prop_assert_eq!(text.len(), encoded_len(bytes.len()));
            prop_assert_eq!(decode(&text), Some(bytes));
        }

        #[test]
        fn decode_never_panics_and_is_canonical(text in "\\PC{0,80}") {
            if let Some(bytes) = decode(&text) {
                prop_assert_eq!(encode(&bytes), text);
            }
        }
    }
}
