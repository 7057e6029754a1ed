//! The float operations whose Python meaning is not IEEE's one-liner, as CPython 3.11's
//! `Objects/floatobject.c`: `//`, `%`, `divmod` with the divisor's sign, `**` with its
//! special cases and errors, `round` (ties to even, on the exact decimal value),
//! `float(str)`; and `round(int, n)`.
//!
//! API: [`parse_float`], [`float_floordiv`], [`float_mod`], [`float_divmod`],
//! [`float_pow`], [`float_round`] (`round(x, n)`), [`float_round_to_int`] (`round(x)`),
//! [`int_round`] (`round(v, n)` for an int), [`float_as_integer_ratio`],
//! [`float_is_integer`]. `int ** negative int` is
//! `float_pow(a.to_f64()?, b.to_f64()?)`, as CPython does.
//!
//! `**` calls the platform's `pow` as CPython does: natively that is the C library's,
//! in wasm Rust's port of musl's; both are within an ulp, not always the same ulp.

use super::bigint::{Int, NumError};
use super::format::dtoa;

fn zero_division(msg: &str) -> NumError {
    NumError::new("ZeroDivisionError", msg)
}

/// CPython's `float_divmod` arithmetic, `b != 0`.
fn divmod_raw(a: f64, b: f64) -> (f64, f64) {
    let mut m = a % b;
    // fmod is exact, so a - m is an exact multiple of b up to one rounding.
    let mut div = (a - m) / b;
    if m == 0.0 {
        m = 0f64.copysign(b);
    } else if (b < 0.0) != (m < 0.0) {
        m += b;
        div -= 1.0;
    }
    let floordiv = if div == 0.0 {
        0f64.copysign(a / b)
    } else {
        let f = div.floor();
        if div - f > 0.5 {
            f + 1.0
        } else {
            f
        }
    };
    (floordiv, m)
}

/// `a // b` for floats.
///
/// # Errors
/// `ZeroDivisionError: float floor division by zero`.
pub fn float_floordiv(a: f64, b: f64) -> Result<f64, NumError> {
    if b == 0.0 {
        return Err(zero_division("float floor division by zero"));
    }
    Ok(divmod_raw(a, b).0)
}

/// `a % b` for floats: the result has the divisor's sign.
///
/// # Errors
/// `ZeroDivisionError: float modulo`.
pub fn float_mod(a: f64, b: f64) -> Result<f64, NumError> {
    if b == 0.0 {
        return Err(zero_division("float modulo"));
    }
    let mut m = a % b;
    if m == 0.0 {
        m = 0f64.copysign(b);
    } else if (b < 0.0) != (m < 0.0) {
        m += b;
    }
    Ok(m)
}

/// `divmod(a, b)` for floats.
///
/// # Errors
/// `ZeroDivisionError: float divmod()`.
pub fn float_divmod(a: f64, b: f64) -> Result<(f64, f64), NumError> {
    if b == 0.0 {
        return Err(zero_division("float divmod()"));
    }
    Ok(divmod_raw(a, b))
}

fn is_odd_integer(x: f64) -> bool {
    x.is_finite() && x.fract() == 0.0 && (x / 2.0).fract() != 0.0
}

