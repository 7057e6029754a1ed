//! Values and the heap: a slab of objects addressed by index, one per process, shared by
//! its threads under the GIL (docs/python-vm.md §3).
//!
//! Memory is reclaimed by a tracing collector run only at eval-breaker sites, where every
//! live value is on a thread's stack, in a frame, a global or a module (no native code is
//! in the middle of holding one): see `Interp::collect`. The slab keeps CPython's shape (an
//! object per slot, an id that does not move), so CPython's reference counts can be added
//! when the inspector moves onto the VM; they are not maintained yet (see the report).

use super::code::Code;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef(pub u32);

/// A Python value. Small immutable values live inline; everything else is on the heap.
/// `Int` is the small case of Python's int; a `Big` heap object joins it with the bigint.
// A word-sized tag: a push is two aligned 8-byte stores and the next pop's 16-byte load
// forwards from them (a 1-byte tag made the compiler store tag, padding and payload
// separately, and the load that followed stalled on store forwarding: python-vm.md §8.2).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, u64)]
pub enum Value {
    /// No value: an unbound local, an empty method slot on the stack.
    Null,
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Ellipsis,
    /// A built-in function or method (index in `builtins::NATIVES`).
    Native(u16),
    Obj(ObjRef),
}

/// Attribute tables (instances, classes, modules): keyed by name with a fast hash (these are
/// looked up on every `obj.attr`; SipHash's resistance to chosen keys buys nothing here).
pub type Attrs = HashMap<String, Value, FxBuild>;

/// Firefox's (and rustc's) multiply-rotate hash: a few cycles per word.
#[derive(Clone, Copy, Default)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut rest = 0u64;
        for (i, b) in chunks.remainder().iter().enumerate() {
            rest |= u64::from(*b) << (8 * i);
        }
        self.add(rest ^ (bytes.len() as u64));
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// A key as Python's hashing and equality see it: `1`, `1.0` and `True` are one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HKey {
    None,
    Int(i64),
    Float(u64),
    Str(String),
    Tuple(Vec<HKey>),
    /// An int beyond i64 (and a whole float that large): always `Int::Big`.
    Big(crate::core::py::num::Int),
    Id(u32),
    Native(u16),
    Ellipsis,
}

/// An insertion-ordered dict (and set): entries plus an index from key to position.
#[derive(Clone, Debug, Default)]
pub struct Dict {
    pub entries: Vec<Option<(Value, Value)>>,
    pub index: HashMap<HKey, usize, FxBuild>,
}

impl Dict {
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    #[must_use]
    pub fn get(&self, k: &HKey) -> Option<Value> {
        self.index.get(k).and_then(|&i| self.entries[i].map(|(_, v)| v))
    }

    pub fn insert(&mut self, hk: HKey, k: Value, v: Value) {
        if let Some(&i) = self.index.get(&hk) {
            if let Some(e) = &mut self.entries[i] {
                e.1 = v;
            }
            return;
        }
        self.index.insert(hk, self.entries.len());
        self.entries.push(Some((k, v)));
    }

    pub fn remove(&mut self, hk: &HKey) -> Option<(Value, Value)> {
        let i = self.index.remove(hk)?;
        let e = self.entries[i].take();
        if self.entries.len() > 32 && self.index.len() * 2 < self.entries.len() {
            self.compact();
        }
        e
    }

