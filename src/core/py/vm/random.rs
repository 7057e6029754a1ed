//! `random` (issue 14): CPython 3.11's module, so that a seeded program prints exactly what
//! CPython prints — its numbers, and its errors.
//!
//! The generator is `_random.Random`'s Mersenne Twister (`Modules/_randommodule.c`:
//! `genrand_uint32`, `random()` from two words, `getrandbits`); seeding (`init_by_array` of
//! the seed's 32-bit words, SHA-512 for a str) is `num::random`'s, checked against CPython in
//! `num/tests.rs`. The methods are `Lib/random.py`'s (v3.11), translated here so that they
//! draw the same words in the same order and raise the same errors at the same point
//! (`randrange` by `_randbelow_with_getrandbits`, `choices` by `floor(random() * n)` or a
//! bisection of the cumulative weights, `sample`'s pool or set branch by its `setsize`).
//! Arithmetic on the caller's values (`a + (b - a) * random()`, `mu + z * sigma`, the sum
//! of the weights) goes through the VM's own operators, so ints, floats and their errors
//! behave as in Python; what CPython computes in C doubles is done in `f64`.
//!
//! Where a generator lives: each `Random` instance holds in its `__dict__` (under
//! [`STATE_ATTR`]) an `Obj::Native(STATE, slots)`, the 624 words and the index as
//! `Value::Int`s, stepped in place. The module's functions are bound methods of one hidden
//! instance (`random._inst`, as random.py's). So a generator is freed with its instance by
//! the collector, each process (its own `Interp`) has its own module generator seeded from
//! the host's clock and the pid unless the program seeds it (a spawned child too, as
//! CPython's spawn), and the threads of a process share it under the GIL.
//!
//! A subclass's own `random()` and `getrandbits()` are called where random.py calls them
//! ([`Src`]). Not here: `randbytes` and `SystemRandom` (ThreadLab's Python has no bytes and
//! no OS entropy: clear `NotImplementedError`s), a subclass that overrides `_randbelow`,
//! `randrange`, `normalvariate`, `gammavariate` or `sample` for the methods built on them
//! (a clear error, where random.py would call the override).

use super::ast::{BinOp, CmpOp};
use super::builtins::{Kw, NativeFn, NATIVES};
use super::heap::{Attrs, Class, Instance, Obj, ObjRef, Value};
use super::vm::{Flow, Vm, R};
use crate::core::py::num::random::Random as Seeder;
use crate::core::py::num::Int;

use crate::core::py::num::clib as libm;

const N: usize = 624;
const M: usize = 397;
/// The tag of a generator's state object.
pub const STATE: &str = "_random.state";
/// A state object's slots: the words, the index, and the `Random` class (so that `this`
/// tells an instance of `Random` itself from one of a subclass without a look-up).
const SLOTS: usize = N + 2;
/// Where an instance keeps its state object.
pub const STATE_ATTR: &str = "_random_state";
/// `vm.i.types.natives`' key of the `Random` class.
const CLASS_KEY: &str = "random:Random";
/// Methods others are built on that a subclass may not override here (random.py would call
/// the override: a clear error instead); `random` and `getrandbits` are followed ([`Src`]).
const HOOKS: &[&str] = &["_randbelow", "randrange", "normalvariate", "gammavariate", "sample"];

/// A generator's state: its heap object's slots (`N` words, then the index, see [`SLOTS`]).
struct Mt<'a>(&'a mut [Value]);

impl Mt<'_> {
    fn word(&self, i: usize) -> u32 {
        match self.0[i] {
            Value::Int(n) => n as u32,
            _ => 0,
        }
    }

    /// `genrand_uint32`.
    fn next_u32(&mut self) -> u32 {
        let mut i = match self.0[N] {
            Value::Int(n) => n as usize,
            _ => N,
        };
        if i >= N {
            self.twist();
            i = 0;
        }
        let mut y = self.word(i);
        self.0[N] = Value::Int(i as i64 + 1);
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// The N words at a time of `genrand_uint32` (its three loops as one: an index past the
    /// end wraps to the words already renewed, as theirs do).
    fn twist(&mut self) {
        let mut mt = [0u32; N];
        for (i, w) in mt.iter_mut().enumerate() {
            *w = self.word(i);
        }
        for kk in 0..N {
            let y = (mt[kk] & 0x8000_0000) | (mt[(kk + 1) % N] & 0x7fff_ffff);
            mt[kk] = mt[(kk + M) % N] ^ (y >> 1) ^ if y & 1 == 1 { 0x9908_b0df } else { 0 };
        }
        for (slot, w) in self.0.iter_mut().zip(mt) {
            *slot = Value::Int(i64::from(w));
        }
    }

    /// `random()`: 53 bits from two words.
    fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `getrandbits(k)` for `k <= 64`: words least significant first, the last one's top bits.
    fn bits64(&mut self, k: u32) -> u64 {
        match k {
            0 => 0,
            1..=32 => u64::from(self.next_u32() >> (32 - k)),
            _ => {
                let lo = u64::from(self.next_u32());
                let hi = u64::from(self.next_u32() >> (64 - k));
                lo | (hi << 32)
            }
        }
    }

    /// `getrandbits(k)`.
    fn bits(&mut self, k: u64) -> Int {
        if k <= 64 {
            return Int::from(self.bits64(k as u32));
        }
        let mut words = Vec::with_capacity(k.div_ceil(32) as usize);
        let mut left = k;
        while left > 0 {
            let mut r = self.next_u32();
            if left < 32 {
                r >>= 32 - left;
            }
            words.push(r);
            left = left.saturating_sub(32);
        }
        Int::from_u32_words(&words)
    }

    /// `_randbelow_with_getrandbits(n)` for `0 < n` (`n.bit_length()` bits until below `n`).
    fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        let mut r = self.bits64(k);
        while r >= n {
            r = self.bits64(k);
        }
        r
    }

    fn below_int(&mut self, n: &Int) -> Int {
        if let Some(s) = n.to_i64() {
            return Int::from(self.below(s.unsigned_abs()));
        }
        let k = n.bit_length();
        let mut r = self.bits(k);
        while r >= *n {
            r = self.bits(k);
        }
        r
    }
}

/// Runs `f` on the generator of state object `st`.
fn with_mt<T>(vm: &mut Vm<'_>, st: ObjRef, f: impl FnOnce(&mut Mt<'_>) -> T) -> T {
    match vm.i.heap.get_mut(st) {
        Obj::Native(STATE, slots) if slots.len() == SLOTS => f(&mut Mt(slots)),
        // `this` hands out only state objects; never reached.
        _ => f(&mut Mt(&mut vec![Value::Int(0); SLOTS])),
    }
}

fn random_f(vm: &mut Vm<'_>, st: ObjRef) -> f64 {
    match vm.i.heap.get_mut(st) {
        Obj::Native(STATE, slots) if slots.len() == SLOTS => Mt(slots).random(),
        _ => 0.0,
    }
}

/// Where a method built on `random()` and `_randbelow()` draws from: the instance's
/// Mersenne Twister, or a subclass's own `random()`/`getrandbits()` called as random.py
/// calls them (the documented way to plug in another generator).
enum Src {
    Mt(ObjRef),
    Own {
        st: ObjRef,
        /// The subclass's `random` and `getrandbits`, bound (`None`: this module's).
        random: Option<Value>,
        bits: Option<Value>,
        /// `_randbelow` by `getrandbits` (else by `random()`), as `__init_subclass__` picks.
        by_bits: bool,
    },
}

/// The [`Src`] of `me`, whose state is `st`.
fn source(vm: &mut Vm<'_>, me: Value, st: ObjRef) -> R<Src> {
    let (class, random_cls) = match (me, vm.i.heap.get(st)) {
        (Value::Obj(r), Obj::Native(STATE, slots)) => match (vm.i.heap.get(r), slots.get(N + 1)) {
            (Obj::Instance(i), Some(Value::Obj(c))) => (i.class, *c),
            _ => return Ok(Src::Mt(st)),
        },
        _ => return Ok(Src::Mt(st)),
    };
    if class == random_cls {
        return Ok(Src::Mt(st));
    }
    // random.py's __init_subclass__: the first class of the MRO that defines `_randbelow`
    // (Random itself), `getrandbits` or `random` decides.
    let mro = match vm.i.heap.get(class) {
        Obj::Class(c) => c.mro.clone(),
        _ => Vec::new(),
    };
    let mut by_bits = true;
    for c in mro {
        if c == random_cls {
            break;
        }
        let Obj::Class(k) = vm.i.heap.get(c) else { continue };
        if k.dict.contains_key("getrandbits") {
            break;
        }
        if k.dict.contains_key("random") {
            by_bits = false;
            break;
        }
    }
    let own = |vm: &mut Vm<'_>, name: &str| -> R<Option<Value>> {
        match vm.class_lookup(class, name) {
            Some(Value::Native(id)) if NATIVES[id as usize].0.starts_with("_random.Random.") => Ok(None),
            Some(_) => vm.getattr(me, name).map(Some),
            None => Ok(None),
        }
    };
    let random = own(vm, "random")?;
    let bits = own(vm, "getrandbits")?;
    if random.is_none() && bits.is_none() {
        return Ok(Src::Mt(st));
    }
    Ok(Src::Own { st, random, bits, by_bits })
}

