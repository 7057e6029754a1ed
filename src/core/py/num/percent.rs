//! printf-style string formatting, `template % args`, as CPython 3.11's
//! `PyUnicode_Format` (Objects/unicodeobject.c): the same parse, the same order of
//! argument fetching and errors, the same padding.
//!
//! API: [`percent_format`]`(host, template, args)`. The VM implements [`PercentHost`]
//! for its values (what kind of number a value is, its `str`/`repr`/`ascii`, a mapping's
//! item) and passes `args` as [`PercentArgs`]: the tuple's items, or one object (also
//! marked as a mapping when it is a dict, as CPython checks `PyMapping_Check`).

// Widths and precisions are small counts by the time they are cast.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]

use super::bigint::{Int, NumError};
use super::format::{float_to_string, Flags};

/// What the VM knows about a value, for the numeric conversions.
#[derive(Clone, Debug)]
pub enum PercentNumber {
    /// An `int` (or a `bool`: CPython formats `True` as `1` under `%d`).
    Int(Int),
    Float(f64),
    /// A `str` (only `%c` takes one, of length 1).
    Str(String),
    /// Anything else (its type name is asked for the error message).
    Other,
}

/// What [`percent_format`] needs from the VM.
pub trait PercentHost {
    type Value: Clone;
    /// Classify a value for `%d %x %f %c ...`.
    fn number(&mut self, v: &Self::Value) -> PercentNumber;
    /// `type(v).__name__`, for error messages.
    fn type_name(&mut self, v: &Self::Value) -> String;
    /// `str(v)` for `conv == 's'`, `repr(v)` for `'r'`, `ascii(v)` for `'a'`.
    ///
    /// # Errors
    /// Whatever the object's `__str__`/`__repr__` raises.
    fn text(&mut self, v: &Self::Value, conv: char) -> Result<String, NumError>;
    /// `mapping[key]` for `%(key)s`.
    ///
    /// # Errors
    /// The mapping's `KeyError`.
    fn get_item(&mut self, mapping: &Self::Value, key: &str) -> Result<Self::Value, NumError>;
}

/// The right operand of `%`.
#[derive(Clone, Debug)]
pub enum PercentArgs<V> {
    /// A tuple: its items, used in order.
    Tuple(Vec<V>),
    /// Any other object, used once; `mapping` when `%(key)s` may look keys up in it
    /// (a dict: CPython's `PyMapping_Check` and not a tuple or str).
    Single { value: V, mapping: bool },
}

const F_LJUST: u8 = 1;
const F_SIGN: u8 = 2;
const F_BLANK: u8 = 4;
const F_ALT: u8 = 8;
const F_ZERO: u8 = 16;

fn type_error(msg: impl Into<String>) -> NumError {
    NumError::new("TypeError", msg)
}

fn value_error(msg: impl Into<String>) -> NumError {
    NumError::new("ValueError", msg)
}

/// The argument cursor of CPython's `unicode_formatter_t`.
struct Cursor<V> {
    items: Vec<V>,
    /// `-1` for a single object, as CPython.
    arglen: i64,
    argidx: i64,
    dict: Option<V>,
}

impl<V: Clone> Cursor<V> {
    fn next(&mut self) -> Result<V, NumError> {
        let idx = self.argidx;
        if idx < self.arglen {
            self.argidx += 1;
            return Ok(if self.arglen < 0 { self.items[0].clone() } else { self.items[idx as usize].clone() });
        }
        Err(type_error("not enough arguments for format string"))
    }
}

