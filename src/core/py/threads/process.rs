//! One Python process: its GIL, the interpreter state the GIL guards, its threads and
//! their timeline lanes.
//!
//! The interpreter (`I`: heap, modules, globals) is reachable only through a [`GilGuard`],
//! which exists only while its thread holds the GIL, so touching the heap without the GIL
//! does not compile (docs/python-vm.md §3). The interpreter sits in a `Mutex` rather than
//! an `UnsafeCell` (the crate denies `unsafe`): only the GIL holder ever locks it, so the
//! lock is never contended and costs one uncontended atomic per GIL take.

use super::sync::{self, Raise, Stopped, Waiter};
use crate::core::gil::Gil;
use crate::core::program::MAX_THREADS_PER_PROCESS;
use crate::core::program::{Host, Lane, LaneKind, LaneSegment, LaneState, Live, OutputChunk, Stream};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A thread's segments so far, and the one it is in.
#[derive(Debug, Default)]
struct LaneLog {
    segments: Vec<LaneSegment>,
    open: Option<(LaneState, f64)>,
}

impl LaneLog {
    fn close(&mut self, now: f64) {
        let Some((state, start)) = self.open.take() else { return };
        let end = now.max(start);
        if let Some(last) = self.segments.last_mut() {
            // A zero-length stretch between two of the same state was dropped: one segment.
            if last.state == state && last.end_ms >= start {
                last.end_ms = end;
                return;
            }
        }
        if end > start {
            self.segments.push(LaneSegment { state, start_ms: start, end_ms: end });
        }
    }

    fn enter(&mut self, state: LaneState, now: f64) {
        self.close(now);
        self.open = Some((state, now));
    }
}

/// Where a thread is in its life (`threading.Thread`'s `_started` / `_is_stopped`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Made, not started.
    New,
    /// `start()` called; its worker has not taken the GIL yet.
    Starting,
    /// Running its target (`is_alive()`).
    Alive,
    /// Its target returned or raised.
    Done,
}

/// One Python thread of a process (the main thread included): what `threading.Thread`
/// wraps, and its lane.
#[derive(Debug)]
pub struct PyThread {
    id: u32,
    pid: u32,
    kind: LaneKind,
    name: Mutex<String>,
    daemon: AtomicBool,
    phase: Mutex<Phase>,
    phase_changed: Condvar,
    log: Mutex<LaneLog>,
}

impl PyThread {
    /// The lane's id, unique in the program; also the thread's `ident`.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }

    #[must_use]
    pub fn kind(&self) -> LaneKind {
        self.kind
    }

    #[must_use]
    pub fn name(&self) -> String {
        lock(&self.name).clone()
    }

    pub fn set_name(&self, name: String) {
        *lock(&self.name) = name;
    }

    #[must_use]
    pub fn daemon(&self) -> bool {
        self.daemon.load(Ordering::Relaxed)
    }

    /// # Errors
    /// `RuntimeError: cannot set daemon status of active thread`, as CPython.
    pub fn set_daemon(&self, daemon: bool) -> Result<(), Raise> {
        if self.phase() != Phase::New {
            return Err(Raise { kind: "RuntimeError", message: "cannot set daemon status of active thread".into() });
        }
        self.daemon.store(daemon, Ordering::Relaxed);
        Ok(())
    }

    #[must_use]
    pub fn phase(&self) -> Phase {
        *lock(&self.phase)
    }

