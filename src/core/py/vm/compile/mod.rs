//! The compiler: syntax tree → code objects. One `Unit` per code object being built
//! (module, function, class body, comprehension), with its scope: which names are fast
//! locals, cells, free variables of a closure, or module globals.

mod call;
mod compr;
mod expr;
mod fold;
mod scope;
mod stmt;

use super::ast::{FuncDef, Span, Stmt};
use super::code::{Code, Loc};
use super::heap::{Heap, Value};
use super::instr::Instr;
use crate::core::py::PyError;
use scope::Scope;
use std::collections::HashMap;
use std::sync::Arc;

/// The names of a process's module globals, by slot (`Instr::LoadGlobal`).
#[derive(Default, Debug)]
pub struct GlobalNames {
    pub names: Vec<String>,
    pub index: HashMap<String, u32>,
}

impl GlobalNames {
    pub fn slot(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }
}

/// What the unwinding of `break`/`continue`/`return` must undo, innermost last.
#[derive(Clone, Debug)]
enum FBlock {
    Loop {
        is_for: bool,
        continue_at: usize,
        breaks: Vec<usize>,
    },
    /// A `SetupFinally` of a `try`'s except part is active.
    TryExcept,
    /// A `try`'s body with a `finally`: its body runs on the way out.
    Finally(Vec<Stmt>),
    /// Inside an except handler: the exception is being handled, and the one handled
    /// before it (or `None`) is on the stack, as in CPython (`PUSH_EXC_INFO`).
    Handler(Option<String>),
    /// Inside a finally entered by an exception: the previous exception and this one are on
    /// the stack.
    FinallyHandler,
    /// A `with` body: `__exit__(None, None, None)` runs on the way out.
    With,
}

struct Unit {
    code: Code,
    scope: Scope,
    fblocks: Vec<FBlock>,
    str_consts: HashMap<String, u32>,
}

pub struct Compiler<'a> {
    heap: &'a mut Heap,
    globals: &'a mut GlobalNames,
    units: Vec<Unit>,
    loc: Loc,
    /// The process's code objects (`Interp::codes`): `MakeFunction`'s operand is an index.
    codes: &'a mut Vec<Arc<Code>>,
    /// Each constant's one object in the module (see `fold`).
    const_cache: HashMap<fold::ConstKey, Value>,
}

fn err(msg: &str, span: Span) -> PyError {
    PyError::at("SyntaxError", msg, span.line, span.col + 1)
}

/// Compiles a module.
///
/// # Errors
/// A `SyntaxError` the parser could not see (`'return' outside function`, a `nonlocal`
/// with no binding…).
pub fn compile_module(
    body: &[Stmt],
    heap: &mut Heap,
    globals: &mut GlobalNames,
    codes: &mut Vec<Arc<Code>>,
) -> Result<u32, PyError> {
    let scope = Scope::module();
    let mut c = Compiler { heap, globals, units: Vec::new(), loc: Loc::default(), codes, const_cache: HashMap::new() };
    c.push_unit("<module>", "<module>", scope, 1);
    c.emit(Instr::Resume);
    c.stmts(body)?;
    c.load_const(Value::None);
    c.emit(Instr::ReturnValue);
    Ok(c.pop_unit())
}

