//! [`Password`]: a plaintext password held in memory that is zeroed on drop and never printed.

use std::fmt;

use zeroize::Zeroizing;

use super::PasswordError;

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

    /// A random password of `chars` characters from `A-Z a-z 0-9` (about 5.95 bits each: 22
    /// characters give more than 128 bits), for generated credentials such as a bootstrap admin
    /// password shown once. `chars` must be between 16 and 128.
    ///
    /// ```
    /// # use agency_auth::passwords::Password;
    /// let generated = Password::generate(24)?;
    /// assert_eq!(generated.char_count(), 24);
    /// assert!(generated.expose().chars().all(|c| c.is_ascii_alphanumeric()));
    /// assert!(Password::generate(8).is_err());
    /// # Ok::<(), agency_auth::passwords::PasswordError>(())
    /// ```
    pub fn generate(chars: usize) -> Result<Self, PasswordError> {
        const ALPHABET: &[u8; 62] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        // Bytes at or above 248 (= 4 x 62) are drawn again, so every character is uniform.
        const LIMIT: u8 = 248;
        if !(16..=128).contains(&chars) {
            return Err(PasswordError::InvalidConfig(
                "generated passwords have 16 to 128 characters",
            ));
        }
        let mut text = Zeroizing::new(String::with_capacity(chars));
        let mut pool = Zeroizing::new([0u8; 64]);
        while text.len() < chars {
            aws_lc_rs::rand::fill(&mut pool[..]).map_err(|_| PasswordError::Random)?;
            for &byte in pool.iter().filter(|b| **b < LIMIT) {
                if text.len() == chars {
                    break;
                }
                text.push(char::from(ALPHABET[usize::from(byte % 62)]));
            }
        }
        Ok(Self(text))
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
    fn generated_passwords_differ_and_use_the_whole_alphabet() {
        let a = Password::generate(128).unwrap();
        let b = Password::generate(128).unwrap();
        assert_ne!(a.expose(), b.expose());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            seen.extend(Password::generate(128).unwrap().expose().chars());
        }
        // 2,560 uniform draws from 62 symbols miss one with probability below 1e-15.
        assert_eq!(seen.len(), 62);
    }

    #[test]
    fn debug_never_shows_the_text() {
        let p = Password::from("hunter2-secret");
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(!format!("{p:#?}").contains("hunter2"));
    }
}
