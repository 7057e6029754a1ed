//! Calls: `f(a, b)`, `obj.m(a)` (`LoadMethod`, no bound method made), keywords, and
//! `*args`/`**kwargs` (`CallEx`).

use super::Compiler;
use crate::core::py::vm::ast::{Expr, ExprKind};
use crate::core::py::vm::heap::{Obj, Value};
use crate::core::py::vm::instr::Instr;
use crate::core::py::PyError;

impl Compiler<'_> {
    pub(super) fn call(
        &mut self,
        e: &Expr,
        f: &Expr,
        args: &[Expr],
        kwargs: &[(Option<String>, Expr)],
    ) -> Result<(), PyError> {
        if let ExprKind::Attr(obj, name) = &f.kind {
            self.expr(obj)?;
            let n = self.name_index(name);
            self.set_loc(f.span);
            self.emit(Instr::LoadMethod(n));
        } else {
            self.expr(f)?;
            self.emit(Instr::PushNull);
        }
        let starred =
            args.iter().any(|a| matches!(a.kind, ExprKind::Starred(_))) || kwargs.iter().any(|(n, _)| n.is_none());
        if starred {
            self.emit(Instr::BuildList(0));
            for a in args {
                if let ExprKind::Starred(inner) = &a.kind {
                    self.expr(inner)?;
                    self.set_loc(e.span);
                    self.emit(Instr::ListExtend);
                } else {
                    self.expr(a)?;
                    self.emit(Instr::ListAppend(1));
                }
            }
            self.emit(Instr::ListToTuple);
            if kwargs.is_empty() {
                self.emit(Instr::PushNull);
            } else {
                self.emit(Instr::BuildMap(0));
                for (name, v) in kwargs {
                    match name {
                        Some(n) => {
                            let k = self.str_const(n);
                            self.emit(Instr::LoadConst(k));
                            self.expr(v)?;
                            self.emit(Instr::MapAdd(1));
                        }
                        None => {
                            self.expr(v)?;
                            self.set_loc(e.span);
                            self.emit(Instr::DictUpdate);
                        }
                    }
                }
            }
            self.set_loc(e.span);
            self.emit(Instr::CallEx);
            return Ok(());
        }
        for a in args {
            self.expr(a)?;
        }
        for (_, v) in kwargs {
            self.expr(v)?;
        }
        self.set_loc(e.span);
        let total = (args.len() + kwargs.len()) as u32;
        if kwargs.is_empty() {
            self.emit(Instr::Call(total));
        } else {
            let names: Vec<Value> =
                kwargs.iter().map(|(n, _)| self.heap.alloc(Obj::Str(n.clone().unwrap_or_default()))).collect();
            let t = self.heap.alloc(Obj::Tuple(names));
            let consts = &mut self.unit().code.consts;
            consts.push(t);
            let ci = (consts.len() - 1) as u32;
            self.emit(Instr::CallKw(total, ci));
        }
        Ok(())
    }
}
