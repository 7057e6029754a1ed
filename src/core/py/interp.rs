//! The evaluator: a heap of counted objects, frames of names, and a step log.
//!
//! Ownership discipline: `eval` returns an *owned* reference (already counted), which
//! the caller must store (moving the reference) or `decref`. So values waiting on the
//! "evaluation stack" — earlier arguments, a method's receiver, a list being built —
//! are counted exactly while they wait, as in CPython.

use super::lexer::tokenize;
use super::parser::{parse, ConstKey, Expr, ExprKind, Stmt, StmtKind, Target};
use super::render::{render, Node, Rendered};
use super::trace::{Delta, FrameView, ObjRec, Trace, VarView, STR_PREFIX, TYPES};
use super::PyError;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

/// What a script may use before it is stopped.
pub struct Limits {
    pub steps: usize,
    pub snapshots: usize,
    pub depth: usize,
    pub objects: usize,
    pub items: usize,
    /// Nested evaluations and statements at once (see `Interp::enter`).
    pub native: usize,
    /// Bytes in one string, and in all live strings together.
    pub string_bytes: usize,
    pub strings_total: usize,
    /// Output kept: lines, and characters in all.
    pub output_lines: usize,
    pub output_chars: usize,
    /// Ids recorded in a trace's deltas (objects, counts, container slots, frame names).
    pub recorded: usize,
    /// Objects created over the whole run: ids are never reused, so each costs a slot.
    pub allocations: usize,
    /// Items copied, compared or searched (bytes for strings), across the run: a loop
    /// doing big-container work each time stops well before it could freeze the page.
    pub work: u64,
}

pub const LIMITS: Limits = Limits {
    steps: 100_000,
    snapshots: 1_000,
    depth: 1000,
    objects: 100_000,
    items: 1_000_000,
    native: 6_000,
    string_bytes: 1 << 20,
    strings_total: 16 << 20,
    output_lines: 10_000,
    output_chars: 1_000_000,
    recorded: 4_000_000,
    work: 20_000_000,
    allocations: 2_000_000,
};

/// What CPython 3.12+ reports for an immortal object's count (2³² − 1).
const IMMORTAL_COUNT: u64 = 4_294_967_295;

type Id = usize;

#[derive(Clone, Debug)]
struct Func {
    name: String,
    params: Vec<String>,
    body: Rc<Vec<Stmt>>,
}

