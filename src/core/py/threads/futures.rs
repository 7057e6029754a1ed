//! `concurrent.futures.ThreadPoolExecutor` on the VM: worker threads (named as CPython's,
//! `ThreadPoolExecutor-N_k`) that take `(future, fn, args, kwargs)` items from a queue and
//! run them, and futures whose `result()` waits with the GIL released.
//!
//! `map` and `as_completed` wait for all their futures before they return (an iterator over
//! the results in order, or over the futures in the order they completed): what they yield
//! is CPython's, only the moment the first item is ready differs.
#![allow(
    clippy::missing_errors_doc,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::result_large_err
)]

use super::sync::{self, Queue, Stopped, Waiter};
use super::threading::{Shared, Wait};
use super::PyThread;
use crate::core::py::vm::builtins::Kw;
use crate::core::py::vm::heap::{Obj, Value};
use crate::core::py::vm::vm::{Flow, Vm, R};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

#[derive(Debug, Default)]
struct FutState {
    done: bool,
    value: Option<Value>,
    exc: Option<Value>,
    seq: u64,
}

/// A future's outcome, set once by the worker that ran its task (under the GIL).
#[derive(Debug, Default)]
pub struct FutureCell {
    st: Mutex<FutState>,
    cv: Condvar,
}

impl FutureCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, FutState> {
        self.st.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set(&self, value: Option<Value>, exc: Option<Value>, seq: u64) {
        let mut s = self.lock();
        *s = FutState { done: true, value, exc, seq };
        drop(s);
        self.cv.notify_all();
    }

    #[must_use]
    pub fn done(&self) -> bool {
        self.lock().done
    }

    /// (value, exception, completion order).
    #[must_use]
    pub fn outcome(&self) -> (Option<Value>, Option<Value>, u64) {
        let s = self.lock();
        (s.value, s.exc, s.seq)
    }

    /// Waits, GIL released, until done (true) or the deadline (false).
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn wait(&self, w: &dyn Waiter, deadline: Option<f64>) -> Result<bool, Stopped> {
        sync::wait_while(w, &self.cv, self.lock(), deadline, |s| !s.done).map(|(_, done)| done)
    }

    pub fn trace(&self, mut f: impl FnMut(&Value)) {
        let s = self.lock();
        s.value.iter().chain(s.exc.iter()).for_each(&mut f);
    }
}

/// A `ThreadPoolExecutor`: its work queue (`(future, fn, args, kwargs)` tuples, `None` to
/// stop a worker) and its workers.
#[derive(Debug)]
pub struct Executor {
    pub work: Arc<Queue<Value>>,
    pub max: usize,
    pub prefix: String,
    pub workers: Mutex<Vec<Arc<PyThread>>>,
    /// CPython's `_idle_semaphore`: released by a worker after each item, taken by a submit.
    pub idle: AtomicUsize,
    pub shut: AtomicBool,
    /// Completion order of its futures (for `as_completed`).
    pub seq: AtomicU64,
}

