//! The VM under the threads' driver: [`PyRun`], one thread's VM state as a
//! [`Runnable`], and [`run_program`], a program whose main thread and `threading`
//! threads all run on the real GIL.

use super::futures::{self, Executor};
use super::threading::{self, Wait};
use super::{drive, BlockOp, Ended, Exit, Process, Resumed, Runnable};
use crate::core::program::{
    outside_end, Host, LaneKind, LaneState, Live, ProgramError, ProgramOptions, ProgramResult, Stream,
};
use crate::core::py::vm::free::{self, Free, RangeCache};
use crate::core::py::vm::heap::{Obj, Value};
use crate::core::py::vm::mp;
use crate::core::py::vm::vm::{self as vm, BlockOp as VmBlock, Exit as VmExit, Interp, ThreadState, Vm};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

/// What the last blocking call of a thread still has to do once the GIL is back.
enum Pending {
    /// An item came: take it, or wait again if another thread was first.
    QueueGet { queue: Arc<super::Queue<Value>>, deadline: Option<f64> },
    /// Room came: put the item (on top of the thread's stack meanwhile), or wait again.
    QueuePut { queue: Arc<super::Queue<Value>>, deadline: Option<f64> },
    /// A pool's workers started; then this (its value on the stack meanwhile).
    Started(futures::Then),
    /// Futures done (or not, past the deadline); then this.
    Futures(futures::Then),
}

/// A `multiprocessing` wait in flight: what it waits for, and where the host thread that
/// waited (GIL released) leaves what it got, for `mp::finish` under the GIL.
type MpWait = (mp::Wait, Arc<Mutex<Option<mp::Waited>>>);

/// How the main thread ended, for the program's result.
#[derive(Debug, Default)]
struct MainEnd {
    exit_code: i32,
    error: Option<ProgramError>,
    /// `os._exit` ended the process (from any of its threads): `exit_code` is its status,
    /// and the threads it cut short are no error.
    hard_exit: bool,
}

/// One Python thread's VM state, driven by [`drive`].
pub struct PyRun {
    ts: ThreadState,
    lane: u32,
    /// The target's call laid out on the stack (`[target, NULL, args…, kwargs…]`), made
    /// by the thread itself on its first run, so that it runs in that thread.
    call: Option<(usize, Vec<String>)>,
    pending: Option<Pending>,
    mp: Option<MpWait>,
    main: bool,
    /// A `Thread` subclass's own `run` is the thread's code (for its traceback's frames).
    run_overridden: bool,
    /// A `ThreadPoolExecutor`'s worker: runs its tasks one after another.
    worker: Option<Arc<Executor>>,
    /// The worker is running a task (its item at the bottom of the stack).
    task: bool,
    /// The error that ended the process (Stop, a budget), shared by its threads.
    fatal: Arc<Mutex<Option<ProgramError>>>,
    end: Arc<Mutex<MainEnd>>,
    switch_interval_ms: f64,
    /// Free-threaded: what a stretch without the lock needs (`Runnable::go_local`).
    local: Option<Local>,
}

/// A stretch run without the lock: the frame's code, the `range` iterator it runs, the
/// process's free-threading state and its drop request (Stop, the process's end).
struct Local {
    code: Arc<crate::core::py::vm::code::Code>,
    cache: Option<RangeCache>,
    free: Arc<Free>,
    halt: Arc<std::sync::atomic::AtomicBool>,
    /// The stretch ended for the eval breaker's checks.
    breaker: bool,
}

