//! Python's text of numbers: `repr(float)`, and the format-spec mini-language of
//! `format(value, spec)`, f-strings and `str.format`:
//! `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
//!
//! A port of CPython 3.11's `Python/formatter_unicode.c` (spec parsing, padding, grouping)
//! and `Python/pystrtod.c` (`format_float_short`). The digits that David Gay's `dtoa`
//! gives CPython come from Rust's float formatting (shortest round-trip, and exact digits
//! rounded half to even), made to pick the nearest of equally short strings as dtoa does,
//! and from exact [`Int`] arithmetic where Rust has no equivalent (negative places).
//! Errors are CPython's, as [`NumError`]s for the VM to raise.
//!
//! API:
//! - [`float_repr`]`(x)`: `repr(x)` / `str(x)` of a float (`0.1`, `1e+16`, `-0.0`, `inf`).
//! - [`format_int`]`(v, spec)`, [`format_float`]`(x, spec)`, [`format_str`]`(s, spec)`:
//!   `format(value, spec)` for an int, a float, a str. An empty spec gives `str(value)`
//!   (the VM should answer `format(True, "")` with `"True"` itself: [`format_int_named`]
//!   formats a bool with its type name in the errors).
//! - [`float_to_string`]: CPython's `PyOS_double_to_string` (`'e' 'f' 'g' 'r'`, precision,
//!   flags), for `round()`-like needs and %-formatting.

// Widths and precisions are parsed as i64 and compared with lengths, as CPython's
// Py_ssize_t; every cast below is of a small non-negative count.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]

use super::bigint::{Int, NumError};

/// The largest width or precision this interpreter builds (CPython has none short of
/// memory): past it, a `MemoryError` rather than a megabyte string.
pub const MAX_FORMAT_WIDTH: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grouping {
    None,
    Comma,
    Underscore,
    /// `_` with `b o x X`: every four digits.
    UnderFour,
}

#[derive(Clone, Debug)]
struct Spec {
    fill: char,
    align: char,
    sign: Option<char>,
    no_neg_0: bool,
    alternate: bool,
    width: i64,
    grouping: Grouping,
    precision: i64,
    ty: Option<char>,
}

fn value_error(msg: impl Into<String>) -> NumError {
    NumError::new("ValueError", msg)
}

/// `%c` of a code in CPython's messages: printable ASCII as is, else `\x..`.
fn code_text(c: char) -> String {
    let u = c as u32;
    if u > 32 && u < 128 {
        c.to_string()
    } else {
        format!("\\x{u:x}")
    }
}

fn unknown_code(c: char, type_name: &str) -> NumError {
    value_error(format!("Unknown format code '{}' for object of type '{type_name}'", code_text(c)))
}

fn is_align(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '^')
}

/// Digits at `pos`: how many were consumed, the value; `Err` past `i64` as CPython's
/// Py_ssize_t overflow.
fn get_integer(chars: &[char], pos: &mut usize) -> Result<(usize, i64), NumError> {
    let start = *pos;
    let mut v: i64 = 0;
    while *pos < chars.len() {
        let Some(d) = chars[*pos].to_digit(10) else { break };
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d)))
            .ok_or_else(|| value_error("Too many decimal digits in format string"))?;
        *pos += 1;
    }
    Ok((*pos - start, v))
}