impl Executor {
    fn workers(&self) -> Vec<Arc<PyThread>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

fn arg(args: &[Value], kw: &Kw, pos: usize, name: &str) -> Option<Value> {
    args.get(pos).copied().or_else(|| kw.iter().find(|(k, _)| k == name).map(|(_, v)| *v))
}

fn executor_of(vm: &mut Vm<'_>, v: Option<Value>) -> R<Arc<Executor>> {
    if let Some(Value::Obj(r)) = v {
        if let Obj::Sync(Shared::Executor(e)) = vm.i.heap.get(r) {
            return Ok(e.clone());
        }
    }
    Err(vm.exc("TypeError", "descriptor needs a 'ThreadPoolExecutor' object"))
}

#[must_use]
pub fn cell_of(vm: &Vm<'_>, v: Value) -> Option<Arc<FutureCell>> {
    if let Value::Obj(r) = v {
        if let Obj::Sync(Shared::Future(c)) = vm.i.heap.get(r) {
            return Some(c.clone());
        }
    }
    None
}

fn future_arg(vm: &mut Vm<'_>, args: &[Value]) -> R<Arc<FutureCell>> {
    match args.first().and_then(|v| cell_of(vm, *v)) {
        Some(c) => Ok(c),
        None => Err(vm.exc("TypeError", "descriptor needs a 'Future' object")),
    }
}

/// `ThreadPoolExecutor(max_workers=None, thread_name_prefix='')`
pub fn executor_new(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let max = match arg(args, kw, 0, "max_workers") {
        None | Some(Value::None) => 6, // CPython: min(32, os.cpu_count() + 4); 2 cores here
        Some(Value::Int(n)) if n > 0 => n as usize,
        Some(Value::Int(_)) => return Err(vm.exc("ValueError", "max_workers must be greater than 0")),
        Some(v) => {
            let t = vm.type_name(v);
            return Err(vm.exc("TypeError", &format!("'{t}' object cannot be interpreted as an integer")));
        }
    };
    let prefix = match arg(args, kw, 1, "thread_name_prefix") {
        Some(v) if v != Value::None => vm.str_of(v)?,
        _ => String::new(),
    };
    // CPython numbers its executors (`ThreadPoolExecutor-0`, `-1`, …) when no prefix is given.
    let prefix = if prefix.is_empty() {
        let n = vm.i.executors;
        vm.i.executors += 1;
        format!("ThreadPoolExecutor-{n}")
    } else {
        prefix
    };
    let e = Executor {
        work: Arc::new(Queue::new(0)),
        max: max.min(crate::core::program::MAX_THREADS_PER_PROCESS - 1),
        prefix,
        workers: Mutex::new(Vec::new()),
        idle: AtomicUsize::new(0),
        shut: AtomicBool::new(false),
        seq: AtomicU64::new(0),
    };
    Ok(vm.i.heap.alloc(Obj::Sync(Shared::Executor(Arc::new(e)))))
}

/// Queues one task; its future.
fn queue_task(vm: &mut Vm<'_>, exec: &Executor, f: Value, args: Vec<Value>, kw: &Kw) -> R<Value> {
    if exec.shut.load(Ordering::Relaxed) {
        return Err(vm.exc("RuntimeError", "cannot schedule new futures after shutdown"));
    }
    let fut = vm.i.heap.alloc(Obj::Sync(Shared::Future(Arc::new(FutureCell::default()))));
    let targs = vm.i.heap.alloc(Obj::Tuple(args));
    let kwargs = if kw.is_empty() {
        Value::None
    } else {
        let mut d = crate::core::py::vm::heap::Dict::default();
        for (k, v) in kw {
            let key = vm.new_str(k.clone());
            d.insert(crate::core::py::vm::heap::HKey::Str(k.clone()), key, *v);
        }
        vm.i.heap.alloc(Obj::Dict(d))
    };
    let item = vm.i.heap.alloc(Obj::Tuple(vec![fut, f, targs, kwargs]));
    let _ = exec.work.try_put(item);
    Ok(fut)
}

/// The workers to start for `tasks` new tasks (CPython's `_adjust_thread_count`: a new
/// worker unless one is idle, up to `max_workers`).
fn new_workers(vm: &mut Vm<'_>, exec: &Arc<Executor>, tasks: usize) -> R<Vec<Arc<PyThread>>> {
    let Some(proc) = vm.i.process.upgrade() else {
        return Err(vm.exc("RuntimeError", "threads need the threaded driver (run_program)"));
    };
    let mut workers = exec.workers.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = Vec::new();
    for _ in 0..tasks {
        // `_idle_semaphore.acquire(timeout=0)`: one idle count per submit.
        if exec.idle.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
            continue;
        }
        if workers.len() >= exec.max {
            continue;
        }
        let name = format!("{}_{}", exec.prefix, workers.len());
        // Daemon threads: CPython's are not, but its exit hook stops them; here the process's
        // end does (a task still queued then is dropped, where CPython would run it).
        let t = proc.new_thread(Some(&name), None, true);
        workers.push(t.clone());
        out.push(t);
    }
    Ok(out)
}

/// `submit(fn, /, *args, **kwargs)`
pub fn submit(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let exec = executor_of(vm, args.first().copied())?;
    let Some(f) = args.get(1).copied() else {
        return Err(vm.exc("TypeError", "submit expected at least 1 argument, got 0"));
    };
    let fut = queue_task(vm, &exec, f, args[2..].to_vec(), kw)?;
    let start = new_workers(vm, &exec, 1)?;
    if start.is_empty() {
        return Ok(fut);
    }
    Err(Flow::Block(crate::core::py::vm::vm::BlockOp::Wait(Wait::StartWorkers {
        threads: start,
        exec,
        then: Then::Return(fut),
    })))
}