/// The state of a thread that will call `target(*args, **kwargs)`: the call is laid out
/// on its stack, and made by the thread itself (its first `run`).
///
/// # Errors
/// `TypeError` when `args` is not a tuple or a list, or `kwargs` not a dict of str keys.
pub fn state_for_call(
    vm: &mut Vm<'_>,
    lane: u32,
    target: Value,
    args: Value,
    kwargs: Value,
) -> Result<(ThreadState, usize, Vec<String>), vm::Flow> {
    if target == Value::None {
        let ts = ThreadState { lane, stack: vec![Value::None], ..ThreadState::default() };
        return Ok((ts, 0, Vec::new()));
    }
    let positional = match args {
        Value::Obj(r) => match vm.i.heap.get(r) {
            Obj::Tuple(v) | Obj::List(v) => v.clone(),
            _ => return Err(vm.exc("TypeError", "Thread(args=…) must be a tuple or a list (ThreadLab)")),
        },
        _ => return Err(vm.exc("TypeError", "Thread(args=…) must be a tuple or a list (ThreadLab)")),
    };
    let mut names = Vec::new();
    let mut values = Vec::new();
    if let Value::Obj(r) = kwargs {
        let pairs: Vec<(Value, Value)> = match vm.i.heap.get(r) {
            Obj::Dict(d) => d.iter().collect(),
            _ => return Err(vm.exc("TypeError", "Thread(kwargs=…) must be a dict")),
        };
        for (k, v) in pairs {
            let Some(name) = vm.as_str(k).map(str::to_owned) else {
                return Err(vm.exc("TypeError", "keywords must be strings"));
            };
            names.push(name);
            values.push(v);
        }
    }
    let mut ts = ThreadState::for_thread(lane);
    ts.stack.push(target);
    ts.stack.push(Value::Null);
    let n = positional.len() + values.len();
    ts.stack.extend(positional);
    ts.stack.extend(values);
    Ok((ts, n, names))
}

/// The wait for futures, GIL released.
fn futures_wait(cells: Vec<Arc<futures::FutureCell>>, deadline: Option<f64>, then: futures::Then) -> BlockOp<PyRun> {
    let when = match then {
        futures::Then::Waited { when, .. } => when,
        _ => futures::When::AllCompleted,
    };
    BlockOp::Custom {
        state: LaneState::Blocked,
        wait: Box::new(move |p| futures::wait_futures(p, &cells, deadline, when).map(Resumed::Bool)),
    }
}

impl PyRun {
    fn worker_child(&self, lane: u32, exec: Arc<Executor>) -> PyRun {
        let mut w = self.child(ThreadState::for_thread(lane), 0, Vec::new());
        w.call = None;
        w.worker = Some(exec);
        w
    }

    /// A pool worker: takes `(future, fn, args, kwargs)` items and runs them, the future
    /// getting the result or the exception, until a `None` item.
    fn run_worker(&mut self, interp: &mut Interp, exec: &Arc<Executor>, mut resumed: Option<Resumed>) -> Exit<PyRun> {
        loop {
            if !self.task {
                resumed = None;
                match exec.work.try_get() {
                    None => {
                        return Exit::Block(BlockOp::QueueGet { queue: exec.work.clone(), deadline: None });
                    }
                    Some(Value::None) => return Exit::Done,
                    Some(item) => {
                        let parts = match item {
                            Value::Obj(r) => match interp.heap.get(r) {
                                Obj::Tuple(v) if v.len() == 4 => Some((v[1], v[2], v[3])),
                                _ => None,
                            },
                            _ => None,
                        };
                        let Some((f, targs, kwargs)) = parts else { continue };
                        let mut vm = Vm { i: interp, t: &mut self.ts };
                        match state_for_call(&mut vm, self.lane, f, targs, kwargs) {
                            Ok((mut ts, n, names)) => {
                                ts.stack.insert(0, item);
                                self.ts = ts;
                                self.call = Some((n, names));
                                self.task = true;
                            }
                            Err(_) => continue,
                        }
                    }
                }
            }
            let exit = if let Some((n, names)) = self.call.take() {
                let mut vm = Vm { i: interp, t: &mut self.ts };
                match vm.call_at(1, n, &names) {
                    Ok(None) => vm::run(interp, &mut self.ts),
                    Ok(Some(v)) => VmExit::Done(v),
                    Err(vm::Flow::Exc(e)) => VmExit::Exception(e),
                    Err(vm::Flow::Fatal(p)) => VmExit::Fatal(p),
                    Err(vm::Flow::Block(op)) => VmExit::Block(op),
                    Err(vm::Flow::Breaker) => VmExit::Breaker,
                }
            } else {
                match self.go_on(interp, resumed.take()) {
                    Ok(exit) => exit,
                    Err(exit) => return exit,
                }
            };
            let (value, exc) = match exit {
                VmExit::Done(v) => (Some(v), None),
                VmExit::Exception(e) => (None, Some(e)),
                other => return self.exit(interp, other),
            };
            // The task's future gets its outcome (in CPython, `_WorkItem.run`).
            let fut = match self.ts.stack.first() {
                Some(Value::Obj(r)) => match interp.heap.get(*r) {
                    Obj::Tuple(v) => v.first().copied(),
                    _ => None,
                },
                _ => None,
            };
            if let Some(c) = fut.and_then(|f| futures::cell_of(&Vm { i: interp, t: &mut self.ts }, f)) {
                c.set(value, exc, exec.seq.fetch_add(1, Ordering::Relaxed));
            }
            // CPython's worker releases `_idle_semaphore` after each item it ran (not when it
            // starts waiting): a `submit` right after takes that and starts no new worker.
            exec.idle.fetch_add(1, Ordering::Relaxed);
            self.ts = ThreadState::for_thread(self.lane);
            self.task = false;
            if interp.drop_request.load(Ordering::Relaxed) {
                // The worker's loop is Python in CPython: a backward jump, a breaker site.
                return Exit::Breaker;
            }
        }
    }

