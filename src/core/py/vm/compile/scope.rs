//! Which names of a code object are fast locals, cells, free variables or globals
//! (CPython's symtable, cut down): a pass over a body before it is compiled.

use super::super::ast::{Comprehension, Expr, ExprKind, FPart, FuncDef, Params, Stmt, StmtKind};
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Fast(u32),
    Deref(u32),
    Global,
    /// A class body's namespace (falling back to globals and builtins on load).
    Name,
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub is_module: bool,
    pub is_class: bool,
    pub varnames: Vec<String>,
    pub cellvars: Vec<String>,
    pub freevars: Vec<String>,
    pub globals: HashSet<String>,
    /// Names assigned in a class body.
    pub assigned: HashSet<String>,
    /// A function whose body yields.
    pub is_generator: bool,
}

#[derive(Default)]
struct Info {
    assigned: Vec<String>,
    used: HashSet<String>,
    globals: HashSet<String>,
    nonlocals: HashSet<String>,
    child_needs: HashSet<String>,
    yields: bool,
}

impl Info {
    fn assign(&mut self, n: &str) {
        if !self.assigned.iter().any(|a| a == n) {
            self.assigned.push(n.to_owned());
        }
    }

    fn target(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Name(n) => self.assign(n),
            ExprKind::Tuple(items) | ExprKind::List(items) => items.iter().for_each(|i| self.target(i)),
            ExprKind::Starred(inner) => self.target(inner),
            _ => self.expr(e),
        }
    }

    fn stmts(&mut self, body: &[Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Assign(targets, v) => {
                targets.iter().for_each(|t| self.target(t));
                self.expr(v);
            }
            StmtKind::AugAssign(t, _, v) => {
                if let ExprKind::Name(n) = &t.kind {
                    self.used.insert(n.clone());
                }
                self.target(t);
                self.expr(v);
            }
            StmtKind::AnnAssign(t, v) => {
                self.target(t);
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            StmtKind::If(t, a, b) | StmtKind::While(t, a, b) => {
                self.expr(t);
                self.stmts(a);
                self.stmts(b);
            }
            StmtKind::For(t, it, a, b) => {
                self.target(t);
                self.expr(it);
                self.stmts(a);
                self.stmts(b);
            }
            StmtKind::Break | StmtKind::Continue | StmtKind::Pass => {}
            StmtKind::Return(v) => {
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            StmtKind::Def(def) => {
                self.assign(&def.name);
                def.decorators.iter().for_each(|d| self.expr(d));
                self.function_child(def);
            }
            StmtKind::Class { name, bases, body, decorators } => {
                self.assign(name);
                bases.iter().for_each(|b| self.expr(b));
                decorators.iter().for_each(|d| self.expr(d));
                let mut c = Info::default();
                c.stmts(body);
                let assigned: HashSet<&String> = c.assigned.iter().collect();
                for n in c.used.iter().filter(|n| !assigned.contains(n) && !c.globals.contains(*n)) {
                    self.child_needs.insert(n.clone());
                }
                self.child_needs.extend(c.child_needs.into_iter().filter(|n| !c.globals.contains(n)));
                self.child_needs.extend(c.nonlocals);
            }
            StmtKind::Try { body, handlers, orelse, finalbody } => {
                self.stmts(body);
                for h in handlers {
                    if let Some(k) = &h.kind {
                        self.expr(k);
                    }
                    if let Some(n) = &h.name {
                        self.assign(n);
                    }
                    self.stmts(&h.body);
                }
                self.stmts(orelse);
                self.stmts(finalbody);
            }
            StmtKind::Raise(a, b) => {
                for e in [a, b].into_iter().flatten() {
                    self.expr(e);
                }
            }
            StmtKind::Global(names) => self.globals.extend(names.iter().cloned()),
            StmtKind::Nonlocal(names) => self.nonlocals.extend(names.iter().cloned()),
            StmtKind::Import(names) => {
                for (dotted, alias) in names {
                    let bound = alias.clone().unwrap_or_else(|| dotted.split('.').next().unwrap_or("").to_owned());
                    self.assign(&bound);
                }
            }
            StmtKind::ImportFrom(_, names) => {
                for (n, alias) in names {
                    self.assign(alias.as_ref().unwrap_or(n));
                }
            }
            StmtKind::With(items, body) => {
                for (e, t) in items {
                    self.expr(e);
                    if let Some(t) = t {
                        self.target(t);
                    }
                }
                self.stmts(body);
            }
            StmtKind::Assert(t, m) => {
                self.expr(t);
                if let Some(m) = m {
                    self.expr(m);
                }
            }
            StmtKind::Del(targets) => targets.iter().for_each(|t| self.target(t)),
        }
    }

    fn function_child(&mut self, def: &FuncDef) {
        for (_, d) in def.params.args.iter().chain(&def.params.kwonly) {
            if let Some(d) = d {
                self.expr(d);
            }
        }
        let c = analyze_function(&def.params, &def.body);
        self.child_needs.extend(needs(&c, &params_of(&def.params)));
    }

    fn comprehension(&mut self, elt: &Expr, value: Option<&Expr>, gens: &[Comprehension]) {
        // The first iterable is evaluated outside.
        self.expr(&gens[0].iter);
        let c = analyze_comprehension(elt, value, gens);
        self.child_needs.extend(needs(&c, &[]));
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Const(_) => {}
            ExprKind::Name(n) => {
                self.used.insert(n.clone());
            }
            ExprKind::List(v) | ExprKind::Tuple(v) | ExprKind::Set(v) | ExprKind::BoolOp(_, v) => {
                v.iter().for_each(|x| self.expr(x));
            }
            ExprKind::Dict(pairs) => {
                for (k, v) in pairs {
                    if let Some(k) = k {
                        self.expr(k);
                    }
                    self.expr(v);
                }
            }
            ExprKind::Starred(a) | ExprKind::Attr(a, _) | ExprKind::Unary(_, a) => self.expr(a),
            ExprKind::Subscript(a, b) | ExprKind::Bin(a, _, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Slice(a, b, c) => {
                for x in [a, b, c].into_iter().flatten() {
                    self.expr(x);
                }
            }
            ExprKind::Call(f, args, kw) => {
                self.expr(f);
                args.iter().for_each(|x| self.expr(x));
                kw.iter().for_each(|(_, x)| self.expr(x));
                if matches!(&f.kind, ExprKind::Name(n) if n == "super") && args.is_empty() {
                    // Zero-argument super() reads the method's first argument.
                    self.used.insert("__class__".into());
                }
            }
            ExprKind::Compare(a, rest) => {
                self.expr(a);
                rest.iter().for_each(|(_, x)| self.expr(x));
            }
            ExprKind::IfExp(a, b, c) => {
                self.expr(a);
                self.expr(b);
                self.expr(c);
            }
            ExprKind::Lambda(def) => self.function_child(def),
            ExprKind::Comp(_, elt, value, gens) => self.comprehension(elt, value.as_deref(), gens),
            ExprKind::FString(parts) => self.fparts(parts),
            ExprKind::Yield(v) => {
                self.yields = true;
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            ExprKind::YieldFrom(v) => {
                self.yields = true;
                self.expr(v);
            }
        }
    }

    fn fparts(&mut self, parts: &[FPart]) {
        for p in parts {
            if let FPart::Expr { value, spec, .. } = p {
                self.expr(value);
                self.fparts(spec);
            }
        }
    }
}

fn params_of(p: &Params) -> Vec<String> {
    let mut out: Vec<String> = p.args.iter().map(|(n, _)| n.clone()).collect();
    out.extend(p.kwonly.iter().map(|(n, _)| n.clone()));
    out.extend(p.vararg.iter().cloned());
    out.extend(p.kwarg.iter().cloned());
    out
}

fn analyze_function(params: &Params, body: &[Stmt]) -> Info {
    let mut info = Info::default();
    for p in params_of(params) {
        info.assign(&p);
    }
    info.stmts(body);
    info
}

fn analyze_comprehension(elt: &Expr, value: Option<&Expr>, gens: &[Comprehension]) -> Info {
    let mut info = Info::default();
    info.assign(".0");
    for (i, g) in gens.iter().enumerate() {
        info.target(&g.target);
        if i > 0 {
            info.expr(&g.iter);
        }
        g.ifs.iter().for_each(|x| info.expr(x));
    }
    info.expr(elt);
    if let Some(v) = value {
        info.expr(v);
    }
    info
}

/// What a function-like scope needs from the scopes around it.
fn needs(c: &Info, params: &[String]) -> HashSet<String> {
    let locals: HashSet<&String> =
        c.assigned.iter().chain(params).filter(|n| !c.globals.contains(*n) && !c.nonlocals.contains(*n)).collect();
    c.used
        .iter()
        .chain(&c.child_needs)
        .chain(&c.nonlocals)
        .filter(|n| !locals.contains(n) && !c.globals.contains(*n))
        .cloned()
        .collect()
}

impl Scope {
    pub fn module() -> Scope {
        Scope { is_module: true, ..Scope::default() }
    }

    fn provides(&self, name: &str) -> bool {
        if self.is_module {
            return false;
        }
        if self.is_class {
            return self.freevars.iter().any(|n| n == name);
        }
        self.varnames.iter().any(|n| n == name) || self.freevars.iter().any(|n| n == name)
    }

    fn build(info: &Info, params: &[String], enclosing: &[&Scope]) -> Result<Scope, String> {
        let mut s = Scope::default();
        s.globals.clone_from(&info.globals);
        for p in params {
            s.varnames.push(p.clone());
        }
        for n in &info.assigned {
            if !info.globals.contains(n) && !info.nonlocals.contains(n) && !s.varnames.contains(n) {
                s.varnames.push(n.clone());
            }
        }
        for n in &s.varnames {
            if info.child_needs.contains(n) {
                s.cellvars.push(n.clone());
            }
        }
        let mut wanted: Vec<&String> = info.used.iter().chain(&info.child_needs).chain(&info.nonlocals).collect();
        wanted.sort();
        wanted.dedup();
        for n in wanted {
            if s.varnames.contains(n) || info.globals.contains(n) {
                continue;
            }
            if enclosing.iter().rev().any(|e| e.provides(n)) {
                s.freevars.push(n.clone());
            } else if info.nonlocals.contains(n) {
                return Err(format!("no binding for nonlocal '{n}' found"));
            }
        }
        Ok(s)
    }

    /// The scope of a function with these parameters and body inside `enclosing`.
    ///
    /// # Errors
    /// A `nonlocal` with no binding around it.
    pub fn function(params: &Params, body: &[Stmt], enclosing: &[&Scope]) -> Result<Scope, String> {
        let info = analyze_function(params, body);
        let mut s = Scope::build(&info, &params_of(params), enclosing)?;
        s.is_generator = info.yields;
        Ok(s)
    }

    /// # Errors
    /// As `function`.
    pub fn comprehension(
        elt: &Expr,
        value: Option<&Expr>,
        gens: &[Comprehension],
        enclosing: &[&Scope],
    ) -> Result<Scope, String> {
        let info = analyze_comprehension(elt, value, gens);
        Scope::build(&info, &[".0".to_owned()], enclosing)
    }

    /// # Errors
    /// As `function`.
    pub fn class(body: &[Stmt], enclosing: &[&Scope]) -> Result<Scope, String> {
        let mut info = Info::default();
        info.stmts(body);
        let mut s = Scope { is_class: true, ..Scope::default() };
        s.globals.clone_from(&info.globals);
        s.assigned = info.assigned.iter().cloned().collect();
        let mut wanted: Vec<&String> = info.used.iter().chain(&info.child_needs).collect();
        wanted.sort();
        wanted.dedup();
        for n in wanted {
            if info.globals.contains(n) || (s.assigned.contains(n) && !info.child_needs.contains(n)) {
                continue;
            }
            if enclosing.iter().rev().any(|e| e.provides(n)) {
                s.freevars.push(n.clone());
            }
        }
        Ok(s)
    }

    pub fn resolve(&self, name: &str) -> NameKind {
        if self.is_module || self.globals.contains(name) {
            return NameKind::Global;
        }
        if self.is_class {
            if !self.assigned.contains(name) {
                if let Some(i) = self.deref_index(name) {
                    return NameKind::Deref(i);
                }
            }
            return NameKind::Name;
        }
        if let Some(i) = self.deref_index(name) {
            return NameKind::Deref(i);
        }
        if let Some(i) = self.varnames.iter().position(|n| n == name) {
            return NameKind::Fast(i as u32);
        }
        NameKind::Global
    }

    pub fn deref_index(&self, name: &str) -> Option<u32> {
        self.cellvars.iter().chain(&self.freevars).position(|n| n == name).map(|i| i as u32)
    }
}