    /// `is_alive()`.
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.phase() == Phase::Alive
    }

    fn set_phase(&self, phase: Phase) {
        *lock(&self.phase) = phase;
        self.phase_changed.notify_all();
    }

    /// The lane goes into `state` now, and the page's live view hears of it (a lane with
    /// nothing open is a thread starting, or starting again after a closed stretch).
    fn enter(&self, state: LaneState, host: &dyn Host) {
        let mut log = lock(&self.log);
        if log.open.is_none() {
            host.show(self.id, Live::Started { name: &self.name(), kind: self.kind });
        }
        log.enter(state, host.now_ms());
        host.show(self.id, Live::State(state));
    }

    fn close_lane(&self, host: &dyn Host) {
        lock(&self.log).close(host.now_ms());
        host.show(self.id, Live::Ended);
    }

    /// Whether `join()` may wait for this thread, asked by thread `current`.
    ///
    /// # Errors
    /// CPython's `RuntimeError`s: joining a thread not started, or oneself.
    pub fn check_join(&self, current: &PyThread) -> Result<(), Raise> {
        if self.phase() == Phase::New {
            return Err(Raise { kind: "RuntimeError", message: "cannot join thread before it is started".into() });
        }
        if self.id == current.id {
            return Err(Raise { kind: "RuntimeError", message: "cannot join current thread".into() });
        }
        Ok(())
    }

    /// `join(timeout)`, GIL released: until the thread is done or the timeout passes.
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn join(&self, w: &dyn Waiter, timeout_s: Option<f64>) -> Result<(), Stopped> {
        let until = sync::deadline(w.now_ms(), timeout_s);
        sync::wait_while(w, &self.phase_changed, lock(&self.phase), until, |p| {
            matches!(*p, Phase::Starting | Phase::Alive)
        })
        .map(drop)
    }

    /// The lane so far, times relative to `t0`, the open segment closed at `now`.
    #[must_use]
    pub fn lane(&self, t0: f64, now: f64) -> Lane {
        let log = lock(&self.log);
        let mut segments = log.segments.clone();
        if let Some((state, start)) = log.open {
            if now > start {
                segments.push(LaneSegment { state, start_ms: start, end_ms: now });
            }
        }
        for s in &mut segments {
            s.start_ms -= t0;
            s.end_ms -= t0;
        }
        Lane { id: self.id, kind: self.kind, name: self.name(), process: self.pid, segments }
    }
}

/// The eval breaker as the VM loop polls it at the sites of docs/python-vm.md §1: a drop
/// request from another thread, the process's exit, or Stop. One per thread (it counts
/// calls, to ask the host, whose check may cost more than an atomic load, one time in 64).
#[derive(Clone)]
pub struct EvalBreaker {
    gil: Arc<Gil>,
    exiting: Arc<AtomicBool>,
    host: Arc<dyn Host>,
    tick: Cell<u32>,
}

impl EvalBreaker {
    /// Whether the loop must return `Exit::Breaker` now.
    #[inline]
    #[must_use]
    pub fn pending(&self) -> bool {
        if self.gil.drop_requested() || self.exiting.load(Ordering::Relaxed) {
            return true;
        }
        let t = self.tick.get().wrapping_add(1);
        self.tick.set(t);
        t.is_multiple_of(64) && self.host.stop_requested()
    }
}

/// One process: GIL, interpreter, threads.
pub struct Process<I> {
    this: Weak<Process<I>>,
    gil: Arc<Gil>,
    interp: Mutex<I>,
    host: Arc<dyn Host>,
    pid: u32,
    t0: f64,
    /// Set at the process's end: daemon threads stop at their next breaker or wait.
    exiting: Arc<AtomicBool>,
    /// The wall-time budget's end on the host's clock (f64 bits; infinite by default):
    /// every wait ends there too.
    deadline: AtomicU64,
    threads: Mutex<Vec<Arc<PyThread>>>,
    next_id: AtomicU32,
    /// `threading`'s `_counter`, for `Thread-N` names.
    next_number: AtomicU32,
    /// Free-threaded (no GIL): the interpreter's mutex alone is the lock, held for one
    /// heap operation at a time (the VM's `free.rs`); nobody waits for a GIL.
    free: AtomicBool,
    /// Threads started and not ended (the main thread not counted): free-threaded, a
    /// thread alone runs as it does with the GIL, without letting the lock go.
    started: Arc<AtomicU32>,
}

impl<I> Waiter for Process<I> {
    fn now_ms(&self) -> f64 {
        self.host.now_ms()
    }

    fn stopping(&self) -> bool {
        self.exiting.load(Ordering::Relaxed)
            || self.host.stop_requested()
            || self.host.now_ms() > f64::from_bits(self.deadline.load(Ordering::Relaxed))
    }
}

