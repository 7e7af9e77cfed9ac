//! Benchmark ratelimit_redis: written by its crate's issue.
fn main() {}