/// `parse_internal_render_format_spec`.
fn parse_spec(spec: &str, type_name: &str, default_align: char, default_type: Option<char>) -> Result<Spec, NumError> {
    let chars: Vec<char> = spec.chars().collect();
    let end = chars.len();
    let mut pos = 0;
    let mut f = Spec {
        fill: ' ',
        align: default_align,
        sign: None,
        no_neg_0: false,
        alternate: false,
        width: -1,
        grouping: Grouping::None,
        precision: -1,
        ty: default_type,
    };
    let mut fill_specified = false;
    let mut align_specified = false;
    if end >= 2 && is_align(chars[1]) {
        f.align = chars[1];
        f.fill = chars[0];
        fill_specified = true;
        align_specified = true;
        pos = 2;
    } else if end >= 1 && is_align(chars[0]) {
        f.align = chars[0];
        align_specified = true;
        pos = 1;
    }
    if pos < end && matches!(chars[pos], '+' | '-' | ' ') {
        f.sign = Some(chars[pos]);
        pos += 1;
    }
    if pos < end && chars[pos] == 'z' {
        f.no_neg_0 = true;
        pos += 1;
    }
    if pos < end && chars[pos] == '#' {
        f.alternate = true;
        pos += 1;
    }
    if !fill_specified && pos < end && chars[pos] == '0' {
        f.fill = '0';
        if !align_specified && default_align == '>' {
            f.align = '=';
        }
        pos += 1;
    }
    let (consumed, width) = get_integer(&chars, &mut pos)?;
    if consumed > 0 {
        f.width = width;
    }
    if pos < end && chars[pos] == ',' {
        f.grouping = Grouping::Comma;
        pos += 1;
    }
    if pos < end && chars[pos] == '_' {
        if f.grouping != Grouping::None {
            return Err(value_error("Cannot specify both ',' and '_'."));
        }
        f.grouping = Grouping::Underscore;
        pos += 1;
    }
    if pos < end && chars[pos] == ',' && f.grouping == Grouping::Underscore {
        return Err(value_error("Cannot specify both ',' and '_'."));
    }
    if pos < end && chars[pos] == '.' {
        pos += 1;
        let (consumed, precision) = get_integer(&chars, &mut pos)?;
        if consumed == 0 {
            return Err(value_error("Format specifier missing precision"));
        }
        f.precision = precision;
    }
    if end - pos > 1 {
        return Err(value_error(format!("Invalid format specifier '{spec}' for object of type '{type_name}'")));
    }
    if end - pos == 1 {
        f.ty = Some(chars[pos]);
    }
    if f.grouping != Grouping::None {
        match f.ty {
            None | Some('d' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F') => {}
            Some('b' | 'o' | 'x' | 'X') if f.grouping == Grouping::Underscore => f.grouping = Grouping::UnderFour,
            Some(t) => {
                let sep = if f.grouping == Grouping::Comma { ',' } else { '_' };
                return Err(value_error(format!("Cannot specify '{sep}' with '{}'.", code_text(t))));
            }
        }
    }
    Ok(f)
}

/// Checked once CPython's own validations have passed, so its errors come first.
/// A str's precision only truncates, so `with_precision` is false there.
fn check_budget(f: &Spec, with_precision: bool) -> Result<(), NumError> {
    if f.width > MAX_FORMAT_WIDTH || (with_precision && f.precision > MAX_FORMAT_WIDTH) {
        return Err(NumError::new(
            "MemoryError",
            format!("a format width or precision over {MAX_FORMAT_WIDTH} is beyond this interpreter's budget"),
        ));
    }
    Ok(())
}

/// `_PyUnicode_InsertThousandsGrouping`: the digits grouped (and zero-padded to
/// `min_width` when the fill is `0` with `=` alignment, separators included).
fn group_digits(digits: &str, min_width: i64, grouping: Grouping) -> String {
    let (sep, group): (&str, i64) = match grouping {
        Grouping::None => ("", 0),
        Grouping::Comma => (",", 3),
        Grouping::Underscore => ("_", 3),
        Grouping::UnderFour => ("_", 4),
    };
    let bytes = digits.as_bytes();
    let mut remaining = bytes.len() as i64;
    let mut min_width = min_width;
    // Pieces from the right, reversed at the end.
    let mut pieces: Vec<String> = Vec::new();
    let mut use_sep = false;
    let mut take = |l: i64, remaining: &mut i64, use_sep: &mut bool| {
        let n_zeros = (l - *remaining).max(0);
        let n_chars = (*remaining).min(l).max(0);
        let mut piece = String::new();
        piece.push_str(&"0".repeat(n_zeros as usize));
        let end = *remaining as usize;
        piece.push_str(&digits[end - n_chars as usize..end]);
        if *use_sep {
            piece.push_str(sep);
        }
        pieces.push(piece);
        *use_sep = true;
        *remaining -= n_chars;
    };
    let mut broke = false;
    if group > 0 {
        loop {
            let l = group.min(remaining.max(min_width).max(1));
            take(l, &mut remaining, &mut use_sep);
            min_width -= l;
            if remaining <= 0 && min_width <= 0 {
                broke = true;
                break;
            }
            min_width -= sep.len() as i64;
        }
    }
    if !broke {
        let l = remaining.max(min_width).max(1);
        take(l, &mut remaining, &mut use_sep);
    }
    pieces.reverse();
    pieces.concat()
}

/// The parts of a number as `calc_number_widths` and `fill_number` lay them out:
/// `<lpad><sign><prefix><spad><grouped digits><decimal><remainder><rpad>`.
struct Number<'a> {
    sign_char: Option<char>,
    prefix: &'a str,
    digits: &'a str,
    has_decimal: bool,
    remainder: &'a str,
    upper: bool,
}

