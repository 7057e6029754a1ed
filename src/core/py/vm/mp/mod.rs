//! Processes (issue 14, docs/python-vm.md §5): `multiprocessing` (`Process`, `Pool`,
//! `Queue`, `current_process`, `cpu_count`, `set_start_method`), `concurrent.futures`'
//! `ProcessPoolExecutor`, `os.getpid`/`os.cpu_count` and `pickle`.
//!
//! A child is started with the **spawn** method: the host ([`Processes`]) starts a new
//! interpreter on the program's source, which runs the top level as `__mp_main__` and then
//! its payload ([`child`]). Everything that crosses is pickled ([`pickle`]) and travels as
//! bytes on the host's channels. Every wait (`join`, `Queue.get`, `Pool.map`, a future's
//! result) is an `Exit::Block(BlockOp::Mp(wait))`: [`Wait::wait`] needs no GIL and touches
//! no Python value (it returns bytes and exit codes), [`finish`] turns them into values
//! under the GIL — so a threaded driver can run the first with the GIL released.
//!
//! The objects (`Process`, `Pool`, …) are instances of classes made here whose methods are
//! natives, their state in their `__dict__` (`pid`, `exitcode`, `name`, and `_channel`-like
//! private fields): `exitcode` is brought up to date by `join()` and `is_alive()`.

pub mod child;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod pickle;

use super::builtins::{new_exception, Kw, NATIVES};
use super::heap::{Attrs, Class, Instance, Obj, ObjRef, Value};
use super::vm::{BlockOp, Flow, Interp, Vm, R};
use crate::core::program::{outside_end, Host, ProcessStart, Processes, ProgramOptions, ProgramResult, NO_PROCESSES};

/// A process's own `multiprocessing` state (kept in its `Interp`).
#[derive(Debug, Default)]
pub struct MpState {
    /// `current_process().name`; empty in the main program (`MainProcess`).
    pub name: String,
    /// `multiprocessing.process._process_counter`: numbers every child made here.
    pub counter: u32,
    /// `set_start_method` was called (a second call without `force` is an error).
    pub method_set: bool,
    /// Children started here, and those of them that are daemons (pool workers).
    pub started: Vec<u32>,
    pub daemons: Vec<u32>,
    /// A child running its top level (spawn's bootstrapping phase): it may not start processes.
    pub bootstrapping: bool,
    /// A child's payload, until its top level has run.
    pub payload: Vec<u8>,
    /// A pool worker's ready channel, and whether it was told (see `child`).
    pub worker_ready: Option<u32>,
    pub ready_sent: bool,
}

/// What a wait waits on (no GIL needed, no Python value touched).
#[derive(Clone, Debug, PartialEq)]
pub enum WaitOn {
    /// `n` messages of one channel.
    Recv { chan: u32, n: usize },
    /// One message from each channel, in the order they come (`as_completed`).
    Each { chans: Vec<u32> },
    /// These processes' ends.
    Join { pids: Vec<u32> },
    /// A message in the channel, left there (`Connection.poll`).
    Peek { chan: u32 },
    /// One message of a channel that these processes (a `ProcessPoolExecutor`'s workers)
    /// answer on: a worker's end meanwhile breaks the pool (`os._exit` in a task).
    RecvWatching { chan: u32, pids: Vec<u32> },
}

/// What becomes of the wait's bytes, under the GIL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// `Queue.get`: the item, or `queue.Empty`.
    QueueGet,
    /// `Pool.map` and friends: the results in order (or the first task's exception), as a
    /// list, or an iterator over them (`imap`, `Executor.map`).
    MapResults { iter: bool, ordered: bool },
    /// `Pool.map_async(...).get()` (the AsyncResult on the stack's top): the results so far
    /// join its `_parts`; all there, its value is the list in order (or the first failure).
    MapAsync,
    /// `AsyncResult.wait()`: as `get()` (`map`: of a `map_async`), its outcome kept, `None`.
    Wait { map: bool },
    /// `AsyncResult.get`/`Future.result` (the object is on the stack's top): its value.
    /// `futures`: a timeout raises `TimeoutError` (else `multiprocessing.TimeoutError`).
    ResultOf { futures: bool },
    /// `Process.join` (the process object on the stack's top): its exit code.
    ProcessJoin,
    /// `as_completed` (the list of futures on the stack's top): an iterator in completion order.
    AsCompleted,
    /// `Pool.join`, `shutdown(wait=True)`: `None`.
    Nothing,
    /// `Connection.poll`: whether a message is there.
    Ready,
    /// `Pool(n)` once its workers are ready (the pool, on the stack's top).
    Held,
    /// A pool worker's next task (`child::task_of`).
    Task,
}

/// A blocking call of this module (see the module's note).
#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    pub on: WaitOn,
    pub timeout_ms: Option<f64>,
    pub then: Then,
    /// The program's wall-time budget ends here (host clock): no wait outlives it.
    pub budget_end_ms: f64,
}

/// What a wait got.
#[derive(Debug, Default)]
pub struct Waited {
    /// Messages, each with the index of its channel in `WaitOn::Each` (0 otherwise).
    pub messages: Vec<(usize, Vec<u8>)>,
    pub exits: Vec<Option<i32>>,
    pub stopped: bool,
    /// The program's time budget ended the wait before it was done.
    pub over_budget: bool,
    /// `WaitOn::Peek` saw a message.
    pub ready: bool,
    /// `WaitOn::RecvWatching`: a watched process ended before the message came.
    pub broken: bool,
}

impl Wait {
    /// Waits, GIL released (this touches no Python value).
    #[must_use]
    pub fn wait(&self, host: &dyn Host) -> Waited {
        let mut got = Waited::default();
        let Some(p) = host.processes() else { return got };
        let deadline = self.timeout_ms.map(|ms| host.now_ms() + ms);
        let end = deadline.map_or(self.budget_end_ms, |d| d.min(self.budget_end_ms));
        let left = || Some((end - host.now_ms()).max(0.0));
        match &self.on {
            WaitOn::Recv { chan, n } => {
                while got.messages.len() < *n {
                    match p.channel_recv(*chan, left()) {
                        Some(m) => got.messages.push((0, m)),
                        None => break,
                    }
                }
            }
            WaitOn::Each { chans } => {
                let mut pending: Vec<usize> = (0..chans.len()).collect();
                while !pending.is_empty() && !host.stop_requested() {
                    pending.retain(|&i| match p.channel_recv(chans[i], Some(0.0)) {
                        Some(m) => {
                            got.messages.push((i, m));
                            false
                        }
                        None => true,
                    });
                    if host.now_ms() >= end {
                        break;
                    }
                    if !pending.is_empty() {
                        host.sleep_ms(1.0);
                    }
                }
            }
            WaitOn::Join { pids } => {
                for pid in pids {
                    got.exits.push(p.wait_process(*pid, left()));
                }
            }
            WaitOn::RecvWatching { chan, pids } => loop {
                // In slices, to notice a worker's end (CPython's executor watches its
                // processes' sentinels the same way, from its management thread).
                let slice = left().map_or(20.0, |l| l.min(20.0));
                if let Some(m) = p.channel_recv(*chan, Some(slice)) {
                    got.messages.push((0, m));
                    break;
                }
                if pids.iter().any(|pid| p.wait_process(*pid, Some(0.0)).is_some()) {
                    // The result may have come just before the end.
                    if let Some(m) = p.channel_recv(*chan, Some(0.0)) {
                        got.messages.push((0, m));
                    } else {
                        got.broken = true;
                    }
                    break;
                }
                if host.now_ms() >= end || host.stop_requested() {
                    break;
                }
            },
            WaitOn::Peek { chan } => loop {
                if p.channel_len(*chan) > 0 {
                    got.ready = true;
                    break;
                }
                if host.now_ms() >= end || host.stop_requested() {
                    break;
                }
                host.sleep_ms(1.0);
            },
        }
        got.stopped = host.stop_requested();
        let done = match &self.on {
            WaitOn::Recv { n, .. } => got.messages.len() >= *n,
            WaitOn::RecvWatching { .. } => !got.messages.is_empty() || got.broken,
            WaitOn::Each { chans } => got.messages.len() >= chans.len(),
            WaitOn::Join { .. } => got.exits.iter().all(Option::is_some),
            // A poll's timeout is its answer, unless the budget cut it short.
            WaitOn::Peek { .. } => got.ready || self.timeout_ms.is_some_and(|t| t < self.budget_end_ms),
        };
        got.over_budget = !done && host.now_ms() >= self.budget_end_ms;
        got
    }
}

// ---------------------------------------------------------------------------------------
// Classes and modules.

