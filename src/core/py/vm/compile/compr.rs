//! Comprehensions: each its own function scope (`<listcomp>` …), called at once with the
//! first iterable's iterator, as in CPython 3.11. A generator expression is the same
//! function made a generator (`ReturnGenerator` first, `YieldValue` per item): lazy, as
//! CPython's.

use super::scope::Scope;
use super::{err, Compiler};
use crate::core::py::vm::ast::{CompKind, Comprehension, Expr};
use crate::core::py::vm::instr::Instr;
use crate::core::py::PyError;

impl Compiler<'_> {
    pub(super) fn comprehension(
        &mut self,
        e: &Expr,
        kind: &CompKind,
        elt: &Expr,
        value: Option<&Expr>,
        gens: &[Comprehension],
    ) -> Result<(), PyError> {
        let mut scope = {
            let enclosing: Vec<&Scope> = self.units.iter().map(|u| &u.scope).collect();
            Scope::comprehension(elt, value, gens, &enclosing).map_err(|m| err(&m, e.span))?
        };
        let is_gen = matches!(kind, CompKind::Gen);
        scope.is_generator = is_gen;
        let name = match kind {
            CompKind::List => "<listcomp>",
            CompKind::Set => "<setcomp>",
            CompKind::Dict => "<dictcomp>",
            CompKind::Gen => "<genexpr>",
        };
        let qualname = self.qualname(name);
        let saved = self.loc;
        self.push_unit(name, &qualname, scope, e.span.line);
        self.unit().code.argcount = 1;
        self.set_loc(e.span);
        if is_gen {
            self.emit(Instr::ReturnGenerator);
            self.emit(Instr::PopTop);
        }
        self.emit(Instr::Resume);
        match kind {
            CompKind::List => self.emit(Instr::BuildList(0)),
            CompKind::Set => self.emit(Instr::BuildSet(0)),
            CompKind::Dict => self.emit(Instr::BuildMap(0)),
            CompKind::Gen => 0,
        };
        let mut loops = Vec::new();
        for (i, g) in gens.iter().enumerate() {
            if i == 0 {
                self.emit(Instr::LoadFast(0));
            } else {
                self.expr(&g.iter)?;
                self.set_loc(e.span);
                self.emit(Instr::GetIter);
            }
            let top = self.here();
            let exit = self.emit(Instr::ForIter(0));
            self.store(&g.target)?;
            let mut skips = Vec::new();
            for cond in &g.ifs {
                self.expr(cond)?;
                skips.push(self.emit(Instr::PopJumpIfFalse(0)));
            }
            loops.push((top, exit, skips));
        }
        let depth = gens.len() as u32 + 1;
        self.expr(elt)?;
        self.set_loc(e.span);
        match kind {
            CompKind::Gen => {
                self.emit(Instr::YieldValue);
                self.emit(Instr::Resume);
                self.emit(Instr::PopTop)
            }
            CompKind::List => self.emit(Instr::ListAppend(depth)),
            CompKind::Set => self.emit(Instr::SetAdd(depth)),
            CompKind::Dict => {
                self.expr(value.expect("a dict comprehension's value"))?;
                self.set_loc(e.span);
                self.emit(Instr::MapAdd(depth))
            }
        };
        while let Some((top, exit, skips)) = loops.pop() {
            for s in skips {
                self.patch(s, top);
            }
            self.emit(Instr::JumpBackward(top as u32));
            let end = self.here();
            self.patch(exit, end);
        }
        if is_gen {
            self.load_const(crate::core::py::vm::heap::Value::None);
        }
        self.emit(Instr::ReturnValue);
        let code = self.pop_unit();
        self.loc = saved;
        self.make_function(code, 0);
        self.emit(Instr::PushNull);
        self.expr(&gens[0].iter)?;
        self.set_loc(e.span);
        self.emit(Instr::GetIter);
        self.emit(Instr::Call(1));
        Ok(())
    }
}