/// `map(fn, *iterables, timeout=None)`: every task queued, then their results in order.
pub fn map(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let exec = executor_of(vm, args.first().copied())?;
    let Some(f) = args.get(1).copied() else {
        return Err(vm.exc("TypeError", "map() missing 1 required positional argument: 'fn'"));
    };
    let timeout = match kw.iter().find(|(k, _)| k == "timeout") {
        Some((_, Value::Int(n))) => Some(*n as f64),
        Some((_, Value::Float(x))) => Some(*x),
        _ => None,
    };
    let mut columns = Vec::new();
    for it in &args[2..] {
        columns.push(vm.iterate(*it)?);
    }
    let n = columns.iter().map(Vec::len).min().unwrap_or(0);
    let mut futs = Vec::new();
    for i in 0..n {
        let row: Vec<Value> = columns.iter().map(|c| c[i]).collect();
        futs.push(queue_task(vm, &exec, f, row, &[])?);
    }
    let list = vm.i.heap.alloc(Obj::List(futs));
    let deadline = sync::deadline(vm.i.host.now_ms(), timeout);
    let start = new_workers(vm, &exec, n)?;
    let then = Then::Results { list, deadline };
    if start.is_empty() {
        return Err(wait_all(vm, list, deadline, then));
    }
    Err(Flow::Block(crate::core::py::vm::vm::BlockOp::Wait(Wait::StartWorkers { threads: start, exec, then })))
}

/// What a wait on futures gives back, under the GIL.
#[derive(Clone, Copy, Debug)]
pub enum Then {
    /// This value (the future `submit` made).
    Return(Value),
    /// `map`: wait for the futures of `list`, then an iterator over their results.
    Results { list: Value, deadline: Option<f64> },
    /// `as_completed`: wait for the futures of `list`, then an iterator over them in the
    /// order they completed.
    Completed { list: Value, deadline: Option<f64> },
    /// `Future.result`: its value, or its exception raised.
    Result(Value),
    /// `Future.exception`: its exception, or None.
    Exception(Value),
    /// `shutdown(wait=True)`.
    Nothing,
    /// `concurrent.futures.wait(list, timeout, return_when)`: `(done, not_done)` sets.
    Waited { list: Value, when: When },
}

/// `wait`'s `return_when`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    AllCompleted,
    FirstCompleted,
    FirstException,
}

