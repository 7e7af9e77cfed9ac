//! Benchmark password_hash: written by its crate's issue.
fn main() {}
