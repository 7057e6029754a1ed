//! The `threading` and `queue` modules on the VM: natives (registered in
//! `vm::builtins::NATIVES` as `threading.Lock`, `lock.acquire`, …) over the primitives of
//! [`super::sync`] and the threads of [`super::Process`].
//!
//! Each blocking method tries the non-blocking form first, under the GIL, as CPython's
//! `acquire_timed` does; only if that fails does it return `Flow::Block(BlockOp::Wait(…))`,
//! which the driver performs with the GIL released (see [`super::vmrun`]).
//!
//! Every native returns `R<Value>`, its error a Python exception as its doc says: no
//! `# Errors` section each. Numbers from Python (a timeout, a count) are cast after their
//! range is checked.
#![allow(
    clippy::missing_errors_doc,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::result_large_err
)]

use super::sync::{self, Barrier, CondLock, Condition, Event, Lock, Queue, RLock, Semaphore};
use super::{Phase, Process, PyThread};
use crate::core::program::LaneKind;
use crate::core::py::vm::builtins::Kw;
use crate::core::py::vm::heap::{Attrs, Class, Dict, HKey, Obj, ObjRef, Value};
use crate::core::py::vm::vm::{BlockOp, Flow, Interp, ThreadState, Vm, R};
use std::sync::Arc;

/// A Python object whose state threads share outside the heap (a lock's word, a queue's
/// items): one variant of the heap's `Obj::Sync`.
#[derive(Debug)]
pub enum Shared {
    Lock(Arc<Lock>),
    RLock(Arc<RLock>),
    Event(Arc<Event>),
    Semaphore(Arc<Semaphore>),
    Barrier(Arc<Barrier>),
    Condition(Arc<Condition>),
    Queue(Arc<Queue<Value>>),
    Thread(ThreadObj),
    Future(Arc<super::futures::FutureCell>),
    Executor(Arc<super::futures::Executor>),
}

/// `threading.Thread`: its thread, and what `start()` will call.
#[derive(Debug)]
pub struct ThreadObj {
    pub thread: Arc<PyThread>,
    pub target: Value,
    pub args: Value,
    pub kwargs: Value,
}

/// The class names of [`Shared`] objects (`type(x).__name__`, as CPython's).
pub const TAGS: [&str; 12] = [
    "lock",
    "RLock",
    "Event",
    "Semaphore",
    "BoundedSemaphore",
    "Barrier",
    "Condition",
    "Queue",
    "Thread",
    "_MainThread",
    "Future",
    "ThreadPoolExecutor",
];

impl Shared {
    #[must_use]
    pub fn tag(&self) -> &'static str {
        match self {
            Shared::Lock(_) => "lock",
            Shared::RLock(_) => "RLock",
            Shared::Event(_) => "Event",
            Shared::Semaphore(s) => {
                if s.bounded() {
                    "BoundedSemaphore"
                } else {
                    "Semaphore"
                }
            }
            Shared::Barrier(_) => "Barrier",
            Shared::Condition(_) => "Condition",
            Shared::Queue(_) => "Queue",
            Shared::Future(_) => "Future",
            Shared::Executor(_) => "ThreadPoolExecutor",
            Shared::Thread(t) => {
                if t.thread.kind() == LaneKind::Thread {
                    "Thread"
                } else {
                    "_MainThread"
                }
            }
        }
    }

    /// The lock `pickle` stumbles on inside it, as CPython names its type.
    #[must_use]
    pub fn pickled_lock(&self) -> &'static str {
        match self {
            Shared::RLock(_) => "_thread.RLock",
            Shared::Condition(c) if matches!(c.lock(), CondLock::RLock(_)) => "_thread.RLock",
            _ => "_thread.lock",
        }
    }

    /// The values it holds, for the collector.
    pub fn trace(&self, mut f: impl FnMut(&Value)) {
        match self {
            Shared::Queue(q) => q.for_each(f),
            Shared::Future(c) => c.trace(f),
            Shared::Executor(e) => e.work.for_each(f),
            Shared::Thread(t) => {
                f(&t.target);
                f(&t.args);
                f(&t.kwargs);
            }
            Shared::Lock(_)
            | Shared::RLock(_)
            | Shared::Event(_)
            | Shared::Semaphore(_)
            | Shared::Barrier(_)
            | Shared::Condition(_) => {}
        }
    }
}

/// What a native asks the driver to wait for, GIL released (the VM's `BlockOp::Wait`).
#[derive(Debug)]
pub enum Wait {
    /// `Thread.start()`: `state` has the target's call laid out (`nargs` values, the last
    /// `kwnames.len()` of them named); `overridden`: a subclass's own `run` (its traceback
    /// then has one `threading.py` frame).
    Start {
        thread: Arc<PyThread>,
        state: Box<ThreadState>,
        nargs: usize,
        kwnames: Vec<String>,
        overridden: bool,
    },
    Lock {
        lock: Arc<Lock>,
        timeout: Option<f64>,
    },
    RLock {
        lock: Arc<RLock>,
        owner: u64,
        timeout: Option<f64>,
    },
    Condition {
        cond: Arc<Condition>,
        owner: u64,
        timeout: Option<f64>,
    },
    Event {
        event: Arc<Event>,
        timeout: Option<f64>,
    },
    Semaphore {
        sem: Arc<Semaphore>,
        timeout: Option<f64>,
    },
    Barrier {
        barrier: Arc<Barrier>,
        timeout: Option<f64>,
    },
    /// `get` found the queue empty: wait for an item, then `get` again under the GIL.
    QueueGet {
        queue: Arc<Queue<Value>>,
        deadline: Option<f64>,
    },
    /// `put` found the queue full: the item waits on the thread's stack meanwhile.
    QueuePut {
        queue: Arc<Queue<Value>>,
        item: Value,
        deadline: Option<f64>,
    },
    QueueJoin {
        queue: Arc<Queue<Value>>,
    },
    Join {
        thread: Arc<PyThread>,
        timeout: Option<f64>,
    },
    /// A `ThreadPoolExecutor`'s new workers; then `then`.
    StartWorkers {
        threads: Vec<Arc<PyThread>>,
        exec: Arc<super::futures::Executor>,
        then: super::futures::Then,
    },
    /// Futures to be done (or the deadline); then `then`.
    Futures {
        cells: Vec<Arc<super::futures::FutureCell>>,
        deadline: Option<f64>,
        then: super::futures::Then,
    },
    /// `shutdown(wait=True)`: every worker's end.
    JoinAll {
        threads: Vec<Arc<PyThread>>,
    },
}