    fn child(&self, ts: ThreadState, nargs: usize, kwnames: Vec<String>) -> PyRun {
        PyRun {
            lane: ts.lane,
            ts,
            call: Some((nargs, kwnames)),
            pending: None,
            mp: None,
            main: false,
            run_overridden: false,
            worker: None,
            task: false,
            fatal: self.fatal.clone(),
            end: self.end.clone(),
            switch_interval_ms: self.switch_interval_ms,
            local: None,
        }
    }

    /// The driver's answer, under the GIL: pushed as the call's result, or raised.
    fn resume(&mut self, interp: &mut Interp, r: Resumed) -> Result<(), Either> {
        if let Some((wait, slot)) = self.mp.take() {
            let got = slot.lock().unwrap_or_else(PoisonError::into_inner).take().unwrap_or_default();
            let mut vm = Vm { i: interp, t: &mut self.ts };
            match mp::finish(&mut vm, &wait, got) {
                Ok(v) => vm.t.resume_with(v),
                // Raised where the call was, when the loop goes on (as `mp::perform` does).
                Err(flow) => {
                    vm.t.resume_with(Value::None);
                    vm.t.pending = Some(flow);
                }
            }
            return Ok(());
        }
        match (self.pending.take(), r) {
            (_, Resumed::Raise(e)) => Err(Either::Raise(e.kind, e.message)),
            (Some(Pending::QueueGet { queue, deadline }), Resumed::Bool(true)) => match queue.try_get() {
                Some(v) => {
                    self.ts.resume_with(v);
                    Ok(())
                }
                None => {
                    self.pending = Some(Pending::QueueGet { queue: queue.clone(), deadline });
                    Err(Either::Block(Box::new(BlockOp::QueueGet { queue, deadline })))
                }
            },
            (Some(Pending::QueueGet { .. }), _) => Err(Either::Raise("Empty", String::new())),
            (Some(Pending::QueuePut { queue, deadline }), Resumed::Bool(true)) => {
                let item = self.ts.stack.pop().unwrap_or(Value::None);
                match queue.try_put(item) {
                    Ok(()) => {
                        self.ts.resume_with(Value::None);
                        Ok(())
                    }
                    Err(item) => {
                        self.ts.stack.push(item);
                        self.pending = Some(Pending::QueuePut { queue: queue.clone(), deadline });
                        Err(Either::Block(Box::new(BlockOp::QueuePut { queue, deadline })))
                    }
                }
            }
            (Some(Pending::QueuePut { .. }), _) => {
                self.ts.stack.pop();
                Err(Either::Raise("Full", String::new()))
            }
            (Some(Pending::Started(then)), _) => match then {
                futures::Then::Results { list, deadline } | futures::Then::Completed { list, deadline } => {
                    // The workers run; now wait for the futures (the list still on the stack).
                    let cells = futures::cells(&Vm { i: interp, t: &mut self.ts }, list);
                    self.pending = Some(Pending::Futures(then));
                    Err(Either::Block(Box::new(futures_wait(cells, deadline, then))))
                }
                _ => {
                    let v = if then.kept().is_some() { self.ts.stack.pop() } else { None };
                    self.ts.resume_with(v.unwrap_or(Value::None));
                    Ok(())
                }
            },
            (Some(Pending::Futures(then)), r) => {
                if then.kept().is_some() {
                    self.ts.stack.pop();
                }
                let done = matches!(r, Resumed::Bool(true));
                let mut vm = Vm { i: interp, t: &mut self.ts };
                match futures::finish(&mut vm, then, done) {
                    Ok(v) => vm.t.resume_with(v),
                    Err(flow) => {
                        vm.t.resume_with(Value::None);
                        vm.t.pending = Some(flow);
                    }
                }
                Ok(())
            }
            (None, Resumed::None) => {
                self.ts.resume_with(Value::None);
                let _ = interp;
                Ok(())
            }
            (None, Resumed::Bool(b)) => {
                self.ts.resume_with(Value::Bool(b));
                Ok(())
            }
            (None, Resumed::Index(i)) => {
                self.ts.resume_with(Value::Int(i64::try_from(i).unwrap_or(i64::MAX)));
                Ok(())
            }
        }
    }