/// The classes this module makes, by name (each is kept in `Types::natives` as `mp:NAME`).
const CLASSES: [(&str, &str); 15] = [
    ("Connection", "mp:Connection"),
    ("Process", "mp:Process"),
    ("Pool", "mp:Pool"),
    ("Queue", "mp:Queue"),
    ("AsyncResult", "mp:AsyncResult"),
    ("ProcessPoolExecutor", "mp:ProcessPoolExecutor"),
    ("Future", "mp:Future"),
    ("_MainProcess", "mp:_MainProcess"),
    ("TimeoutError", "mp:TimeoutError"),
    ("ProcessError", "mp:ProcessError"),
    ("PickleError", "mp:PickleError"),
    ("PicklingError", "mp:PicklingError"),
    ("UnpicklingError", "mp:UnpicklingError"),
    ("Empty", "mp:Empty"),
    ("BrokenProcessPool", "mp:BrokenProcessPool"),
];

/// One of this module's classes, once a module of it was imported.
#[must_use]
pub fn module_class(vm: &Vm<'_>, name: &str) -> Option<ObjRef> {
    let key = CLASSES.iter().find(|(n, _)| *n == name)?.1;
    vm.i.types.natives.get(key).copied()
}

/// Which of this module's classes `cls` is.
#[must_use]
pub fn own_kind(vm: &Vm<'_>, cls: ObjRef) -> Option<&'static str> {
    CLASSES.iter().find(|(_, key)| vm.i.types.natives.get(key) == Some(&cls)).map(|(n, _)| *n)
}

pub(crate) fn native(name: &str) -> Value {
    let i = NATIVES.iter().position(|(n, _)| *n == name).unwrap_or_else(|| panic!("native {name} is registered"));
    Value::Native(i as u16)
}

fn new_class(vm: &mut Vm<'_>, name: &str, base: ObjRef, methods: &[&str]) -> ObjRef {
    let mro = match vm.i.heap.get(base) {
        Obj::Class(c) => c.mro.clone(),
        _ => Vec::new(),
    };
    let mut dict = Attrs::default();
    for m in methods {
        dict.insert((*m).to_owned(), native(&format!("_mp.{name}.{m}")));
    }
    let Value::Obj(r) = vm.i.heap.alloc(Obj::Class(Class {
        name: name.to_owned(),
        qualname: name.to_owned(),
        bases: vec![base],
        mro: Vec::new(),
        dict,
        builtin: None,
    })) else {
        unreachable!()
    };
    if let Obj::Class(c) = vm.i.heap.get_mut(r) {
        c.mro.push(r);
        c.mro.extend(mro);
    }
    r
}

fn builtin_class(vm: &Vm<'_>, name: &str) -> ObjRef {
    match vm.i.builtins.get(name) {
        Some(Value::Obj(r)) => *r,
        _ => vm.i.types.object,
    }
}

/// Makes this module's classes, once per process.
fn ensure_classes(vm: &mut Vm<'_>) {
    if vm.i.types.natives.contains_key("mp:Process") {
        return;
    }
    let object = vm.i.types.object;
    let exception = builtin_class(vm, "Exception");
    let runtime = builtin_class(vm, "RuntimeError");
    let process_methods = ["__init__", "run", "start", "join", "is_alive", "terminate", "kill", "close"];
    let pool_methods = [
        "map",
        "starmap",
        "imap",
        "imap_unordered",
        "apply",
        "apply_async",
        "map_async",
        "close",
        "terminate",
        "join",
        "__enter__",
        "__exit__",
    ];
    let made: Vec<(&'static str, ObjRef)> = {
        let mut v = Vec::new();
        let process = new_class(vm, "Process", object, &process_methods);
        v.push(("mp:Process", process));
        v.push(("mp:_MainProcess", new_class(vm, "_MainProcess", object, &[])));
        v.push(("mp:Pool", new_class(vm, "Pool", object, &pool_methods)));
        let queue_methods =
            ["put", "get", "put_nowait", "get_nowait", "empty", "qsize", "full", "close", "join_thread"];
        v.push(("mp:Queue", new_class(vm, "Queue", object, &queue_methods)));
        let connection_methods = ["send", "recv", "poll", "close"];
        v.push(("mp:Connection", new_class(vm, "Connection", object, &connection_methods)));
        v.push(("mp:AsyncResult", new_class(vm, "AsyncResult", object, &["get", "ready", "wait", "successful"])));
        let executor_methods = ["submit", "map", "shutdown", "__enter__", "__exit__"];
        v.push(("mp:ProcessPoolExecutor", new_class(vm, "ProcessPoolExecutor", object, &executor_methods)));
        v.push(("mp:Future", new_class(vm, "Future", object, &["result", "done", "exception", "running", "cancel"])));
        let process_error = new_class(vm, "ProcessError", exception, &[]);
        v.push(("mp:ProcessError", process_error));
        v.push(("mp:TimeoutError", new_class(vm, "TimeoutError", process_error, &[])));
        let pickle_error = new_class(vm, "PickleError", exception, &[]);
        v.push(("mp:PickleError", pickle_error));
        v.push(("mp:PicklingError", new_class(vm, "PicklingError", pickle_error, &[])));
        v.push(("mp:UnpicklingError", new_class(vm, "UnpicklingError", pickle_error, &[])));
        v.push(("mp:Empty", new_class(vm, "Empty", exception, &[])));
        v.push(("mp:BrokenProcessPool", new_class(vm, "BrokenProcessPool", runtime, &[])));
        v
    };
    for (k, c) in made {
        vm.i.types.natives.insert(k, c);
    }
}

fn class_value(vm: &Vm<'_>, name: &str) -> Value {
    module_class(vm, name).map_or(Value::None, Value::Obj)
}

/// The modules of this part, made on first import: `None` for a name that is not one.
pub fn import(vm: &mut Vm<'_>, name: &str) -> Option<R<Value>> {
    if !matches!(name, "multiprocessing" | "concurrent" | "concurrent.futures" | "os" | "pickle") {
        return None;
    }
    if let Some(m) = vm.i.modules.get(name) {
        return Some(Ok(*m));
    }
    ensure_classes(vm);
    let mut attrs = Attrs::default();
    let fns: &[(&str, &str)] = match name {
        "multiprocessing" => &[
            ("Pool", "_mp.new_pool"),
            ("Queue", "_mp.new_queue"),
            ("Pipe", "_mp.pipe"),
            ("SimpleQueue", "_mp.new_queue"),
            ("Value", "_mp.shared_value"),
            ("Array", "_mp.shared_array"),
            ("cpu_count", "_mp.cpu_count"),
            ("current_process", "_mp.current_process"),
            ("set_start_method", "_mp.set_start_method"),
            ("get_start_method", "_mp.get_start_method"),
            ("freeze_support", "_mp.freeze_support"),
        ],
        "concurrent.futures" => &[
            ("ProcessPoolExecutor", "_mp.new_executor"),
            ("ThreadPoolExecutor", "_mp.thread_pool_executor"),
            ("as_completed", "_mp.as_completed"),
            ("wait", "_futures.wait"),
        ],
        "os" => &[("getpid", "_mp.getpid"), ("cpu_count", "_mp.cpu_count"), ("_exit", "_mp.os_exit")],
        "pickle" => &[("dumps", "_mp.dumps"), ("loads", "_mp.loads")],
        _ => &[],
    };
    for (attr, n) in fns {
        attrs.insert((*attr).to_owned(), native(n));
    }
    match name {
        "multiprocessing" => {
            for c in ["Process", "TimeoutError", "ProcessError"] {
                attrs.insert(c.into(), class_value(vm, c));
            }
        }
        // `concurrent.futures` becomes an attribute of `concurrent` when it is imported
        // (`builtins::import`), as CPython's submodules do.
        "concurrent.futures" => {
            let t = vm.i.builtins.get("TimeoutError").copied().unwrap_or(Value::None);
            attrs.insert("TimeoutError".into(), t);
            attrs.insert("Future".into(), class_value(vm, "Future"));
            for w in ["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"] {
                let s = vm.new_str(w.into());
                attrs.insert(w.into(), s);
            }
            if let Some(f) = crate::core::py::threads::prelude::as_completed_fn(vm) {
                attrs.insert("as_completed".into(), f);
            }
        }
        "os" => {
            let sep = vm.new_str("/".into());
            attrs.insert("sep".into(), sep);
            let n = vm.new_str("posix".into());
            attrs.insert("name".into(), n);
        }
        "pickle" => {
            for c in ["PickleError", "PicklingError", "UnpicklingError"] {
                attrs.insert(c.into(), class_value(vm, c));
            }
            attrs.insert("HIGHEST_PROTOCOL".into(), Value::Int(5));
            attrs.insert("DEFAULT_PROTOCOL".into(), Value::Int(4));
        }
        _ => {}
    }
    let m = vm.i.heap.alloc(Obj::Module(name.into(), attrs));
    vm.i.modules.insert(name.into(), m);
    Some(Ok(m))
}

// ---------------------------------------------------------------------------------------
// Helpers for the natives.

pub(crate) fn arg(args: &[Value], kw: &Kw, i: usize, name: &str) -> Option<Value> {
    kw.iter().find(|(k, _)| k == name).map(|(_, v)| *v).or_else(|| args.get(i).copied())
}

fn new_instance(vm: &mut Vm<'_>, class: &str, attrs: Vec<(&str, Value)>) -> Value {
    let cls = module_class(vm, class).unwrap_or(vm.i.types.object);
    let dict = attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    vm.i.heap.alloc(Obj::Instance(Instance { class: cls, dict, exc: None }))
}

fn attr(vm: &Vm<'_>, obj: Value, name: &str) -> Value {
    let Value::Obj(r) = obj else { return Value::None };
    match vm.i.heap.get(r) {
        Obj::Instance(i) => i.dict.get(name).copied().unwrap_or(Value::None),
        _ => Value::None,
    }
}

/// An int field of one of this module's objects.
#[must_use]
pub fn int_attr(vm: &Vm<'_>, obj: Value, name: &str) -> Option<i64> {
    match attr(vm, obj, name) {
        Value::Int(n) => Some(n),
        _ => None,
    }
}

fn set_attr(vm: &mut Vm<'_>, obj: Value, name: &str, v: Value) {
    if let Value::Obj(r) = obj {
        if let Obj::Instance(i) = vm.i.heap.get_mut(r) {
            i.dict.insert(name.to_owned(), v);
        }
    }
}

/// `self` of a method of this module's class `class`.
fn this(vm: &mut Vm<'_>, args: &[Value], class: &str, method: &str) -> R<Value> {
    let ok = match (args.first(), module_class(vm, class)) {
        (Some(Value::Obj(r)), Some(c)) => match vm.i.heap.get(*r) {
            // A subclass's instance too (`class Worker(mp.Process)`).
            Obj::Instance(i) => vm.is_subclass(i.class, c),
            _ => false,
        },
        _ => false,
    };
    if ok {
        Ok(args[0])
    } else {
        Err(vm.exc("TypeError", &format!("descriptor '{method}' requires a '{class}' object")))
    }
}

fn procs<'h>(vm: &mut Vm<'_>, host: &'h dyn Host) -> R<&'h dyn Processes> {
    host.processes().ok_or_else(|| vm.exc("RuntimeError", NO_PROCESSES))
}

fn seconds(vm: &mut Vm<'_>, v: Option<Value>) -> R<Option<f64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(n)) => Ok(Some((n as f64 * 1000.0).max(0.0))),
        Some(Value::Float(f)) => Ok(Some((f * 1000.0).max(0.0))),
        Some(v) => {
            let t = vm.type_name(v);
            Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as a timeout")))
        }
    }
}

