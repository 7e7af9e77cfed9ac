//! # agency-auth
//!
//! Who you are: the authentication building blocks of the agency workspace.
//!
//! - [`tokens`]: JWT access tokens (HS256, RS256, ES256, EdDSA) with key rotation by `kid`, JWKS
//!   publishing, strict verification, and verification of tokens from outside identity providers.
//! - [`passwords`]: argon2id password hashing with a bounded worker pool and upgrade-on-login.
//! - [`sessions`]: sessions and opaque refresh tokens with rotation and reuse detection.
//! - [`revocation`]: revoking sessions and tokens so that access tokens fail from the next request.
//! - [`api_keys`]: `<prefix>_<id>_<secret>` API keys stored as keyed hashes, with scopes and expiry.
//! - [`secrets`]: AES-256-GCM envelope encryption with key versions for secrets stored at rest.
//! - [`store`]: storage traits and their backends (memory always; `sqlite` and `postgres` features).
//! - [`Principal`]: the authenticated identity the rest of the workspace works with.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api_keys;
mod clock;
pub mod passwords;
mod principal;
pub mod revocation;
pub mod secrets;
pub mod sessions;
pub mod store;
pub mod tokens;
mod versioned;

pub use agency_error_kind::ErrorKind;
pub use clock::{Clock, ManualClock, SystemClock};
pub use principal::*;
