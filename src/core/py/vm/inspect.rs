//! The reference-count inspector on the VM (docs/python-vm.md §3): a script runs on the
//! VM's slow loop, and at each step (a line completed in a frame) the recorder writes what
//! changed — objects made or changed, counts changed, objects freed, the frames — as the
//! `trace::Delta`s the page draws.
//!
//! Counts are CPython's, kept at step granularity: the heap notes each slot made or changed
//! (`Heap::touched`), and the recorder diffs that object's references against the ones it
//! recorded, recounts the references held outside the heap (`Vm::held_outside_heap`: stacks,
//! frames, globals, constants — the census of `sys.getrefcount`), and frees in a cascade
//! what reached zero. So a step costs what it changed, not the size of the heap. Numbers
//! are values in this VM: an int or a float is drawn as one object per value (CPython's
//! count, except when two equal numbers made apart are alive at once).

use super::heap::{IterState, Obj, ObjRef, Value};
use super::instr::Instr;
use super::vm::{Flow, Vm, R};
use crate::core::py::trace::{Delta, FrameView, ObjRec, VarView, STR_PREFIX};
use std::collections::{HashMap, HashSet};

/// Steps a script may run, and steps recorded (the rest runs unrecorded: `truncated`).
pub const MAX_STEPS: usize = 100_000;
pub const MAX_SNAPSHOTS: usize = 1_000;
/// Ids held in the recorded deltas.
pub const MAX_RECORDED: usize = 4_000_000;

/// Which CPython's counts the inspector shows (the Refcounts tab's selector,
/// `threadlab.refcount(source, {version})`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Version {
    /// CPython 3.11, 3.12 and 3.13 alike (the fixtures agree across them), with immortal
    /// objects printed as 3.12 and 3.13 do (3.11 printed a live count that changes).
    #[default]
    #[serde(rename = "3.11")]
    V3_11,
    /// CPython 3.14: borrowed stack references (`LOAD_FAST_BORROW`) are not counted.
    #[serde(rename = "3.14")]
    V3_14,
}

impl Version {
    /// The versions offered, as the API and the selector name them.
    pub const ALL: [Version; 2] = [Version::V3_11, Version::V3_14];

    /// `"3.11"` or `"3.14"`; anything else is an error saying what is offered (and, for
    /// the free-threaded `"3.14t"`, why it is not yet).
    ///
    /// # Errors
    /// A version that is not offered.
    pub fn parse(name: &str) -> Result<Version, String> {
        match name {
            "3.11" => Ok(Version::V3_11),
            "3.14" => Ok(Version::V3_14),
            "3.14t" => Err("version \"3.14t\" (free-threaded) is not offered yet: its counts (a thread's local \
                 count plus a shared one, deferred and immortalized objects) have no free-threaded \
                 CPython here to check them against (Pyodide is not free-threaded), and the \
                 inspector shows only counts checked against a real CPython"
                .to_owned()),
            other => Err(format!(
                "unknown version {other:?}: the inspector offers \"3.11\" (also CPython 3.12's and 3.13's \
                 counts) and \"3.14\""
            )),
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Version::V3_11 => "3.11",
            Version::V3_14 => "3.14",
        }
    }

    /// What a 64-bit build of this version prints for an immortal object.
    #[must_use]
    pub fn immortal_count(self) -> u64 {
        match self {
            Version::V3_11 => 4_294_967_295,
            Version::V3_14 => 3_221_225_472,
        }
    }
}

/// An object as the inspector tells them apart: a heap slot, or a number by its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Obj(u32),
    Int(i64),
    Float(u64),
    None,
    Bool(bool),
    Ellipsis,
    Native(u16),
}

fn key_of(v: Value) -> Option<Key> {
    Some(match v {
        Value::Null => return None,
        Value::Obj(r) => Key::Obj(r.0),
        Value::Int(n) => Key::Int(n),
        Value::Float(f) => Key::Float(f.to_bits()),
        Value::None => Key::None,
        Value::Bool(b) => Key::Bool(b),
        Value::Ellipsis => Key::Ellipsis,
        Value::Native(n) => Key::Native(n),
    })
}

struct Node {
    id: usize,
    children: Vec<Key>,
    heap_in: u64,
    root_in: u64,
    /// In a recorded delta already (its later changes are counts or contents).
    shown: bool,
}

/// Type indices of `trace::TYPES`.
const T_INT: u8 = 0;
const T_FLOAT: u8 = 1;
const T_STR: u8 = 2;
const T_BOOL: u8 = 3;
const T_NONE: u8 = 4;
const T_LIST: u8 = 5;
const T_TUPLE: u8 = 6;
const T_DICT: u8 = 7;
const T_FUNCTION: u8 = 8;
const T_BUILTIN: u8 = 9;
const T_MODULE: u8 = 10;
const T_RANGE: u8 = 11;
/// Any other type: its name is `ObjRec::tname`.
const T_OTHER: u8 = 12;

