//! API keys: `<prefix>_<id>_<secret>` keys stored as keyed hashes, with scopes and expiry.
//!
//! (Key generation, parsing and verification are in progress; the stored form is final.)

mod record;

pub use record::ApiKeyRecord;