fn block(w: Wait) -> Flow {
    Flow::Block(BlockOp::Wait(w))
}

/// The process the interpreter belongs to.
fn process(vm: &Vm<'_>) -> R<Arc<Process<Interp>>> {
    vm.i.process.upgrade().ok_or_else(|| {
        Flow::Fatal(Box::new(crate::core::program::ProgramError {
            kind: "RuntimeError".into(),
            message: "threads need the threaded driver (run_program)".into(),
            line: 0,
            col: 0,
        }))
    })
}

fn arg(args: &[Value], kw: &Kw, pos: usize, name: &str) -> Option<Value> {
    args.get(pos).copied().or_else(|| kw.iter().find(|(k, _)| k == name).map(|(_, v)| *v))
}

fn number(vm: &mut Vm<'_>, v: Value, what: &str) -> R<f64> {
    match v {
        Value::Int(n) => Ok(n as f64),
        Value::Float(f) => Ok(f),
        Value::Bool(b) => Ok(f64::from(u8::from(b))),
        _ => {
            let t = vm.type_name(v);
            Err(vm.exc("TypeError", &format!("{what} must be a number, not '{t}'")))
        }
    }
}

/// A `timeout=` argument: `None` waits forever.
fn timeout(vm: &mut Vm<'_>, v: Option<Value>) -> R<Option<f64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => number(vm, v, "timeout").map(Some),
    }
}

