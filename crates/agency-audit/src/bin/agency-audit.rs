//! agency-audit command-line tool.
fn main() {}
