//! The `math` functions on ints of any size, as CPython 3.11's `Modules/mathmodule.c`:
//! [`gcd`], [`lcm`], [`isqrt`], [`factorial`], [`comb`], [`perm`], and [`log`] (natural
//! log of an int too big for a float, via its mantissa and exponent, as `loghelper`).
//! Results that would be huge (`factorial(10**7)`) are refused before computing with a
//! `MemoryError` past `max_bits`, as [`Int::pow`] does.

use super::bigint::{Int, NumError};

fn value_error(msg: &str) -> NumError {
    NumError::new("ValueError", msg)
}

fn too_big(what: &str, bits: u64, max_bits: u64) -> NumError {
    NumError::new(
        "MemoryError",
        format!("{what} would have about {bits} bits, over this interpreter's budget of {max_bits} bits"),
    )
}

/// `math.gcd(a, b)` (always non-negative; `gcd(0, 0) == 0`). `math.gcd(*args)` folds it.
#[must_use]
pub fn gcd(a: &Int, b: &Int) -> Int {
    let mut x = a.abs();
    let mut y = b.abs();
    while !y.is_zero() {
        let r = x.rem(&y).unwrap_or(Int::ZERO);
        x = y;
        y = r;
    }
    x
}

/// `math.lcm(a, b)` (non-negative; 0 when either is 0).
#[must_use]
pub fn lcm(a: &Int, b: &Int) -> Int {
    if a.is_zero() || b.is_zero() {
        return Int::ZERO;
    }
    let g = gcd(a, b);
    a.abs().floordiv(&g).unwrap_or(Int::ZERO).mul(&b.abs())
}

/// `math.isqrt(n)`: the floor of the square root.
///
/// # Errors
/// `ValueError: isqrt() argument must be nonnegative`.
pub fn isqrt(n: &Int) -> Result<Int, NumError> {
    if n.is_negative() {
        return Err(value_error("isqrt() argument must be nonnegative"));
    }
    if n.is_zero() {
        return Ok(Int::ZERO);
    }
    // Newton's iteration from above: x starts at a power of two >= sqrt(n).
    let one = Int::Small(1);
    let two = Int::Small(2);
    let mut x = one.shl(&Int::from(n.bit_length().div_ceil(2)), u64::MAX)?;
    loop {
        let y = x.add(&n.floordiv(&x)?).floordiv(&two)?;
        if y >= x {
            return Ok(x);
        }
        x = y;
    }
}

/// An upper bound of `log2(n!)` bits: n * log2(n) suffices.
fn factorial_bits(n: u64) -> u64 {
    let log2 = 64 - u64::from(n.leading_zeros());
    n.saturating_mul(log2)
}

/// The product `lo * (lo+1) * ... * hi` by halving, so the big multiplications are
/// between numbers of similar size.
fn range_product(lo: u64, hi: u64) -> Int {
    if lo > hi {
        return Int::Small(1);
    }
    if hi - lo < 8 {
        let mut p = Int::Small(1);
        for k in lo..=hi {
            p = p.mul(&Int::from(k));
        }
        return p;
    }
    let mid = lo + (hi - lo) / 2;
    range_product(lo, mid).mul(&range_product(mid + 1, hi))
}

/// `math.factorial(n)`.
///
/// # Errors
/// `ValueError: factorial() not defined for negative values`; `OverflowError` past a
/// C long as CPython; `MemoryError` past `max_bits`.
pub fn factorial(n: &Int, max_bits: u64) -> Result<Int, NumError> {
    if n.is_negative() {
        return Err(value_error("factorial() not defined for negative values"));
    }
    let Some(k) = n.to_i64() else {
        return Err(NumError::new("OverflowError", "factorial() argument should not exceed 9223372036854775807"));
    };
    let k = k.unsigned_abs();
    let bits = factorial_bits(k);
    if bits > max_bits {
        return Err(too_big(&format!("factorial({k})"), bits, max_bits));
    }
    Ok(range_product(2, k))
}

fn non_negative(v: &Int, name: &str) -> Result<(), NumError> {
    if v.is_negative() {
        return Err(value_error(&format!("{name} must be a non-negative integer")));
    }
    Ok(())
}

/// `math.perm(n, k)`; `k == None` is `perm(n) == factorial(n)`.
///
/// # Errors
/// CPython's `ValueError`s for negative arguments; `MemoryError` past `max_bits`.
pub fn perm(n: &Int, k: Option<&Int>, max_bits: u64) -> Result<Int, NumError> {
    let Some(k) = k else {
        return factorial(n, max_bits);
    };
    non_negative(n, "n")?;
    non_negative(k, "k")?;
    if k > n {
        return Ok(Int::ZERO);
    }
    let (Some(nn), Some(kk)) = (n.to_i64(), k.to_i64()) else {
        return Err(too_big("perm()", u64::MAX, max_bits));
    };
    let (nn, kk) = (nn.unsigned_abs(), kk.unsigned_abs());
    let bits = kk.saturating_mul(64 - u64::from(nn.leading_zeros()));
    if bits > max_bits {
        return Err(too_big("perm()", bits, max_bits));
    }
    Ok(range_product(nn - kk + 1, nn))
}

/// `math.comb(n, k)`.
///
/// # Errors
/// CPython's `ValueError`s for negative arguments; `MemoryError` past `max_bits`.
pub fn comb(n: &Int, k: &Int, max_bits: u64) -> Result<Int, NumError> {
    non_negative(n, "n")?;
    non_negative(k, "k")?;
    if k > n {
        return Ok(Int::ZERO);
    }
    let (Some(nn), Some(kk)) = (n.to_i64(), k.to_i64()) else {
        return Err(too_big("comb()", u64::MAX, max_bits));
    };
    let (nn, kk) = (nn.unsigned_abs(), kk.unsigned_abs());
    let kk = kk.min(nn - kk);
    let bits = kk.saturating_mul(64 - u64::from(nn.leading_zeros()));
    if bits > max_bits {
        return Err(too_big("comb()", bits, max_bits));
    }
    let num = range_product(nn - kk + 1, nn);
    let den = range_product(2, kk);
    num.floordiv(&den)
}

/// `math.log(n)` (natural) for an int of any size.
///
/// # Errors
/// `ValueError: math domain error` for `n <= 0`.
pub fn log(n: &Int) -> Result<f64, NumError> {
    if n.signum() <= 0 {
        return Err(value_error("math domain error"));
    }
    if let Ok(x) = n.to_f64() {
        return Ok(super::clib::log(x));
    }
    // n = m * 2**e with m in [0.5, 1) correctly rounded (_PyLong_Frexp), then
    // ln(m) + ln(2) * e, as CPython's loghelper. The top 55 bits with a sticky bit for
    // the rest round to 53 exactly as the whole would.
    let mut e = n.bit_length();
    let shift = Int::from(e - 55);
    let mut top = n.shr(&shift)?;
    if top.shl(&shift, u64::MAX)? != *n {
        top = top.bitor(&Int::Small(1));
    }
    let mut m = top.to_f64()? / 36_028_797_018_963_968.0; // 2**55
    if m == 1.0 {
        m = 0.5;
        e += 1;
    }
    #[allow(clippy::cast_precision_loss)] // a bit count far below 2**53
    let e = e as f64;
    Ok(super::clib::log(m) + std::f64::consts::LN_2 * e)
}
