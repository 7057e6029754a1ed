//! Exact numbers and text for the Python VM: `int` of any size ([`bigint`]), the
//! format-spec mini-language and `repr(float)` ([`format`]), CPython's `random`
//! ([`random`]), and `template % args` ([`percent`]). Pure Rust, no dependency; each
//! file's header says its API.

pub mod bigint;
pub mod format;
pub mod percent;
pub mod random;

pub use bigint::{Int, NumError};

#[cfg(test)]
mod tests;