fn fill_number(n: &Number<'_>, f: &Spec, grouping: Grouping) -> String {
    let sign = match f.sign {
        Some('+') => Some(if n.sign_char == Some('-') { '-' } else { '+' }),
        Some(' ') => Some(if n.sign_char == Some('-') { '-' } else { ' ' }),
        _ => n.sign_char,
    };
    let n_sign = i64::from(sign.is_some());
    let n_prefix = n.prefix.chars().count() as i64;
    let n_decimal = i64::from(n.has_decimal);
    let n_remainder = n.remainder.chars().count() as i64;
    let non_digit = n_sign + n_prefix + n_decimal + n_remainder;
    let min_width = if f.fill == '0' && f.align == '=' { f.width - non_digit } else { 0 };
    let grouped = if n.digits.is_empty() { String::new() } else { group_digits(n.digits, min_width, grouping) };
    let n_padding = f.width - (non_digit + grouped.chars().count() as i64);
    let (mut lpad, mut spad, mut rpad) = (0, 0, 0);
    if n_padding > 0 {
        match f.align {
            '<' => rpad = n_padding,
            '^' => {
                lpad = n_padding / 2;
                rpad = n_padding - lpad;
            }
            '=' => spad = n_padding,
            _ => lpad = n_padding,
        }
    }
    let fill = |k: i64| f.fill.to_string().repeat(k as usize);
    let mut out = fill(lpad);
    if let Some(s) = sign {
        out.push(s);
    }
    if n.upper {
        out.push_str(&n.prefix.to_uppercase());
    } else {
        out.push_str(n.prefix);
    }
    out.push_str(&fill(spad));
    if n.upper {
        out.push_str(&grouped.to_uppercase());
    } else {
        out.push_str(&grouped);
    }
    if n.has_decimal {
        out.push('.');
    }
    out.push_str(n.remainder);
    out.push_str(&fill(rpad));
    out
}

/// `format(s, spec)` for a str.
///
/// # Errors
/// CPython's `ValueError`s for specs a str refuses.
pub fn format_str(s: &str, spec: &str) -> Result<String, NumError> {
    if spec.is_empty() {
        return Ok(s.to_owned());
    }
    let f = parse_spec(spec, "str", '<', Some('s'))?;
    match f.ty {
        None | Some('s') => {}
        Some(t) => return Err(unknown_code(t, "str")),
    }
    match f.sign {
        Some(' ') => return Err(value_error("Space not allowed in string format specifier")),
        Some(_) => return Err(value_error("Sign not allowed in string format specifier")),
        None => {}
    }
    if f.no_neg_0 {
        return Err(value_error("Negative zero coercion (z) not allowed in string format specifier"));
    }
    if f.alternate {
        return Err(value_error("Alternate form (#) not allowed in string format specifier"));
    }
    if f.align == '=' {
        return Err(value_error("'=' alignment not allowed in string format specifier"));
    }
    check_budget(&f, false)?;
    let mut len = s.chars().count() as i64;
    let text: String = if f.precision >= 0 && len > f.precision {
        len = f.precision;
        s.chars().take(f.precision as usize).collect()
    } else {
        s.to_owned()
    };
    Ok(pad(&text, len, &f))
}