/// `template % args`.
///
/// # Errors
/// CPython's errors: `TypeError` (not enough arguments, not all converted, `* wants
/// int`, a number required), `ValueError` (incomplete format, unsupported format
/// character), `OverflowError`, and whatever the host raises.
pub fn percent_format<H: PercentHost>(
    host: &mut H,
    template: &str,
    args: PercentArgs<H::Value>,
) -> Result<String, NumError> {
    let fmt: Vec<char> = template.chars().collect();
    let mut cur = match args {
        PercentArgs::Tuple(items) => {
            let n = items.len() as i64;
            Cursor { items, arglen: n, argidx: 0, dict: None }
        }
        PercentArgs::Single { value, mapping } => {
            let dict = mapping.then(|| value.clone());
            Cursor { items: vec![value], arglen: -1, argidx: -2, dict }
        }
    };
    let mut out = String::with_capacity(template.len() + 16);
    let mut pos = 0;
    while pos < fmt.len() {
        if fmt[pos] != '%' {
            let start = pos;
            while pos < fmt.len() && fmt[pos] != '%' {
                pos += 1;
            }
            out.extend(&fmt[start..pos]);
            continue;
        }
        pos += 1;
        format_arg(host, &fmt, &mut pos, &mut cur, &mut out)?;
    }
    if cur.argidx < cur.arglen && cur.dict.is_none() {
        return Err(type_error("not all arguments converted during string formatting"));
    }
    Ok(out)
}

struct Arg {
    ch: char,
    flags: u8,
    width: i64,
    prec: i64,
}

/// One conversion after a `%`: `unicode_format_arg`.
fn format_arg<H: PercentHost>(
    host: &mut H,
    fmt: &[char],
    pos: &mut usize,
    cur: &mut Cursor<H::Value>,
    out: &mut String,
) -> Result<(), NumError> {
    if fmt.get(*pos) == Some(&'%') {
        *pos += 1;
        out.push('%');
        return Ok(());
    }
    let mut arg = Arg { ch: '\0', flags: 0, width: -1, prec: -1 };
    parse_arg(host, fmt, pos, cur, &mut arg)?;
    let v = cur.next()?;
    let sign;
    let text = match arg.ch {
        's' | 'r' | 'a' => {
            sign = false;
            host.text(&v, arg.ch)?
        }
        'i' | 'd' | 'u' | 'o' | 'x' | 'X' => {
            sign = true;
            let value = match host.number(&v) {
                PercentNumber::Int(i) => i,
                PercentNumber::Float(x) if !matches!(arg.ch, 'o' | 'x' | 'X') => Int::from_f64(x)?,
                _ => {
                    let what = if matches!(arg.ch, 'o' | 'x' | 'X') { "an integer" } else { "a real number" };
                    return Err(type_error(format!(
                        "%{} format: {what} is required, not {}",
                        arg.ch,
                        host.type_name(&v)
                    )));
                }
            };
            format_long(&value, arg.flags & F_ALT != 0, arg.prec, arg.ch)?
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            sign = true;
            let x = match host.number(&v) {
                PercentNumber::Float(x) => x,
                PercentNumber::Int(i) => i.to_f64()?,
                _ => return Err(type_error(format!("must be real number, not {}", host.type_name(&v)))),
            };
            let prec = if arg.prec < 0 { 6 } else { arg.prec };
            if prec > 1_000_000 {
                return Err(NumError::new(
                    "MemoryError",
                    "a %-format precision over 1000000 is beyond this interpreter's budget",
                ));
            }
            float_to_string(x, arg.ch, prec as usize, Flags { alt: arg.flags & F_ALT != 0, ..Flags::default() })
        }
        'c' => {
            sign = false;
            let c = match host.number(&v) {
                PercentNumber::Str(s) if s.chars().count() == 1 => s.chars().next().unwrap_or('\0'),
                PercentNumber::Int(i) => {
                    let code = i
                        .to_i64()
                        .and_then(|c| u32::try_from(c).ok())
                        .filter(|&c| c <= 0x10ffff)
                        .ok_or_else(|| NumError::new("OverflowError", "%c arg not in range(0x110000)"))?;
                    char::from_u32(code).ok_or_else(|| {
                        value_error(format!("%c of a surrogate (U+{code:04X}) is not supported by this interpreter"))
                    })?
                }
                _ => return Err(type_error("%c requires int or char")),
            };
            c.to_string()
        }
        other => {
            let shown = if (31..=126).contains(&(other as u32)) { other } else { '?' };
            return Err(value_error(format!(
                "unsupported format character '{shown}' (0x{:x}) at index {}",
                other as u32,
                *pos - 1
            )));
        }
    };
    output(&arg, sign, &text, out)?;
    if cur.dict.is_some() && cur.argidx < cur.arglen {
        return Err(type_error("not all arguments converted during string formatting"));
    }
    Ok(())
}

