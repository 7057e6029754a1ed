//! Python's `repr` of nested containers, without recursion and within a length budget:
//! used by a trace's views over a heap rebuilt from deltas (the inspector's drawing).

/// One object as the renderer needs it.
pub enum Node<'a> {
    /// A scalar's display, already complete (a float, `None`, a function…).
    Text(String),
    /// A string, quoted and escaped as it is written.
    Str(&'a str),
    List(&'a [usize]),
    Tuple(&'a [usize]),
    /// A dict's keys and values alternating: `[k0, v0, k1, v1, …]`.
    DictFlat(&'a [usize]),
}

impl Node<'_> {
    fn len(&self) -> usize {
        match self {
            Node::Text(_) | Node::Str(_) => 0,
            Node::List(v) | Node::Tuple(v) | Node::DictFlat(v) => v.len(),
        }
    }

    fn item(&self, i: usize) -> usize {
        match self {
            Node::List(v) | Node::Tuple(v) | Node::DictFlat(v) => v[i],
            Node::Text(_) | Node::Str(_) => unreachable!("a scalar has no items"),
        }
    }
}

/// What `render` built.
pub struct Rendered {
    pub text: String,
    /// The text stopped at the budget: the repr is longer.
    pub cut: bool,
    /// Characters in `text`.
    pub chars: usize,
}

struct Out {
    text: String,
    chars: usize,
    max: usize,
}

impl Out {
    /// Appends `s`; `false` once the budget is spent.
    fn push(&mut self, s: &str) -> bool {
        // Whole when it surely fits (a char is at least one byte).
        if self.max - self.chars >= s.len() {
            self.text.push_str(s);
            self.chars += s.chars().count();
            return true;
        }
        for c in s.chars() {
            if !self.push_char(c) {
                return false;
            }
        }
        true
    }

    fn push_char(&mut self, c: char) -> bool {
        if self.chars >= self.max {
            return false;
        }
        self.text.push(c);
        self.chars += 1;
        true
    }

    fn push_str_repr(&mut self, s: &str) -> bool {
        if !self.push_char('\'') {
            return false;
        }
        for c in s.chars() {
            let ok = match c {
                '\\' => self.push("\\\\"),
                '\'' => self.push("\\'"),
                '\n' => self.push("\\n"),
                c => self.push_char(c),
            };
            if !ok {
                return false;
            }
        }
        self.push_char('\'')
    }
}

/// The repr of `root`, at most `max_chars` characters, containers at most `max_depth`
/// deep. `node` describes one object; a container met again inside itself is written
/// `[...]`, `{...}` or `(...)` as Python does.
pub fn render<'a>(node: impl Fn(usize) -> Node<'a>, root: usize, max_chars: usize, max_depth: usize) -> Rendered {
    let mut out = Out { text: String::new(), chars: 0, max: max_chars };
    // Containers being written, each with the index of its next item and whether an
    // item was written yet (a dict's deleted entries are skipped).
    let mut stack: Vec<(usize, usize, bool)> = Vec::new();
    let mut too_deep = false;
    let mut next = Some(root);
    let full = loop {
        if let Some(id) = next.take() {
            let n = node(id);
            let ok = if stack.iter().any(|(open, ..)| *open == id) {
                out.push(match n {
                    Node::List(_) => "[...]",
                    Node::DictFlat(_) => "{...}",
                    _ => "(...)",
                })
            } else {
                match n {
                    Node::Text(t) => out.push(&t),
                    Node::Str(s) => out.push_str_repr(s),
                    Node::List(_) | Node::Tuple(_) | Node::DictFlat(_) => {
                        if stack.len() >= max_depth {
                            too_deep = true;
                            break false;
                        }
                        stack.push((id, 0, false));
                        out.push(match n {
                            Node::List(_) => "[",
                            Node::Tuple(_) => "(",
                            _ => "{",
                        })
                    }
                }
            };
            if !ok {
                break false;
            }
        }
        let Some((id, i, written)) = stack.last_mut() else { break true };
        let n = node(*id);
        let len = n.len();
        let ok = if *i == len {
            stack.pop();
            out.push(match n {
                Node::List(_) => "]",
                Node::Tuple(_) if len == 1 => ",)",
                Node::Tuple(_) => ")",
                _ => "}",
            })
        } else {
            let dict = matches!(n, Node::DictFlat(_));
            let sep = match (*written, *i, dict) {
                (false, ..) => "",
                (_, j, true) if j % 2 == 1 => ": ",
                _ => ", ",
            };
            *written = true;
            next = Some(n.item(*i));
            *i += 1;
            out.push(sep)
        };
        if !ok {
            break false;
        }
    };
    #[cfg(all(test, not(target_arch = "wasm32")))]
    work::add(out.chars);
    Rendered { cut: !full && !too_deep, chars: out.chars, text: out.text }
}

/// Characters rendered on this thread, for tests that assert on work done (native).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub mod work {
    use std::cell::Cell;

    thread_local!(static CHARS: Cell<usize> = const { Cell::new(0) });

    pub fn add(n: usize) {
        CHARS.with(|c| c.set(c.get() + n));
    }

    /// Characters rendered since the last call.
    pub fn take() -> usize {
        CHARS.with(|c| c.replace(0))
    }
}