/// `self.random()`.
fn draw(vm: &mut Vm<'_>, src: &Src) -> R<f64> {
    match src {
        Src::Mt(st) | Src::Own { st, random: None, .. } => Ok(random_f(vm, *st)),
        Src::Own { random: Some(f), .. } => match vm.call_sync(*f, &[], &[])? {
            Value::Float(x) => Ok(x),
            v => {
                let t = vm.type_name(v);
                Err(vm.exc(
                    "NotImplementedError",
                    &format!("a random() that returns a {t}, not a float, is not supported by ThreadLab's Python yet"),
                ))
            }
        },
    }
}

/// `self.getrandbits(k)`.
fn own_bits(vm: &mut Vm<'_>, src: &Src, k: u64) -> R<Int> {
    match src {
        Src::Own { bits: Some(f), .. } => {
            let v = vm.call_sync(*f, &[Value::Int(k as i64)], &[])?;
            match vm.int_any(v) {
                Some(i) => Ok(i),
                None => {
                    let t = vm.type_name(v);
                    Err(vm.exc("TypeError", &format!("'>=' not supported between instances of '{t}' and 'int'")))
                }
            }
        }
        Src::Mt(st) | Src::Own { st, .. } => Ok(with_mt(vm, *st, |g| g.bits(k))),
    }
}

/// `self._randbelow(n)` for `n > 0`.
fn below_src(vm: &mut Vm<'_>, src: &Src, n: &Int) -> R<Int> {
    match src {
        Src::Mt(st) | Src::Own { st, bits: None, by_bits: true, .. } => Ok(with_mt(vm, *st, |g| g.below_int(n))),
        Src::Own { by_bits: true, .. } => {
            let k = n.bit_length();
            loop {
                let r = own_bits(vm, src, k)?;
                if r < *n {
                    return Ok(r);
                }
            }
        }
        Src::Own { by_bits: false, .. } => {
            // _randbelow_without_getrandbits: 53 bits of random() at a time.
            let maxsize = Int::Small(1 << 53);
            if *n >= maxsize {
                return Err(vm.exc(
                    "NotImplementedError",
                    "a range of 2**53 or more from a subclass's own random() is not supported by ThreadLab's Python yet",
                ));
            }
            let rem = maxsize.rem(n).map_err(|e| vm.num_err(e))?;
            let limit = (9_007_199_254_740_992.0 - rem.to_f64().unwrap_or(0.0)) / 9_007_199_254_740_992.0;
            let mut r = draw(vm, src)?;
            while r >= limit {
                r = draw(vm, src)?;
            }
            Int::from_f64((r * 9_007_199_254_740_992.0).floor()).and_then(|f| f.rem(n)).map_err(|e| vm.num_err(e))
        }
    }
}

fn below_u64(vm: &mut Vm<'_>, src: &Src, n: u64) -> R<u64> {
    if let Src::Mt(st) = src {
        return Ok(with_mt(vm, *st, |g| g.below(n)));
    }
    let r = below_src(vm, src, &Int::from(n))?;
    Ok(r.to_i64().map_or(0, i64::unsigned_abs))
}

fn below_n(vm: &mut Vm<'_>, src: &Src, n: usize) -> R<usize> {
    Ok(below_u64(vm, src, n as u64)? as usize)
}

/// A zeroed state: what `_random.Random.__new__` makes (a subclass whose `__init__` does not
/// seed draws zeros from it, as in CPython).
fn new_state(vm: &mut Vm<'_>, cls: ObjRef) -> ObjRef {
    let mut slots = vec![Value::Int(0); SLOTS];
    slots[N + 1] = Value::Obj(cls);
    obj_ref(vm.i.heap.alloc(Obj::Native(STATE, slots)))
}

fn obj_ref(v: Value) -> ObjRef {
    match v {
        Value::Obj(r) => r,
        _ => ObjRef(0),
    }
}

fn store(vm: &mut Vm<'_>, st: ObjRef, seeded: &Seeder) {
    let (words, index) = seeded.state();
    if let Obj::Native(STATE, slots) = vm.i.heap.get_mut(st) {
        for (slot, w) in slots.iter_mut().zip(words) {
            *slot = Value::Int(i64::from(*w));
        }
        slots[N] = Value::Int(index as i64);
    }
}

/// A seed for `seed(None)`. CPython reads 2,496 bytes of OS entropy; a browser worker has
/// none to read synchronously here, so: the host's clock, the process id, a counter (two
/// generators seeded in the same instant differ) and std's per-process hash keys.
fn entropy(vm: &Vm<'_>) -> Int {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let now = vm.i.host.now_ms().to_bits();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now);
    h.write_u32(n);
    h.write_u32(vm.i.pid);
    let h = h.finish();
    Int::from_u32_words(&[now as u32, (now >> 32) as u32, vm.i.pid, n, h as u32, (h >> 32) as u32])
}

// ---------------------------------------------------------------------------------------
// The class, `self`, and the arguments.

fn native(name: &str) -> Value {
    super::mp::native(name)
}

fn random_class(vm: &mut Vm<'_>) -> ObjRef {
    if let Some(c) = vm.i.types.natives.get(CLASS_KEY) {
        return *c;
    }
    let object = vm.i.types.object;
    let mut dict = Attrs::default();
    for (name, _) in NATIVE_FNS {
        if let Some(m) = name.strip_prefix("_random.Random.") {
            dict.insert(m.to_owned(), native(name));
        }
    }
    dict.insert("VERSION".into(), Value::Int(3));
    let module = vm.new_str("random".into());
    dict.insert("__module__".into(), module);
    let c = obj_ref(vm.i.heap.alloc(Obj::Class(Class {
        name: "Random".into(),
        qualname: "Random".into(),
        bases: vec![object],
        mro: Vec::new(),
        dict,
        builtin: None,
    })));
    if let Obj::Class(k) = vm.i.heap.get_mut(c) {
        k.mro = vec![c, object];
    }
    vm.i.types.natives.insert(CLASS_KEY, c);
    c
}

/// `self` of a method and its generator. `derived`: a method random.py builds on the
/// overridable ones (see [`HOOKS`]).
fn this(vm: &mut Vm<'_>, args: &[Value], method: &str, derived: bool) -> R<(Value, ObjRef)> {
    // The common case first: an instance with its state (only this module puts one there).
    if let Some(Value::Obj(r)) = args.first() {
        if let Obj::Instance(inst) = vm.i.heap.get(*r) {
            if let Some(Value::Obj(s)) = inst.dict.get(STATE_ATTR) {
                if let Obj::Native(STATE, slots) = vm.i.heap.get(*s) {
                    if !derived || slots.get(N + 1) == Some(&Value::Obj(inst.class)) {
                        return Ok((args[0], *s));
                    }
                }
            }
        }
    }
    let cls = random_class(vm);
    let Some(&me) = args.first() else {
        return Err(vm.exc("TypeError", &format!("unbound method Random.{method}() needs an argument")));
    };
    let found = match me {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Instance(inst) if vm.is_subclass(inst.class, cls) => {
                let st = match inst.dict.get(STATE_ATTR) {
                    Some(Value::Obj(s)) if matches!(vm.i.heap.get(*s), Obj::Native(STATE, _)) => Some(*s),
                    _ => None,
                };
                Some((r, inst.class, st))
            }
            _ => None,
        },
        _ => None,
    };
    let Some((r, class, st)) = found else {
        let t = vm.type_name(me);
        return Err(
            vm.exc("TypeError", &format!("descriptor '{method}' for 'Random' objects doesn't apply to a '{t}' object"))
        );
    };
    if derived && class != cls {
        for hook in HOOKS {
            let own = vm.class_lookup(class, hook);
            if !matches!(own, Some(Value::Native(id)) if NATIVES[id as usize].0.starts_with("_random.Random.")) {
                return Err(vm.exc(
                    "NotImplementedError",
                    &format!(
                        "Random.{method}() of a class that overrides Random.{hook}() is not supported by \
                         ThreadLab's Python yet"
                    ),
                ));
            }
        }
    }
    let st = match st {
        Some(s) => s,
        None => {
            let s = new_state(vm, cls);
            if let Obj::Instance(inst) = vm.i.heap.get_mut(r) {
                inst.dict.insert(STATE_ATTR.into(), Value::Obj(s));
            }
            s
        }
    };
    Ok((me, st))
}

