//! Statements.

use super::scope::{NameKind, Scope};
use super::{err, Compiler, FBlock};
use crate::core::py::vm::ast::{Expr, ExprKind, Handler, Span, Stmt, StmtKind};
use crate::core::py::vm::heap::Value;
use crate::core::py::vm::instr::Instr;
use crate::core::py::PyError;

impl Compiler<'_> {
    pub(super) fn stmts(&mut self, body: &[Stmt]) -> Result<(), PyError> {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn stmt(&mut self, s: &Stmt) -> Result<(), PyError> {
        self.set_loc(s.span);
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr(e)?;
                self.emit(Instr::PopTop);
            }
            StmtKind::Assign(targets, value) => {
                self.expr(value)?;
                for (i, t) in targets.iter().enumerate() {
                    if i + 1 < targets.len() {
                        self.emit(Instr::DupTop);
                    }
                    self.store(t)?;
                }
            }
            StmtKind::AnnAssign(t, value) => {
                if let Some(v) = value {
                    self.expr(v)?;
                    self.store(t)?;
                }
            }
            StmtKind::AugAssign(t, op, value) => self.aug_assign(t, *op, value, s.span)?,
            StmtKind::If(test, body, orelse) => {
                self.expr(test)?;
                let to_else = self.emit(Instr::PopJumpIfFalse(0));
                self.stmts(body)?;
                if orelse.is_empty() {
                    let end = self.here();
                    self.patch(to_else, end);
                } else {
                    let to_end = self.emit(Instr::JumpForward(0));
                    let e = self.here();
                    self.patch(to_else, e);
                    self.stmts(orelse)?;
                    let end = self.here();
                    self.patch(to_end, end);
                }
            }
            StmtKind::While(test, body, orelse) => {
                let top = self.here();
                self.set_loc(test.span);
                self.expr(test)?;
                let exit = self.emit(Instr::PopJumpIfFalse(0));
                self.unit().fblocks.push(FBlock::Loop { is_for: false, continue_at: top, breaks: Vec::new() });
                self.stmts(body)?;
                self.set_loc(s.span);
                self.emit(Instr::JumpBackward(top as u32));
                let Some(FBlock::Loop { breaks, .. }) = self.unit().fblocks.pop() else { unreachable!() };
                let e = self.here();
                self.patch(exit, e);
                self.stmts(orelse)?;
                let end = self.here();
                for b in breaks {
                    self.patch(b, end);
                }
            }
            StmtKind::For(target, iter, body, orelse) => {
                self.expr(iter)?;
                self.set_loc(s.span);
                self.emit(Instr::GetIter);
                let top = self.here();
                let exit = self.emit(Instr::ForIter(0));
                self.store(target)?;
                self.unit().fblocks.push(FBlock::Loop { is_for: true, continue_at: top, breaks: Vec::new() });
                self.stmts(body)?;
                self.set_loc(s.span);
                self.emit(Instr::JumpBackward(top as u32));
                let Some(FBlock::Loop { breaks, .. }) = self.unit().fblocks.pop() else { unreachable!() };
                let e = self.here();
                self.patch(exit, e);
                self.stmts(orelse)?;
                let end = self.here();
                for b in breaks {
                    self.patch(b, end);
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                let is_break = matches!(s.kind, StmtKind::Break);
                let Some(depth) = self.unit().fblocks.iter().rposition(|f| matches!(f, FBlock::Loop { .. })) else {
                    let what = if is_break { "'break' outside loop" } else { "'continue' not properly in loop" };
                    return Err(err(what, s.span));
                };
                self.unwind(depth + 1, false)?;
                let FBlock::Loop { is_for, continue_at, .. } = self.unit().fblocks[depth].clone() else {
                    unreachable!()
                };
                if is_break {
                    if is_for {
                        self.emit(Instr::PopIter);
                    }
                    let j = self.emit(Instr::JumpForward(0));
                    if let FBlock::Loop { breaks, .. } = &mut self.unit().fblocks[depth] {
                        breaks.push(j);
                    }
                } else {
                    self.emit(Instr::JumpBackward(continue_at as u32));
                }
            }
            StmtKind::Pass => {}
            StmtKind::Return(value) => {
                let u = self.units.last().expect("unit");
                if u.scope.is_module || u.scope.is_class {
                    return Err(err("'return' outside function", s.span));
                }
                match value {
                    Some(v) => self.expr(v)?,
                    None => self.load_const(Value::None),
                }
                self.unwind(0, true)?;
                self.set_loc(s.span);
                self.emit(Instr::ReturnValue);
            }
            StmtKind::Def(def) => {
                for d in &def.decorators {
                    self.expr(d)?;
                    self.emit(Instr::PushNull);
                }
                let scope = {
                    let enclosing: Vec<&Scope> = self.units.iter().map(|u| &u.scope).collect();
                    Scope::function(&def.params, &def.body, &enclosing).map_err(|m| err(&m, s.span))?
                };
                self.function(def, scope)?;
                self.set_loc(s.span);
                for _ in &def.decorators {
                    self.emit(Instr::Call(1));
                }
                self.store_name(&def.name);
            }
            StmtKind::Class { name, bases, body, decorators } => {
                for d in decorators {
                    self.expr(d)?;
                    self.emit(Instr::PushNull);
                }
                let scope = {
                    let enclosing: Vec<&Scope> = self.units.iter().map(|u| &u.scope).collect();
                    Scope::class(body, &enclosing).map_err(|m| err(&m, s.span))?
                };
                let qualname = self.qualname(name);
                self.push_unit(name, &qualname, scope, s.span.line);
                self.unit().code.is_class_body = true;
                self.set_loc(s.span);
                let module_name = self.name_index("__name__");
                let slot = self.globals.slot("__name__");
                self.emit(Instr::LoadGlobal(slot));
                let _ = module_name;
                self.store_name("__module__");
                let q = self.str_const(&qualname);
                self.emit(Instr::LoadConst(q));
                self.store_name("__qualname__");
                self.stmts(body)?;
                self.emit(Instr::LoadLocals);
                self.emit(Instr::ReturnValue);
                let code = self.pop_unit();
                self.set_loc(s.span);
                self.make_function(code, 0);
                let n = self.str_const(name);
                self.emit(Instr::LoadConst(n));
                for b in bases {
                    self.expr(b)?;
                }
                self.set_loc(s.span);
                self.emit(Instr::BuildTuple(bases.len() as u32));
                self.emit(Instr::BuildClass);
                for _ in decorators {
                    self.emit(Instr::Call(1));
                }
                self.store_name(name);
            }
            StmtKind::Try { body, handlers, orelse, finalbody } => {
                self.try_stmt(body, handlers, orelse, finalbody, s.span)?;
            }
            StmtKind::Raise(exc, cause) => {
                let mut n = 0;
                if let Some(e) = exc {
                    self.expr(e)?;
                    n = 1;
                    if let Some(c) = cause {
                        self.expr(c)?;
                        n = 2;
                    }
                }
                self.set_loc(s.span);
                self.emit(Instr::RaiseVarargs(n));
            }
            StmtKind::Global(names) | StmtKind::Nonlocal(names) => {
                let _ = names;
            }
            StmtKind::Import(names) => {
                for (dotted, alias) in names {
                    let i = self.str_const(dotted);
                    self.emit(Instr::ImportName(i));
                    match alias {
                        // `ImportName` pushes the module the whole dotted name names.
                        Some(a) => self.store_name(a),
                        None => {
                            if dotted.contains('.') {
                                // `import a.b` binds `a`.
                                self.emit(Instr::PopTop);
                                let top = dotted.split('.').next().unwrap_or("");
                                let i = self.str_const(top);
                                self.emit(Instr::ImportName(i));
                                self.store_name(top);
                            } else {
                                self.store_name(dotted);
                            }
                        }
                    }
                }
            }
            // A compiler directive, checked by the parser (`future_check`).
            StmtKind::ImportFrom(module, _) if module == "__future__" && self.unit().scope.is_module => {}
            StmtKind::ImportFrom(module, names) => {
                let i = self.str_const(module);
                self.emit(Instr::ImportName(i));
                for (n, alias) in names {
                    let ni = self.name_index(n);
                    self.emit(Instr::ImportFrom(ni));
                    self.store_name(alias.as_ref().unwrap_or(n));
                }
                self.emit(Instr::PopTop);
            }
            StmtKind::With(items, body) => self.with_stmt(items, body, s.span)?,
            StmtKind::Assert(test, msg) => {
                self.expr(test)?;
                let ok = self.emit(Instr::PopJumpIfTrue(0));
                self.set_loc(s.span);
                self.emit(Instr::LoadAssertionError);
                if let Some(m) = msg {
                    self.emit(Instr::PushNull);
                    self.expr(m)?;
                    self.set_loc(s.span);
                    self.emit(Instr::Call(1));
                }
                self.emit(Instr::RaiseVarargs(1));
                let end = self.here();
                self.patch(ok, end);
            }
            StmtKind::Del(targets) => {
                for t in targets {
                    self.delete(t)?;
                }
            }
        }
        Ok(())
    }

    fn aug_assign(
        &mut self,
        t: &Expr,
        op: crate::core::py::vm::ast::BinOp,
        value: &Expr,
        span: Span,
    ) -> Result<(), PyError> {
        // CPython's traceback finds `~^~` anchors in expressions only, not in an `x += y`.
        let anchor = None;
        match &t.kind {
            ExprKind::Name(n) => {
                self.load_name(n);
                self.expr(value)?;
                self.set_loc(span);
                self.loc.anchor = anchor;
                self.emit(Instr::InplaceOp(op));
                self.store_name(n);
            }
            ExprKind::Attr(obj, name) => {
                self.expr(obj)?;
                self.emit(Instr::DupTop);
                let n = self.name_index(name);
                self.set_loc(t.span);
                self.emit(Instr::LoadAttr(n));
                self.expr(value)?;
                self.set_loc(span);
                self.loc.anchor = anchor;
                self.emit(Instr::InplaceOp(op));
                self.emit(Instr::RotTwo);
                self.emit(Instr::StoreAttr(n));
            }
            ExprKind::Subscript(obj, idx) => {
                self.expr(obj)?;
                self.expr(idx)?;
                self.emit(Instr::DupTopTwo);
                self.set_loc(t.span);
                self.emit(Instr::BinarySubscr);
                self.expr(value)?;
                self.set_loc(span);
                self.loc.anchor = anchor;
                self.emit(Instr::InplaceOp(op));
                self.emit(Instr::RotThree);
                self.emit(Instr::StoreSubscr);
            }
            _ => return Err(err("illegal expression for augmented assignment", t.span)),
        }
        Ok(())
    }

    /// Emits what `break`, `continue` or `return` must undo for the fblocks above `keep`
    /// (with `preserve`, a return value stays on top of the stack through it).
    fn unwind(&mut self, keep: usize, preserve: bool) -> Result<(), PyError> {
        let mut i = self.unit().fblocks.len();
        while i > keep {
            i -= 1;
            let fb = self.unit().fblocks[i].clone();
            match fb {
                FBlock::Loop { is_for, .. } => {
                    if is_for && preserve {
                        self.emit(Instr::RotTwo);
                        self.emit(Instr::PopIter);
                    } else if is_for {
                        // A break pops the iterator itself; a return/outer unwind needs it gone.
                        if keep <= i {
                            self.emit(Instr::PopIter);
                        }
                    }
                }
                FBlock::TryExcept => {
                    self.emit(Instr::PopBlock);
                }
                FBlock::Finally(body) => {
                    self.emit(Instr::PopBlock);
                    // The finally body is compiled without its own block above it.
                    let saved: Vec<FBlock> = self.unit().fblocks.drain(i..).collect();
                    self.stmts(&body)?;
                    self.unit().fblocks.extend(saved);
                }
                FBlock::FinallyHandler => {
                    if preserve {
                        self.emit(Instr::RotTwo);
                    }
                    self.emit(Instr::PopTop);
                    if preserve {
                        self.emit(Instr::RotTwo);
                    }
                    self.emit(Instr::PopExcept);
                }
                FBlock::Handler(name) => {
                    if preserve {
                        self.emit(Instr::RotTwo);
                    }
                    self.emit(Instr::PopExcept);
                    if let Some(n) = name {
                        self.load_const(Value::None);
                        self.store_name(&n);
                        self.delete_name(&n);
                    }
                }
                FBlock::With => {
                    self.emit(Instr::PopBlock);
                    if preserve {
                        self.emit(Instr::RotTwo);
                    }
                    self.exit_none_call();
                }
            }
        }
        Ok(())
    }

    /// `[exit]` → `[]`, calling `exit(None, None, None)`.
    fn exit_none_call(&mut self) {
        self.emit(Instr::PushNull);
        for _ in 0..3 {
            self.load_const(Value::None);
        }
        self.emit(Instr::Call(3));
        self.emit(Instr::PopTop);
    }

    fn try_stmt(
        &mut self,
        body: &[Stmt],
        handlers: &[Handler],
        orelse: &[Stmt],
        finalbody: &[Stmt],
        span: Span,
    ) -> Result<(), PyError> {
        let has_finally = !finalbody.is_empty();
        let setup_f = if has_finally {
            let at = self.emit(Instr::SetupFinally(0));
            self.unit().fblocks.push(FBlock::Finally(finalbody.to_vec()));
            Some(at)
        } else {
            None
        };
        if handlers.is_empty() {
            self.stmts(body)?;
        } else {
            let setup_h = self.emit(Instr::SetupFinally(0));
            self.unit().fblocks.push(FBlock::TryExcept);
            self.stmts(body)?;
            self.unit().fblocks.pop();
            self.set_loc(span);
            self.emit(Instr::PopBlock);
            self.stmts(orelse)?;
            let mut to_end = vec![self.emit(Instr::JumpForward(0))];
            let h = self.here();
            self.patch(setup_h, h);
            self.set_loc(span);
            self.emit(Instr::PushExcInfo);
            for handler in handlers {
                self.set_loc(handler.span);
                let next = if let Some(kind) = &handler.kind {
                    // CHECK_EXC_MATCH pops the class only: the exception stays for the next.
                    self.expr(kind)?;
                    self.set_loc(handler.span);
                    self.emit(Instr::CheckExcMatch);
                    Some(self.emit(Instr::PopJumpIfFalse(0)))
                } else {
                    None
                };
                // The exception leaves the stack (the previous one stays under it), as in
                // CPython: while the body runs, only the name and the handled state hold it.
                match &handler.name {
                    Some(n) => self.store_name(n),
                    None => {
                        self.emit(Instr::PopTop);
                    }
                }
                self.unit().fblocks.push(FBlock::Handler(handler.name.clone()));
                self.stmts(&handler.body)?;
                self.unit().fblocks.pop();
                self.set_loc(handler.span);
                self.emit(Instr::PopExcept);
                if let Some(n) = &handler.name {
                    self.load_const(Value::None);
                    self.store_name(n);
                    self.delete_name(n);
                }
                to_end.push(self.emit(Instr::JumpForward(0)));
                if let Some(next) = next {
                    let here = self.here();
                    self.patch(next, here);
                }
            }
            self.emit(Instr::Reraise);
            let end = self.here();
            for j in to_end {
                self.patch(j, end);
            }
        }
        if let Some(setup_f) = setup_f {
            self.unit().fblocks.pop();
            self.emit(Instr::PopBlock);
            self.stmts(finalbody)?;
            let to_end = self.emit(Instr::JumpForward(0));
            let f = self.here();
            self.patch(setup_f, f);
            self.set_loc(span);
            self.emit(Instr::PushExcInfo);
            self.unit().fblocks.push(FBlock::FinallyHandler);
            self.stmts(finalbody)?;
            self.unit().fblocks.pop();
            self.emit(Instr::Reraise);
            let end = self.here();
            self.patch(to_end, end);
        }
        Ok(())
    }

    fn with_stmt(&mut self, items: &[(Expr, Option<Expr>)], body: &[Stmt], span: Span) -> Result<(), PyError> {
        let Some(((mgr, target), rest)) = items.split_first() else { return self.stmts(body) };
        self.expr(mgr)?;
        self.set_loc(span);
        self.emit(Instr::BeforeWith);
        match target {
            Some(t) => self.store(t)?,
            None => {
                self.emit(Instr::PopTop);
            }
        }
        let setup = self.emit(Instr::SetupFinally(0));
        self.unit().fblocks.push(FBlock::With);
        if rest.is_empty() {
            self.stmts(body)?;
        } else {
            self.with_stmt(rest, body, span)?;
        }
        self.unit().fblocks.pop();
        self.set_loc(span);
        self.emit(Instr::PopBlock);
        self.exit_none_call();
        let to_end = self.emit(Instr::JumpForward(0));
        let h = self.here();
        self.patch(setup, h);
        // [exit, exc] -> [exit, previous exc, exc]
        self.emit(Instr::PushExcInfo);
        self.emit(Instr::WithExceptStart);
        self.emit(Instr::Call(3));
        let suppress = self.emit(Instr::PopJumpIfTrue(0));
        self.emit(Instr::Reraise);
        let s = self.here();
        self.patch(suppress, s);
        self.emit(Instr::PopTop);
        self.emit(Instr::PopExcept);
        self.emit(Instr::PopTop);
        let end = self.here();
        self.patch(to_end, end);
        Ok(())
    }

    pub(super) fn store(&mut self, t: &Expr) -> Result<(), PyError> {
        match &t.kind {
            ExprKind::Name(n) => self.store_name(n),
            ExprKind::Attr(obj, name) => {
                self.expr(obj)?;
                let n = self.name_index(name);
                self.set_loc(t.span);
                self.emit(Instr::StoreAttr(n));
            }
            ExprKind::Subscript(obj, idx) => {
                self.expr(obj)?;
                self.expr(idx)?;
                self.set_loc(t.span);
                self.emit(Instr::StoreSubscr);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                self.set_loc(t.span);
                match items.iter().position(|i| matches!(i.kind, ExprKind::Starred(_))) {
                    Some(star) => {
                        self.emit(Instr::UnpackEx(star as u16, (items.len() - star - 1) as u16));
                    }
                    None => {
                        self.emit(Instr::UnpackSequence(items.len() as u32));
                    }
                }
                for it in items {
                    match &it.kind {
                        ExprKind::Starred(inner) => self.store(inner)?,
                        _ => self.store(it)?,
                    }
                }
            }
            ExprKind::Starred(inner) => self.store(inner)?,
            _ => return Err(err("cannot assign to expression", t.span)),
        }
        Ok(())
    }

    fn delete(&mut self, t: &Expr) -> Result<(), PyError> {
        self.set_loc(t.span);
        match &t.kind {
            ExprKind::Name(n) => self.delete_name(n),
            ExprKind::Attr(obj, name) => {
                self.expr(obj)?;
                let n = self.name_index(name);
                self.set_loc(t.span);
                self.emit(Instr::DeleteAttr(n));
            }
            ExprKind::Subscript(obj, idx) => {
                self.expr(obj)?;
                self.expr(idx)?;
                self.set_loc(t.span);
                self.emit(Instr::DeleteSubscr);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for i in items {
                    self.delete(i)?;
                }
            }
            _ => return Err(err("cannot delete expression", t.span)),
        }
        Ok(())
    }

    pub(super) fn load_name(&mut self, n: &str) {
        let kind = self.unit().scope.resolve(n);
        match kind {
            NameKind::Fast(i) => self.emit(Instr::LoadFast(i)),
            NameKind::Deref(i) => self.emit(Instr::LoadDeref(i)),
            NameKind::Global => {
                let slot = self.globals.slot(n);
                self.emit(Instr::LoadGlobal(slot))
            }
            NameKind::Name => {
                let i = self.name_index(n);
                self.emit(Instr::LoadName(i))
            }
        };
    }

    pub(super) fn store_name(&mut self, n: &str) {
        let kind = self.unit().scope.resolve(n);
        match kind {
            NameKind::Fast(i) => self.emit(Instr::StoreFast(i)),
            NameKind::Deref(i) => self.emit(Instr::StoreDeref(i)),
            NameKind::Global => {
                let slot = self.globals.slot(n);
                self.emit(Instr::StoreGlobal(slot))
            }
            NameKind::Name => {
                let i = self.name_index(n);
                self.emit(Instr::StoreName(i))
            }
        };
    }

    fn delete_name(&mut self, n: &str) {
        let kind = self.unit().scope.resolve(n);
        match kind {
            NameKind::Fast(i) => self.emit(Instr::DeleteFast(i)),
            NameKind::Deref(i) => {
                self.emit(Instr::PushNull);
                self.emit(Instr::StoreDeref(i))
            }
            NameKind::Global => {
                let slot = self.globals.slot(n);
                self.emit(Instr::DeleteGlobal(slot))
            }
            NameKind::Name => {
                let i = self.name_index(n);
                self.emit(Instr::DeleteName(i))
            }
        };
    }
}
