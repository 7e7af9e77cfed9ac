//! Principal (in progress).