/// Binds a random.py method's arguments (after `self`) to its parameters as a Python call
/// would, with CPython's messages: `pos` positional-or-keyword (the first `required` of them
/// required), then keyword-only `kwonly`.
fn bind(
    vm: &mut Vm<'_>,
    qual: &str,
    pos: &[&str],
    required: usize,
    kwonly: &[&str],
    args: &[Value],
    kw: &Kw,
) -> R<Vec<Option<Value>>> {
    let n = args.len().saturating_sub(1);
    if n > pos.len() {
        let takes = if required == pos.len() {
            format!("{} positional argument{}", pos.len() + 1, if pos.is_empty() { "" } else { "s" })
        } else {
            format!("from {} to {} positional arguments", required + 1, pos.len() + 1)
        };
        let were = if n + 1 == 1 { "was" } else { "were" };
        return Err(vm.exc("TypeError", &format!("{qual}() takes {takes} but {} {were} given", n + 1)));
    }
    let mut out: Vec<Option<Value>> = vec![None; pos.len() + kwonly.len()];
    for (i, v) in args.iter().skip(1).enumerate() {
        out[i] = Some(*v);
    }
    for (k, v) in kw {
        let at = pos.iter().chain(kwonly).position(|p| p == k);
        match at {
            None => {
                return Err(vm.exc("TypeError", &format!("{qual}() got an unexpected keyword argument '{k}'")));
            }
            Some(i) if out[i].is_some() => {
                return Err(vm.exc("TypeError", &format!("{qual}() got multiple values for argument '{k}'")));
            }
            Some(i) => out[i] = Some(*v),
        }
    }
    let missing: Vec<String> =
        pos[..required].iter().zip(&out).filter(|(_, v)| v.is_none()).map(|(p, _)| format!("'{p}'")).collect();
    if !missing.is_empty() {
        let list = match missing.len() {
            1 => missing[0].clone(),
            2 => format!("{} and {}", missing[0], missing[1]),
            _ => format!("{}, and {}", missing[..missing.len() - 1].join(", "), missing[missing.len() - 1]),
        };
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(
            vm.exc("TypeError", &format!("{qual}() missing {} required positional argument{s}: {list}", missing.len()))
        );
    }
    Ok(out)
}

/// A method written in C (`random`, `getrandbits`): positional only, a fixed count.
fn c_args(vm: &mut Vm<'_>, qual: &str, args: &[Value], kw: &Kw, n: usize) -> R<()> {
    if !kw.is_empty() {
        return Err(vm.exc("TypeError", &format!("{qual}() takes no keyword arguments")));
    }
    let given = args.len().saturating_sub(1);
    if given == n {
        return Ok(());
    }
    let msg = match n {
        0 => format!("{qual}() takes no arguments ({given} given)"),
        _ => format!("{qual}() takes exactly one argument ({given} given)"),
    };
    Err(vm.exc("TypeError", &msg))
}

fn attr(vm: &Vm<'_>, me: Value, name: &str) -> Option<Value> {
    match me {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Instance(i) => i.dict.get(name).copied(),
            _ => None,
        },
        _ => None,
    }
}

fn set_attr(vm: &mut Vm<'_>, me: Value, name: &str, v: Value) {
    if let Value::Obj(r) = me {
        if let Obj::Instance(i) = vm.i.heap.get_mut(r) {
            i.dict.insert(name.to_owned(), v);
        }
    }
}

/// A number as a C double, as `math`'s functions take it.
fn real(vm: &mut Vm<'_>, v: Value) -> R<f64> {
    match v {
        Value::Float(f) => Ok(f),
        Value::Int(n) => Ok(n as f64),
        Value::Bool(b) => Ok(f64::from(u8::from(b))),
        _ => match vm.int_any(v) {
            Some(i) => i.to_f64().map_err(|e| vm.num_err(e)),
            None => {
                let t = vm.type_name(v);
                Err(vm.exc("TypeError", &format!("must be real number, not {t}")))
            }
        },
    }
}

fn domain(vm: &mut Vm<'_>) -> Flow {
    vm.exc("ValueError", "math domain error")
}

fn m_log(vm: &mut Vm<'_>, x: f64) -> R<f64> {
    if x > 0.0 || x.is_nan() {
        Ok(libm::log(x))
    } else {
        Err(domain(vm))
    }
}

fn m_sqrt(vm: &mut Vm<'_>, x: f64) -> R<f64> {
    if x < 0.0 {
        Err(domain(vm))
    } else {
        Ok(x.sqrt())
    }
}

fn m_exp(vm: &mut Vm<'_>, x: f64) -> R<f64> {
    let r = libm::exp(x);
    if r.is_infinite() && x.is_finite() {
        Err(vm.exc("OverflowError", "math range error"))
    } else {
        Ok(r)
    }
}

fn bin(vm: &mut Vm<'_>, op: BinOp, a: Value, b: Value) -> R<Value> {
    vm.binary(op, a, b, false)
}

fn int_or_big(vm: &mut Vm<'_>, i: Int) -> Value {
    vm.int_value(i)
}

/// `len(v)`, through the builtin for anything but a list or a tuple.
fn seq_len(vm: &mut Vm<'_>, v: Value) -> R<usize> {
    if let Value::Obj(r) = v {
        if let Obj::List(items) | Obj::Tuple(items) = vm.i.heap.get(r) {
            return Ok(items.len());
        }
    }
    static LEN: std::sync::OnceLock<NativeFn> = std::sync::OnceLock::new();
    let f = *LEN.get_or_init(|| NATIVES.iter().find(|(n, _)| *n == "len").map(|(_, f)| *f).expect("len is a native"));
    match f(vm, &[v], &[])? {
        Value::Int(n) => Ok(usize::try_from(n).unwrap_or(0)),
        _ => Ok(0),
    }
}

/// `v[i]`.
fn seq_item(vm: &mut Vm<'_>, v: Value, i: usize) -> R<Value> {
    if let Value::Obj(r) = v {
        if let Obj::List(items) | Obj::Tuple(items) = vm.i.heap.get(r) {
            if let Some(x) = items.get(i) {
                return Ok(*x);
            }
        }
    }
    vm.getitem(v, Value::Int(i as i64))
}

fn is_exc(vm: &mut Vm<'_>, f: &Flow, kind: &str) -> bool {
    let (Flow::Exc(e), Some(k)) = (f, vm.i.builtins.get(kind).copied()) else { return false };
    vm.exc_matches(*e, k).unwrap_or(false)
}