fn shared<'a>(vm: &'a Vm<'_>, v: Value) -> Option<&'a Shared> {
    match v {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Sync(s) => Some(s),
            // A `Thread` (or a subclass's) instance keeps its thread in `_handle`.
            Obj::Instance(inst) => match inst.dict.get(HANDLE) {
                Some(Value::Obj(h)) => match vm.i.heap.get(*h) {
                    Obj::Sync(s) => Some(s),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Where a `Thread` instance keeps its [`ThreadObj`].
const HANDLE: &str = "_handle";

fn this<'a>(vm: &'a mut Vm<'_>, args: &[Value], tag: &str) -> R<&'a Shared> {
    let ok = args.first().is_some_and(|v| shared(vm, *v).is_some());
    if !ok {
        return Err(vm.exc("TypeError", &format!("descriptor needs a '{tag}' object")));
    }
    Ok(shared(vm, args[0]).expect("checked"))
}

macro_rules! get {
    ($vm:expr, $args:expr, $variant:ident, $tag:expr) => {
        match this($vm, $args, $tag)? {
            Shared::$variant(x) => x.clone(),
            _ => return Err($vm.exc("TypeError", &format!("descriptor needs a '{}' object", $tag))),
        }
    };
}

fn new_shared(vm: &mut Vm<'_>, s: Shared) -> Value {
    vm.i.heap.alloc(Obj::Sync(s))
}

/// The owner id of the running thread, for `RLock`/`Condition` (its `ident`).
fn me(vm: &Vm<'_>) -> u64 {
    u64::from(vm.t.lane)
}

// ---- module setup ----

fn exception_class(vm: &mut Vm<'_>, name: &str, base: &str) -> Value {
    let base = match vm.i.builtins.get(base) {
        Some(Value::Obj(b)) => *b,
        _ => vm.i.types.base_exception,
    };
    let mro_base = match vm.i.heap.get(base) {
        Obj::Class(c) => c.mro.clone(),
        _ => Vec::new(),
    };
    let v = vm.i.heap.alloc(Obj::Class(Class {
        name: name.to_owned(),
        qualname: name.to_owned(),
        bases: vec![base],
        mro: Vec::new(),
        dict: Attrs::default(),
        builtin: Some(crate::core::py::vm::builtins::TypeTag::Object),
    }));
    if let Value::Obj(r) = v {
        if let Obj::Class(c) = vm.i.heap.get_mut(r) {
            c.mro.push(r);
            c.mro.extend(mro_base);
        }
    }
    v
}

/// The attributes `threading` and `queue` have besides their natives.
pub fn module_attrs(vm: &mut Vm<'_>, name: &str, attrs: &mut Attrs) {
    match name {
        "threading" => {
            if let Some(c) = vm.i.types.natives.get("Thread") {
                attrs.insert("Thread".into(), Value::Obj(*c));
            }
            let e = exception_class(vm, "BrokenBarrierError", "RuntimeError");
            attrs.insert("BrokenBarrierError".into(), e);
            attrs.insert("TIMEOUT_MAX".into(), Value::Float(4_294_967.0));
            let active = vm.i.heap.alloc(Obj::Dict(Dict::default()));
            attrs.insert("_active".into(), active);
            let hook = crate::core::py::vm::mp::native("threading.excepthook");
            attrs.insert("__excepthook__".into(), hook);
            if let Some(c) = vm.i.types.natives.get("Thread").copied() {
                if let Some(timer) = super::prelude::timer_class(vm, Value::Obj(c)) {
                    attrs.insert("Timer".into(), timer);
                }
            }
        }
        "queue" => {
            for n in ["Empty", "Full"] {
                let e = exception_class(vm, n, "Exception");
                attrs.insert(n.into(), e);
            }
        }
        _ => {}
    }
}

/// An exception of a class that lives in a module (`queue.Empty`, `threading.BrokenBarrierError`).
pub fn module_exc(vm: &mut Vm<'_>, module: &str, name: &str, msg: Option<&str>) -> Flow {
    let cls = crate::core::py::vm::builtins::import(vm, module).ok().and_then(|m| match m {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Module(_, attrs) => attrs.get(name).copied(),
            _ => None,
        },
        _ => None,
    });
    match cls {
        Some(Value::Obj(c)) => {
            let args = msg.map(|m| vec![vm.new_str(m.to_owned())]).unwrap_or_default();
            Flow::Exc(crate::core::py::vm::builtins::new_exception(vm, c, args))
        }
        _ => vm.exc("RuntimeError", msg.unwrap_or(name)),
    }
}

/// A raise from the driver ([`super::Resumed::Raise`]) as a Python exception.
pub fn raise(vm: &mut Vm<'_>, kind: &str, message: &str) -> Value {
    let flow = match kind {
        "Empty" | "Full" => module_exc(vm, "queue", kind, None),
        "BrokenBarrierError" => module_exc(vm, "threading", kind, None),
        _ => vm.exc(kind, message),
    };
    match flow {
        Flow::Exc(e) => e,
        _ => vm.new_exc("RuntimeError", message),
    }
}

/// `threading._active`: the Thread object of each live thread, by ident (so that
/// `current_thread()` is the object `Thread()` returned).
fn active(vm: &mut Vm<'_>) -> R<ObjRef> {
    let m = crate::core::py::vm::builtins::import(vm, "threading")?;
    if let Value::Obj(r) = m {
        if let Obj::Module(_, attrs) = vm.i.heap.get(r) {
            if let Some(Value::Obj(d)) = attrs.get("_active") {
                return Ok(*d);
            }
        }
    }
    Err(vm.exc("RuntimeError", "threading._active is gone"))
}

fn set_active(vm: &mut Vm<'_>, id: u32, obj: Option<Value>) -> R<()> {
    let d = active(vm)?;
    if let Obj::Dict(d) = vm.i.heap.get_mut(d) {
        let key = HKey::Int(i64::from(id));
        match obj {
            Some(o) => d.insert(key, Value::Int(i64::from(id)), o),
            None => {
                d.remove(&key);
            }
        }
    }
    Ok(())
}

/// Forgets a thread's object once it has ended (its driver's last act under the GIL).
pub fn thread_ended(vm: &mut Vm<'_>, id: u32) {
    // CPython's `Thread.run` ends with `del self._target, self._args, self._kwargs`: a
    // finished thread no longer holds its arguments (`sys.getrefcount` sees it).
    if let Ok(d) = active(vm) {
        let obj = match vm.i.heap.get(d) {
            Obj::Dict(dict) => dict.get(&HKey::Int(i64::from(id))),
            _ => None,
        };
        let handle = match obj {
            Some(Value::Obj(r)) => match vm.i.heap.get(r) {
                Obj::Instance(inst) => inst.dict.get(HANDLE).copied(),
                _ => Some(Value::Obj(r)),
            },
            _ => None,
        };
        if let Some(Value::Obj(h)) = handle {
            if let Obj::Sync(Shared::Thread(t)) = vm.i.heap.get_mut(h) {
                (t.target, t.args, t.kwargs) = (Value::None, Value::None, Value::None);
            }
        }
    }
    let _ = set_active(vm, id, None);
}

/// The Thread object of thread `id` (the main thread's is made on first use).
fn thread_object(vm: &mut Vm<'_>, id: u32) -> R<Value> {
    let d = active(vm)?;
    if let Obj::Dict(dict) = vm.i.heap.get(d) {
        if let Some(v) = dict.get(&HKey::Int(i64::from(id))) {
            return Ok(v);
        }
    }
    let proc = process(vm)?;
    let Some(t) = proc.threads().into_iter().find(|t| t.id() == id) else {
        return Err(vm.exc("RuntimeError", "no such thread"));
    };
    let obj = new_shared(
        vm,
        Shared::Thread(ThreadObj { thread: t, target: Value::None, args: Value::None, kwargs: Value::None }),
    );
    set_active(vm, id, Some(obj))?;
    Ok(obj)
}

// ---- threading ----

/// `Thread.__init__(self, group=None, target=None, name=None, args=(), kwargs=None, *,
/// daemon=None)`: `threading.Thread` is a class (subclasses override `run`), its instance
/// keeps the thread in `_handle`.
pub fn thread_init(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let Some(Value::Obj(me)) = args.first().copied() else {
        return Err(vm.exc("TypeError", "Thread.__init__() needs a Thread object"));
    };
    if !matches!(vm.i.heap.get(me), Obj::Instance(_)) {
        return Err(vm.exc("TypeError", "Thread.__init__() needs a Thread object"));
    }
    let handle = thread_new(vm, &args[1..], kw)?;
    if let Obj::Instance(inst) = vm.i.heap.get_mut(me) {
        inst.dict.insert(HANDLE.to_owned(), handle);
    }
    Ok(Value::None)
}

/// The thread object behind `Thread(...)`'s arguments.
fn thread_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    if args.len() > 5 {
        return Err(vm.exc("TypeError", "Thread.__init__() takes from 1 to 6 positional arguments"));
    }
    if let Some((k, _)) =
        kw.iter().find(|(k, _)| !["group", "target", "name", "args", "kwargs", "daemon"].contains(&k.as_str()))
    {
        return Err(vm.exc("TypeError", &format!("Thread.__init__() got an unexpected keyword argument '{k}'")));
    }
    let target = arg(args, kw, 1, "target").unwrap_or(Value::None);
    let name = match arg(args, kw, 2, "name") {
        None | Some(Value::None) => None,
        Some(v) => Some(vm.str_of(v)?),
    };
    let targs = match arg(args, kw, 3, "args") {
        Some(v) => v,
        None => vm.i.heap.alloc(Obj::Tuple(Vec::new())),
    };
    let kwargs = arg(args, kw, 4, "kwargs").unwrap_or(Value::None);
    let proc = process(vm)?;
    let daemon = match kw.iter().find(|(k, _)| k == "daemon").map(|(_, v)| *v) {
        None | Some(Value::None) => {
            // CPython: the daemon flag of the thread that makes it.
            let me = vm.t.lane;
            proc.threads().iter().find(|t| t.id() == me).is_some_and(|t| t.daemon())
        }
        Some(v) => vm.truthy(v)?,
    };
    let target_name = match target {
        Value::None => None,
        v => vm.getattr(v, "__name__").ok().and_then(|n| vm.as_str(n).map(str::to_owned)),
    };
    let thread = proc.new_thread(name.as_deref(), target_name.as_deref(), daemon);
    Ok(new_shared(vm, Shared::Thread(ThreadObj { thread, target, args: targs, kwargs })))
}

fn thread_of(vm: &mut Vm<'_>, args: &[Value]) -> R<Arc<PyThread>> {
    match this(vm, args, "Thread")? {
        Shared::Thread(t) => Ok(t.thread.clone()),
        _ => Err(vm.exc("TypeError", "descriptor needs a 'Thread' object")),
    }
}

/// `Thread.start()`
pub fn thread_start(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (thread, mut target, mut targs, mut kwargs) = match this(vm, args, "Thread")? {
        Shared::Thread(t) => (t.thread.clone(), t.target, t.args, t.kwargs),
        _ => return Err(vm.exc("TypeError", "descriptor needs a 'Thread' object")),
    };
    if thread.phase() != Phase::New {
        return Err(vm.exc("RuntimeError", "threads can only be started once"));
    }
    // A subclass's own `run` is what the thread runs (CPython's `_bootstrap_inner` calls
    // `self.run()`, whose default calls the target).
    let overridden = match args[0] {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Instance(inst) => {
                let cls = inst.class;
                match vm.class_lookup(cls, "run") {
                    Some(f @ Value::Obj(fr)) if matches!(vm.i.heap.get(fr), Obj::Function(_)) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        },
        _ => None,
    };
    if let Some(run) = overridden {
        target = vm.i.heap.alloc(Obj::Bound(args[0], run));
        targs = vm.i.heap.alloc(Obj::Tuple(Vec::new()));
        kwargs = Value::None;
    }
    // Without a target the thread runs nothing (CPython's `run`): see `PyRun::first_call`.
    let (state, nargs, kwnames) = super::vmrun::state_for_call(vm, thread.id(), target, targs, kwargs)?;
    set_active(vm, thread.id(), Some(args[0]))?;
    Err(block(Wait::Start { thread, state: Box::new(state), nargs, kwnames, overridden: overridden.is_some() }))
}

/// `Thread.run()` called directly: the target, in the calling thread (as CPython's).
pub fn thread_run(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (target, targs, kwargs) = match this(vm, args, "Thread")? {
        Shared::Thread(t) => (t.target, t.args, t.kwargs),
        _ => return Err(vm.exc("TypeError", "descriptor needs a 'Thread' object")),
    };
    if target == Value::None {
        return Ok(Value::None);
    }
    let positional = match targs {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Tuple(v) | Obj::List(v) => v.clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut named = Vec::new();
    if let Value::Obj(r) = kwargs {
        if let Obj::Dict(d) = vm.i.heap.get(r) {
            let pairs: Vec<(Value, Value)> = d.iter().collect();
            for (k, v) in pairs {
                named.push((vm.str_of(k)?, v));
            }
        }
    }
    vm.call_sync(target, &positional, &named)
}

/// `Thread.join(timeout=None)`
pub fn thread_join(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let thread = thread_of(vm, args)?;
    let timeout = timeout(vm, arg(args, kw, 1, "timeout"))?;
    let proc = process(vm)?;
    let me = vm.t.lane;
    let current = proc.threads().into_iter().find(|t| t.id() == me);
    if let Some(cur) = current {
        if let Err(e) = thread.check_join(&cur) {
            return Err(vm.exc(e.kind, &e.message));
        }
    }
    if thread.phase() == Phase::Done {
        return Ok(Value::None);
    }
    Err(block(Wait::Join { thread, timeout: timeout.map(|t| t.max(0.0)) }))
}

/// `Thread.is_alive()`
pub fn thread_is_alive(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let t = thread_of(vm, args)?;
    Ok(Value::Bool(t.is_alive()))
}

/// The attributes of a Thread object (`name`, `daemon`, `ident`, `native_id`) and a
/// Barrier's (`parties`, `n_waiting`, `broken`), for the VM's attribute lookup.
pub fn getattr(vm: &mut Vm<'_>, obj: Value, name: &str) -> Option<Value> {
    // Called for every attribute lookup: the names first, the object only then.
    if !matches!(name, "name" | "daemon" | "ident" | "native_id" | "parties" | "n_waiting" | "broken" | "maxsize") {
        return None;
    }
    let s = shared(vm, obj)?;
    Some(match (s, name) {
        (Shared::Thread(t), "name") => {
            let n = t.thread.name();
            vm.new_str(n)
        }
        (Shared::Thread(t), "daemon") => Value::Bool(t.thread.daemon()),
        (Shared::Thread(t), "ident" | "native_id") => {
            if t.thread.phase() == Phase::New {
                Value::None
            } else {
                Value::Int(i64::from(t.thread.id()) + 1)
            }
        }
        (Shared::Barrier(b), "parties") => Value::Int(b.parties() as i64),
        (Shared::Barrier(b), "n_waiting") => Value::Int(b.n_waiting() as i64),
        (Shared::Barrier(b), "broken") => Value::Bool(b.broken()),
        (Shared::Queue(q), "maxsize") => Value::Int(q.maxsize() as i64),
        _ => return None,
    })
}

/// `t.name = …`, `t.daemon = …`; `None` when the attribute is not one of these.
pub fn setattr(vm: &mut Vm<'_>, obj: Value, name: &str, v: Value) -> Option<R<()>> {
    if !matches!(name, "name" | "daemon") {
        return None;
    }
    let Some(Shared::Thread(t)) = shared(vm, obj) else { return None };
    let thread = t.thread.clone();
    Some(match name {
        "name" => vm.str_of(v).map(|s| thread.set_name(s)),
        "daemon" => match vm.truthy(v) {
            Ok(d) => thread.set_daemon(d).map_err(|e| vm.exc(e.kind, &e.message)),
            Err(e) => Err(e),
        },
        _ => return None,
    })
}

/// `repr()` of a shared object, as CPython writes it (the address is the VM's).
#[must_use]
pub fn repr(vm: &Vm<'_>, r: ObjRef, addr: &str) -> Option<String> {
    let Obj::Sync(s) = vm.i.heap.get(r) else { return None };
    Some(match s {
        Shared::Lock(l) => {
            format!("<{} _thread.lock object at {addr}>", if l.locked() { "locked" } else { "unlocked" })
        }
        Shared::Event(e) => format!("<threading.Event at {addr}: {}>", if e.is_set() { "set" } else { "unset" }),
        Shared::Thread(t) => {
            let th = &t.thread;
            let status = match th.phase() {
                Phase::New => "initial".to_owned(),
                Phase::Starting | Phase::Alive => format!("started {}", th.id() + 1),
                Phase::Done => format!("stopped {}", th.id() + 1),
            };
            let daemon = if th.daemon() { " daemon" } else { "" };
            format!("<{}({}, {status}{daemon})>", s.tag(), th.name())
        }
        other => format!("<{} object at {addr}>", other.tag()),
    })
}

/// `threading.current_thread()`
pub fn current_thread(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    let me = vm.t.lane;
    thread_object(vm, me)
}

/// `threading.main_thread()`
pub fn main_thread(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    let proc = process(vm)?;
    let id = proc.main_thread().map_or(0, |t| t.id());
    thread_object(vm, id)
}

/// `threading.active_count()`
pub fn active_count(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    let proc = process(vm)?;
    Ok(Value::Int(proc.active_count() as i64))
}

/// `threading.enumerate()`
pub fn enumerate(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    let proc = process(vm)?;
    let mut out = Vec::new();
    for t in proc.threads() {
        if matches!(t.phase(), Phase::Starting | Phase::Alive) {
            out.push(thread_object(vm, t.id())?);
        }
    }
    Ok(vm.i.heap.alloc(Obj::List(out)))
}

/// `threading.get_ident()`
pub fn get_ident(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Int(i64::from(vm.t.lane) + 1))
}

/// `threading.excepthook` when the program assigned its own (not the default native).
pub fn user_excepthook(vm: &mut Vm<'_>) -> Option<Value> {
    let Some(Value::Obj(m)) = vm.i.modules.get("threading").copied() else { return None };
    let Obj::Module(_, attrs) = vm.i.heap.get(m) else { return None };
    match attrs.get("excepthook").copied()? {
        Value::Native(id) if crate::core::py::vm::builtins::NATIVES[id as usize].0 == "threading.excepthook" => None,
        hook => Some(hook),
    }
}

/// The `args` of `threading.excepthook(args)`: `exc_type`, `exc_value`, `thread`; no
/// `exc_traceback` (tracebacks are not objects in ThreadLab: its absence is an
/// AttributeError, where a `None` would be a wrong answer).
pub fn excepthook_args(vm: &mut Vm<'_>, e: Value) -> Value {
    let thread = current_thread(vm, &[], &[]).unwrap_or(Value::None);
    let cls = exception_class(vm, "_ExceptHookArgs", "object");
    let Value::Obj(c) = cls else { return Value::None };
    let mut dict = Attrs::default();
    dict.insert("exc_type".into(), vm.class_of(e));
    dict.insert("exc_value".into(), e);
    dict.insert("thread".into(), thread);
    vm.i.heap.alloc(Obj::Instance(crate::core::py::vm::heap::Instance { class: c, dict, exc: None }))
}

/// The default `threading.excepthook(args)`: `Exception in thread NAME:` and the traceback.
pub fn excepthook(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let Some(&a) = args.first() else {
        return Err(vm.exc("TypeError", "excepthook() takes exactly one argument (0 given)"));
    };
    let e = vm.getattr(a, "exc_value")?;
    let thread = vm.getattr(a, "thread")?;
    let kind = vm.exc_type_name(e);
    if kind == "SystemExit" {
        return Ok(Value::None);
    }
    let name = match vm.getattr(thread, "name") {
        Ok(n) => vm.str_of(n)?,
        Err(_) => format!("{}", vm.t.lane + 1),
    };
    let overridden = match vm.class_of(thread) {
        Value::Obj(c) => matches!(vm.class_lookup(c, "run"), Some(Value::Obj(_))),
        _ => false,
    };
    let report = vm.format_exception(e);
    let report = super::vmrun::with_bootstrap_frames(&report, overridden);
    let lane = vm.t.lane;
    vm.i.write(crate::core::program::Stream::Stderr, lane, &format!("Exception in thread {name}:\n{report}"));
    Ok(Value::None)
}

/// `threading.local()`: attributes per thread (keyed by the thread's ident).
pub fn local_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    if !args.is_empty() || !kw.is_empty() {
        return Err(vm.exc("TypeError", "Initialization arguments are not supported"));
    }
    let per_thread = vm.i.heap.alloc(Obj::Dict(Dict::default()));
    Ok(vm.i.heap.alloc(Obj::Native("_thread._local", vec![per_thread])))
}

/// The calling thread's attribute dict of a `threading.local` (made on first use).
pub fn local_dict(vm: &mut Vm<'_>, per_thread: Value) -> R<ObjRef> {
    let Value::Obj(d) = per_thread else { unreachable!("a local's dict") };
    let key = HKey::Int(i64::from(vm.t.lane) + 1);
    if let Some(Value::Obj(mine)) = vm.dict_get(d, &key) {
        return Ok(mine);
    }
    let mine = vm.i.heap.alloc(Obj::Dict(Dict::default()));
    vm.dict_set(d, Value::Int(i64::from(vm.t.lane) + 1), mine)?;
    let Value::Obj(m) = mine else { unreachable!() };
    Ok(m)
}

pub fn lock_new(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(new_shared(vm, Shared::Lock(Arc::new(Lock::new()))))
}

pub fn rlock_new(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(new_shared(vm, Shared::RLock(Arc::new(RLock::new()))))
}

pub fn event_new(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(new_shared(vm, Shared::Event(Arc::new(Event::new()))))
}

fn semaphore(vm: &mut Vm<'_>, args: &[Value], kw: &Kw, bounded: bool) -> R<Value> {
    let v = match arg(args, kw, 0, "value") {
        None => 1,
        Some(v) => number(vm, v, "value")? as i64,
    };
    if v < 0 {
        return Err(vm.exc("ValueError", "semaphore initial value must be >= 0"));
    }
    Ok(new_shared(vm, Shared::Semaphore(Arc::new(Semaphore::new(v as u64, bounded)))))
}

pub fn semaphore_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    semaphore(vm, args, kw, false)
}

pub fn bounded_semaphore_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    semaphore(vm, args, kw, true)
}

