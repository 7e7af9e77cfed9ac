//! Neutralisation of control characters in recorded text.
//!
//! Guarantee: text returned by [`neutralize`] contains none of the characters for which
//! [`is_dangerous`] is true: C0 controls (U+0000–U+001F, including CR, LF, TAB and ESC), DEL
//! (U+007F), C1 controls (U+0080–U+009F), the line and paragraph separators U+2028 and U+2029,
//! the bidi marks U+061C, U+200E and U+200F, the bidi embeddings and overrides U+202A–U+202E
//! and the bidi isolates U+2066–U+2069. Each is replaced by the visible escape `\u{XX}`
//! (lowercase hex, as Rust writes it), so nobody can forge log lines, colour a terminal or
//! reorder displayed text through a username or a user agent.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is a character that [`neutralize`] replaces.
///
/// ```
/// assert!(agency_audit::sanitize::is_dangerous('\x1b'));
/// assert!(agency_audit::sanitize::is_dangerous('\u{202e}'));
/// assert!(!agency_audit::sanitize::is_dangerous('é'));
/// ```
pub fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Replaces every dangerous character of `input` by a visible `\u{XX}` escape.
///
/// Borrows when there is nothing to replace, so clean text costs one scan.
///
/// ```
/// use agency_audit::sanitize::neutralize;
/// assert_eq!(neutralize("alice\r\nadmin logged in"), "alice\\u{d}\\u{a}admin logged in");
/// assert_eq!(neutralize("\u{1b}[31mred"), "\\u{1b}[31mred");
/// assert_eq!(neutralize("plain"), "plain");
/// ```
pub fn neutralize(input: &str) -> Cow<'_, str> {
    if !input.chars().any(is_dangerous) {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len() + 8);
    for c in input.chars() {
        if is_dangerous(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Neutralises `s` in place (no allocation when it is clean).
pub(crate) fn neutralize_in_place(s: &mut String) {
    if let Cow::Owned(clean) = neutralize(s) {
        *s = clean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log_line_forgery_through_username_is_neutralised() {
        let name = "bob\n2026-01-01 INFO admin granted super_admin";
        assert!(!neutralize(name).contains('\n'));
    }

    #[test]
    fn terminal_colour_escape_is_neutralised() {
        assert_eq!(neutralize("\u{1b}[2J"), "\\u{1b}[2J");
    }

    #[test]
    fn bidi_override_spoofing_is_neutralised() {
        let spoof = "user\u{202e}nimda";
        assert_eq!(neutralize(spoof), "user\\u{202e}nimda");
        for c in [
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{2028}', '\u{2029}', '\u{85}',
            '\u{7f}',
        ] {
            assert!(!neutralize(&format!("a{c}b")).contains(c));
        }
    }

    proptest! {
        #[test]
        fn no_output_contains_a_dangerous_character(s in any::<String>()) {
            let out = neutralize(&s);
            prop_assert!(!out.chars().any(is_dangerous));
        }

        #[test]
        fn clean_text_is_unchanged(s in "[a-zA-Z0-9 éß漢@._-]{0,40}") {
            prop_assert_eq!(neutralize(&s), s.as_str());
        }
    }
}
