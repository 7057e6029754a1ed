//! Code objects: what the compiler makes of a module, a function, a class body or a
//! comprehension, shared (read-only) by every thread of a process.

use super::heap::Value;
use super::instr::Instr;

/// Where an instruction came from: a span of the source (0-based columns), plus for a
/// binary operation or a subscript where its operator starts, for the `~~^~~` lines of
/// a traceback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
    /// Where a traceback's `~` and `^` meet: for a binary operation (0) the left operand's
    /// end and the right one's start; for a subscript (1) the value's end and the index's end.
    pub anchor: Option<(u32, u32, u8)>,
}

#[derive(Debug, Default)]
pub struct Code {
    pub name: String,
    pub qualname: String,
    pub instrs: Vec<Instr>,
    pub locs: Vec<Loc>,
    pub consts: Vec<Value>,
    /// The constants written as literals in this code's source (CPython's parser arena
    /// holds them while the file runs; 3.14 folds `(1, 2)`, `-1`, `"a" * 2` after parsing,
    /// so its arena does not hold those).
    pub literals: Vec<Value>,
    /// Attribute and namespace names.
    pub names: Vec<String>,
    /// Locals, parameters first.
    pub varnames: Vec<String>,
    /// Cells this code creates (its locals captured by inner functions), then free
    /// variables it receives from its closure.
    pub cellvars: Vec<String>,
    pub freevars: Vec<String>,
    /// For each cellvar that is a parameter, its local index (copied in at entry).
    pub cell_params: Vec<(u32, u32)>,
    pub argcount: u32,
    pub kwonlycount: u32,
    pub has_varargs: bool,
    pub has_varkw: bool,
    pub first_line: u32,
    /// A class body: names live in a namespace dict.
    pub is_class_body: bool,
    /// Most values the stack holds above the locals (for a capacity hint).
    pub max_stack: u32,
    /// The hot loop's lowering, one op per instruction (`fast::lower`); empty: none.
    pub fast: Vec<super::fast::Op>,
    /// Parameters all positional, no cells, not a class body: a call with as many
    /// positional arguments pushes the frame and nothing else (`fast::Op::Call`).
    pub plain_call: bool,
}

impl Code {
    #[must_use]
    pub fn line_of(&self, ip: usize) -> u32 {
        self.locs.get(ip).map_or(self.first_line, |l| l.line)
    }
}