pub fn barrier_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let Some(n) = arg(args, kw, 0, "parties") else {
        return Err(vm.exc("TypeError", "Barrier.__init__() missing 1 required positional argument: 'parties'"));
    };
    if arg(args, kw, 1, "action").is_some_and(|a| a != Value::None) {
        return Err(vm.exc("NotImplementedError", "Barrier(action=...) is not supported by ThreadLab yet"));
    }
    let n = number(vm, n, "parties")? as i64;
    if n < 1 {
        return Err(vm.exc("ValueError", "parties must be > 0"));
    }
    Ok(new_shared(vm, Shared::Barrier(Arc::new(Barrier::new(n as usize)))))
}

pub fn condition_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let lock = match arg(args, kw, 0, "lock") {
        None | Some(Value::None) => CondLock::RLock(Arc::new(RLock::new())),
        Some(v) => match shared(vm, v) {
            Some(Shared::Lock(l)) => CondLock::Lock(l.clone()),
            Some(Shared::RLock(r)) => CondLock::RLock(r.clone()),
            _ => return Err(vm.exc("TypeError", "Condition(lock): a Lock or an RLock")),
        },
    };
    Ok(new_shared(vm, Shared::Condition(Arc::new(Condition::new(lock)))))
}

/// `acquire(blocking=True, timeout=-1)`'s arguments: the timeout to wait, or `None` for
/// a non-blocking call (CPython's checks and messages).
fn acquire_args(vm: &mut Vm<'_>, args: &[Value], kw: &Kw, default_forever: f64) -> R<Option<Option<f64>>> {
    let blocking = match arg(args, kw, 1, "blocking") {
        None => true,
        Some(v) => vm.truthy(v)?,
    };
    let t = match arg(args, kw, 2, "timeout") {
        None | Some(Value::None) => default_forever,
        Some(v) => number(vm, v, "timeout")?,
    };
    if !blocking {
        if t != default_forever {
            return Err(vm.exc("ValueError", "can't specify a timeout for a non-blocking call"));
        }
        return Ok(None);
    }
    if t < 0.0 && t != -1.0 {
        return Err(vm.exc("ValueError", "timeout value must be positive"));
    }
    Ok(Some((t >= 0.0).then_some(t)))
}