pub struct Recorder {
    pub version: Version,
    /// 3.14's borrowed stack references, followed instruction by instruction.
    borrows: Borrows,
    nodes: HashMap<Key, Node>,
    next_id: usize,
    /// Slots below this were made before the script (builtins, types): drawn opaque.
    baseline: u32,
    constants: HashSet<Key>,
    /// The references constants hold (`Vm::held_by_constants`), for this many code objects.
    constant_roots: (usize, HashMap<Key, u64>),
    roots: HashMap<Key, u64>,
    frames: Vec<FrameView>,
    /// Global slots in the order they were bound (a frame lists its names so).
    module_order: Vec<u32>,
    /// Each frame's current line, outermost first.
    lines: Vec<u32>,
    /// The objects the frames' names are bound to (`frames_now`).
    var_keys: Vec<Key>,
    pub executed: usize,
    pub steps: Vec<Delta>,
    pub truncated: bool,
    recording: bool,
    recorded: usize,
}

impl Recorder {
    #[must_use]
    pub fn new(baseline: u32, version: Version) -> Recorder {
        Recorder {
            version,
            borrows: Borrows::default(),
            nodes: HashMap::new(),
            next_id: 1,
            baseline,
            constants: HashSet::new(),
            constant_roots: (usize::MAX, HashMap::new()),
            roots: HashMap::new(),
            frames: Vec::new(),
            module_order: Vec::new(),
            lines: Vec::new(),
            var_keys: Vec::new(),
            executed: 0,
            steps: Vec::new(),
            truncated: false,
            recording: true,
            recorded: 0,
        }
    }

    /// Called before each instruction of the slow loop at `line` with `depth` frames: a
    /// line completed in a frame (or a frame returned) is a step.
    pub fn at(&mut self, vm: &mut Vm<'_>, depth: usize, line: u32, again: bool) -> R<()> {
        if self.version == Version::V3_14 {
            self.borrows.track(vm);
        }
        if line == 0 || depth == 0 {
            return Ok(());
        }
        if self.lines.len() > depth {
            let done = self.lines.last().copied().unwrap_or(0);
            self.lines.truncate(depth);
            if done != 0 {
                self.step(vm, done)?;
            }
        }
        if self.lines.len() < depth {
            self.lines.resize(depth, 0);
        }
        let current = self.lines[depth - 1];
        if current != line {
            self.lines[depth - 1] = line;
            if current != 0 {
                self.step(vm, current)?;
            }
        } else if again {
            // A loop on one line: each turn completes it.
            self.step(vm, line)?;
        }
        Ok(())
    }

    /// The references to `v` on the stack that 3.14 borrows (none for other versions),
    /// for `sys.getrefcount` while it runs.
    #[must_use]
    pub fn borrowed_refs(&self, stack: &[Value], v: Value) -> usize {
        if self.version == Version::V3_14 {
            self.borrows.borrowed_refs_of(stack, v)
        } else {
            0
        }
    }

    /// The script ended: the lines still open completed.
    pub fn finish(&mut self, vm: &mut Vm<'_>) -> R<()> {
        while let Some(done) = self.lines.pop() {
            if done != 0 {
                self.step(vm, done)?;
            }
        }
        Ok(())
    }

    /// The node of `k`, made on first sight. A heap object met first as a reference was
    /// made this step: its own references come with its turn among the touched slots (an
    /// opaque one has none).
    fn node(&mut self, k: Key) -> &mut Node {
        let next_id = &mut self.next_id;
        self.nodes.entry(k).or_insert_with(|| {
            let id = *next_id;
            *next_id += 1;
            Node { id, children: Vec::new(), heap_in: 0, root_in: 0, shown: false }
        })
    }

    fn opaque(&self, k: Key) -> bool {
        matches!(k, Key::Obj(s) if s < self.baseline)
    }

    fn immortal(&self, k: Key) -> bool {
        match k {
            Key::None | Key::Bool(_) | Key::Ellipsis | Key::Native(_) => true,
            Key::Int(n) => (-5..=256).contains(&n),
            Key::Obj(_) => self.opaque(k),
            Key::Float(_) => false,
        }
    }

