//! Permission and role names: `resource:action` permissions and plain role names, validated
//! before anything else sees them.
//!
//! Guarantee: a [`Permission`] value always holds a well-formed name (lowercase ASCII letters,
//! digits, `_`, `-`, `.` in each part, exactly one `:`, both parts non-empty, at most
//! [`MAX_PERMISSION_LEN`] bytes), so a policy that loaded contains no ambiguous or look-alike
//! names (no Unicode confusables, no whitespace, no wildcard syntax that could be misread).

use agency_error_kind::ErrorKind;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted permission name, in bytes.
pub const MAX_PERMISSION_LEN: usize = 128;

/// Longest accepted role name, in bytes.
pub const MAX_ROLE_NAME_LEN: usize = 64;

/// Why a permission or role name was refused.
///
/// ```
/// use agency_rbac::{NameError, Permission};
///
/// assert_eq!(Permission::parse("agents").unwrap_err(), NameError::MissingColon);
/// assert_eq!(Permission::parse("a:b:c").unwrap_err(), NameError::TooManyColons);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is longer than allowed.
    #[error("the name is longer than {max} bytes")]
    TooLong {
        /// The limit, in bytes.
        max: usize,
    },
    /// A permission has no `:` between resource and action.
    #[error("a permission must be `resource:action`; there is no `:`")]
    MissingColon,
    /// A permission has more than one `:`.
    #[error("a permission must contain exactly one `:`")]
    TooManyColons,
    /// The part before `:` is empty.
    #[error("the resource part (before `:`) is empty")]
    EmptyResource,
    /// The part after `:` is empty.
    #[error("the action part (after `:`) is empty")]
    EmptyAction,
    /// A character outside `a-z`, `0-9`, `_`, `-`, `.` (and the single `:` of a permission).
    #[error(
        "character {character:?} at byte {position} is not allowed (use a-z, 0-9, `_`, `-`, `.`)"
    )]
    InvalidCharacter {
        /// The refused character.
        character: char,
        /// Its byte offset in the name.
        position: usize,
    },
}

impl NameError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_rbac::{ErrorKind, NameError};
    /// assert_eq!(NameError::Empty.kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Empty
            | Self::TooLong { .. }
            | Self::MissingColon
            | Self::TooManyColons
            | Self::EmptyResource
            | Self::EmptyAction
            | Self::InvalidCharacter { .. } => ErrorKind::InvalidInput,
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
}

fn first_invalid(name: &str, allow_colon: bool) -> Option<NameError> {
    name.char_indices()
        .find(|&(_, c)| {
            let ok = c.is_ascii() && (is_name_byte(c as u8) || (allow_colon && c == ':'));
            !ok
        })
        .map(|(position, character)| NameError::InvalidCharacter {
            character,
            position,
        })
}

/// Checks that `name` is a valid permission name (`resource:action`).
///
/// ```
/// assert!(agency_rbac::validate_permission("agents:read").is_ok());
/// assert!(agency_rbac::validate_permission("Agents:Read").is_err());
/// ```
pub fn validate_permission(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_PERMISSION_LEN {
        return Err(NameError::TooLong {
            max: MAX_PERMISSION_LEN,
        });
    }
    if let Some(err) = first_invalid(name, true) {
        return Err(err);
    }
    let mut parts = name.split(':');
    let resource = parts.next().unwrap_or_default();
    let Some(action) = parts.next() else {
        return Err(NameError::MissingColon);
    };
    if parts.next().is_some() {
        return Err(NameError::TooManyColons);
    }
    if resource.is_empty() {
        return Err(NameError::EmptyResource);
    }
    if action.is_empty() {
        return Err(NameError::EmptyAction);
    }
    Ok(())
}

/// Checks that `name` is a valid role name (`a-z`, `0-9`, `_`, `-`, `.`; 1 to
/// [`MAX_ROLE_NAME_LEN`] bytes).
///
/// ```
/// assert!(agency_rbac::validate_role_name("super_admin").is_ok());
/// assert!(agency_rbac::validate_role_name("admin:x").is_err());
/// ```
pub fn validate_role_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_ROLE_NAME_LEN {
        return Err(NameError::TooLong {
            max: MAX_ROLE_NAME_LEN,
        });
    }
    match first_invalid(name, false) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// A validated permission name, `resource:action` (for example `agents:read`).