pub(crate) fn block(vm: &mut Vm<'_>, hold: Option<Value>, on: WaitOn, timeout_ms: Option<f64>, then: Then) -> R<Value> {
    // What `finish` needs is held on the thread's stack meanwhile (the collector's roots).
    if let Some(v) = hold {
        vm.t.stack.push(v);
    }
    Err(Flow::Block(BlockOp::Mp(Wait { on, timeout_ms, then, budget_end_ms: vm.i.deadline_ms })))
}

fn cpu_count_of() -> i64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::available_parallelism().map_or(1, |n| n.get() as i64)
    }
    #[cfg(target_arch = "wasm32")]
    {
        4
    }
}

fn source_of(vm: &Vm<'_>) -> String {
    let mut s = vm.i.source_lines.join("\n");
    s.push('\n');
    s
}

/// CPython's `spawn._check_not_importing_main` (3.11), word for word.
const BOOTSTRAPPING: &str = "
        An attempt has been made to start a new process before the
        current process has finished its bootstrapping phase.

        This probably means that you are not using fork to start your
        child processes and you have forgotten to use the proper idiom
        in the main module:

            if __name__ == '__main__':
                freeze_support()
                ...

        The \"freeze_support()\" line can be omitted if the program
        is not going to be frozen to produce an executable.

        To fix this issue, refer to the \"Safe importing of main module\"
        section in https://docs.python.org/3/library/multiprocessing.html
        ";

/// Starts a child running `payload` (a pickled tuple: see [`child`]).
fn spawn(vm: &mut Vm<'_>, name: String, payload: Vec<u8>) -> R<u32> {
    if vm.i.mp.bootstrapping {
        return Err(vm.exc("RuntimeError", BOOTSTRAPPING));
    }
    let host = vm.i.host.clone();
    let p = procs(vm, &*host)?;
    let start = ProcessStart {
        source: source_of(vm),
        name,
        payload,
        options: ProgramOptions {
            switch_interval_ms: vm.i.switch_interval_ms,
            timeout_ms: vm.i.timeout_ms,
            gil: vm.i.free.is_none(),
        },
        t0_ms: vm.i.start_ms,
    };
    match p.start_process(start) {
        Ok(pid) => {
            vm.i.mp.started.push(pid);
            Ok(pid)
        }
        Err(why) => Err(vm.exc("RuntimeError", &format!("cannot start a process: {why}"))),
    }
}

fn tuple(vm: &mut Vm<'_>, items: Vec<Value>) -> Value {
    vm.i.heap.alloc(Obj::Tuple(items))
}

fn dumps_tuple(vm: &mut Vm<'_>, items: Vec<Value>) -> R<Vec<u8>> {
    let t = tuple(vm, items);
    pickle::dumps(vm, t)
}

// ---------------------------------------------------------------------------------------
// multiprocessing.

/// `Process.__init__(self, group=None, target=None, name=None, args=(), kwargs={}, *, daemon=None)`.
fn process_init(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let p = this(vm, args, "Process", "__init__")?;
    let args = &args[1..];
    let target = arg(args, kw, 1, "target").unwrap_or(Value::None);
    let name = arg(args, kw, 2, "name").unwrap_or(Value::None);
    let targs = arg(args, kw, 3, "args");
    let tkw = arg(args, kw, 4, "kwargs");
    let daemon = kw.iter().find(|(k, _)| k == "daemon").map_or(Value::Bool(false), |(_, v)| *v);
    vm.i.mp.counter += 1;
    let n = vm.i.mp.counter;
    // CPython: the class's name and the process's number (`Process-1`, `Worker-2`).
    let class = vm.type_name(p);
    let name = if name == Value::None { vm.new_str(format!("{class}-{n}")) } else { name };
    let targs = match targs {
        None => tuple(vm, Vec::new()),
        Some(v) => {
            let items = vm.iterate(v)?;
            tuple(vm, items)
        }
    };
    let tkw = match tkw {
        Some(v) if v != Value::None => v,
        _ => vm.i.heap.alloc(Obj::Dict(super::heap::Dict::default())),
    };
    for (k, v) in [
        ("name", name),
        ("daemon", daemon),
        ("pid", Value::None),
        ("exitcode", Value::None),
        ("_target", target),
        ("_args", targs),
        ("_kwargs", tkw),
    ] {
        set_attr(vm, p, k, v);
    }
    Ok(Value::None)
}