    fn step(&mut self, vm: &mut Vm<'_>, line: u32) -> R<()> {
        // The time budget, at every step: the loop checks it every 1,024 ticks only, and a
        // tick here can be a long line (the page's own timeout would kill the worker first).
        if vm.i.host.now_ms() > vm.i.deadline_ms {
            return Err(Flow::Fatal(Box::new(crate::core::program::ProgramError {
                kind: "TimeoutError".into(),
                message: format!(
                    "the script ran longer than the inspector's time budget of {} s (at line {line})",
                    vm.i.timeout_ms / 1000.0
                ),
                line,
                col: 1,
            })));
        }
        self.executed += 1;
        if self.executed > MAX_STEPS {
            return Err(Flow::Fatal(Box::new(crate::core::program::ProgramError {
                kind: "StepLimitError".into(),
                message: format!("stopped after {MAX_STEPS} steps: is there a loop that never ends?"),
                line,
                col: 1,
            })));
        }
        if !self.recording {
            return Ok(());
        }
        if self.constants.is_empty() {
            for code in &vm.i.codes {
                self.constants.extend(code.consts.iter().filter_map(|v| key_of(*v)));
            }
        }
        let mut counted: Vec<Key> = Vec::new();
        let mut content: Vec<Key> = Vec::new();
        // Objects made or whose references changed this step.
        let mut changed: Vec<Key> = Vec::new();
        let mut maybe_dead: Vec<Key> = Vec::new();
        let mut freed: Vec<usize> = Vec::new();
        // Objects the collector freed (`gc.collect()`): gone, whatever their count.
        for s in std::mem::take(&mut vm.i.heap.collected) {
            if let Some(node) = self.nodes.remove(&Key::Obj(s)) {
                self.release(&node, &mut freed, &mut counted, &mut maybe_dead);
            }
        }
        // Objects made or changed: their references, diffed against the recorded ones.
        let mut touched = vm.i.heap.touched.replace(Vec::new()).unwrap_or_default();
        touched.sort_unstable();
        touched.dedup();
        for s in touched {
            if s < self.baseline {
                continue;
            }
            let k = Key::Obj(s);
            let Some(o) = vm.i.heap.slot(s) else { continue };
            let children = children_of(o);
            let existed = self.nodes.contains_key(&k);
            let old = std::mem::take(&mut self.node(k).children);
            if existed && old == children {
                self.node(k).children = old;
                continue;
            }
            for c in &old {
                self.node(*c).heap_in -= 1;
                counted.push(*c);
                maybe_dead.push(*c);
            }
            for c in &children {
                self.node(*c).heap_in += 1;
                counted.push(*c);
            }
            self.node(k).children = children;
            changed.push(k);
            maybe_dead.push(k);
        }
        // References held outside the heap, recounted.
        // (An immortal's count never changes: builtins, types and modules are not counted
        // here; the constants' references change only when code is compiled.)
        if self.constant_roots.0 != vm.i.codes.len() {
            let mut held: HashMap<Key, u64> = HashMap::new();
            for k in vm.held_by_constants(self.version).into_iter().filter_map(key_of).filter(|k| !self.immortal(*k)) {
                *held.entry(k).or_default() += 1;
            }
            self.constant_roots = (vm.i.codes.len(), held);
        }
        let mut roots: HashMap<Key, u64> = self.constant_roots.1.clone();
        for v in vm.held_by_frames_and_globals() {
            if let Some(k) = key_of(v).filter(|k| !self.immortal(*k)) {
                *roots.entry(k).or_default() += 1;
            }
        }
        // A borrowed slot holds no reference of its own (3.14).
        let borrowed = if self.version == Version::V3_14 { self.borrows.borrowed(&vm.t.stack) } else { Vec::new() };
        for v in borrowed {
            if let Some(n) = key_of(v).and_then(|k| roots.get_mut(&k)) {
                *n = n.saturating_sub(1);
            }
        }
        roots.retain(|_, n| *n > 0);
        let old_roots = std::mem::take(&mut self.roots);
        for (k, n) in &roots {
            if old_roots.get(k) != Some(n) {
                self.node(*k).root_in = *n;
                counted.push(*k);
            }
        }
        for k in old_roots.keys() {
            if !roots.contains_key(k) {
                if let Some(node) = self.nodes.get_mut(k) {
                    node.root_in = 0;
                    counted.push(*k);
                    maybe_dead.push(*k);
                }
            }
        }
        self.roots = roots;
        // What reached zero is freed, and what it held loses a reference.
        while let Some(k) = maybe_dead.pop() {
            let dead = self.nodes.get(&k).is_some_and(|n| n.heap_in + n.root_in == 0) && !self.immortal(k);
            if dead {
                if let Some(node) = self.nodes.remove(&k) {
                    self.release(&node, &mut freed, &mut counted, &mut maybe_dead);
                }
            }
        }
        if self.steps.len() >= MAX_SNAPSHOTS || self.recorded > MAX_RECORDED {
            // The rest runs unrecorded, and uncounted: only its steps are counted.
            self.recording = false;
            self.truncated = true;
            vm.i.heap.touched = None;
            vm.i.heap.collected.clear();
            return Ok(());
        }
        content.extend(changed.iter().copied());
        let frames = self.frames_now(vm);
        // A name bound to an object not drawn yet (a builtin, a small int) draws it.
        content.extend(std::mem::take(&mut self.var_keys));
        let mut objects = Vec::new();
        let mut counts = Vec::new();
        content.extend(counted.iter().copied());
        let changed: HashSet<Key> = changed.into_iter().collect();
        let mut seen = HashSet::new();
        for k in content {
            let Some(n) = self.nodes.get(&k) else { continue };
            // Drawn already and unchanged: its count, if anything.
            if (n.shown && !changed.contains(&k)) || !seen.insert(k) {
                continue;
            }
            let rec = self.record(vm, k);
            self.recorded += 1 + rec.children.len();
            if let Some(n) = self.nodes.get_mut(&k) {
                n.shown = true;
            }
            objects.push(rec);
        }
        for k in counted {
            if seen.insert(k) && !self.immortal(k) {
                if let Some(n) = self.nodes.get(&k) {
                    counts.push((n.id, self.count(k, n)));
                }
            }
        }
        objects.sort_by_key(|o| o.id);
        counts.sort_unstable();
        let frames = (frames != self.frames).then(|| {
            self.frames.clone_from(&frames);
            frames
        });
        self.recorded +=
            1 + counts.len() + freed.len() + frames.as_ref().map_or(0, |f| f.iter().map(|f| f.vars.len() + 1).sum());
        let output_len = vm.i.out.text.lines().count();
        self.steps.push(Delta { line, output_len, objects, counts, freed, frames });
        Ok(())
    }

