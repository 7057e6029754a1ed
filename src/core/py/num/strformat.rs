//! `str.format(*args, **kwargs)` and `str.format_map(mapping)`, as CPython 3.11's
//! `Objects/stringlib/unicode_format.h`: the markup iterator (`{{`, `}}`, nested braces),
//! field names (`0`, `name`, auto-numbering, `.attr`, `[index]`, `[key]`), conversions
//! (`!r !s !a`), format specs with nested fields (`{:{width}.{prec}f}`, two levels deep),
//! with CPython's errors in CPython's order (lookups happen as the parse reaches them).
//!
//! API: [`str_format`]`(host, template, positional_allowed)`. The VM implements
//! [`StrFormatHost`] for its values: argument lookup, `getattr`, `getitem`, the
//! conversions and `format(value, spec)` (which for ints, floats and strs is
//! [`super::format`]'s).

use super::bigint::NumError;

/// What [`str_format`] needs from the VM.
pub trait StrFormatHost {
    type Value;
    /// `args[i]`, `None` past the end.
    fn positional(&mut self, i: usize) -> Option<Self::Value>;
    /// `kwargs[name]` (or `mapping[name]` for `format_map`).
    ///
    /// # Errors
    /// `KeyError: 'name'`, or the mapping's own error.
    fn keyword(&mut self, name: &str) -> Result<Self::Value, NumError>;
    /// `getattr(v, name)`.
    ///
    /// # Errors
    /// The `AttributeError`.
    fn getattr(&mut self, v: &Self::Value, name: &str) -> Result<Self::Value, NumError>;
    /// `v[i]` for `[0]` (an int index).
    ///
    /// # Errors
    /// The `IndexError`/`TypeError`/`KeyError`.
    fn getitem_index(&mut self, v: &Self::Value, i: usize) -> Result<Self::Value, NumError>;
    /// `v["key"]` for `[key]` (a str key).
    ///
    /// # Errors
    /// The `KeyError`/`TypeError`.
    fn getitem_str(&mut self, v: &Self::Value, key: &str) -> Result<Self::Value, NumError>;
    /// `str(v)`, `repr(v)`, `ascii(v)` for `!s`, `!r`, `!a`, as a str value.
    ///
    /// # Errors
    /// Whatever `__str__`/`__repr__` raises.
    fn convert(&mut self, v: &Self::Value, conversion: char) -> Result<Self::Value, NumError>;
    /// `format(v, spec)`.
    ///
    /// # Errors
    /// The value's `__format__` errors.
    fn format(&mut self, v: &Self::Value, spec: &str) -> Result<String, NumError>;
}

fn value_error(msg: &str) -> NumError {
    NumError::new("ValueError", msg)
}

#[derive(PartialEq, Eq)]
enum AutoState {
    Init,
    Auto,
    Manual,
}

struct AutoNumber {
    state: AutoState,
    next: usize,
}

/// `template.format(...)`; `positional_allowed` is false for `format_map`, where a
/// positional field is `ValueError: Format string contains positional fields`.
///
/// # Errors
/// CPython's `ValueError`s of the template, and the host's errors.
pub fn str_format<H: StrFormatHost>(
    host: &mut H,
    template: &str,
    positional_allowed: bool,
) -> Result<String, NumError> {
    let chars: Vec<char> = template.chars().collect();
    let mut auto = AutoNumber { state: AutoState::Init, next: 0 };
    build_string(host, &chars, positional_allowed, 2, &mut auto)
}

fn build_string<H: StrFormatHost>(
    host: &mut H,
    s: &[char],
    positional_allowed: bool,
    depth: u32,
    auto: &mut AutoNumber,
) -> Result<String, NumError> {
    if depth == 0 {
        return Err(value_error("Max string recursion exceeded"));
    }
    let mut out = String::new();
    let mut pos = 0;
    while pos < s.len() {
        // MarkupIterator_next: literal text up to a brace.
        let start = pos;
        let mut c = '\0';
        let mut markup = false;
        while pos < s.len() {
            c = s[pos];
            pos += 1;
            if c == '{' || c == '}' {
                markup = true;
                break;
            }
        }
        let at_end = pos >= s.len();
        let mut len = pos - start;
        if markup && c == '}' && (at_end || s[pos] != '}') {
            return Err(value_error("Single '}' encountered in format string"));
        }
        if markup && at_end && c == '{' {
            return Err(value_error("Single '{' encountered in format string"));
        }
        if markup && !at_end {
            if s[pos] == c {
                // An escaped brace: literal text, the brace once.
                pos += 1;
                markup = false;
            } else {
                len -= 1;
            }
        }
        out.extend(&s[start..start + len]);
        if !markup {
            continue;
        }
        let field = parse_field(s, &mut pos)?;
        out.push_str(&output_markup(host, &field, positional_allowed, depth, auto)?);
    }
    Ok(out)
}

struct Field<'a> {
    name: &'a [char],
    conversion: Option<char>,
    spec: &'a [char],
    spec_needs_expanding: bool,
}

