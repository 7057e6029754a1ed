//! Tokens of the Python subset, with Python's indentation rules (INDENT / DEDENT).

use super::PyError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
    Newline,
    Indent,
    Dedent,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: u32,
    pub col: u32,
}

const OPS: [&str; 38] = [
    "//=", "**=", "/=", "%=", "@=", "&=", "<<", ">>", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "->", "(",
    ")", "[", "]", "{", "}", ",", ":", ".", "+", "-", "*", "/", "%", "<", ">", "=", ";", "@", "&",
];

/// Splits `source` into tokens.
///
/// # Errors
/// A `SyntaxError` (or `IndentationError`) naming the line and column, as Python would.
pub fn tokenize(source: &str) -> Result<Vec<Token>, PyError> {
    let mut out = Vec::new();
    // Each level's width with tabs to 8 columns and with tabs as 1: CPython's tokenizer
    // compares both and calls a disagreement inconsistent (`TabError`).
    let mut indents = vec![(0usize, 0usize)];
    let mut depth = 0usize; // open brackets: newlines inside them are ignored
    for (n, raw) in source.lines().enumerate() {
        let line = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let chars: Vec<char> = raw.chars().collect();
        let mut i = 0;
        if depth == 0 {
            let (mut width, mut alt) = (0, 0);
            while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
                width += if chars[i] == '\t' { 8 - width % 8 } else { 1 };
                alt += 1;
                i += 1;
            }
            if i == chars.len() || chars[i] == '#' {
                continue; // blank or comment-only lines do not count
            }
            let col = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let tab_error = || PyError::at("TabError", "inconsistent use of tabs and spaces in indentation", line, col);
            let top = *indents.last().unwrap_or(&(0, 0));
            if width > top.0 {
                if alt <= top.1 {
                    return Err(tab_error());
                }
                // CPython's MAXINDENT.
                if indents.len() >= 100 {
                    return Err(PyError::at("IndentationError", "too many levels of indentation", line, col));
                }
                indents.push((width, alt));
                out.push(Token { tok: Tok::Indent, line, col });
            } else {
                while width < indents.last().unwrap_or(&(0, 0)).0 {
                    indents.pop();
                    out.push(Token { tok: Tok::Dedent, line, col });
                }
                let top = *indents.last().unwrap_or(&(0, 0));
                if width != top.0 {
                    return Err(PyError::at(
                        "IndentationError",
                        "unindent does not match any outer indentation level",
                        line,
                        col,
                    ));
                }
                if alt != top.1 {
                    return Err(tab_error());
                }
            }
        }
        while i < chars.len() {
            let c = chars[i];
            let col = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let at = |tok| Token { tok, line, col };
            if c == ' ' || c == '\t' || c == '\r' {
                i += 1;
            } else if c == '#' {
                break;
            } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_') {
                    // exponent signs: 1e-5
                    if (chars[i] == 'e' || chars[i] == 'E') && matches!(chars.get(i + 1), Some('+' | '-')) {
                        i += 1;
                    }
                    i += 1;
                }
                let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                let bad = || PyError::at("SyntaxError", "invalid decimal literal", line, col);
                let lower = text.to_ascii_lowercase();
                if lower.starts_with("0x") || lower.starts_with("0o") || lower.starts_with("0b") {
                    return Err(PyError::at(
                        "SyntaxError",
                        "hexadecimal, octal and binary literals are not supported yet",
                        line,
                        col,
                    ));
                }
                if lower.ends_with('j') && lower[..lower.len() - 1].parse::<f64>().is_ok() {
                    return Err(PyError::at("SyntaxError", "complex numbers are not supported yet", line, col));
                }
                if text.contains(['.', 'e', 'E']) {
                    out.push(at(Tok::Float(text.parse().map_err(|_| bad())?)));
                } else {
                    let value = text.parse::<i64>().map_err(|_| {
                        if text.chars().all(|c| c.is_ascii_digit()) {
                            PyError::at(
                                "OverflowError",
                                "integers larger than 64 bits are not supported yet",
                                line,
                                col,
                            )
                        } else {
                            bad()
                        }
                    })?;
                    out.push(at(Tok::Int(value)));
                }
            } else if c.is_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if matches!(chars.get(i), Some('"' | '\'')) {
                    let prefix = name.to_ascii_lowercase();
                    if prefix.contains('f') && prefix.len() <= 2 && prefix.chars().all(|p| "fr".contains(p)) {
                        return Err(PyError::at("SyntaxError", "f-strings are not supported yet", line, col));
                    }
                    if matches!(prefix.as_str(), "r" | "b" | "br" | "rb") {
                        return Err(PyError::at(
                            "SyntaxError",
                            &format!("{name}'' strings are not supported yet (plain '' strings are)"),
                            line,
                            col,
                        ));
                    }
                    if prefix == "u" {
                        continue; // u'' is a plain str in Python 3
                    }
                }
                out.push(at(Tok::Name(name)));
            } else if c == '"' || c == '\'' {
                if chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c) {
                    return Err(PyError::at(
                        "SyntaxError",
                        "triple-quoted strings are not part of this Python subset",
                        line,
                        col,
                    ));
                }
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(PyError::at("SyntaxError", "unterminated string literal", line, col)),
                        Some(q) if *q == c => break,
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                Some('n') => text.push('\n'),
                                Some('t') => text.push('\t'),
                                Some(other) => text.push(*other),
                                None => {
                                    return Err(PyError::at("SyntaxError", "unterminated string literal", line, col))
                                }
                            }
                        }
                        Some(ch) => text.push(*ch),
                    }
                    i += 1;
                }
                i += 1;
                out.push(at(Tok::Str(text)));
            } else {
                let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
                if matches!(c, '~' | '|' | '^') {
                    return Err(PyError::at(
                        "SyntaxError",
                        "bitwise operators (~ | ^ & << >>) are not supported yet",
                        line,
                        col,
                    ));
                }
                let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                    return Err(PyError::at("SyntaxError", &format!("invalid character '{c}'"), line, col));
                };
                match *op {
                    // CPython's tokenizer allows 200 open brackets (MAXLEVEL).
                    "(" | "[" | "{" if depth >= 200 => {
                        return Err(PyError::at("SyntaxError", "too many nested parentheses", line, col))
                    }
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                i += op.len();
                out.push(at(Tok::Op(op)));
            }
        }
        if depth == 0 && out.last().is_some_and(|t| t.tok != Tok::Newline) {
            let col = u32::try_from(chars.len() + 1).unwrap_or(u32::MAX);
            out.push(Token { tok: Tok::Newline, line, col });
        }
    }
    let line = u32::try_from(source.lines().count() + 1).unwrap_or(u32::MAX);
    if depth > 0 {
        return Err(PyError::at("SyntaxError", "unexpected end of input: a bracket was never closed", line, 1));
    }
    for _ in 1..indents.len() {
        out.push(Token { tok: Tok::Dedent, line, col: 1 });
    }
    out.push(Token { tok: Tok::Eof, line, col: 1 });
    Ok(out)
}
