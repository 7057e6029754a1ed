//! Exact numbers and text for the Python VM: `int` of any size ([`bigint`]), the
//! format-spec mini-language and `repr(float)` ([`mod@format`]), CPython's `random`
//! ([`random`]), `template % args` ([`percent`]), the float operations Python defines
//! its own way ([`float`]: `//`, `%`, `**`, `round`, `float(str)`), `str.format`
//! ([`strformat`]), `math` on big ints ([`intmath`]) and Unicode digits ([`digits`]).
//! Pure Rust, no dependency; each file's header says its API. Every behaviour is checked
//! against CPython 3.11 by `tests/fixtures/num/regenerate.py` and `num/tests.rs`.
//!
//! How the VM uses it:
//! - Errors are [`NumError`] `{kind, message}`: raise `kind(message)` at the current line.
//! - An int value is [`Int`]: `Int::Small(i64)` whenever it fits (the VM may keep its own
//!   inline `i64` and build an `Int` only when an `i64` operation overflows), `Int::Big`
//!   beyond. `a.add(&b)`, `sub`, `mul` never fail; `floordiv`, `rem`, `divmod`,
//!   `truediv` (int/int -> f64) raise `ZeroDivisionError`; `pow(&e, max_bits)` and
//!   `shl(&n, max_bits)` refuse results over the budget with `MemoryError` before any
//!   work (pass [`bigint::DEFAULT_MAX_BITS`] or the program's own); a negative exponent
//!   is the float case: `float::float_pow(a.to_f64()?, b.to_f64()?)`. `to_str` is
//!   `str(int)` with the 4,300-digit limit, `Int::parse(text, base)` is `int(text,
//!   base)`, `to_f64`/`from_f64` the conversions, `py_hash` and
//!   [`bigint::py_hash_f64`] the hashes (equal for equal int and float), `cmp_f64`
//!   the exact int/float comparison.
//! - `repr(x)`/`str(x)` of a float: [`format::float_repr`]. `format(v, spec)` and
//!   f-string `{v:spec}`: [`format::format_int`], [`format::format_float`],
//!   [`format::format_str`] (`format_int_named(v, spec, "bool")` for a bool with a
//!   spec; an empty spec is `str(v)`).
//! - `template % args`: implement [`percent::PercentHost`] and call
//!   [`percent::percent_format`]; `str.format`/`format_map`: implement
//!   [`strformat::StrFormatHost`] and call [`strformat::str_format`].
//! - `random`: one [`random::Random`] per module (seeded by the VM from the host clock
//!   when the program does not seed) and per `random.Random(...)` instance.

pub mod bigint;
pub mod crmath;

/// The C library's `log`, `exp`, `sin`, `cos` and `pow`, which CPython calls (its `math`,
/// float `**`, `random.py`): natively std's (the C library's own), in wasm `crmath`'s (std's
/// there are fdlibm's ports, an ulp away from glibc's for 3-10 % of inputs: see crmath).
#[cfg(not(target_arch = "wasm32"))]
pub mod clib {
    #[must_use]
    pub fn log(x: f64) -> f64 {
        x.ln()
    }

    #[must_use]
    pub fn exp(x: f64) -> f64 {
        x.exp()
    }

    #[must_use]
    pub fn sin(x: f64) -> f64 {
        x.sin()
    }

    #[must_use]
    pub fn cos(x: f64) -> f64 {
        x.cos()
    }

    #[must_use]
    pub fn pow(x: f64, y: f64) -> f64 {
        x.powf(y)
    }
}
#[cfg(target_arch = "wasm32")]
pub use crmath as clib;
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
