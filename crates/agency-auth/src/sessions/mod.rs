//! sessions (in progress).