/// `Process.run()`: calls the target, in this process (what `start` runs in the child).
fn process_run(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let p = this(vm, args, "Process", "run")?;
    let target = attr(vm, p, "_target");
    if target == Value::None {
        return Ok(Value::None);
    }
    let targs = attr(vm, p, "_args");
    let targs = vm.tuple_items(targs);
    let tkw = attr(vm, p, "_kwargs");
    let kw: Vec<(String, Value)> = match tkw {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Dict(d) => d.iter().map(|(k, v)| (vm.as_str(k).unwrap_or("").to_owned(), v)).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    vm.call_sync(target, &targs, &kw)?;
    Ok(Value::None)
}

fn process_start(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let p = this(vm, args, "Process", "start")?;
    if attr(vm, p, "pid") != Value::None {
        return Err(vm.exc("AssertionError", "cannot start a process twice"));
    }
    // A subclass with its own `run` crosses whole (its class by reference, its `__dict__`),
    // and the child calls its `run`; otherwise the target and its arguments cross.
    let own_run = match vm.class_of(p) {
        Value::Obj(c) => {
            matches!(vm.class_lookup(c, "run"), Some(Value::Obj(f)) if matches!(vm.i.heap.get(f), Obj::Function(_)))
        }
        _ => false,
    };
    let mut payload;
    if own_run {
        payload = b"R".to_vec();
        payload.extend(dumps_tuple(vm, vec![p])?);
    } else {
        let (t, a, k) = (attr(vm, p, "_target"), attr(vm, p, "_args"), attr(vm, p, "_kwargs"));
        payload = b"T".to_vec();
        payload.extend(dumps_tuple(vm, vec![t, a, k])?);
    }
    let name = attr(vm, p, "name");
    let name = vm.str_of(name)?;
    let pid = spawn(vm, name, payload)?;
    if attr(vm, p, "daemon") == Value::Bool(true) {
        vm.i.mp.daemons.push(pid);
    }
    set_attr(vm, p, "pid", Value::Int(i64::from(pid)));
    Ok(Value::None)
}

fn started_pid(vm: &mut Vm<'_>, p: Value, what: &str) -> R<u32> {
    match attr(vm, p, "pid") {
        Value::Int(n) => Ok(n as u32),
        _ => Err(vm.exc("AssertionError", &format!("can only {what} a started process"))),
    }
}

/// The exit code if the process has ended (without waiting), recorded on the object.
fn poll_exit(vm: &mut Vm<'_>, p: Value, pid: u32) -> Option<i32> {
    if let Value::Int(c) = attr(vm, p, "exitcode") {
        return Some(c as i32);
    }
    let host = vm.i.host.clone();
    let code = host.processes()?.wait_process(pid, Some(0.0))?;
    set_attr(vm, p, "exitcode", Value::Int(i64::from(code)));
    Some(code)
}

fn process_join(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let p = this(vm, args, "Process", "join")?;
    let pid = started_pid(vm, p, "join")?;
    let timeout = seconds(vm, arg(&args[1..], kw, 0, "timeout"))?;
    if poll_exit(vm, p, pid).is_some() {
        return Ok(Value::None);
    }
    block(vm, Some(p), WaitOn::Join { pids: vec![pid] }, timeout, Then::ProcessJoin)
}

fn process_is_alive(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let p = this(vm, args, "Process", "is_alive")?;
    let Value::Int(pid) = attr(vm, p, "pid") else { return Ok(Value::Bool(false)) };
    Ok(Value::Bool(poll_exit(vm, p, pid as u32).is_none()))
}

fn process_terminate(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let p = this(vm, args, "Process", "terminate")?;
    if let Value::Int(pid) = attr(vm, p, "pid") {
        if let Some(procs) = vm.i.host.processes() {
            procs.terminate_process(pid as u32);
        }
    }
    Ok(Value::None)
}

fn process_close(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    this(vm, args, "Process", "close")?;
    Ok(Value::None)
}

fn cpu_count(_vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Int(cpu_count_of()))
}

fn getpid(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Int(i64::from(vm.i.pid)))
}

/// `os._exit(n)`: the process ends now, all its threads with it, with exit status `n`
/// (as the OS keeps it: its low 8 bits). No exception: no `except`, `finally` or `atexit`
/// runs; what was printed stays. A child's parent sees the status in `exitcode`, its
/// siblings run on. The VM's `Flow::Fatal` of kind [`HARD_EXIT`] carries the status.
fn os_exit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let status = args.first().copied().or_else(|| kw.iter().find(|(k, _)| k == "status").map(|(_, v)| *v));
    let Some(status) = status else {
        return Err(vm.exc("TypeError", "_exit() missing required argument 'status' (pos 1)"));
    };
    if args.len() + kw.len() > 1 {
        let n = args.len() + kw.len();
        return Err(vm.exc("TypeError", &format!("_exit() takes at most 1 argument ({n} given)")));
    }
    let code = match status {
        Value::Int(n) => n & 0xff,
        Value::Bool(b) => i64::from(b),
        v if vm.is_big(v) => {
            return Err(vm.exc("OverflowError", "Python int too large to convert to C int"));
        }
        v => {
            let t = vm.type_name(v);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    Err(Flow::Fatal(Box::new(crate::core::program::ProgramError {
        kind: HARD_EXIT.to_owned(),
        message: code.to_string(),
        line: 0,
        col: 0,
    })))
}

/// The kind of the `Flow::Fatal` of `os._exit`; its message is the exit status.
pub const HARD_EXIT: &str = "os._exit";

fn current_process(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    let name = if vm.i.mp.name.is_empty() { "MainProcess".to_owned() } else { vm.i.mp.name.clone() };
    let name = vm.new_str(name);
    let pid = Value::Int(i64::from(vm.i.pid));
    let class = if vm.i.mp.name.is_empty() { "_MainProcess" } else { "Process" };
    Ok(new_instance(vm, class, vec![("name", name), ("pid", pid), ("daemon", Value::Bool(false))]))
}

fn set_start_method(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let method = arg(args, kw, 0, "method").unwrap_or(Value::None);
    let force = matches!(arg(args, kw, 1, "force"), Some(Value::Bool(true)));
    let m = vm.as_str(method).unwrap_or("").to_owned();
    if vm.i.mp.method_set && !force {
        return Err(vm.exc("RuntimeError", "context has already been set"));
    }
    match m.as_str() {
        "spawn" => {
            vm.i.mp.method_set = true;
            Ok(Value::None)
        }
        "fork" | "forkserver" => Err(vm.exc(
            "ValueError",
            &format!(
                "cannot use the '{m}' start method in ThreadLab: a browser cannot copy a running process (its workers share no memory to fork), so processes start with 'spawn', as on Windows and macOS"
            ),
        )),
        _ => Err(vm.exc("ValueError", &format!("cannot find context for '{m}'"))),
    }
}

fn get_start_method(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(vm.new_str("spawn".into()))
}

fn freeze_support(_vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::None)
}

// Queue.

/// A `multiprocessing.Queue` on channel `chan` (a new one, or one that crossed by pickling).
///
/// # Errors
/// None today (kept fallible for the browser's arena).
pub fn new_queue(vm: &mut Vm<'_>, chan: u32) -> R<Value> {
    ensure_classes(vm);
    Ok(new_instance(vm, "Queue", vec![("_channel", Value::Int(i64::from(chan)))]))
}

fn make_queue(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    let host = vm.i.host.clone();
    let p = procs(vm, &*host)?;
    let chan = p.channel_new().map_err(|why| vm.exc("RuntimeError", &why))?;
    new_queue(vm, chan)
}

fn queue_chan(vm: &mut Vm<'_>, args: &[Value], method: &str) -> R<(Value, u32)> {
    let q = this(vm, args, "Queue", method)?;
    Ok((q, int_attr(vm, q, "_channel").unwrap_or(0) as u32))
}

fn send(vm: &mut Vm<'_>, chan: u32, bytes: Vec<u8>) -> R<()> {
    let host = vm.i.host.clone();
    let p = procs(vm, &*host)?;
    p.channel_send(chan, bytes).map_err(|why| vm.exc("ValueError", &why))
}

fn queue_put(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, chan) = queue_chan(vm, args, "put")?;
    let Some(item) = arg(&args[1..], kw, 0, "obj") else {
        return Err(vm.exc("TypeError", "put() missing 1 required positional argument: 'obj'"));
    };
    let bytes = pickle::dumps(vm, item)?;
    send(vm, chan, bytes)?;
    Ok(Value::None)
}

fn queue_get_with(vm: &mut Vm<'_>, chan: u32, blocking: bool, timeout: Option<f64>) -> R<Value> {
    let timeout = if blocking { timeout } else { Some(0.0) };
    block(vm, None, WaitOn::Recv { chan, n: 1 }, timeout, Then::QueueGet)
}

fn queue_get(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (_, chan) = queue_chan(vm, args, "get")?;
    let blocking = !matches!(arg(&args[1..], kw, 0, "block"), Some(Value::Bool(false)));
    let timeout = seconds(vm, arg(&args[1..], kw, 1, "timeout"))?;
    queue_get_with(vm, chan, blocking, timeout)
}

fn queue_get_nowait(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (_, chan) = queue_chan(vm, args, "get_nowait")?;
    queue_get_with(vm, chan, false, None)
}

fn queue_put_nowait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    queue_put(vm, args, kw)
}

fn queue_len(vm: &mut Vm<'_>, args: &[Value], method: &str) -> R<usize> {
    let (_, chan) = queue_chan(vm, args, method)?;
    Ok(vm.i.host.processes().map_or(0, |p| p.channel_len(chan)))
}

fn queue_empty(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(queue_len(vm, args, "empty")? == 0))
}

fn queue_qsize(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Int(queue_len(vm, args, "qsize")? as i64))
}

fn queue_full(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    this(vm, args, "Queue", "full")?;
    Ok(Value::Bool(false))
}

fn queue_noop(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    this(vm, args, "Queue", "close")?;
    Ok(Value::None)
}

// Pipe: two channels, one each way (one for a `duplex=False` pipe).

/// A `Pipe()` end receiving on channel `recv` and sending on `send` (0: that way is closed).
pub fn new_connection(vm: &mut Vm<'_>, recv: u32, send: u32) -> Value {
    ensure_classes(vm);
    new_instance(vm, "Connection", vec![("_recv", Value::Int(i64::from(recv))), ("_send", Value::Int(i64::from(send)))])
}

fn pipe(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let duplex = !matches!(arg(args, kw, 0, "duplex"), Some(Value::Bool(false)));
    let host = vm.i.host.clone();
    let p = procs(vm, &*host)?;
    let a = p.channel_new().map_err(|why| vm.exc("RuntimeError", &why))?;
    let (left, right) = if duplex {
        let b = p.channel_new().map_err(|why| vm.exc("RuntimeError", &why))?;
        (new_connection(vm, a, b), new_connection(vm, b, a))
    } else {
        (new_connection(vm, a, 0), new_connection(vm, 0, a))
    };
    Ok(tuple(vm, vec![left, right]))
}