/// `range(n)`'s count for `repeat(None, k)` and friends: an index, negative is none.
fn count(vm: &mut Vm<'_>, v: Value) -> R<usize> {
    let n = match v {
        Value::Int(n) => n,
        Value::Bool(b) => i64::from(b),
        _ if vm.is_big(v) => {
            return Err(vm.exc("OverflowError", "Python int too large to convert to C ssize_t"));
        }
        _ => {
            let t = vm.type_name(v);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    let n = usize::try_from(n).unwrap_or(0);
    if n > super::ops::MAX_SEQ {
        return Err(vm.seq_budget());
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Seeding and state.

fn seed_with(vm: &mut Vm<'_>, st: ObjRef, a: Value, version: Value) -> R<()> {
    // A str, or the VM's bytes (pickle.dumps makes them): code points and the bytes.
    let text = match vm.as_str(a) {
        Some(s) => Some((s.chars().map(u32::from).collect::<Vec<u32>>(), s.as_bytes().to_vec())),
        None => super::mp::pickle::bytes_of(vm, a).map(|b| (b.iter().map(|c| u32::from(*c)).collect(), b)),
    };
    let seeded = if let Some((chars, bytes)) = text {
        if vm.eq(version, Value::Int(1))? {
            // random.py's version 1 (bytes decoded as latin-1): a 64-bit hash of the code points.
            let mut x: u64 = chars.first().map_or(0, |c| u64::from(*c) << 7);
            for c in &chars {
                x = 1_000_003u64.wrapping_mul(x) ^ u64::from(*c);
            }
            x ^= chars.len() as u64;
            Seeder::from_seed(&Int::from(x))
        } else if vm.eq(version, Value::Int(2))? {
            let mut r = Seeder::from_seed(&Int::ZERO);
            r.seed_bytes(&bytes);
            r
        } else {
            // CPython seeds with hash(a), which changes with every process's hash seed.
            Seeder::from_seed(&entropy(vm))
        }
    } else if a == Value::None {
        Seeder::from_seed(&entropy(vm))
    } else if let Some(i) = vm.int_any(a) {
        Seeder::from_seed(&i)
    } else if let Value::Float(f) = a {
        // hash(f) as a C size_t; a NaN's hash is its address in 3.11 (no reproducible answer).
        match crate::core::py::num::bigint::py_hash_f64(f) {
            Some(h) => Seeder::from_seed(&Int::from(h as u64)),
            None => Seeder::from_seed(&entropy(vm)),
        }
    } else {
        return Err(
            vm.exc("TypeError", "The only supported seed types are: None,\nint, float, str, bytes, and bytearray.")
        );
    };
    store(vm, st, &seeded);
    Ok(())
}

fn r_init(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (me, st) = this(vm, args, "__init__", false)?;
    let a = bind(vm, "Random.__init__", &["x"], 0, &[], args, kw)?;
    let x = a[0].unwrap_or(Value::None);
    // `self.seed(x)`: a subclass's own seed() is called, as random.py does.
    let cls = random_class(vm);
    let class = match vm.class_of(me) {
        Value::Obj(c) => c,
        _ => cls,
    };
    match vm.class_lookup(class, "seed") {
        Some(Value::Native(id)) if NATIVES[id as usize].0 == "_random.Random.seed" => {
            seed_with(vm, st, x, Value::Int(2))?;
        }
        _ => {
            let (f, s) = vm.load_method(me, "seed")?;
            if s == Value::Null {
                vm.call_sync(f, &[x], &[])?;
            } else {
                vm.call_sync(f, &[s, x], &[])?;
            }
        }
    }
    set_attr(vm, me, "gauss_next", Value::None);
    Ok(Value::None)
}

fn r_seed(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (me, st) = this(vm, args, "seed", false)?;
    let a = bind(vm, "Random.seed", &["a", "version"], 0, &[], args, kw)?;
    seed_with(vm, st, a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::Int(2)))?;
    set_attr(vm, me, "gauss_next", Value::None);
    Ok(Value::None)
}

fn r_random(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "random", false)?;
    c_args(vm, "Random.random", args, kw, 0)?;
    Ok(Value::Float(random_f(vm, st)))
}

fn r_getrandbits(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "getrandbits", false)?;
    c_args(vm, "Random.getrandbits", args, kw, 1)?;
    let k = match vm.int_any(args[1]) {
        Some(k) => match k.to_i64().and_then(|k| i32::try_from(k).ok()) {
            Some(k) => i64::from(k),
            None => return Err(vm.exc("OverflowError", "Python int too large to convert to C int")),
        },
        None => {
            let t = vm.type_name(args[1]);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    if k < 0 {
        return Err(vm.exc("ValueError", "number of bits must be non-negative"));
    }
    let max = crate::core::py::num::bigint::DEFAULT_MAX_BITS;
    if k.unsigned_abs() > max {
        return Err(vm.exc("MemoryError", &format!("getrandbits({k}) is past ThreadLab's budget of {max} bits")));
    }
    let r = with_mt(vm, st, |g| g.bits(k.unsigned_abs()));
    Ok(int_or_big(vm, r))
}

fn r_getstate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (me, st) = this(vm, args, "getstate", false)?;
    bind(vm, "Random.getstate", &[], 0, &[], args, kw)?;
    let words: Vec<Value> = match vm.i.heap.get(st) {
        Obj::Native(STATE, slots) => slots[..=N].to_vec(),
        _ => vec![Value::Int(0); N + 1],
    };
    let inner = vm.i.heap.alloc(Obj::Tuple(words));
    let Some(gauss) = attr(vm, me, "gauss_next") else {
        let t = vm.type_name(me);
        return Err(vm.exc("AttributeError", &format!("'{t}' object has no attribute 'gauss_next'")));
    };
    Ok(vm.i.heap.alloc(Obj::Tuple(vec![Value::Int(3), inner, gauss])))
}

/// `_random.Random.setstate`: 624 words and an index.
fn c_setstate(vm: &mut Vm<'_>, st: ObjRef, state: Value) -> R<()> {
    let items = match state {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Tuple(items) => Some(items.clone()),
            _ => None,
        },
        _ => None,
    };
    let Some(items) = items else {
        return Err(vm.exc("TypeError", "state vector must be a tuple"));
    };
    if items.len() != N + 1 {
        return Err(vm.exc("ValueError", "state vector is the wrong size"));
    }
    let mut words = vec![Value::Int(0); N + 1];
    for (i, v) in items[..N].iter().enumerate() {
        let Some(x) = vm.int_any(*v) else {
            return Err(vm.exc("TypeError", "an integer is required"));
        };
        if x.is_negative() {
            return Err(vm.exc("OverflowError", "can't convert negative value to unsigned int"));
        }
        if x.bit_length() > 64 {
            return Err(vm.exc("OverflowError", "Python int too large to convert to C unsigned long"));
        }
        // An unsigned long cast to the 32-bit word, as the C code does.
        let low = x.bitand(&Int::from(0xffff_ffffu64)).to_i64().unwrap_or(0);
        words[i] = Value::Int(low);
    }
    let index = match vm.int_any(items[N]) {
        Some(x) => x.to_i64(),
        None => {
            let t = vm.type_name(items[N]);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    let Some(index) = index else {
        return Err(vm.exc("OverflowError", "Python int too large to convert to C long"));
    };
    if !(0..=N as i64).contains(&index) {
        return Err(vm.exc("ValueError", "invalid state"));
    }
    words[N] = Value::Int(index);
    if let Obj::Native(STATE, slots) = vm.i.heap.get_mut(st) {
        slots[..=N].copy_from_slice(&words);
    }
    Ok(())
}

fn r_setstate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (me, st) = this(vm, args, "setstate", false)?;
    let a = bind(vm, "Random.setstate", &["state"], 1, &[], args, kw)?;
    let state = a[0].unwrap_or(Value::None);
    let version = vm.getitem(state, Value::Int(0))?;
    let v3 = vm.eq(version, Value::Int(3))?;
    if v3 || vm.eq(version, Value::Int(2))? {
        let parts = vm.unpack_items(state, 4)?;
        if parts.len() != 3 {
            let msg = if parts.len() > 3 {
                "too many values to unpack (expected 3)".to_owned()
            } else {
                format!("not enough values to unpack (expected 3, got {})", parts.len())
            };
            return Err(vm.exc("ValueError", &msg));
        }
        set_attr(vm, me, "gauss_next", parts[2]);
        let mut inner = parts[1];
        if !v3 {
            // Version 2 kept the words as signed ints: `x % 2**32` each.
            let mut words = Vec::new();
            for x in vm.iterate(inner)? {
                words.push(bin(vm, BinOp::Mod, x, Value::Int(1 << 32))?);
            }
            inner = vm.i.heap.alloc(Obj::Tuple(words));
        }
        c_setstate(vm, st, inner)?;
        return Ok(Value::None);
    }
    let v = vm.str_of(version)?;
    Err(vm.exc("ValueError", &format!("state with version {v} passed to Random.setstate() of version 3")))
}

// ---------------------------------------------------------------------------------------
// Integers.

/// Where random.py's `_warn(..., DeprecationWarning, 2)` lands: shown (once per line) only
/// when the caller is the main module, as CPython's default filters do; `direct` is false
/// when random.py itself is the caller (`randint`), whose warnings are ignored.
fn deprecation(vm: &mut Vm<'_>, direct: bool, msg: &str) {
    if !direct {
        return;
    }
    let main = vm.i.global_names.index.get("__name__").and_then(|&s| vm.i.globals.get(s as usize).copied());
    if main.and_then(|v| vm.as_str(v)) != Some("__main__") {
        return;
    }
    let line = super::vm::current_line(vm.i, vm.t);
    let key = format!("{line}:{msg}");
    let Some(Value::Obj(m)) = vm.i.modules.get("random").copied() else { return };
    let shown = match vm.i.heap.get(m) {
        Obj::Module(_, attrs) => attrs.get("_warned").copied(),
        _ => None,
    };
    let shown = match shown {
        Some(s) => s,
        None => {
            let Ok(s) = vm.new_set(&[]) else { return };
            if let Obj::Module(_, attrs) = vm.i.heap.get_mut(m) {
                attrs.insert("_warned".into(), s);
            }
            s
        }
    };
    let k = vm.new_str(key);
    if vm.contains(shown, k).unwrap_or(true) || vm.set_add(shown, k).is_err() {
        return;
    }
    let source = vm.i.source_lines.get(line.saturating_sub(1) as usize).map_or("", |s| s.trim()).to_owned();
    let text = format!("<cell>:{line}: DeprecationWarning: {msg}\n  {source}\n");
    let lane = vm.t.lane;
    vm.i.write(crate::core::program::Stream::Stderr, lane, &text);
}

/// random.py's `_index(x)` with its fallback for a float (or anything `int()` takes) that
/// is whole, and its `ValueError` for one that is not. `what`: "arg 1", "stop", "step".
fn index_arg(vm: &mut Vm<'_>, v: Value, what: &str, direct: bool) -> R<Int> {
    if let Some(i) = vm.int_any(v) {
        return Ok(i);
    }
    if let Value::Obj(r) = v {
        if matches!(vm.i.heap.get(r), Obj::Instance(_)) {
            if let Some(m) = vm.lookup_attr(v, "__index__")? {
                let x = vm.call_sync(m, &[], &[])?;
                return match vm.int_any(x) {
                    Some(i) => Ok(i),
                    None => {
                        let t = vm.type_name(x);
                        Err(vm.exc("TypeError", &format!("__index__ returned non-int (type {t})")))
                    }
                };
            }
        }
    }
    let i = super::bigops::int_new(vm, &[v], None)?;
    if !vm.eq(i, v)? {
        deprecation(vm, direct, "randrange() will raise TypeError in the future");
        return Err(vm.exc("ValueError", &format!("non-integer {what} for randrange()")));
    }
    deprecation(
        vm,
        direct,
        "non-integer arguments to randrange() have been deprecated since Python 3.10 and will be removed in a \
         subsequent version",
    );
    Ok(vm.int_any(i).unwrap_or(Int::ZERO))
}

/// `randrange(start, stop=None, step=1)`; `step` is `None` when not given (random.py's
/// `step is not _ONE` test: an explicit 1 is that same object, `True` or `1.0` is not).
fn randrange(vm: &mut Vm<'_>, st: &Src, start: Value, stop: Value, step: Option<Value>, direct: bool) -> R<Value> {
    // The common case: small ints, unit step.
    if let (Value::Int(a), Value::Int(b), None | Some(Value::Int(1))) = (start, stop, step) {
        if let Some(w) = b.checked_sub(a).filter(|w| *w > 0) {
            let r = below_u64(vm, st, w as u64)? as i64;
            return Ok(Value::Int(a + r));
        }
    }
    let istart = index_arg(vm, start, "arg 1", direct)?;
    if stop == Value::None {
        if step.is_some_and(|s| s != Value::Int(1)) {
            return Err(vm.exc("TypeError", "Missing a non-None stop argument"));
        }
        if istart.signum() > 0 {
            let r = below_src(vm, st, &istart)?;
            return Ok(int_or_big(vm, r));
        }
        return Err(vm.exc("ValueError", "empty range for randrange()"));
    }
    let istop = index_arg(vm, stop, "stop", direct)?;
    let width = istop.sub(&istart);
    let istep = match step {
        None => Int::Small(1),
        Some(s) => index_arg(vm, s, "step", direct)?,
    };
    let one = Int::Small(1);
    if istep == one {
        if width.signum() > 0 {
            let r = below_src(vm, st, &width)?;
            return Ok(int_or_big(vm, istart.add(&r)));
        }
        return Err(vm.exc("ValueError", &format!("empty range for randrange() ({istart}, {istop}, {width})")));
    }
    let n = match istep.signum() {
        1 => width.add(&istep).sub(&one).floordiv(&istep),
        -1 => width.add(&istep).add(&one).floordiv(&istep),
        _ => return Err(vm.exc("ValueError", "zero step for randrange()")),
    };
    let n = n.map_err(|e| vm.num_err(e))?;
    if n.signum() <= 0 {
        return Err(vm.exc("ValueError", "empty range for randrange()"));
    }
    let r = below_src(vm, st, &n)?;
    Ok(int_or_big(vm, istart.add(&istep.mul(&r))))
}

fn r_randrange(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "randrange", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.randrange", &["start", "stop", "step"], 1, &[], args, kw)?;
    randrange(vm, st, a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::None), a[2], true)
}

fn r_randint(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "randint", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.randint", &["a", "b"], 2, &[], args, kw)?;
    let (lo, hi) = (a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::None));
    let stop = match hi {
        Value::Int(b) if b < i64::MAX => Value::Int(b + 1),
        _ => bin(vm, BinOp::Add, hi, Value::Int(1))?,
    };
    randrange(vm, st, lo, stop, None, false)
}

