//! Python's ints beyond i64 in the VM: a `Value::Int(i64)` stays the fast path; a result
//! that does not fit becomes an `Obj::Big` on the heap (always `Int::Big`: every value that
//! fits goes back to `Value::Int`, so equal ints are equal values, one dict key, one hash).
//! The arithmetic itself is `num::bigint`'s (checked against CPython in `num/tests.rs`).

use super::ast::BinOp;
use super::heap::{HKey, Obj, Value};
use super::vm::{Flow, Vm, R};
use crate::core::py::num::bigint::{self, DEFAULT_MAX_BITS};
use crate::core::py::num::{float, Int, NumError};
use std::cmp::Ordering;

impl Vm<'_> {
    /// The int `v` is, of any size (an int, a bool or a big int), or `None`.
    #[must_use]
    pub fn int_any(&self, v: Value) -> Option<Int> {
        match v {
            Value::Int(n) => Some(Int::Small(n)),
            Value::Bool(b) => Some(Int::Small(i64::from(b))),
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Big(i) => Some(i.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether `v` is an int beyond i64.
    #[must_use]
    pub fn is_big(&self, v: Value) -> bool {
        matches!(v, Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Big(_)))
    }

    /// The value of an int: inline when it fits in i64, a heap object beyond.
    pub fn int_value(&mut self, i: Int) -> Value {
        match i {
            Int::Small(n) => Value::Int(n),
            big @ Int::Big(_) => self.i.heap.alloc(Obj::Big(big)),
        }
    }

    /// The exception a `num` error is, raised here.
    pub fn num_err(&mut self, e: NumError) -> Flow {
        self.exc(e.kind, &e.message)
    }

    /// `a op b` on two ints of any size (the slow path: an i64 operation that overflowed,
    /// or a big operand).
    pub fn big_binary(&mut self, op: BinOp, a: &Int, b: &Int) -> R<Value> {
        let r = match op {
            BinOp::Add => Ok(a.add(b)),
            BinOp::Sub => Ok(a.sub(b)),
            BinOp::Mul => Ok(a.mul(b)),
            BinOp::Div => return a.truediv(b).map(Value::Float).map_err(|e| self.num_err(e)),
            BinOp::FloorDiv => a.floordiv(b),
            BinOp::Mod => a.rem(b),
            BinOp::Pow if b.is_negative() => {
                // A negative exponent is float arithmetic, as in CPython.
                let x = a.to_f64().and_then(|x| b.to_f64().and_then(|y| float::float_pow(x, y)));
                return x.map(Value::Float).map_err(|e| self.num_err(e));
            }
            BinOp::Pow => a.pow(b, DEFAULT_MAX_BITS),
            BinOp::LShift => a.shl(b, DEFAULT_MAX_BITS),
            BinOp::RShift => a.shr(b),
            BinOp::BitAnd => Ok(a.bitand(b)),
            BinOp::BitOr => Ok(a.bitor(b)),
            BinOp::BitXor => Ok(a.bitxor(b)),
            BinOp::MatMul => {
                let (x, y) = (self.int_value(a.clone()), self.int_value(b.clone()));
                return Err(self.binop_error(op, x, y));
            }
        };
        match r {
            Ok(i) => Ok(self.int_value(i)),
            Err(e) => Err(self.num_err(e)),
        }
    }

    /// `a op b` when one side is a big int and the other an int or a float; `None` when
    /// neither is a big int (or the other side is not a number).
    pub fn big_mixed(&mut self, op: BinOp, a: Value, b: Value, inplace: bool) -> R<Option<Value>> {
        if !self.is_big(a) && !self.is_big(b) {
            return Ok(None);
        }
        if let (Some(x), Some(y)) = (self.int_any(a), self.int_any(b)) {
            return self.big_binary(op, &x, &y).map(Some);
        }
        let (x, y) = match (a, b) {
            (Value::Float(x), _) => (x, self.int_any(b)),
            (_, Value::Float(y)) => (y, self.int_any(a)),
            _ => return Ok(None),
        };
        let Some(i) = y else { return Ok(None) };
        // An int operand of a float operation is converted first, as in CPython (whose
        // error for a value past the float range this is).
        let f = i.to_f64().map_err(|e| self.num_err(e))?;
        let (fa, fb) = if matches!(a, Value::Float(_)) { (x, f) } else { (f, x) };
        let _ = inplace;
        self.float_op(op, fa, fb).map(Some)
    }

    /// The order of two numbers (ints of any size, bools, floats), exact as CPython's
    /// (`2**53 + 1 > 2.0**53`); `Some(None)` when a NaN makes them unordered, `None` when
    /// one is not a number.
    #[must_use]
    pub fn num_cmp(&self, a: Value, b: Value) -> Option<Option<Ordering>> {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => return Some(x.partial_cmp(&y)),
            (Value::Float(x), _) => {
                let i = self.int_any(b)?;
                return Some(i.cmp_f64(x).map(Ordering::reverse));
            }
            (_, Value::Float(y)) => {
                let i = self.int_any(a)?;
                return Some(i.cmp_f64(y));
            }
            _ => {}
        }
        let (x, y) = (self.int_any(a)?, self.int_any(b)?);
        Some(Some(x.cmp(&y)))
    }

    /// [`Vm::num_cmp`] where the i64/f64 comparison would not be exact: a big int, or an
    /// int and a float; `None` otherwise (the caller's own fast paths decide).
    #[must_use]
    pub fn num_cmp_slow(&self, a: Value, b: Value) -> Option<Option<Ordering>> {
        match (a, b) {
            (Value::Float(_), Value::Int(_) | Value::Bool(_)) | (Value::Int(_) | Value::Bool(_), Value::Float(_)) => {
                self.num_cmp(a, b)
            }
            _ if self.is_big(a) || self.is_big(b) => self.num_cmp(a, b),
            _ => None,
        }
    }

    /// The dict key of a whole float: the int it equals (`2.0**64` and `2**64` are one key).
    #[must_use]
    pub fn float_hkey(f: f64) -> HKey {
        if f.is_finite() && f.fract() == 0.0 {
            match Int::from_f64(f) {
                Ok(Int::Small(n)) => return HKey::Int(n),
                Ok(big) => return HKey::Big(big),
                Err(_) => {}
            }
        }
        HKey::Float(f.to_bits())
    }

    /// `hash(v)` of a number, CPython's (equal for equal ints and floats), if `v` is one.
    #[must_use]
    pub fn num_hash(&self, v: Value) -> Option<i64> {
        if let Value::Float(f) = v {
            return Some(bigint::py_hash_f64(f).unwrap_or(0));
        }
        self.int_any(v).map(|i| i.py_hash())
    }

    /// An int used as a size or an index (`seq * n`, `seq[n]`, `range` lengths): CPython's
    /// `OverflowError` for one past `Py_ssize_t`.
    pub fn index_overflow(&mut self) -> Flow {
        self.exc("OverflowError", "cannot fit 'int' into an index-sized integer")
    }
}

