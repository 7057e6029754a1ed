//! The Python subset's grammar: a recursive-descent parser from tokens to an AST.
//!
//! Constants are found here as CPython's compiler finds them: string, float and
//! non-small int literals, and tuples made only of constants, each becoming one
//! shared object held by the code objects that use it (see `Program::constants`).

use super::lexer::{Tok, Token};
use super::PyError;
use std::collections::BTreeMap;

/// A literal the compiler turns into a shared constant object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConstKey {
    Int(i64),
    /// The bits of an `f64`, so that keys can be ordered.
    Float(u64),
    Str(String),
    Tuple(Vec<ConstKey>),
    None,
    Bool(bool),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A small int (−5…256), `None`, `True`, `False`: immortal, never a counted constant.
    Immortal(ConstKey),
    Const(ConstKey),
    Name(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Subscript(Box<Expr>, Box<Expr>),
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Expr>),
    Binary(Box<Expr>, &'static str, Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// `a and b and c`: flat, as CPython's `BoolOp`, so long chains nest nothing.
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub line: u32,
    pub col: u32,
    /// How deep the tree under this node goes (a leaf is 1): bounded by `MAX_NESTING`,
    /// so that evaluating (and dropping) a tree never recurses past it.
    pub depth: u32,
}

/// How deep expressions and the parser's own recursion may nest. CPython 3.11's
/// compiler stops near 3,000 levels with "maximum recursion depth exceeded during
/// compilation"; ThreadLab stops earlier, at a depth whose native stack is measured
/// (see the deep tests), with the same error.
pub const MAX_NESTING: u32 = 500;

/// `elif`s after one `if` (each nests the next in the tree, as in CPython).
const MAX_ELIFS: usize = 2_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Name(String),
    Item(Expr, Expr),
    Tuple(Vec<Target>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Expr(Expr),
    Assign(Vec<Target>, Expr),
    AugAssign(Target, &'static str, Expr),
    Del(Vec<Target>),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    While(Expr, Vec<Stmt>),
    For(Target, Expr, Vec<Stmt>),
    Def {
        name: String,
        params: Vec<String>,
        body: std::rc::Rc<Vec<Stmt>>,
        code: usize,
    },
    Return(Option<Expr>),
    /// `import sys, gc`: one or more of the modules the subset has.
    Import(Vec<String>),
    Pass,
    Break,
    Continue,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub line: u32,
    pub col: u32,
}

/// A parsed script: its statements, and for every constant how many code objects hold it.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub body: Vec<Stmt>,
    pub constants: BTreeMap<ConstKey, u32>,
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// The constants of each code object (module = 0, then each def).
    codes: Vec<std::collections::BTreeSet<ConstKey>>,
    current: usize,
    loops: usize,
    in_def: bool,
    /// Nested calls of the recursive-descent functions (bounded by `MAX_NESTING`).
    nesting: u32,
    floor: usize,
}

const KEYWORDS: [&str; 20] = [
    "if", "elif", "else", "while", "for", "in", "def", "return", "del", "pass", "break", "continue", "import", "and",
    "or", "not", "is", "None", "True", "False",
];
const UNSUPPORTED: [&str; 14] = [
    "class", "lambda", "try", "except", "finally", "with", "yield", "global", "nonlocal", "async", "await", "from",
    "raise", "assert",
];

fn small_int(n: i64) -> bool {
    (-5..=256).contains(&n)
}