/// `parse_field`, from just after the opening brace to just after the closing one: the
/// name (brackets may hold any character but `]`), `!conversion`, `:spec` with its
/// nested braces counted.
fn parse_field<'a>(s: &'a [char], pos: &mut usize) -> Result<Field<'a>, NumError> {
    let name_start = *pos;
    let mut c = '\0';
    let mut terminator = false;
    while *pos < s.len() {
        c = s[*pos];
        *pos += 1;
        match c {
            '{' => return Err(value_error("unexpected '{' in field name")),
            '[' => {
                while *pos < s.len() && s[*pos] != ']' {
                    *pos += 1;
                }
            }
            '}' | ':' | '!' => {
                terminator = true;
                break;
            }
            _ => {}
        }
    }
    if !terminator {
        return Err(value_error("expected '}' before end of string"));
    }
    let name = &s[name_start..*pos - 1];
    let mut field = Field { name, conversion: None, spec: &[], spec_needs_expanding: false };
    if c == '}' {
        return Ok(field);
    }
    if c == '!' {
        if *pos >= s.len() {
            return Err(value_error("end of string while looking for conversion specifier"));
        }
        field.conversion = Some(s[*pos]);
        *pos += 1;
        if *pos < s.len() {
            let next = s[*pos];
            *pos += 1;
            if next == '}' {
                return Ok(field);
            }
            if next != ':' {
                return Err(value_error("expected ':' after conversion specifier"));
            }
        }
    }
    let spec_start = *pos;
    let mut count = 1;
    while *pos < s.len() {
        let ch = s[*pos];
        *pos += 1;
        match ch {
            '{' => {
                field.spec_needs_expanding = true;
                count += 1;
            }
            '}' => {
                count -= 1;
                if count == 0 {
                    field.spec = &s[spec_start..*pos - 1];
                    return Ok(field);
                }
            }
            _ => {}
        }
    }
    Err(value_error("unmatched '{' in format spec"))
}

/// `get_integer`: the value of an all-digits name, `None` otherwise.
fn get_integer(s: &[char]) -> Result<Option<usize>, NumError> {
    if s.is_empty() {
        return Ok(None);
    }
    let mut acc: usize = 0;
    for &c in s {
        let Some(d) = c.to_digit(10) else { return Ok(None) };
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(d as usize))
            .filter(|&a| i64::try_from(a).is_ok())
            .ok_or_else(|| value_error("Too many decimal digits in format string"))?;
    }
    Ok(Some(acc))
}

fn output_markup<H: StrFormatHost>(
    host: &mut H,
    field: &Field<'_>,
    positional_allowed: bool,
    depth: u32,
    auto: &mut AutoNumber,
) -> Result<String, NumError> {
    let mut obj = get_field_object(host, field.name, positional_allowed, auto)?;
    if let Some(conv) = field.conversion {
        if !matches!(conv, 'r' | 's' | 'a') {
            let u = conv as u32;
            let shown = if u > 32 && u < 127 { conv.to_string() } else { format!("\\x{u:x}") };
            return Err(value_error(&format!("Unknown conversion specifier {shown}")));
        }
        obj = host.convert(&obj, conv)?;
    }
    let spec: String = if field.spec_needs_expanding {
        build_string(host, field.spec, positional_allowed, depth - 1, auto)?
    } else {
        field.spec.iter().collect()
    };
    host.format(&obj, &spec)
}

/// `get_field_object`: the first part (index or name, auto-numbered when empty), then
/// each `.attr` and `[item]` in turn.
fn get_field_object<H: StrFormatHost>(
    host: &mut H,
    name: &[char],
    positional_allowed: bool,
    auto: &mut AutoNumber,
) -> Result<H::Value, NumError> {
    let split = name.iter().position(|&c| c == '.' || c == '[').unwrap_or(name.len());
    let (first, mut rest) = name.split_at(split);
    let mut index = get_integer(first)?;
    let empty = first.is_empty();
    if empty || index.is_some() {
        if auto.state == AutoState::Init {
            auto.state = if empty { AutoState::Auto } else { AutoState::Manual };
        }
        if auto.state == AutoState::Manual && empty {
            return Err(value_error("cannot switch from manual field specification to automatic field numbering"));
        }
        if auto.state == AutoState::Auto && !empty {
            return Err(value_error("cannot switch from automatic field numbering to manual field specification"));
        }
        if empty {
            index = Some(auto.next);
            auto.next += 1;
        }
    }
    let mut obj = match index {
        None => host.keyword(&first.iter().collect::<String>())?,
        Some(_) if !positional_allowed => return Err(value_error("Format string contains positional fields")),
        Some(i) => host.positional(i).ok_or_else(|| {
            NumError::new("IndexError", format!("Replacement index {i} out of range for positional args tuple"))
        })?,
    };
    // FieldNameIterator_next, lookups as they come.
    while let Some((&kind, tail)) = rest.split_first() {
        let (part, after) = match kind {
            '.' => {
                let end = tail.iter().position(|&c| c == '.' || c == '[').unwrap_or(tail.len());
                (&tail[..end], &tail[end..])
            }
            '[' => {
                let Some(end) = tail.iter().position(|&c| c == ']') else {
                    return Err(value_error("Missing ']' in format string"));
                };
                (&tail[..end], &tail[end + 1..])
            }
            _ => return Err(value_error("Only '.' or '[' may follow ']' in format field specifier")),
        };
        if part.is_empty() {
            return Err(value_error("Empty attribute in format string"));
        }
        let text: String = part.iter().collect();
        obj = if kind == '.' {
            host.getattr(&obj, &text)?
        } else {
            match get_integer(part)? {
                Some(i) => host.getitem_index(&obj, i)?,
                None => host.getitem_str(&obj, &text)?,
            }
        };
        rest = after;
    }
    Ok(obj)
}