#[derive(Clone, Debug)]
enum Kind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    None,
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Dict),
    Func(Rc<Func>),
    Builtin(&'static str),
    Module(&'static str),
    Range(i64, i64, i64),
}

/// A deleted pair's place in `Dict::pairs` until the next compaction.
const TOMB: Id = Id::MAX;

/// A dict: pairs in insertion order (as Python prints them) and an index from key hash to
/// positions, so that lookup, insertion and deletion cost O(1) on average. Deletion leaves
/// a `TOMB` pair (removing it would move every later position); tombstones are swept when
/// they outnumber live pairs, which keeps that O(1) amortised.
#[derive(Clone, Debug, Default)]
struct Dict {
    pairs: Vec<(Id, Id)>,
    /// `hashes[i]` is the hash of `pairs[i].0`, kept so that a sweep need not rehash.
    hashes: Vec<u64>,
    index: HashMap<u64, Vec<usize>>,
    live: usize,
}

impl Dict {
    fn len(&self) -> usize {
        self.live
    }

    /// Positions that may hold a key hashing to `h`.
    fn bucket(&self, h: u64) -> &[usize] {
        self.index.get(&h).map_or(&[], Vec::as_slice)
    }

    fn push(&mut self, h: u64, k: Id, v: Id) {
        self.index.entry(h).or_default().push(self.pairs.len());
        self.pairs.push((k, v));
        self.hashes.push(h);
        self.live += 1;
    }

    /// Takes the pair at `pos` out; the caller owns its references.
    fn remove(&mut self, pos: usize) -> (Id, Id) {
        let h = self.hashes[pos];
        if let Some(b) = self.index.get_mut(&h) {
            b.retain(|p| *p != pos);
            if b.is_empty() {
                self.index.remove(&h);
            }
        }
        let pair = std::mem::replace(&mut self.pairs[pos], (TOMB, TOMB));
        self.live -= 1;
        if self.pairs.len() - self.live > self.live.max(8) {
            self.sweep();
        }
        pair
    }

    fn sweep(&mut self) {
        let (pairs, hashes): (Vec<_>, Vec<_>) =
            self.pairs.iter().zip(&self.hashes).filter(|(p, _)| p.0 != TOMB).map(|(p, h)| (*p, *h)).unzip();
        self.index.clear();
        for (i, h) in hashes.iter().enumerate() {
            self.index.entry(*h).or_default().push(i);
        }
        self.pairs = pairs;
        self.hashes = hashes;
    }

    /// The live pairs, in insertion order.
    fn iter(&self) -> impl Iterator<Item = &(Id, Id)> {
        self.pairs.iter().filter(|p| p.0 != TOMB)
    }

    /// The first live pair at position `from` or later, with its position.
    fn next_from(&self, from: usize) -> Option<(usize, (Id, Id))> {
        (from..self.pairs.len()).map(|i| (i, self.pairs[i])).find(|(_, p)| p.0 != TOMB)
    }

    fn take(&mut self) -> Vec<(Id, Id)> {
        let pairs = self.iter().copied().collect();
        *self = Dict::default();
        pairs
    }
}

#[derive(Clone, Debug)]
struct Obj {
    kind: Kind,
    rc: u64,
    immortal: bool,
}

struct Frame {
    name: String,
    vars: Vec<(String, Id)>,
}

#[derive(Clone, Copy)]
enum Shape {
    List(usize),
    Dict,
    Other,
}

enum Flow {
    Normal,
    Break,
    Continue,
    Return(Id),
}

struct Interp {
    heap: Vec<Option<Obj>>,
    frames: Vec<Frame>,
    consts: HashMap<ConstKey, Id>,
    immortals: HashMap<ConstKey, Id>,
    builtins: HashMap<&'static str, Id>,
    output: Vec<String>,
    /// Characters in `output`; once a budget is met, printing stops (`output_stopped`).
    output_chars: usize,
    output_stopped: bool,
    /// Bytes in live strings.
    string_bytes: usize,
    /// Where evaluation is, for errors raised deep in the heap (memory budgets).
    at: (u32, u32),
    steps: Vec<Delta>,
    freed_now: Vec<Id>,
    /// Per object: changed since the last step (`COUNT`, `CONTENT`), listed in `dirty`.
    marks: Vec<u8>,
    dirty: Vec<Id>,
    frames_changed: bool,
    /// Steps are still being recorded (no budget met yet).
    recording: bool,
    recorded: usize,
    constants: HashSet<Id>,
    executed: usize,
    /// The lowest native stack address nesting may reach (see `run_with_stack`).
    floor: usize,
    /// Items copied or compared so far (see `Limits::work`).
    work: std::cell::Cell<u64>,
    native: usize,
    live: usize,
    truncated: bool,
}

const COUNT: u8 = 1;
const CONTENT: u8 = 2;

/// Native stack `run` lets a script use below its own frame: fits a wasm page's 1 MiB
/// main-thread stack with room for the page's own frames. Deep Python recursion needs
/// more (1,000 frames: 1.6 MB on x86-64 release): give it with `run_with_stack`.
pub const DEFAULT_STACK: usize = 512 * 1024;

/// Stack the Python worker gives a script in the browser. What runs out there first is not
/// the wasm stack (1 MiB) but V8's own native stack of the worker (about 984 KB, which a
/// page cannot raise), and V8's baseline code takes up to about 2.5 times more of it per
/// level than the wasm stack measures: a fresh worker died at 400 frames of a function
/// with a loop and an `if` under the 512 KB budget. So the budget is a quarter MiB:
/// about 200–300 Python frames, ending in `RecursionError`, never in a dead worker. The
/// bytecode VM (no native recursion per Python call) will lift this to CPython's 1,000.
pub const BROWSER_STACK: usize = 256 * 1024;

/// Runs `source` and records every step, within `DEFAULT_STACK` of native stack.
#[must_use]
pub fn run(source: &str) -> Trace {
    run_with_stack(source, DEFAULT_STACK)
}

/// Runs `source` and records every step, using at most about `stack_bytes` of native
/// stack below this call's frame (pass the thread's stack size minus a margin for the
/// frames above). Past it, recursion is CPython's `RecursionError`, never an overflow:
/// in wasm an overflow is not caught, it silently corrupts memory.
#[must_use]
pub fn run_with_stack(source: &str, stack_bytes: usize) -> Trace {
    let floor = stack_here().saturating_sub(stack_bytes);
    let program = match tokenize(source).and_then(|toks| parse(toks, floor)) {
        Ok(p) => p,
        Err(error) => return Trace { error: Some(error), ..Trace::default() },
    };
    let mut it = Interp {
        heap: Vec::new(),
        frames: vec![Frame { name: "<module>".into(), vars: Vec::new() }],
        consts: HashMap::new(),
        immortals: HashMap::new(),
        builtins: HashMap::new(),
        output: Vec::new(),
        output_chars: 0,
        output_stopped: false,
        string_bytes: 0,
        at: (1, 1),
        steps: Vec::new(),
        freed_now: Vec::new(),
        marks: Vec::new(),
        dirty: Vec::new(),
        frames_changed: true,
        recording: true,
        recorded: 0,
        constants: HashSet::new(),
        executed: 0,
        floor,
        work: std::cell::Cell::new(0),
        native: 0,
        live: 0,
        truncated: false,
    };
    for name in ["print", "len", "range", "id", "getrefcount", "collect", "str", "int", "list"] {
        let id = it.alloc_immortal(Kind::Builtin(name));
        it.builtins.insert(name, id);
    }
    // The compiled code holds its constants from the start: once per code object that
    // uses one, plus once more (CPython 3.11's constant cache).
    for (key, codes) in &program.constants {
        let id = it.materialize(key);
        if let Some(obj) = it.heap[id].as_mut() {
            obj.rc = u64::from(*codes) + 1;
        }
        it.consts.insert(key.clone(), id);
        it.constants.insert(id);
    }
    let error = it.exec_block(&program.body).err();
    Trace { output: it.output, error, truncated: it.truncated, run_ms: None, steps: it.steps }
}

/// The native stack pointer, near enough: the address of a local. Stacks grow down, on
/// x86-64 as in wasm's shadow stack.
#[inline(never)]
pub(super) fn stack_here() -> usize {
    let here = 0u8;
    std::hint::black_box(std::ptr::addr_of!(here)) as usize
}

fn err<T>(kind: &str, message: impl Into<String>, at: &Expr) -> Result<T, PyError> {
    Err(PyError { kind: kind.into(), message: message.into(), line: at.line, col: at.col })
}

impl Interp {
    // ---- the heap ----

    fn alloc(&mut self, kind: Kind) -> Result<Id, PyError> {
        let (line, col) = self.at;
        if self.live >= LIMITS.objects || self.heap.len() >= LIMITS.allocations {
            return Err(PyError::at("MemoryError", "ThreadLab's memory budget for this script is used up", line, col));
        }
        if let Kind::Str(s) = &kind {
            self.check_string(s.len())?;
            if self.string_bytes + s.len() > LIMITS.strings_total {
                return Err(PyError::at(
                    "MemoryError",
                    &format!(
                        "ThreadLab's memory budget for strings ({} MB in all) is used up",
                        LIMITS.strings_total >> 20
                    ),
                    line,
                    col,
                ));
            }
        }
        self.live += 1;
        Ok(self.push_obj(Obj { kind, rc: 1, immortal: false }))
    }

    fn add_work(&self, n: usize) {
        self.work.set(self.work.get().saturating_add(n as u64));
    }

    /// A string of `bytes` is within the budget for one string.
    fn check_string(&self, bytes: usize) -> Result<(), PyError> {
        if bytes > LIMITS.string_bytes {
            let (line, col) = self.at;
            return Err(PyError::at(
                "MemoryError",
                &format!(
                    "ThreadLab's memory budget allows strings of up to {} MB; this one would be {:.1} MB",
                    LIMITS.string_bytes >> 20,
                    bytes as f64 / f64::from(1u32 << 20)
                ),
                line,
                col,
            ));
        }
        Ok(())
    }

    fn push_obj(&mut self, obj: Obj) -> Id {
        if let Kind::Str(s) = &obj.kind {
            self.string_bytes += s.len();
        }
        self.heap.push(Some(obj));
        self.marks.push(0);
        let id = self.heap.len() - 1;
        self.touch(id, CONTENT);
        id
    }

    /// Notes that `id` changed in this step (its count, or its contents).
    fn touch(&mut self, id: Id, what: u8) {
        if self.recording {
            if self.marks[id] == 0 {
                self.dirty.push(id);
            }
            self.marks[id] |= what;
        }
    }

    fn alloc_immortal(&mut self, kind: Kind) -> Id {
        self.push_obj(Obj { kind, rc: IMMORTAL_COUNT, immortal: true })
    }

    fn obj(&self, id: Id) -> &Obj {
        self.heap[id].as_ref().expect("a live object")
    }

    fn kind(&self, id: Id) -> &Kind {
        &self.obj(id).kind
    }

    fn incref(&mut self, id: Id) {
        if let Some(o) = self.heap[id].as_mut() {
            if !o.immortal {
                o.rc += 1;
                self.touch(id, COUNT);
            }
        }
    }

    fn decref(&mut self, id: Id) {
        let mut work = vec![id];
        while let Some(id) = work.pop() {
            let Some(o) = self.heap[id].as_mut() else { continue };
            if o.immortal {
                continue;
            }
            o.rc -= 1;
            if o.rc == 0 {
                let o = self.heap[id].take().expect("live");
                self.live -= 1;
                if let Kind::Str(s) = &o.kind {
                    self.string_bytes -= s.len();
                }
                if self.recording {
                    self.freed_now.push(id);
                }
                work.extend(children(&o.kind));
            } else {
                self.touch(id, COUNT);
            }
        }
    }

    /// The shared immortal object for a small int, `None`, `True` or `False`.
    fn immortal(&mut self, key: &ConstKey) -> Id {
        if let Some(id) = self.immortals.get(key) {
            return *id;
        }
        let kind = match key {
            ConstKey::Int(n) => Kind::Int(*n),
            ConstKey::Bool(b) => Kind::Bool(*b),
            _ => Kind::None,
        };
        let id = self.alloc_immortal(kind);
        self.immortals.insert(key.clone(), id);
        id
    }

    /// Builds a constant's object (its items counted by it, as a tuple's are).
    fn materialize(&mut self, key: &ConstKey) -> Id {
        let kind = match key {
            ConstKey::Int(n) if (-5..=256).contains(n) => return self.immortal(key),
            ConstKey::None | ConstKey::Bool(_) => return self.immortal(key),
            ConstKey::Int(n) => Kind::Int(*n),
            ConstKey::Float(bits) => Kind::Float(f64::from_bits(*bits)),
            ConstKey::Str(s) => Kind::Str(s.clone()),
            ConstKey::Tuple(items) => {
                let ids = items
                    .iter()
                    .map(|k| match self.consts.get(k).copied() {
                        Some(id) => {
                            self.incref(id);
                            id
                        }
                        None => self.materialize(k),
                    })
                    .collect();
                Kind::Tuple(ids)
            }
        };
        self.live += 1;
        self.push_obj(Obj { kind, rc: 1, immortal: false })
    }

    fn int(&mut self, n: i64) -> Result<Id, PyError> {
        if (-5..=256).contains(&n) {
            Ok(self.immortal(&ConstKey::Int(n)))
        } else {
            self.alloc(Kind::Int(n))
        }
    }

    fn boolean(&mut self, b: bool) -> Id {
        self.immortal(&ConstKey::Bool(b))
    }

    fn none(&mut self) -> Id {
        self.immortal(&ConstKey::None)
    }

    // ---- steps ----

    fn step(&mut self, line: u32) -> Result<(), PyError> {
        self.executed += 1;
        if self.executed > LIMITS.steps {
            return Err(PyError::at(
                "StepLimitError",
                &format!("stopped after {} steps: is there a loop that never ends?", LIMITS.steps),
                line,
                1,
            ));
        }
        if self.work.get() > LIMITS.work {
            return Err(PyError::at(
                "StepLimitError",
                &format!(
                    "stopped after {} million operations on items: ThreadLab's work budget for one script is used \
                     up (is a loop copying or searching a large list or string?)",
                    LIMITS.work / 1_000_000
                ),
                line,
                1,
            ));
        }
        let freed = std::mem::take(&mut self.freed_now);
        if !self.recording {
            return Ok(());
        }
        if self.steps.len() >= LIMITS.snapshots || self.recorded > LIMITS.recorded {
            self.stop_recording();
            return Ok(());
        }
        let (mut objects, mut counts) = (Vec::new(), Vec::new());
        for id in std::mem::take(&mut self.dirty) {
            let mark = std::mem::take(&mut self.marks[id]);
            let Some(o) = &self.heap[id] else { continue };
            if mark & CONTENT == 0 {
                counts.push((id, o.rc));
                continue;
            }
            let rec = self.record(id, o);
            self.recorded += rec.children.len();
            objects.push(rec);
        }
        let frames = std::mem::take(&mut self.frames_changed).then(|| {
            self.frames
                .iter()
                .map(|f| FrameView {
                    name: f.name.clone(),
                    vars: f.vars.iter().map(|(name, id)| VarView { name: name.clone(), id: *id }).collect(),
                })
                .collect::<Vec<_>>()
        });
        self.recorded += 1
            + objects.len()
            + counts.len()
            + freed.len()
            + frames.as_ref().map_or(0, |f| f.iter().map(|f| f.vars.len() + 1).sum());
        self.steps.push(Delta { line, output_len: self.output.len(), objects, counts, freed, frames });
        Ok(())
    }

    /// A budget is met: the run goes on, unrecorded.
    fn stop_recording(&mut self) {
        self.recording = false;
        self.truncated = true;
        for id in std::mem::take(&mut self.dirty) {
            self.marks[id] = 0;
        }
    }

    fn record(&self, id: Id, o: &Obj) -> ObjRec {
        let ty = TYPES.iter().position(|t| *t == self.type_name(id)).unwrap_or(0);
        let (text, len) = match &o.kind {
            Kind::Str(s) => (s.chars().take(STR_PREFIX).collect(), s.len()),
            Kind::List(_) | Kind::Tuple(_) | Kind::Dict(_) => (String::new(), 0),
            _ => (self.scalar_repr(id), 0),
        };
        ObjRec {
            id,
            ty: u8::try_from(ty).unwrap_or(0),
            rc: o.rc,
            immortal: o.immortal,
            constant: self.constants.contains(&id),
            text,
            len,
            children: children(&o.kind),
        }
    }

    // ---- names ----

    fn lookup(&self, name: &str) -> Option<Id> {
        let local = self.frames.last().and_then(|f| f.vars.iter().find(|v| v.0 == name)).map(|v| v.1);
        local
            .or_else(|| self.frames[0].vars.iter().find(|v| v.0 == name).map(|v| v.1))
            .or_else(|| self.builtins.get(name).copied().filter(|_| !matches!(name, "getrefcount" | "collect")))
    }

    /// Binds `name` in the current frame to an owned reference.
    fn bind(&mut self, name: &str, id: Id) {
        let frame = self.frames.last_mut().expect("a frame");
        let old = match frame.vars.iter_mut().find(|v| v.0 == name) {
            Some(slot) => Some(std::mem::replace(&mut slot.1, id)),
            None => {
                frame.vars.push((name.to_owned(), id));
                None
            }
        };
        if old != Some(id) {
            self.frames_changed = true;
        }
        if let Some(old) = old {
            self.decref(old);
        }
    }

    // ---- statements ----

    fn exec_block(&mut self, body: &[Stmt]) -> Result<Flow, PyError> {
        for s in body {
            match self.exec(s)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn exec(&mut self, s: &Stmt) -> Result<Flow, PyError> {
        self.enter(s.line, s.col)?;
        let r = self.exec_inner(s);
        self.native -= 1;
        r
    }

    fn exec_inner(&mut self, s: &Stmt) -> Result<Flow, PyError> {
        match &s.kind {
            StmtKind::Expr(e) => {
                let v = self.eval(e)?;
                self.decref(v);
            }
            StmtKind::Assign(targets, value) => {
                let v = self.eval(value)?;
                for t in targets {
                    self.incref(v);
                    self.assign(t, v, value)?;
                }
                self.decref(v);
            }
            StmtKind::AugAssign(target, op, value) => {
                let current = match target {
                    Target::Name(n) => {
                        let Some(id) = self.lookup(n) else {
                            return err("NameError", format!("name '{n}' is not defined"), value);
                        };
                        self.incref(id);
                        id
                    }
                    _ => return err("SyntaxError", "augmented assignment works on names only here", value),
                };
                let rhs = self.eval(value)?;
                let result = if *op == "+" && matches!(self.kind(current), Kind::List(_)) {
                    // list += iterable extends in place
                    self.extend(current, rhs, value)?;
                    self.incref(current);
                    current
                } else {
                    self.binary(current, op, rhs, value)?
                };
                self.decref(rhs);
                self.decref(current);
                self.assign(target, result, value)?;
            }
            StmtKind::Del(targets) => {
                for t in targets {
                    self.delete(t, s)?;
                }
            }
            StmtKind::If(..) => {
                // An elif chain runs as a loop, so its length costs no native stack.
                let mut s = s;
                loop {
                    let StmtKind::If(cond, body, orelse) = &s.kind else { unreachable!("an if") };
                    let c = self.eval(cond)?;
                    let truth = self.truthy(c);
                    self.decref(c);
                    self.step(s.line)?;
                    if truth {
                        return self.exec_block(body);
                    }
                    match orelse.as_slice() {
                        [inner @ Stmt { kind: StmtKind::If(..), .. }] => s = inner,
                        _ => return self.exec_block(orelse),
                    }
                }
            }
            StmtKind::While(cond, body) => loop {
                let c = self.eval(cond)?;
                let truth = self.truthy(c);
                self.decref(c);
                self.step(s.line)?;
                if !truth {
                    return Ok(Flow::Normal);
                }
                match self.exec_block(body)? {
                    Flow::Break => return Ok(Flow::Normal),
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    Flow::Normal | Flow::Continue => {}
                }
            },
            StmtKind::For(target, iter, body) => {
                // The loop's iterator holds the iterable for as long as the loop runs.
                let seq = self.eval(iter)?;
                // `i` counts items; `at` is the byte offset in a string.
                let (mut i, mut at) = (0usize, 0usize);
                let result = loop {
                    enum Next {
                        Held(Id),
                        Int(i64),
                        Char(char),
                        End,
                    }
                    let next = match self.kind(seq) {
                        Kind::List(items) | Kind::Tuple(items) => items.get(i).map_or(Next::End, |id| Next::Held(*id)),
                        Kind::Range(start, stop, step) => {
                            #[allow(clippy::cast_possible_wrap)] // `i` counts this range's items: far below 2^63
                            let v = start + step * i as i64;
                            if (*step > 0 && v < *stop) || (*step < 0 && v > *stop) {
                                Next::Int(v)
                            } else {
                                Next::End
                            }
                        }
                        Kind::Str(text) => text.get(at..).and_then(|t| t.chars().next()).map_or(Next::End, Next::Char),
                        Kind::Dict(d) => d.next_from(i).map_or(Next::End, |(pos, (k, _))| {
                            i = pos;
                            Next::Held(k)
                        }),
                        _ => break err("TypeError", format!("'{}' object is not iterable", self.type_name(seq)), iter),
                    };
                    let next = match next {
                        Next::Held(id) => {
                            self.incref(id);
                            Some(Ok(id))
                        }
                        Next::Int(v) => Some(self.int(v)),
                        Next::Char(c) => {
                            at += c.len_utf8();
                            Some(self.alloc(Kind::Str(c.to_string())))
                        }
                        Next::End => None,
                    };
                    let Some(item) = next else { break Ok(Flow::Normal) };
                    i += 1;
                    self.assign(target, item?, iter)?;
                    self.step(s.line)?;
                    match self.exec_block(body)? {
                        Flow::Break => break Ok(Flow::Normal),
                        Flow::Return(v) => break Ok(Flow::Return(v)),
                        Flow::Normal | Flow::Continue => {}
                    }
                };
                self.decref(seq);
                return result;
            }
            StmtKind::Def { name, params, body, .. } => {
                let f = self.alloc(Kind::Func(Rc::new(Func {
                    name: name.clone(),
                    params: params.clone(),
                    body: body.clone(),
                })))?;
                self.bind(name, f);
            }
            StmtKind::Return(value) => {
                let v = match value {
                    Some(e) => self.eval(e)?,
                    None => self.none(),
                };
                self.step(s.line)?;
                return Ok(Flow::Return(v));
            }
            StmtKind::Import(modules) => {
                for module in modules {
                    let m = self.alloc_immortal(Kind::Module(if module == "sys" { "sys" } else { "gc" }));
                    self.bind(module, m);
                }
            }
            StmtKind::Pass => {}
            StmtKind::Break => {
                self.step(s.line)?;
                return Ok(Flow::Break);
            }
            StmtKind::Continue => {
                self.step(s.line)?;
                return Ok(Flow::Continue);
            }
        }
        self.step(s.line)?;
        Ok(Flow::Normal)
    }

    /// Stores the owned reference `v` into `target` (consuming it).
    fn assign(&mut self, target: &Target, v: Id, at: &Expr) -> Result<(), PyError> {
        match target {
            Target::Name(n) => {
                self.bind(n, v);
                Ok(())
            }
            Target::Item(obj, index) => {
                let o = self.eval(obj)?;
                let k = self.eval(index)?;
                let result = self.set_item(o, k, v, at);
                self.decref(k);
                self.decref(o);
                result
            }
            Target::Tuple(targets) => {
                let items = match self.kind(v) {
                    Kind::List(items) | Kind::Tuple(items) => items.clone(),
                    _ => {
                        self.decref(v);
                        return err("TypeError", "cannot unpack a non-sequence", at);
                    }
                };
                if items.len() != targets.len() {
                    self.decref(v);
                    return err(
                        "ValueError",
                        format!("expected {} values to unpack, got {}", targets.len(), items.len()),
                        at,
                    );
                }
                for (t, item) in targets.iter().zip(items) {
                    self.incref(item);
                    // Nested targets recurse: counted like any nesting.
                    self.enter(at.line, at.col)?;
                    let r = self.assign(t, item, at);
                    self.native -= 1;
                    r?;
                }
                self.decref(v);
                Ok(())
            }
        }
    }

    /// What a container is, without copying it.
    fn shape(&self, id: Id) -> Shape {
        match self.kind(id) {
            Kind::List(items) => Shape::List(items.len()),
            Kind::Dict(_) => Shape::Dict,
            _ => Shape::Other,
        }
    }

    /// The position of key `k` in dict `d`.
    fn dict_find(&self, d: Id, k: Id, at: &Expr) -> Result<Option<usize>, PyError> {
        match self.kind(d) {
            Kind::Dict(dict) => self.find_key(dict, self.key_hash(k, at)?, k, at),
            _ => Ok(None),
        }
    }

    fn dict_pairs(&self, d: Id) -> &[(Id, Id)] {
        match self.kind(d) {
            Kind::Dict(dict) => &dict.pairs,
            _ => &[],
        }
    }

    fn dict_mut(&mut self, d: Id) -> &mut Dict {
        let Kind::Dict(dict) = &mut self.heap[d].as_mut().expect("live").kind else { unreachable!("a dict") };
        dict
    }

    fn set_item(&mut self, o: Id, k: Id, v: Id, at: &Expr) -> Result<(), PyError> {
        match self.shape(o) {
            Shape::List(len) => {
                let i = self.index(k, len, at)?;
                let old = std::mem::replace(&mut self.list_mut(o)[i], v);
                self.decref(old);
                Ok(())
            }
            Shape::Dict => {
                let h = match self.key_hash(k, at) {
                    Ok(h) => h,
                    Err(e) => {
                        self.decref(v);
                        return Err(e);
                    }
                };
                let found = match self.kind(o) {
                    Kind::Dict(dict) => self.find_key(dict, h, k, at),
                    _ => Ok(None),
                };
                match found {
                    Ok(Some(pos)) => {
                        self.touch(o, CONTENT);
                        let old = std::mem::replace(&mut self.dict_mut(o).pairs[pos].1, v);
                        self.decref(old);
                    }
                    Ok(None) => {
                        self.incref(k);
                        self.touch(o, CONTENT);
                        self.dict_mut(o).push(h, k, v);
                    }
                    Err(e) => {
                        self.decref(v);
                        return Err(e);
                    }
                }
                Ok(())
            }
            Shape::Other => {
                self.decref(v);
                err("TypeError", format!("'{}' object does not support item assignment", self.type_name(o)), at)
            }
        }
    }

    fn delete(&mut self, target: &Target, s: &Stmt) -> Result<(), PyError> {
        match target {
            Target::Name(n) => {
                let frame = self.frames.last_mut().expect("a frame");
                match frame.vars.iter().position(|v| v.0 == *n) {
                    Some(pos) => {
                        let (_, id) = frame.vars.remove(pos);
                        self.frames_changed = true;
                        self.decref(id);
                        Ok(())
                    }
                    None => Err(PyError::at("NameError", &format!("name '{n}' is not defined"), s.line, s.col)),
                }
            }
            Target::Item(obj, index) => {
                let o = self.eval(obj)?;
                let k = self.eval(index)?;
                let result = match self.shape(o) {
                    Shape::List(len) => self.index(k, len, index).map(|i| {
                        let old = self.list_mut(o).remove(i);
                        self.decref(old);
                    }),
                    Shape::Dict => match self.dict_find(o, k, index)? {
                        Some(pos) => {
                            self.touch(o, CONTENT);
                            let (key, value) = self.dict_mut(o).remove(pos);
                            self.decref(key);
                            self.decref(value);
                            Ok(())
                        }
                        None => err("KeyError", self.repr_msg(k), index),
                    },
                    Shape::Other => err(
                        "TypeError",
                        format!("'{}' object does not support item deletion", self.type_name(o)),
                        index,
                    ),
                };
                self.decref(k);
                self.decref(o);
                result
            }
            Target::Tuple(targets) => {
                for t in targets {
                    self.enter(s.line, s.col)?;
                    let r = self.delete(t, s);
                    self.native -= 1;
                    r?;
                }
                Ok(())
            }
        }
    }

    fn list_mut(&mut self, id: Id) -> &mut Vec<Id> {
        self.touch(id, CONTENT);
        match &mut self.heap[id].as_mut().expect("live").kind {
            Kind::List(items) => items,
            _ => unreachable!("a list"),
        }
    }

    fn index(&self, k: Id, len: usize, at: &Expr) -> Result<usize, PyError> {
        let Kind::Int(i) = *self.kind(k) else {
            return err("TypeError", format!("indices must be integers, not {}", self.type_name(k)), at);
        };
        let len_i = i64::try_from(len).unwrap_or(i64::MAX);
        let j = if i < 0 { i + len_i } else { i };
        if (0..len_i).contains(&j) {
            Ok(usize::try_from(j).unwrap_or(0))
        } else {
            err("IndexError", "list index out of range", at)
        }
    }

    // ---- expressions ----

    /// Evaluation and execution nest natively (a call inside an expression inside a
    /// block…): bounded by `LIMITS.native`, so the native stack they need is bounded.
    fn enter(&mut self, line: u32, col: u32) -> Result<(), PyError> {
        #[cfg(test)]
        super::stack_probe::mark();
        self.native += 1;
        if self.native > LIMITS.native {
            self.native -= 1;
            return Err(PyError::at("RecursionError", "maximum recursion depth exceeded", line, col));
        }
        if stack_here() < self.floor {
            self.native -= 1;
            // Not CPython's limit: say so, rather than pass it off as Python's.
            let frames = self.frames.len();
            let why = if frames > 1 {
                format!("ThreadLab's stack ran out at {frames} frames, before CPython's limit of 1000")
            } else {
                "this nests too deeply for ThreadLab's stack".to_owned()
            };
            return Err(PyError::at("RecursionError", &format!("maximum recursion depth exceeded ({why})"), line, col));
        }
        Ok(())
    }

    fn eval(&mut self, e: &Expr) -> Result<Id, PyError> {
        self.enter(e.line, e.col)?;
        let r = self.eval_inner(e);
        self.native -= 1;
        r
    }

    fn eval_inner(&mut self, e: &Expr) -> Result<Id, PyError> {
        self.at = (e.line, e.col);
        match &e.kind {
            ExprKind::Immortal(k) => Ok(self.immortal(k)),
            ExprKind::Const(k) => {
                let id = self.consts[k];
                self.incref(id);
                Ok(id)
            }
            ExprKind::Name(n) => match self.lookup(n) {
                Some(id) => {
                    self.incref(id);
                    Ok(id)
                }
                None => err("NameError", format!("name '{n}' is not defined"), e),
            },
            ExprKind::List(items) => {
                let ids = self.eval_all(items)?;
                self.alloc(Kind::List(ids))
            }
            ExprKind::Tuple(items) => {
                let ids = self.eval_all(items)?;
                self.alloc(Kind::Tuple(ids))
            }
            ExprKind::Dict(pairs) => {
                let d = self.alloc(Kind::Dict(Dict::default()))?;
                for (k, v) in pairs {
                    let key = self.eval(k)?;
                    let value = self.eval(v)?;
                    self.set_item(d, key, value, k)?;
                    self.decref(key);
                }
                Ok(d)
            }
            ExprKind::Subscript(obj, index) => {
                let o = self.eval(obj)?;
                let k = self.eval(index)?;
                let r = self.get_item(o, k, index);
                self.decref(k);
                self.decref(o);
                r
            }
            ExprKind::Attr(obj, name) => {
                let o = self.eval(obj)?;
                let r = match (self.kind(o), name.as_str()) {
                    (Kind::Module("sys"), "getrefcount") => Ok(self.builtins["getrefcount"]),
                    (Kind::Module("gc"), "collect") => Ok(self.builtins["collect"]),
                    _ => err(
                        "AttributeError",
                        format!("'{}' object has no attribute '{name}' here", self.type_name(o)),
                        e,
                    ),
                };
                self.decref(o);
                r
            }
            ExprKind::Call(callee, args) => self.call(callee, args, e),
            ExprKind::Binary(l, op, r) => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                let v = self.binary(a, op, b, e);
                self.decref(b);
                self.decref(a);
                v
            }
            ExprKind::Neg(inner) => {
                let v = self.eval(inner)?;
                let r = match *self.kind(v) {
                    Kind::Int(n) => self.int(-n),
                    Kind::Float(f) => self.alloc(Kind::Float(-f)),
                    _ => err("TypeError", format!("bad operand type for unary -: '{}'", self.type_name(v)), e),
                };
                self.decref(v);
                r
            }
            ExprKind::Not(inner) => {
                let v = self.eval(inner)?;
                let t = self.truthy(v);
                self.decref(v);
                Ok(self.boolean(!t))
            }
            ExprKind::And(items) | ExprKind::Or(items) => {
                let is_and = matches!(e.kind, ExprKind::And(..));
                let (last, rest) = items.split_last().expect("two operands or more");
                for item in rest {
                    let a = self.eval(item)?;
                    if self.truthy(a) != is_and {
                        return Ok(a);
                    }
                    self.decref(a);
                }
                self.eval(last)
            }
        }
    }

    fn eval_all(&mut self, items: &[Expr]) -> Result<Vec<Id>, PyError> {
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            match self.eval(item) {
                Ok(id) => ids.push(id),
                Err(e) => {
                    for id in ids {
                        self.decref(id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }

    fn get_item(&mut self, o: Id, k: Id, at: &Expr) -> Result<Id, PyError> {
        let found = match self.kind(o) {
            Kind::List(items) | Kind::Tuple(items) => items[self.index(k, items.len(), at)?],
            Kind::Dict(dict) => match self.find_key(dict, self.key_hash(k, at)?, k, at)? {
                Some(pos) => dict.pairs[pos].1,
                None => return err("KeyError", self.repr_msg(k), at),
            },
            Kind::Str(s) => {
                self.add_work(s.len());
                let i = self.index(k, s.chars().count(), at)?;
                let c = s.chars().nth(i).unwrap_or_default().to_string();
                return self.alloc(Kind::Str(c));
            }
            _ => return err("TypeError", format!("'{}' object is not subscriptable", self.type_name(o)), at),
        };
        self.incref(found);
        Ok(found)
    }

    fn call(&mut self, callee: &Expr, args: &[Expr], at: &Expr) -> Result<Id, PyError> {
        // A method call keeps its receiver on the stack for the call (LOAD_METHOD).
        if let ExprKind::Attr(obj, name) = &callee.kind {
            let receiver = self.eval(obj)?;
            if matches!(self.kind(receiver), Kind::List(_) | Kind::Dict(_)) {
                let argv = self.eval_all(args)?;
                let r = self.method(receiver, name, &argv, at);
                for a in argv {
                    self.decref(a);
                }
                self.decref(receiver);
                return r;
            }
            self.decref(receiver);
        }
        let f = self.eval(callee)?;
        let argv = match self.eval_all(args) {
            Ok(argv) => argv,
            Err(e) => {
                self.decref(f);
                return Err(e);
            }
        };
        let r = match self.kind(f).clone() {
            Kind::Func(func) => self.call_function(&func, argv, at),
            Kind::Builtin(name) => {
                let r = self.builtin(name, &argv, at);
                for a in argv {
                    self.decref(a);
                }
                r
            }
            _ => {
                for a in argv {
                    self.decref(a);
                }
                err("TypeError", format!("'{}' object is not callable", self.type_name(f)), at)
            }
        };
        self.decref(f);
        r
    }

    fn call_function(&mut self, func: &Func, argv: Vec<Id>, at: &Expr) -> Result<Id, PyError> {
        if argv.len() != func.params.len() {
            let n = argv.len();
            for a in argv {
                self.decref(a);
            }
            return err(
                "TypeError",
                format!(
                    "{}() takes {} positional argument{} but {n} were given",
                    func.name,
                    func.params.len(),
                    if func.params.len() == 1 { "" } else { "s" }
                ),
                at,
            );
        }
        if self.frames.len() >= LIMITS.depth {
            for a in argv {
                self.decref(a);
            }
            return err("RecursionError", "maximum recursion depth exceeded", at);
        }
        // CPython 3.11 moves the arguments from the caller's stack into the new frame.
        let vars = func.params.iter().cloned().zip(argv).collect();
        self.frames.push(Frame { name: func.name.clone(), vars });
        self.frames_changed = true;
        let flow = self.exec_block(&func.body);
        let frame = self.frames.pop().expect("the call's frame");
        self.frames_changed = true;
        for (_, id) in frame.vars {
            self.decref(id);
        }
        match flow? {
            Flow::Return(v) => Ok(v),
            _ => Ok(self.none()),
        }
    }

    fn method(&mut self, receiver: Id, name: &str, argv: &[Id], at: &Expr) -> Result<Id, PyError> {
        match (self.shape(receiver), name, argv.len()) {
            (Shape::List(len), "append", 1) => {
                if len >= LIMITS.items {
                    return err("MemoryError", "ThreadLab's memory budget for one list is used up", at);
                }
                self.incref(argv[0]);
                self.list_mut(receiver).push(argv[0]);
                Ok(self.none())
            }
            (Shape::List(len), "pop", 0 | 1) => {
                if len == 0 {
                    return err("IndexError", "pop from empty list", at);
                }
                let i = match argv.first() {
                    Some(k) => self.index(*k, len, at)?,
                    None => len - 1,
                };
                // The list's reference becomes the caller's.
                Ok(self.list_mut(receiver).remove(i))
            }
            (Shape::List(_), "extend", 1) => {
                self.extend(receiver, argv[0], at)?;
                Ok(self.none())
            }
            (Shape::Dict, "get", 1 | 2) => {
                let found = self.dict_find(receiver, argv[0], at)?.map(|pos| self.dict_pairs(receiver)[pos].1);
                let v = match (found, argv.get(1)) {
                    (Some(v), _) | (None, Some(&v)) => v,
                    (None, None) => self.none(),
                };
                self.incref(v);
                Ok(v)
            }
            _ => err(
                "AttributeError",
                format!(
                    "'{}' object has no method '{name}' with {} arguments here",
                    self.type_name(receiver),
                    argv.len()
                ),
                at,
            ),
        }
    }

    fn extend(&mut self, list: Id, source: Id, at: &Expr) -> Result<(), PyError> {
        let items = match self.kind(source) {
            Kind::List(items) | Kind::Tuple(items) => items.clone(),
            _ => return err("TypeError", format!("'{}' object is not iterable", self.type_name(source)), at),
        };
        self.add_work(items.len());
        if self.list_len(list) + items.len() > LIMITS.items {
            return err("MemoryError", "ThreadLab's memory budget for one list is used up", at);
        }
        for id in items {
            self.incref(id);
            self.list_mut(list).push(id);
        }
        Ok(())
    }

    fn list_len(&self, id: Id) -> usize {
        match self.kind(id) {
            Kind::List(items) => items.len(),
            _ => 0,
        }
    }

    fn builtin(&mut self, name: &str, argv: &[Id], at: &Expr) -> Result<Id, PyError> {
        match (name, argv.len()) {
            ("print", _) => {
                if self.output_stopped {
                    return Ok(self.none());
                }
                // Built no further than the output budget left.
                let room = LIMITS.output_chars - self.output_chars;
                let (mut line, mut chars, mut cut) = (String::new(), 0, false);
                for (i, a) in argv.iter().enumerate() {
                    if i > 0 {
                        line.push(' ');
                        chars += 1;
                    }
                    let r = self.str_bounded(*a, room.saturating_sub(chars) + 1, at)?;
                    line.push_str(&r.text);
                    chars += r.chars;
                    if r.cut || chars > room {
                        cut = true;
                        break;
                    }
                }
                if cut {
                    line = line.chars().take(room).collect();
                    chars = room;
                }
                self.output.push(line);
                self.output_chars += chars;
                if cut || self.output.len() >= LIMITS.output_lines || self.output_chars >= LIMITS.output_chars {
                    self.output_stopped = true;
                    self.output.push(format!(
                        "[ThreadLab stopped printing here: output is limited to {} lines or {} characters; the \
                         script went on]",
                        LIMITS.output_lines, LIMITS.output_chars
                    ));
                }
                Ok(self.none())
            }
            ("len", 1) => {
                let n = match self.kind(argv[0]) {
                    Kind::List(v) | Kind::Tuple(v) => v.len(),
                    Kind::Dict(p) => p.len(),
                    Kind::Str(s) => {
                        self.add_work(s.len());
                        s.chars().count()
                    }
                    _ => {
                        return err(
                            "TypeError",
                            format!("object of type '{}' has no len()", self.type_name(argv[0])),
                            at,
                        )
                    }
                };
                self.int(i64::try_from(n).unwrap_or(i64::MAX))
            }
            ("range", 1..=3) => {
                let mut n = Vec::new();
                for a in argv {
                    match self.kind(*a) {
                        Kind::Int(i) => n.push(*i),
                        _ => return err("TypeError", "range() takes integers", at),
                    }
                }
                let (start, stop, step) = match n[..] {
                    [stop] => (0, stop, 1),
                    [start, stop] => (start, stop, 1),
                    [start, stop, step] => (start, stop, step),
                    _ => unreachable!(),
                };
                if step == 0 {
                    return err("ValueError", "range() arg 3 must not be zero", at);
                }
                self.alloc(Kind::Range(start, stop, step))
            }
            ("id", 1) => self.int(0x7f3a_0000_0000 + i64::try_from(argv[0]).unwrap_or(0) * 0x40),
            ("getrefcount", 1) => {
                let o = self.obj(argv[0]);
                let n = if o.immortal { IMMORTAL_COUNT } else { o.rc };
                self.int(i64::try_from(n).unwrap_or(i64::MAX))
            }
            ("collect", 0) => {
                let n = self.collect();
                self.int(i64::try_from(n).unwrap_or(i64::MAX))
            }
            ("str", 1) => {
                let r = self.str_bounded(argv[0], LIMITS.string_bytes + 1, at)?;
                if r.cut {
                    return err(
                        "MemoryError",
                        format!(
                            "ThreadLab's memory budget allows strings of up to {} MB; this one would be longer",
                            LIMITS.string_bytes >> 20
                        ),
                        at,
                    );
                }
                self.alloc(Kind::Str(r.text))
            }
            ("list", 0) => self.alloc(Kind::List(Vec::new())),
            ("list", 1) => {
                let l = self.alloc(Kind::List(Vec::new()))?;
                if let Kind::Range(start, stop, step) = *self.kind(argv[0]) {
                    let mut v = start;
                    while (step > 0 && v < stop) || (step < 0 && v > stop) {
                        if self.list_len(l) >= LIMITS.items {
                            return err("MemoryError", "ThreadLab's memory budget for one list is used up", at);
                        }
                        self.add_work(1);
                        let i = self.int(v)?;
                        self.list_mut(l).push(i);
                        v += step;
                    }
                } else {
                    self.extend(l, argv[0], at)?;
                }
                Ok(l)
            }
            ("int", 1) => match self.kind(argv[0]).clone() {
                Kind::Int(n) => self.int(n),
                #[allow(clippy::cast_possible_truncation)]
                Kind::Float(f) if f.is_finite() => self.int(f.trunc() as i64),
                Kind::Str(s) => match s.trim().parse::<i64>() {
                    Ok(n) => self.int(n),
                    Err(_) => err(
                        "ValueError",
                        format!("invalid literal for int() with base 10: {}", self.repr_msg(argv[0])),
                        at,
                    ),
                },
                _ => err("TypeError", "int() cannot convert this", at),
            },
            (name, n) => err("TypeError", format!("{name}() does not take {n} arguments here"), at),
        }
    }

    /// CPython's cycle collector: containers whose count is explained entirely by
    /// references from other containers are unreachable; clear and free them.
    fn collect(&mut self) -> usize {
        self.add_work(self.heap.len());
        let containers: Vec<Id> = (0..self.heap.len())
            .filter(|id| {
                matches!(self.heap[*id].as_ref().map(|o| &o.kind), Some(Kind::List(_) | Kind::Tuple(_) | Kind::Dict(_)))
            })
            .filter(|id| !self.obj(*id).immortal)
            .collect();
        let mut gc_refs: BTreeMap<Id, i64> =
            containers.iter().map(|id| (*id, i64::try_from(self.obj(*id).rc).unwrap_or(i64::MAX))).collect();
        for id in &containers {
            for child in children(&self.obj(*id).kind) {
                if let Some(r) = gc_refs.get_mut(&child) {
                    *r -= 1;
                }
            }
        }
        let mut reachable: HashSet<Id> = HashSet::new();
        let mut work: Vec<Id> = gc_refs.iter().filter(|(_, r)| **r > 0).map(|(id, _)| *id).collect();
        while let Some(id) = work.pop() {
            if reachable.insert(id) {
                work.extend(children(&self.obj(id).kind).into_iter().filter(|c| gc_refs.contains_key(c)));
            }
        }
        let garbage: Vec<Id> = containers.into_iter().filter(|id| !reachable.contains(id)).collect();
        for id in &garbage {
            self.incref(*id);
        }
        for id in &garbage {
            self.touch(*id, CONTENT);
            let contents = match &mut self.heap[*id].as_mut().expect("live").kind {
                Kind::List(items) | Kind::Tuple(items) => std::mem::take(items),
                Kind::Dict(dict) => dict.take().into_iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => Vec::new(),
            };
            for c in contents {
                self.decref(c);
            }
        }
        for id in &garbage {
            self.decref(*id);
        }
        garbage.len()
    }

    fn binary(&mut self, a: Id, op: &str, b: Id, at: &Expr) -> Result<Id, PyError> {
        use Kind::{Float, Int, List, Str};
        // Strings and lists are borrowed, never copied just to look at them.
        match (self.kind(a), self.kind(b), op) {
            (Str(x), Str(y), "+") => {
                self.check_string(x.len() + y.len())?;
                self.add_work(x.len() + y.len());
                let mut joined = String::with_capacity(x.len() + y.len());
                joined.push_str(x);
                joined.push_str(y);
                return self.alloc(Str(joined));
            }
            (Str(x), Int(n), "*") | (Int(n), Str(x), "*") => {
                let times = usize::try_from(*n).unwrap_or(0);
                self.check_string(x.len().saturating_mul(times))?;
                self.add_work(x.len() * times);
                let repeated = x.repeat(times);
                return self.alloc(Str(repeated));
            }
            (List(x), List(y), "+") => {
                if x.len() + y.len() > LIMITS.items {
                    return err("MemoryError", "ThreadLab's memory budget for one list is used up", at);
                }
                self.add_work(x.len() + y.len());
                let items: Vec<Id> = x.iter().chain(y).copied().collect();
                for i in &items {
                    self.incref(*i);
                }
                return self.alloc(List(items));
            }
            (List(x), Int(n), "*") | (Int(n), List(x), "*") => {
                let times = usize::try_from(*n).unwrap_or(0);
                if x.len().saturating_mul(times) > LIMITS.items {
                    return err("MemoryError", "ThreadLab's memory budget for one list is used up", at);
                }
                self.add_work(x.len() * times);
                let items: Vec<Id> = (0..times).flat_map(|_| x.iter().copied()).collect();
                for i in &items {
                    self.incref(*i);
                }
                return self.alloc(List(items));
            }
            _ => {}
        }
        let num = |k: &Kind| match k {
            Int(n) => Some(*n as f64),
            Float(f) => Some(*f),
            Kind::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        };
        match op {
            "==" => return Ok(self.boolean(self.equal(a, b, at)?)),
            "!=" => return Ok(self.boolean(!self.equal(a, b, at)?)),
            "in" => {
                let found = match self.kind(b) {
                    List(items) | Kind::Tuple(items) => {
                        let mut found = false;
                        for i in items {
                            if self.equal(*i, a, at)? {
                                found = true;
                                break;
                            }
                        }
                        found
                    }
                    Kind::Dict(dict) => self.find_key(dict, self.key_hash(a, at)?, a, at)?.is_some(),
                    Str(s) => {
                        self.add_work(s.len());
                        matches!(self.kind(a), Str(sub) if s.contains(sub.as_str()))
                    }
                    _ => {
                        return err(
                            "TypeError",
                            format!("argument of type '{}' is not iterable", self.type_name(b)),
                            at,
                        )
                    }
                };
                return Ok(self.boolean(found));
            }
            "<" | "<=" | ">" | ">=" => {
                let ord = match (self.kind(a), self.kind(b)) {
                    (Str(x), Str(y)) => x.partial_cmp(y),
                    (ka, kb) => match (num(ka), num(kb)) {
                        (Some(x), Some(y)) => x.partial_cmp(&y),
                        _ => None,
                    },
                };
                let Some(ord) = ord else {
                    return err(
                        "TypeError",
                        format!(
                            "'{op}' not supported between instances of '{}' and '{}'",
                            self.type_name(a),
                            self.type_name(b)
                        ),
                        at,
                    );
                };
                let r = match op {
                    "<" => ord.is_lt(),
                    "<=" => ord.is_le(),
                    ">" => ord.is_gt(),
                    _ => ord.is_ge(),
                };
                return Ok(self.boolean(r));
            }
            _ => {}
        }
        // Only scalars reach here, or a type error: cheap to copy.
        let (ka, kb) = (self.kind(a).clone(), self.kind(b).clone());
        let overflow = || PyError {
            kind: "OverflowError".into(),
            message: "integers larger than 64 bits are not supported yet".into(),
            line: at.line,
            col: at.col,
        };
        match (&ka, &kb, op) {
            (Int(x), Int(y), "+") => self.int(x.checked_add(*y).ok_or_else(overflow)?),
            (Int(x), Int(y), "-") => self.int(x.checked_sub(*y).ok_or_else(overflow)?),
            (Int(x), Int(y), "*") => self.int(x.checked_mul(*y).ok_or_else(overflow)?),
            (Int(x), Int(y), "**") if *y >= 0 => {
                let e = u32::try_from(*y).map_err(|_| overflow())?;
                self.int(x.checked_pow(e).ok_or_else(overflow)?)
            }
            (Int(0), Int(_), "**") => err("ZeroDivisionError", "0.0 cannot be raised to a negative power", at),
            (Int(_), Int(0), "//" | "%") | (_, _, "/") if num(&kb) == Some(0.0) => {
                err("ZeroDivisionError", "division by zero", at)
            }
            (Int(x), Int(y), "//") => self.int(x.div_euclid(*y) - i64::from(*y < 0 && x.rem_euclid(*y) != 0)),
            (Int(x), Int(y), "%") => self.int(((x % y) + y) % y),
            _ => match (num(&ka), num(&kb)) {
                (Some(x), Some(y)) if !matches!((&ka, &kb), (Kind::Bool(_), Kind::Bool(_))) || op != "/" => {
                    let v = match op {
                        "+" => x + y,
                        "-" => x - y,
                        "*" => x * y,
                        "/" => x / y,
                        "//" => (x / y).floor(),
                        "%" => x - y * (x / y).floor(),
                        "**" => x.powf(y),
                        _ => return err("TypeError", format!("unsupported operand {op}"), at),
                    };
                    self.alloc(Float(v))
                }
                _ => err(
                    "TypeError",
                    format!(
                        "unsupported operand type(s) for {op}: '{}' and '{}'",
                        self.type_name(a),
                        self.type_name(b)
                    ),
                    at,
                ),
            },
        }
    }

    /// `a == b`, depth-first without recursion; nesting deeper than the recursion limit
    /// left is CPython's `RecursionError`.
    fn equal(&self, a: Id, b: Id, at: &Expr) -> Result<bool, PyError> {
        self.add_work(1);
        // Scalars, the common case, need no work list.
        match (self.kind(a), self.kind(b)) {
            _ if a == b => return Ok(true),
            (Kind::List(_), Kind::List(_)) | (Kind::Tuple(_), Kind::Tuple(_)) => {}
            (Kind::Int(x), Kind::Int(y)) => return Ok(x == y),
            (Kind::Str(x), Kind::Str(y)) => return Ok(x == y),
            (Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) | Kind::None, _) => {}
            _ => return Ok(false),
        }
        let limit = LIMITS.depth.saturating_sub(self.frames.len());
        let mut work = vec![(a, b, 0usize)];
        while let Some((a, b, depth)) = work.pop() {
            self.add_work(1);
            if a == b {
                continue;
            }
            // A bool is the int 0 or 1 in comparisons, as in Python.
            let (ka, kb) = (self.kind(a), self.kind(b));
            let as_int = |k: &Kind| if let Kind::Bool(b) = k { Some(Kind::Int(i64::from(*b))) } else { None };
            let (ia, ib) = (as_int(ka), as_int(kb));
            let same = match (ia.as_ref().unwrap_or(ka), ib.as_ref().unwrap_or(kb)) {
                (Kind::Int(x), Kind::Int(y)) => x == y,
                (Kind::Int(x), Kind::Float(y)) | (Kind::Float(y), Kind::Int(x)) => (*x as f64) == *y,
                (Kind::Float(x), Kind::Float(y)) => x == y,
                (Kind::Str(x), Kind::Str(y)) => x == y,
                (Kind::None, Kind::None) => true,
                (Kind::List(x), Kind::List(y)) | (Kind::Tuple(x), Kind::Tuple(y)) => {
                    if x.len() == y.len() && depth >= limit {
                        return err("RecursionError", "maximum recursion depth exceeded in comparison", at);
                    }
                    // Reversed, so that items are compared left to right.
                    work.extend(x.iter().zip(y).rev().map(|(p, q)| (*p, *q, depth + 1)));
                    x.len() == y.len()
                }
                _ => false,
            };
            if !same {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The position of key `k`, of hash `h`, in a dict's pairs.
    fn find_key(&self, dict: &Dict, h: u64, k: Id, at: &Expr) -> Result<Option<usize>, PyError> {
        for &pos in dict.bucket(h) {
            if self.equal(dict.pairs[pos].0, k, at)? {
                return Ok(Some(pos));
            }
        }
        Ok(None)
    }

    /// `hash(k)` up to Python's equality: keys that compare equal hash alike (`1`, `1.0`
    /// and `True` are one key); a list or dict anywhere in `k` is unhashable, as in CPython.
    fn key_hash(&self, k: Id, at: &Expr) -> Result<u64, PyError> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut work = vec![k];
        while let Some(id) = work.pop() {
            self.add_work(1);
            match self.kind(id) {
                Kind::Int(n) => (0u8, *n).hash(&mut hasher),
                Kind::Bool(b) => (0u8, i64::from(*b)).hash(&mut hasher),
                // An integral float is the int it equals (`equal` compares them so);
                // beyond i64 and fractional ones hash by their bits.
                #[allow(clippy::cast_possible_truncation)]
                Kind::Float(f) if f.fract() == 0.0 && (-9.2e18..9.2e18).contains(f) => {
                    (0u8, *f as i64).hash(&mut hasher);
                }
                Kind::Float(f) => (1u8, f.to_bits()).hash(&mut hasher),
                Kind::Str(s) => (2u8, s).hash(&mut hasher),
                Kind::None => 3u8.hash(&mut hasher),
                Kind::Tuple(items) => {
                    (4u8, items.len()).hash(&mut hasher);
                    work.extend(items.iter().rev());
                }
                Kind::List(_) | Kind::Dict(_) => {
                    return err("TypeError", format!("unhashable type: '{}'", self.type_name(id)), at);
                }
                // Equal only to themselves.
                Kind::Func(_) | Kind::Builtin(_) | Kind::Module(_) | Kind::Range(..) => (5u8, id).hash(&mut hasher),
            }
        }
        Ok(hasher.finish())
    }

    fn truthy(&self, id: Id) -> bool {
        match self.kind(id) {
            Kind::Int(n) => *n != 0,
            Kind::Float(f) => *f != 0.0,
            Kind::Str(s) => !s.is_empty(),
            Kind::Bool(b) => *b,
            Kind::None => false,
            Kind::List(v) | Kind::Tuple(v) => !v.is_empty(),
            Kind::Dict(d) => d.len() != 0,
            Kind::Range(start, stop, step) => (*step > 0 && start < stop) || (*step < 0 && start > stop),
            _ => true,
        }
    }

    fn type_name(&self, id: Id) -> &'static str {
        match self.kind(id) {
            Kind::Int(_) => "int",
            Kind::Float(_) => "float",
            Kind::Str(_) => "str",
            Kind::Bool(_) => "bool",
            Kind::None => "NoneType",
            Kind::List(_) => "list",
            Kind::Tuple(_) => "tuple",
            Kind::Dict(_) => "dict",
            Kind::Func(_) => "function",
            Kind::Builtin(_) => "builtin_function_or_method",
            Kind::Module(_) => "module",
            Kind::Range(..) => "range",
        }
    }

    /// `str(x)`: a string as itself, anything else as its repr, within `max_chars`.
    fn str_bounded(&self, id: Id, max_chars: usize, at: &Expr) -> Result<Rendered, PyError> {
        if let Kind::Str(s) = self.kind(id) {
            let text: String = s.chars().take(max_chars).collect();
            let chars = text.chars().count();
            self.add_work(text.len());
            return Ok(Rendered { cut: text.len() < s.len(), too_deep: false, chars, text });
        }
        self.repr_bounded(id, max_chars, at)
    }

    /// `repr(x)` within `max_chars`; nesting deeper than the recursion limit left is
    /// CPython's `RecursionError`.
    fn repr_bounded(&self, id: Id, max_chars: usize, at: &Expr) -> Result<Rendered, PyError> {
        let depth = LIMITS.depth.saturating_sub(self.frames.len());
        let r = render(|i| self.node(i), id, max_chars, depth);
        self.add_work(r.chars);
        if r.too_deep {
            return err("RecursionError", "maximum recursion depth exceeded while getting the repr of an object", at);
        }
        Ok(r)
    }

    /// A repr for an error message: short, and never an error itself.
    fn repr_msg(&self, id: Id) -> String {
        let r = render(|i| self.node(i), id, 200, 50);
        if r.cut || r.too_deep {
            format!("{}...", r.text)
        } else {
            r.text
        }
    }

    fn node(&self, id: Id) -> Node<'_> {
        match self.kind(id) {
            Kind::Str(s) => Node::Str(s),
            Kind::List(v) => Node::List(v),
            Kind::Tuple(v) => Node::Tuple(v),
            Kind::Dict(d) => Node::Dict(&d.pairs),
            Kind::Int(n) => Node::Int(*n),
            _ => Node::Text(self.scalar_repr(id)),
        }
    }

    fn scalar_repr(&self, id: Id) -> String {
        match self.kind(id) {
            Kind::Int(n) => n.to_string(),
            Kind::Float(f) => float_repr(*f),
            Kind::Bool(b) => if *b { "True" } else { "False" }.into(),
            Kind::None => "None".into(),
            Kind::Func(f) => format!("<function {} at 0x{:x}>", f.name, 0x7f3a_0000_0000u64 + id as u64 * 0x40),
            Kind::Builtin(name) => format!("<built-in function {name}>"),
            Kind::Module(name) => format!("<module '{name}' (built-in)>"),
            Kind::Range(start, stop, step) if *step == 1 => format!("range({start}, {stop})"),
            Kind::Range(start, stop, step) => format!("range({start}, {stop}, {step})"),
            Kind::Str(_) | Kind::List(_) | Kind::Tuple(_) | Kind::Dict(_) => String::new(),
        }
    }
}

/// The objects `kind` holds references to.
fn children(kind: &Kind) -> Vec<Id> {
    match kind {
        Kind::List(items) | Kind::Tuple(items) => items.clone(),
        Kind::Dict(dict) => dict.iter().flat_map(|(k, v)| [*k, *v]).collect(),
        _ => Vec::new(),
    }
}

/// Python's `repr` of a float: shortest round-trip digits, `.0` on integral values,
/// exponent form beyond 1e16 and below 1e-4.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    if f.fract() == 0.0 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}
