//! [`Password`]: a plaintext password held in memory that is zeroed on drop and never printed.

use std::fmt;

use zeroize::Zeroizing;

/// A plaintext password as a user typed it.
///
/// The text is zeroed when the value is dropped, `Debug` prints `Password(<redacted>)`, and
/// there is deliberately no `Display`, `Serialize` or `PartialEq`: reading it takes an explicit
/// [`expose`](Self::expose), and comparing passwords is only ever done through their hashes.
///
/// # Example
///
/// ```
/// use agency_auth::passwords::Password;
///
/// let password = Password::from("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "Password(<redacted>)");
/// assert_eq!(password.char_count(), 28);
/// ```
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Takes ownership of `text`; its buffer is zeroed when the `Password` is dropped.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The password text, for the hashing code (and tests) only.
    ///
    /// ```
    /// # use agency_auth::passwords::Password;
    /// assert_eq!(Password::from("pw").expose(), "pw");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes of the UTF-8 text (what the hashing cost limit counts).
    ///
    /// ```
    /// # use agency_auth::passwords::Password;
    /// assert_eq!(Password::from("é").byte_len(), 2);
    /// ```
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }

    /// Length in Unicode scalar values (what the minimum-length rule counts). No normalisation is
    /// applied: a precomposed `é` counts 1, an `e` followed by a combining accent counts 2.
    ///
    /// ```
    /// # use agency_auth::passwords::Password;
    /// assert_eq!(Password::from("日本語のパスワード").char_count(), 9);
    /// ```
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl From<String> for Password {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Self {
        Self::new(text.to_owned())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        let p = Password::from("hunter2-secret");
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(!format!("{p:#?}").contains("hunter2"));
    }
}