impl<I: Send + 'static> Process<I> {
    /// A process whose lanes are numbered from `first_lane_id` (unique in the program).
    #[must_use]
    pub fn new(interp: I, host: Arc<dyn Host>, pid: u32, switch_interval_ms: f64, first_lane_id: u32) -> Arc<Self> {
        let t0 = host.now_ms();
        Arc::new_cyclic(|this| Process {
            this: this.clone(),
            gil: Arc::new(Gil::new(switch_interval_ms)),
            interp: Mutex::new(interp),
            host,
            pid,
            t0,
            exiting: Arc::new(AtomicBool::new(false)),
            deadline: AtomicU64::new(f64::INFINITY.to_bits()),
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU32::new(first_lane_id),
            next_number: AtomicU32::new(1),
            free: AtomicBool::new(false),
            started: Arc::new(AtomicU32::new(0)),
        })
    }

    /// Makes the process free-threaded: call before its main thread enters.
    pub fn set_free_threaded(&self) {
        self.free.store(true, Ordering::Relaxed);
    }

    /// Threads started and not ended, the main thread not counted.
    #[must_use]
    pub fn started_threads(&self) -> Arc<AtomicU32> {
        self.started.clone()
    }

    /// Ends every wait at `ms` on the host's clock (the wall-time budget; the VM's loop
    /// checks its own).
    pub fn set_deadline(&self, ms: f64) {
        self.deadline.store(ms.to_bits(), Ordering::Relaxed);
    }

    /// Whether the wall-time budget has passed.
    #[must_use]
    pub fn deadline_passed(&self) -> bool {
        self.host.now_ms() > f64::from_bits(self.deadline.load(Ordering::Relaxed))
    }

    #[must_use]
    pub fn gil(&self) -> &Gil {
        &self.gil
    }

    #[must_use]
    pub fn host(&self) -> &Arc<dyn Host> {
        &self.host
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process's start on the host's clock (lanes are relative to it).
    #[must_use]
    pub fn t0(&self) -> f64 {
        self.t0
    }

    #[must_use]
    pub fn breaker(&self) -> EvalBreaker {
        EvalBreaker {
            gil: self.gil.clone(),
            exiting: self.exiting.clone(),
            host: self.host.clone(),
            tick: Cell::new(0),
        }
    }

    fn register(&self, kind: LaneKind, name: String, daemon: bool, phase: Phase) -> Arc<PyThread> {
        let t = Arc::new(PyThread {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            pid: self.pid,
            kind,
            name: Mutex::new(name),
            daemon: AtomicBool::new(daemon),
            phase: Mutex::new(phase),
            phase_changed: Condvar::new(),
            log: Mutex::new(LaneLog::default()),
        });
        lock(&self.threads).push(t.clone());
        t
    }

    /// The process's main thread (`MainThread`), holding the GIL: the program starts here.
    pub fn enter_main(&self, kind: LaneKind, name: &str) -> GilGuard<'_, I> {
        let t = self.register(kind, name.to_owned(), false, Phase::Alive);
        if self.free() || self.gil.try_acquire(t.id) {
            // Free, as it is for a process's first thread: no wait to show.
            t.enter(LaneState::Running, &*self.host);
            return GilGuard { proc: self, interp: Some(lock(&self.interp)), thread: t };
        }
        t.enter(LaneState::GilWait, &*self.host);
        self.take(t, false)
    }

    /// `threading.Thread(target=…, name=…, daemon=…)`: named as CPython 3.11 names it
    /// (`Thread-N (target)` when no name is given; only unnamed threads use up a number).
    pub fn new_thread(&self, name: Option<&str>, target_name: Option<&str>, daemon: bool) -> Arc<PyThread> {
        let name = match name {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => {
                let n = self.next_number.fetch_add(1, Ordering::Relaxed);
                match target_name {
                    Some(target) => format!("Thread-{n} ({target})"),
                    None => format!("Thread-{n}"),
                }
            }
        };
        self.register(LaneKind::Thread, name, daemon, Phase::New)
    }

    /// Every thread made so far, in order (the main thread first).
    #[must_use]
    pub fn threads(&self) -> Vec<Arc<PyThread>> {
        lock(&self.threads).clone()
    }

    /// `threading.active_count()`: the threads alive (the main one included).
    #[must_use]
    pub fn active_count(&self) -> usize {
        lock(&self.threads).iter().filter(|t| matches!(t.phase(), Phase::Starting | Phase::Alive)).count()
    }

    /// `threading.main_thread()`.
    #[must_use]
    pub fn main_thread(&self) -> Option<Arc<PyThread>> {
        lock(&self.threads).iter().find(|t| t.kind != LaneKind::Thread).cloned()
    }

    fn take(&self, thread: Arc<PyThread>, expected: bool) -> GilGuard<'_, I> {
        if self.free() {
            let interp = lock(&self.interp);
            self.stop_if_exiting();
            thread.enter(LaneState::Running, &*self.host);
            return GilGuard { proc: self, interp: Some(interp), thread };
        }
        if expected {
            self.gil.acquire_expected(thread.id);
        } else {
            self.gil.acquire(thread.id);
        }
        self.stop_if_exiting();
        thread.enter(LaneState::Running, &*self.host);
        GilGuard { proc: self, interp: Some(lock(&self.interp)), thread }
    }

    /// `Thread.start()`: hands `state` (the thread's VM state, its target's call set up) to a
    /// new thread of the host, GIL released meanwhile, and returns once that thread runs
    /// (CPython's `start` waits on `_started` the same way, so the new thread usually runs
    /// first, until its switch interval passes).
    ///
    /// # Errors
    /// `RuntimeError`s: started twice, past [`MAX_THREADS_PER_PROCESS`], or the host could
    /// not start a thread. `Ok(Err(Stopped))` when the program is being stopped.
    ///
    /// # Panics
    /// Never: the process outlives the call (`self` is borrowed from an `Arc`).
    pub fn start<R>(
        &self,
        g: &mut GilGuard<'_, I>,
        thread: &Arc<PyThread>,
        state: R,
    ) -> Result<Result<(), Stopped>, Raise>
    where
        R: super::Runnable<Interp = I>,
    {
        let runtime = |message: String| Raise { kind: "RuntimeError", message };
        if thread.phase() != Phase::New {
            return Err(runtime("threads can only be started once".into()));
        }
        if self.active_count() >= MAX_THREADS_PER_PROCESS {
            return Err(runtime(format!(
                "can't start new thread (ThreadLab runs at most {MAX_THREADS_PER_PROCESS} threads per process, the main thread included)"
            )));
        }
        thread.set_phase(Phase::Starting);
        thread.enter(LaneState::GilWait, &*self.host);
        let proc = self.this.upgrade().expect("a process is alive while one of its threads runs");
        let job_thread = thread.clone();
        let mut state = state;
        // In flight until the new thread holds the GIL: the collector must see its values.
        state.park(g.interp());
        let job = Box::new(move || {
            // Done even if the thread panics (natively; in wasm a panic aborts the process),
            // so that no join waits for ever.
            let _done = DoneOnDrop(job_thread.clone(), proc.started.clone());
            let mut g = proc.take(job_thread.clone(), true);
            state.unpark(g.interp());
            job_thread.set_phase(Phase::Alive);
            proc.await_starter();
            super::driver::drive(&mut g, &mut state);
            drop(state);
            // Done while still holding the GIL, as CPython's `_bootstrap_inner` removes the
            // thread from `threading._active` before its C thread lets the GIL go: the next
            // holder's `active_count()` and `is_alive()` must not see it. Joiners woken here
            // wait for the GIL, so they run on only once it is released below.
            job_thread.set_phase(Phase::Done);
            drop(g);
        });
        let started = g.allow_threads(LaneState::Blocked, |p| {
            // Runnable from now on: a holder's forced drop waits for it (see `Gil::expect`).
            let free = p.free();
            if !free {
                p.gil.expect();
            }
            p.started.fetch_add(1, Ordering::SeqCst);
            if let Err(why) = p.host.spawn_thread(job) {
                if !free {
                    p.gil.unexpect();
                }
                p.started.fetch_sub(1, Ordering::SeqCst);
                return Err(why);
            }
            Ok(sync::wait_while(p, &thread.phase_changed, lock(&thread.phase), None, |ph| *ph == Phase::Starting)
                .map(drop))
        });
        started.map_err(|why: String| {
            thread.set_phase(Phase::New);
            thread.close_lane(&*self.host);
            runtime(format!("can't start new thread ({why})"))
        })
    }

    /// A new thread, holding the GIL, lets its starter (woken by `Phase::Alive`) line up
    /// for the GIL before it runs on. In CPython the starter is runnable from that moment
    /// and waits for the GIL while the new thread runs; whether it has physically reached
    /// `take_gil` by the new thread's first blocking call is a scheduling accident there,
    /// and a worse one on a busy machine or a Web Worker. Without this a thread whose loop
    /// blocks briefly (`time.sleep(0)`) could run to its end before its starter queues,
    /// and the program's threads would never overlap. Bounded: a starter stopped meanwhile
    /// does not hold the new thread up for more than 50 ms.
    fn await_starter(&self) {
        if self.free() {
            // Nobody lines up for a GIL: the starter runs at once, on its own core.
            return;
        }
        let until = self.host.now_ms() + 50.0;
        let mut spins = 0u32;
        while self.gil.waiters() == 0 {
            // Yield, not spin: on a machine with few cores the starter needs this one.
            std::thread::yield_now();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) && (self.host.now_ms() > until || Waiter::stopping(self)) {
                return;
            }
        }
    }

    /// The end of the main thread (CPython's `threading._shutdown`): waits for every
    /// non-daemon thread, then tells the daemon ones to stop.
    ///
    /// # Errors
    /// [`Stopped`] when the program is stopped meanwhile.
    pub fn shutdown(&self, g: &mut GilGuard<'_, I>) -> Result<(), Stopped> {
        let me = g.thread.id;
        let others: Vec<_> = self
            .threads()
            .into_iter()
            .filter(|t| t.id != me && t.kind == LaneKind::Thread && !t.daemon() && t.phase() != Phase::Done)
            .collect();
        let result = if others.is_empty() {
            Ok(())
        } else {
            g.allow_threads(LaneState::Blocked, |p| others.iter().try_for_each(|t| t.join(p, None)))
        };
        self.exit_now();
        result
    }

    /// Ends the process now: every thread stops at its next breaker or wait.
    pub fn exit_now(&self) {
        self.exiting.store(true, Ordering::Relaxed);
        self.gil.drop_flag().store(true, Ordering::Relaxed);
    }

    /// Whether the process is ending ([`Process::exit_now`], or its main thread's end).
    #[must_use]
    pub fn exiting(&self) -> bool {
        self.exiting.load(Ordering::Relaxed)
    }

    /// Waits (without the GIL) up to `ms` for every thread but the main one to end: after
    /// [`Process::shutdown`] natively, so that daemon threads are gone before the result.
    pub fn wait_threads_done(&self, ms: f64) -> bool {
        let until = self.host.now_ms() + ms;
        let waiter = Deadline { host: &*self.host, until };
        self.threads().iter().filter(|t| t.kind == LaneKind::Thread).all(|t| {
            let _ = t.join(&waiter, Some(((until - self.host.now_ms()) / 1000.0).max(0.0)));
            !matches!(t.phase(), Phase::Starting | Phase::Alive)
        })
    }

    /// Every thread's lane, times relative to the process's start.
    #[must_use]
    pub fn lanes(&self) -> Vec<Lane> {
        let now = self.host.now_ms();
        self.threads().iter().map(|t| t.lane(self.t0, now)).collect()
    }

    /// GIL hand-overs so far (`ProgramResult::gil_switches`).
    #[must_use]
    pub fn gil_switches(&self) -> u64 {
        self.gil.handovers()
    }
}

