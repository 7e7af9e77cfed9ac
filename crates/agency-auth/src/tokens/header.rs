//! The compact-form guard and the raw JOSE header, checked before anything else is decoded.
//!
//! jsonwebtoken's `Header` silently ignores parameters it does not act on (`crit`, `jku`, `x5u`,
//! `x5c`, an embedded `jwk`) and keeps the last of duplicated members, so this module reads the
//! header JSON itself. Guarantees: a token longer than [`MAX_TOKEN_BYTES`], or anything but three
//! non-empty, unpadded base64url parts joined by two dots, is refused without decoding a byte; a
//! header with a forbidden parameter, a duplicated member, or more than [`MAX_HEADER_PARAMS`]
//! members is refused.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::error::TokenError;

/// Longest token accepted, in bytes (8 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Most members a JOSE header may have.
pub const MAX_HEADER_PARAMS: usize = 16;

/// Header parameters that are refused outright. `crit` would oblige us to understand extensions
/// we do not implement; `jku`, `x5u`, `x5c` and `jwk` let a token name or carry its own key; `enc`
/// and `zip` belong to JWE; `b64` (RFC 7797) changes what is signed.
const FORBIDDEN: [&str; 8] = ["crit", "jku", "x5u", "x5c", "jwk", "enc", "zip", "b64"];

/// The three parts of a compact JWS, still base64url encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompactParts<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header.payload`: the bytes the signature covers.
    pub(crate) signing_input: &'a str,
}

/// Splits a compact JWS after checking its size and alphabet. No decoding happens here.
pub(crate) fn split_compact(token: &str) -> Result<CompactParts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let bytes = token.as_bytes();
    let mut dots = [0_usize; 2];
    let mut count = 0;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            b'.' => {
                if count == 2 {
                    return Err(TokenError::Malformed); // JWE (5 parts) or worse
                }
                dots[count] = i;
                count += 1;
            }
            // Whitespace, padding, '+' and '/', JSON serialisation braces, anything else.
            _ => return Err(TokenError::Malformed),
        }
    }
    if count != 2 || dots[0] == 0 || dots[1] == dots[0] + 1 || dots[1] + 1 == bytes.len() {
        return Err(TokenError::Malformed);
    }
    Ok(CompactParts {
        header: &token[..dots[0]],
        payload: &token[dots[0] + 1..dots[1]],
        signature: &token[dots[1] + 1..],
        signing_input: &token[..dots[1]],
    })
}

/// Decodes one unpadded base64url part (non-canonical trailing bits are refused).
pub(crate) fn decode_part(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)
}

/// The members of the JOSE header this crate acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// Decodes and checks the header part.
pub(crate) fn parse_header(header_b64: &str) -> Result<RawHeader, TokenError> {
    let json = decode_part(header_b64)?;
    // The whole header must be UTF-8 (RFC 7515 section 4), not only the members read here:
    // parsing from bytes would skip invalid text inside an ignored member unchecked.
    let json = std::str::from_utf8(&json).map_err(|_| TokenError::Malformed)?;
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let parsed = deserializer.deserialize_map(HeaderVisitor);
    let header = match parsed {
        Ok(header) => header,
        Err(error) => return Err(forbidden_from(&error).unwrap_or(TokenError::Malformed)),
    };
    deserializer.end().map_err(|_| TokenError::Malformed)?;
    header
}

/// serde errors carry strings; map our own forbidden-parameter marker back to its constant.
fn forbidden_from(error: &serde_json::Error) -> Option<TokenError> {
    let text = error.to_string();
    let name = text.strip_prefix("forbidden header parameter ")?;
    let name = name.split_whitespace().next()?;
    FORBIDDEN
        .iter()
        .find(|f| **f == name)
        .map(|f| TokenError::ForbiddenHeader(f))
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Result<RawHeader, TokenError>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen: Vec<String> = Vec::new();
        let (mut alg, mut kid, mut typ) = (None, None, None);
        while let Some(name) = map.next_key::<String>()? {
            if seen.len() == MAX_HEADER_PARAMS || seen.contains(&name) {
                return Err(de::Error::custom("duplicate or too many header members"));
            }
            if let Some(forbidden) = FORBIDDEN.iter().find(|f| **f == name) {
                return Err(de::Error::custom(format_args!(
                    "forbidden header parameter {forbidden}"
                )));
            }
            match name.as_str() {
                "alg" => alg = Some(map.next_value::<String>()?),
                "kid" => kid = Some(map.next_value::<String>()?),
                "typ" => typ = Some(map.next_value::<String>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            seen.push(name);
        }
        Ok(alg
            .map(|alg| RawHeader { alg, kid, typ })
            .ok_or(TokenError::Malformed))
    }
}

/// True when `typ` names an RFC 9068 access token (`at+jwt`, with or without `application/`;
/// media types compare case-insensitively).
pub(crate) fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case("at+jwt")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn token_over_8_kib_is_refused_before_decoding() {
        let token = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(split_compact(&token).unwrap_err(), TokenError::TooLarge);
    }

    #[test]
    fn non_compact_forms_are_refused() {
        for token in [
            "a.b.c.d.e",
            "a.b",
            "abc",
            "",
            "..",
            "a..c",
            ".b.c",
            "a.b.",
            "a.b.c ",
            " a.b.c",
            "a.b\n.c",
            "a=.b.c",
            "a.b.c==",
            "a+b.c.d",
            r#"{"payload":"x","signatures":[]}"#,
        ] {
            assert_eq!(
                split_compact(token).unwrap_err(),
                TokenError::Malformed,
                "{token:?}"
            );
        }
        assert!(split_compact("a.b.c").is_ok());
    }

    #[test]
    fn forbidden_header_parameters_are_refused_even_when_escaped() {
        for name in FORBIDDEN {
            let header = b64(&format!(r#"{{"alg":"ES256","kid":"k","{name}":"x"}}"#));
            assert_eq!(
                parse_header(&header).unwrap_err(),
                TokenError::ForbiddenHeader(name)
            );
        }
        // "\u0063rit" is "crit" once unescaped.
        let header = b64(r#"{"alg":"ES256","\u0063rit":["exp"]}"#);
        assert_eq!(
            parse_header(&header).unwrap_err(),
            TokenError::ForbiddenHeader("crit")
        );
    }

    #[test]
    fn duplicate_header_members_are_refused() {
        let header = b64(r#"{"alg":"HS256","kid":"a","alg":"none"}"#);
        assert_eq!(parse_header(&header).unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn header_without_alg_or_not_an_object_is_malformed() {
        for json in [
            r#"{"kid":"a"}"#,
            "[]",
            "null",
            r#"{"alg":1}"#,
            r#"{"alg":"HS256"} x"#,
        ] {
            assert_eq!(
                parse_header(&b64(json)).unwrap_err(),
                TokenError::Malformed,
                "{json}"
            );
        }
    }

    #[test]
    fn access_token_type_names() {
        assert!(is_access_token_type("at+jwt"));
        assert!(is_access_token_type("application/AT+JWT"));
        assert!(!is_access_token_type("JWT"));
        assert!(!is_access_token_type("refresh+jwt"));
    }
}
