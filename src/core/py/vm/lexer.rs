//! Tokens of the VM's Python: the inspector's lexer (`py::lexer`) grown by what issue 14's
//! language needs (f-strings, triple-quoted and raw strings, hex/octal/binary literals,
//! bitwise operators, big integer literals). Character-based over the whole source, so
//! that a triple-quoted string may span lines.

use crate::core::py::PyError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Name(String),
    Int(i64),
    /// An integer literal too large for i64: its decimal digits, or `0x`/`0o`/`0b` and
    /// its digits.
    BigInt(String),
    Float(f64),
    Str(String),
    /// The raw text between the quotes of an f-string, and where that text starts.
    FStr {
        text: String,
        line: u32,
        col: u32,
        raw: bool,
    },
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
    /// 0-based character column, as CPython's `col_offset` (in characters).
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

const OPS: [&str; 49] = [
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "+=", "-=", "*=", "/=", "%=", "@=", "&=", "|=", "^=", "**", "//",
    "<<", ">>", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "+", "-", "*", "/", "%", "<",
    ">", "=", "@", "&", "|", "^", "~", "!", "\\",
];

fn err(kind: &str, msg: &str, line: u32, col: u32) -> PyError {
    PyError::at(kind, msg, line, col + 1)
}

/// Splits `source` into tokens.
///
/// # Errors
/// A `SyntaxError` (or `IndentationError`) naming the line and column, as Python would.
#[allow(clippy::too_many_lines)]
pub fn tokenize(source: &str) -> Result<Vec<Token>, PyError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut indents = vec![0usize];
    // The same indentation with a tab as one column: where the two disagree, CPython's
    // tokenizer says TabError (tokenizer.c's `altcol`).
    let mut alt_indents = vec![0usize];
    let mut depth = 0usize;
    let mut open: Vec<(&str, u32, u32)> = Vec::new();
    let mut i = 0usize;
    let mut line = 1u32;
    let mut line_start = 0usize;
    let mut at_line_start = true;
    let col_of = |i: usize, line_start: usize| u32::try_from(i - line_start).unwrap_or(u32::MAX);
    while i <= chars.len() {
        if at_line_start && depth == 0 {
            // Measure indentation; skip blank and comment-only lines.
            let mut width = 0usize;
            let mut alt = 0usize;
            let mut j = i;
            while j < chars.len() && (chars[j] == ' ' || chars[j] == '\t' || chars[j] == '\x0c') {
                width += if chars[j] == '\t' { 8 - width % 8 } else { 1 };
                alt += 1;
                j += 1;
            }
            if j >= chars.len() {
                break;
            }
            if chars[j] == '#' || chars[j] == '\n' || chars[j] == '\r' {
                while j < chars.len() && chars[j] != '\n' {
                    j += 1;
                }
                i = j + 1;
                line += 1;
                line_start = i;
                continue;
            }
            let col = col_of(j, line_start);
            let top = *indents.last().unwrap_or(&0);
            let tok = |t| Token { tok: t, line, col, end_line: line, end_col: col };
            let tab_error = || err("TabError", "inconsistent use of tabs and spaces in indentation", line, col);
            let alt_top = *alt_indents.last().unwrap_or(&0);
            if width > top {
                if alt <= alt_top {
                    return Err(tab_error());
                }
                if indents.len() >= 100 {
                    return Err(err("IndentationError", "too many levels of indentation", line, col));
                }
                indents.push(width);
                alt_indents.push(alt);
                out.push(tok(Tok::Indent));
            } else {
                while width < *indents.last().unwrap_or(&0) {
                    indents.pop();
                    alt_indents.pop();
                    out.push(tok(Tok::Dedent));
                }
                if width != *indents.last().unwrap_or(&0) {
                    return Err(err(
                        "IndentationError",
                        "unindent does not match any outer indentation level",
                        line,
                        col,
                    ));
                }
                if alt != *alt_indents.last().unwrap_or(&0) {
                    return Err(tab_error());
                }
            }
            i = j;
            at_line_start = false;
        }
        if i >= chars.len() {
            break;
        }
        let c = chars[i];
        let col = col_of(i, line_start);
        if c == '\n' {
            if depth == 0 && out.last().is_some_and(|t| t.tok != Tok::Newline) {
                out.push(Token { tok: Tok::Newline, line, col, end_line: line, end_col: col + 1 });
            }
            i += 1;
            line += 1;
            line_start = i;
            // Inside brackets a new line has no indentation to measure (and the bracket
            // closing on it must not make the rest of its line look like a blank one).
            at_line_start = depth == 0;
            continue;
        }
        if c == ' ' || c == '\t' || c == '\r' || c == '\x0c' {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '\\' && chars.get(i + 1) == Some(&'\n') {
            i += 2;
            line += 1;
            line_start = i;
            continue;
        }
        let start_line = line;
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            let radix = if c == '0' {
                match chars.get(i + 1) {
                    Some('x' | 'X') => 16,
                    Some('o' | 'O') => 8,
                    Some('b' | 'B') => 2,
                    _ => 10,
                }
            } else {
                10
            };
            if radix != 10 {
                i += 2;
                let s = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let text: String = chars[s..i].iter().filter(|c| **c != '_').collect();
                let tok = match i64::from_str_radix(&text, radix) {
                    Ok(v) => Tok::Int(v),
                    // Too large for i64: the literal with its prefix, an int of any size.
                    Err(_) if !text.is_empty() && text.chars().all(|c| c.is_digit(radix)) => {
                        Tok::BigInt(chars[start..i].iter().filter(|c| **c != '_').collect())
                    }
                    Err(_) => return Err(err("SyntaxError", "this integer literal is invalid", line, col)),
                };
                out.push(Token { tok, line, col, end_line: line, end_col: col_of(i, line_start) });
                continue;
            }
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_') {
                if (chars[i] == 'e' || chars[i] == 'E') && matches!(chars.get(i + 1), Some('+' | '-')) {
                    i += 1;
                }
                i += 1;
            }
            let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let end_col = col_of(i, line_start);
            let lower = text.to_ascii_lowercase();
            if lower.ends_with('j') {
                return Err(err("SyntaxError", "complex numbers are not supported yet", line, col));
            }
            let tok = if text.contains(['.', 'e', 'E']) {
                Tok::Float(text.parse().map_err(|_| err("SyntaxError", "invalid decimal literal", line, col))?)
            } else if !text.chars().all(|c| c.is_ascii_digit()) {
                return Err(err("SyntaxError", "invalid decimal literal", line, col));
            } else if let Ok(v) = text.parse::<i64>() {
                Tok::Int(v)
            } else {
                Tok::BigInt(text.trim_start_matches('0').to_owned())
            };
            out.push(Token { tok, line, col, end_line: line, end_col });
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let lower = name.to_ascii_lowercase();
            let is_prefix = lower.len() <= 2 && lower.chars().all(|p| "rfbu".contains(p));
            if is_prefix && matches!(chars.get(i), Some('"' | '\'')) {
                if lower.contains('b') {
                    return Err(err("SyntaxError", "bytes literals (b'') are not supported yet", line, col));
                }
                let raw = lower.contains('r');
                let fstr = lower.contains('f');
                let (text, content_line, content_col, ni, nline, nls) =
                    string_body(&chars, i, line, line_start, raw || fstr)?;
                i = ni;
                line = nline;
                line_start = nls;
                let end_col = col_of(i, line_start);
                let tok =
                    if fstr { Tok::FStr { text, line: content_line, col: content_col, raw } } else { Tok::Str(text) };
                out.push(Token { tok, line: start_line, col, end_line: line, end_col });
                continue;
            }
            out.push(Token { tok: Tok::Name(name), line, col, end_line: line, end_col: col_of(i, line_start) });
            continue;
        }
        if c == '"' || c == '\'' {
            let (text, _, _, ni, nline, nls) = string_body(&chars, i, line, line_start, false)?;
            i = ni;
            line = nline;
            line_start = nls;
            out.push(Token {
                tok: Tok::Str(text),
                line: start_line,
                col,
                end_line: line,
                end_col: col_of(i, line_start),
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
            return Err(err("SyntaxError", &format!("invalid character '{c}' (U+{:04X})", c as u32), line, col));
        };
        match *op {
            "(" | "[" | "{" if depth >= 200 => {
                return Err(err("SyntaxError", "too many nested parentheses", line, col));
            }
            "(" | "[" | "{" => {
                depth += 1;
                open.push((*op, line, col));
            }
            ")" | "]" | "}" => {
                depth = depth.saturating_sub(1);
                open.pop();
            }
            "\\" => {
                return Err(err("SyntaxError", "unexpected character after line continuation character", line, col))
            }
            "!" => return Err(err("SyntaxError", "invalid syntax", line, col)),
            _ => {}
        }
        i += op.len();
        out.push(Token { tok: Tok::Op(op), line, col, end_line: line, end_col: col + op.len() as u32 });
    }
    if let Some((op, line, col)) = open.pop() {
        // CPython names the innermost bracket still open, where it opened.
        return Err(err("SyntaxError", &format!("'{op}' was never closed"), line, col));
    }
    if out.last().is_some_and(|t| t.tok != Tok::Newline) {
        out.push(Token { tok: Tok::Newline, line, col: 0, end_line: line, end_col: 0 });
    }
    for _ in 1..indents.len() {
        out.push(Token { tok: Tok::Dedent, line, col: 0, end_line: line, end_col: 0 });
    }
    out.push(Token { tok: Tok::Eof, line, col: 0, end_line: line, end_col: 0 });
    Ok(out)
}

