//! Constants as CPython's compiler makes them: a tuple of constants, `"ab" * 3`, `-1` are
//! folded into one constant (`Python/ast_opt.c`), and equal constants are one object in
//! every code object of the module (the compiler's constant cache). This is what makes
//! `(3, 4) is (3, 4)` true and what `sys.getrefcount` of a constant counts: each code
//! object holding it, plus one (the fixtures in `tests/fixtures/refcount/` measure it).

use super::Compiler;
use crate::core::py::vm::ast::{BinOp, Expr, ExprKind, Lit, UnOp};
use crate::core::py::vm::heap::{Obj, Value};

/// CPython's limits for folding (`ast_opt.c`): results past them are built at run time.
const MAX_STR_SIZE: usize = 4096;
const MAX_COLLECTION_SIZE: usize = 256;

/// A constant as the compiler's cache keys it: type and value (`1`, `1.0` and `True`
/// are three constants; `0.0` and `-0.0` two).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum ConstKey {
    None,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(String),
    Tuple(Vec<ConstKey>),
    Ellipsis,
}

/// The constant `e` folds to, if it does. Only what cannot raise is folded (CPython
/// leaves `1 / 0` to run time too); big ints are left to run time.
pub(super) fn fold(e: &Expr) -> Option<ConstKey> {
    match &e.kind {
        ExprKind::Const(lit) => Some(match lit {
            Lit::None => ConstKey::None,
            Lit::Bool(b) => ConstKey::Bool(*b),
            Lit::Int(n) => ConstKey::Int(*n),
            Lit::Float(f) => ConstKey::Float(f.to_bits()),
            Lit::Str(s) => ConstKey::Str(s.clone()),
            Lit::Ellipsis => ConstKey::Ellipsis,
            Lit::BigInt(_) => return None,
        }),
        ExprKind::Tuple(items) => {
            if items.iter().any(|i| matches!(i.kind, ExprKind::Starred(_))) {
                return None;
            }
            items.iter().map(fold).collect::<Option<Vec<_>>>().map(ConstKey::Tuple)
        }
        ExprKind::Unary(op, a) => match (op, fold(a)?) {
            (UnOp::Neg, ConstKey::Int(n)) => n.checked_neg().map(ConstKey::Int),
            (UnOp::Neg, ConstKey::Float(f)) => Some(ConstKey::Float((-f64::from_bits(f)).to_bits())),
            (UnOp::Pos, k @ (ConstKey::Int(_) | ConstKey::Float(_))) => Some(k),
            (UnOp::Invert, ConstKey::Int(n)) => Some(ConstKey::Int(!n)),
            _ => None,
        },
        ExprKind::Bin(a, op, b) => match (fold(a)?, op, fold(b)?) {
            (ConstKey::Int(x), BinOp::Add, ConstKey::Int(y)) => x.checked_add(y).map(ConstKey::Int),
            (ConstKey::Int(x), BinOp::Sub, ConstKey::Int(y)) => x.checked_sub(y).map(ConstKey::Int),
            (ConstKey::Int(x), BinOp::Mul, ConstKey::Int(y)) => x.checked_mul(y).map(ConstKey::Int),
            (ConstKey::Str(x), BinOp::Add, ConstKey::Str(y)) if x.len() + y.len() <= MAX_STR_SIZE => {
                Some(ConstKey::Str(x + &y))
            }
            (ConstKey::Str(s), BinOp::Mul, ConstKey::Int(n)) | (ConstKey::Int(n), BinOp::Mul, ConstKey::Str(s)) => {
                let n = usize::try_from(n.max(0)).ok()?;
                (s.len().checked_mul(n)? <= MAX_STR_SIZE).then(|| ConstKey::Str(s.repeat(n)))
            }
            (ConstKey::Tuple(x), BinOp::Add, ConstKey::Tuple(y)) if x.len() + y.len() <= MAX_COLLECTION_SIZE => {
                Some(ConstKey::Tuple(x.into_iter().chain(y).collect()))
            }
            _ => None,
        },
        _ => None,
    }
}

impl Compiler<'_> {
    /// Notes the literals `e` is made of (see `Code::literals`).
    pub(super) fn note_literals(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Const(_) => {
                if let Some(k) = fold(e) {
                    let v = self.const_value(&k);
                    self.unit().code.literals.push(v);
                }
            }
            ExprKind::Tuple(items) => items.iter().for_each(|i| self.note_literals(i)),
            ExprKind::Unary(_, a) => self.note_literals(a),
            ExprKind::Bin(a, _, b) => {
                self.note_literals(a);
                self.note_literals(b);
            }
            _ => {}
        }
    }

    /// The value of a constant: inline for scalars, else the module's one object for it.
    pub(super) fn const_value(&mut self, k: &ConstKey) -> Value {
        match k {
            ConstKey::None => Value::None,
            ConstKey::Bool(b) => Value::Bool(*b),
            ConstKey::Int(n) => Value::Int(*n),
            ConstKey::Float(f) => Value::Float(f64::from_bits(*f)),
            ConstKey::Ellipsis => Value::Ellipsis,
            ConstKey::Str(_) | ConstKey::Tuple(_) => {
                if let Some(v) = self.const_cache.get(k) {
                    return *v;
                }
                let o = match k {
                    ConstKey::Str(s) => Obj::Str(s.clone()),
                    ConstKey::Tuple(items) => Obj::Tuple(items.iter().map(|i| self.const_value(i)).collect()),
                    _ => unreachable!("a scalar"),
                };
                let v = self.heap.alloc(o);
                self.const_cache.insert(k.clone(), v);
                v
            }
        }
    }
}