fn r_randbelow(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "_randbelow", false)?;
    let a = bind(vm, "Random._randbelow_with_getrandbits", &["n"], 1, &[], args, kw)?;
    let n = a[0].unwrap_or(Value::None);
    let Some(n) = vm.int_any(n) else {
        let t = vm.type_name(n);
        return Err(vm.exc("AttributeError", &format!("'{t}' object has no attribute 'bit_length'")));
    };
    // random.py's "defined for n > 0": for 0 or less its loop never ends (a clear error here,
    // not a hang holding the GIL).
    if n.signum() <= 0 {
        return Err(vm.exc("ValueError", "_randbelow(n) is defined for n > 0 only (CPython's loops for ever)"));
    }
    let r = with_mt(vm, st, |g| g.below_int(&n));
    Ok(int_or_big(vm, r))
}

fn r_randbytes(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Err(vm
        .exc("NotImplementedError", "random.randbytes() is not supported by ThreadLab's Python yet (it has no bytes)"))
}

fn system_random(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Err(vm.exc(
        "NotImplementedError",
        "random.SystemRandom is not supported by ThreadLab's Python (a browser worker has no OS entropy to read)",
    ))
}

// ---------------------------------------------------------------------------------------
// Sequences.

fn r_choice(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "choice", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.choice", &["seq"], 1, &[], args, kw)?;
    let seq = a[0].unwrap_or(Value::None);
    let n = seq_len(vm, seq)?;
    if n == 0 {
        return Err(vm.exc("IndexError", "Cannot choose from an empty sequence"));
    }
    let i = below_n(vm, st, n)?;
    seq_item(vm, seq, i)
}

fn r_shuffle(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "shuffle", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.shuffle", &["x"], 1, &[], args, kw)?;
    let x = a[0].unwrap_or(Value::None);
    let n = seq_len(vm, x)?;
    for i in (1..n).rev() {
        let j = below_n(vm, st, i + 1)?;
        if let Value::Obj(r) = x {
            if let Obj::List(items) = vm.i.heap.get_mut(r) {
                if i < items.len() {
                    items.swap(i, j);
                    continue;
                }
            }
        }
        // `x[i], x[j] = x[j], x[i]`
        let xj = vm.getitem(x, Value::Int(j as i64))?;
        let xi = vm.getitem(x, Value::Int(i as i64))?;
        vm.setitem(x, Value::Int(i as i64), xj)?;
        vm.setitem(x, Value::Int(j as i64), xi)?;
    }
    Ok(Value::None)
}

/// `isinstance(v, collections.abc.Sequence)` for the VM's types.
fn is_sequence(vm: &Vm<'_>, v: Value) -> bool {
    match v {
        Value::Obj(r) => matches!(
            vm.i.heap.get(r),
            Obj::List(_) | Obj::Tuple(_) | Obj::Str(_) | Obj::Range(..) | Obj::Native(super::bigops::BIGRANGE, _)
        ),
        _ => false,
    }
}