impl<I> Process<I> {
    fn free(&self) -> bool {
        self.free.load(Ordering::Relaxed)
    }

    /// A take clears the drop request; once the process is ending, the new holder must
    /// still stop at its next breaker (the VM polls only that flag).
    fn stop_if_exiting(&self) {
        if self.exiting.load(Ordering::Relaxed) {
            self.gil.drop_flag().store(true, Ordering::Relaxed);
        }
    }
}

/// Marks a thread done when dropped, and no longer counted as started.
struct DoneOnDrop(Arc<PyThread>, Arc<AtomicU32>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.1.fetch_sub(1, Ordering::SeqCst);
        if self.0.phase() != Phase::Done {
            self.0.set_phase(Phase::Done);
        }
    }
}

/// A waiter that ignores the stop flags, bounded by a deadline (the process's own wind-down).
struct Deadline<'a> {
    host: &'a dyn Host,
    until: f64,
}

impl Waiter for Deadline<'_> {
    fn now_ms(&self) -> f64 {
        self.host.now_ms()
    }

    fn stopping(&self) -> bool {
        self.host.now_ms() > self.until
    }
}

/// Proof that `thread` holds the GIL, and the way to the interpreter it guards. Dropped, it
/// gives the GIL up and ends the thread's lane.
pub struct GilGuard<'p, I> {
    proc: &'p Process<I>,
    interp: Option<MutexGuard<'p, I>>,
    thread: Arc<PyThread>,
}