/// `int(x=0, base=10)`, CPython's rules: a number truncates, a str parses (any size, with
/// CPython's errors and the 4,300-digit limit), a base needs a str.
pub fn int_new(vm: &mut Vm<'_>, args: &[Value], base: Option<Value>) -> R<Value> {
    let Some(&v) = args.first() else { return Ok(Value::Int(0)) };
    let base = match base {
        Some(b) => match vm.int_any(b) {
            Some(Int::Small(n)) => Some(n),
            Some(Int::Big(_)) => Some(-1),
            None => {
                let t = vm.type_name(b);
                return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
            }
        },
        None => None,
    };
    if let Some(text) = vm.as_str(v).map(str::to_owned) {
        let b = base.unwrap_or(10);
        let b = u32::try_from(b).unwrap_or(1);
        return match Int::parse(&text, b) {
            Ok(i) => Ok(vm.int_value(i)),
            Err(e) => Err(vm.num_err(e)),
        };
    }
    if base.is_some() {
        return Err(vm.exc("TypeError", "int() can't convert non-string with explicit base"));
    }
    match v {
        Value::Int(_) => Ok(v),
        Value::Bool(b) => Ok(Value::Int(i64::from(b))),
        Value::Float(f) => match Int::from_f64(f) {
            Ok(i) => Ok(vm.int_value(i)),
            Err(e) => Err(vm.num_err(e)),
        },
        _ if vm.is_big(v) => Ok(v),
        _ => {
            for name in ["__int__", "__index__"] {
                if let Ok(Some(m)) = vm.lookup_attr(v, name) {
                    return vm.call_sync(m, &[], &[]);
                }
            }
            let t = vm.type_name(v);
            Err(vm.exc(
                "TypeError",
                &format!("int() argument must be a string, a bytes-like object or a real number, not '{t}'"),
            ))
        }
    }
}

/// `pow(base, exp, mod)` on ints of any size.
pub fn pow3(vm: &mut Vm<'_>, b: Value, e: Value, m: Value) -> R<Value> {
    let (Some(x), Some(y), Some(z)) = (vm.int_any(b), vm.int_any(e), vm.int_any(m)) else {
        return Err(vm.exc("TypeError", "pow() 3rd argument not allowed unless all arguments are integers"));
    };
    match x.pow_mod(&y, &z) {
        Ok(i) => Ok(vm.int_value(i)),
        Err(err) => Err(vm.num_err(err)),
    }
}

/// `round(n, ndigits)` for an int of any size.
pub fn int_round(vm: &mut Vm<'_>, n: &Int, ndigits: Option<Value>) -> R<Value> {
    let Some(d) = ndigits else { return Ok(vm.int_value(n.clone())) };
    let d = match vm.int_any(d) {
        Some(Int::Small(d)) => d,
        // A huge ndigits: nothing to round (positive) or everything (negative), as CPython.
        Some(big) => {
            if big.is_negative() {
                i64::MIN / 2
            } else {
                return Ok(vm.int_value(n.clone()));
            }
        }
        None => {
            let t = vm.type_name(d);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    let r = float::int_round(n, d);
    Ok(vm.int_value(r))
}

/// `hex`, `oct`, `bin` (radix 16, 8, 2) of an int of any size.
pub fn int_radix(vm: &mut Vm<'_>, v: Value, radix: u32) -> R<Value> {
    let Some(i) = vm.int_any(v) else {
        let t = vm.type_name(v);
        return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
    };
    let s = i.to_prefixed(radix);
    Ok(vm.new_str(s))
}