fn connection_side(vm: &mut Vm<'_>, args: &[Value], method: &str, side: &str, closed: &str) -> R<u32> {
    let c = this(vm, args, "Connection", method)?;
    match int_attr(vm, c, side) {
        Some(n) if n > 0 => Ok(n as u32),
        _ => Err(vm.exc("OSError", &format!("connection is {closed}"))),
    }
}

fn connection_send(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let chan = connection_side(vm, args, "send", "_send", "read-only")?;
    let Some(obj) = arg(&args[1..], kw, 0, "obj") else {
        return Err(vm.exc("TypeError", "send() missing 1 required positional argument: 'obj'"));
    };
    let bytes = pickle::dumps(vm, obj)?;
    send(vm, chan, bytes)?;
    Ok(Value::None)
}

fn connection_recv(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let chan = connection_side(vm, args, "recv", "_recv", "write-only")?;
    block(vm, None, WaitOn::Recv { chan, n: 1 }, None, Then::QueueGet)
}

fn connection_poll(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let chan = connection_side(vm, args, "poll", "_recv", "write-only")?;
    let timeout = match arg(&args[1..], kw, 0, "timeout") {
        // `poll()` does not wait; `poll(None)` waits for ever.
        None => Some(0.0),
        Some(Value::None) => None,
        t => seconds(vm, t)?,
    };
    if vm.i.host.processes().is_some_and(|p| p.channel_len(chan) > 0) {
        return Ok(Value::Bool(true));
    }
    if timeout == Some(0.0) {
        return Ok(Value::Bool(false));
    }
    block(vm, None, WaitOn::Peek { chan }, timeout, Then::Ready)
}

fn connection_close(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    this(vm, args, "Connection", "close")?;
    Ok(Value::None)
}

// Pools: `Pool` and `ProcessPoolExecutor` are the same machine (a task channel, workers
// that run tasks until a `None`, a result channel per call).

fn new_pool_of(vm: &mut Vm<'_>, class: &str, n: Option<Value>, worker_prefix: &str) -> R<Value> {
    let n = match n {
        None | Some(Value::None) => cpu_count_of(),
        Some(Value::Int(n)) if n >= 1 => n,
        Some(Value::Int(_)) => {
            let msg = if class == "Pool" {
                "Number of processes must be at least 1"
            } else {
                "max_workers must be greater than 0"
            };
            return Err(vm.exc("ValueError", msg));
        }
        Some(v) => {
            let t = vm.type_name(v);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    let host = vm.i.host.clone();
    let p = procs(vm, &*host)?;
    let tasks = p.channel_new().map_err(|why| vm.exc("RuntimeError", &why))?;
    let ready = p.channel_new().map_err(|why| vm.exc("RuntimeError", &why))?;
    let mut workers = Vec::new();
    for _ in 0..n {
        vm.i.mp.counter += 1;
        let name = format!("{worker_prefix}-{}", vm.i.mp.counter);
        let mut payload = b"W".to_vec();
        payload.extend_from_slice(&tasks.to_le_bytes());
        payload.extend_from_slice(&ready.to_le_bytes());
        let pid = spawn(vm, name, payload)?;
        vm.i.mp.daemons.push(pid);
        workers.push(Value::Int(i64::from(pid)));
    }
    let workers = vm.i.heap.alloc(Obj::List(workers));
    let state = vm.new_str("RUN".into());
    let pool = new_instance(
        vm,
        class,
        vec![("_tasks", Value::Int(i64::from(tasks))), ("_workers", workers), ("_state", state)],
    );
    // Each worker says when its top level has run: a pool is ready when they all are (as
    // CPython's, in practice: its workers start in parallel, a task takes longer to come).
    block(vm, Some(pool), WaitOn::Recv { chan: ready, n: n as usize }, None, Then::Held)
}

fn new_pool(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    new_pool_of(vm, "Pool", arg(args, kw, 0, "processes"), "SpawnPoolWorker")
}

fn new_executor(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    new_pool_of(vm, "ProcessPoolExecutor", arg(args, kw, 0, "max_workers"), "SpawnProcess")
}

fn thread_pool_executor(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    crate::core::py::threads::futures::executor_new(vm, args, kw)
}

fn pool_of<'a>(vm: &mut Vm<'_>, args: &'a [Value], method: &str) -> R<(Value, &'a [Value])> {
    let kind = match args.first() {
        Some(Value::Obj(r)) => match vm.i.heap.get(*r) {
            Obj::Instance(i) => own_kind(vm, i.class),
            _ => None,
        },
        _ => None,
    };
    match kind {
        Some("Pool" | "ProcessPoolExecutor") => Ok((args[0], &args[1..])),
        _ => Err(vm.exc("TypeError", &format!("descriptor '{method}' requires a 'Pool' object"))),
    }
}

fn check_running(vm: &mut Vm<'_>, pool: Value) -> R<()> {
    let state = attr(vm, pool, "_state");
    if vm.as_str(state) == Some("RUN") {
        return Ok(());
    }
    let executor = matches!(pool, Value::Obj(r) if matches!(vm.i.heap.get(r), Obj::Instance(i) if own_kind(vm, i.class) == Some("ProcessPoolExecutor")));
    if executor {
        Err(vm.exc("RuntimeError", "cannot schedule new futures after shutdown"))
    } else {
        Err(vm.exc("ValueError", "Pool not running"))
    }
}

/// Sends the calls `func(*args)` for each `args` of `calls`, results to a new channel.
fn submit_all(vm: &mut Vm<'_>, pool: Value, func: Value, calls: Vec<Value>, kwargs: Value) -> R<u32> {
    check_running(vm, pool)?;
    let tasks = int_attr(vm, pool, "_tasks").unwrap_or(0) as u32;
    let host = vm.i.host.clone();
    let p = procs(vm, &*host)?;
    let results = p.channel_new().map_err(|why| vm.exc("RuntimeError", &why))?;
    // Every task is pickled before any is sent: an unpicklable one fails the call whole.
    let mut messages = Vec::with_capacity(calls.len());
    for (i, a) in calls.into_iter().enumerate() {
        // The header is plain bytes, so a worker that cannot unpickle the task can still
        // say so to the right caller.
        let mut m = results.to_le_bytes().to_vec();
        m.extend_from_slice(&(i as u32).to_le_bytes());
        m.extend(dumps_tuple(vm, vec![func, a, kwargs])?);
        messages.push(m);
    }
    for m in messages {
        p.channel_send(tasks, m).map_err(|why| vm.exc("RuntimeError", &why))?;
    }
    Ok(results)
}

fn empty_kwargs(vm: &mut Vm<'_>) -> Value {
    vm.i.heap.alloc(Obj::Dict(super::heap::Dict::default()))
}

fn map_calls(vm: &mut Vm<'_>, iterable: Value, star: bool) -> R<Vec<Value>> {
    let items = vm.iterate(iterable)?;
    let mut calls = Vec::with_capacity(items.len());
    for x in items {
        let a = if star { vm.iterate(x)? } else { vec![x] };
        calls.push(tuple(vm, a));
    }
    Ok(calls)
}

fn map_like(vm: &mut Vm<'_>, args: &[Value], kw: &Kw, method: &str, star: bool, iter: bool) -> R<Value> {
    let (pool, rest) = pool_of(vm, args, method)?;
    let (Some(func), Some(iterable)) = (arg(rest, kw, 0, "func"), arg(rest, kw, 1, "iterable")) else {
        return Err(vm.exc("TypeError", &format!("{method}() missing required arguments: 'func' and 'iterable'")));
    };
    let calls = map_calls(vm, iterable, star)?;
    let n = calls.len();
    let kwargs = empty_kwargs(vm);
    let chan = submit_all(vm, pool, func, calls, kwargs)?;
    if n == 0 {
        let l = vm.i.heap.alloc(Obj::List(Vec::new()));
        return if iter { vm.get_iter(l) } else { Ok(l) };
    }
    // `imap_unordered`: in the order the results came, as CPython's.
    let ordered = method != "imap_unordered";
    block(vm, None, WaitOn::Recv { chan, n }, None, Then::MapResults { iter, ordered })
}

fn pool_map(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    map_like(vm, args, kw, "map", false, false)
}

fn pool_starmap(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    map_like(vm, args, kw, "starmap", true, false)
}

fn pool_apply_async(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (pool, rest) = pool_of(vm, args, "apply_async")?;
    let Some(func) = arg(rest, kw, 0, "func") else {
        return Err(vm.exc("TypeError", "apply_async() missing 1 required positional argument: 'func'"));
    };
    let a = match arg(rest, kw, 1, "args") {
        Some(v) => {
            let items = vm.iterate(v)?;
            tuple(vm, items)
        }
        None => tuple(vm, Vec::new()),
    };
    let kwargs = match arg(rest, kw, 2, "kwds") {
        Some(v) if v != Value::None => v,
        _ => empty_kwargs(vm),
    };
    let chan = submit_all(vm, pool, func, vec![a], kwargs)?;
    Ok(new_instance(vm, "AsyncResult", vec![("_channel", Value::Int(i64::from(chan))), ("_done", Value::Bool(false))]))
}

fn pool_apply(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let r = pool_apply_async(vm, args, kw)?;
    let chan = int_attr(vm, r, "_channel").unwrap_or(0) as u32;
    block(vm, Some(r), WaitOn::Recv { chan, n: 1 }, None, Then::ResultOf { futures: false })
}

// Shared memory between processes (`Value`, `Array`) would need words in the program's
// arena that every process maps, which `program::Processes` (byte channels) has not.
fn shared_value(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Err(vm.exc(
        "NotImplementedError",
        "multiprocessing.Value is not supported by ThreadLab's Python yet: send values through a Queue, a Pipe or a Pool's results",
    ))
}

fn shared_array(vm: &mut Vm<'_>, _args: &[Value], _kw: &Kw) -> R<Value> {
    Err(vm.exc(
        "NotImplementedError",
        "multiprocessing.Array is not supported by ThreadLab's Python yet: send values through a Queue, a Pipe or a Pool's results",
    ))
}

fn pool_map_async(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (pool, rest) = pool_of(vm, args, "map_async")?;
    let (Some(func), Some(iterable)) = (arg(rest, kw, 0, "func"), arg(rest, kw, 1, "iterable")) else {
        return Err(vm.exc("TypeError", "map_async() missing required arguments: 'func' and 'iterable'"));
    };
    let calls = map_calls(vm, iterable, false)?;
    let n = calls.len();
    let kwargs = empty_kwargs(vm);
    let chan = submit_all(vm, pool, func, calls, kwargs)?;
    let parts = vm.i.heap.alloc(Obj::List(Vec::new()));
    let r = new_instance(
        vm,
        "AsyncResult",
        vec![
            ("_channel", Value::Int(i64::from(chan))),
            ("_done", Value::Bool(false)),
            ("_n", Value::Int(n as i64)),
            ("_parts", parts),
        ],
    );
    if n == 0 {
        let l = vm.i.heap.alloc(Obj::List(Vec::new()));
        record(vm, r, true, l);
    }
    Ok(r)
}

/// The results a `map_async` got so far (`(index, ok, value)` tuples).
fn parts(vm: &Vm<'_>, r: Value) -> Vec<Value> {
    let p = attr(vm, r, "_parts");
    vm.tuple_items(p)
}

fn pool_close(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (pool, _) = pool_of(vm, args, "close")?;
    let state = attr(vm, pool, "_state");
    if vm.as_str(state) != Some("RUN") {
        return Ok(Value::None);
    }
    let closed = vm.new_str("CLOSE".into());
    set_attr(vm, pool, "_state", closed);
    let tasks = int_attr(vm, pool, "_tasks").unwrap_or(0) as u32;
    let workers = attr(vm, pool, "_workers");
    let n = vm.tuple_items(workers).len();
    for _ in 0..n {
        // An empty task: the worker's end.
        send(vm, tasks, Vec::new())?;
    }
    Ok(Value::None)
}

fn pool_terminate(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (pool, _) = pool_of(vm, args, "terminate")?;
    let state = vm.new_str("TERMINATE".into());
    set_attr(vm, pool, "_state", state);
    let workers = attr(vm, pool, "_workers");
    let pids = vm.tuple_items(workers);
    if let Some(p) = vm.i.host.processes() {
        for pid in pids {
            if let Value::Int(pid) = pid {
                p.terminate_process(pid as u32);
            }
        }
    }
    Ok(Value::None)
}

fn worker_pids(vm: &Vm<'_>, pool: Value) -> Vec<u32> {
    let workers = attr(vm, pool, "_workers");
    vm.tuple_items(workers)
        .into_iter()
        .filter_map(|v| if let Value::Int(n) = v { Some(n as u32) } else { None })
        .collect()
}

fn pool_join(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (pool, _) = pool_of(vm, args, "join")?;
    let state = attr(vm, pool, "_state");
    if vm.as_str(state) == Some("RUN") {
        return Err(vm.exc("ValueError", "Pool is still running"));
    }
    let pids = worker_pids(vm, pool);
    block(vm, None, WaitOn::Join { pids }, None, Then::Nothing)
}

fn pool_imap(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    // The results are gathered at the call (not as the loop asks for them): the same
    // values, in the same order, an iterator over them.
    map_like(vm, args, kw, "imap", false, true)
}

fn pool_imap_unordered(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    map_like(vm, args, kw, "imap_unordered", false, true)
}

fn enter(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let (pool, _) = pool_of(vm, args, "__enter__")?;
    Ok(pool)
}

fn pool_exit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    // CPython's `Pool.__exit__` terminates: the workers end at once.
    pool_terminate(vm, &args[..1.min(args.len())], kw)?;
    Ok(Value::Bool(false))
}

