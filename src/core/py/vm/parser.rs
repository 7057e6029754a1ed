//! The VM's grammar: recursive descent from tokens to `ast`. Its recursion is bounded
//! (`MAX_DEPTH` levels of expressions and blocks), so a hostile program is a
//! `RecursionError` during compilation, as in CPython, never a native stack overflow.

use super::ast::{
    BinOp, CmpOp, CompKind, Comprehension, Expr, ExprKind, FPart, FuncDef, Handler, Lit, Params, Span, Stmt, StmtKind,
    UnOp,
};
use super::lexer::{tokenize, Tok, Token};
use crate::core::py::PyError;
use std::rc::Rc;

/// Nesting of the parser's (and so the compiler's) recursion.
pub const MAX_DEPTH: u32 = 200;
/// Operators of binary chains (`1 + 1 + …`) along one path of the tree: each makes the tree
/// one level deeper, and the compiler recurses once per level. CPython 3.11 refuses a chain
/// of about 2,700 with the same `RecursionError`; 500 keeps the compiler's native stack within
/// a worker's (a debug build takes ~8 KB a level: 1,000 overflowed an 8 MB thread).
pub const MAX_CHAIN: u32 = 500;

const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

pub struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: u32,
    /// Binary operators on the current path (bounded by `MAX_CHAIN`).
    chain: u32,
}

/// Parses a whole program.
///
/// # Errors
/// A `SyntaxError` (or `IndentationError`, or a clear "not supported yet") at the token.
pub fn parse_program(source: &str) -> Result<Vec<Stmt>, PyError> {
    let toks = tokenize(source)?;
    let mut p = Parser { toks, pos: 0, depth: 0, chain: 0 };
    let mut body: Vec<Stmt> = Vec::new();
    while p.peek() != &Tok::Eof {
        if p.peek() == &Tok::Newline {
            p.pos += 1;
            continue;
        }
        for s in p.statement()? {
            future_check(&body, &s)?;
            body.push(s);
        }
    }
    Ok(body)
}

/// `from __future__ import …` as CPython's compiler takes it: first in the file (after a
/// docstring and other future imports), naming a feature it knows. All of them are what
/// this VM does anyway (annotations are never evaluated, `generator_stop` is PEP 479), so
/// the statement binds nothing (the compiler skips it).
fn future_check(before: &[Stmt], s: &Stmt) -> Result<(), PyError> {
    let StmtKind::ImportFrom(module, names) = &s.kind else { return Ok(()) };
    if module != "__future__" {
        return Ok(());
    }
    let at = |msg: &str| Err(PyError::at("SyntaxError", msg, s.span.line, s.span.col + 1));
    let is_docstring = |i: usize, st: &Stmt| {
        i == 0 && matches!(&st.kind, StmtKind::Expr(e) if matches!(e.kind, ExprKind::Const(Lit::Str(_))))
    };
    let only_future = before
        .iter()
        .enumerate()
        .all(|(i, st)| is_docstring(i, st) || matches!(&st.kind, StmtKind::ImportFrom(m, _) if m == "__future__"));
    if !only_future {
        return at("from __future__ imports must occur at the beginning of the file");
    }
    for (name, _) in names {
        match name.as_str() {
            "nested_scopes" | "generators" | "division" | "absolute_import" | "with_statement" | "print_function"
            | "unicode_literals" | "generator_stop" | "annotations" => {}
            "braces" => return at("not a chance"),
            "barry_as_FLUFL" => return at("'from __future__ import barry_as_FLUFL' is not supported"),
            other => return at(&format!("future feature {other} is not defined")),
        }
    }
    Ok(())
}

