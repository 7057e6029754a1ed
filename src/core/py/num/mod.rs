//! Exact numbers and text for the Python VM: `int` of any size ([`bigint`]), the
//! format-spec mini-language and `repr(float)` ([`format`]), CPython's `random`
//! ([`random`]), `template % args` ([`percent`]), and the float operations Python
//! defines its own way ([`float`]: `//`, `%`, `**`, `round`, `float(str)`),
//! `str.format` ([`strformat`]) and `math` on big ints ([`intmath`]). Pure Rust, no
//! dependency; each file's header says its API.

pub mod bigint;
pub mod digits;
pub mod float;
pub mod format;
pub mod intmath;
pub mod percent;
pub mod random;
pub mod strformat;

pub use bigint::{Int, NumError};

#[cfg(test)]
mod tests;
