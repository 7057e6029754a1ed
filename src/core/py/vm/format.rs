//! Float `repr` as CPython prints it, and the format-spec mini-language
//! (`format(v, spec)`, f-strings' `{x:spec}`). `format_spec` is the one function to replace
//! with "num"'s `format.rs` when it lands.

use super::heap::Value;

/// CPython's `repr(float)`: the shortest string that round-trips, in fixed notation for
/// exponents from -4 to 15, else scientific with at least two exponent digits.
#[must_use]
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits.
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let e = exp as usize;
            if digits.len() > e + 1 {
                out.push_str(&digits[..=e]);
                out.push('.');
                out.push_str(&digits[e + 1..]);
            } else {
                out.push_str(&digits);
                out.push_str(&"0".repeat(e + 1 - digits.len()));
                out.push_str(".0");
            }
        } else {
            out.push_str("0.");
            out.push_str(&"0".repeat((-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

/// `%-10s`-style padding of `%` formatting (flags and width only).
#[must_use]
pub fn pad(s: &str, spec: &str) -> String {
    let left = spec.starts_with('-');
    let width: usize = spec.trim_start_matches('-').parse().unwrap_or(0);
    let n = s.chars().count();
    if n >= width {
        return s.to_owned();
    }
    if left {
        format!("{s}{}", " ".repeat(width - n))
    } else {
        format!("{}{s}", " ".repeat(width - n))
    }
}

struct Spec {
    fill: char,
    align: Option<char>,
    sign: char,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    kind: Option<char>,
}

fn parse_spec(spec: &str) -> Result<Spec, String> {
    let c: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut s = Spec {
        fill: ' ',
        align: None,
        sign: '-',
        alt: false,
        zero: false,
        width: 0,
        grouping: None,
        precision: None,
        kind: None,
    };
    if c.len() >= 2 && "<>^=".contains(c[1]) {
        s.fill = c[0];
        s.align = Some(c[1]);
        i = 2;
    } else if !c.is_empty() && "<>^=".contains(c[0]) {
        s.align = Some(c[0]);
        i = 1;
    }
    if i < c.len() && "+- ".contains(c[i]) {
        s.sign = c[i];
        i += 1;
    }
    if i < c.len() && c[i] == '#' {
        s.alt = true;
        i += 1;
    }
    if i < c.len() && c[i] == '0' {
        s.zero = true;
        i += 1;
    }
    let st = i;
    while i < c.len() && c[i].is_ascii_digit() {
        i += 1;
    }
    if i > st {
        s.width = c[st..i]
            .iter()
            .collect::<String>()
            .parse()
            .map_err(|_| "Too many decimal digits in format string".to_owned())?;
    }
    if i < c.len() && (c[i] == ',' || c[i] == '_') {
        s.grouping = Some(c[i]);
        i += 1;
    }
    if i < c.len() && c[i] == '.' {
        i += 1;
        let st = i;
        while i < c.len() && c[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            return Err("Format specifier missing precision".into());
        }
        s.precision = Some(c[st..i].iter().collect::<String>().parse().unwrap_or(0));
    }
    if i < c.len() {
        s.kind = Some(c[i]);
        i += 1;
    }
    if i < c.len() {
        return Err("Invalid format specifier".into());
    }
    Ok(s)
}

fn group(int_part: &str, sep: char, every: usize) -> String {
    let mut out = String::new();
    let n = int_part.len();
    for (i, ch) in int_part.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

fn exp_form(f: f64, prec: usize, upper: bool) -> String {
    let s = format!("{f:.prec$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let out = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

fn general(f: f64, prec: usize, alt: bool, upper: bool) -> String {
    let p = prec.max(1);
    if f == 0.0 {
        return if alt { format!("{:.*}", p - 1, 0.0) } else { "0".into() };
    }
    let exp = format!("{f:.*e}", p - 1);
    let e: i32 = exp.split_once('e').map_or(0, |(_, e)| e.parse().unwrap_or(0));
    let mut s = if e >= -4 && e < p as i32 {
        format!("{f:.*}", (p as i32 - 1 - e).max(0) as usize)
    } else {
        exp_form(f, p - 1, upper)
    };
    if !alt {
        if let Some(epos) = s.find(['e', 'E']) {
            let (m, rest) = s.split_at(epos);
            let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
            s = format!("{m}{rest}");
        } else if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
        }
    }
    s
}

/// Formats `v` by `spec`. `text` is `str(v)` for values that are not numbers.
///
/// # Errors
/// CPython's `ValueError` message for a spec that does not fit the value.
pub fn format_spec(v: Value, text: Option<&str>, is_str: bool, spec: &str) -> Result<String, String> {
    let s = parse_spec(spec)?;
    let (sign_str, body, numeric): (String, String, bool) = match (v, text) {
        (Value::Int(_) | Value::Bool(_), _) if !matches!(s.kind, Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%')) => {
            let n = match v {
                Value::Int(n) => n,
                Value::Bool(b) => i64::from(b),
                _ => 0,
            };
            if s.precision.is_some() {
                return Err("Precision not allowed in integer format specifier".into());
            }
            let mag = n.unsigned_abs();
            let (digits, prefix) = match s.kind {
                None | Some('d' | 'n') => (mag.to_string(), ""),
                Some('x') => (format!("{mag:x}"), "0x"),
                Some('X') => (format!("{mag:X}"), "0X"),
                Some('o') => (format!("{mag:o}"), "0o"),
                Some('b') => (format!("{mag:b}"), "0b"),
                Some('c') => (char::from_u32(mag as u32).map(String::from).unwrap_or_default(), ""),
                Some(k) => return Err(format!("Unknown format code '{k}' for object of type 'int'")),
            };
            let digits = match s.grouping {
                Some(sep) => group(&digits, sep, if matches!(s.kind, Some('x' | 'X' | 'o' | 'b')) { 4 } else { 3 }),
                None => digits,
            };
            let sign = if n < 0 {
                "-"
            } else if s.sign == '+' {
                "+"
            } else if s.sign == ' ' {
                " "
            } else {
                ""
            };
            (format!("{sign}{}", if s.alt { prefix } else { "" }), digits, true)
        }
        (Value::Int(_) | Value::Float(_) | Value::Bool(_), _) => {
            let f = match v {
                Value::Int(n) => n as f64,
                Value::Float(f) => f,
                Value::Bool(b) => f64::from(u8::from(b)),
                _ => 0.0,
            };
            let neg = f.is_sign_negative() && !(f == 0.0 && s.kind.is_none());
            let a = f.abs();
            let body = if a.is_nan() {
                "nan".to_owned()
            } else if a.is_infinite() {
                "inf".to_owned()
            } else {
                match s.kind {
                    Some('f' | 'F') => format!("{a:.*}", s.precision.unwrap_or(6)),
                    Some('e' | 'E') => exp_form(a, s.precision.unwrap_or(6), s.kind == Some('E')),
                    Some('%') => format!("{:.*}%", s.precision.unwrap_or(6), a * 100.0),
                    Some('g' | 'G') => general(a, s.precision.unwrap_or(6), s.alt, s.kind == Some('G')),
                    None => match s.precision {
                        Some(p) => general(a, p, s.alt, false),
                        None => float_repr(a),
                    },
                    Some(k) => return Err(format!("Unknown format code '{k}' for object of type 'float'")),
                }
            };
            let body = match s.grouping {
                Some(sep) => {
                    let (int_part, rest) = match body.find(['.', 'e', '%']) {
                        Some(p) => body.split_at(p),
                        None => (body.as_str(), ""),
                    };
                    format!("{}{rest}", group(int_part, sep, 3))
                }
                None => body,
            };
            let sign = if neg {
                "-"
            } else if s.sign == '+' {
                "+"
            } else if s.sign == ' ' {
                " "
            } else {
                ""
            };
            (sign.to_owned(), body, true)
        }
        (_, Some(t)) => {
            if let Some(k) = s.kind {
                if k != 's' {
                    let tn = if is_str { "str" } else { "object" };
                    return Err(format!("Unknown format code '{k}' for object of type '{tn}'"));
                }
            }
            if s.sign != '-' {
                return Err("Sign not allowed in string format specifier".into());
            }
            let body: String = match s.precision {
                Some(p) => t.chars().take(p).collect(),
                None => t.to_owned(),
            };
            (String::new(), body, false)
        }
        _ => (String::new(), String::new(), false),
    };
    let len = sign_str.chars().count() + body.chars().count();
    if len >= s.width {
        return Ok(format!("{sign_str}{body}"));
    }
    let padn = s.width - len;
    let (fill, align) = if s.zero && s.align.is_none() && numeric {
        ('0', '=')
    } else {
        (s.fill, s.align.unwrap_or(if numeric { '>' } else { '<' }))
    };
    let f = |n: usize| fill.to_string().repeat(n);
    Ok(match align {
        '<' => format!("{sign_str}{body}{}", f(padn)),
        '^' => format!("{}{sign_str}{body}{}", f(padn / 2), f(padn - padn / 2)),
        '=' => format!("{sign_str}{}{body}", f(padn)),
        _ => format!("{}{sign_str}{body}", f(padn)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_cpython() {
        for (f, s) in [
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e20, "1e+20"),
            (123456789012345.6, "123456789012345.6"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0, "2.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-1.5, "-1.5"),
            (1.5e300, "1.5e+300"),
        ] {
            assert_eq!(float_repr(f), s);
        }
    }

    #[test]
    fn format_specs() {
        let t = |v, spec| format_spec(v, None, false, spec).unwrap();
        assert_eq!(t(Value::Float(1.23456), ".2f"), "1.23");
        assert_eq!(t(Value::Int(42), ">5"), "   42");
        assert_eq!(t(Value::Int(42), "05d"), "00042");
        assert_eq!(t(Value::Int(1234567), ","), "1,234,567");
        assert_eq!(t(Value::Float(0.25), ".0%"), "25%");
        assert_eq!(t(Value::Int(42), "#b"), "0b101010");
        assert_eq!(t(Value::Int(-42), "+d"), "-42");
        assert_eq!(t(Value::Int(42), "^6"), "  42  ");
    }
}