    /// Runs on after the blocking call the thread resumes from (`resumed`), or from where it
    /// was (`None`). `Err`: an exit for the driver before any bytecode ran.
    #[allow(clippy::result_large_err)] // unwrapped at once by its two callers
    fn go_on(&mut self, interp: &mut Interp, resumed: Option<Resumed>) -> Result<VmExit, Exit<PyRun>> {
        Ok(match resumed.map(|r| self.resume(interp, r)) {
            None => vm::run(interp, &mut self.ts),
            Some(Ok(())) if self.ts.frames.is_empty() => {
                // The target itself was the blocking builtin (`Thread(target=ev.wait)`).
                VmExit::Done(self.ts.stack.pop().unwrap_or(Value::None))
            }
            Some(Ok(())) => {
                // The blocking builtin has returned: its CALL is an eval-breaker site
                // (CPython 3.11 checks after any call to a non-Python function), which
                // is where `v = counter; time.sleep(0); counter = v + 1` loses updates.
                if interp.drop_request.load(Ordering::Relaxed) {
                    return Err(Exit::Breaker);
                }
                vm::run(interp, &mut self.ts)
            }
            Some(Err(Either::Block(op))) => return Err(Exit::Block(*op)),
            Some(Err(Either::Raise(kind, message))) => {
                let mut v = Vm { i: interp, t: &mut self.ts };
                let e = threading::raise(&mut v, kind, &message);
                vm::run_raising(interp, &mut self.ts, e)
            }
        })
    }

    /// The first run of a started thread: its target's call.
    fn first_call(&mut self, interp: &mut Interp, nargs: usize, kwnames: &[String]) -> Option<VmExit> {
        if self.ts.stack.first() == Some(&Value::None) {
            return Some(VmExit::Done(Value::None));
        }
        let mut vm = Vm { i: interp, t: &mut self.ts };
        match vm.call_at(0, nargs, kwnames) {
            Ok(None) => None,
            Ok(Some(v)) => Some(VmExit::Done(v)),
            Err(vm::Flow::Exc(e)) => Some(VmExit::Exception(e)),
            Err(vm::Flow::Fatal(p)) => Some(VmExit::Fatal(p)),
            Err(vm::Flow::Block(op)) => Some(VmExit::Block(op)),
            Err(vm::Flow::Breaker) => Some(VmExit::Breaker),
        }
    }

