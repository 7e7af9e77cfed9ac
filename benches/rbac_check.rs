//! Benchmark rbac_check: written by its crate's issue.
fn main() {}
