//! Expressions.

use super::{err, Compiler};
use crate::core::py::vm::ast::{Expr, ExprKind, FPart, Lit, UnOp};
use crate::core::py::vm::heap::Value;
use crate::core::py::vm::instr::Instr;
use crate::core::py::PyError;

impl Compiler<'_> {
    #[allow(clippy::too_many_lines)]
    pub(super) fn expr(&mut self, e: &Expr) -> Result<(), PyError> {
        if matches!(e.kind, ExprKind::Tuple(_) | ExprKind::Bin(..) | ExprKind::Unary(..)) {
            if let Some(k) = super::fold::fold(e) {
                self.note_literals(e);
                let v = self.const_value(&k);
                self.load_const(v);
                return Ok(());
            }
        }
        if matches!(e.kind, ExprKind::Const(_)) {
            self.note_literals(e);
        }
        match &e.kind {
            ExprKind::Const(lit) => match lit {
                Lit::None => self.load_const(Value::None),
                Lit::Bool(b) => self.load_const(Value::Bool(*b)),
                Lit::Int(n) => self.load_const(Value::Int(*n)),
                Lit::Float(f) => self.load_const(Value::Float(*f)),
                Lit::Ellipsis => self.load_const(Value::Ellipsis),
                Lit::Str(s) => {
                    let i = self.str_const(s);
                    self.emit(Instr::LoadConst(i));
                }
                Lit::BigInt(text) => match crate::core::py::num::Int::parse(text, 0) {
                    Ok(i) => {
                        let v = match i {
                            crate::core::py::num::Int::Small(n) => Value::Int(n),
                            big @ crate::core::py::num::Int::Big(_) => {
                                self.heap.alloc(crate::core::py::vm::heap::Obj::Big(big))
                            }
                        };
                        self.load_const(v);
                    }
                    // CPython refuses a decimal literal past the int/str digit limit at compile time.
                    Err(err) => {
                        let msg = if err.message.starts_with("Exceeds") {
                            format!(
                                "{} - Consider hexadecimal for huge integer literals to avoid decimal conversion limits.",
                                err.message
                            )
                        } else {
                            err.message
                        };
                        return Err(PyError::at("SyntaxError", &msg, e.span.line, e.span.col + 1));
                    }
                },
            },
            ExprKind::Name(n) => {
                self.set_loc(e.span);
                self.load_name(n);
            }
            ExprKind::List(items) | ExprKind::Tuple(items) | ExprKind::Set(items) => {
                let starred = items.iter().any(|i| matches!(i.kind, ExprKind::Starred(_)));
                if starred {
                    self.emit(Instr::BuildList(0));
                    for it in items {
                        if let ExprKind::Starred(inner) = &it.kind {
                            self.expr(inner)?;
                            self.set_loc(e.span);
                            self.emit(Instr::ListExtend);
                        } else {
                            self.expr(it)?;
                            self.emit(Instr::ListAppend(1));
                        }
                    }
                    self.set_loc(e.span);
                    match &e.kind {
                        ExprKind::Tuple(_) => {
                            self.emit(Instr::ListToTuple);
                        }
                        ExprKind::Set(_) => {
                            // set(list)
                            self.emit(Instr::BuildSet(0));
                            self.emit(Instr::RotTwo);
                            self.emit(Instr::ListExtend);
                        }
                        _ => {}
                    }
                    return Ok(());
                }
                for it in items {
                    self.expr(it)?;
                }
                self.set_loc(e.span);
                let n = items.len() as u32;
                match &e.kind {
                    ExprKind::List(_) => self.emit(Instr::BuildList(n)),
                    ExprKind::Tuple(_) => self.emit(Instr::BuildTuple(n)),
                    _ => self.emit(Instr::BuildSet(n)),
                };
            }
            ExprKind::Dict(pairs) => {
                if pairs.iter().all(|(k, _)| k.is_some()) {
                    for (k, v) in pairs {
                        self.expr(k.as_ref().expect("a key"))?;
                        self.expr(v)?;
                    }
                    self.set_loc(e.span);
                    self.emit(Instr::BuildMap(pairs.len() as u32));
                } else {
                    self.set_loc(e.span);
                    self.emit(Instr::BuildMap(0));
                    for (k, v) in pairs {
                        match k {
                            Some(k) => {
                                self.expr(k)?;
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
            }
            ExprKind::Starred(_) => return Err(err("can't use starred expression here", e.span)),
            ExprKind::Attr(obj, name) => {
                self.expr(obj)?;
                let n = self.name_index(name);
                self.set_loc(e.span);
                self.emit(Instr::LoadAttr(n));
            }
            ExprKind::Subscript(obj, idx) => {
                self.expr(obj)?;
                self.expr(idx)?;
                self.set_loc(e.span);
                self.loc.anchor = Some((obj.span.end_col, idx.span.end_col, 1));
                self.emit(Instr::BinarySubscr);
            }
            ExprKind::Slice(a, b, c) => {
                for x in [a, b] {
                    match x {
                        Some(x) => self.expr(x)?,
                        None => self.load_const(Value::None),
                    }
                }
                if let Some(c) = c {
                    self.expr(c)?;
                    self.emit(Instr::BuildSlice(3));
                } else {
                    self.emit(Instr::BuildSlice(2));
                }
            }
            ExprKind::Call(f, args, kwargs) => self.call(e, f, args, kwargs)?,
            ExprKind::Bin(a, op, b) => {
                self.expr(a)?;
                self.expr(b)?;
                self.set_loc(e.span);
                if a.span.end_line == b.span.line {
                    self.loc.anchor = Some((a.span.end_col, b.span.col, 0));
                }
                self.emit(Instr::BinaryOp(*op));
            }
            ExprKind::Unary(op, a) => {
                self.expr(a)?;
                self.set_loc(e.span);
                self.emit(match op {
                    UnOp::Neg => Instr::UnaryNeg,
                    UnOp::Pos => Instr::UnaryPos,
                    UnOp::Not => Instr::UnaryNot,
                    UnOp::Invert => Instr::UnaryInvert,
                });
            }
            ExprKind::BoolOp(is_and, items) => {
                let mut jumps = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    self.expr(it)?;
                    if i + 1 < items.len() {
                        jumps.push(self.emit(if *is_and {
                            Instr::JumpIfFalseOrPop(0)
                        } else {
                            Instr::JumpIfTrueOrPop(0)
                        }));
                    }
                }
                let end = self.here();
                for j in jumps {
                    self.patch(j, end);
                }
            }
            ExprKind::Compare(first, rest) => {
                self.expr(first)?;
                if rest.len() == 1 {
                    self.expr(&rest[0].1)?;
                    self.set_loc(e.span);
                    self.emit(Instr::CompareOp(rest[0].0));
                    return Ok(());
                }
                let mut cleanups = Vec::new();
                for (i, (op, right)) in rest.iter().enumerate() {
                    self.expr(right)?;
                    self.set_loc(e.span);
                    if i + 1 < rest.len() {
                        self.emit(Instr::DupTop);
                        self.emit(Instr::RotThree);
                        self.emit(Instr::CompareOp(*op));
                        cleanups.push(self.emit(Instr::JumpIfFalseOrPop(0)));
                    } else {
                        self.emit(Instr::CompareOp(*op));
                    }
                }
                let to_end = self.emit(Instr::JumpForward(0));
                let cleanup = self.here();
                for c in cleanups {
                    self.patch(c, cleanup);
                }
                self.emit(Instr::RotTwo);
                self.emit(Instr::PopTop);
                let end = self.here();
                self.patch(to_end, end);
            }
            ExprKind::IfExp(test, body, orelse) => {
                self.expr(test)?;
                let to_else = self.emit(Instr::PopJumpIfFalse(0));
                self.expr(body)?;
                let to_end = self.emit(Instr::JumpForward(0));
                let el = self.here();
                self.patch(to_else, el);
                self.expr(orelse)?;
                let end = self.here();
                self.patch(to_end, end);
            }
            ExprKind::Lambda(def) => {
                let scope = {
                    let enclosing: Vec<&super::scope::Scope> = self.units.iter().map(|u| &u.scope).collect();
                    super::scope::Scope::function(&def.params, &def.body, &enclosing).map_err(|m| err(&m, e.span))?
                };
                self.function(def, scope)?;
            }
            ExprKind::Comp(kind, elt, value, gens) => self.comprehension(e, kind, elt, value.as_deref(), gens)?,
            ExprKind::FString(parts) => self.fstring(parts, e)?,
            ExprKind::Yield(v) => {
                self.check_yield(e)?;
                match v {
                    Some(v) => self.expr(v)?,
                    None => self.load_const(Value::None),
                }
                self.set_loc(e.span);
                self.emit(Instr::YieldValue);
                self.emit(Instr::Resume);
            }
            ExprKind::YieldFrom(v) => {
                // CPython 3.11: GET_YIELD_FROM_ITER, LOAD_CONST None, SEND, YIELD_VALUE,
                // RESUME, JUMP_BACKWARD_NO_INTERRUPT to the SEND.
                self.check_yield(e)?;
                self.expr(v)?;
                self.set_loc(e.span);
                self.emit(Instr::GetIter);
                self.load_const(Value::None);
                let send = self.emit(Instr::Send(0));
                self.emit(Instr::YieldValue);
                self.emit(Instr::Resume);
                self.emit(Instr::JumpBackwardNoInterrupt(send as u32));
                let end = self.here() as u32;
                self.unit().code.instrs[send] = Instr::Send(end);
            }
        }
        Ok(())
    }

    fn check_yield(&mut self, e: &Expr) -> Result<(), PyError> {
        let u = self.unit();
        let msg = match u.code.name.as_str() {
            "<listcomp>" => "'yield' inside list comprehension",
            "<setcomp>" => "'yield' inside set comprehension",
            "<dictcomp>" => "'yield' inside dict comprehension",
            "<genexpr>" => "'yield' inside generator expression",
            _ if u.scope.is_generator => return Ok(()),
            _ => "'yield' outside function",
        };
        Err(err(msg, e.span))
    }

    fn fstring(&mut self, parts: &[FPart], e: &Expr) -> Result<(), PyError> {
        let mut n = 0;
        for p in parts {
            match p {
                FPart::Lit(s) => {
                    let i = self.str_const(s);
                    self.emit(Instr::LoadConst(i));
                }
                FPart::Expr { value, conv, spec, debug } => {
                    if let Some(d) = debug {
                        let i = self.str_const(d);
                        self.emit(Instr::LoadConst(i));
                        n += 1;
                    }
                    self.expr(value)?;
                    let mut flags = match conv {
                        Some('s') => 1,
                        Some('r') => 2,
                        Some('a') => 3,
                        _ => 0,
                    };
                    if !spec.is_empty() {
                        self.fstring(spec, e)?;
                        flags |= 4;
                    }
                    self.set_loc(e.span);
                    self.emit(Instr::FormatValue(flags));
                }
            }
            n += 1;
        }
        if n != 1 {
            self.emit(Instr::BuildString(n));
        }
        Ok(())
    }
}