    fn compact(&mut self) {
        // Each live key at its old position, then numbered in that order (no sort needed).
        let mut keys: Vec<Option<HKey>> = std::iter::repeat_with(|| None).take(self.entries.len()).collect();
        for (k, i) in self.index.drain() {
            keys[i] = Some(k);
        }
        self.entries.retain(Option::is_some);
        for (n, k) in keys.into_iter().flatten().enumerate() {
            self.index.insert(k, n);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (Value, Value)> + '_ {
        self.entries.iter().flatten().copied()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }

    /// A set's keys in the order CPython iterates them: its table order for ints (see
    /// `cpython_int_set_order`), insertion order otherwise (CPython's order for strings
    /// changes with each process's hash seed anyway).
    #[must_use]
    pub fn set_order(&self) -> Vec<Value> {
        let mut keyed: Vec<(usize, i64)> = Vec::with_capacity(self.index.len());
        for (k, &i) in &self.index {
            // Numbers: CPython's hash places them (ints of any size and floats alike).
            let h = match k {
                HKey::Int(n) => crate::core::py::num::Int::Small(*n).py_hash(),
                HKey::Big(b) => b.py_hash(),
                HKey::Float(bits) => crate::core::py::num::bigint::py_hash_f64(f64::from_bits(*bits)).unwrap_or(0),
                _ => return self.iter().map(|(k, _)| k).collect(),
            };
            keyed.push((i, h));
        }
        keyed.sort_unstable_by_key(|(i, _)| *i);
        let hashes: Vec<i64> = keyed.iter().map(|(_, h)| *h).collect();
        cpython_set_order_of_hashes(&hashes)
            .into_iter()
            .filter_map(|j| self.entries[keyed[j].0].map(|(k, _)| k))
            .collect()
    }
}

#[derive(Debug)]
pub struct Function {
    pub code: Arc<Code>,
    /// `code`'s index in `Interp::codes` (what a frame holds).
    pub code_id: u32,
    pub defaults: Vec<Value>,
    pub kwdefaults: Vec<(String, Value)>,
    pub closure: Vec<ObjRef>,
    pub name: String,
    pub qualname: String,
    pub attrs: Attrs,
}

#[derive(Debug)]
pub struct Class {
    pub name: String,
    pub qualname: String,
    pub bases: Vec<ObjRef>,
    /// Method resolution order, this class first.
    pub mro: Vec<ObjRef>,
    pub dict: Attrs,
    /// The built-in type this class is or derives from (`list` for `class L(list)`).
    pub builtin: Option<super::builtins::TypeTag>,
}

#[derive(Debug, Default)]
pub struct ExcData {
    pub args: Vec<Value>,
    /// Where it passed, innermost first: (code, instruction index).
    pub tb: Vec<(Arc<Code>, usize, u64)>,
    pub context: Option<Value>,
    pub cause: Option<Value>,
    pub suppress_context: bool,
    /// What its traceback keeps alive in CPython: the locals of the frames it left (its
    /// traceback holds those frames). Filled only while a generator waits to be closed
    /// (`Heap::watched`), so that such a generator held by a local is closed when the
    /// exception goes, not when the frame did (`gen.rs`, "Closing dropped generators").
    pub keep: Vec<Value>,
}

#[derive(Debug)]
pub struct Instance {
    pub class: ObjRef,
    pub dict: Attrs,
    pub exc: Option<Box<ExcData>>,
}

#[derive(Debug)]
pub enum IterState {
    Seq {
        seq: ObjRef,
        i: usize,
    },
    Range {
        cur: i64,
        stop: i64,
        step: i64,
    },
    /// A snapshot (dict keys, sets, zip/enumerate/map results computed eagerly).
    Items {
        items: Vec<Value>,
        i: usize,
    },
    Str {
        s: ObjRef,
        byte: usize,
    },
    /// The lazy iterators of `enumerate`, `zip`, `map` and `filter`: each step takes the
    /// next item of the underlying iterators, so a generator behind them runs item by item
    /// (its prints interleave, an infinite one works) as in CPython.
    Enumerate {
        it: Value,
        n: i64,
    },
    Zip {
        its: Vec<Value>,
        strict: bool,
    },
    Map {
        f: Value,
        its: Vec<Value>,
    },
    Filter {
        f: Value,
        it: Value,
    },
}

#[derive(Debug)]
pub enum Obj {
    Str(String),
    /// A Python int beyond i64 (always `Int::Big`: a value that fits is a `Value::Int`).
    Big(crate::core::py::num::Int),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Dict),
    Set(Dict, bool),
    Range(i64, i64, i64),
    Slice(Value, Value, Value),
    Iter(IterState),
    Function(Function),
    Cell(Value),
    Class(Class),
    Instance(Instance),
    Bound(Value, Value),
    Module(String, Attrs),
    /// Native state of a module's object (a lock, a thread handle…): a tag and slots.
    Native(&'static str, Vec<Value>),
    /// A `threading`/`queue` object whose state its threads share outside the heap.
    Sync(crate::core::py::threads::threading::Shared),
    /// A generator: its suspended frame and values (`vm::gen`).
    Generator(Box<super::gen::Generator>),
}

impl Obj {
    /// Calls `visit` with each value this object holds a reference to: the edges the
    /// collector follows and the census counts (one per slot, as CPython counts them).
    pub fn for_each_child(&self, mut visit: impl FnMut(Value)) {
        match self {
            Obj::Str(_) | Obj::Big(_) | Obj::Range(..) => {}
            Obj::List(v) | Obj::Tuple(v) | Obj::Native(_, v) => v.iter().for_each(|x| visit(*x)),
            Obj::Dict(d) | Obj::Set(d, _) => d.iter().for_each(|(k, v)| {
                visit(k);
                visit(v);
            }),
            Obj::Slice(a, b, c) => [a, b, c].into_iter().for_each(|x| visit(*x)),
            Obj::Iter(st) => match st {
                IterState::Seq { seq, .. } | IterState::Str { s: seq, .. } => visit(Value::Obj(*seq)),
                IterState::Items { items, .. } => items.iter().for_each(|x| visit(*x)),
                IterState::Range { .. } => {}
                IterState::Enumerate { it, .. } => visit(*it),
                IterState::Zip { its, .. } => its.iter().for_each(|x| visit(*x)),
                IterState::Map { f, its } => {
                    visit(*f);
                    its.iter().for_each(|x| visit(*x));
                }
                IterState::Filter { f, it } => {
                    visit(*f);
                    visit(*it);
                }
            },
            Obj::Function(func) => {
                func.defaults.iter().for_each(|x| visit(*x));
                func.kwdefaults.iter().for_each(|(_, x)| visit(*x));
                func.closure.iter().for_each(|c| visit(Value::Obj(*c)));
                func.attrs.values().for_each(|x| visit(*x));
            }
            Obj::Cell(v) => visit(*v),
            Obj::Class(c) => {
                c.bases.iter().for_each(|b| visit(Value::Obj(*b)));
                c.mro.iter().for_each(|b| visit(Value::Obj(*b)));
                c.dict.values().for_each(|x| visit(*x));
            }
            Obj::Instance(inst) => {
                visit(Value::Obj(inst.class));
                inst.dict.values().for_each(|x| visit(*x));
                if let Some(e) = &inst.exc {
                    e.args.iter().chain(&e.keep).for_each(|x| visit(*x));
                    for v in [&e.context, &e.cause].into_iter().flatten() {
                        visit(*v);
                    }
                }
            }
            Obj::Bound(a, b) => {
                visit(*a);
                visit(*b);
            }
            Obj::Module(_, attrs) => attrs.values().for_each(|x| visit(*x)),
            Obj::Sync(s) => s.trace(|x| visit(*x)),
            Obj::Generator(gen) => gen.trace(|x| visit(*x)),
        }
    }
}

pub struct Heap {
    slots: Vec<Option<Obj>>,
    free: Vec<u32>,
    marks: Vec<bool>,
    pub live: usize,
    pub since_gc: usize,
    /// Collect when this many objects were made since the last collection.
    pub gc_threshold: usize,
    /// Collect at every eval-breaker site (tests: a value the roots miss is found at once).
    pub gc_stress: bool,
    /// Keep unreachable cycles until `gc.collect()`, as a reference-counting Python does
    /// (on in programs that can see them: `sys.getrefcount`, `gc`), up to this many objects
    /// (past it, CPython's own collector would have run); `0`: off.
    pub keep_cycles: usize,
    /// Cycles `gc.collect()` counted but could not free (a builtin was mid-call): not
    /// counted again.
    counted: std::collections::HashSet<u32>,
    /// The inspector's recorder (`vm::inspect`): slots made or changed since it last looked
    /// (`None` outside the inspector: one branch per `alloc`/`get_mut`).
    pub touched: Option<Vec<u32>>,
    /// Slots the collector freed while `touched` is on (the recorder forgets them).
    pub collected: Vec<u32>,
    /// Generators that suspended inside a `try` or a `with` (not roots: `gen.rs` closes
    /// those nothing else reaches, as CPython does when their last reference goes). Empty
    /// in most programs, which then pay nothing for it.
    pub watched: Vec<ObjRef>,
    /// How many times a generator joined `watched` (a call that changed it may have
    /// dropped one it started).
    pub watch_count: u64,
}

impl Default for Heap {
    fn default() -> Self {
        Heap {
            slots: Vec::new(),
            free: Vec::new(),
            marks: Vec::new(),
            live: 0,
            since_gc: 0,
            gc_threshold: 100_000,
            gc_stress: false,
            keep_cycles: 0,
            counted: std::collections::HashSet::new(),
            touched: None,
            collected: Vec::new(),
            watched: Vec::new(),
            watch_count: 0,
        }
    }
}

impl Heap {
    pub fn alloc(&mut self, o: Obj) -> Value {
        self.live += 1;
        // Big objects bring the next collection nearer, by their size (one unit per 256
        // bytes): `s = s + chunk` in a loop makes few objects but much garbage, and the
        // collector, counting objects only, let it take the whole memory (the worker died).
        self.since_gc += 1 + match &o {
            Obj::Str(s) => s.len() >> 8,
            Obj::List(v) | Obj::Tuple(v) => v.len() >> 4,
            Obj::Dict(d) | Obj::Set(d, _) => d.len() >> 3,
            _ => 0,
        };
        let i = if let Some(i) = self.free.pop() {
            self.slots[i as usize] = Some(o);
            i
        } else {
            self.slots.push(Some(o));
            self.marks.push(false);
            u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
        };
        if let Some(t) = &mut self.touched {
            t.push(i);
        }
        Value::Obj(ObjRef(i))
    }