    /// The VM's exit as the driver's.
    fn exit(&mut self, interp: &mut Interp, e: VmExit) -> Exit<PyRun> {
        if matches!(e, VmExit::Breaker | VmExit::Block(_)) && !self.ts.local {
            // Where it waits (for the GIL, or in a blocking call) is what the page shows.
            interp.host.show(self.ts.lane, Live::Line(vm::current_line(interp, &self.ts)));
        }
        match e {
            VmExit::Breaker => Exit::Breaker,
            VmExit::Done(_) => {
                self.ended(interp);
                Exit::Done
            }
            VmExit::Block(VmBlock::Sleep(secs)) => Exit::Block(BlockOp::Sleep { secs }),
            VmExit::Block(VmBlock::Wait(w)) => self.wait(w),
            VmExit::Block(VmBlock::Mp(w)) => {
                // Waits on other processes' bytes and exits only: no GIL needed (mp's note).
                let slot = Arc::new(Mutex::new(None));
                let (on, into) = (w.clone(), slot.clone());
                self.mp = Some((w, slot));
                Exit::Block(BlockOp::Custom {
                    state: LaneState::Blocked,
                    wait: Box::new(move |p| {
                        let got = on.wait(&**p.host());
                        *into.lock().unwrap_or_else(PoisonError::into_inner) = Some(got);
                        Ok(Resumed::None)
                    }),
                })
            }
            VmExit::Exception(e) => self.exception(interp, e),
            VmExit::Fatal(p) if p.kind == mp::HARD_EXIT => {
                let mut end = self.end.lock().unwrap_or_else(PoisonError::into_inner);
                if !end.hard_exit {
                    end.hard_exit = true;
                    end.exit_code = p.message.parse().unwrap_or(1);
                    end.error = None;
                }
                Exit::Fatal
            }
            VmExit::Fatal(p) => {
                // The process ends once, for its first reason: free-threaded, every thread
                // meets the budget at its own breaker, and the later ones say nothing.
                let mut slot = self.fatal.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.is_none() {
                    if announces(interp, &p) {
                        interp.write(Stream::Stderr, self.lane, &format!("{}: {}\n", p.kind, p.message));
                    }
                    *slot = Some(*p);
                }
                Exit::Fatal
            }
        }
    }

    fn wait(&mut self, w: Wait) -> Exit<PyRun> {
        Exit::Block(match w {
            Wait::Start { thread, state, nargs, kwnames, overridden } => {
                let mut child = self.child(*state, nargs, kwnames);
                child.run_overridden = overridden;
                BlockOp::Start { thread, state: child }
            }
            Wait::Lock { lock, timeout } => BlockOp::Lock { lock, timeout },
            Wait::RLock { lock, owner, timeout } => BlockOp::RLock { lock, owner, timeout },
            Wait::Condition { cond, owner, timeout } => BlockOp::Condition { cond, owner, timeout },
            Wait::Event { event, timeout } => BlockOp::Event { event, timeout },
            Wait::Semaphore { sem, timeout } => BlockOp::Semaphore { sem, timeout },
            Wait::Barrier { barrier, timeout } => BlockOp::Barrier { barrier, timeout },
            Wait::QueueGet { queue, deadline } => {
                self.pending = Some(Pending::QueueGet { queue: queue.clone(), deadline });
                BlockOp::QueueGet { queue, deadline }
            }
            Wait::QueuePut { queue, item, deadline } => {
                // On the stack, the item stays in the collector's sight while we wait.
                self.ts.stack.push(item);
                self.pending = Some(Pending::QueuePut { queue: queue.clone(), deadline });
                BlockOp::QueuePut { queue, deadline }
            }
            Wait::QueueJoin { queue } => BlockOp::QueueJoin { queue },
            Wait::Join { thread, timeout } => BlockOp::Join { thread, timeout },
            Wait::StartWorkers { threads, exec, then } => {
                if let Some(v) = then.kept() {
                    self.ts.stack.push(v);
                }
                self.pending = Some(Pending::Started(then));
                let starts =
                    threads.into_iter().map(|t| (t.clone(), self.worker_child(t.id(), exec.clone()))).collect();
                BlockOp::StartAll { starts }
            }
            Wait::Futures { cells, deadline, then } => {
                if let Some(v) = then.kept() {
                    self.ts.stack.push(v);
                }
                self.pending = Some(Pending::Futures(then));
                futures_wait(cells, deadline, then)
            }
            Wait::JoinAll { threads } => BlockOp::Custom {
                state: LaneState::Blocked,
                wait: Box::new(move |p| {
                    for t in &threads {
                        t.join(p, None)?;
                    }
                    Ok(Resumed::None)
                }),
            },
        })
    }

    fn ended(&mut self, interp: &mut Interp) {
        let mut vm = Vm { i: interp, t: &mut self.ts };
        threading::thread_ended(&mut vm, self.lane);
    }