/// `bisect.bisect_right(a, x, lo, hi)`.
fn bisect(vm: &mut Vm<'_>, a: &[Value], x: Value, hi: usize) -> R<usize> {
    let (mut lo, mut hi) = (0, hi);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let lt = match (x, a[mid]) {
            (Value::Float(x), Value::Float(y)) => x < y,
            (x, y) => vm.less(CmpOp::Lt, x, y)?,
        };
        if lt {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// `list(itertools.accumulate(xs))`.
fn accumulate(vm: &mut Vm<'_>, xs: Value) -> R<Vec<Value>> {
    let items = vm.iterate(xs)?;
    let mut out = Vec::with_capacity(items.len());
    let mut acc: Option<Value> = None;
    for x in items {
        let next = match acc {
            None => x,
            Some(a) => bin(vm, BinOp::Add, a, x)?,
        };
        out.push(next);
        acc = Some(next);
    }
    Ok(out)
}

/// random.py's `setsize`: a list of `n` is smaller than a set of `k` when `n <= setsize`.
fn setsize(k: usize) -> usize {
    let mut s = 21usize;
    if k > 5 {
        // 4 ** ceil(log(k * 3, 4)), with math.log's two logarithms and one division.
        let e = libm::log((k * 3) as f64) / libm::log(4.0);
        s += 4usize.saturating_pow(e.ceil() as u32);
    }
    s
}

/// The indices `sample` takes from a population of `n`, in selection order (random.py's
/// pool branch when `n <= setsize(k)`, its set branch otherwise).
fn sample_indices(vm: &mut Vm<'_>, st: &Src, n: usize, k: usize) -> R<Vec<usize>> {
    let mut result = Vec::with_capacity(k);
    if n <= setsize(k) {
        let mut pool: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = below_n(vm, st, n - i)?;
            result.push(pool[j]);
            pool[j] = pool[n - i - 1];
        }
    } else {
        let mut selected = std::collections::HashSet::with_capacity(k);
        for _ in 0..k {
            let mut j = below_n(vm, st, n)?;
            while selected.contains(&j) {
                j = below_n(vm, st, n)?;
            }
            selected.insert(j);
            result.push(j);
        }
    }
    Ok(result)
}

/// `0 <= k <= n` then `[None] * k`, as random.py checks and uses `k`.
fn sample_k(vm: &mut Vm<'_>, k: Value, n: usize) -> R<usize> {
    let nv = Value::Int(n as i64);
    if !(vm.less(CmpOp::Le, Value::Int(0), k)? && vm.less(CmpOp::Le, k, nv)?) {
        return Err(vm.exc("ValueError", "Sample larger than population or is negative"));
    }
    match vm.int_any(k).and_then(|k| k.to_i64()) {
        Some(k) => Ok(usize::try_from(k).unwrap_or(0)),
        None => {
            let t = vm.type_name(k);
            Err(vm.exc("TypeError", &format!("can't multiply sequence by non-int of type '{t}'")))
        }
    }
}

fn r_sample(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "sample", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.sample", &["population", "k"], 2, &["counts"], args, kw)?;
    let (population, k) = (a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::None));
    if !is_sequence(vm, population) {
        return Err(vm.exc("TypeError", "Population must be a sequence.  For dicts or sets, use sorted(d)."));
    }
    let n = seq_len(vm, population)?;
    if let Some(counts) = a[2].filter(|c| *c != Value::None) {
        let mut cum = accumulate(vm, counts)?;
        if cum.len() != n {
            return Err(vm.exc("ValueError", "The number of counts does not match the population"));
        }
        let Some(total) = cum.pop() else {
            return Err(vm.exc("IndexError", "pop from empty list"));
        };
        let Some(total) = vm.int_any(total) else {
            return Err(vm.exc("TypeError", "Counts must be integers"));
        };
        if total.signum() <= 0 {
            return Err(vm.exc("ValueError", "Total of counts must be greater than zero"));
        }
        // self.sample(range(total), k=k)
        let Some(total) = total.to_i64().and_then(|t| usize::try_from(t).ok()) else {
            return Err(vm.exc("OverflowError", "Python int too large to convert to C ssize_t"));
        };
        let k = sample_k(vm, k, total)?;
        let selections = sample_indices(vm, st, total, k)?;
        let mut out = Vec::with_capacity(k);
        for s in selections {
            let i = bisect(vm, &cum, Value::Int(s as i64), cum.len())?;
            out.push(seq_item(vm, population, i)?);
        }
        return Ok(vm.i.heap.alloc(Obj::List(out)));
    }
    let k = sample_k(vm, k, n)?;
    let picks = sample_indices(vm, st, n, k)?;
    let mut out = Vec::with_capacity(k);
    if n <= setsize(k) {
        // `pool = list(population)`: a str's characters, a range's ints.
        let pool = vm.iterate(population)?;
        for i in picks {
            out.push(pool.get(i).copied().unwrap_or(Value::None));
        }
    } else {
        for i in picks {
            out.push(seq_item(vm, population, i)?);
        }
    }
    Ok(vm.i.heap.alloc(Obj::List(out)))
}

fn r_choices(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "choices", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.choices", &["population", "weights"], 1, &["cum_weights", "k"], args, kw)?;
    let population = a[0].unwrap_or(Value::None);
    let weights = a[1].unwrap_or(Value::None);
    let cum_weights = a[2].unwrap_or(Value::None);
    let k = a[3].unwrap_or(Value::Int(1));
    let n = seq_len(vm, population)?;
    let cum: Vec<Value> = if cum_weights == Value::None {
        if weights == Value::None {
            let k = count(vm, k)?;
            let nf = n as f64;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                let i = (draw(vm, st)? * nf).floor() as usize;
                out.push(seq_item(vm, population, i)?);
            }
            return Ok(vm.i.heap.alloc(Obj::List(out)));
        }
        match accumulate(vm, weights) {
            Ok(c) => c,
            Err(e) => {
                if is_exc(vm, &e, "TypeError") && vm.int_any(weights).is_some() {
                    let r = vm.repr(weights)?;
                    return Err(
                        vm.exc("TypeError", &format!("The number of choices must be a keyword argument: k={r}"))
                    );
                }
                return Err(e);
            }
        }
    } else if weights != Value::None {
        return Err(vm.exc("TypeError", "Cannot specify both weights and cumulative weights"));
    } else {
        let len = seq_len(vm, cum_weights)?;
        let mut c = Vec::with_capacity(len);
        for i in 0..len {
            c.push(seq_item(vm, cum_weights, i)?);
        }
        c
    };
    if cum.len() != n {
        return Err(vm.exc("ValueError", "The number of weights does not match the population"));
    }
    let Some(&last) = cum.last() else {
        return Err(vm.exc("IndexError", "list index out of range"));
    };
    let total = bin(vm, BinOp::Add, last, Value::Float(0.0))?;
    if vm.less(CmpOp::Le, total, Value::Float(0.0))? {
        return Err(vm.exc("ValueError", "Total of weights must be greater than zero"));
    }
    let t = real(vm, total)?;
    if !t.is_finite() {
        return Err(vm.exc("ValueError", "Total of weights must be finite"));
    }
    let k = count(vm, k)?;
    let hi = n - 1;
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        let r = draw(vm, st)?;
        let x = bin(vm, BinOp::Mul, Value::Float(r), total)?;
        let i = bisect(vm, &cum, x, hi)?;
        out.push(seq_item(vm, population, i)?);
    }
    Ok(vm.i.heap.alloc(Obj::List(out)))
}

// ---------------------------------------------------------------------------------------
// Real-valued distributions.

fn r_uniform(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "uniform", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.uniform", &["a", "b"], 2, &[], args, kw)?;
    let (lo, hi) = (a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::None));
    if let (Value::Float(x), Value::Float(y)) = (lo, hi) {
        return Ok(Value::Float(x + (y - x) * draw(vm, st)?));
    }
    let width = bin(vm, BinOp::Sub, hi, lo)?;
    let r = Value::Float(draw(vm, st)?);
    let d = bin(vm, BinOp::Mul, width, r)?;
    bin(vm, BinOp::Add, lo, d)
}

fn r_triangular(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "triangular", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.triangular", &["low", "high", "mode"], 0, &[], args, kw)?;
    let mut low = a[0].unwrap_or(Value::Float(0.0));
    let mut high = a[1].unwrap_or(Value::Float(1.0));
    let mode = a[2].unwrap_or(Value::None);
    let mut u = Value::Float(draw(vm, st)?);
    let mut c = if mode == Value::None {
        Value::Float(0.5)
    } else {
        let num = bin(vm, BinOp::Sub, mode, low)?;
        let den = bin(vm, BinOp::Sub, high, low)?;
        match bin(vm, BinOp::Div, num, den) {
            Ok(c) => c,
            Err(e) if is_exc(vm, &e, "ZeroDivisionError") => return Ok(low),
            Err(e) => return Err(e),
        }
    };
    if vm.less(CmpOp::Gt, u, c)? {
        u = bin(vm, BinOp::Sub, Value::Float(1.0), u)?;
        c = bin(vm, BinOp::Sub, Value::Float(1.0), c)?;
        std::mem::swap(&mut low, &mut high);
    }
    let uc = bin(vm, BinOp::Mul, u, c)?;
    let uc = real(vm, uc)?;
    let root = Value::Float(m_sqrt(vm, uc)?);
    let width = bin(vm, BinOp::Sub, high, low)?;
    let d = bin(vm, BinOp::Mul, width, root)?;
    bin(vm, BinOp::Add, low, d)
}

