//! Exact numbers and text for the Python VM: `int` of any size ([`bigint`]), the
//! format-spec mini-language and `repr(float)` ([`format`]), and CPython's `random`
//! ([`random`]). Pure Rust, no dependency; each file's header says its API.

pub mod bigint;
pub mod format;
pub mod random;

pub use bigint::{Int, NumError};

#[cfg(test)]
mod tests;
