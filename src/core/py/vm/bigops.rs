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

    /// [`Vm::num_cmp`] where the i64/f64 comparison would not be exact: a big int and a
    /// number, or an int and a float; `None` otherwise (the caller's own fast paths decide;
    /// two big ints are its `Obj::Big` pair).
    #[must_use]
    pub fn num_cmp_slow(&self, a: Value, b: Value) -> Option<Option<Ordering>> {
        match (a, b) {
            (Value::Float(_), Value::Int(_) | Value::Bool(_)) | (Value::Int(_) | Value::Bool(_), Value::Float(_)) => {
                self.num_cmp(a, b)
            }
            // Two heap objects are compared by the caller's own match (strings sort often).
            (Value::Obj(_), Value::Int(_) | Value::Bool(_) | Value::Float(_))
            | (Value::Int(_) | Value::Bool(_) | Value::Float(_), Value::Obj(_)) => {
                if self.is_big(a) || self.is_big(b) {
                    self.num_cmp(a, b)
                } else {
                    None
                }
            }
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
    let r = if y.is_negative() && !z.is_zero() {
        // CPython 3.8+: a negative exponent raises the base's inverse modulo |mod|.
        match mod_inverse(&x, &z.abs()) {
            Some(inv) => inv.pow_mod(&y.neg(), &z),
            None => Err(NumError::new("ValueError", "base is not invertible for the given modulus")),
        }
    } else {
        x.pow_mod(&y, &z)
    };
    match r {
        Ok(i) => Ok(vm.int_value(i)),
        Err(err) => Err(vm.num_err(err)),
    }
}

/// The inverse of `a` modulo `m > 0` (extended Euclid), if `a` and `m` are coprime.
fn mod_inverse(a: &Int, m: &Int) -> Option<Int> {
    let (mut old_r, mut r) = (a.rem(m).ok()?, m.clone());
    let (mut old_s, mut s) = (Int::Small(1), Int::ZERO);
    while !r.is_zero() {
        let q = old_r.floordiv(&r).ok()?;
        let next_r = old_r.sub(&q.mul(&r));
        old_r = std::mem::replace(&mut r, next_r);
        let next_s = old_s.sub(&q.mul(&s));
        old_s = std::mem::replace(&mut s, next_s);
    }
    (old_r == Int::Small(1)).then(|| old_s.rem(m).ok()).flatten()
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

/// A `range` with a bound or step beyond i64 (`range(10**20)`, `range(2**64, 2**64 + 3)`),
/// or whose length is (`range(-2**62, 2**62 + 2**61)`):
/// a native object of tag `bigrange` whose slots are its start, stop and step (ints of any
/// size); its class is `range`. Ranges within i64 stay `Obj::Range`.
pub const BIGRANGE: &str = "bigrange";

/// Iterations an i64 range iterator can do before its values would pass i64: past this
/// many a program's time budget ends it first, so the rest of a huge range is never needed.
const UNREACHABLE_ITERATIONS: i64 = 1 << 40;

/// The number of items of `range(a, b, c)`, of any size.
#[must_use]
pub fn range_len_any(a: &Int, b: &Int, c: &Int) -> Int {
    let one = Int::Small(1);
    let (lo, hi, step) = if c.is_negative() { (b, a, c.neg()) } else { (a, b, c.clone()) };
    if lo >= hi {
        return Int::ZERO;
    }
    // (hi - lo - 1) // step + 1
    hi.sub(lo).sub(&one).floordiv(&step).unwrap_or(Int::ZERO).add(&one)
}

impl Vm<'_> {
    /// `range(a, b, c)` of ints of any size.
    pub fn range_new(&mut self, a: &Int, b: &Int, c: &Int) -> R<Value> {
        if c.is_zero() {
            return Err(self.exc("ValueError", "range() arg 3 must not be zero"));
        }
        if let (Some(x), Some(y), Some(z)) = (a.to_i64(), b.to_i64(), c.to_i64()) {
            // An i64 range's length must be an i64 too (its indexing computes with it).
            if range_len_any(a, b, c).to_i64().is_some() {
                return Ok(self.i.heap.alloc(Obj::Range(x, y, z)));
            }
        }
        let slots = vec![self.int_value(a.clone()), self.int_value(b.clone()), self.int_value(c.clone())];
        Ok(self.i.heap.alloc(Obj::Native(BIGRANGE, slots)))
    }

    /// (start, stop, step) of a big range.
    #[must_use]
    pub fn bigrange_parts(&self, v: Value) -> Option<(Int, Int, Int)> {
        let Value::Obj(r) = v else { return None };
        let Obj::Native(BIGRANGE, slots) = self.i.heap.get(r) else { return None };
        let (a, b, c) = (slots[0], slots[1], slots[2]);
        Some((self.int_any(a)?, self.int_any(b)?, self.int_any(c)?))
    }

    /// `len(r)` of a big range: CPython's `OverflowError` past `Py_ssize_t`.
    pub fn bigrange_len(&mut self, a: &Int, b: &Int, c: &Int) -> R<usize> {
        match range_len_any(a, b, c).to_i64() {
            Some(n) => Ok(n as usize),
            None => Err(self.exc("OverflowError", "Python int too large to convert to C ssize_t")),
        }
    }

    /// `r[i]` of a big range (an int index; slicing one is not supported).
    pub fn bigrange_getitem(&mut self, a: &Int, b: &Int, c: &Int, idx: Value) -> R<Value> {
        let Some(i) = self.int_any(idx) else {
            if matches!(idx, Value::Obj(s) if matches!(self.i.heap.get(s), Obj::Slice(..))) {
                return Err(self.exc("NotImplementedError", "slicing a range beyond 2**63 is not supported yet"));
            }
            let t = self.type_name(idx);
            return Err(self.exc("TypeError", &format!("range indices must be integers or slices, not {t}")));
        };
        let len = range_len_any(a, b, c);
        let j = if i.is_negative() { i.add(&len) } else { i };
        if j.is_negative() || j >= len {
            return Err(self.exc("IndexError", "range object index out of range"));
        }
        let v = a.add(&j.mul(c));
        Ok(self.int_value(v))
    }

    /// `x in r` for a big range and an int `x`.
    #[must_use]
    pub fn bigrange_contains(a: &Int, b: &Int, c: &Int, x: &Int) -> bool {
        let inside = if c.is_negative() { x <= a && x > b } else { x >= a && x < b };
        inside && x.sub(a).rem(c).is_ok_and(|m| m.is_zero())
    }

    /// An iterator over `range(a, b, c)`: the VM's i64 iterator when the values stay in
    /// i64 (or pass it only after more iterations than a program can run), else the items.
    pub fn range_iter_any(&mut self, a: &Int, b: &Int, c: &Int) -> R<Value> {
        use super::heap::IterState;
        if let (Some(x), Some(z)) = (a.to_i64(), c.to_i64()) {
            // The last stop at which `cur += step` cannot overflow.
            let edge = if z > 0 { i64::MAX - z } else { i64::MIN - z };
            let y = match b.to_i64() {
                Some(y) if (z > 0 && y <= edge) || (z < 0 && y >= edge) => y,
                _ => edge,
            };
            let exact = range_len_any(a, b, c) == range_len_any(a, &Int::Small(y), c);
            if exact || range_len_any(a, &Int::Small(y), c) >= Int::Small(UNREACHABLE_ITERATIONS) {
                return Ok(self.i.heap.alloc(Obj::Iter(IterState::Range { cur: x, stop: y, step: z })));
            }
        }
        let n = range_len_any(a, b, c);
        if n > Int::from(super::ops::MAX_SEQ as i64) {
            return Err(self
                .exc("NotImplementedError", "iterating a range of this many ints beyond 2**63 is not supported yet"));
        }
        let mut items = Vec::new();
        let mut v = a.clone();
        for _ in 0..n.to_i64().unwrap_or(0) {
            items.push(self.int_value(v.clone()));
            v = v.add(c);
        }
        Ok(self.i.heap.alloc(Obj::Iter(IterState::Items { items, i: 0 })))
    }
}