    /// A node is gone: what it held loses a reference (and may go too).
    fn release(&mut self, node: &Node, freed: &mut Vec<usize>, counted: &mut Vec<Key>, maybe_dead: &mut Vec<Key>) {
        if node.shown {
            freed.push(node.id);
        }
        for c in &node.children {
            let n = self.node(*c);
            n.heap_in = n.heap_in.saturating_sub(1);
            counted.push(*c);
            maybe_dead.push(*c);
        }
    }

    fn count(&self, k: Key, n: &Node) -> u64 {
        if self.immortal(k) {
            self.version.immortal_count()
        } else {
            n.heap_in + n.root_in
        }
    }

    fn id(&self, k: Key) -> usize {
        self.nodes.get(&k).map_or(0, |n| n.id)
    }

    fn record(&self, vm: &Vm<'_>, k: Key) -> ObjRec {
        let n = &self.nodes[&k];
        let (ty, tname, text, len) = describe(vm, k, n.id, self.opaque(k));
        ObjRec {
            id: n.id,
            ty,
            tname,
            rc: self.count(k, n),
            immortal: self.immortal(k),
            constant: self.constants.contains(&k),
            text,
            len,
            children: n.children.iter().map(|c| self.id(*c)).collect(),
        }
    }

    /// The frames as the page lists them: each frame's bound names, outermost first.
    fn frames_now(&mut self, vm: &Vm<'_>) -> Vec<FrameView> {
        let globals = &vm.i.globals;
        self.module_order.retain(|s| globals.get(*s as usize).is_some_and(|v| *v != Value::Null));
        for (s, v) in globals.iter().enumerate() {
            if *v != Value::Null && !self.module_order.contains(&(s as u32)) {
                self.module_order.push(s as u32);
            }
        }
        let mut bound: Vec<(String, Key)> = Vec::new();
        let var = |bound: &mut Vec<(String, Key)>, name: &str, v: Value| {
            if let Some(k) = key_of(v) {
                bound.push((name.to_owned(), k));
            }
        };
        let names = &vm.i.global_names.names;
        for s in &self.module_order {
            // The module's own dunder names are the interpreter's, not the script's.
            if !names[*s as usize].starts_with("__") {
                var(&mut bound, &names[*s as usize], globals[*s as usize]);
            }
        }
        let mut shape: Vec<(String, usize)> = vec![("<module>".into(), bound.len())];
        for f in vm.t.frames.iter().skip(1) {
            let code = &vm.i.codes[f.code as usize];
            for (i, name) in code.varnames.iter().enumerate() {
                if let Some(v) = vm.t.stack.get(f.base + i) {
                    var(&mut bound, name, *v);
                }
            }
            for (name, cell) in code.cellvars.iter().chain(&code.freevars).zip(f.cells()) {
                if let Obj::Cell(v) = vm.i.heap.get(*cell) {
                    var(&mut bound, name, *v);
                }
            }
            shape.push((code.name.clone(), bound.len()));
        }
        let mut frames = Vec::new();
        let mut from = 0;
        for (name, to) in shape {
            let vars = bound[from..to].iter().map(|(n, k)| VarView { name: n.clone(), id: self.node(*k).id }).collect();
            frames.push(FrameView { name, vars });
            from = to;
        }
        self.var_keys = bound.into_iter().map(|(_, k)| k).collect();
        frames
    }
}

