//! Benchmark ratelimit_memory: written by its crate's issue.
fn main() {}