    fn exception(&mut self, interp: &mut Interp, e: Value) -> Exit<PyRun> {
        let mut vm = Vm { i: interp, t: &mut self.ts };
        let kind = vm.exc_type_name(e);
        if kind == "SystemExit" {
            if self.main {
                let args = vm.exc_data(e).map(|d| d.args.clone()).unwrap_or_default();
                let code = match args.first() {
                    None | Some(Value::None) => 0,
                    Some(Value::Int(n)) => i32::try_from(*n).unwrap_or(1),
                    Some(v) => {
                        let s = vm.str_of(*v).unwrap_or_default();
                        vm.i.write(Stream::Stderr, self.lane, &format!("{s}\n"));
                        1
                    }
                };
                self.end.lock().unwrap_or_else(PoisonError::into_inner).exit_code = code;
            }
            // In a thread, SystemExit ends it silently (threading's excepthook ignores it).
            self.ended(interp);
            return Exit::Done;
        }
        let report = vm.format_exception(e);
        if self.main {
            let message = vm.exc_message(e);
            let (line, col) = vm.exc_location(e);
            vm.i.write(Stream::Stderr, self.lane, &report);
            let mut end = self.end.lock().unwrap_or_else(PoisonError::into_inner);
            end.exit_code = 1;
            end.error = Some(ProgramError { kind, message, line, col });
            return Exit::Done;
        }
        if let Some(hook) = threading::user_excepthook(&mut vm) {
            // `threading.excepthook = f`: f(args) runs in the failing thread (CPython's
            // `_bootstrap_inner` calls it there), to completion.
            let args = threading::excepthook_args(&mut vm, e);
            if let Err(vm::Flow::Exc(e2)) = vm.call_sync(hook, &[args], &[]) {
                let report = vm.format_exception(e2);
                vm.i.write(Stream::Stderr, self.lane, &format!("Exception in threading.excepthook:\n{report}"));
            }
            self.ended(interp);
            return Exit::Done;
        }
        self.ended(interp);
        Exit::Uncaught(with_bootstrap_frames(&report, self.run_overridden))
    }
}

/// CPython's two frames of `threading.py` above a thread's target in its traceback
/// (`_bootstrap_inner` calls `run`, which calls the target), after the last
/// `Traceback` header: ThreadLab's `threading` is not Python, but its traceback reads as
/// CPython's does.
pub(crate) fn with_bootstrap_frames(report: &str, run_overridden: bool) -> String {
    const HEADER: &str = "Traceback (most recent call last):\n";
    const BOOTSTRAP: &str = "  File \"<stdlib>/threading.py\", line 1045, in _bootstrap_inner\n    self.run()\n";
    const RUN: &str =
        "  File \"<stdlib>/threading.py\", line 982, in run\n    self._target(*self._args, **self._kwargs)\n";
    let frames = if run_overridden { BOOTSTRAP.to_owned() } else { format!("{BOOTSTRAP}{RUN}") };
    let frames = frames.as_str();
    match report.rfind(HEADER) {
        Some(at) => {
            let cut = at + HEADER.len();
            format!("{}{frames}{}", &report[..cut], &report[cut..])
        }
        None => format!("{HEADER}{frames}{report}"),
    }
}

enum Either {
    Raise(&'static str, String),
    Block(Box<BlockOp<PyRun>>),
}

impl Runnable for PyRun {
    type Interp = Interp;
    type Value = Value;

    fn run(&mut self, interp: &mut Interp, resumed: Option<Resumed>) -> Exit<PyRun> {
        if interp.switch_interval_ms != self.switch_interval_ms {
            // `sys.setswitchinterval` changed it: the GIL's waiters use it from now on.
            self.switch_interval_ms = interp.switch_interval_ms;
            if let Some(p) = interp.process.upgrade() {
                p.gil().set_switch_interval(self.switch_interval_ms);
            }
        }
        if let Some(exec) = self.worker.clone() {
            return self.run_worker(interp, &exec, resumed);
        }
        let exit =
            if let Some((nargs, kwnames)) = self.call.take() { self.first_call(interp, nargs, &kwnames) } else { None };
        let exit = match exit {
            Some(e) => e,
            None => match self.go_on(interp, resumed) {
                Ok(exit) => exit,
                Err(exit) => return exit,
            },
        };
        self.exit(interp, exit)
    }

    fn park(&mut self, interp: &mut Interp) {
        interp.parked.push(std::mem::take(&mut self.ts));
    }

    fn unpark(&mut self, interp: &mut Interp) {
        if let Some(at) = interp.parked.iter().position(|t| t.lane == self.lane) {
            self.ts = interp.parked.swap_remove(at);
        }
    }