/// The references an object holds as the inspector draws them (a set: its items; a
/// module: none — its attributes are the interpreter's, not the script's).
fn children_of(o: &Obj) -> Vec<Key> {
    let mut out = Vec::new();
    match o {
        Obj::Module(..) => {}
        Obj::Set(d, _) => out.extend(d.iter().filter_map(|(k, _)| key_of(k))),
        _ => o.for_each_child(|v| out.extend(key_of(v))),
    }
    out
}

/// A fake address per inspector id, as CPython's reprs show one.
fn address(id: usize) -> u64 {
    0x7f3a_0000_0000u64 + id as u64 * 0x40
}

/// Type index, type name (for `T_OTHER`), text and string length of an object.
fn describe(vm: &Vm<'_>, k: Key, id: usize, opaque: bool) -> (u8, String, String, usize) {
    let other = |name: &str, text: String| (T_OTHER, name.to_owned(), text, 0);
    match k {
        Key::Int(n) => (T_INT, String::new(), n.to_string(), 0),
        Key::Float(f) => (T_FLOAT, String::new(), super::format::float_repr(f64::from_bits(f)), 0),
        Key::Bool(b) => (T_BOOL, String::new(), if b { "True" } else { "False" }.into(), 0),
        Key::None => (T_NONE, String::new(), "None".into(), 0),
        Key::Ellipsis => other("ellipsis", "Ellipsis".into()),
        Key::Native(n) => {
            let name = super::builtins::NATIVES[n as usize].0;
            (T_BUILTIN, String::new(), format!("<built-in function {}>", name.rsplit('.').next().unwrap_or(name)), 0)
        }
        Key::Obj(s) => {
            let o = vm.i.heap.get(ObjRef(s));
            if opaque {
                return match o {
                    Obj::Module(name, _) => (T_MODULE, String::new(), format!("<module '{name}' (built-in)>"), 0),
                    _ => (T_BUILTIN, String::new(), vm.type_name(Value::Obj(ObjRef(s))), 0),
                };
            }
            match o {
                Obj::Str(text) => (T_STR, String::new(), text.chars().take(STR_PREFIX).collect(), text.len()),
                Obj::List(_) => (T_LIST, String::new(), String::new(), 0),
                Obj::Tuple(_) => (T_TUPLE, String::new(), String::new(), 0),
                Obj::Dict(_) => (T_DICT, String::new(), String::new(), 0),
                Obj::Big(n) => (T_INT, String::new(), n.to_string(), 0),
                Obj::Range(a, b, c) if *c == 1 => (T_RANGE, String::new(), format!("range({a}, {b})"), 0),
                Obj::Range(a, b, c) => (T_RANGE, String::new(), format!("range({a}, {b}, {c})"), 0),
                Obj::Function(f) => {
                    (T_FUNCTION, String::new(), format!("<function {} at 0x{:x}>", f.qualname, address(id)), 0)
                }
                Obj::Module(name, _) => (T_MODULE, String::new(), format!("<module '{name}'>"), 0),
                Obj::Set(d, frozen) => {
                    let name = if *frozen { "frozenset" } else { "set" };
                    other(name, format!("<{name} of {} items>", d.len()))
                }
                Obj::Class(c) => other("type", format!("<class '__main__.{}'>", c.qualname)),
                Obj::Instance(inst) => {
                    let name = match vm.i.heap.get(inst.class) {
                        Obj::Class(c) => c.qualname.clone(),
                        _ => "object".into(),
                    };
                    let text = format!("<__main__.{name} object at 0x{:x}>", address(id));
                    other(&name, text)
                }
                Obj::Bound(..) => other("method", "<bound method>".into()),
                Obj::Cell(_) => other("cell", format!("<cell at 0x{:x}>", address(id))),
                Obj::Generator(_) => other("generator", format!("<generator object at 0x{:x}>", address(id))),
                Obj::Iter(st) => {
                    let name = match st {
                        IterState::Range { .. } => "range_iterator",
                        IterState::Str { .. } => "str_ascii_iterator",
                        IterState::Enumerate { .. } => "enumerate",
                        IterState::Zip { .. } => "zip",
                        IterState::Map { .. } => "map",
                        IterState::Filter { .. } => "filter",
                        IterState::Seq { .. } | IterState::Items { .. } => "iterator",
                    };
                    other(name, format!("<{name} object at 0x{:x}>", address(id)))
                }
                Obj::Slice(..) => other("slice", "slice(…)".into()),
                Obj::Native(tag, _) => other(tag, format!("<{tag} object at 0x{:x}>", address(id))),
                Obj::Sync(_) => other("lock", format!("<threading object at 0x{:x}>", address(id))),
            }
        }
    }
}

