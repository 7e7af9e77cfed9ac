//! Credentials recognised by their shape wherever they appear in text: in free-text fields
//! (`error_message`, `user_agent`, ...), in string values under ordinary keys, and inside
//! strings that embed other text.
//!
//! Recognised: JWTs (`eyJ…` header, then one or two more base64url segments), this workspace's
//! API keys (`<prefix>_<24 base32>_<56 base32>`), its refresh tokens (`rt_` and 43 base64url
//! characters), and the credential after an HTTP `Bearer` or `Basic` scheme word. Each is
//! replaced by [`REDACTED`](super::REDACTED); the text around it is kept.
//!
//! Written by hand rather than with a regex engine: the shapes are fixed, the scan is one pass
//! over the bytes with no backtracking, and the audit crate stays free of a regex dependency.

use std::borrow::Cow;

use super::REDACTED;

/// Characters a credential is made of (base64url, base64, base32 and the JWT dot): a scanned
/// "word" is a maximal run of them.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+' | b'/' | b'=' | b'~')
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_b32(b: u8) -> bool {
    b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)
}

/// Length of the run of `pred` bytes at the start of `s`.
fn run(s: &[u8], pred: fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&b| pred(b)).count()
}

/// Whether `word` is or contains a credential of a recognised shape.
fn holds_credential(word: &[u8]) -> bool {
    (0..word.len()).any(|i| {
        let rest = word.get(i..).unwrap_or_default();
        let starts_word = i == 0 || word.get(i - 1).is_some_and(|&b| !b.is_ascii_alphanumeric());
        is_jwt_at(rest) || (starts_word && is_refresh_token_at(rest)) || is_api_key_tail_at(rest)
    })
}

/// `eyJ` + base64url, `.`, base64url (a JWS or the first part of a JWE).
fn is_jwt_at(s: &[u8]) -> bool {
    if !s.starts_with(b"eyJ") {
        return false;
    }
    let header = run(s, is_b64url);
    if header < 10 || s.get(header) != Some(&b'.') {
        return false;
    }
    let payload = run(s.get(header + 1..).unwrap_or_default(), is_b64url);
    payload >= 2
}

/// `rt_` + 43 base64url characters.
fn is_refresh_token_at(s: &[u8]) -> bool {
    s.starts_with(b"rt_") && run(s.get(3..).unwrap_or_default(), is_b64url) >= 43
}

/// `_` + 24 base32 + `_` + 56 base32: the id and secret of an API key after its prefix.
fn is_api_key_tail_at(s: &[u8]) -> bool {
    let Some(rest) = s.strip_prefix(b"_") else {
        return false;
    };
    run(rest, is_b32) == 24
        && rest.get(24) == Some(&b'_')
        && run(rest.get(25..).unwrap_or_default(), is_b32) >= 56
}

/// `text` with every recognised credential replaced by `[REDACTED]`; borrowed when there is
/// none (the common case costs one scan and no allocation).
///
/// ```
/// use agency_audit::redact::scrub_credentials;
/// let text = "login failed for token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln (expired)";
/// assert_eq!(scrub_credentials(text), "login failed for token [REDACTED] (expired)");
/// assert_eq!(scrub_credentials("Authorization: Bearer abc.def"), "Authorization: Bearer [REDACTED]");
/// assert!(matches!(scrub_credentials("nothing here"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn scrub_credentials(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already accounted for in `out`
    let mut i = 0;
    let mut after_scheme = false;
    while i < bytes.len() {
        let len = run(bytes.get(i..).unwrap_or_default(), is_token_byte);
        if len == 0 {
            // Whitespace keeps a pending scheme word in force; anything else ends it.
            if !bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                after_scheme = false;
            }
            i += 1;
            continue;
        }
        let word = bytes.get(i..i + len).unwrap_or_default();
        let secret = after_scheme || holds_credential(word);
        after_scheme = word.eq_ignore_ascii_case(b"bearer") || word.eq_ignore_ascii_case(b"basic");
        if secret {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            // Word boundaries fall on ASCII bytes, so these are char boundaries.
            buf.push_str(text.get(copied..i).unwrap_or_default());
            buf.push_str(REDACTED);
            copied = i + len;
        }
        i += len;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JWT: &str =
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz";
    const API_KEY: &str =
        "agk_abcdefghijklmnopqrstuvwx_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx";
    const REFRESH: &str = "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn each_credential_shape_is_scrubbed_in_free_text() {
        for secret in [JWT, API_KEY, REFRESH] {
            for text in [
                secret.to_owned(),
                format!("error: {secret} rejected"),
                format!("key={secret}&x=1"),
                format!("\"{secret}\""),
                format!("Bearer {secret}"),
            ] {
                let out = scrub_credentials(&text);
                assert!(!out.contains(secret), "{text} -> {out}");
                assert!(out.contains(REDACTED), "{text} -> {out}");
            }
        }
    }

    #[test]
    fn scheme_words_hide_the_next_word_only() {
        assert_eq!(
            scrub_credentials("authorization: Basic dXNlcjpwYXNz= sent"),
            "authorization: Basic [REDACTED] sent"
        );
        assert_eq!(scrub_credentials("bearer"), "bearer");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "agent a-17 moved to busy",
            "eyJ is how a JWT starts",
            "rt_short",
            "user_agent_id_1234",
            "é ü 漢字 mixed text",
        ] {
            assert!(
                matches!(scrub_credentials(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_credential_is_scrubbed_wherever_it_is_put(
            before in "\\PC{0,20}",
            after in "\\PC{0,20}",
            which in 0usize..3,
        ) {
            let secret = [JWT, API_KEY, REFRESH][which];
            let text = format!("{before} {secret} {after}");
            let out = scrub_credentials(&text);
            prop_assert!(!out.contains(secret));
            // Idempotent: scrubbing again changes nothing.
            prop_assert_eq!(scrub_credentials(&out).into_owned(), out.into_owned());
        }

        #[test]
        fn scrubbing_never_panics_and_keeps_clean_text(text in "\\PC{0,80}") {
            let out = scrub_credentials(&text);
            if !out.contains(REDACTED) {
                prop_assert_eq!(out.as_ref(), text.as_str());
            }
        }
    }
}