// AsyncResult and Future: `_done`, `_ok`, `_value` once the result came.

fn result_of(vm: &mut Vm<'_>, args: &[Value], kw: &Kw, class: &str, futures: bool) -> R<Value> {
    let r = this(vm, args, class, if futures { "result" } else { "get" })?;
    if attr(vm, r, "_done") == Value::Bool(true) {
        return deliver(vm, r);
    }
    let timeout = seconds(vm, arg(&args[1..], kw, 0, "timeout"))?;
    let chan = int_attr(vm, r, "_channel").unwrap_or(0) as u32;
    if let Some(n) = int_attr(vm, r, "_n") {
        let left = (n as usize).saturating_sub(parts(vm, r).len());
        return block(vm, Some(r), WaitOn::Recv { chan, n: left }, timeout, Then::MapAsync);
    }
    let pids: Vec<u32> = vm
        .tuple_items(attr(vm, r, "_workers"))
        .iter()
        .filter_map(|v| if let Value::Int(n) = v { u32::try_from(*n).ok() } else { None })
        .collect();
    if futures && !pids.is_empty() {
        return block(vm, Some(r), WaitOn::RecvWatching { chan, pids }, timeout, Then::ResultOf { futures });
    }
    block(vm, Some(r), WaitOn::Recv { chan, n: 1 }, timeout, Then::ResultOf { futures })
}

fn deliver(vm: &mut Vm<'_>, r: Value) -> R<Value> {
    let v = attr(vm, r, "_value");
    if attr(vm, r, "_ok") == Value::Bool(true) {
        Ok(v)
    } else {
        Err(Flow::Exc(v))
    }
}

fn async_get(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    result_of(vm, args, kw, "AsyncResult", false)
}

fn future_result(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    result_of(vm, args, kw, "Future", true)
}

fn is_ready(vm: &mut Vm<'_>, args: &[Value], class: &str) -> R<bool> {
    let r = this(vm, args, class, "ready")?;
    if attr(vm, r, "_done") == Value::Bool(true) {
        return Ok(true);
    }
    let chan = int_attr(vm, r, "_channel").unwrap_or(0) as u32;
    let waiting = vm.i.host.processes().map_or(0, |p| p.channel_len(chan));
    if let Some(n) = int_attr(vm, r, "_n") {
        return Ok(waiting + parts(vm, r).len() >= n as usize);
    }
    Ok(waiting > 0)
}

fn async_ready(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(is_ready(vm, args, "AsyncResult")?))
}

fn async_wait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    // As get(), but its outcome is kept for get() and wait() returns None (`Then::Wait`).
    let r = this(vm, args, "AsyncResult", "wait")?;
    if attr(vm, r, "_done") == Value::Bool(true) {
        return Ok(Value::None);
    }
    let timeout = seconds(vm, arg(&args[1..], kw, 0, "timeout"))?;
    let chan = int_attr(vm, r, "_channel").unwrap_or(0) as u32;
    if let Some(n) = int_attr(vm, r, "_n") {
        let left = (n as usize).saturating_sub(parts(vm, r).len());
        return block(vm, Some(r), WaitOn::Recv { chan, n: left }, timeout, Then::Wait { map: true });
    }
    block(vm, Some(r), WaitOn::Recv { chan, n: 1 }, timeout, Then::Wait { map: false })
}

fn async_successful(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let r = this(vm, args, "AsyncResult", "successful")?;
    if attr(vm, r, "_done") != Value::Bool(true) {
        let msg = format!("{} not ready", vm.repr(r)?);
        return Err(vm.exc("ValueError", &msg));
    }
    Ok(Value::Bool(attr(vm, r, "_ok") == Value::Bool(true)))
}

fn future_done(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(is_ready(vm, args, "Future")?))
}

fn future_running(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(!is_ready(vm, args, "Future")?))
}