fn mk(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

impl Parser {
    fn tok(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek(&self) -> &Tok {
        &self.tok().tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn start(&self) -> Span {
        let t = self.tok();
        Span { line: t.line, col: t.col, end_line: t.end_line, end_col: t.end_col }
    }

    /// The span from `start` to the end of the last token eaten.
    fn since(&self, start: Span) -> Span {
        let t = &self.toks[self.pos.saturating_sub(1)];
        Span { line: start.line, col: start.col, end_line: t.end_line, end_col: t.end_col }
    }

    fn error<T>(&self, msg: &str) -> Result<T, PyError> {
        let t = self.tok();
        Err(PyError::at("SyntaxError", msg, t.line, t.col + 1))
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
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
            self.error(&format!("expected '{op}'"))
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

    fn expect_kw(&mut self, kw: &str) -> Result<(), PyError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.error(&format!("expected '{kw}'"))
        }
    }

    fn name(&mut self) -> Result<String, PyError> {
        match self.peek().clone() {
            Tok::Name(n) if !KEYWORDS.contains(&n.as_str()) => {
                self.pos += 1;
                Ok(n)
            }
            _ => self.error("invalid syntax (expected a name)"),
        }
    }

    /// CPython's compile-time `RecursionError`, at the current token (nesting past
    /// [`MAX_DEPTH`], or a binary chain past [`MAX_CHAIN`]).
    fn too_deep(&self) -> PyError {
        let t = self.tok();
        PyError::at("RecursionError", "maximum recursion depth exceeded during compilation", t.line, t.col + 1)
    }

    fn enter(&mut self) -> Result<(), PyError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn block(&mut self) -> Result<Vec<Stmt>, PyError> {
        self.expect_op(":")?;
        self.enter()?;
        let mut body = Vec::new();
        if self.peek() == &Tok::Newline {
            self.pos += 1;
            if self.peek() != &Tok::Indent {
                let t = self.tok();
                return Err(PyError::at("IndentationError", "expected an indented block", t.line, t.col + 1));
            }
            self.pos += 1;
            while !matches!(self.peek(), Tok::Dedent | Tok::Eof) {
                if self.peek() == &Tok::Newline {
                    self.pos += 1;
                    continue;
                }
                body.extend(self.statement()?);
            }
            self.eat_dedent();
        } else {
            body.extend(self.simple_statements()?);
        }
        self.leave();
        Ok(body)
    }

    fn eat_dedent(&mut self) {
        if self.peek() == &Tok::Dedent {
            self.pos += 1;
        }
    }

    /// One statement (a line of simple statements may hold several).
    fn statement(&mut self) -> Result<Vec<Stmt>, PyError> {
        let start = self.start();
        let at = |kind, span| Ok(vec![Stmt { kind, span }]);
        if self.is_op("@") {
            let mut decorators = Vec::new();
            while self.eat_op("@") {
                decorators.push(self.expr()?);
                if self.peek() != &Tok::Newline {
                    return self.error("invalid syntax");
                }
                self.pos += 1;
            }
            let mut stmts = self.statement()?;
            match stmts.first_mut().map(|s| &mut s.kind) {
                Some(StmtKind::Def(f)) => Rc::make_mut(f).decorators = decorators,
                Some(StmtKind::Class { decorators: d, .. }) => *d = decorators,
                _ => return self.error("a decorator must come before def or class"),
            }
            return Ok(stmts);
        }
        let Tok::Name(word) = self.peek().clone() else { return self.simple_statements() };
        match word.as_str() {
            "if" => {
                self.pos += 1;
                let s = self.if_rest(start)?;
                Ok(vec![s])
            }
            "while" => {
                self.pos += 1;
                let test = self.named_expr()?;
                let body = self.block()?;
                let orelse = if self.eat_kw("else") { self.block()? } else { Vec::new() };
                at(StmtKind::While(test, body, orelse), self.since(start))
            }
            "for" => {
                self.pos += 1;
                let target = self.target_list()?;
                self.expect_kw("in")?;
                let iter = self.expr_list()?;
                let body = self.block()?;
                let orelse = if self.eat_kw("else") { self.block()? } else { Vec::new() };
                at(StmtKind::For(target, iter, body, orelse), self.since(start))
            }
            "def" => {
                self.pos += 1;
                let name = self.name()?;
                self.expect_op("(")?;
                let params = self.params(")")?;
                self.expect_op(")")?;
                if self.eat_op("->") {
                    self.expr()?;
                }
                let body = self.block()?;
                let def = FuncDef { name, params, body, decorators: Vec::new(), span: start };
                at(StmtKind::Def(Rc::new(def)), self.since(start))
            }
            "class" => {
                self.pos += 1;
                let name = self.name()?;
                let mut bases = Vec::new();
                if self.eat_op("(") {
                    while !self.eat_op(")") {
                        if matches!(self.peek_at(1), Tok::Op("=")) {
                            return self.error("class keyword arguments (metaclass=…) are not supported yet");
                        }
                        bases.push(self.expr()?);
                        if !self.eat_op(",") {
                            self.expect_op(")")?;
                            break;
                        }
                    }
                }
                let body = self.block()?;
                at(StmtKind::Class { name, bases, body, decorators: Vec::new() }, self.since(start))
            }
            "try" => {
                self.pos += 1;
                let body = self.block()?;
                let mut handlers = Vec::new();
                while self.is_kw("except") {
                    let hstart = self.start();
                    self.pos += 1;
                    if self.is_op("*") {
                        return self.error("except* is not supported yet");
                    }
                    let (mut kind, mut name) = (None, None);
                    if !self.is_op(":") {
                        kind = Some(self.expr_list()?);
                        if self.eat_kw("as") {
                            name = Some(self.name()?);
                        }
                    }
                    let hspan = self.since(hstart);
                    let hbody = self.block()?;
                    handlers.push(Handler { kind, name, body: hbody, span: hspan });
                }
                let orelse = if !handlers.is_empty() && self.eat_kw("else") { self.block()? } else { Vec::new() };
                let finalbody = if self.eat_kw("finally") { self.block()? } else { Vec::new() };
                if handlers.is_empty() && finalbody.is_empty() {
                    return self.error("expected 'except' or 'finally' block");
                }
                at(StmtKind::Try { body, handlers, orelse, finalbody }, self.since(start))
            }
            "with" => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    let e = self.expr()?;
                    let target = if self.eat_kw("as") { Some(self.target()?) } else { None };
                    items.push((e, target));
                    if !self.eat_op(",") {
                        break;
                    }
                }
                let span = self.since(start);
                let body = self.block()?;
                at(StmtKind::With(items, body), span)
            }
            "async" | "await" | "match" if !matches!(self.peek_at(1), Tok::Op("=" | "." | "(" | "[")) => {
                if word == "match" {
                    return self.simple_statements();
                }
                self.error(&format!("'{word}' is not supported yet"))
            }
            _ => self.simple_statements(),
        }
    }

    fn if_rest(&mut self, start: Span) -> Result<Stmt, PyError> {
        let mut arms = vec![(self.named_expr()?, self.block()?, start)];
        while self.is_kw("elif") {
            let s = self.start();
            self.pos += 1;
            if arms.len() > 2000 {
                return self.error("too many elifs");
            }
            arms.push((self.named_expr()?, self.block()?, s));
        }
        let mut orelse = if self.eat_kw("else") { self.block()? } else { Vec::new() };
        while let Some((cond, body, span)) = arms.pop() {
            orelse = vec![Stmt { kind: StmtKind::If(cond, body, orelse), span }];
        }
        Ok(orelse.pop().expect("the if"))
    }

    fn simple_statements(&mut self) -> Result<Vec<Stmt>, PyError> {
        let mut out = vec![self.simple()?];
        while self.eat_op(";") {
            if matches!(self.peek(), Tok::Newline | Tok::Eof) {
                break;
            }
            out.push(self.simple()?);
        }
        match self.peek() {
            Tok::Newline => self.pos += 1,
            Tok::Eof | Tok::Dedent => {}
            _ => return self.error("invalid syntax"),
        }
        Ok(out)
    }

    #[allow(clippy::too_many_lines)]
    fn simple(&mut self) -> Result<Stmt, PyError> {
        let start = self.start();
        let word = if let Tok::Name(n) = self.peek() { n.clone() } else { String::new() };
        let kind = match word.as_str() {
            "pass" => {
                self.pos += 1;
                StmtKind::Pass
            }
            "break" => {
                self.pos += 1;
                StmtKind::Break
            }
            "continue" => {
                self.pos += 1;
                StmtKind::Continue
            }
            "return" => {
                self.pos += 1;
                if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Op(";")) {
                    StmtKind::Return(None)
                } else {
                    StmtKind::Return(Some(self.expr_list()?))
                }
            }
            "raise" => {
                self.pos += 1;
                if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Op(";")) {
                    StmtKind::Raise(None, None)
                } else {
                    let e = self.expr()?;
                    let cause = if self.eat_kw("from") { Some(self.expr()?) } else { None };
                    StmtKind::Raise(Some(e), cause)
                }
            }
            "global" | "nonlocal" => {
                self.pos += 1;
                let mut names = vec![self.name()?];
                while self.eat_op(",") {
                    names.push(self.name()?);
                }
                if word == "global" {
                    StmtKind::Global(names)
                } else {
                    StmtKind::Nonlocal(names)
                }
            }
            "import" => {
                self.pos += 1;
                let mut names = Vec::new();
                loop {
                    let dotted = self.dotted()?;
                    let alias = if self.eat_kw("as") { Some(self.name()?) } else { None };
                    names.push((dotted, alias));
                    if !self.eat_op(",") {
                        break;
                    }
                }
                StmtKind::Import(names)
            }
            "from" => {
                self.pos += 1;
                if self.is_op(".") {
                    return self.error("relative imports are not supported (a cell has no package)");
                }
                let module = self.dotted()?;
                self.expect_kw("import")?;
                let paren = self.eat_op("(");
                let mut names = Vec::new();
                if self.eat_op("*") {
                    return self.error("'from … import *' is not supported yet: import the names you use");
                }
                loop {
                    let n = self.name()?;
                    let alias = if self.eat_kw("as") { Some(self.name()?) } else { None };
                    names.push((n, alias));
                    if !self.eat_op(",") || (paren && self.is_op(")")) {
                        break;
                    }
                    if !paren && matches!(self.peek(), Tok::Newline | Tok::Eof) {
                        return self.error("trailing comma not allowed without surrounding parentheses");
                    }
                }
                if paren {
                    self.expect_op(")")?;
                }
                StmtKind::ImportFrom(module, names)
            }
            "assert" => {
                self.pos += 1;
                let test = self.expr()?;
                let msg = if self.eat_op(",") { Some(self.expr()?) } else { None };
                StmtKind::Assert(test, msg)
            }
            "del" => {
                self.pos += 1;
                let mut targets = vec![self.target()?];
                while self.eat_op(",") {
                    if matches!(self.peek(), Tok::Newline | Tok::Eof) {
                        break;
                    }
                    targets.push(self.target()?);
                }
                StmtKind::Del(targets)
            }
            "async" | "await" => return self.error(&format!("'{word}' is not supported yet")),
            _ => {
                let first = self.star_expr_list()?;
                if self.eat_op("=") {
                    let mut targets = vec![check_target(first)?];
                    let mut value = self.star_expr_list()?;
                    while self.eat_op("=") {
                        targets.push(check_target(value)?);
                        value = self.star_expr_list()?;
                    }
                    StmtKind::Assign(targets, value)
                } else if let Some(op) = self.aug_op() {
                    let target = check_target(first)?;
                    if matches!(target.kind, ExprKind::Tuple(_) | ExprKind::List(_)) {
                        return self.error("'tuple' is an illegal expression for augmented assignment");
                    }
                    let value = self.expr_list()?;
                    StmtKind::AugAssign(target, op, value)
                } else if self.eat_op(":") {
                    let _annotation = self.expr()?;
                    let value = if self.eat_op("=") { Some(self.expr_list()?) } else { None };
                    StmtKind::AnnAssign(check_target(first)?, value)
                } else {
                    StmtKind::Expr(first)
                }
            }
        };
        Ok(Stmt { kind, span: self.since(start) })
    }

    fn aug_op(&mut self) -> Option<BinOp> {
        let op = match self.peek() {
            Tok::Op("+=") => BinOp::Add,
            Tok::Op("-=") => BinOp::Sub,
            Tok::Op("*=") => BinOp::Mul,
            Tok::Op("/=") => BinOp::Div,
            Tok::Op("//=") => BinOp::FloorDiv,
            Tok::Op("%=") => BinOp::Mod,
            Tok::Op("**=") => BinOp::Pow,
            Tok::Op("@=") => BinOp::MatMul,
            Tok::Op("<<=") => BinOp::LShift,
            Tok::Op(">>=") => BinOp::RShift,
            Tok::Op("&=") => BinOp::BitAnd,
            Tok::Op("|=") => BinOp::BitOr,
            Tok::Op("^=") => BinOp::BitXor,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn dotted(&mut self) -> Result<String, PyError> {
        let mut s = self.name()?;
        while self.eat_op(".") {
            s.push('.');
            s.push_str(&self.name()?);
        }
        Ok(s)
    }

    /// Parameters up to `close` (`)` for def, `:` for lambda).
    fn params(&mut self, close: &str) -> Result<Params, PyError> {
        let mut p = Params::default();
        let mut star_seen = false;
        while !self.is_op(close) {
            if self.eat_op("**") {
                p.kwarg = Some(self.name()?);
                self.annotation(close)?;
            } else if self.eat_op("*") {
                star_seen = true;
                if !self.is_op(",") {
                    p.vararg = Some(self.name()?);
                    self.annotation(close)?;
                }
            } else if self.eat_op("/") {
                // Positional-only marker: the names before it stay positional-or-keyword here.
            } else {
                let n = self.name()?;
                self.annotation(close)?;
                let default = if self.eat_op("=") { Some(self.expr()?) } else { None };
                if star_seen {
                    p.kwonly.push((n, default));
                } else {
                    if default.is_none() && p.args.last().is_some_and(|(_, d)| d.is_some()) {
                        return self.error("non-default argument follows default argument");
                    }
                    p.args.push((n, default));
                }
            }
            if !self.eat_op(",") {
                break;
            }
        }
        Ok(p)
    }

    fn annotation(&mut self, close: &str) -> Result<(), PyError> {
        if close == ")" && self.eat_op(":") {
            self.expr()?;
        }
        Ok(())
    }

    fn target(&mut self) -> Result<Expr, PyError> {
        let e = if self.is_op("*") { self.star_expr()? } else { self.bitor()? };
        check_target(e)
    }

    /// Targets of `for`/comprehensions: `a, (b, c)`.
    fn target_list(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let first = self.target()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_kw("in") || self.is_op("=") {
                break;
            }
            items.push(self.target()?);
        }
        Ok(mk(ExprKind::Tuple(items), self.since(start)))
    }

    /// `a, *b` with starred items allowed (assignment sides, `return`).
    fn star_expr_list(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let first = if self.is_op("*") { self.star_expr()? } else { self.named_expr()? };
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Op("=" | ")" | ";" | ":")) || self.aug_peek() {
                break;
            }
            items.push(if self.is_op("*") { self.star_expr()? } else { self.expr()? });
        }
        Ok(mk(ExprKind::Tuple(items), self.since(start)))
    }

    fn aug_peek(&self) -> bool {
        matches!(self.peek(), Tok::Op(o) if o.len() >= 2 && o.ends_with('=') && !matches!(*o, "==" | "!=" | "<=" | ">="))
    }

    fn star_expr(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        self.expect_op("*")?;
        let inner = self.bitor()?;
        Ok(mk(ExprKind::Starred(Box::new(inner)), self.since(start)))
    }

    /// `a, b` (a tuple without parentheses) or one expression.
    fn expr_list(&mut self) -> Result<Expr, PyError> {
        self.star_expr_list()
    }

    fn named_expr(&mut self) -> Result<Expr, PyError> {
        let e = self.expr()?;
        if self.is_op(":=") {
            return self.error("assignment expressions (:=) are not supported yet");
        }
        Ok(e)
    }

    pub fn expr(&mut self) -> Result<Expr, PyError> {
        self.enter()?;
        let start = self.start();
        let r = if self.is_kw("lambda") {
            self.pos += 1;
            let params = self.params(":")?;
            self.expect_op(":")?;
            let body = self.expr()?;
            let span = self.since(start);
            let ret = Stmt { kind: StmtKind::Return(Some(body)), span };
            let def = FuncDef { name: "<lambda>".into(), params, body: vec![ret], decorators: Vec::new(), span };
            Ok(mk(ExprKind::Lambda(Rc::new(def)), span))
        } else {
            let body = self.or_expr()?;
            if self.is_kw("if") && !self.in_comp_if() {
                self.pos += 1;
                let test = self.or_expr()?;
                self.expect_kw("else")?;
                let orelse = self.expr()?;
                Ok(mk(ExprKind::IfExp(Box::new(test), Box::new(body), Box::new(orelse)), self.since(start)))
            } else {
                Ok(body)
            }
        };
        self.leave();
        r
    }

    /// Whether an `if` here belongs to a comprehension (no `else` follows on this level).
    fn in_comp_if(&self) -> bool {
        let mut depth = 0i32;
        let mut i = self.pos + 1;
        while i < self.toks.len() {
            match &self.toks[i].tok {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") => {
                    if depth == 0 {
                        return true;
                    }
                    depth -= 1;
                }
                Tok::Name(n) if depth == 0 && n == "else" => return false,
                Tok::Name(n) if depth == 0 && (n == "for" || n == "if") => return true,
                Tok::Newline | Tok::Eof => return false,
                _ => {}
            }
            i += 1;
        }
        false
    }

    fn or_expr(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let first = self.and_expr()?;
        if !self.is_kw("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_kw("or") {
            items.push(self.and_expr()?);
        }
        Ok(mk(ExprKind::BoolOp(false, items), self.since(start)))
    }

    fn and_expr(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let first = self.not_expr()?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_kw("and") {
            items.push(self.not_expr()?);
        }
        Ok(mk(ExprKind::BoolOp(true, items), self.since(start)))
    }

    fn not_expr(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        if self.eat_kw("not") {
            self.enter()?;
            let inner = self.not_expr()?;
            self.leave();
            return Ok(mk(ExprKind::Unary(UnOp::Not, Box::new(inner)), self.since(start)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let left = self.bitor()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek() {
                Tok::Op("==") => CmpOp::Eq,
                Tok::Op("!=") => CmpOp::Ne,
                Tok::Op("<") => CmpOp::Lt,
                Tok::Op("<=") => CmpOp::Le,
                Tok::Op(">") => CmpOp::Gt,
                Tok::Op(">=") => CmpOp::Ge,
                Tok::Name(n) if n == "in" => CmpOp::In,
                Tok::Name(n) if n == "is" => {
                    if matches!(self.peek_at(1), Tok::Name(m) if m == "not") {
                        self.pos += 1;
                        CmpOp::IsNot
                    } else {
                        CmpOp::Is
                    }
                }
                Tok::Name(n) if n == "not" && matches!(self.peek_at(1), Tok::Name(m) if m == "in") => {
                    self.pos += 1;
                    CmpOp::NotIn
                }
                _ => break,
            };
            self.pos += 1;
            rest.push((op, self.bitor()?));
        }
        if rest.is_empty() {
            return Ok(left);
        }
        Ok(mk(ExprKind::Compare(Box::new(left), rest), self.since(start)))
    }

    fn binary_level(&mut self, level: usize) -> Result<Expr, PyError> {
        const LEVELS: [&[(&str, BinOp)]; 6] = [
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("<<", BinOp::LShift), (">>", BinOp::RShift)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("//", BinOp::FloorDiv), ("%", BinOp::Mod), ("@", BinOp::MatMul)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let start = self.start();
        let mut left = self.binary_level(level + 1)?;
        let mut taken = 0;
        while let Tok::Op(o) = self.peek() {
            let Some((_, op)) = LEVELS[level].iter().find(|(s, _)| s == o) else { break };
            let op = *op;
            self.chain += 1;
            taken += 1;
            if self.chain > MAX_CHAIN {
                return Err(self.too_deep());
            }
            self.pos += 1;
            let right = self.binary_level(level + 1)?;
            left = mk(ExprKind::Bin(Box::new(left), op, Box::new(right)), self.since(start));
        }
        self.chain -= taken;
        Ok(left)
    }

    fn bitor(&mut self) -> Result<Expr, PyError> {
        self.binary_level(0)
    }

    fn unary(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let op = match self.peek() {
            Tok::Op("-") => UnOp::Neg,
            Tok::Op("+") => UnOp::Pos,
            Tok::Op("~") => UnOp::Invert,
            _ => return self.power(),
        };
        self.pos += 1;
        self.enter()?;
        let inner = self.unary()?;
        self.leave();
        let span = self.since(start);
        // CPython folds -literal into one constant.
        if op == UnOp::Neg {
            match &inner.kind {
                ExprKind::Const(Lit::Int(n)) if *n != i64::MIN => return Ok(mk(ExprKind::Const(Lit::Int(-n)), span)),
                ExprKind::Const(Lit::Float(f)) => return Ok(mk(ExprKind::Const(Lit::Float(-f)), span)),
                _ => {}
            }
        }
        Ok(mk(ExprKind::Unary(op, Box::new(inner)), span))
    }

    fn power(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        if self.is_kw("await") {
            return self.error("'await' is not supported yet");
        }
        let base = self.postfix()?;
        if !self.eat_op("**") {
            return Ok(base);
        }
        self.enter()?;
        let exponent = self.unary()?;
        self.leave();
        Ok(mk(ExprKind::Bin(Box::new(base), BinOp::Pow, Box::new(exponent)), self.since(start)))
    }

    fn postfix(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let mut e = self.atom()?;
        // `a[0][0]…`, `f()()…`, `a.b.b…` are chains too: each makes the tree one level deeper
        // (20,000 overflowed the compiler's native stack; CPython refuses them likewise).
        let mut taken = 0;
        let out = loop {
            if matches!(self.peek(), Tok::Op("(" | "[" | ".")) {
                self.chain += 1;
                taken += 1;
                if self.chain > MAX_CHAIN {
                    break Err(self.too_deep());
                }
            }
            match self.postfix_step(e, start) {
                Ok((next, true)) => e = next,
                Ok((done, false)) => break Ok(done),
                Err(err) => break Err(err),
            }
        };
        self.chain -= taken;
        out
    }

    /// One trailer of [`Parser::postfix`]: the longer expression, and whether there was one.
    fn postfix_step(&mut self, e: Expr, start: Span) -> Result<(Expr, bool), PyError> {
        let mut e = e;
        {
            if self.eat_op("(") {
                self.enter()?;
                let (args, kwargs) = self.call_args()?;
                self.leave();
                e = mk(ExprKind::Call(Box::new(e), args, kwargs), self.since(start));
            } else if self.eat_op("[") {
                self.enter()?;
                let index = self.subscript()?;
                self.leave();
                self.expect_op("]")?;
                e = mk(ExprKind::Subscript(Box::new(e), Box::new(index)), self.since(start));
            } else if self.eat_op(".") {
                let name = self.name()?;
                e = mk(ExprKind::Attr(Box::new(e), name), self.since(start));
            } else {
                return Ok((e, false));
            }
        }
        Ok((e, true))
    }

    #[allow(clippy::type_complexity)]
    fn call_args(&mut self) -> Result<(Vec<Expr>, Vec<(Option<String>, Expr)>), PyError> {
        let (mut args, mut kwargs) = (Vec::new(), Vec::new());
        while !self.eat_op(")") {
            if self.eat_op("**") {
                kwargs.push((None, self.expr()?));
            } else if self.is_op("*") {
                if !kwargs.is_empty() && kwargs.iter().any(|(n, _): &(Option<String>, Expr)| n.is_none()) {
                    return self.error("iterable argument unpacking follows keyword argument unpacking");
                }
                args.push(self.star_expr()?);
            } else if matches!(self.peek(), Tok::Name(_)) && matches!(self.peek_at(1), Tok::Op("=")) {
                let n = self.name()?;
                self.pos += 1;
                kwargs.push((Some(n), self.expr()?));
            } else {
                if !kwargs.is_empty() {
                    return self.error("positional argument follows keyword argument");
                }
                let start = self.start();
                let e = self.named_expr()?;
                if self.is_kw("for") {
                    let gens = self.comp_for()?;
                    let span = self.since(start);
                    args.push(mk(ExprKind::Comp(CompKind::Gen, Box::new(e), None, gens), span));
                } else {
                    args.push(e);
                }
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        Ok((args, kwargs))
    }

    fn subscript(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let first = self.slice_item()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op("]") {
                break;
            }
            items.push(self.slice_item()?);
        }
        Ok(mk(ExprKind::Tuple(items), self.since(start)))
    }

    fn slice_item(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let lower = if self.is_op(":") { None } else { Some(Box::new(self.expr()?)) };
        if !self.eat_op(":") {
            return Ok(*lower.expect("an index"));
        }
        let upper =
            if self.is_op(":") || self.is_op("]") || self.is_op(",") { None } else { Some(Box::new(self.expr()?)) };
        let step =
            if self.eat_op(":") && !self.is_op("]") && !self.is_op(",") { Some(Box::new(self.expr()?)) } else { None };
        Ok(mk(ExprKind::Slice(lower, upper, step), self.since(start)))
    }

    fn comp_for(&mut self) -> Result<Vec<Comprehension>, PyError> {
        let mut gens = Vec::new();
        while self.eat_kw("for") {
            let target = self.target_list()?;
            self.expect_kw("in")?;
            let iter = self.or_expr()?;
            let mut ifs = Vec::new();
            while self.eat_kw("if") {
                ifs.push(self.or_expr()?);
            }
            gens.push(Comprehension { target, iter, ifs });
        }
        Ok(gens)
    }

    #[allow(clippy::too_many_lines)]
    fn atom(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let tok = self.peek().clone();
        let lit = |p: &mut Self, l| {
            p.pos += 1;
            Ok(mk(ExprKind::Const(l), start))
        };
        match tok {
            Tok::Int(n) => lit(self, Lit::Int(n)),
            Tok::BigInt(s) => lit(self, Lit::BigInt(s)),
            Tok::Float(f) => lit(self, Lit::Float(f)),
            Tok::Str(_) | Tok::FStr { .. } => self.strings(),
            Tok::Name(n) => {
                match n.as_str() {
                    "None" => return lit(self, Lit::None),
                    "True" => return lit(self, Lit::Bool(true)),
                    "False" => return lit(self, Lit::Bool(false)),
                    "yield" => return self.yield_expr(),
                    "await" | "async" => return self.error(&format!("'{n}' is not supported yet")),
                    _ if KEYWORDS.contains(&n.as_str()) => return self.error("invalid syntax"),
                    _ => {}
                }
                self.pos += 1;
                Ok(mk(ExprKind::Name(n), start))
            }
            Tok::Op("...") => lit(self, Lit::Ellipsis),
            Tok::Op("(") => {
                self.pos += 1;
                self.enter()?;
                let r = self.paren(start);
                self.leave();
                r
            }
            Tok::Op("[") => {
                self.pos += 1;
                self.enter()?;
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    let e = if self.is_op("*") { self.star_expr()? } else { self.named_expr()? };
                    if self.is_kw("for") {
                        let gens = self.comp_for()?;
                        self.expect_op("]")?;
                        self.leave();
                        return Ok(mk(ExprKind::Comp(CompKind::List, Box::new(e), None, gens), self.since(start)));
                    }
                    items.push(e);
                    if !self.eat_op(",") {
                        self.expect_op("]")?;
                        break;
                    }
                }
                self.leave();
                Ok(mk(ExprKind::List(items), self.since(start)))
            }
            Tok::Op("{") => {
                self.pos += 1;
                self.enter()?;
                let r = self.braces(start);
                self.leave();
                r
            }
            Tok::Newline | Tok::Eof => self.error("invalid syntax"),
            Tok::Indent => {
                let t = self.tok();
                Err(PyError::at("IndentationError", "unexpected indent", t.line, t.col + 1))
            }
            _ => self.error("invalid syntax"),
        }
    }

    /// `yield`, `yield x`, `yield a, b`, `yield from it` (where an expression may stand;
    /// CPython's grammar is narrower: `1 + yield` is its SyntaxError, accepted here).
    fn yield_expr(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        self.pos += 1;
        if self.eat_kw("from") {
            let v = self.expr()?;
            return Ok(mk(ExprKind::YieldFrom(Box::new(v)), self.since(start)));
        }
        if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Op(")" | "]" | "}" | "=" | ";" | ":" | ",")) {
            return Ok(mk(ExprKind::Yield(None), self.since(start)));
        }
        let v = self.star_expr_list()?;
        Ok(mk(ExprKind::Yield(Some(Box::new(v))), self.since(start)))
    }

    fn paren(&mut self, start: Span) -> Result<Expr, PyError> {
        if self.eat_op(")") {
            return Ok(mk(ExprKind::Tuple(Vec::new()), self.since(start)));
        }
        let first = if self.is_op("*") { self.star_expr()? } else { self.named_expr()? };
        if self.is_kw("for") {
            let gens = self.comp_for()?;
            self.expect_op(")")?;
            return Ok(mk(ExprKind::Comp(CompKind::Gen, Box::new(first), None, gens), self.since(start)));
        }
        if self.eat_op(")") {
            if matches!(first.kind, ExprKind::Starred(_)) {
                return self.error("cannot use starred expression here");
            }
            // A parenthesized expression keeps its inner span, as CPython's AST does.
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op(")") {
                break;
            }
            items.push(if self.is_op("*") { self.star_expr()? } else { self.named_expr()? });
        }
        self.expect_op(")")?;
        Ok(mk(ExprKind::Tuple(items), self.since(start)))
    }

    fn braces(&mut self, start: Span) -> Result<Expr, PyError> {
        if self.eat_op("}") {
            return Ok(mk(ExprKind::Dict(Vec::new()), self.since(start)));
        }
        if self.eat_op("**") {
            let m = self.bitor()?;
            return self.dict_rest(start, vec![(None, m)]);
        }
        let first = if self.is_op("*") { self.star_expr()? } else { self.named_expr()? };
        if self.eat_op(":") {
            let v = self.expr()?;
            if self.is_kw("for") {
                let gens = self.comp_for()?;
                self.expect_op("}")?;
                return Ok(mk(
                    ExprKind::Comp(CompKind::Dict, Box::new(first), Some(Box::new(v)), gens),
                    self.since(start),
                ));
            }
            return self.dict_rest(start, vec![(Some(first), v)]);
        }
        if self.is_kw("for") {
            let gens = self.comp_for()?;
            self.expect_op("}")?;
            return Ok(mk(ExprKind::Comp(CompKind::Set, Box::new(first), None, gens), self.since(start)));
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op("}") {
                break;
            }
            items.push(if self.is_op("*") { self.star_expr()? } else { self.expr()? });
        }
        self.expect_op("}")?;
        Ok(mk(ExprKind::Set(items), self.since(start)))
    }

    fn dict_rest(&mut self, start: Span, mut pairs: Vec<(Option<Expr>, Expr)>) -> Result<Expr, PyError> {
        while self.eat_op(",") {
            if self.is_op("}") {
                break;
            }
            if self.eat_op("**") {
                pairs.push((None, self.bitor()?));
                continue;
            }
            let k = self.expr()?;
            self.expect_op(":")?;
            pairs.push((Some(k), self.expr()?));
        }
        self.expect_op("}")?;
        Ok(mk(ExprKind::Dict(pairs), self.since(start)))
    }

    /// Adjacent string literals, f-strings among them, joined.
    fn strings(&mut self) -> Result<Expr, PyError> {
        let start = self.start();
        let mut parts: Vec<FPart> = Vec::new();
        let mut any_f = false;
        loop {
            match self.peek().clone() {
                Tok::Str(s) => {
                    self.pos += 1;
                    push_lit(&mut parts, &s);
                }
                Tok::FStr { text, line, col, raw } => {
                    self.pos += 1;
                    any_f = true;
                    let more = fstring_parts(&text, line, col, raw, self.depth)?;
                    for p in more {
                        match p {
                            FPart::Lit(s) => push_lit(&mut parts, &s),
                            other @ FPart::Expr { .. } => parts.push(other),
                        }
                    }
                }
                _ => break,
            }
        }
        let span = self.since(start);
        if !any_f {
            let s = match parts.pop() {
                Some(FPart::Lit(s)) => s,
                _ => String::new(),
            };
            return Ok(mk(ExprKind::Const(Lit::Str(s)), span));
        }
        Ok(mk(ExprKind::FString(parts), span))
    }
}

fn push_lit(parts: &mut Vec<FPart>, s: &str) {
    if let Some(FPart::Lit(last)) = parts.last_mut() {
        last.push_str(s);
    } else {
        parts.push(FPart::Lit(s.to_owned()));
    }
}

fn decode(s: &str, raw: bool) -> String {
    if raw || !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The parts of an f-string's text: literals and `{expr!c:spec}` fields, each expression
/// parsed by this parser from its own tokens.
fn fstring_parts(text: &str, line: u32, col: u32, raw: bool, depth: u32) -> Result<Vec<FPart>, PyError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let bad = |msg: &str, at: usize| PyError::at("SyntaxError", &format!("f-string: {msg}"), line, col + at as u32 + 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '{' && chars.get(i + 1) == Some(&'{') {
            lit.push('{');
            i += 2;
            continue;
        }
        if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                lit.push('}');
                i += 2;
                continue;
            }
            return Err(bad("single '}' is not allowed", i));
        }
        if c != '{' {
            lit.push(c);
            i += 1;
            continue;
        }
        if !lit.is_empty() {
            parts.push(FPart::Lit(decode(&std::mem::take(&mut lit), raw)));
        }
        // Find the expression's end: `!`, `:` or `}` at bracket depth 0, outside strings.
        let start = i + 1;
        let mut j = start;
        let mut nest = 0i32;
        let mut quote: Option<char> = None;
        while j < chars.len() {
            let ch = chars[j];
            if let Some(q) = quote {
                if ch == q {
                    quote = None;
                }
            } else if ch == '\'' || ch == '"' {
                quote = Some(ch);
            } else if "([{".contains(ch) {
                nest += 1;
            } else if ")]}".contains(ch) {
                if nest == 0 {
                    break;
                }
                nest -= 1;
            } else if nest == 0 && (ch == ':' || (ch == '!' && chars.get(j + 1) != Some(&'='))) {
                break;
            }
            j += 1;
        }
        let mut expr_text: String = chars[start..j].iter().collect();
        let mut debug = None;
        let trimmed = expr_text.trim_end();
        if trimmed.ends_with('=')
            && !trimmed.ends_with("==")
            && !trimmed.ends_with("!=")
            && !trimmed.ends_with("<=")
            && !trimmed.ends_with(">=")
        {
            debug = Some(expr_text.clone());
            expr_text = trimmed[..trimmed.len() - 1].to_owned();
        }
        if expr_text.trim().is_empty() {
            return Err(bad("empty expression not allowed", i));
        }
        let mut conv = None;
        if chars.get(j) == Some(&'!') {
            conv = chars.get(j + 1).copied();
            if !matches!(conv, Some('r' | 's' | 'a')) {
                return Err(bad("invalid conversion character: expected 's', 'r', or 'a'", j));
            }
            j += 2;
        }
        let mut spec = Vec::new();
        if chars.get(j) == Some(&':') {
            let s0 = j + 1;
            let mut k = s0;
            let mut nest = 0;
            while k < chars.len() {
                match chars[k] {
                    '{' => nest += 1,
                    '}' if nest == 0 => break,
                    '}' => nest -= 1,
                    _ => {}
                }
                k += 1;
            }
            let spec_text: String = chars[s0..k].iter().collect();
            spec = fstring_parts(&spec_text, line, col + s0 as u32, raw, depth + 1)?;
            j = k;
        }
        if chars.get(j) != Some(&'}') {
            return Err(bad("expecting '}'", j));
        }
        let toks = tokenize(&format!("({expr_text})")).map_err(|e| PyError { line, ..e })?;
        let mut sub = Parser { toks, pos: 0, depth: depth + 1, chain: 0 };
        let mut value = sub.expr_list().map_err(|e| PyError { line, col: col + start as u32 + 1, ..e })?;
        shift(&mut value, line, col + start as u32);
        if debug.is_some() && conv.is_none() && spec.is_empty() {
            conv = Some('r');
        }
        parts.push(FPart::Expr { value: Box::new(value), conv, spec, debug });
        i = j + 1;
    }
    if !lit.is_empty() {
        parts.push(FPart::Lit(decode(&lit, raw)));
    }
    Ok(parts)
}

