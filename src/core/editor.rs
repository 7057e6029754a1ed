//! What the Code view's editor does on Tab, Shift-Tab and Enter: Python's indentation, in
//! steps of four spaces. Offsets are UTF-16 code units, as a textarea's `selectionStart`.

/// Replace `start..end` with `insert`, then select `sel_start..sel_end` (all UTF-16 offsets,
/// the selection's in the text after the edit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub start: u32,
    pub end: u32,
    pub insert: String,
    pub sel_start: u32,
    pub sel_end: u32,
}

const INDENT: usize = 4;

fn utf16_len(s: &str) -> u32 {
    u32::try_from(s.encode_utf16().count()).unwrap_or(u32::MAX)
}

/// The byte index of UTF-16 offset `at` (clamped to the text, and to a character's start).
fn byte_at(text: &str, at: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in text.char_indices() {
        if units >= at {
            return i;
        }
        units += u32::try_from(c.len_utf16()).unwrap_or(2);
    }
    text.len()
}

fn line_start(text: &str, byte: usize) -> usize {
    text[..byte].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(text: &str, byte: usize) -> usize {
    text[byte..].find('\n').map_or(text.len(), |i| byte + i)
}

/// Tab (`outdent` false) or Shift-Tab (true) with `sel_start..sel_end` selected.
///
/// Tab with nothing selected inserts spaces up to the next multiple of four; otherwise every
/// line the selection touches moves four spaces right, or (Shift-Tab) up to four left.
/// `None`: nothing to do (Shift-Tab on lines without leading spaces).
#[must_use]
pub fn indent(text: &str, sel_start: u32, sel_end: u32, outdent: bool) -> Option<Edit> {
    let (a, b) = (byte_at(text, sel_start.min(sel_end)), byte_at(text, sel_start.max(sel_end)));
    if a == b && !outdent {
        let column = text[line_start(text, a)..a].chars().count();
        let spaces = " ".repeat(INDENT - column % INDENT);
        let at = utf16_len(&text[..a]);
        let after = at + utf16_len(&spaces);
        return Some(Edit { start: at, end: at, insert: spaces, sel_start: after, sel_end: after });
    }
    let first = line_start(text, a);
    // A selection ending at the start of a line does not take that line along.
    let last_byte = if b > a && line_start(text, b) == b { b - 1 } else { b };
    let last = line_end(text, last_byte.max(first));
    let mut insert = String::new();
    // How far the selection's ends move: the first line's change, and all of them.
    let (mut first_delta, mut total_delta) = (0i64, 0i64);
    for (n, line) in text[first..last].split('\n').enumerate() {
        if n > 0 {
            insert.push('\n');
        }
        let delta = if outdent {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            let cut = spaces.min(INDENT);
            insert.push_str(&line[cut..]);
            -i64::try_from(cut).unwrap_or(0)
        } else {
            // A blank line stays blank.
            if !line.is_empty() {
                insert.push_str("    ");
            }
            insert.push_str(line);
            if line.is_empty() {
                0
            } else {
                4
            }
        };
        if n == 0 {
            first_delta = delta;
        }
        total_delta += delta;
    }
    if total_delta == 0 {
        return None;
    }
    let start = utf16_len(&text[..first]);
    let shift =
        |offset: u32, delta: i64| u32::try_from((i64::from(offset) + delta).max(i64::from(start))).unwrap_or(start);
    let (lo, hi) = (utf16_len(&text[..a]), utf16_len(&text[..b]));
    Some(Edit {
        start,
        end: utf16_len(&text[..last]),
        insert,
        sel_start: shift(lo, first_delta),
        sel_end: if a == b { shift(lo, first_delta) } else { shift(hi, total_delta) },
    })
}

/// Enter: a new line indented as the current one, one step more after a line ending in `:`.
#[must_use]
pub fn newline(text: &str, sel_start: u32, sel_end: u32) -> Edit {
    let (a, b) = (byte_at(text, sel_start.min(sel_end)), byte_at(text, sel_start.max(sel_end)));
    let before = &text[line_start(text, a)..a];
    let kept = &before[..before.len() - before.trim_start_matches([' ', '\t']).len()];
    let mut insert = format!("\n{kept}");
    if before.trim_end().ends_with(':') {
        insert.push_str("    ");
    }
    let start = utf16_len(&text[..a]);
    let after = start + utf16_len(&insert);
    Edit { start, end: utf16_len(&text[..b]), insert, sel_start: after, sel_end: after }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies an edit; the text after it, with `|` at the selection's ends.
    fn apply(text: &str, edit: &Edit) -> String {
        let (s, e) = (byte_at(text, edit.start), byte_at(text, edit.end));
        let out = format!("{}{}{}", &text[..s], edit.insert, &text[e..]);
        let (a, b) = (byte_at(&out, edit.sel_start), byte_at(&out, edit.sel_end));
        if a == b {
            format!("{}|{}", &out[..a], &out[a..])
        } else {
            format!("{}|{}|{}", &out[..a], &out[a..b], &out[b..])
        }
    }

    /// `text` with `|` marking the selection: (text, start, end) in UTF-16 units.
    fn at(marked: &str) -> (String, u32, u32) {
        let parts: Vec<&str> = marked.split('|').collect();
        let text = parts.concat();
        let a = utf16_len(parts[0]);
        let b = if parts.len() == 3 { a + utf16_len(parts[1]) } else { a };
        (text, a, b)
    }

    fn tab(marked: &str, outdent: bool) -> Option<String> {
        let (text, a, b) = at(marked);
        indent(&text, a, b, outdent).map(|e| apply(&text, &e))
    }

    fn enter(marked: &str) -> String {
        let (text, a, b) = at(marked);
        apply(&text, &newline(&text, a, b))
    }

    #[test]
    fn tab_inserts_to_the_next_stop_and_shift_tab_takes_up_to_four_back() {
        assert_eq!(tab("|x", false).unwrap(), "    |x");
        assert_eq!(tab("ab|c", false).unwrap(), "ab  |c");
        assert_eq!(tab("é😀|", false).unwrap(), "é😀  |", "columns are characters");
        assert_eq!(tab("      x|", true).unwrap(), "  x|");
        assert_eq!(tab("  x|\ny", true).unwrap(), "x|\ny");
        assert_eq!(tab("x|", true), None);
    }

    #[test]
    fn a_selection_moves_its_whole_lines() {
        assert_eq!(tab("a\n|b\nc\n|d", false).unwrap(), "a\n    |b\n    c\n|d", "the last line not taken along");
        assert_eq!(tab("if x:\n    |a\n\n    b|", true).unwrap(), "if x:\n|a\n\nb|");
        assert_eq!(tab("|a\n\nb|", false).unwrap(), "    |a\n\n    b|", "blank lines stay blank");
        assert_eq!(tab("  a|b|c", true).unwrap(), "a|b|c");
    }

    #[test]
    fn enter_keeps_the_indentation_and_adds_a_step_after_a_colon() {
        assert_eq!(enter("    x = 1|"), "    x = 1\n    |");
        assert_eq!(enter("def f():|"), "def f():\n    |");
        assert_eq!(enter("    for i in range(3):  |"), "    for i in range(3):  \n        |");
        assert_eq!(enter("  a|bc|d"), "  a\n  |d");
        assert_eq!(enter("|"), "\n|");
    }
}
