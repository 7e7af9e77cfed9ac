//! Criterion benchmarks for the agency crates live in this package's `[[bench]]` targets; each one
//! answers one question against a named baseline measured in the same run. See
//! `docs/benchmarks.md` for the results and the commands that produced them.
//!
//! The package also runs the README's code blocks as doc tests, so the README stays true.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