fn future_cancel(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    this(vm, args, "Future", "cancel")?;
    Ok(Value::Bool(false))
}

fn future_exception(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    match future_result(vm, args, kw) {
        Ok(_) => Ok(Value::None),
        Err(Flow::Exc(e)) => Ok(e),
        Err(f) => Err(f),
    }
}

// concurrent.futures.

fn executor_submit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (pool, rest) = pool_of(vm, args, "submit")?;
    let Some((&func, rest)) = rest.split_first() else {
        return Err(vm.exc("TypeError", "submit() missing 1 required positional argument: 'fn'"));
    };
    let a = tuple(vm, rest.to_vec());
    let kwargs = vm.new_dict_str(kw.to_vec());
    let chan = submit_all(vm, pool, func, vec![a], kwargs)?;
    let workers = attr(vm, pool, "_workers");
    Ok(new_instance(
        vm,
        "Future",
        vec![("_channel", Value::Int(i64::from(chan))), ("_done", Value::Bool(false)), ("_workers", workers)],
    ))
}

fn executor_map(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (pool, rest) = pool_of(vm, args, "map")?;
    let Some((&func, iterables)) = rest.split_first() else {
        return Err(vm.exc("TypeError", "map() missing 1 required positional argument: 'fn'"));
    };
    let _ = kw;
    let mut columns = Vec::new();
    for it in iterables {
        columns.push(vm.iterate(*it)?);
    }
    let n = columns.iter().map(Vec::len).min().unwrap_or(0);
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        let a: Vec<Value> = columns.iter().map(|c| c[i]).collect();
        calls.push(tuple(vm, a));
    }
    let kwargs = empty_kwargs(vm);
    let chan = submit_all(vm, pool, func, calls, kwargs)?;
    if n == 0 {
        let l = vm.i.heap.alloc(Obj::List(Vec::new()));
        return vm.get_iter(l);
    }
    // An iterator over the results, gathered at the call (see `pool_imap`).
    block(vm, None, WaitOn::Recv { chan, n }, None, Then::MapResults { iter: true, ordered: true })
}

fn executor_shutdown(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let (pool, rest) = pool_of(vm, args, "shutdown")?;
    let wait = !matches!(arg(rest, kw, 0, "wait"), Some(Value::Bool(false)));
    pool_close(vm, &args[..1], &[])?;
    if !wait {
        return Ok(Value::None);
    }
    let pids = worker_pids(vm, pool);
    block(vm, None, WaitOn::Join { pids }, None, Then::Nothing)
}

fn executor_exit(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    executor_shutdown(vm, &args[..1.min(args.len())], &[])
}

fn as_completed(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let Some(fs) = arg(args, kw, 0, "fs") else {
        return Err(vm.exc("TypeError", "as_completed() missing 1 required positional argument: 'fs'"));
    };
    let timeout = seconds(vm, arg(args, kw, 1, "timeout"))?;
    let futures = vm.iterate(fs)?;
    // A ThreadPoolExecutor's futures (core::py::threads::futures).
    if futures.first().is_some_and(|f| crate::core::py::threads::futures::is_future(vm, *f)) {
        let list = vm.i.heap.alloc(Obj::List(futures));
        return crate::core::py::threads::futures::as_completed(vm, list, timeout.map(|ms| ms / 1000.0));
    }
    let future_class = module_class(vm, "Future");
    let mut chans = Vec::new();
    for f in &futures {
        let is_future = matches!(f, Value::Obj(r) if matches!(vm.i.heap.get(*r), Obj::Instance(i) if Some(i.class) == future_class));
        if !is_future {
            let t = vm.type_name(*f);
            return Err(vm.exc("TypeError", &format!("as_completed() takes futures, not '{t}'")));
        }
        if attr(vm, *f, "_done") != Value::Bool(true) {
            chans.push(int_attr(vm, *f, "_channel").unwrap_or(0) as u32);
        }
    }
    let list = vm.i.heap.alloc(Obj::List(futures));
    block(vm, Some(list), WaitOn::Each { chans }, timeout, Then::AsCompleted)
}

// os and pickle.

fn p_dumps(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let Some(v) = arg(args, kw, 0, "obj") else {
        return Err(vm.exc("TypeError", "dumps() missing required argument 'obj' (pos 1)"));
    };
    let b = pickle::dumps(vm, v)?;
    Ok(pickle::new_bytes(vm, &b))
}

fn p_loads(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let v = arg(args, kw, 0, "data").unwrap_or(Value::None);
    let Some(b) = pickle::bytes_of(vm, v) else {
        let t = vm.type_name(v);
        return Err(vm.exc("TypeError", &format!("a bytes-like object is required, not '{t}'")));
    };
    pickle::loads(vm, &b)
}

/// This module's natives (appended to `builtins::NATIVES`).
pub const NATIVE_FNS: &[(&str, super::builtins::NativeFn)] = &[
    ("_mp.new_pool", new_pool),
    ("_mp.new_queue", make_queue),
    ("_mp.shared_value", shared_value),
    ("_mp.shared_array", shared_array),
    ("_mp.new_executor", new_executor),
    ("_mp.thread_pool_executor", thread_pool_executor),
    ("_mp.as_completed", as_completed),
    ("_mp.cpu_count", cpu_count),
    ("_mp.getpid", getpid),
    ("_mp.os_exit", os_exit),
    ("_mp.current_process", current_process),
    ("_mp.set_start_method", set_start_method),
    ("_mp.get_start_method", get_start_method),
    ("_mp.freeze_support", freeze_support),
    ("_mp.dumps", p_dumps),
    ("_mp.loads", p_loads),
    ("_mp.Process.__init__", process_init),
    ("_mp.Process.run", process_run),
    ("_mp.Process.start", process_start),
    ("_mp.Process.join", process_join),
    ("_mp.Process.is_alive", process_is_alive),
    ("_mp.Process.terminate", process_terminate),
    ("_mp.Process.kill", process_terminate),
    ("_mp.Process.close", process_close),
    ("_mp.Pool.map", pool_map),
    ("_mp.Pool.starmap", pool_starmap),
    ("_mp.Pool.imap", pool_imap),
    ("_mp.Pool.imap_unordered", pool_imap_unordered),
    ("_mp.Pool.apply", pool_apply),
    ("_mp.Pool.apply_async", pool_apply_async),
    ("_mp.Pool.map_async", pool_map_async),
    ("_mp.Pool.close", pool_close),
    ("_mp.Pool.terminate", pool_terminate),
    ("_mp.Pool.join", pool_join),
    ("_mp.Pool.__enter__", enter),
    ("_mp.Pool.__exit__", pool_exit),
    ("_mp.pipe", pipe),
    ("_mp.child_payload", child::child_payload),
    ("_mp.child_report", child::child_report),
    ("_mp.child_next_task", child::child_next_task),
    ("_mp.child_send_result", child::child_send_result),
    ("_mp.Connection.send", connection_send),
    ("_mp.Connection.recv", connection_recv),
    ("_mp.Connection.poll", connection_poll),
    ("_mp.Connection.close", connection_close),
    ("_mp.Queue.put", queue_put),
    ("_mp.Queue.get", queue_get),
    ("_mp.Queue.put_nowait", queue_put_nowait),
    ("_mp.Queue.get_nowait", queue_get_nowait),
    ("_mp.Queue.empty", queue_empty),
    ("_mp.Queue.qsize", queue_qsize),
    ("_mp.Queue.full", queue_full),
    ("_mp.Queue.close", queue_noop),
    ("_mp.Queue.join_thread", queue_noop),
    ("_mp.AsyncResult.get", async_get),
    ("_mp.AsyncResult.ready", async_ready),
    ("_mp.AsyncResult.wait", async_wait),
    ("_mp.AsyncResult.successful", async_successful),
    ("_mp.ProcessPoolExecutor.submit", executor_submit),
    ("_mp.ProcessPoolExecutor.map", executor_map),
    ("_mp.ProcessPoolExecutor.shutdown", executor_shutdown),
    ("_mp.ProcessPoolExecutor.__enter__", enter),
    ("_mp.ProcessPoolExecutor.__exit__", executor_exit),
    ("_mp.Future.result", future_result),
    ("_mp.Future.done", future_done),
    ("_mp.Future.exception", future_exception),
    ("_mp.Future.running", future_running),
    ("_mp.Future.cancel", future_cancel),
];

// ---------------------------------------------------------------------------------------
// After a wait: the values, under the GIL.

/// One task's result as the workers send it: `(index, ok, value or exception)`.
fn unpack_result(vm: &mut Vm<'_>, bytes: &[u8]) -> R<(usize, bool, Value)> {
    let t = pickle::loads(vm, bytes)?;
    let items = vm.tuple_items(t);
    match items.as_slice() {
        [Value::Int(i), Value::Bool(ok), v] => Ok((*i as usize, *ok, *v)),
        _ => Err(vm.exc("RuntimeError", "a pool worker sent a result ThreadLab cannot read")),
    }
}