fn pad(text: &str, len: i64, f: &Spec) -> String {
    let total = f.width.max(len);
    let n_padding = total - len;
    let (l, r) = match f.align {
        '>' => (n_padding, 0),
        '^' => (n_padding / 2, n_padding - n_padding / 2),
        _ => (0, n_padding),
    };
    let fill = |k: i64| f.fill.to_string().repeat(k as usize);
    format!("{}{text}{}", fill(l), fill(r))
}

/// `format(v, spec)` for an int.
///
/// # Errors
/// CPython's `ValueError`s (unknown code, precision given, bad grouping...), the
/// `OverflowError`s of `c` out of range and of float types on huge ints, and the
/// 4,300-digit `ValueError` of decimal conversion.
pub fn format_int(v: &Int, spec: &str) -> Result<String, NumError> {
    format_int_named(v, spec, "int")
}

/// [`format_int`] with the type named in errors (`"bool"` for `True`/`False`; the VM
/// answers an empty spec of a bool with `str(b)` itself).
///
/// # Errors
/// As [`format_int`].
pub fn format_int_named(v: &Int, spec: &str, type_name: &str) -> Result<String, NumError> {
    if spec.is_empty() {
        return v.to_str();
    }
    let f = parse_spec(spec, type_name, '>', Some('d'))?;
    match f.ty {
        Some('b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n') => {}
        Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => return format_float_spec(v.to_f64()?, &f),
        Some(t) => return Err(unknown_code(t, type_name)),
        None => unreachable!("an int spec defaults to 'd'"),
    }
    if f.precision != -1 {
        return Err(value_error("Precision not allowed in integer format specifier"));
    }
    if f.no_neg_0 {
        return Err(value_error("Negative zero coercion (z) not allowed in integer format specifier"));
    }
    check_budget(&f, true)?;
    let grouping = if f.ty == Some('n') { Grouping::None } else { f.grouping };
    if f.ty == Some('c') {
        if f.sign.is_some() {
            return Err(value_error("Sign not allowed with integer format specifier 'c'"));
        }
        if f.alternate {
            return Err(value_error("Alternate form (#) not allowed with integer format specifier 'c'"));
        }
        let ch =
            v.to_i64().ok_or_else(|| NumError::new("OverflowError", "Python int too large to convert to C long"))?;
        let ch = u32::try_from(ch)
            .ok()
            .filter(|&c| c <= 0x10ffff)
            .ok_or_else(|| NumError::new("OverflowError", "%c arg not in range(0x110000)"))?;
        // A lone surrogate is a valid Python str character but not a Rust char.
        let ch = char::from_u32(ch).ok_or_else(|| {
            value_error(format!("format 'c' of a surrogate (U+{ch:04X}) is not supported by this interpreter"))
        })?;
        let s = ch.to_string();
        let n = Number { sign_char: None, prefix: "", digits: "", has_decimal: false, remainder: &s, upper: false };
        return Ok(fill_number(&n, &f, grouping));
    }
    let (digits, prefix) = match f.ty {
        Some('b') => (v.magnitude_radix(2), "0b"),
        Some('o') => (v.magnitude_radix(8), "0o"),
        Some('x' | 'X') => (v.magnitude_radix(16), "0x"),
        _ => (v.magnitude_decimal()?, ""),
    };
    let n = Number {
        sign_char: if v.is_negative() { Some('-') } else { None },
        prefix: if f.alternate { prefix } else { "" },
        digits: &digits,
        has_decimal: false,
        remainder: "",
        upper: f.ty == Some('X'),
    };
    Ok(fill_number(&n, &f, grouping))
}

