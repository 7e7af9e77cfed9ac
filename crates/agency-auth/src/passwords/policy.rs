//! [`PasswordPolicy`]: length rules and the common-password check applied before hashing.

use crate::ErrorKind;
use std::collections::HashSet;
use std::sync::LazyLock;

use super::{Password, PasswordError};

/// Default minimum length, in Unicode scalar values (NIST SP 800-63B, OWASP).
pub const DEFAULT_MIN_CHARS: usize = 8;

/// Default maximum length, in UTF-8 bytes.
///
/// 256 bytes admits any 64-character password whatever its script (a character is at most 4
/// bytes), which is the floor NIST SP 800-63B asks verifiers to accept. A limit is needed at
/// all because the password is request input: without one, a client could send megabytes per
/// login attempt. Argon2 itself reads the password once, so the limit bounds input handling
/// rather than the memory-hard part, and passwords are never truncated: a longer one is refused.
pub const DEFAULT_MAX_BYTES: usize = 256;

/// The smallest maximum a policy may configure (64 characters of 4 bytes each).
pub const MIN_MAX_BYTES: usize = 256;

/// The largest maximum a policy may configure.
pub const MAX_MAX_BYTES: usize = 4096;

const COMMON_PASSWORDS_FILE: &str = include_str!("common_passwords.txt");

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS_FILE
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `candidate` is one of the 10,000 most common passwords shipped with the crate,
/// ignoring case (the list is lowercase; the candidate is lowercased with Unicode rules).
///
/// The list is the `passwords` frequency list of zxcvbn 4.4.2 (MIT licence, built from Mark
/// Burnett's 10 million password corpus); see the header of `common_passwords.txt`.
///
/// ```
/// use agency_auth::passwords::is_common_password;
///
/// assert!(is_common_password("password1"));
/// assert!(is_common_password("PaSsWoRd1"));
/// assert!(!is_common_password("violet-tractor-oboe-7"));
/// ```
pub fn is_common_password(candidate: &str) -> bool {
    // No entry is longer than a few dozen bytes; skip lowercasing long inputs.
    if candidate.len() > 64 {
        return false;
    }
    let lowered = zeroize::Zeroizing::new(candidate.to_lowercase());
    COMMON_PASSWORDS.contains(lowered.as_str())
}

/// Why a password was refused by a [`PasswordPolicy`]. Safe to show to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer characters than the minimum.
    #[error("password must be at least {min_chars} characters long")]
    TooShort {
        /// The configured minimum, in Unicode scalar values.
        min_chars: usize,
    },
    /// More bytes than the maximum (passwords are never truncated).
    #[error("password must be at most {max_bytes} bytes long")]
    TooLong {
        /// The configured maximum, in UTF-8 bytes.
        max_bytes: usize,
    },
    /// One of the most common passwords.
    #[error("password is too common; choose another")]
    Common,
}

impl PolicyViolation {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::passwords::PolicyViolation;
    /// assert_eq!(PolicyViolation::Common.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::TooShort { .. } | Self::TooLong { .. } | Self::Common => ErrorKind::InvalidInput,
        }
    }
}

/// Rules a new password must meet: a minimum length in characters, a maximum length in bytes,
/// and (on by default) not being a common password.
///
/// Characters are Unicode scalar values, without normalisation: the bytes the user sent are
/// hashed exactly, so a client that sends NFD on one device and NFC on another produces two
/// different passwords. Applications that expect that should normalise (NFC) before building a
/// [`Password`], both when setting and when checking it.
///
/// # Example
///
/// ```
/// use agency_auth::passwords::{Password, PasswordPolicy, PolicyViolation};
///
/// let policy = PasswordPolicy::default();
/// assert_eq!(policy.check(&Password::from("short")), Err(PolicyViolation::TooShort { min_chars: 8 }));
/// assert_eq!(policy.check(&Password::from("Password123")), Err(PolicyViolation::Common));
/// assert_eq!(policy.check(&Password::from("violet tractor oboe")), Ok(()));
///
/// let relaxed = PasswordPolicy::new(12, 512)?.with_common_password_check(false);
/// assert_eq!(relaxed.min_chars(), 12);
/// # Ok::<(), agency_auth::passwords::PasswordError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_bytes: usize,
    reject_common: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: DEFAULT_MIN_CHARS,
            max_bytes: DEFAULT_MAX_BYTES,
            reject_common: true,
        }
    }
}

