//! agency-rbac.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