/// `lock.acquire(blocking=True, timeout=-1)`
pub fn lock_acquire(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let lock = get!(vm, args, Lock, "lock");
    let wait = acquire_args(vm, args, kw, -1.0)?;
    if lock.try_acquire() {
        return Ok(Value::Bool(true));
    }
    match wait {
        None | Some(Some(0.0)) => Ok(Value::Bool(false)),
        Some(timeout) => Err(block(Wait::Lock { lock, timeout })),
    }
}

/// `lock.release()`
pub fn lock_release(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let lock = get!(vm, args, Lock, "lock");
    lock.release().map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

/// `lock.locked()`
pub fn lock_locked(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let lock = get!(vm, args, Lock, "lock");
    Ok(Value::Bool(lock.locked()))
}

/// `lock.__exit__(*exc)` and the like: release, return None (the exception goes on).
pub fn lock_exit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    lock_release(vm, &args[..1.min(args.len())], kw)
}

pub fn rlock_acquire(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let lock = get!(vm, args, RLock, "RLock");
    let wait = acquire_args(vm, args, kw, -1.0)?;
    let owner = me(vm);
    if lock.try_acquire(owner) {
        return Ok(Value::Bool(true));
    }
    match wait {
        None | Some(Some(0.0)) => Ok(Value::Bool(false)),
        Some(timeout) => Err(block(Wait::RLock { lock, owner, timeout })),
    }
}