/// `unicode_format_arg_parse`: key, flags, width, precision, length modifier, type.
fn parse_arg<H: PercentHost>(
    host: &mut H,
    fmt: &[char],
    pos: &mut usize,
    cur: &mut Cursor<H::Value>,
    arg: &mut Arg,
) -> Result<(), NumError> {
    // CPython counts the characters left in `fmtcnt`; here `*pos` against `fmt.len()`.
    if fmt.get(*pos) == Some(&'(') {
        let Some(dict) = cur.dict.clone() else {
            return Err(type_error("format requires a mapping"));
        };
        *pos += 1;
        let keystart = *pos;
        let mut depth = 1;
        while depth > 0 && *pos < fmt.len() {
            match fmt[*pos] {
                ')' => depth -= 1,
                '(' => depth += 1,
                _ => {}
            }
            *pos += 1;
        }
        if depth > 0 {
            return Err(value_error("incomplete format key"));
        }
        let key: String = fmt[keystart..*pos - 1].iter().collect();
        let item = host.get_item(&dict, &key)?;
        cur.items = vec![item];
        cur.arglen = -1;
        cur.argidx = -2;
    }
    let mut have = false;
    let next = |pos: &mut usize, ch: &mut char| -> bool {
        if *pos < fmt.len() {
            *ch = fmt[*pos];
            *pos += 1;
            true
        } else {
            false
        }
    };
    while next(pos, &mut arg.ch) {
        have = true;
        match arg.ch {
            '-' => arg.flags |= F_LJUST,
            '+' => arg.flags |= F_SIGN,
            ' ' => arg.flags |= F_BLANK,
            '#' => arg.flags |= F_ALT,
            '0' => arg.flags |= F_ZERO,
            _ => break,
        }
        have = false;
    }
    if !have {
        return Err(value_error("incomplete format"));
    }
    if arg.ch == '*' {
        let v = cur.next()?;
        let PercentNumber::Int(w) = host.number(&v) else {
            return Err(type_error("* wants int"));
        };
        let w =
            w.to_i64().ok_or_else(|| NumError::new("OverflowError", "Python int too large to convert to C ssize_t"))?;
        arg.width = w;
        if w < 0 {
            arg.flags |= F_LJUST;
            arg.width = w.checked_neg().unwrap_or(i64::MAX);
        }
        have = next(pos, &mut arg.ch);
    } else if arg.ch.is_ascii_digit() {
        arg.width = i64::from(arg.ch as u8 - b'0');
        have = false;
        while next(pos, &mut arg.ch) {
            if !arg.ch.is_ascii_digit() {
                have = true;
                break;
            }
            arg.width = arg
                .width
                .checked_mul(10)
                .and_then(|w| w.checked_add(i64::from(arg.ch as u8 - b'0')))
                .ok_or_else(|| value_error("width too big"))?;
        }
    }
    if have && arg.ch == '.' {
        arg.prec = 0;
        have = next(pos, &mut arg.ch);
        if have && arg.ch == '*' {
            let v = cur.next()?;
            let PercentNumber::Int(p) = host.number(&v) else {
                return Err(type_error("* wants int"));
            };
            let p = p
                .to_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| NumError::new("OverflowError", "Python int too large to convert to C int"))?;
            arg.prec = i64::from(p.max(0));
            have = next(pos, &mut arg.ch);
        } else if have && arg.ch.is_ascii_digit() {
            arg.prec = i64::from(arg.ch as u8 - b'0');
            have = false;
            while next(pos, &mut arg.ch) {
                if !arg.ch.is_ascii_digit() {
                    have = true;
                    break;
                }
                arg.prec = arg.prec * 10 + i64::from(arg.ch as u8 - b'0');
                if arg.prec > i64::from(i32::MAX) {
                    return Err(value_error("precision too big"));
                }
            }
        }
    }
    if have && matches!(arg.ch, 'h' | 'l' | 'L') {
        have = next(pos, &mut arg.ch);
    }
    if !have {
        return Err(value_error("incomplete format"));
    }
    if arg.width > super::format::MAX_FORMAT_WIDTH {
        return Err(NumError::new(
            "MemoryError",
            format!("a %-format width over {} is beyond this interpreter's budget", super::format::MAX_FORMAT_WIDTH),
        ));
    }
    Ok(())
}