    fn go_local(&mut self, interp: &mut Interp) -> bool {
        if !std::mem::take(&mut self.ts.local) {
            return false;
        }
        let (Some(free), Some(frame)) = (interp.free.clone(), self.ts.frames.last()) else { return false };
        let code = interp.codes[frame.code as usize].clone();
        let cache = RangeCache::find(&interp.heap, &self.ts);
        // Counted before the lock goes: a collection from now on waits for this thread.
        free.out.fetch_add(1, Ordering::SeqCst);
        self.local = Some(Local { code, cache, free, halt: interp.drop_request.clone(), breaker: false });
        true
    }

    fn run_local(&mut self) {
        let Some(l) = self.local.as_mut() else { return };
        // The stretch runs in a call of its own, through a pointer the optimisers cannot see
        // through. V8 puts a wasm function's optimised code in place only for calls made
        // after it is ready (wasm has no on-stack replacement), and wasm-opt inlines a
        // function with one caller into that caller: the loop ended up inside `drive`, one
        // call for the thread's whole life, so free-threaded threads ran V8's baseline code
        // to their end (perf: 92 % of their samples there) and two of them took as long as
        // one thread doing both jobs.
        let stretch: free::Stretch = std::hint::black_box(free::run_local);
        l.breaker = stretch(&l.code, &mut self.ts, &mut l.cache, &l.halt, &l.free.stw);
        if let Some(c) = l.cache {
            // Kept alive until written back: a loop that ended popped its iterator, and a
            // collection while this thread waits for the lock would free it under us.
            self.ts.stack.push(Value::Obj(c.iter));
        }
        l.free.give_back(std::mem::take(&mut self.ts));
    }

    fn come_back(&mut self, interp: &mut Interp) {
        let Some(l) = self.local.take() else { return };
        if let Some(ts) = l.free.take_back(self.lane) {
            self.ts = ts;
        }
        if let Some(c) = l.cache {
            self.ts.stack.pop();
            c.write_back(&mut interp.heap);
        }
        if l.breaker {
            // The jump it stopped at makes the next breaker check the budget and Stop, as
            // the main loop's every 1,024th does (a stretch ran thousands of jumps).
            interp.ticks |= 0x3ff;
        }
        self.ts.local_skip = true;
    }

    fn write_stderr(&mut self, interp: &mut Interp, text: &str) -> bool {
        interp.write(Stream::Stderr, self.lane, text);
        true
    }
}

/// The lane id of a process's main thread.
pub const MAIN_LANE: u32 = 0;

/// Runs a compiled program's main thread (`ts`, its module frame pushed) and every thread
/// it starts, each on its own host thread under the process's real GIL; then waits for
/// the non-daemon threads, as CPython's interpreter does at exit.
/// `finish` runs last, under the GIL, on the result (the children's output and lanes).
pub fn run_threaded(
    interp: Interp,
    ts: ThreadState,
    options: &ProgramOptions,
    host: Arc<dyn Host>,
    finish: &dyn Fn(&Interp, &mut ProgramResult),
) -> ProgramResult {
    let main = MainThread { lane: MAIN_LANE, kind: LaneKind::Main, name: "MainThread" };
    run_threaded_as(interp, ts, options, host, &main, finish)
}

/// A process's main thread as its lane shows it: the main program's (`MainThread`, lane 0),
/// or a child process's (kind `Process`, its name, its lanes numbered from its own base).
pub struct MainThread<'a> {
    pub lane: u32,
    pub kind: LaneKind,
    pub name: &'a str,
}

/// [`run_threaded`] for any process's main thread (a child process's: `core::py::vm::mp`).
/// Whether a process prints why it ended: a child process ended by `terminate()` (or by
/// Stop, or by the program's time budget) says nothing of it, its parent does, as in
/// CPython. In the browser its output has already reached the page when it ends, so it must
/// not be written at all.
fn announces(interp: &Interp, p: &ProgramError) -> bool {
    !matches!(p.kind.as_str(), "Stopped" | "TimeoutError") || interp.mp.name.is_empty()
}