pub fn rlock_release(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let lock = get!(vm, args, RLock, "RLock");
    let owner = me(vm);
    lock.release(owner).map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

pub fn rlock_exit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    rlock_release(vm, &args[..1.min(args.len())], kw)
}

pub fn event_set(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    get!(vm, args, Event, "Event").set();
    Ok(Value::None)
}

pub fn event_clear(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    get!(vm, args, Event, "Event").clear();
    Ok(Value::None)
}

pub fn event_is_set(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(get!(vm, args, Event, "Event").is_set()))
}

/// `Event.wait(timeout=None)`
pub fn event_wait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let event = get!(vm, args, Event, "Event");
    let timeout = timeout(vm, arg(args, kw, 1, "timeout"))?;
    if event.is_set() {
        return Ok(Value::Bool(true));
    }
    Err(block(Wait::Event { event, timeout: timeout.map(|t| t.max(0.0)) }))
}

/// `Semaphore.acquire(blocking=True, timeout=None)`
pub fn semaphore_acquire(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let sem = get!(vm, args, Semaphore, "Semaphore");
    let blocking = match arg(args, kw, 1, "blocking") {
        None => true,
        Some(v) => vm.truthy(v)?,
    };
    let t = timeout(vm, arg(args, kw, 2, "timeout"))?;
    if !blocking && t.is_some() {
        return Err(vm.exc("ValueError", "can't specify timeout for non-blocking acquire"));
    }
    if sem.try_acquire() {
        return Ok(Value::Bool(true));
    }
    if !blocking {
        return Ok(Value::Bool(false));
    }
    Err(block(Wait::Semaphore { sem, timeout: t.map(|t| t.max(0.0)) }))
}