/// `_PyUnicode_FormatLong`: digits with the precision's leading zeros, the prefix kept
/// only in the alternate form.
fn format_long(v: &Int, alt: bool, prec: i64, ty: char) -> Result<String, NumError> {
    let (digits, prefix) = match ty {
        'o' => (v.magnitude_radix(8), "0o"),
        'x' => (v.magnitude_radix(16), "0x"),
        'X' => (v.magnitude_radix(16).to_uppercase(), "0X"),
        _ => (v.magnitude_decimal()?, ""),
    };
    let mut s = String::new();
    if v.is_negative() {
        s.push('-');
    }
    if alt {
        s.push_str(prefix);
    }
    if prec > digits.len() as i64 {
        s.push_str(&"0".repeat(prec as usize - digits.len()));
    }
    s.push_str(&digits);
    Ok(s)
}

/// `unicode_format_arg_output`: sign, alternate prefix, zero or space padding.
fn output(arg: &Arg, sign: bool, text: &str, out: &mut String) -> Result<(), NumError> {
    let fill = if sign && arg.flags & F_ZERO != 0 { '0' } else { ' ' };
    let chars: Vec<char> = text.chars().collect();
    let mut len = chars.len() as i64;
    if (arg.width == -1 || arg.width <= len)
        && (arg.prec == -1 || arg.prec >= len)
        && arg.flags & (F_SIGN | F_BLANK) == 0
    {
        out.push_str(text);
        return Ok(());
    }
    if matches!(arg.ch, 's' | 'r' | 'a') && arg.prec >= 0 && len > arg.prec {
        len = arg.prec;
    }
    let mut pindex = 0usize;
    let mut signchar = None;
    let mut sign = sign;
    if sign {
        match chars.first() {
            Some(&c @ ('-' | '+')) => {
                signchar = Some(c);
                len -= 1;
                pindex += 1;
            }
            _ if arg.flags & F_SIGN != 0 => signchar = Some('+'),
            _ if arg.flags & F_BLANK != 0 => signchar = Some(' '),
            _ => sign = false,
        }
    }
    let mut width = arg.width.max(len);
    if sign {
        if fill != ' ' {
            out.extend(signchar);
        }
        if width > len {
            width -= 1;
        }
    }
    let alt_prefix = arg.flags & F_ALT != 0 && matches!(arg.ch, 'x' | 'X' | 'o');
    if alt_prefix {
        if fill != ' ' {
            out.push('0');
            out.push(arg.ch);
            pindex += 2;
        }
        width = (width - 2).max(0);
        len -= 2;
    }
    if width > len && arg.flags & F_LJUST == 0 {
        out.extend(std::iter::repeat_n(fill, (width - len) as usize));
        width = len;
    }
    if fill == ' ' {
        if sign {
            out.extend(signchar);
        }
        if alt_prefix {
            out.push('0');
            out.push(arg.ch);
            pindex += 2;
        }
    }
    out.extend(&chars[pindex..pindex + len.max(0) as usize]);
    if width > len {
        out.extend(std::iter::repeat_n(' ', (width - len) as usize));
    }
    Ok(())
}
