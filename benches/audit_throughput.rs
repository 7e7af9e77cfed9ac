//! Benchmark audit_throughput: written by its crate's issue.
fn main() {}