impl<'p, I: Send + 'static> GilGuard<'p, I> {
    /// The interpreter.
    ///
    /// # Panics
    /// Never: a guard holds the interpreter from its making until it is dropped.
    pub fn interp(&mut self) -> &mut I {
        self.interp.as_mut().expect("a guard holds the interpreter")
    }

    #[must_use]
    pub fn process(&self) -> &'p Process<I> {
        self.proc
    }

    #[must_use]
    pub fn thread(&self) -> &Arc<PyThread> {
        &self.thread
    }

    fn let_go(&mut self, state: LaneState, forced: bool) {
        self.interp = None;
        self.thread.enter(state, &*self.proc.host);
        if !self.proc.free() {
            self.proc.gil.release(self.thread.id, forced);
        }
    }

    fn take_back(&mut self) {
        if self.proc.free() {
            self.interp = Some(lock(&self.proc.interp));
            self.proc.stop_if_exiting();
            self.thread.enter(LaneState::Running, &*self.proc.host);
            return;
        }
        self.thread.enter(LaneState::GilWait, &*self.proc.host);
        self.proc.gil.acquire(self.thread.id);
        self.proc.stop_if_exiting();
        self.thread.enter(LaneState::Running, &*self.proc.host);
        self.interp = Some(lock(&self.proc.interp));
    }

    /// The eval breaker's drop and take (CPython's `drop_gil` + `take_gil`), if another
    /// thread asked for the GIL; returns whether it switched.
    pub fn yield_if_requested(&mut self) -> bool {
        if !self.proc.gil.drop_requested() {
            return false;
        }
        self.let_go(LaneState::GilWait, true);
        self.take_back();
        true
    }

    /// Runs `wait` with the GIL released (`Py_BEGIN_ALLOW_THREADS`), the lane in `state`
    /// meanwhile, and takes the GIL back after.
    ///
    /// If other threads wait for the GIL, one of them takes it before `wait` begins. In
    /// CPython the releasing thread signals a waiter and then makes its blocking system
    /// call, so the waiter (awake on another core) wins the GIL even for `time.sleep(0)`:
    /// that is why `v = counter; time.sleep(0); counter = v + 1` by 4 threads ends at
    /// 2,000 of 8,000 in CPython 3.11. Here a waiter may be slower to wake than the
    /// releaser is to come back (a Web Worker's `Atomics.wait`, a busy machine), so the
    /// hand-over is made sure of rather than left to the race.
    pub fn allow_threads<T>(&mut self, state: LaneState, wait: impl FnOnce(&'p Process<I>) -> T) -> T {
        self.let_go(state, true);
        let out = wait(self.proc);
        self.take_back();
        out
    }

    /// Free-threaded: runs `f` with the lock let go and taken back after, without a
    /// forced hand-over and without a change of lane (the thread runs meanwhile).
    pub fn unlocked<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.interp = None;
        let out = f();
        self.proc.stop_if_exiting();
        self.interp = Some(lock(&self.proc.interp));
        out
    }

    /// One write of the program (a `print`), tagged with this thread, in GIL order.
    pub fn write(&self, stream: Stream, text: String) {
        let host = &self.proc.host;
        host.write(OutputChunk { stream, pid: self.proc.pid, lane: self.thread.id, text, t_ms: host.now_ms() });
    }
}

impl<I> Drop for GilGuard<'_, I> {
    fn drop(&mut self) {
        self.interp = None;
        self.thread.close_lane(&*self.proc.host);
        if !self.proc.free() {
            self.proc.gil.release(self.thread.id, false);
        }
    }
}