/// Parses `tokens` into a program.
///
/// # Errors
/// A `SyntaxError` at the offending token, or a clear message for syntax outside the subset.
/// `floor` is the lowest native stack address the parser's recursion may reach.
pub fn parse(toks: Vec<Token>, floor: usize) -> Result<Program, PyError> {
    let mut p = Parser {
        toks,
        pos: 0,
        codes: vec![Default::default()],
        current: 0,
        loops: 0,
        in_def: false,
        nesting: 0,
        floor,
    };
    let mut body = Vec::new();
    while p.peek() != &Tok::Eof {
        if p.eat_op("\n") || p.peek() == &Tok::Newline {
            p.pos += 1;
            continue;
        }
        body.push(p.statement()?);
    }
    let mut constants = BTreeMap::new();
    for code in &p.codes {
        for key in code {
            *constants.entry(key.clone()).or_insert(0) += 1;
        }
    }
    Ok(Program { body, constants })
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn here(&self) -> (u32, u32) {
        let t = &self.toks[self.pos.min(self.toks.len() - 1)];
        (t.line, t.col)
    }

    fn error<T>(&self, message: &str) -> Result<T, PyError> {
        let (line, col) = self.here();
        Err(PyError::at("SyntaxError", message, line, col))
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Tok::Op(o) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), PyError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            self.unsupported_here()?;
            self.error(&format!("expected '{op}'"))
        }
    }

    fn no_loop_else(&self) -> Result<(), PyError> {
        if self.is_kw("else") {
            return self.error("'else' after a loop is not supported yet");
        }
        Ok(())
    }

    /// Valid Python the subset lacks, said as such rather than as a syntax error.
    fn unsupported_here(&self) -> Result<(), PyError> {
        match self.peek() {
            Tok::Op("&" | "<<" | ">>") => self.error("bitwise operators (~ | ^ & << >>) are not supported yet"),
            Tok::Op("@") => self.error("decorators and the @ operator are not supported yet"),
            Tok::Op("*" | "**") => self.error("unpacking with * and ** is not supported yet"),
            Tok::Op(".") => self.error("Ellipsis (...) is not supported yet"),
            Tok::Name(n) if n == "if" => self.error("conditional expressions (a if c else b) are not supported yet"),
            Tok::Name(n) if n == "for" => self.error("comprehensions and generator expressions are not supported yet"),
            Tok::Name(n) if n == "is" => self.error("'is' is not supported yet: compare id(a) == id(b)"),
            Tok::Op(op @ ("/=" | "//=" | "%=" | "**=" | "@=" | "&=")) => {
                self.error(&format!("augmented assignment with '{op}' is not supported yet (+=, -= and *= are)"))
            }
            Tok::Op(":") => self.error("slices and annotations are not supported yet"),
            _ => Ok(()),
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Result<String, PyError> {
        match self.peek().clone() {
            Tok::Name(n) if !KEYWORDS.contains(&n.as_str()) => {
                self.pos += 1;
                Ok(n)
            }
            _ => self.error("expected a name"),
        }
    }

    fn end_of_statement(&mut self) -> Result<(), PyError> {
        match self.peek() {
            Tok::Newline => {
                self.pos += 1;
                Ok(())
            }
            Tok::Eof | Tok::Dedent => Ok(()),
            Tok::Op(";") => self.error("several statements on one line are not part of this Python subset"),
            _ => {
                self.unsupported_here()?;
                self.error("invalid syntax")
            }
        }
    }

    fn block(&mut self) -> Result<Vec<Stmt>, PyError> {
        self.expect_op(":")?;
        if self.peek() != &Tok::Newline {
            return self.error("put the block on its own indented lines");
        }
        self.pos += 1;
        if self.peek() != &Tok::Indent {
            let (line, col) = self.here();
            return Err(PyError::at("IndentationError", "expected an indented block", line, col));
        }
        self.pos += 1;
        let mut body = Vec::new();
        while !matches!(self.peek(), Tok::Dedent | Tok::Eof) {
            body.push(self.statement()?);
        }
        if self.peek() == &Tok::Dedent {
            self.pos += 1;
        }
        Ok(body)
    }

    fn statement(&mut self) -> Result<Stmt, PyError> {
        let (line, col) = self.here();
        let at = |kind| Ok(Stmt { kind, line, col });
        if let Tok::Name(word) = self.peek().clone() {
            if UNSUPPORTED.contains(&word.as_str()) {
                return self.error(&format!("'{word}' is not part of ThreadLab's Python subset"));
            }
            match word.as_str() {
                "if" => {
                    self.pos += 1;
                    return self.if_rest(line, col);
                }
                "while" => {
                    self.pos += 1;
                    let cond = self.expr()?;
                    self.loops += 1;
                    let body = self.block()?;
                    self.loops -= 1;
                    self.no_loop_else()?;
                    return at(StmtKind::While(cond, body));
                }
                "for" => {
                    self.pos += 1;
                    let target = self.target_list()?;
                    if !self.eat_kw("in") {
                        return self.error("expected 'in'");
                    }
                    let iter = self.expr()?;
                    self.loops += 1;
                    let body = self.block()?;
                    self.loops -= 1;
                    self.no_loop_else()?;
                    return at(StmtKind::For(target, iter, body));
                }
                "def" => {
                    self.pos += 1;
                    let name = self.name()?;
                    self.expect_op("(")?;
                    let mut params = Vec::new();
                    while !self.eat_op(")") {
                        if matches!(self.peek(), Tok::Op("*" | "**" | "/")) {
                            return self.error("*args, **kwargs and / in parameters are not supported yet");
                        }
                        params.push(self.name()?);
                        if matches!(self.peek(), Tok::Op("=")) {
                            return self.error("default parameter values are not supported yet");
                        }
                        if matches!(self.peek(), Tok::Op(":")) {
                            return self.error("annotations are not supported yet");
                        }
                        if !self.eat_op(",") {
                            self.expect_op(")")?;
                            break;
                        }
                    }
                    let (outer, outer_loops, outer_def) = (self.current, self.loops, self.in_def);
                    self.codes.push(Default::default());
                    self.current = self.codes.len() - 1;
                    self.loops = 0;
                    self.in_def = true;
                    let body = self.block()?;
                    let code = self.current;
                    (self.current, self.loops, self.in_def) = (outer, outer_loops, outer_def);
                    return at(StmtKind::Def { name, params, body: std::rc::Rc::new(body), code });
                }
                "elif" | "else" => return self.error(&format!("'{word}' without a matching 'if'")),
                _ => {}
            }
        }
        let kind = if self.eat_kw("pass") {
            StmtKind::Pass
        } else if self.is_kw("break") || self.is_kw("continue") {
            if self.loops == 0 {
                return self.error("'break' and 'continue' belong inside a loop");
            }
            if self.eat_kw("break") {
                StmtKind::Break
            } else {
                self.pos += 1;
                StmtKind::Continue
            }
        } else if self.eat_kw("return") {
            if !self.in_def {
                return Err(PyError::at("SyntaxError", "'return' outside function", line, col));
            }
            if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Dedent) {
                StmtKind::Return(None)
            } else {
                StmtKind::Return(Some(self.expr_list()?))
            }
        } else if self.eat_kw("del") {
            let mut targets = vec![self.target()?];
            while self.eat_op(",") {
                targets.push(self.target()?);
            }
            StmtKind::Del(targets)
        } else if self.eat_kw("import") {
            let mut modules = Vec::new();
            loop {
                let module = self.name()?;
                if module != "sys" && module != "gc" {
                    return self.error(&format!("only 'import sys' and 'import gc' work here, not '{module}'"));
                }
                modules.push(module);
                if !self.eat_op(",") {
                    break;
                }
            }
            StmtKind::Import(modules)
        } else {
            let first = self.expr_list()?;
            if self.eat_op("=") {
                let mut targets = vec![to_target(first)?];
                let mut value = self.expr_list()?;
                while self.eat_op("=") {
                    targets.push(to_target(value)?);
                    value = self.expr_list()?;
                }
                StmtKind::Assign(targets, value)
            } else if let Some(op) =
                ["+=", "-=", "*="].into_iter().find(|op| matches!(self.peek(), Tok::Op(o) if o == op))
            {
                self.pos += 1;
                let value = self.expr()?;
                StmtKind::AugAssign(to_target(first)?, &op[..1], value)
            } else {
                StmtKind::Expr(first)
            }
        };
        self.end_of_statement()?;
        at(kind)
    }

    /// An `if` and its `elif`s, parsed in a loop (a long chain costs no native stack)
    /// and nested as Python's AST nests them. CPython 3.11 compiles 2,000 `elif`s, not
    /// 5,000.
    fn if_rest(&mut self, line: u32, col: u32) -> Result<Stmt, PyError> {
        let mut arms = vec![(self.expr()?, self.block()?, line, col)];
        while self.is_kw("elif") {
            let (l, c) = self.here();
            if arms.len() > MAX_ELIFS {
                return Err(too_deep(l, c));
            }
            self.pos += 1;
            arms.push((self.expr()?, self.block()?, l, c));
        }
        let mut orelse = if self.eat_kw("else") { self.block()? } else { Vec::new() };
        while let Some((cond, body, line, col)) = arms.pop() {
            orelse = vec![Stmt { kind: StmtKind::If(cond, body, orelse), line, col }];
        }
        Ok(orelse.pop().expect("the if"))
    }

    fn target(&mut self) -> Result<Target, PyError> {
        let e = self.postfix()?;
        to_target(e)
    }

    fn target_list(&mut self) -> Result<Target, PyError> {
        let first = self.target()?;
        if !matches!(self.peek(), Tok::Op(",")) {
            return Ok(first);
        }
        let mut all = vec![first];
        while self.eat_op(",") {
            if self.is_kw("in") {
                break;
            }
            all.push(self.target()?);
        }
        Ok(Target::Tuple(all))
    }

    /// `a, b` (a tuple display without parentheses) or a single expression.
    fn expr_list(&mut self) -> Result<Expr, PyError> {
        let (line, col) = self.here();
        let first = self.expr()?;
        if !matches!(self.peek(), Tok::Op(",")) {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Op("=") | Tok::Op(")")) {
                break;
            }
            items.push(self.expr()?);
        }
        self.tuple(items, line, col)
    }

    /// A tuple display, folded into a constant when every item is one (as CPython does).
    fn tuple(&mut self, items: Vec<Expr>, line: u32, col: u32) -> Result<Expr, PyError> {
        let keys: Option<Vec<ConstKey>> = items
            .iter()
            .map(|e| match &e.kind {
                ExprKind::Const(k) | ExprKind::Immortal(k) => Some(k.clone()),
                _ => None,
            })
            .collect();
        match keys {
            Some(keys) => {
                // The folded tuple replaces its items' own constants.
                for k in &keys {
                    self.codes[self.current].remove(k);
                }
                Ok(self.constant(ConstKey::Tuple(keys), line, col))
            }
            None => self.mk(ExprKind::Tuple(items), line, col),
        }
    }

    fn constant(&mut self, key: ConstKey, line: u32, col: u32) -> Expr {
        let immortal = match &key {
            ConstKey::Int(n) => small_int(*n),
            ConstKey::None | ConstKey::Bool(_) => true,
            _ => false,
        };
        if immortal {
            return Expr { kind: ExprKind::Immortal(key), line, col, depth: 1 };
        }
        self.codes[self.current].insert(key.clone());
        Expr { kind: ExprKind::Const(key), line, col, depth: 1 }
    }

    /// A node over already-built children; too deep a tree is CPython's compile-time
    /// `RecursionError`, raised before it grows further.
    fn mk(&self, kind: ExprKind, line: u32, col: u32) -> Result<Expr, PyError> {
        let below = match &kind {
            ExprKind::Immortal(_) | ExprKind::Const(_) | ExprKind::Name(_) => 0,
            ExprKind::List(items) | ExprKind::Tuple(items) | ExprKind::And(items) | ExprKind::Or(items) => {
                items.iter().map(|e| e.depth).max().unwrap_or(0)
            }
            ExprKind::Dict(pairs) => pairs.iter().map(|(k, v)| k.depth.max(v.depth)).max().unwrap_or(0),
            ExprKind::Subscript(a, b) | ExprKind::Binary(a, _, b) => a.depth.max(b.depth),
            ExprKind::Attr(a, _) | ExprKind::Neg(a) | ExprKind::Not(a) => a.depth,
            ExprKind::Call(f, args) => args.iter().map(|e| e.depth).max().unwrap_or(0).max(f.depth),
        };
        if below >= MAX_NESTING {
            return Err(too_deep(line, col));
        }
        Ok(Expr { kind, line, col, depth: below + 1 })
    }

    /// Enters one more level of the parser's recursion.
    fn enter(&mut self) -> Result<(), PyError> {
        #[cfg(test)]
        super::stack_probe::mark();
        self.nesting += 1;
        if self.nesting > MAX_NESTING || super::interp::stack_here() < self.floor {
            let (line, col) = self.here();
            return Err(too_deep(line, col));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, PyError> {
        self.enter()?;
        let (line, col) = self.here();
        let first = self.and_expr()?;
        let result = if self.is_kw("or") {
            let mut items = vec![first];
            while self.eat_kw("or") {
                items.push(self.and_expr()?);
            }
            self.mk(ExprKind::Or(items), line, col)
        } else {
            Ok(first)
        };
        self.nesting -= 1;
        result
    }

    fn and_expr(&mut self) -> Result<Expr, PyError> {
        let (line, col) = self.here();
        let first = self.not_expr()?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_kw("and") {
            items.push(self.not_expr()?);
        }
        self.mk(ExprKind::And(items), line, col)
    }

    fn not_expr(&mut self) -> Result<Expr, PyError> {
        let (line, col) = self.here();
        if self.eat_kw("not") {
            self.enter()?;
            let inner = self.not_expr()?;
            self.nesting -= 1;
            return self.mk(ExprKind::Not(Box::new(inner)), line, col);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, PyError> {
        let (line, col) = self.here();
        let left = self.arith()?;
        let op = match self.peek() {
            Tok::Op(o @ ("==" | "!=" | "<" | "<=" | ">" | ">=")) => *o,
            Tok::Name(n) if n == "in" => "in",
            Tok::Name(n) if n == "is" => {
                return self.error("'is' is not part of this Python subset: compare id(a) == id(b)");
            }
            Tok::Name(n) if n == "not" => {
                self.pos += 1;
                if !self.eat_kw("in") {
                    return self.error("expected 'in' after 'not'");
                }
                let right = self.arith()?;
                let inner = self.mk(ExprKind::Binary(Box::new(left), "in", Box::new(right)), line, col)?;
                return self.mk(ExprKind::Not(Box::new(inner)), line, col);
            }
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.arith()?;
        if matches!(self.peek(), Tok::Op("==" | "!=" | "<" | "<=" | ">" | ">=")) {
            return self.error("chained comparisons are not part of this Python subset");
        }
        self.mk(ExprKind::Binary(Box::new(left), op, Box::new(right)), line, col)
    }

    fn arith(&mut self) -> Result<Expr, PyError> {
        let mut left = self.term()?;
        while let Tok::Op(o @ ("+" | "-")) = self.peek() {
            let (op, (line, col)) = (*o, self.here());
            self.pos += 1;
            let right = self.term()?;
            left = self.mk(ExprKind::Binary(Box::new(left), op, Box::new(right)), line, col)?;
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, PyError> {
        let mut left = self.unary()?;
        while let Tok::Op(o @ ("*" | "/" | "//" | "%")) = self.peek() {
            let (op, (line, col)) = (*o, self.here());
            self.pos += 1;
            let right = self.unary()?;
            left = self.mk(ExprKind::Binary(Box::new(left), op, Box::new(right)), line, col)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, PyError> {
        let (line, col) = self.here();
        if self.eat_op("-") {
            self.enter()?;
            let inner = self.unary()?;
            self.nesting -= 1;
            // CPython folds -literal into one constant.
            return Ok(match &inner.kind {
                ExprKind::Immortal(ConstKey::Int(n)) | ExprKind::Const(ConstKey::Int(n)) => {
                    if let ExprKind::Const(k) = &inner.kind {
                        self.codes[self.current].remove(k);
                    }
                    self.constant(ConstKey::Int(-n), line, col)
                }
                ExprKind::Const(ConstKey::Float(bits)) => {
                    let k = ConstKey::Float(*bits);
                    self.codes[self.current].remove(&k);
                    self.constant(ConstKey::Float((-f64::from_bits(*bits)).to_bits()), line, col)
                }
                _ => self.mk(ExprKind::Neg(Box::new(inner)), line, col)?,
            });
        }
        if self.eat_op("+") {
            self.enter()?;
            let inner = self.unary();
            self.nesting -= 1;
            return inner;
        }
        self.power()
    }

    /// `base ** exponent`: tighter than a unary minus on its left, right-associative.
    fn power(&mut self) -> Result<Expr, PyError> {
        let base = self.postfix()?;
        let (line, col) = self.here();
        if !self.eat_op("**") {
            return Ok(base);
        }
        self.enter()?;
        let exponent = self.unary()?;
        self.nesting -= 1;
        // CPython folds a power of int literals into one constant.
        if let (
            ExprKind::Immortal(ConstKey::Int(b)) | ExprKind::Const(ConstKey::Int(b)),
            ExprKind::Immortal(ConstKey::Int(e)),
        ) = (&base.kind, &exponent.kind)
        {
            if let Some(v) = u32::try_from(*e).ok().and_then(|e| b.checked_pow(e)) {
                if let ExprKind::Const(k) = &base.kind {
                    self.codes[self.current].remove(k);
                }
                return Ok(self.constant(ConstKey::Int(v), line, col));
            }
        }
        self.mk(ExprKind::Binary(Box::new(base), "**", Box::new(exponent)), line, col)
    }

    fn postfix(&mut self) -> Result<Expr, PyError> {
        let mut e = self.atom()?;
        loop {
            let (line, col) = self.here();
            if self.eat_op("(") {
                let mut args = Vec::new();
                while !self.eat_op(")") {
                    args.push(self.expr()?);
                    if matches!(self.peek(), Tok::Op("=")) {
                        return self.error("keyword arguments are not part of this Python subset");
                    }
                    if !self.eat_op(",") {
                        self.expect_op(")")?;
                        break;
                    }
                }
                e = self.mk(ExprKind::Call(Box::new(e), args), line, col)?;
            } else if self.eat_op("[") {
                if matches!(self.peek(), Tok::Op(":")) {
                    return self.error("slices are not part of this Python subset");
                }
                let index = self.expr_list()?;
                if matches!(self.peek(), Tok::Op(":")) {
                    return self.error("slices are not part of this Python subset");
                }
                self.expect_op("]")?;
                e = self.mk(ExprKind::Subscript(Box::new(e), Box::new(index)), line, col)?;
            } else if self.eat_op(".") {
                let name = self.name()?;
                e = self.mk(ExprKind::Attr(Box::new(e), name), line, col)?;
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, PyError> {
        let (line, col) = self.here();
        let tok = self.peek().clone();
        match tok {
            Tok::Int(n) => {
                self.pos += 1;
                Ok(self.constant(ConstKey::Int(n), line, col))
            }
            Tok::Float(f) => {
                self.pos += 1;
                Ok(self.constant(ConstKey::Float(f.to_bits()), line, col))
            }
            Tok::Str(s) => {
                self.pos += 1;
                let mut s = s;
                // Adjacent literals concatenate, as in Python.
                while let Tok::Str(more) = self.peek().clone() {
                    self.pos += 1;
                    s.push_str(&more);
                }
                Ok(self.constant(ConstKey::Str(s), line, col))
            }
            Tok::Name(n) => {
                self.pos += 1;
                match n.as_str() {
                    "None" => Ok(self.constant(ConstKey::None, line, col)),
                    "True" => Ok(self.constant(ConstKey::Bool(true), line, col)),
                    "False" => Ok(self.constant(ConstKey::Bool(false), line, col)),
                    _ if UNSUPPORTED.contains(&n.as_str()) => {
                        self.pos -= 1;
                        self.error(&format!("'{n}' is not part of ThreadLab's Python subset"))
                    }
                    _ if KEYWORDS.contains(&n.as_str()) => {
                        self.pos -= 1;
                        self.error("invalid syntax")
                    }
                    _ => self.mk(ExprKind::Name(n), line, col),
                }
            }
            Tok::Op("(") => {
                self.pos += 1;
                if self.eat_op(")") {
                    return self.tuple(Vec::new(), line, col);
                }
                let first = self.expr()?;
                if self.eat_op(")") {
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.eat_op(",") {
                    if self.eat_op(")") {
                        return self.tuple(items, line, col);
                    }
                    items.push(self.expr()?);
                }
                self.expect_op(")")?;
                self.tuple(items, line, col)
            }
            Tok::Op("[") => {
                self.pos += 1;
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    items.push(self.expr()?);
                    if self.is_kw("for") {
                        return self.error("comprehensions are not part of this Python subset");
                    }
                    if !self.eat_op(",") {
                        self.expect_op("]")?;
                        break;
                    }
                }
                self.mk(ExprKind::List(items), line, col)
            }
            Tok::Op("{") => {
                self.pos += 1;
                let mut pairs = Vec::new();
                while !self.eat_op("}") {
                    let k = self.expr()?;
                    if !matches!(self.peek(), Tok::Op(":")) {
                        return self.error("sets are not part of this Python subset (dicts are: {key: value})");
                    }
                    self.pos += 1;
                    let v = self.expr()?;
                    pairs.push((k, v));
                    if !self.eat_op(",") {
                        self.expect_op("}")?;
                        break;
                    }
                }
                self.mk(ExprKind::Dict(pairs), line, col)
            }
            Tok::Newline | Tok::Eof => self.error("unexpected end of line"),
            Tok::Indent => Err(PyError::at("IndentationError", "unexpected indent", line, col)),
            _ => {
                self.unsupported_here()?;
                self.error("invalid syntax")
            }
        }
    }
}

fn to_target(e: Expr) -> Result<Target, PyError> {
    match e.kind {
        ExprKind::Name(n) => Ok(Target::Name(n)),
        ExprKind::Subscript(obj, index) => Ok(Target::Item(*obj, *index)),
        ExprKind::Tuple(items) => Ok(Target::Tuple(items.into_iter().map(to_target).collect::<Result<_, _>>()?)),
        _ => Err(PyError::at("SyntaxError", "cannot assign to this expression", e.line, e.col)),
    }
}

fn too_deep(line: u32, col: u32) -> PyError {
    PyError::at("RecursionError", "maximum recursion depth exceeded during compilation", line, col)
}