/// `Semaphore.release(n=1)`
pub fn semaphore_release(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let sem = get!(vm, args, Semaphore, "Semaphore");
    let n = match arg(args, kw, 1, "n") {
        None => 1,
        Some(v) => number(vm, v, "n")? as i64,
    };
    if n < 1 {
        return Err(vm.exc("ValueError", "n must be one or more"));
    }
    sem.release(n as u64).map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

pub fn semaphore_exit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    semaphore_release(vm, &args[..1.min(args.len())], kw)
}

/// `Barrier.wait(timeout=None)`
pub fn barrier_wait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let barrier = get!(vm, args, Barrier, "Barrier");
    let timeout = timeout(vm, arg(args, kw, 1, "timeout"))?;
    Err(block(Wait::Barrier { barrier, timeout }))
}

pub fn barrier_abort(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    get!(vm, args, Barrier, "Barrier").abort();
    Ok(Value::None)
}

pub fn barrier_reset(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    get!(vm, args, Barrier, "Barrier").reset();
    Ok(Value::None)
}

fn cond_lock(vm: &mut Vm<'_>, args: &[Value]) -> R<(Arc<Condition>, CondLock)> {
    let c = get!(vm, args, Condition, "Condition");
    let l = c.lock().clone();
    Ok((c, l))
}

/// `Condition.acquire(…)`/`__enter__`: its lock's.
pub fn condition_acquire(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, l) = cond_lock(vm, args)?;
    let wait = acquire_args(vm, args, kw, -1.0)?;
    let owner = me(vm);
    let got = match &l {
        CondLock::Lock(x) => x.try_acquire(),
        CondLock::RLock(x) => x.try_acquire(owner),
    };
    if got {
        return Ok(Value::Bool(true));
    }
    match (wait, l) {
        (None | Some(Some(0.0)), _) => Ok(Value::Bool(false)),
        (Some(timeout), CondLock::Lock(lock)) => Err(block(Wait::Lock { lock, timeout })),
        (Some(timeout), CondLock::RLock(lock)) => Err(block(Wait::RLock { lock, owner, timeout })),
    }
}

pub fn condition_release(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (_, l) = cond_lock(vm, args)?;
    let r = match l {
        CondLock::Lock(x) => x.release(),
        CondLock::RLock(x) => x.release(me(vm)),
    };
    r.map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

pub fn condition_exit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    condition_release(vm, &args[..1.min(args.len())], kw)
}

/// `Condition.wait(timeout=None)`
pub fn condition_wait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (cond, _) = cond_lock(vm, args)?;
    let timeout = timeout(vm, arg(args, kw, 1, "timeout"))?;
    Err(block(Wait::Condition { cond, owner: me(vm), timeout }))
}

/// `Condition.notify(n=1)`
pub fn condition_notify(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (cond, _) = cond_lock(vm, args)?;
    let n = match arg(args, kw, 1, "n") {
        None => 1,
        Some(v) => number(vm, v, "n")?.max(0.0) as usize,
    };
    cond.notify(me(vm), n).map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

pub fn condition_notify_all(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (cond, _) = cond_lock(vm, args)?;
    cond.notify_all(me(vm)).map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

// ---- queue ----

/// `queue.Queue(maxsize=0)`
pub fn queue_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let n = match arg(args, kw, 0, "maxsize") {
        None => 0,
        Some(v) => number(vm, v, "maxsize")? as i64,
    };
    Ok(new_shared(vm, Shared::Queue(Arc::new(Queue::new(n.max(0) as usize)))))
}

/// `block=`/`timeout=` of `get`/`put` (`pos` is where `block` sits): the deadline to wait
/// until, `None` inside for ever, or `None` outside for a non-blocking call.
fn queue_wait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw, pos: usize) -> R<Option<Option<f64>>> {
    let blocking = match arg(args, kw, pos, "block") {
        None => true,
        Some(v) => vm.truthy(v)?,
    };
    if !blocking {
        return Ok(None);
    }
    match timeout(vm, arg(args, kw, pos + 1, "timeout"))? {
        None => Ok(Some(None)),
        Some(t) if t < 0.0 => Err(vm.exc("ValueError", "'timeout' must be a non-negative number")),
        Some(t) => Ok(Some(sync::deadline(vm.i.host.now_ms(), Some(t)))),
    }
}