/// The key that puts a pool's `(task index, ok, value)` results in their tasks' order. One
/// function for every such sort, so that the VM's wasm carries one copy of it.
fn task_index(r: &(usize, bool, Value)) -> usize {
    r.0
}

fn record(vm: &mut Vm<'_>, r: Value, ok: bool, v: Value) {
    set_attr(vm, r, "_done", Value::Bool(true));
    set_attr(vm, r, "_ok", Value::Bool(ok));
    set_attr(vm, r, "_value", v);
}

/// Turns what a wait got into the call's result (or the exception it raises).
///
/// # Errors
/// The exception the blocking call raises (a child's, `queue.Empty`, a timeout).
pub fn finish(vm: &mut Vm<'_>, wait: &Wait, got: Waited) -> R<Value> {
    let held = match wait.then {
        Then::ResultOf { .. }
        | Then::MapAsync
        | Then::Wait { .. }
        | Then::ProcessJoin
        | Then::AsCompleted
        | Then::Held => vm.t.stack.pop(),
        _ => None,
    }
    .unwrap_or(Value::None);
    if got.stopped || got.over_budget {
        let (kind, message) = outside_end(&*vm.i.host, vm.i.timeout_ms);
        return Err(vm.fatal(kind, message));
    }
    let (then, wait_only) = match wait.then {
        Then::Wait { map: true } => (Then::MapAsync, true),
        Then::Wait { map: false } => (Then::ResultOf { futures: false }, true),
        then => (then, false),
    };
    let r = finish_then(vm, then, held, &got);
    if wait_only {
        // The outcome (or a timeout) is kept for get(); wait() itself returns None.
        return match r {
            Ok(_) | Err(Flow::Exc(_)) => Ok(Value::None),
            Err(f) => Err(f),
        };
    }
    r
}

fn finish_then(vm: &mut Vm<'_>, then: Then, held: Value, got: &Waited) -> R<Value> {
    match then {
        Then::QueueGet => match got.messages.first() {
            Some((_, m)) => pickle::loads(vm, m),
            None => {
                let cls = module_class(vm, "Empty").unwrap_or(vm.i.types.base_exception);
                Err(Flow::Exc(new_exception(vm, cls, Vec::new())))
            }
        },
        // Made ResultOf or MapAsync by `finish`.
        Then::Wait { .. } => Ok(Value::None),
        Then::MapAsync => {
            for (_, m) in &got.messages {
                let (i, ok, v) = unpack_result(vm, m)?;
                let t = tuple(vm, vec![Value::Int(i as i64), Value::Bool(ok), v]);
                if let Value::Obj(l) = attr(vm, held, "_parts") {
                    if let Obj::List(items) = vm.i.heap.get_mut(l) {
                        items.push(t);
                    }
                }
            }
            let have = parts(vm, held);
            if have.len() < int_attr(vm, held, "_n").unwrap_or(0) as usize {
                let cls = module_class(vm, "TimeoutError").unwrap_or(vm.i.types.base_exception);
                return Err(Flow::Exc(new_exception(vm, cls, Vec::new())));
            }
            let mut results: Vec<(usize, bool, Value)> = have
                .into_iter()
                .map(|t| {
                    let f = vm.tuple_items(t);
                    (if let Value::Int(i) = f[0] { i as usize } else { 0 }, f[1] == Value::Bool(true), f[2])
                })
                .collect();
            results.sort_by_key(task_index);
            match results.iter().find(|r| !r.1) {
                Some((_, _, e)) => record(vm, held, false, *e),
                None => {
                    let l = vm.i.heap.alloc(Obj::List(results.into_iter().map(|r| r.2).collect()));
                    record(vm, held, true, l);
                }
            }
            deliver(vm, held)
        }
        Then::MapResults { iter, ordered } => {
            let mut results: Vec<(usize, bool, Value)> = Vec::with_capacity(got.messages.len());
            for (_, m) in &got.messages {
                results.push(unpack_result(vm, m)?);
            }
            if ordered {
                results.sort_by_key(task_index);
            }
            if let Some((_, _, e)) = results.iter().find(|r| !r.1) {
                return Err(Flow::Exc(*e));
            }
            let values = results.into_iter().map(|r| r.2).collect();
            let l = vm.i.heap.alloc(Obj::List(values));
            if iter {
                vm.get_iter(l)
            } else {
                Ok(l)
            }
        }
        Then::ResultOf { futures } => match got.messages.first() {
            Some((_, m)) => {
                let (_, ok, v) = unpack_result(vm, m)?;
                record(vm, held, ok, v);
                deliver(vm, held)
            }
            None if futures && got.broken => {
                let cls = module_class(vm, "BrokenProcessPool").unwrap_or(vm.i.types.base_exception);
                let msg = vm.new_str(
                    "A process in the process pool was terminated abruptly while the future was running or pending."
                        .into(),
                );
                let e = new_exception(vm, cls, vec![msg]);
                record(vm, held, false, e);
                Err(Flow::Exc(e))
            }
            None if futures => Err(vm.exc("TimeoutError", "")),
            None => {
                let cls = module_class(vm, "TimeoutError").unwrap_or(vm.i.types.base_exception);
                Err(Flow::Exc(new_exception(vm, cls, Vec::new())))
            }
        },
        Then::ProcessJoin => {
            if let Some(Some(code)) = got.exits.first() {
                set_attr(vm, held, "exitcode", Value::Int(i64::from(*code)));
            }
            Ok(Value::None)
        }
        Then::AsCompleted => {
            let futures = vm.tuple_items(held);
            let pending: Vec<Value> =
                futures.iter().copied().filter(|f| attr(vm, *f, "_done") != Value::Bool(true)).collect();
            let mut order: Vec<Value> =
                futures.iter().copied().filter(|f| attr(vm, *f, "_done") == Value::Bool(true)).collect();
            for (i, m) in &got.messages {
                let f = pending[*i];
                let (_, ok, v) = unpack_result(vm, m)?;
                record(vm, f, ok, v);
                order.push(f);
            }
            let complete = order.len() == futures.len();
            let list = vm.i.heap.alloc(Obj::List(order));
            if !complete {
                let n = futures.len() - vm.tuple_items(list).len();
                return Err(vm.exc("TimeoutError", &format!("{n} (of {}) futures unfinished", futures.len())));
            }
            vm.get_iter(list)
        }
        Then::Nothing => Ok(Value::None),
        Then::Ready => Ok(Value::Bool(got.ready)),
        Then::Task => child::task_of(vm, got.messages.first().map(|(_, m)| m.as_slice())),
        Then::Held => {
            let started = got.messages.len();
            let failed = got.messages.iter().filter(|(_, m)| m.first() != Some(&1)).count();
            if failed > 0 || started == 0 {
                // CPython's pool would start new workers forever, each failing the same way.
                let _ = pool_terminate(vm, &[held], &[]);
                return Err(vm.exc(
                    "RuntimeError",
                    "a worker of the pool failed while running the program's top level (its traceback is above): the pool cannot run tasks",
                ));
            }
            Ok(held)
        }
    }
}

/// `program_block` for this module's waits, for a wait inside a builtin's call back into
/// Python (`sorted(key=…)`): waits in place and gives the value to push; an exception is
/// left for the loop to raise where the call was (`ThreadState::pending`). Every other wait
/// is the threads' driver's, GIL released (`threads::vmrun`).
pub fn perform(vm: &mut Vm<'_>, wait: &Wait) -> Value {
    let host = vm.i.host.clone();
    let got = wait.wait(&*host);
    match finish(vm, wait, got) {
        Ok(v) => v,
        Err(f) => {
            vm.t.pending = Some(f);
            Value::None
        }
    }
}

/// The end of a process's main thread: CPython's `multiprocessing` atexit hook terminates
/// the daemonic children (pool workers) and joins the others.
pub fn join_children(interp: &Interp) {
    let Some(p) = interp.host.processes() else { return };
    for pid in &interp.mp.daemons {
        p.terminate_process(*pid);
    }
    for pid in &interp.mp.started {
        p.wait_process(*pid, None);
    }
}

/// The main program's end: waits for its children, then adds their output (in the order it
/// was written: one clock for all) and their lanes to `result`.
pub fn finish_program(interp: &Interp, result: &mut ProgramResult) {
    if interp.mp.started.is_empty() {
        return;
    }
    join_children(interp);
    let Some(p) = interp.host.processes() else { return };
    let mut reports = p.take_reports();
    reports.sort_by_key(|r| r.pid);
    let mut output = std::mem::take(&mut result.output);
    for r in reports {
        output.extend(r.output);
        result.lanes.extend(r.lanes);
        result.gil_switches += r.gil_switches;
    }
    output.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    result.stdout = output.iter().map(|c| c.text.as_str()).collect();
    result.output = output;
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