impl Compiler<'_> {
    fn push_unit(&mut self, name: &str, qualname: &str, scope: Scope, first_line: u32) {
        let code = Code {
            name: name.to_owned(),
            qualname: qualname.to_owned(),
            first_line,
            varnames: scope.varnames.clone(),
            cellvars: scope.cellvars.clone(),
            freevars: scope.freevars.clone(),
            ..Code::default()
        };
        self.units.push(Unit { code, scope, fblocks: Vec::new(), str_consts: HashMap::new() });
    }

    /// Finishes the innermost code object and registers it: its index in `codes`.
    fn pop_unit(&mut self) -> u32 {
        let mut u = self.units.pop().expect("a unit");
        u.code.varnames.clone_from(&u.scope.varnames);
        u.code.cell_params = u
            .code
            .cellvars
            .iter()
            .enumerate()
            .filter_map(|(ci, n)| {
                u.code.varnames[..(u.code.argcount + u.code.kwonlycount) as usize
                    + usize::from(u.code.has_varargs)
                    + usize::from(u.code.has_varkw)]
                    .iter()
                    .position(|v| v == n)
                    .map(|vi| (vi as u32, ci as u32))
            })
            .collect();
        super::fast::lower(&mut u.code);
        self.codes.push(Arc::new(std::mem::take(&mut u.code)));
        (self.codes.len() - 1) as u32
    }

    fn unit(&mut self) -> &mut Unit {
        self.units.last_mut().expect("a unit")
    }

    fn emit(&mut self, i: Instr) -> usize {
        let loc = self.loc;
        let u = self.unit();
        u.code.instrs.push(i);
        u.code.locs.push(loc);
        u.code.instrs.len() - 1
    }

    fn here(&mut self) -> usize {
        self.unit().code.instrs.len()
    }

    fn patch(&mut self, at: usize, target: usize) {
        let t = target as u32;
        let i = &mut self.unit().code.instrs[at];
        *i = match *i {
            Instr::JumpForward(_) => Instr::JumpForward(t),
            Instr::PopJumpIfFalse(_) => Instr::PopJumpIfFalse(t),
            Instr::PopJumpIfTrue(_) => Instr::PopJumpIfTrue(t),
            Instr::JumpIfFalseOrPop(_) => Instr::JumpIfFalseOrPop(t),
            Instr::JumpIfTrueOrPop(_) => Instr::JumpIfTrueOrPop(t),
            Instr::ForIter(_) => Instr::ForIter(t),
            Instr::SetupFinally(_) => Instr::SetupFinally(t),
            other => other,
        };
    }

    fn set_loc(&mut self, span: Span) {
        self.loc = Loc { line: span.line, col: span.col, end_line: span.end_line, end_col: span.end_col, anchor: None };
    }

    fn add_const(&mut self, v: Value) -> u32 {
        let consts = &mut self.unit().code.consts;
        if let Some(i) = consts.iter().position(|c| same_const(*c, v)) {
            return i as u32;
        }
        consts.push(v);
        (consts.len() - 1) as u32
    }

    fn load_const(&mut self, v: Value) {
        let i = self.add_const(v);
        self.emit(Instr::LoadConst(i));
    }

    fn str_const(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.unit().str_consts.get(s) {
            return i;
        }
        let v = self.const_value(&fold::ConstKey::Str(s.to_owned()));
        let u = self.unit();
        u.code.consts.push(v);
        let i = (u.code.consts.len() - 1) as u32;
        u.str_consts.insert(s.to_owned(), i);
        i
    }

    fn name_index(&mut self, name: &str) -> u32 {
        let names = &mut self.unit().code.names;
        if let Some(i) = names.iter().position(|n| n == name) {
            return i as u32;
        }
        names.push(name.to_owned());
        (names.len() - 1) as u32
    }

    fn qualname(&self, name: &str) -> String {
        let parent = self.units.last().expect("a unit");
        if parent.scope.is_module {
            return name.to_owned();
        }
        if parent.scope.is_class {
            format!("{}.{name}", parent.code.qualname)
        } else {
            format!("{}.<locals>.{name}", parent.code.qualname)
        }
    }

    /// Compiles a function body into a code object and emits what makes the function
    /// (defaults, keyword defaults, closure, then `MakeFunction`).
    fn function(&mut self, def: &FuncDef, scope: Scope) -> Result<(), PyError> {
        let mut flags = 0u32;
        let defaults: Vec<_> = def.params.args.iter().filter_map(|(_, d)| d.as_ref()).collect();
        if !defaults.is_empty() {
            for d in &defaults {
                self.expr(d)?;
            }
            self.emit(Instr::BuildTuple(defaults.len() as u32));
            flags |= 1;
        }
        let kwdefaults: Vec<_> = def.params.kwonly.iter().filter_map(|(n, d)| d.as_ref().map(|d| (n, d))).collect();
        if !kwdefaults.is_empty() {
            for (n, d) in &kwdefaults {
                let k = self.str_const(n);
                self.emit(Instr::LoadConst(k));
                self.expr(d)?;
            }
            self.emit(Instr::BuildMap(kwdefaults.len() as u32));
            flags |= 2;
        }
        let qualname = self.qualname(&def.name);
        let saved = self.loc;
        self.push_unit(&def.name, &qualname, scope, def.span.line);
        {
            let u = self.unit();
            u.code.argcount = def.params.args.len() as u32;
            u.code.kwonlycount = def.params.kwonly.len() as u32;
            u.code.has_varargs = def.params.vararg.is_some();
            u.code.has_varkw = def.params.kwarg.is_some();
        }
        self.set_loc(def.span);
        if self.unit().scope.is_generator {
            // CPython 3.11's prologue: the call returns the generator; the first `next`
            // pops the `None` it sends and resumes.
            self.emit(Instr::ReturnGenerator);
            self.emit(Instr::PopTop);
        }
        self.emit(Instr::Resume);
        self.stmts(&def.body)?;
        // Always: a body whose last statement is an `if` that returns still falls off its
        // end when the test is false (a jump to here needs an instruction to land on).
        self.load_const(Value::None);
        self.emit(Instr::ReturnValue);
        let code = self.pop_unit();
        self.loc = saved;
        self.make_function(code, flags);
        Ok(())
    }

    /// Emits the closure (if the code has free variables) and `MakeFunction`.
    fn make_function(&mut self, id: u32, mut flags: u32) {
        let code = self.codes[id as usize].clone();
        if !code.freevars.is_empty() {
            for name in &code.freevars {
                let i = self.unit().scope.deref_index(name).expect("a free variable resolved by the scope pass");
                self.emit(Instr::LoadClosure(i));
            }
            self.emit(Instr::BuildTuple(code.freevars.len() as u32));
            flags |= 8;
        }
        self.emit(Instr::MakeFunction(id | (flags << 24)));
    }
}

fn same_const(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::None, Value::None) => true,
        // One object per constant in the module (`fold`): the same object, the same constant.
        (Value::Obj(x), Value::Obj(y)) => x == y,
        _ => false,
    }
}