/// How long a script may run in the inspector (its steps are bounded too): within the
/// page's 10 s for the inspector's worker, so a long script gets its error, not a kill.
pub const TIMEOUT_MS: f64 = 5_000.0;

/// Runs `source` in the inspector: its output, its steps as deltas, the error it ended
/// with. Threads and processes are the Code view's: a script that starts one ends with a
/// clear error.
#[must_use]
pub fn run(
    source: &str,
    host: std::sync::Arc<dyn crate::core::program::Host>,
    version: Version,
) -> crate::core::py::Trace {
    run_for(source, host, TIMEOUT_MS, version)
}

/// [`run`] with another wall-time budget.
#[must_use]
pub fn run_for(
    source: &str,
    host: std::sync::Arc<dyn crate::core::program::Host>,
    timeout_ms: f64,
    version: Version,
) -> crate::core::py::Trace {
    use super::vm::Exit;
    use crate::core::py::{PyError, Trace};
    let mut baseline = 0;
    let prepared = super::program::prepare_with(source, host, timeout_ms, |interp| {
        // The collector frees only what CPython's counts freed (what no count holds is
        // unreachable), and keeps cycles until `gc.collect()`, as CPython.
        interp.heap.keep_cycles = usize::MAX;
        baseline = u32::try_from(interp.heap.len()).unwrap_or(u32::MAX);
        interp.heap.touched = Some(Vec::new());
    });
    let (mut interp, mut ts) = match prepared {
        Ok(ready) => ready,
        Err((_, error)) => return Trace { error: Some(error), version, ..Trace::default() },
    };
    interp.inspect = Some(Box::new(Recorder::new(baseline, version)));
    let error = loop {
        match super::vm::run(&mut interp, &mut ts) {
            Exit::Breaker => {}
            // The inspector shows counts, not time: a sleep returns at once.
            Exit::Block(super::vm::BlockOp::Sleep(_)) => ts.resume_with(Value::None),
            Exit::Block(_) => {
                let line = ts.frames.last().map_or(0, |f| {
                    interp.codes[f.code as usize].locs.get(f.ip.saturating_sub(1)).map_or(0, |l| l.line)
                });
                break Some(PyError::at(
                    "NotImplementedError",
                    "threads and processes are not drawn by the inspector: run this script in the Code view",
                    line,
                    1,
                ));
            }
            Exit::Done(_) => {
                let mut rec = interp.inspect.take();
                let mut vm = Vm { i: &mut interp, t: &mut ts };
                let r = rec.as_mut().map_or(Ok(()), |r| r.finish(&mut vm));
                interp.inspect = rec;
                break match r {
                    Err(Flow::Fatal(e)) => Some(PyError::at(&e.kind, &e.message, e.line, e.col)),
                    _ => None,
                };
            }
            Exit::Exception(e) => {
                let mut vm = Vm { i: &mut interp, t: &mut ts };
                let kind = vm.exc_type_name(e);
                let message = vm.exc_message(e);
                let (line, col) = vm.exc_location(e);
                break Some(PyError::at(&kind, &message, line, col));
            }
            Exit::Fatal(e) => break Some(PyError::at(&e.kind, &e.message, e.line, e.col)),
        }
    };
    let rec = interp.inspect.take();
    let output = interp.out.text.lines().map(str::to_owned).collect();
    let (steps, truncated) = rec.map_or((Vec::new(), false), |r| (r.steps, r.truncated));
    Trace { output, error, truncated, run_ms: None, version, steps }
}

/// The instruction about to run when the tracker last looked, and the stack then.
struct Prev {
    depth: usize,
    cid: u32,
    ip: usize,
    base: usize,
    len: usize,
    instr: Instr,
    /// A call's `[callable, self_or_null, args…]`, values and borrows; else the top four
    /// slots' borrows.
    values: Vec<Value>,
    saved: Vec<Option<Value>>,
}

/// CPython 3.14's borrowed references, as its interpreter moves them (`pycore_stackref.h`):
/// `LOAD_FAST_BORROW` pushes a reference tagged "not owned", and the tag travels with it —
/// copied by `LOAD_FAST` of a local holding one, stored with it into a local, handed with
/// it to a called function's parameters — until it goes into an object (a list, a tuple,
/// a return value), where it becomes a reference of its own. Which loads borrow is the
/// compiler's decision (`borrow::borrowed_loads`); the tags are followed here, before each
/// instruction of the slow loop, from what the previous one did to the stack.
#[derive(Default)]
struct Borrows {
    /// Per slot of the thread's stack (locals included): the value it borrows, if it does.
    tags: Vec<Option<Value>>,
    prev: Option<Prev>,
    loads: HashMap<u32, Vec<bool>>,
}