/// Moves an f-string field's spans (parsed from `(text)` on line 1) to where the text is.
fn shift(e: &mut Expr, line: u32, col: u32) {
    fn fix(s: &mut Span, line: u32, col: u32) {
        if s.line == 1 {
            s.col = (s.col + col).saturating_sub(1);
        }
        if s.end_line == 1 {
            s.end_col = (s.end_col + col).saturating_sub(1);
        }
        s.line += line - 1;
        s.end_line += line - 1;
    }
    fix(&mut e.span, line, col);
    match &mut e.kind {
        ExprKind::Bin(a, _, b) | ExprKind::Subscript(a, b) => {
            shift(a, line, col);
            shift(b, line, col);
        }
        ExprKind::Call(f, args, kw) => {
            shift(f, line, col);
            for a in args {
                shift(a, line, col);
            }
            for (_, a) in kw {
                shift(a, line, col);
            }
        }
        ExprKind::Attr(a, _) | ExprKind::Unary(_, a) | ExprKind::Starred(a) => shift(a, line, col),
        _ => {}
    }
}

fn check_target(e: Expr) -> Result<Expr, PyError> {
    match &e.kind {
        ExprKind::Name(_) | ExprKind::Attr(..) | ExprKind::Subscript(..) => Ok(e),
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            for it in items {
                check_target(it.clone())?;
            }
            if items.iter().filter(|i| matches!(i.kind, ExprKind::Starred(_))).count() > 1 {
                return Err(PyError::at(
                    "SyntaxError",
                    "multiple starred expressions in assignment",
                    e.span.line,
                    e.span.col + 1,
                ));
            }
            Ok(e)
        }
        ExprKind::Starred(inner) => {
            check_target((**inner).clone())?;
            Ok(e)
        }
        ExprKind::Call(..) => Err(PyError::at(
            "SyntaxError",
            "cannot assign to function call here. Maybe you meant '==' instead of '='?",
            e.span.line,
            e.span.col + 1,
        )),
        ExprKind::Const(_) => Err(PyError::at(
            "SyntaxError",
            "cannot assign to literal here. Maybe you meant '==' instead of '='?",
            e.span.line,
            e.span.col + 1,
        )),
        _ => Err(PyError::at("SyntaxError", "cannot assign to expression", e.span.line, e.span.col + 1)),
    }
}