pub fn run_threaded_as(
    interp: Interp,
    ts: ThreadState,
    options: &ProgramOptions,
    host: Arc<dyn Host>,
    main_thread: &MainThread<'_>,
    finish: &dyn Fn(&Interp, &mut ProgramResult),
) -> ProgramResult {
    let start = interp.start_ms;
    let pid = interp.pid;
    let proc = Process::new(interp, host.clone(), pid, options.switch_interval_ms, main_thread.lane);
    if !options.gil {
        proc.set_free_threaded();
    }
    proc.set_deadline(start + options.timeout_ms);
    let mut g = proc.enter_main(main_thread.kind, main_thread.name);
    {
        let i = g.interp();
        if !options.gil {
            i.free = Some(Arc::new(Free { others: proc.started_threads(), ..Free::default() }));
        }
        i.process = Arc::downgrade(&proc);
        i.drop_request = proc.gil().drop_flag();
        i.drop_request.store(false, Ordering::Relaxed);
    }
    let fatal = Arc::new(Mutex::new(None));
    let end = Arc::new(Mutex::new(MainEnd::default()));
    let mut main = PyRun {
        lane: main_thread.lane,
        ts,
        call: None,
        pending: None,
        mp: None,
        main: true,
        run_overridden: false,
        worker: None,
        task: false,
        fatal: fatal.clone(),
        end: end.clone(),
        switch_interval_ms: options.switch_interval_ms,
        local: None,
    };
    let ended = drive(&mut g, &mut main);
    let shut = proc.shutdown(&mut g);
    let hard_exit = end.lock().unwrap_or_else(PoisonError::into_inner).hard_exit;
    // Read, not taken: daemon threads still running meet the end after this, and the slot
    // being full is what keeps them from saying it again.
    let mut error = fatal.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if error.is_none() && !hard_exit && ended != Ended::Stopped && shut.is_ok() {
        // The interpreter's finalization: generators still suspended in a `try` or a
        // `with` are closed (their `finally` runs), as CPython's does at exit.
        let mut vm = Vm { i: g.interp(), t: &mut main.ts };
        if let Err(vm::Flow::Fatal(p)) = vm.finalize_generators() {
            if announces(vm.i, &p) {
                vm.i.write(Stream::Stderr, main_thread.lane, &format!("{}: {}\n", p.kind, p.message));
            }
            error = Some(*p);
        }
    }
    if hard_exit {
        // `os._exit`: its status is the result, whatever else was ending meanwhile.
        error = None;
    }
    // A thread the budget stopped ends silently, and a main thread that was waiting for it
    // in `join` may run on to its end before its own loop sees the budget: the program
    // still ran past its budget (it printed partial results and exited 0 before).
    let over_budget = proc.deadline_passed() || host.stop_requested();
    if error.is_none() && !hard_exit && (ended == Ended::Stopped || shut.is_err() || over_budget) {
        // A wait ended by Stop or the budget: say which, as the loop would have.
        let (kind, message) = outside_end(&*host, options.timeout_ms);
        let p = ProgramError { kind: kind.into(), message, line: 0, col: 0 };
        if announces(g.interp(), &p) {
            g.interp().write(Stream::Stderr, main_thread.lane, &format!("{}: {}\n", p.kind, p.message));
        }
        error = Some(p);
    }
    let main_end = std::mem::take(&mut *end.lock().unwrap_or_else(PoisonError::into_inner));
    let exit_code = if error.is_some() && main_end.error.is_none() { 1 } else { main_end.exit_code };
    let error = main_end.error.or(error);
    let wall_ms = host.now_ms() - start;
    let i = g.interp();
    let stdout = std::mem::take(&mut i.out.text);
    let output = std::mem::take(&mut i.out.chunks);
    let mut result = ProgramResult { stdout, output, exit_code, wall_ms, gil_switches: 0, lanes: Vec::new(), error };
    finish(g.interp(), &mut result);
    drop(g);
    // Daemon threads stop at their next breaker or wait (the process is exiting).
    proc.wait_threads_done(1000.0);
    let mut lanes = proc.lanes();
    let shift = proc.t0() - start;
    for lane in &mut lanes {
        for s in &mut lane.segments {
            s.start_ms += shift;
            s.end_ms += shift;
        }
    }
    lanes.append(&mut result.lanes);
    result.lanes = lanes;
    if options.gil {
        // Free-threaded, the lock changes hands at every heap operation: not a GIL's switch.
        result.gil_switches += proc.gil_switches();
    }
    result
}