/// `a ** b` for floats, with CPython's special cases.
///
/// # Errors
/// `ZeroDivisionError: 0.0 cannot be raised to a negative power`; `OverflowError: (34,
/// 'Numerical result out of range')`; a negative base to a fractional power is a complex
/// number in Python, which this interpreter does not have: `NotImplementedError`.
pub fn float_pow(a: f64, b: f64) -> Result<f64, NumError> {
    if b == 0.0 {
        return Ok(1.0);
    }
    if a.is_nan() {
        return Ok(a);
    }
    if b.is_nan() {
        return Ok(if a == 1.0 { 1.0 } else { b });
    }
    if b.is_infinite() {
        let v = a.abs();
        return Ok(if v == 1.0 {
            1.0
        } else if (b > 0.0) == (v > 1.0) {
            f64::INFINITY
        } else {
            0.0
        });
    }
    if a.is_infinite() {
        let odd = is_odd_integer(b);
        return Ok(if b > 0.0 {
            if odd {
                a
            } else {
                a.abs()
            }
        } else if odd {
            0f64.copysign(a)
        } else {
            0.0
        });
    }
    if a == 0.0 {
        if b < 0.0 {
            return Err(zero_division("0.0 cannot be raised to a negative power"));
        }
        return Ok(if is_odd_integer(b) { a } else { 0.0 });
    }
    let mut v = a;
    let mut negate = false;
    if v < 0.0 {
        if b != b.floor() {
            return Err(NumError::new(
                "NotImplementedError",
                "complex numbers are not supported yet (a negative number to a fractional power is complex in Python)",
            ));
        }
        v = -v;
        negate = is_odd_integer(b);
    }
    if v == 1.0 {
        return Ok(if negate { -1.0 } else { 1.0 });
    }
    let r = super::clib::pow(v, b);
    if r.is_infinite() {
        return Err(NumError::new("OverflowError", "(34, 'Numerical result out of range')"));
    }
    Ok(if negate { -r } else { r })
}

/// `round(x, ndigits)` for a float: the exact decimal value rounded half to even, read
/// back as the nearest double. An `ndigits` beyond `i64` should be clipped to
/// `i64::MIN`/`i64::MAX` by the caller, as CPython clips it to `Py_ssize_t`.
///
/// # Errors
/// `OverflowError: rounded value too large to represent`.
pub fn float_round(x: f64, ndigits: i64) -> Result<f64, NumError> {
    if !x.is_finite() {
        return Ok(x);
    }
    if ndigits > 323 {
        return Ok(x);
    }
    if ndigits < -308 {
        return Ok(0.0 * x);
    }
    let (digits, decpt) = dtoa(x.abs(), 3, ndigits);
    let text = format!(
        "{}0{digits}e{}",
        if x.is_sign_negative() { "-" } else { "" },
        decpt - i64::try_from(digits.len()).unwrap_or(0)
    );
    let rounded: f64 = text.parse().unwrap_or(f64::NAN);
    if rounded.is_infinite() {
        return Err(NumError::new("OverflowError", "rounded value too large to represent"));
    }
    Ok(rounded)
}

/// `round(x)` for a float: the nearest int, ties to even.
///
/// # Errors
/// `ValueError` for a NaN, `OverflowError` for an infinity (CPython's words).
pub fn float_round_to_int(x: f64) -> Result<Int, NumError> {
    let mut r = x.round();
    if (x - r).abs() == 0.5 {
        r = 2.0 * (x / 2.0).round();
    }
    Int::from_f64(r)
}

/// `round(v, ndigits)` for an int: ties to even at `10 ** -ndigits`.
#[must_use]
pub fn int_round(v: &Int, ndigits: i64) -> Int {
    if ndigits >= 0 {
        return v.clone();
    }
    // 10**k > 2|v| rounds to 0 whatever v is; k * log2(10) > bits + 1 guarantees it,
    // and spares computing an absurd power.
    let k = ndigits.unsigned_abs();
    if k.saturating_mul(3) > v.bit_length() + 1 {
        return Int::ZERO;
    }
    let pow = Int::Small(10).pow(&Int::from(k), u64::MAX).unwrap_or(Int::ZERO);
    let Ok((q, r)) = v.divmod(&pow) else { return Int::ZERO };
    let twice = r.add(&r);
    let q = match twice.cmp(&pow) {
        std::cmp::Ordering::Greater => q.add(&Int::Small(1)),
        std::cmp::Ordering::Equal if q.bitand(&Int::Small(1)) == Int::Small(1) => q.add(&Int::Small(1)),
        _ => q,
    };
    q.mul(&pow)
}