/// `x ** e` for a float `x`: C's `pow` (see [`libm`]) where it is a plain positive power,
/// the VM's `**` for its special cases and errors.
fn float_pow(vm: &mut Vm<'_>, x: f64, e: Value) -> R<Value> {
    if let Value::Float(y) = e {
        if x > 0.0 && x.is_finite() && y.is_finite() {
            let r = libm::pow(x, y);
            if r.is_finite() {
                return Ok(Value::Float(r));
            }
        }
    }
    bin(vm, BinOp::Pow, Value::Float(x), e)
}

/// `mu + z * sigma`.
fn shift_scale(vm: &mut Vm<'_>, mu: Value, z: Value, sigma: Value) -> R<Value> {
    if let (Value::Float(m), Value::Float(z), Value::Float(s)) = (mu, z, sigma) {
        return Ok(Value::Float(m + z * s));
    }
    let zs = bin(vm, BinOp::Mul, z, sigma)?;
    bin(vm, BinOp::Add, mu, zs)
}

/// Kinderman and Monahan's `z` of `normalvariate`.
fn normal_z(vm: &mut Vm<'_>, st: &Src) -> R<f64> {
    let magic = 4.0 * libm::exp(-0.5) / 2.0f64.sqrt();
    loop {
        let u1 = draw(vm, st)?;
        let u2 = 1.0 - draw(vm, st)?;
        let z = magic * (u1 - 0.5) / u2;
        let zz = z * z / 4.0;
        if zz <= -libm::log(u2) {
            return Ok(z);
        }
    }
}

fn r_normalvariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "normalvariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.normalvariate", &["mu", "sigma"], 0, &[], args, kw)?;
    let z = normal_z(vm, st)?;
    shift_scale(vm, a[0].unwrap_or(Value::Float(0.0)), Value::Float(z), a[1].unwrap_or(Value::Float(1.0)))
}

fn r_gauss(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (me, st) = this(vm, args, "gauss", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.gauss", &["mu", "sigma"], 0, &[], args, kw)?;
    let z = attr(vm, me, "gauss_next").unwrap_or(Value::None);
    set_attr(vm, me, "gauss_next", Value::None);
    let z = if z == Value::None {
        let x2pi = draw(vm, st)? * std::f64::consts::TAU;
        let g2rad = (-2.0 * libm::log(1.0 - draw(vm, st)?)).sqrt();
        set_attr(vm, me, "gauss_next", Value::Float(libm::sin(x2pi) * g2rad));
        Value::Float(libm::cos(x2pi) * g2rad)
    } else {
        z
    };
    shift_scale(vm, a[0].unwrap_or(Value::Float(0.0)), z, a[1].unwrap_or(Value::Float(1.0)))
}

fn r_lognormvariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "lognormvariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.lognormvariate", &["mu", "sigma"], 2, &[], args, kw)?;
    let z = normal_z(vm, st)?;
    let v = shift_scale(vm, a[0].unwrap_or(Value::None), Value::Float(z), a[1].unwrap_or(Value::None))?;
    let x = real(vm, v)?;
    Ok(Value::Float(m_exp(vm, x)?))
}

fn r_expovariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "expovariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.expovariate", &["lambd"], 1, &[], args, kw)?;
    let x = -libm::log(1.0 - draw(vm, st)?);
    bin(vm, BinOp::Div, Value::Float(x), a[0].unwrap_or(Value::None))
}

fn r_vonmisesvariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "vonmisesvariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.vonmisesvariate", &["mu", "kappa"], 2, &[], args, kw)?;
    let (mu, kappa) = (a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::None));
    let tau = std::f64::consts::TAU;
    if vm.less(CmpOp::Le, kappa, Value::Float(1e-6))? {
        return Ok(Value::Float(tau * draw(vm, st)?));
    }
    let s = bin(vm, BinOp::Div, Value::Float(0.5), kappa)?;
    let s = real(vm, s)?;
    let r = s + (1.0 + s * s).sqrt();
    let z = loop {
        let u1 = draw(vm, st)?;
        let z = libm::cos(std::f64::consts::PI * u1);
        let d = z / (r + z);
        let u2 = draw(vm, st)?;
        if u2 < 1.0 - d * d || u2 <= (1.0 - d) * libm::exp(d) {
            break z;
        }
    };
    let q = 1.0 / r;
    let f = (q + z) / (1.0 + q * z);
    let u3 = draw(vm, st)?;
    if !(-1.0..=1.0).contains(&f) {
        return Err(domain(vm));
    }
    let op = if u3 > 0.5 { BinOp::Add } else { BinOp::Sub };
    let t = bin(vm, op, mu, Value::Float(f.acos()))?;
    bin(vm, BinOp::Mod, t, Value::Float(tau))
}

/// `gammavariate(alpha, beta)` once `alpha > 0.0 and beta > 0.0` held: its `x`.
fn gamma_x(vm: &mut Vm<'_>, st: &Src, alpha: f64) -> R<f64> {
    if alpha > 1.0 {
        // Cheng's algorithm (random.py's constants: LOG4, SG_MAGICCONST).
        let log4 = libm::log(4.0);
        let sg_magic = 1.0 + libm::log(4.5);
        let ainv = m_sqrt(vm, 2.0 * alpha - 1.0)?;
        let bbb = alpha - log4;
        let ccc = alpha + ainv;
        loop {
            let u1 = draw(vm, st)?;
            if !(1e-7 < u1 && u1 < 0.999_999_9) {
                continue;
            }
            let u2 = 1.0 - draw(vm, st)?;
            let v = libm::log(u1 / (1.0 - u1)) / ainv;
            let x = alpha * libm::exp(v);
            let z = u1 * u1 * u2;
            let r = bbb + ccc * v - x;
            if r + sg_magic - 4.5 * z >= 0.0 || r >= m_log(vm, z)? {
                return Ok(x);
            }
        }
    } else if alpha == 1.0 {
        Ok(-libm::log(1.0 - draw(vm, st)?))
    } else {
        let e = std::f64::consts::E;
        loop {
            let u = draw(vm, st)?;
            let b = (e + alpha) / e;
            let p = b * u;
            let x = if p <= 1.0 { libm::pow(p, 1.0 / alpha) } else { -m_log(vm, (b - p) / alpha)? };
            let u1 = draw(vm, st)?;
            if p > 1.0 {
                if u1 <= libm::pow(x, alpha - 1.0) {
                    return Ok(x);
                }
            } else if u1 <= libm::exp(-x) {
                return Ok(x);
            }
        }
    }
}

fn gamma(vm: &mut Vm<'_>, st: &Src, alpha: Value, beta: Value) -> R<Value> {
    if vm.less(CmpOp::Le, alpha, Value::Float(0.0))? || vm.less(CmpOp::Le, beta, Value::Float(0.0))? {
        return Err(vm.exc("ValueError", "gammavariate: alpha and beta must be > 0.0"));
    }
    let al = real(vm, alpha)?;
    let x = gamma_x(vm, st, al)?;
    bin(vm, BinOp::Mul, Value::Float(x), beta)
}

fn r_gammavariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "gammavariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.gammavariate", &["alpha", "beta"], 2, &[], args, kw)?;
    gamma(vm, st, a[0].unwrap_or(Value::None), a[1].unwrap_or(Value::None))
}

fn r_betavariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "betavariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.betavariate", &["alpha", "beta"], 2, &[], args, kw)?;
    let y = gamma(vm, st, a[0].unwrap_or(Value::None), Value::Float(1.0))?;
    if vm.truthy(y)? {
        let y2 = gamma(vm, st, a[1].unwrap_or(Value::None), Value::Float(1.0))?;
        let s = bin(vm, BinOp::Add, y, y2)?;
        return bin(vm, BinOp::Div, y, s);
    }
    Ok(Value::Float(0.0))
}

fn r_paretovariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "paretovariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.paretovariate", &["alpha"], 1, &[], args, kw)?;
    let u = 1.0 - draw(vm, st)?;
    let e = bin(vm, BinOp::Div, Value::Float(-1.0), a[0].unwrap_or(Value::None))?;
    float_pow(vm, u, e)
}

