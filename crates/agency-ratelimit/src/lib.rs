//! agency-ratelimit.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
