//! passwords (in progress).