fn r_weibullvariate(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, st) = this(vm, args, "weibullvariate", true)?;
    let st = &source(vm, args[0], st)?;
    let a = bind(vm, "Random.weibullvariate", &["alpha", "beta"], 2, &[], args, kw)?;
    let u = 1.0 - draw(vm, st)?;
    let e = bin(vm, BinOp::Div, Value::Float(1.0), a[1].unwrap_or(Value::None))?;
    let l = m_log(vm, u)?;
    let p = float_pow(vm, -l, e)?;
    bin(vm, BinOp::Mul, a[0].unwrap_or(Value::None), p)
}

// ---------------------------------------------------------------------------------------
// Crossing to another process (`mp::pickle`): CPython pickles a `Random` by its state
// (`__reduce__`), so a child gets a generator that draws what the parent's would.

/// Whether `cls` is `random.Random` (pickled by name, found again in the child).
#[must_use]
pub fn is_class(vm: &Vm<'_>, cls: ObjRef) -> bool {
    vm.i.types.natives.get(CLASS_KEY) == Some(&cls)
}

/// `random.Random` of this process.
pub fn class(vm: &mut Vm<'_>) -> Value {
    Value::Obj(random_class(vm))
}

/// How many words a state pickles to: the generator's words and its index.
pub const STATE_WORDS: usize = N + 1;

/// A state object's words and index (`None` for another object).
#[must_use]
pub fn state_words(vm: &Vm<'_>, st: ObjRef) -> Option<Vec<i64>> {
    match vm.i.heap.get(st) {
        Obj::Native(STATE, slots) if slots.len() == SLOTS => {
            Some(slots[..STATE_WORDS].iter().map(|v| if let Value::Int(n) = v { *n } else { 0 }).collect())
        }
        _ => None,
    }
}

/// A state object from [`state_words`]' words, in this process.
pub fn state_from_words(vm: &mut Vm<'_>, words: &[i64]) -> Value {
    let cls = random_class(vm);
    let st = new_state(vm, cls);
    if let Obj::Native(STATE, slots) = vm.i.heap.get_mut(st) {
        for (slot, w) in slots.iter_mut().zip(words.iter().take(STATE_WORDS)) {
            // Words are u32 and the index at most N: whatever else came is clamped, never a panic.
            *slot = Value::Int((*w).clamp(0, i64::from(u32::MAX)));
        }
        if let Value::Int(i) = slots[N] {
            slots[N] = Value::Int(i.min(N as i64));
        }
    }
    Value::Obj(st)
}

// ---------------------------------------------------------------------------------------
// The module.

/// The module's functions: random.py's `_inst`'s bound methods.
const FUNCTIONS: &[&str] = &[
    "seed",
    "random",
    "uniform",
    "triangular",
    "randint",
    "choice",
    "randrange",
    "sample",
    "shuffle",
    "choices",
    "normalvariate",
    "lognormvariate",
    "expovariate",
    "vonmisesvariate",
    "gammavariate",
    "gauss",
    "betavariate",
    "paretovariate",
    "weibullvariate",
    "getstate",
    "setstate",
    "getrandbits",
    "randbytes",
];

/// `import random`: `None` for another name.
pub fn import(vm: &mut Vm<'_>, name: &str) -> Option<R<Value>> {
    if name != "random" {
        return None;
    }
    if let Some(m) = vm.i.modules.get(name) {
        return Some(Ok(*m));
    }
    let cls = random_class(vm);
    let inst = vm.i.heap.alloc(Obj::Instance(Instance { class: cls, dict: Attrs::default(), exc: None }));
    // `_inst = Random()`: seeded from entropy.
    if let Err(e) = r_init(vm, &[inst], &[]) {
        return Some(Err(e));
    }
    let mut attrs = Attrs::default();
    for f in FUNCTIONS {
        let m = native(&format!("_random.Random.{f}"));
        let bound = vm.i.heap.alloc(Obj::Bound(inst, m));
        attrs.insert((*f).to_owned(), bound);
    }
    attrs.insert("Random".into(), Value::Obj(cls));
    attrs.insert("SystemRandom".into(), native("_random.SystemRandom"));
    attrs.insert("_inst".into(), inst);
    // random.py's `__all__` (what `from random import *` takes).
    // Sorted as Strings, with the sort the compiler already uses: a sort of `&str`s of its
    // own was 9 KB of the VM's wasm.
    let mut all: Vec<String> = FUNCTIONS.iter().chain(&["Random", "SystemRandom"]).map(|n| (*n).to_owned()).collect();
    all.sort();
    let names: Vec<Value> = all.into_iter().map(|n| vm.new_str(n)).collect();
    let all = vm.i.heap.alloc(Obj::List(names));
    attrs.insert("__all__".into(), all);
    attrs.insert("BPF".into(), Value::Int(53));
    attrs.insert("RECIP_BPF".into(), Value::Float(2f64.powi(-53)));
    attrs.insert("TWOPI".into(), Value::Float(std::f64::consts::TAU));
    let m = vm.i.heap.alloc(Obj::Module(name.into(), attrs));
    vm.i.modules.insert(name.into(), m);
    Some(Ok(m))
}

/// This module's natives (appended to `builtins::NATIVES`).
pub const NATIVE_FNS: &[(&str, NativeFn)] = &[
    ("_random.Random.__init__", r_init),
    ("_random.Random.seed", r_seed),
    ("_random.Random.random", r_random),
    ("_random.Random.getrandbits", r_getrandbits),
    ("_random.Random.getstate", r_getstate),
    ("_random.Random.setstate", r_setstate),
    ("_random.Random.randrange", r_randrange),
    ("_random.Random.randint", r_randint),
    ("_random.Random._randbelow", r_randbelow),
    ("_random.Random.randbytes", r_randbytes),
    ("_random.Random.choice", r_choice),
    ("_random.Random.shuffle", r_shuffle),
    ("_random.Random.sample", r_sample),
    ("_random.Random.choices", r_choices),
    ("_random.Random.uniform", r_uniform),
    ("_random.Random.triangular", r_triangular),
    ("_random.Random.normalvariate", r_normalvariate),
    ("_random.Random.gauss", r_gauss),
    ("_random.Random.lognormvariate", r_lognormvariate),
    ("_random.Random.expovariate", r_expovariate),
    ("_random.Random.vonmisesvariate", r_vonmisesvariate),
    ("_random.Random.gammavariate", r_gammavariate),
    ("_random.Random.betavariate", r_betavariate),
    ("_random.Random.paretovariate", r_paretovariate),
    ("_random.Random.weibullvariate", r_weibullvariate),
    ("_random.SystemRandom", system_random),
];

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::tests::run;

    #[test]
    fn what_random_does_not_support_is_a_clear_error_naming_the_line() {
        for (src, line, what) in [
            ("import random\nx = 1\nrandom.randbytes(4)\n", 3, "random.randbytes() is not supported"),
            ("import random\nr = random.SystemRandom()\n", 2, "random.SystemRandom is not supported"),
            (
                "import random\nclass R(random.Random):\n    def randrange(self, a, b=None):\n        return 4\n\nr = R(1)\nprint(r.randrange(9))\nr.randint(1, 6)\n",
                8,
                "Random.randint() of a class that overrides Random.randrange() is not supported",
            ),
        ] {
            let r = run(src);
            let e = r.error.unwrap_or_else(|| panic!("{src}: no error"));
            assert_eq!((e.kind.as_str(), e.line), ("NotImplementedError", line), "{src}");
            assert!(e.message.contains(what), "{src}: {}", e.message);
        }
        // The override itself runs, and what does not depend on it works.
        let r = run(
            "import random\nclass R(random.Random):\n    def random(self):\n        return 0.5\n\nr = R(1)\nprint(r.random(), r.getrandbits(8))\n",
        );
        // CPython 3.11 prints the same (`python3 -c`).
        assert_eq!(r.stdout, "0.5 34\n", "{:?}", r.error);
    }

    #[test]
    fn an_unseeded_generator_differs_from_run_to_run() {
        // CPython seeds from OS entropy; here from the host's clock, the pid and a counter.
        let src = "import random\nprint(random.random(), random.Random().random())\n";
        let (a, b) = (run(src).stdout, run(src).stdout);
        let words: Vec<&str> = a.split_whitespace().chain(b.split_whitespace()).collect();
        assert_eq!(words.len(), 4, "{a}{b}");
        for (i, x) in words.iter().enumerate() {
            assert!(x.parse::<f64>().is_ok_and(|v| (0.0..1.0).contains(&v)), "{x}");
            assert!(!words[..i].contains(x), "{a}{b}: the same number twice");
        }
    }
}