/// `format(x, spec)` for a float.
///
/// # Errors
/// CPython's `ValueError`s (unknown code such as `d`, bad grouping, ...).
pub fn format_float(x: f64, spec: &str) -> Result<String, NumError> {
    if spec.is_empty() {
        return Ok(float_repr(x));
    }
    let f = parse_spec(spec, "float", '>', None)?;
    format_float_spec(x, &f)
}

fn format_float_spec(x: f64, f: &Spec) -> Result<String, NumError> {
    let mut ty = match f.ty {
        None => 'r',
        Some(t @ ('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%')) => t,
        Some('n') => 'g',
        Some(t) => return Err(unknown_code(t, "float")),
    };
    let mut flags = Flags { alt: f.alternate, no_neg_0: f.no_neg_0, ..Flags::default() };
    let mut default_precision = 6;
    if ty == 'r' {
        flags.add_dot_0 = true;
        default_precision = 0;
    }
    let mut val = x;
    let mut add_pct = false;
    if ty == '%' {
        ty = 'f';
        val *= 100.0;
        add_pct = true;
    }
    let precision = if f.precision < 0 {
        default_precision
    } else {
        if ty == 'r' {
            ty = 'g';
        }
        f.precision
    };
    if precision > i64::from(i32::MAX) {
        return Err(value_error("precision too big"));
    }
    check_budget(f, true)?;
    let mut buf = float_to_string(val, ty, precision as usize, flags);
    if add_pct {
        buf.push('%');
    }
    let (sign_char, body) = match buf.strip_prefix('-') {
        Some(rest) => (Some('-'), rest),
        None => (None, buf.as_str()),
    };
    let digit_end = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
    let has_decimal = body[digit_end..].starts_with('.');
    let remainder = &body[digit_end + usize::from(has_decimal)..];
    let grouping = if f.ty == Some('n') { Grouping::None } else { f.grouping };
    let n = Number { sign_char, prefix: "", digits: &body[..digit_end], has_decimal, remainder, upper: false };
    Ok(fill_number(&n, f, grouping))
}

/// The flags of `PyOS_double_to_string`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    /// `Py_DTSF_SIGN`: a `+` before non-negative values.
    pub sign: bool,
    /// `Py_DTSF_ADD_DOT_0`: `1.0` rather than `1` (repr, and `format(x, '.3')`).
    pub add_dot_0: bool,
    /// `Py_DTSF_ALT`: `#`, keep the point and trailing zeros.
    pub alt: bool,
    /// `Py_DTSF_NO_NEG_0`: `z`, a negative value that rounds to zero prints unsigned.
    pub no_neg_0: bool,
}

/// `repr(x)` and `str(x)` of a float, as CPython: the shortest digits that read back as
/// `x`, in fixed notation from 1e-4 up to 1e16, scientific beyond (`1e+16`, `1.5e-07`).
#[must_use]
pub fn float_repr(x: f64) -> String {
    float_to_string(x, 'r', 0, Flags { add_dot_0: true, ..Flags::default() })
}