impl PasswordPolicy {
    /// A policy with these limits and the common-password check on.
    ///
    /// `min_chars` must be at least 1, and `max_bytes` between [`MIN_MAX_BYTES`] (so every
    /// 64-character password fits) and [`MAX_MAX_BYTES`].
    pub fn new(min_chars: usize, max_bytes: usize) -> Result<Self, PasswordError> {
        if min_chars == 0 {
            return Err(PasswordError::InvalidConfig("min_chars must be at least 1"));
        }
        if !(MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&max_bytes) {
            return Err(PasswordError::InvalidConfig(
                "max_bytes must be between 256 and 4096",
            ));
        }
        if min_chars > max_bytes {
            return Err(PasswordError::InvalidConfig(
                "min_chars cannot exceed max_bytes",
            ));
        }
        Ok(Self {
            min_chars,
            max_bytes,
            reject_common: true,
        })
    }

    /// Turns the common-password check on or off.
    #[must_use]
    pub fn with_common_password_check(mut self, enabled: bool) -> Self {
        self.reject_common = enabled;
        self
    }

    /// Minimum length in Unicode scalar values.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Maximum length in UTF-8 bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Whether common passwords are refused.
    pub fn rejects_common_passwords(&self) -> bool {
        self.reject_common
    }

    /// Checks a new password against every rule, longest-first so no work is done on oversized
    /// input.
    pub fn check(&self, password: &Password) -> Result<(), PolicyViolation> {
        if password.byte_len() > self.max_bytes {
            return Err(PolicyViolation::TooLong {
                max_bytes: self.max_bytes,
            });
        }
        if password.char_count() < self.min_chars {
            return Err(PolicyViolation::TooShort {
                min_chars: self.min_chars,
            });
        }
        if self.reject_common && is_common_password(password.expose()) {
            return Err(PolicyViolation::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_ten_thousand_lowercase_entries() {
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
        assert!(COMMON_PASSWORDS.iter().all(|p| p.to_lowercase() == *p));
        assert!(COMMON_PASSWORDS.contains("123456"));
        assert!(!COMMON_PASSWORDS.iter().any(|p| p.starts_with('#')));
    }

    #[test]
    fn common_check_ignores_case() {
        assert!(is_common_password("QWERTY123"));
        assert!(is_common_password("Dragon"));
        assert!(!is_common_password(""));
    }

    #[test]
    fn exactly_64_four_byte_characters_are_accepted() {
        let text: String = std::iter::repeat_n('𝄞', 64).collect();
        assert_eq!(text.len(), 256);
        assert_eq!(
            PasswordPolicy::default().check(&Password::new(text)),
            Ok(())
        );
    }

    #[test]
    fn one_byte_over_the_maximum_is_refused_not_truncated() {
        let text = "a".repeat(DEFAULT_MAX_BYTES) + "b";
        assert_eq!(
            PasswordPolicy::default().check(&Password::new(text)),
            Err(PolicyViolation::TooLong { max_bytes: 256 })
        );
    }

    #[test]
    fn minimum_counts_characters_not_bytes() {
        // 7 two-byte characters = 14 bytes, still too short.
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check(&Password::from("ééééééé")),
            Err(PolicyViolation::TooShort { min_chars: 8 })
        );
        assert_eq!(policy.check(&Password::from("éééééééé")), Ok(()));
    }

    #[test]
    fn invalid_configurations_are_refused() {
        assert!(PasswordPolicy::new(0, 256).is_err());
        assert!(PasswordPolicy::new(8, 255).is_err());
        assert!(PasswordPolicy::new(8, 4097).is_err());
        assert!(PasswordPolicy::new(300, 256).is_err());
        assert!(PasswordPolicy::new(8, 4096).is_ok());
    }
}