impl Borrows {
    fn tagged(&self, stack: &[Value], k: usize) -> bool {
        self.tags.get(k).copied().flatten().is_some_and(|v| stack.get(k) == Some(&v))
    }

    /// The values of the stack's slots that borrow.
    fn borrowed(&self, stack: &[Value]) -> Vec<Value> {
        (0..stack.len()).filter(|&k| self.tagged(stack, k)).map(|k| stack[k]).collect()
    }

    /// The borrowed references to `v` while a builtin runs: the stack's slots, and the
    /// arguments of the call running now (taken off the stack for the builtin).
    pub(super) fn borrowed_refs_of(&self, stack: &[Value], v: Value) -> usize {
        let on_stack = self.borrowed(stack).into_iter().filter(|x| *x == v).count();
        let args = match &self.prev {
            Some(p) if matches!(p.instr, Instr::Call(_) | Instr::CallKw(..)) && p.saved.len() == p.values.len() => {
                (2..p.values.len()).filter(|&j| p.values[j] == v && p.saved[j] == Some(v)).count()
            }
            _ => 0,
        };
        on_stack + args
    }

    fn track(&mut self, vm: &Vm<'_>) {
        let stack = &vm.t.stack;
        let len = stack.len();
        self.tags.resize(len, None);
        let Some(f) = vm.t.frames.last() else {
            self.prev = None;
            return;
        };
        let depth = vm.t.frames.len();
        if let Some(p) = self.prev.take() {
            if depth == p.depth && f.base == p.base {
                self.after(vm, &p, len);
            } else if depth == p.depth + 1 {
                self.entered(vm, &p, f.base);
            }
        }
        let code = &vm.i.codes[f.code as usize];
        let Some(&instr) = code.instrs.get(f.ip) else { return };
        let from = match instr {
            Instr::Call(n) | Instr::CallKw(n, _) => len.saturating_sub(n as usize + 2),
            _ => len.saturating_sub(4),
        };
        let values =
            if matches!(instr, Instr::Call(_) | Instr::CallKw(..)) { stack[from..].to_vec() } else { Vec::new() };
        self.prev = Some(Prev {
            depth,
            cid: f.code,
            ip: f.ip,
            base: f.base,
            len,
            instr,
            values,
            saved: self.tags[from..].to_vec(),
        });
    }

    /// What instruction `p` did to the borrows of its frame's stack (now `len` slots).
    fn after(&mut self, vm: &Vm<'_>, p: &Prev, len: usize) {
        let stack = &vm.t.stack;
        let top = |k: usize| p.saved.len().checked_sub(k).and_then(|i| p.saved[i]);
        match p.instr {
            Instr::LoadFast(i) if len == p.len + 1 => {
                let code = &vm.i.codes[p.cid as usize];
                let borrows =
                    self.loads.entry(p.cid).or_insert_with(|| super::borrow::borrowed_loads(code, &vm.i.codes))[p.ip];
                let local = p.base + i as usize;
                self.tags[len - 1] = (borrows || self.tagged(stack, local)).then(|| stack[len - 1]);
            }
            // An inlined comprehension's read of its function's local (`borrow::borrowed_loads`).
            Instr::LoadDeref(_) if len == p.len + 1 => {
                let code = &vm.i.codes[p.cid as usize];
                let borrows =
                    self.loads.entry(p.cid).or_insert_with(|| super::borrow::borrowed_loads(code, &vm.i.codes))[p.ip];
                self.tags[len - 1] = borrows.then(|| stack[len - 1]);
            }
            Instr::StoreFast(i) if len + 1 == p.len => {
                let local = p.base + i as usize;
                if local < len {
                    self.tags[local] = top(1);
                }
            }
            Instr::DupTop if len == p.len + 1 && len >= 2 => self.tags[len - 1] = self.tags[len - 2],
            Instr::DupTopTwo if len == p.len + 2 && len >= 4 => {
                self.tags[len - 2] = self.tags[len - 4];
                self.tags[len - 1] = self.tags[len - 3];
            }
            Instr::RotTwo if len == p.len && len >= 2 => self.tags.swap(len - 1, len - 2),
            Instr::RotThree | Instr::RotFour if len == p.len => {
                let depth = if p.instr == Instr::RotThree { 3 } else { 4 };
                if len >= depth {
                    let v = self.tags.pop().flatten();
                    self.tags.insert(len - depth, v);
                }
            }
            // `[obj]` -> `[method, self]`: the receiver's slot keeps its borrow.
            Instr::LoadMethod(_) if len == p.len + 1 => {
                self.tags[len - 2] = None;
                self.tags[len - 1] = top(1);
            }
            instr => {
                if let Some(from) = results_from(instr, p.len, len) {
                    for t in &mut self.tags[from.min(len)..] {
                        *t = None;
                    }
                }
            }
        }
    }