/// CPython's `PyOS_double_to_string(x, code, precision, flags)`: `code` is one of
/// `e E f F g G r` (`r` is the shortest round-trip, and takes precision 0).
///
/// # Panics
/// On another code (a bug of the caller).
#[must_use]
pub fn float_to_string(x: f64, code: char, precision: usize, flags: Flags) -> String {
    let upper = code.is_ascii_uppercase();
    let code = code.to_ascii_lowercase();
    let (mode, ndigits) = match code {
        'e' => (2, precision + 1),
        'f' => (3, precision),
        'g' => (2, precision.max(1)),
        'r' => (0, 0),
        other => panic!("float_to_string: unknown code {other:?}"),
    };
    let precision = ndigits;
    let mut neg = x.is_sign_negative();
    if x.is_nan() || x.is_infinite() {
        let word = if x.is_nan() { "nan" } else { "inf" };
        let word = if upper { word.to_uppercase() } else { word.to_owned() };
        if x.is_nan() {
            neg = false;
        }
        let sign = if neg {
            "-"
        } else if flags.sign {
            "+"
        } else {
            ""
        };
        return format!("{sign}{word}");
    }
    let (digits, decpt) = dtoa(x.abs(), mode, precision as i64);
    if flags.no_neg_0 && neg && (digits.is_empty() || digits == "0") {
        neg = false;
    }
    let digits_len = digits.len() as i64;
    let precision = precision as i64;
    let mut decpt = decpt;
    let mut use_exp = false;
    let mut vdigits_end = digits_len;
    match code {
        'e' => {
            use_exp = true;
            vdigits_end = precision;
        }
        'f' => vdigits_end = decpt + precision,
        'g' => {
            if decpt <= -4 || decpt > (if flags.add_dot_0 { precision - 1 } else { precision }) {
                use_exp = true;
            }
            if flags.alt {
                vdigits_end = precision;
            }
        }
        _ => {
            if decpt <= -4 || decpt > 16 {
                use_exp = true;
            }
        }
    }
    let mut exp = 0;
    if use_exp {
        exp = decpt - 1;
        decpt = 1;
    }
    let vdigits_start = if decpt <= 0 { decpt - 1 } else { 0 };
    vdigits_end = if !use_exp && flags.add_dot_0 { vdigits_end.max(decpt + 1) } else { vdigits_end.max(decpt) };
    let zeros = |k: i64| "0".repeat(k.max(0) as usize);
    let mut p = String::new();
    if neg {
        p.push('-');
    } else if flags.sign {
        p.push('+');
    }
    if decpt <= 0 {
        p.push_str(&zeros(decpt - vdigits_start));
        p.push('.');
        p.push_str(&zeros(-decpt));
    } else {
        p.push_str(&zeros(-vdigits_start));
    }
    if 0 < decpt && decpt <= digits_len {
        p.push_str(&digits[..decpt as usize]);
        p.push('.');
        p.push_str(&digits[decpt as usize..]);
    } else {
        p.push_str(&digits);
    }
    if digits_len < decpt {
        p.push_str(&zeros(decpt - digits_len));
        p.push('.');
        p.push_str(&zeros(vdigits_end - decpt));
    } else {
        p.push_str(&zeros(vdigits_end - digits_len));
    }
    if p.ends_with('.') && !flags.alt {
        p.pop();
    }
    if use_exp {
        p.push(if upper { 'E' } else { 'e' });
        p.push(if exp < 0 { '-' } else { '+' });
        p.push_str(&format!("{:02}", exp.abs()));
    }
    p
}