/// The spaces `int()` and `float()` strip: Unicode's White_Space, which is `str.isspace`
/// except for `\x1c`..`\x1f` (CPython keeps ASCII as is, then strips ASCII spaces only).
#[must_use]
pub fn is_number_space(c: char) -> bool {
    c.is_whitespace()
}

/// `float(s)` for a str: whitespace around, a sign, `inf`/`infinity`/`nan` in any case,
/// or digits with single underscores between digits, a point, an exponent.
///
/// Unicode decimal digits and spaces count as their ASCII forms, as CPython.
///
/// # Errors
/// `ValueError: could not convert string to float: '...'` (the repr of `s`).
pub fn parse_float(s: &str) -> Result<f64, NumError> {
    let invalid =
        || NumError::new("ValueError", format!("could not convert string to float: {}", super::bigint::str_repr(s)));
    let ascii = super::digits::number_text(s);
    let t = ascii.trim_matches(is_number_space);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            if !valid_float_literal(body.as_bytes()) {
                return Err(invalid());
            }
            let clean: String = body.chars().filter(|&c| c != '_').collect();
            clean.parse::<f64>().map_err(|_| invalid())?
        }
    };
    Ok(if neg { -v } else { v })
}

/// `digitpart`: digits with single underscores between them; returns the end.
fn digitpart(b: &[u8], mut i: usize) -> Option<usize> {
    if i >= b.len() || !b[i].is_ascii_digit() {
        return None;
    }
    while i < b.len() {
        // A digit, or an underscore with a digit after it.
        let underscore = b[i] == b'_' && i + 1 < b.len() && b[i + 1].is_ascii_digit();
        if !b[i].is_ascii_digit() && !underscore {
            break;
        }
        i += 1;
    }
    Some(i)
}

/// `number [exponent]` with `number ::= [digitpart] "." digitpart | digitpart ["."]`.
fn valid_float_literal(b: &[u8]) -> bool {
    let mut i = 0;
    let int_end = digitpart(b, i);
    if let Some(e) = int_end {
        i = e;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        match digitpart(b, i) {
            Some(e) => i = e,
            None if int_end.is_some() => {}
            None => return false,
        }
    } else if int_end.is_none() {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        match digitpart(b, i) {
            Some(e) => i = e,
            None => return false,
        }
    }
    i == b.len()
}

/// `x.is_integer()`.
#[must_use]
pub fn float_is_integer(x: f64) -> bool {
    x.is_finite() && x.fract() == 0.0
}

/// `x.as_integer_ratio()`: the exact value as a fraction in lowest terms, positive
/// denominator.
///
/// # Errors
/// `OverflowError: cannot convert Infinity to integer ratio`, `ValueError: cannot
/// convert NaN to integer ratio`, as CPython.
pub fn float_as_integer_ratio(x: f64) -> Result<(Int, Int), NumError> {
    if x.is_infinite() {
        return Err(NumError::new("OverflowError", "cannot convert Infinity to integer ratio"));
    }
    if x.is_nan() {
        return Err(NumError::new("ValueError", "cannot convert NaN to integer ratio"));
    }
    if x == 0.0 {
        return Ok((Int::ZERO, Int::Small(1)));
    }
    let bits = x.to_bits();
    let biased = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let frac = bits & ((1 << 52) - 1);
    let (mut m, mut e) = if biased == 0 { (frac, -1074) } else { (frac | (1 << 52), biased - 1075) };
    // Lowest terms: the denominator is a power of two, so strip the numerator's twos.
    let tz = i64::from(m.trailing_zeros());
    let shift = tz.min(-e.min(0));
    m >>= shift;
    e += shift;
    let num = Int::from(m);
    let num = if x < 0.0 { num.neg() } else { num };
    if e >= 0 {
        Ok((num.shl(&Int::from(e), u64::MAX)?, Int::Small(1)))
    } else {
        Ok((num, Int::Small(1).shl(&Int::from(-e), u64::MAX)?))
    }
}