    /// How many slots the heap has (live or free): objects are `ObjRef(0..len)`.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The object in slot `i`, if one lives there.
    #[must_use]
    pub fn slot(&self, i: u32) -> Option<&Obj> {
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    #[must_use]
    #[inline]
    pub fn get(&self, r: ObjRef) -> &Obj {
        self.slots[r.0 as usize].as_ref().expect("a live object")
    }

    #[inline]
    pub fn get_mut(&mut self, r: ObjRef) -> &mut Obj {
        if let Some(t) = &mut self.touched {
            t.push(r.0);
        }
        self.slots[r.0 as usize].as_mut().expect("a live object")
    }

    /// Marks everything reachable from `work` (and leaves the marks set).
    fn mark(&mut self, work: &mut Vec<ObjRef>) {
        while let Some(r) = work.pop() {
            let i = r.0 as usize;
            if self.marks[i] {
                continue;
            }
            self.marks[i] = true;
            let Some(o) = &self.slots[i] else { continue };
            o.for_each_child(|v| {
                if let Value::Obj(r) = v {
                    work.push(r);
                }
            });
        }
    }

    /// Marks exactly what `roots` reach.
    fn mark_roots(&mut self, roots: &[Value]) {
        for m in &mut self.marks {
            *m = false;
        }
        let mut work: Vec<ObjRef> =
            roots.iter().filter_map(|v| if let Value::Obj(r) = v { Some(*r) } else { None }).collect();
        self.mark(&mut work);
    }

    /// Of the objects the last marking did not reach, those a reference-counting Python
    /// still holds: cycles, and what cycles hold. (CPython frees the rest the moment a
    /// count reaches zero, in a cascade; these wait for its cycle collector.)
    fn kept_by_cycles(&self) -> Vec<u32> {
        let unreached = |i: usize| !self.marks[i] && self.slots[i].is_some();
        let mut holders = vec![0u32; self.slots.len()];
        for (i, o) in self.slots.iter().enumerate() {
            if let (true, Some(o)) = (unreached(i), o) {
                o.for_each_child(|v| {
                    if let Value::Obj(r) = v {
                        holders[r.0 as usize] += 1;
                    }
                });
            }
        }
        let mut freed = vec![false; self.slots.len()];
        let mut work: Vec<usize> = (0..self.slots.len()).filter(|&i| unreached(i) && holders[i] == 0).collect();
        while let Some(i) = work.pop() {
            freed[i] = true;
            if let Some(o) = &self.slots[i] {
                o.for_each_child(|v| {
                    if let Value::Obj(r) = v {
                        let j = r.0 as usize;
                        if unreached(j) {
                            holders[j] -= 1;
                            if holders[j] == 0 {
                                work.push(j);
                            }
                        }
                    }
                });
            }
        }
        (0..self.slots.len())
            .filter(|&i| unreached(i) && !freed[i] && !self.counted.contains(&(i as u32)))
            .map(|i| i as u32)
            .collect()
    }

    /// `sys.getrefcount`'s census: the references to `target` held by objects a
    /// reference-counting Python would still have (reached from `roots`, or kept by
    /// cycles). The caller adds the references held outside the heap (stacks, frames).
    pub fn census(&mut self, roots: &[Value], target: ObjRef) -> usize {
        self.census_of(roots, |v| v == Value::Obj(target))
    }

    /// [`Heap::census`] of the values `is_target` picks (the inspector counts a number by
    /// its value: `vm::inspect`).
    pub fn census_of(&mut self, roots: &[Value], is_target: impl Fn(Value) -> bool) -> usize {
        self.mark_roots(roots);
        for i in self.kept_by_cycles() {
            self.marks[i as usize] = true;
        }
        let mut n = 0;
        for (o, _) in self.slots.iter().zip(&self.marks).filter(|(_, m)| **m) {
            if let Some(o) = o {
                o.for_each_child(|v| n += usize::from(is_target(v)));
            }
        }
        n
    }

    /// `gc.collect()`: how many unreachable objects cycles kept, which are freed now when
    /// `free` (no builtin mid-call holds a value the roots miss), else remembered as counted;
    /// and the dropped generators to close (see `collect`).
    pub fn collect_cycles(&mut self, roots: &[Value], free: bool) -> (usize, Vec<ObjRef>) {
        self.mark_roots(roots);
        let found = self.kept_by_cycles();
        let mut doomed = Vec::new();
        if free {
            let keep = std::mem::replace(&mut self.keep_cycles, 0);
            doomed = self.collect(roots);
            self.keep_cycles = keep;
        } else {
            self.counted.extend(&found);
        }
        (found.len(), doomed)
    }

    /// A generator suspended inside a `try` or a `with`: closing it runs code.
    #[must_use]
    pub fn needs_close(&self, r: ObjRef) -> bool {
        match self.slots.get(r.0 as usize) {
            Some(Some(Obj::Generator(g))) => g.needs_close(),
            _ => false,
        }
    }

    /// Whether the last marking reached `r`.
    #[must_use]
    pub fn marked(&self, r: ObjRef) -> bool {
        self.marks.get(r.0 as usize).copied().unwrap_or(false)
    }

    /// Marks what a reference-counting Python still holds: what `roots` reach, and the
    /// unreachable cycles while `keep_cycles` keeps them (for `gc.collect()` to find).
    pub fn mark_live(&mut self, roots: &[Value]) {
        self.mark_roots(roots);
        if self.keep_cycles > 0 {
            for i in self.kept_by_cycles() {
                self.marks[i as usize] = true;
            }
        }
    }

    /// Marks what `roots` reach (after clearing the marks when `clear`).
    pub fn mark_from(&mut self, roots: &[Value], clear: bool) {
        if clear {
            self.mark_roots(roots);
            return;
        }
        let mut work: Vec<ObjRef> =
            roots.iter().filter_map(|v| if let Value::Obj(r) = v { Some(*r) } else { None }).collect();
        self.mark(&mut work);
    }

    /// Marks everything reachable from `roots` and frees the rest (but unreachable
    /// cycles, while `keep_cycles` allows), except the watched generators that must be
    /// closed: returned, kept with what they reach (CPython's collector finalizes before it
    /// frees).
    pub fn collect(&mut self, roots: &[Value]) -> Vec<ObjRef> {
        self.mark_roots(roots);
        if self.keep_cycles > 0 {
            let kept = self.kept_by_cycles();
            if kept.len() <= self.keep_cycles {
                for i in kept {
                    self.marks[i as usize] = true;
                }
            }
        }
        let doomed: Vec<ObjRef> =
            self.watched.iter().copied().filter(|r| !self.marks[r.0 as usize] && self.needs_close(*r)).collect();
        let mut work = doomed.clone();
        self.mark(&mut work);
        self.counted.clear();
        let mut live = 0;
        for i in 0..self.slots.len() {
            if self.slots[i].is_some() {
                if self.marks[i] {
                    live += 1;
                } else {
                    self.slots[i] = None;
                    if self.touched.is_some() {
                        self.collected.push(i as u32);
                    }
                    self.free.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
        }
        self.live = live;
        self.since_gc = 0;
        self.gc_threshold = if self.gc_stress { 0 } else { (live * 2).max(100_000) };
        let marks = &self.marks;
        self.watched.retain(|r| marks[r.0 as usize]);
        doomed
    }
}

/// The order CPython 3.11 iterates a set of ints in (`Objects/setobject.c`: an open-address
/// table of 8 slots growing 4x when 3/5 full, linear probes of 9 then perturbed steps), for
/// keys inserted in this order. Python's own order for ints is this, not insertion order:
/// `{3, 1, 2}` prints `{1, 2, 3}`. (Deletions are not replayed: a set that lost items may
/// order differently from CPython's, whose dummies change when it resizes.)
#[must_use]
pub fn cpython_int_set_order(keys: &[i64]) -> Vec<usize> {
    let hashes: Vec<i64> = keys.iter().map(|k| crate::core::py::num::Int::Small(*k).py_hash()).collect();
    cpython_set_order_of_hashes(&hashes)
}

/// [`cpython_int_set_order`] for keys of these hashes.
#[must_use]
pub fn cpython_set_order_of_hashes(hashes: &[i64]) -> Vec<usize> {
    const LINEAR_PROBES: usize = 9;
    const PERTURB_SHIFT: u32 = 5;
    fn insert(table: &mut [Option<usize>], hashes: &[i64], idx: usize) {
        let mask = table.len() - 1;
        let h = hashes[idx];
        let mut perturb = h as u64;
        let mut i = (h as u64 as usize) & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
            for j in 0..=probes {
                if table[i + j].is_none() {
                    table[i + j] = Some(idx);
                    return;
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
    }
    let mut table: Vec<Option<usize>> = vec![None; 8];
    let mut used = 0usize;
    for idx in 0..hashes.len() {
        insert(&mut table, hashes, idx);
        used += 1;
        let mask = table.len() - 1;
        if used * 5 >= mask * 3 {
            let minused = if used > 50_000 { used * 2 } else { used * 4 };
            let mut size = 8;
            while size <= minused {
                size <<= 1;
            }
            let old: Vec<usize> = table.iter().flatten().copied().collect();
            table = vec![None; size];
            for o in old {
                insert(&mut table, hashes, o);
            }
        }
    }
    table.into_iter().flatten().collect()
}
