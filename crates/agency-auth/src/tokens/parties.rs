//! Who a token is from and for: [`Issuer`] (`iss`) and [`Audience`] (`aud`), as two types so the
//! two strings can never be passed the wrong way round (both are plain text, and a swap would
//! make every token fail, or worse, match another service's configuration).
//!
//! Swapped, they do not compile:
//!
//! ```compile_fail
//! use std::time::Duration;
//! use agency_auth::tokens::{Algorithm, Audience, Issuer, KeySet, SigningKey, TokenIssuer};
//! let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
//! let _ = TokenIssuer::new(keys, Audience::new("swarm-api"), Issuer::new("agency-swarm"), Duration::from_secs(60));
//! ```

use std::fmt;

/// The `iss` of the tokens an issuer signs and a verifier accepts.
///
/// ```
/// use agency_auth::tokens::{Audience, Issuer};
/// let issuer = Issuer::new("agency-swarm");
/// assert_eq!(issuer.as_str(), "agency-swarm");
/// assert_eq!(Audience::from("swarm-api").to_string(), "swarm-api");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issuer(String);

/// The `aud` of the tokens an issuer signs and a verifier accepts.
///
/// ```
/// use agency_auth::tokens::Audience;
/// assert_eq!(Audience::new("swarm-api").as_str(), "swarm-api");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(String);

macro_rules! party {
    ($name:ident) => {
        impl $name {
            /// Wraps the name (checked to be non-empty where it is used).
            pub fn new(name: impl Into<String>) -> Self {
                Self(name.into())
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub(crate) fn into_string(self) -> String {
                self.0
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                Self::new(name)
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                Self(name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

party!(Issuer);
party!(Audience);