///
/// Checks take permission names as `&str` so that the hot path allocates nothing; this type is
/// for code that builds or inspects policies and wants the validation up front.
///
/// ```
/// use agency_rbac::Permission;
///
/// let p: Permission = "tasks:dispatch".parse()?;
/// assert_eq!(p.resource(), "tasks");
/// assert_eq!(p.action(), "dispatch");
/// assert_eq!(p.to_string(), "tasks:dispatch");
/// # Ok::<(), agency_rbac::NameError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    name: Box<str>,
    colon: usize,
}

impl Permission {
    /// Parses and validates a permission name.
    ///
    /// ```
    /// assert!(agency_rbac::Permission::parse("config:write").is_ok());
    /// assert!(agency_rbac::Permission::parse("config:").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Self, NameError> {
        validate_permission(name)?;
        let colon = name.find(':').ok_or(NameError::MissingColon)?;
        Ok(Self {
            name: name.into(),
            colon,
        })
    }

    /// The full name, `resource:action`.
    ///
    /// ```
    /// let p = agency_rbac::Permission::parse("audit:export")?;
    /// assert_eq!(p.as_str(), "audit:export");
    /// # Ok::<(), agency_rbac::NameError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The part before `:`.
    ///
    /// ```
    /// let p = agency_rbac::Permission::parse("audit:export")?;
    /// assert_eq!(p.resource(), "audit");
    /// # Ok::<(), agency_rbac::NameError>(())
    /// ```
    pub fn resource(&self) -> &str {
        self.name.get(..self.colon).unwrap_or_default()
    }

    /// The part after `:`.
    ///
    /// ```
    /// let p = agency_rbac::Permission::parse("audit:export")?;
    /// assert_eq!(p.action(), "export");
    /// # Ok::<(), agency_rbac::NameError>(())
    /// ```
    pub fn action(&self) -> &str {
        self.name.get(self.colon + 1..).unwrap_or_default()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for Permission {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Permission {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Shortens a refused name before it is echoed in an error message.
pub(crate) fn excerpt(name: &str) -> String {
    const MAX: usize = 80;
    if name.len() <= MAX {
        return name.to_owned();
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", name.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contract_permissions() {
        for p in [
            "agents:read",
            "tasks:dispatch",
            "keys:manage",
            "audit:export",
            "a.b-c_d:e1",
        ] {
            assert!(Permission::parse(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn refuses_malformed_names() {
        assert_eq!(validate_permission(""), Err(NameError::Empty));
        assert_eq!(validate_permission(":read"), Err(NameError::EmptyResource));
        assert_eq!(validate_permission("agents:"), Err(NameError::EmptyAction));
        assert_eq!(
            validate_permission("agents::read"),
            Err(NameError::TooManyColons)
        );
        assert_eq!(
            validate_permission("agentsread"),
            Err(NameError::MissingColon)
        );
        let long = format!("a:{}", "b".repeat(MAX_PERMISSION_LEN));
        assert_eq!(
            validate_permission(&long),
            Err(NameError::TooLong {
                max: MAX_PERMISSION_LEN
            })
        );
    }

    #[test]
    fn wildcard_is_not_a_permission() {
        assert!(matches!(
            validate_permission("agents:*"),
            Err(NameError::InvalidCharacter { character: '*', .. })
        ));
        assert!(validate_permission("*:*").is_err());
    }

    #[test]
    fn unicode_look_alike_is_refused() {
        // Cyrillic "а" looks like Latin "a": a policy must not be able to hold both.
        assert!(matches!(
            validate_permission("\u{0430}gents:read"),
            Err(NameError::InvalidCharacter { position: 0, .. })
        ));
    }

    #[test]
    fn whitespace_and_uppercase_are_refused() {
        assert!(validate_permission("agents: read").is_err());
        assert!(validate_permission("agents:read ").is_err());
        assert!(validate_permission("Agents:read").is_err());
        assert!(validate_role_name("Admin").is_err());
        assert!(validate_role_name("ad min").is_err());
        assert!(validate_role_name("").is_err());
    }

    #[test]
    fn parts_are_split_at_the_colon() {
        let p = Permission::parse("users:manage").unwrap();
        assert_eq!((p.resource(), p.action()), ("users", "manage"));
    }

    #[test]
    fn deserialising_validates() {
        let ok: Permission = serde_json::from_str("\"agents:read\"").unwrap();
        assert_eq!(ok.as_str(), "agents:read");
        assert!(serde_json::from_str::<Permission>("\"agents\"").is_err());
    }

    #[test]
    fn excerpt_cuts_long_names_on_char_boundaries() {
        let s = "é".repeat(100);
        let e = excerpt(&s);
        assert!(e.len() < s.len());
        assert!(e.ends_with('…'));
    }
}
