//! agency-audit.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