/// `Queue.get(block=True, timeout=None)`
pub fn queue_get(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let queue = get!(vm, args, Queue, "Queue");
    let wait = queue_wait(vm, args, kw, 1)?;
    if let Some(v) = queue.try_get() {
        return Ok(v);
    }
    match wait {
        None => Err(module_exc(vm, "queue", "Empty", None)),
        Some(deadline) => Err(block(Wait::QueueGet { queue, deadline })),
    }
}

pub fn queue_get_nowait(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let queue = get!(vm, args, Queue, "Queue");
    queue.try_get().ok_or_else(|| module_exc(vm, "queue", "Empty", None))
}

/// `Queue.put(item, block=True, timeout=None)`
pub fn queue_put(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let queue = get!(vm, args, Queue, "Queue");
    let Some(item) = arg(args, kw, 1, "item") else {
        return Err(vm.exc("TypeError", "Queue.put() missing 1 required positional argument: 'item'"));
    };
    let wait = queue_wait(vm, args, kw, 2)?;
    match queue.try_put(item) {
        Ok(()) => Ok(Value::None),
        Err(item) => match wait {
            None => Err(module_exc(vm, "queue", "Full", None)),
            Some(deadline) => Err(block(Wait::QueuePut { queue, item, deadline })),
        },
    }
}

pub fn queue_put_nowait(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let queue = get!(vm, args, Queue, "Queue");
    let Some(item) = args.get(1).copied() else {
        return Err(vm.exc("TypeError", "Queue.put_nowait() missing 1 required positional argument: 'item'"));
    };
    match queue.try_put(item) {
        Ok(()) => Ok(Value::None),
        Err(_) => Err(module_exc(vm, "queue", "Full", None)),
    }
}

pub fn queue_task_done(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let queue = get!(vm, args, Queue, "Queue");
    queue.task_done().map(|()| Value::None).map_err(|e| vm.exc(e.kind, &e.message))
}

pub fn queue_join(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let queue = get!(vm, args, Queue, "Queue");
    if queue.all_done() {
        return Ok(Value::None);
    }
    Err(block(Wait::QueueJoin { queue }))
}

pub fn queue_empty(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(get!(vm, args, Queue, "Queue").empty()))
}

pub fn queue_full(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(get!(vm, args, Queue, "Queue").is_full()))
}

pub fn queue_qsize(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Int(get!(vm, args, Queue, "Queue").qsize() as i64))
}

/// The natives of this file, for `vm::builtins::NATIVES`.
pub type Native = fn(&mut Vm<'_>, &[Value], &Kw) -> R<Value>;

pub const NATIVES: &[(&str, Native)] = &[
    ("threading.current_thread", current_thread),
    ("threading.main_thread", main_thread),
    ("threading.active_count", active_count),
    ("threading.enumerate", enumerate),
    ("threading.get_ident", get_ident),
    ("threading.Lock", lock_new),
    ("threading.RLock", rlock_new),
    ("threading.Event", event_new),
    ("threading.Semaphore", semaphore_new),
    ("threading.BoundedSemaphore", bounded_semaphore_new),
    ("threading.Barrier", barrier_new),
    ("threading.Condition", condition_new),
    ("Thread.__init__", thread_init),
    ("Thread.run", thread_run),
    ("Thread.start", thread_start),
    ("Thread.join", thread_join),
    ("Thread.is_alive", thread_is_alive),
    ("_MainThread.join", thread_join),
    ("_MainThread.is_alive", thread_is_alive),
    ("lock.acquire", lock_acquire),
    ("lock.__enter__", lock_acquire),
    ("lock.release", lock_release),
    ("lock.__exit__", lock_exit),
    ("lock.locked", lock_locked),
    ("RLock.acquire", rlock_acquire),
    ("RLock.__enter__", rlock_acquire),
    ("RLock.release", rlock_release),
    ("RLock.__exit__", rlock_exit),
    ("Event.set", event_set),
    ("Event.clear", event_clear),
    ("Event.is_set", event_is_set),
    ("Event.wait", event_wait),
    ("Semaphore.acquire", semaphore_acquire),
    ("Semaphore.__enter__", semaphore_acquire),
    ("Semaphore.release", semaphore_release),
    ("Semaphore.__exit__", semaphore_exit),
    ("BoundedSemaphore.acquire", semaphore_acquire),
    ("BoundedSemaphore.__enter__", semaphore_acquire),
    ("BoundedSemaphore.release", semaphore_release),
    ("BoundedSemaphore.__exit__", semaphore_exit),
    ("Barrier.wait", barrier_wait),
    ("Barrier.abort", barrier_abort),
    ("Barrier.reset", barrier_reset),
    ("Condition.acquire", condition_acquire),
    ("Condition.__enter__", condition_acquire),
    ("Condition.release", condition_release),
    ("Condition.__exit__", condition_exit),
    ("Condition.wait", condition_wait),
    ("Condition.notify", condition_notify),
    ("Condition.notify_all", condition_notify_all),
    ("queue.Queue", queue_new),
    ("Queue.get", queue_get),
    ("Queue.get_nowait", queue_get_nowait),
    ("Queue.put", queue_put),
    ("Queue.put_nowait", queue_put_nowait),
    ("Queue.task_done", queue_task_done),
    ("Queue.join", queue_join),
    ("Queue.empty", queue_empty),
    ("Queue.full", queue_full),
    ("Queue.qsize", queue_qsize),
    ("Future.result", super::futures::future_result),
    ("Future.exception", super::futures::future_exception),
    ("Future.done", super::futures::future_done),
    ("Future.running", super::futures::future_running),
    ("Future.cancel", super::futures::future_cancel),
    ("ThreadPoolExecutor.submit", super::futures::submit),
    ("ThreadPoolExecutor.map", super::futures::map),
    ("ThreadPoolExecutor.shutdown", super::futures::shutdown),
    ("ThreadPoolExecutor.__enter__", super::futures::executor_enter),
    ("ThreadPoolExecutor.__exit__", super::futures::executor_exit),
];