/// The decimal digits of a finite `x >= 0` as David Gay's `_Py_dg_dtoa` gives them:
/// `(digits without trailing zeros, decpt)`, the value being `0.digits * 10**decpt`.
/// Mode 0: shortest round-trip; 2: `n` significant digits; 3: `n` digits after the
/// point, `n` may be negative (the empty string when that rounds to zero). Rounding is exact, ties to even.
pub(super) fn dtoa(x: f64, mode: u8, n: i64) -> (String, i64) {
    if x == 0.0 {
        return ("0".to_owned(), 1);
    }
    if mode == 0 {
        // Rust's `{:e}` gives the shortest round-trip digits, but when several strings of
        // that length read back as x it may not pick the nearest, which dtoa does: take
        // its length, then the correctly rounded digits of that length if they round-trip.
        let s = format!("{x:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_end_matches('0').to_owned();
        let exp: i64 = exp.parse().unwrap_or(0);
        if digits.len() >= 16 {
            let (near, decpt) = dtoa(x, 2, digits.len() as i64);
            let back: Option<f64> = format!("0.{near}e{decpt}").parse().ok();
            if back == Some(x) {
                return (near, decpt);
            }
        }
        return (digits, exp + 1);
    }
    if mode == 2 || n >= 0 {
        return dtoa_rust(x, mode, n);
    }
    dtoa_exact(x, mode, n)
}

/// Modes 2 and 3 (`n >= 0`) from Rust's exact formatting, which rounds the exact value
/// half to even as dtoa does (`format!("{:.2}", 0.125) == "0.12"`), and is several
/// times faster than [`dtoa_exact`]; the two are compared in the tests.
pub(super) fn dtoa_rust(x: f64, mode: u8, n: i64) -> (String, i64) {
    if mode == 2 {
        let n = n.clamp(1, 800) as usize;
        let s = format!("{:.*e}", n - 1, x);
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let exp: i64 = exp.parse().unwrap_or(0);
        return (digits.trim_end_matches('0').to_owned(), exp + 1);
    }
    // Past 1075 places a double's expansion has ended: only zeros follow.
    let places = n.min(1100) as usize;
    let s = format!("{x:.places$}");
    let (int_part, frac) = s.split_once('.').unwrap_or((&s, ""));
    let all = format!("{int_part}{frac}");
    let lead = all.bytes().take_while(|&b| b == b'0').count();
    if lead == all.len() {
        return (String::new(), -n);
    }
    (all[lead..].trim_end_matches('0').to_owned(), int_part.len() as i64 - lead as i64)
}

/// dtoa's digits by exact integer arithmetic on `x = m * 2**e`: every mode and `n`,
/// negative `n` in mode 3 included (`round(x, -2)`).
pub(super) fn dtoa_exact(x: f64, mode: u8, n: i64) -> (String, i64) {
    // x = m * 2**e exactly.
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 { (frac, -1074) } else { (frac | (1 << 52), biased - 1075) };
    let two = Int::Small(2);
    let ten = Int::Small(10);
    let big = u64::MAX;
    let pow = |b: &Int, k: i64| b.pow(&Int::Small(k), big).unwrap_or(Int::ZERO);
    let (num, den) =
        if e >= 0 { (Int::from(m).mul(&pow(&two, e)), Int::Small(1)) } else { (Int::from(m), pow(&two, -e)) };
    // round(num * 10**s / den), ties to even.
    let scaled = |s: i64| -> Int {
        let (nn, dd) =
            if s >= 0 { (num.mul(&pow(&ten, s)), den.clone()) } else { (num.clone(), den.mul(&pow(&ten, -s))) };
        let (q, r) = nn.divmod(&dd).unwrap_or((Int::ZERO, Int::ZERO));
        match r.mul(&two).cmp(&dd) {
            std::cmp::Ordering::Greater => q.add(&Int::Small(1)),
            std::cmp::Ordering::Equal if q.bit_length() > 0 && q.bitand(&Int::Small(1)) == Int::Small(1) => {
                q.add(&Int::Small(1))
            }
            _ => q,
        }
    };
    if mode == 3 {
        // Past 1075 places a double's expansion has ended: only zeros follow.
        let places = n.min(1100);
        let r = scaled(places);
        if r.is_zero() {
            return (String::new(), -n);
        }
        let s = r.to_string();
        let decpt = s.len() as i64 - places;
        return (s.trim_end_matches('0').to_owned(), decpt);
    }
    // Mode 2: k = floor(log10(x)), estimated then made exact.
    let n = n.clamp(1, 800);
    let mut k = x.log10().floor() as i64;
    let ge_pow10 = |k: i64| -> bool {
        // x >= 10**k ?
        if k >= 0 {
            num >= den.mul(&pow(&ten, k))
        } else {
            num.mul(&pow(&ten, -k)) >= den
        }
    };
    while !ge_pow10(k) {
        k -= 1;
    }
    while ge_pow10(k + 1) {
        k += 1;
    }
    let mut r = scaled(n - 1 - k);
    if r == pow(&ten, n) {
        r = pow(&ten, n - 1);
        k += 1;
    }
    let s = r.to_string();
    (s.trim_end_matches('0').to_owned(), k + 1)
}