#[must_use]
pub fn cells(vm: &Vm<'_>, list: Value) -> Vec<Arc<FutureCell>> {
    match list {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::List(v) | Obj::Tuple(v) => v.iter().filter_map(|f| cell_of(vm, *f)).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Blocks on every future of `list` (GIL released), then `then`.
fn wait_all(vm: &mut Vm<'_>, list: Value, deadline: Option<f64>, then: Then) -> Flow {
    let cells = cells(vm, list);
    Flow::Block(crate::core::py::vm::vm::BlockOp::Wait(Wait::Futures { cells, deadline, then }))
}

/// The value of `then` once its futures are done (`all_done`: whether they all are).
pub fn finish(vm: &mut Vm<'_>, then: Then, all_done: bool) -> R<Value> {
    match then {
        Then::Return(v) => Ok(v),
        Then::Nothing => Ok(Value::None),
        Then::Results { list, .. } => {
            if !all_done {
                return Err(vm.exc("TimeoutError", ""));
            }
            let mut out = Vec::new();
            for c in cells(vm, list) {
                match c.outcome() {
                    (_, Some(e), _) => return Err(Flow::Exc(e)),
                    (v, None, _) => out.push(v.unwrap_or(Value::None)),
                }
            }
            let l = vm.i.heap.alloc(Obj::List(out));
            vm.call_sync(vm.i.builtins.get("iter").copied().unwrap_or(Value::None), &[l], &[])
        }
        Then::Completed { list, .. } => {
            if !all_done {
                let n = cells(vm, list).iter().filter(|c| !c.done()).count();
                return Err(vm.exc("TimeoutError", &format!("{n} (of {}) futures unfinished", cells(vm, list).len())));
            }
            let mut futs: Vec<(u64, Value)> = match list {
                Value::Obj(r) => match vm.i.heap.get(r) {
                    Obj::List(v) => v.iter().map(|f| (cell_of(vm, *f).map_or(0, |c| c.outcome().2), *f)).collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            futs.sort_by_key(completion_order);
            let l = vm.i.heap.alloc(Obj::List(futs.into_iter().map(|(_, f)| f).collect()));
            vm.call_sync(vm.i.builtins.get("iter").copied().unwrap_or(Value::None), &[l], &[])
        }
        Then::Waited { list, .. } => {
            let futs = vm.tuple_items(list);
            let (mut done, mut not_done) = (Vec::new(), Vec::new());
            for f in futs {
                if cell_of(vm, f).is_some_and(|c| c.done()) {
                    done.push(f);
                } else {
                    not_done.push(f);
                }
            }
            let done = vm.new_set(&done)?;
            let not_done = vm.new_set(&not_done)?;
            Ok(vm.i.heap.alloc(Obj::Tuple(vec![done, not_done])))
        }
        Then::Result(fut) | Then::Exception(fut) => {
            let Some(c) = cell_of(vm, fut) else { return Ok(Value::None) };
            if !all_done {
                return Err(vm.exc("TimeoutError", ""));
            }
            let (v, e, _) = c.outcome();
            match (then, e) {
                (Then::Exception(_), e) => Ok(e.unwrap_or(Value::None)),
                (_, Some(e)) => Err(Flow::Exc(e)),
                (_, None) => Ok(v.unwrap_or(Value::None)),
            }
        }
    }
}

fn timeout_arg(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Option<f64>> {
    match arg(args, kw, 1, "timeout") {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(n)) => Ok(Some(n as f64)),
        Some(Value::Float(x)) => Ok(Some(x)),
        Some(v) => {
            let t = vm.type_name(v);
            Err(vm.exc("TypeError", &format!("timeout must be a number, not '{t}'")))
        }
    }
}

/// `Future.result(timeout=None)`
pub fn future_result(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let c = future_arg(vm, args)?;
    let t = timeout_arg(vm, args, kw)?;
    if c.done() {
        return finish(vm, Then::Result(args[0]), true);
    }
    let deadline = sync::deadline(vm.i.host.now_ms(), t);
    Err(Flow::Block(crate::core::py::vm::vm::BlockOp::Wait(Wait::Futures {
        cells: vec![c],
        deadline,
        then: Then::Result(args[0]),
    })))
}

/// `Future.exception(timeout=None)`
pub fn future_exception(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let c = future_arg(vm, args)?;
    let t = timeout_arg(vm, args, kw)?;
    if c.done() {
        return finish(vm, Then::Exception(args[0]), true);
    }
    let deadline = sync::deadline(vm.i.host.now_ms(), t);
    Err(Flow::Block(crate::core::py::vm::vm::BlockOp::Wait(Wait::Futures {
        cells: vec![c],
        deadline,
        then: Then::Exception(args[0]),
    })))
}

pub fn future_done(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(future_arg(vm, args)?.done()))
}

pub fn future_running(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let _ = future_arg(vm, args)?;
    Ok(Value::Bool(false))
}

/// `Future.cancel()`: ThreadLab's tasks are taken at once; like CPython's for a running one.
pub fn future_cancel(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let _ = future_arg(vm, args)?;
    Ok(Value::Bool(false))
}

/// `as_completed(fs, timeout=None)` over thread futures.
pub fn as_completed(vm: &mut Vm<'_>, fs: Value, timeout: Option<f64>) -> R<Value> {
    let futs = vm.iterate(fs)?;
    let list = vm.i.heap.alloc(Obj::List(futs));
    let deadline = sync::deadline(vm.i.host.now_ms(), timeout);
    let then = Then::Completed { list, deadline };
    Err(wait_all(vm, list, deadline, then))
}

/// Whether `v` is one of this module's futures (mp's `as_completed` hands them here).
#[must_use]
pub fn is_future(vm: &Vm<'_>, v: Value) -> bool {
    cell_of(vm, v).is_some()
}

/// `shutdown(wait=True)` (and `__exit__`).
pub fn shutdown(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let exec = executor_of(vm, args.first().copied())?;
    let wait = match arg(args, kw, 1, "wait") {
        None => true,
        Some(v) => vm.truthy(v)?,
    };
    if !exec.shut.swap(true, Ordering::Relaxed) {
        for _ in exec.workers() {
            let _ = exec.work.try_put(Value::None);
        }
    }
    if !wait {
        return Ok(Value::None);
    }
    let threads = exec.workers();
    Err(Flow::Block(crate::core::py::vm::vm::BlockOp::Wait(Wait::JoinAll { threads })))
}

pub fn executor_enter(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let _ = executor_of(vm, args.first().copied())?;
    Ok(args[0])
}

pub fn executor_exit(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    shutdown(vm, &args[..1.min(args.len())], &[])
}

/// The waits of this module, GIL released: every future done, or the deadline.
///
/// # Errors
/// [`Stopped`] when the program is being stopped.
pub fn wait_futures(
    w: &dyn Waiter,
    cells: &[Arc<FutureCell>],
    deadline: Option<f64>,
    when: When,
) -> Result<bool, Stopped> {
    if when == When::AllCompleted {
        for c in cells {
            if !c.wait(w, deadline)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    // Any of several: each future has its own condition variable, so poll them, waiting
    // on one undone future a millisecond at a time.
    loop {
        let failed = cells.iter().any(|c| c.done() && c.outcome().1.is_some());
        let all = cells.iter().all(|c| c.done());
        let any = cells.iter().any(|c| c.done());
        if all || failed || (when == When::FirstCompleted && any) {
            return Ok(true);
        }
        let now = w.now_ms();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(false);
        }
        let step = deadline.map_or(now + 1.0, |d| d.min(now + 1.0));
        if let Some(c) = cells.iter().find(|c| !c.done()) {
            c.wait(w, Some(step))?;
        }
    }
}

/// `concurrent.futures.wait(fs, timeout=None, return_when=ALL_COMPLETED)` over thread
/// futures: `(done, not_done)`.
pub fn wait(vm: &mut Vm<'_>, args: &[Value], kw: &Kw) -> R<Value> {
    let Some(fs) = arg(args, kw, 0, "fs") else {
        return Err(vm.exc("TypeError", "wait() missing 1 required positional argument: 'fs'"));
    };
    let futs = vm.iterate(fs)?;
    if let Some(f) = futs.iter().find(|f| !is_future(vm, **f)) {
        let t = vm.type_name(*f);
        return Err(vm.exc(
            "TypeError",
            &format!("ThreadLab's concurrent.futures.wait takes ThreadPoolExecutor futures, not '{t}'"),
        ));
    }
    let timeout = timeout_arg(vm, args, kw)?;
    let when = match arg(args, kw, 2, "return_when") {
        None => When::AllCompleted,
        Some(v) => match vm.as_str(v) {
            Some("ALL_COMPLETED") => When::AllCompleted,
            Some("FIRST_COMPLETED") => When::FirstCompleted,
            Some("FIRST_EXCEPTION") => When::FirstException,
            _ => {
                let r = vm.repr(v)?;
                return Err(vm.exc("ValueError", &format!("Invalid return condition: {r}")));
            }
        },
    };
    let list = vm.i.heap.alloc(Obj::Tuple(futs));
    let deadline = sync::deadline(vm.i.host.now_ms(), timeout);
    Err(wait_all(vm, list, deadline, Then::Waited { list, when }))
}

/// `__tl_done_in_order(futures)` (as_completed's step): `(done in the order they
/// completed, the others)`.
pub fn done_in_order(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    let futs = vm.iterate(args.first().copied().unwrap_or(Value::None))?;
    let mut done: Vec<(u64, Value)> = Vec::new();
    let mut pending = Vec::new();
    for f in futs {
        match cell_of(vm, f) {
            Some(c) if c.done() => done.push((c.outcome().2, f)),
            _ => pending.push(f),
        }
    }
    done.sort_by_key(completion_order);
    let done = vm.i.heap.alloc(Obj::List(done.into_iter().map(|(_, f)| f).collect()));
    let pending = vm.i.heap.alloc(Obj::List(pending));
    Ok(vm.i.heap.alloc(Obj::Tuple(vec![done, pending])))
}

/// `__tl_is_thread_future(f)`.
pub fn is_thread_future(vm: &mut Vm<'_>, args: &[Value], _kw: &Kw) -> R<Value> {
    Ok(Value::Bool(args.first().is_some_and(|f| is_future(vm, *f))))
}

impl Then {
    /// The value the waiting thread keeps on its stack meanwhile (for the collector).
    #[must_use]
    pub fn kept(self) -> Option<Value> {
        match self {
            Then::Return(v) | Then::Result(v) | Then::Exception(v) => Some(v),
            Then::Results { list, .. } | Then::Completed { list, .. } | Then::Waited { list, .. } => Some(list),
            Then::Nothing => None,
        }
    }
}

/// The key that puts `(seq, future)` pairs in the order the futures finished. One function for
/// both sorts, so that the VM's wasm carries one copy of the sort, not one per closure.
fn completion_order(pair: &(u64, Value)) -> u64 {
    pair.0
}
