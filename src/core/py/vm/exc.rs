//! Tracebacks as CPython 3.11 prints an uncaught exception (`Python/traceback.c`):
//! `Traceback (most recent call last):`, a `File "<cell>", line N, in NAME` line and the
//! stripped source line per frame, the `^^^^`/`~~^~~` line under the failing expression
//! unless it spans the whole line, chained exceptions first, then `Kind: message`.

use super::code::Loc;
use super::heap::{Obj, Value};
use super::vm::Vm;

/// The `~`/`^` line under `line` for `loc`, or `None` where CPython prints none.
#[must_use]
pub fn carets(line: &str, loc: &Loc) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let indent = chars.iter().take_while(|c| c.is_whitespace()).count();
    let stripped_len = line.trim().chars().count();
    let start = loc.col as usize;
    let (end, single) =
        if loc.end_line == loc.line { (loc.end_col as usize, true) } else { (indent + stripped_len, false) };
    if loc.line == 0 || start < indent || end <= start || end > chars.len() {
        return None;
    }
    let segment: Vec<char> = chars[start..end].to_vec();
    let mut anchors: Option<(usize, usize)> = None;
    if let (true, Some((a, b, kind))) = (single, loc.anchor) {
        let (a, b) = ((a as usize).saturating_sub(start), (b as usize).saturating_sub(start));
        if kind == 0 {
            let mut i = a;
            while i < b.min(segment.len()) {
                if segment[i].is_whitespace() {
                    i += 1;
                    continue;
                }
                let mut right = i + 1;
                if i + 1 < b && !segment[i + 1].is_whitespace() {
                    right += 1;
                }
                anchors = Some((i, right));
                if i + 1 < b && segment[i] == ')' {
                    i += 1;
                    continue;
                }
                break;
            }
        } else {
            let (mut l, mut r) = (a, b + 1);
            while l < segment.len() && segment[l] != '[' {
                l += 1;
            }
            while r < segment.len() && segment[r] != ']' {
                r += 1;
            }
            if r < segment.len() {
                r += 1;
            }
            anchors = Some((l, r));
        }
    }
    if end - start == stripped_len && anchors.is_none() {
        return None;
    }
    let mut out = String::from("    ");
    out.push_str(&" ".repeat(start - indent));
    match anchors {
        Some((l, r)) => {
            let n = end - start;
            let (l, r) = (l.min(n), r.min(n));
            out.push_str(&"~".repeat(l));
            out.push_str(&"^".repeat(r - l));
            out.push_str(&"~".repeat(n - r));
        }
        None => out.push_str(&"^".repeat(end - start)),
    }
    Some(out)
}

fn repeated(out: &mut String, count: usize) {
    if count > 3 {
        let n = count - 3;
        out.push_str(&format!("  [Previous line repeated {n} more time{}]\n", if n > 1 { "s" } else { "" }));
    }
}

impl Vm<'_> {
    /// The name CPython prints for an exception's class.
    #[must_use]
    pub fn exc_type_name(&self, e: Value) -> String {
        match self.class_of(e) {
            Value::Obj(c) => match self.i.heap.get(c) {
                Obj::Class(k) => k.qualname.clone(),
                _ => "?".into(),
            },
            _ => "?".into(),
        }
    }

    /// `str(e)` as the last line of a traceback shows it (`KeyError` shows its key's repr).
    pub fn exc_message(&mut self, e: Value) -> String {
        self.str_of(e).unwrap_or_else(|_| "<exception str() failed>".into())
    }

    /// The whole report of an uncaught exception, chain included.
    pub fn format_exception(&mut self, e: Value) -> String {
        let mut out = String::new();
        let mut seen = Vec::new();
        self.format_chain(e, &mut out, &mut seen);
        out
    }

    /// The report of `e` without its cause or context.
    pub fn format_exception_alone(&mut self, e: Value) -> String {
        let mut out = String::new();
        let mut seen: Vec<Value> =
            self.exc_data(e).map(|d| d.cause.into_iter().chain(d.context).collect()).unwrap_or_default();
        self.format_chain(e, &mut out, &mut seen);
        out
    }

    fn format_chain(&mut self, e: Value, out: &mut String, seen: &mut Vec<Value>) {
        seen.push(e);
        let (cause, context, suppress) = match self.exc_data(e) {
            Some(d) => (d.cause, d.context, d.suppress_context),
            None => (None, None, false),
        };
        if let Some(c) = cause.filter(|c| !seen.contains(c)) {
            self.format_chain(c, out, seen);
            out.push_str("\nThe above exception was the direct cause of the following exception:\n\n");
        } else if let Some(c) = context.filter(|c| !suppress && !seen.contains(c)) {
            self.format_chain(c, out, seen);
            out.push_str("\nDuring handling of the above exception, another exception occurred:\n\n");
        }
        let tb = self.exc_data(e).map(|d| d.tb.clone()).unwrap_or_default();
        if !tb.is_empty() {
            out.push_str("Traceback (most recent call last):\n");
            // CPython prints a line repeated more than 3 times in a row once per repeat
            // up to 3, then counts the rest (`TB_RECURSIVE_CUTOFF`).
            let mut last: Option<(u32, String)> = None;
            let mut count = 0usize;
            for (code, ip, _) in tb.iter().rev() {
                if code.qualname.starts_with(super::mp::child::PREFIX) {
                    // ThreadLab's library written in Python (CPython's own frames, which
                    // the corpus leaves out: `<stdlib>`).
                    continue;
                }
                let loc = code.locs.get(*ip).copied().unwrap_or_default();
                let key = (loc.line, code.name.clone());
                if last.as_ref() != Some(&key) {
                    repeated(out, count);
                    last = Some(key);
                    count = 0;
                }
                count += 1;
                if count > 3 {
                    continue;
                }
                out.push_str(&format!("  File \"<cell>\", line {}, in {}\n", loc.line, code.name));
                if let Some(line) = self.i.source_lines.get(loc.line.saturating_sub(1) as usize) {
                    let stripped = line.trim();
                    if !stripped.is_empty() {
                        out.push_str(&format!("    {stripped}\n"));
                        if let Some(c) = carets(line, &loc) {
                            out.push_str(&c);
                            out.push('\n');
                        }
                    }
                }
            }
            repeated(out, count);
        }
        let name = self.exc_type_name(e);
        let msg = self.exc_message(e);
        if msg.is_empty() {
            out.push_str(&format!("{name}\n"));
        } else {
            out.push_str(&format!("{name}: {msg}\n"));
        }
    }

    /// Where an exception was raised (its innermost frame): (line, 1-based column).
    #[must_use]
    pub fn exc_location(&self, e: Value) -> (u32, u32) {
        self.exc_data(e)
            .and_then(|d| {
                d.tb.iter()
                    .find(|(code, _, _)| !code.qualname.starts_with(super::mp::child::PREFIX))
                    .map(|(code, ip, _)| code.locs.get(*ip).copied().unwrap_or_default())
            })
            .map_or((0, 0), |l| (l.line, l.col + 1))
    }
}