type Body = (String, u32, u32, usize, u32, usize);

/// A string literal starting at the quote `chars[i]`: its text (escapes decoded unless
/// `raw`), where the text starts, and the position, line and line start after it.
fn string_body(chars: &[char], mut i: usize, mut line: u32, mut line_start: usize, raw: bool) -> Result<Body, PyError> {
    let q = chars[i];
    let col = u32::try_from(i - line_start).unwrap_or(0);
    let triple = chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q);
    i += if triple { 3 } else { 1 };
    let (content_line, content_col) = (line, u32::try_from(i - line_start).unwrap_or(0));
    let mut text = String::new();
    loop {
        let Some(&ch) = chars.get(i) else {
            let what = if triple { "unterminated triple-quoted string literal" } else { "unterminated string literal" };
            return Err(err("SyntaxError", what, line, col));
        };
        if ch == q && (!triple || (chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q))) {
            i += if triple { 3 } else { 1 };
            break;
        }
        if ch == '\n' {
            if !triple {
                return Err(err("SyntaxError", "unterminated string literal", line, col));
            }
            text.push('\n');
            i += 1;
            line += 1;
            line_start = i;
            continue;
        }
        if ch == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                return Err(err("SyntaxError", "unterminated string literal", line, col));
            };
            if raw {
                text.push('\\');
                text.push(next);
                if next == '\n' {
                    line += 1;
                    line_start = i + 2;
                }
                i += 2;
                continue;
            }
            i += 2;
            match next {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                '0' => text.push('\0'),
                'a' => text.push('\x07'),
                'b' => text.push('\x08'),
                'f' => text.push('\x0c'),
                'v' => text.push('\x0b'),
                '\\' => text.push('\\'),
                '\'' => text.push('\''),
                '"' => text.push('"'),
                '\n' => {
                    line += 1;
                    line_start = i;
                }
                'x' | 'u' | 'U' => {
                    let n = match next {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.get(i..i + n).map(|s| s.iter().collect()).unwrap_or_default();
                    let c = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| err("SyntaxError", "(unicode error) truncated \\xXX escape", line, col))?;
                    text.push(c);
                    i += n;
                }
                other => {
                    text.push('\\');
                    text.push(other);
                }
            }
            continue;
        }
        text.push(ch);
        i += 1;
    }
    Ok((text, content_line, content_col, i, line, line_start))
}