    /// A call pushed a frame whose locals start at `base`: its parameters keep the
    /// arguments' borrows. In place when the arguments are where the locals go; else
    /// (defaults, keywords) they were bound into locals from the callable's slot on.
    fn entered(&mut self, vm: &Vm<'_>, p: &Prev, base: usize) {
        let (Instr::Call(n) | Instr::CallKw(n, _)) = p.instr else { return };
        let pos = p.len.saturating_sub(n as usize + 2);
        if base != pos || p.values.len() < 2 || p.saved.len() != p.values.len() {
            return;
        }
        for t in self.tags.iter_mut().skip(pos) {
            *t = None;
        }
        // Keyword arguments, last, go to the parameters they name.
        let names: Vec<String> = match p.instr {
            Instr::CallKw(_, ci) => match vm.i.codes[p.cid as usize].consts.get(ci as usize) {
                Some(Value::Obj(t)) => match vm.i.heap.get(*t) {
                    Obj::Tuple(items) => items
                        .iter()
                        .map(|i| match i {
                            Value::Obj(s) => match vm.i.heap.get(*s) {
                                Obj::Str(s) => s.clone(),
                                _ => String::new(),
                            },
                            _ => String::new(),
                        })
                        .collect(),
                    _ => return,
                },
                _ => return,
            },
            _ => Vec::new(),
        };
        let Some(callee) = vm.t.frames.last().map(|f| &vm.i.codes[f.code as usize]) else { return };
        let first = if p.values[1] == Value::Null { 2 } else { 1 };
        let positional = p.values.len() - names.len();
        let mut passed: Vec<(usize, usize)> = (first..positional).enumerate().collect();
        for (k, name) in names.iter().enumerate() {
            if let Some(local) = callee.varnames.iter().position(|v| v == name) {
                passed.push((local, positional + k));
            }
        }
        let stack = &vm.t.stack;
        for (local, j) in passed {
            let slot = base + local;
            if let (Some(v), Some(now)) = (p.saved[j], stack.get(slot)) {
                if *now == v && p.values[j] == v {
                    self.tags[slot] = Some(v);
                }
            }
        }
    }
}

/// Where the slots `instr` made start (their borrows are gone), if it made any: loads
/// push on top of what was there; other instructions replace their operands.
fn results_from(instr: Instr, before: usize, after: usize) -> Option<usize> {
    match instr {
        Instr::Nop
        | Instr::Resume
        | Instr::StoreGlobal(_)
        | Instr::StoreName(_)
        | Instr::StoreDeref(_)
        | Instr::StoreAttr(_)
        | Instr::StoreSubscr
        | Instr::DeleteFast(_)
        | Instr::DeleteGlobal(_)
        | Instr::DeleteName(_)
        | Instr::DeleteAttr(_)
        | Instr::DeleteSubscr
        | Instr::PopTop
        | Instr::PopIter
        | Instr::PopJumpIfFalse(_)
        | Instr::PopJumpIfTrue(_)
        | Instr::JumpIfFalseOrPop(_)
        | Instr::JumpIfTrueOrPop(_)
        | Instr::JumpForward(_)
        | Instr::JumpBackward(_)
        | Instr::JumpBackwardNoInterrupt(_)
        | Instr::SetupFinally(_)
        | Instr::PopBlock
        | Instr::PopExcept
        | Instr::ListAppend(_)
        | Instr::SetAdd(_)
        | Instr::MapAdd(_)
        | Instr::ListExtend
        | Instr::DictUpdate
        | Instr::ReturnValue
        | Instr::RaiseVarargs(_)
        | Instr::Reraise => None,
        Instr::LoadConst(_)
        | Instr::LoadGlobal(_)
        | Instr::LoadName(_)
        | Instr::LoadDeref(_)
        | Instr::LoadClosure(_)
        | Instr::PushNull
        | Instr::LoadAssertionError
        | Instr::LoadLocals
        | Instr::ImportFrom(_)
        | Instr::ForIter(_)
        | Instr::WithExceptStart
        | Instr::ReturnGenerator
        | Instr::BuildTuple(0)
        | Instr::BuildList(0)
        | Instr::BuildSet(0)
        | Instr::BuildMap(0)
        | Instr::BuildString(0) => Some(before),
        _ => Some(before.min(after).saturating_sub(1)),
    }
}
