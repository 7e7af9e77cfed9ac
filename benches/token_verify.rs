//! Benchmark token_verify: written by its crate's issue.
fn main() {}
