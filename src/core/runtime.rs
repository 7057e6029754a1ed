//! Where a program's threads run, without the browser (docs/python-vm.md §4, §6): the warm
//! pool of thread workers and its slot machine, the process's kill word and output ticket,
//! and the page's re-ordering of output that reaches it from several workers. The browser
//! (`web::program`) puts one [`Process`] in each program's shared wasm memory; native tests
//! use the same code with `std::thread`s as the workers.

use crate::core::program::{Host, OutputChunk, ProgramOptions, ProgramResult, MAX_THREADS_PER_PROCESS};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

pub mod arena;
pub mod board;
pub mod test_programs;

/// A Python thread's body, handed to a pool worker.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Idle workers a process starts with (the page starts them as soon as the process is up).
pub const POOL_START: u32 = 4;
/// Workers the page adds when the pool runs low.
pub const POOL_GROW: u32 = 4;
/// A hand-off that leaves this few idle workers (counting those asked for) asks for more.
/// One, not two: at two, a program's second thread made the page start four workers while
/// its two threads ran, and starting them took a fifth of two cores from those threads
/// (perf: the browser, renderer and compiler threads busy in the same 10 ms slices).
pub const POOL_LOW: u32 = 1;
/// How long `spawn` waits for the page's new worker when none is idle, in slices of
/// [`WAIT_SLICE`] (a new worker takes 15-21 ms; the page may be busy for a while).
pub const SPAWN_WAIT_MS: u32 = 10_000;
const WAIT_SLICE: Duration = Duration::from_millis(2);

// A slot's states. A slot belongs to one worker for the process's life once it left EMPTY.
const EMPTY: u32 = 0;
const IDLE: u32 = 1;
const BUSY: u32 = 2;

struct Slot {
    state: AtomicU32,
    /// The job handed over and not yet taken by the worker; the worker parks on `handed`.
    job: Mutex<Option<Job>>,
    handed: Condvar,
}

impl Slot {
    const fn new() -> Slot {
        Slot { state: AtomicU32::new(EMPTY), job: Mutex::new(None), handed: Condvar::new() }
    }
}

/// Why `spawn` could not start a thread (the VM raises `RuntimeError: can't start new thread`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// [`MAX_THREADS_PER_PROCESS`] threads are alive.
    TooMany,
    /// The program is being stopped.
    Stopped,
    /// No worker became free within [`SPAWN_WAIT_MS`].
    NoWorker,
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnError::TooMany => write!(
                f,
                "ThreadLab runs at most {MAX_THREADS_PER_PROCESS} threads at once in one process, and {MAX_THREADS_PER_PROCESS} are alive"
            ),
            SpawnError::Stopped => write!(f, "the program is being stopped"),
            SpawnError::NoWorker => {
                write!(f, "no worker for the thread became ready within {} s", SPAWN_WAIT_MS / 1000)
            }
        }
    }
}

thread_local! {
    /// The slot of the pool worker this thread is, if it is one.
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Which pool worker runs the calling thread (`None` on the process's main thread).
#[must_use]
pub fn current_worker() -> Option<usize> {
    WORKER.with(Cell::get)
}

/// A process's warm pool of thread workers: [`MAX_THREADS_PER_PROCESS`] slots, each owned by
/// one worker once it joined. A hand-off is a CAS of an idle slot to busy, the job stored
/// under the slot's lock and one notify: no allocation, no message, no worker started.
pub struct ThreadPool {
    slots: [Slot; MAX_THREADS_PER_PROCESS],
    /// Jobs handed over and not finished: the program's live threads.
    live: AtomicUsize,
    /// Workers that joined.
    workers: AtomicUsize,
    /// Workers asked of the page that have not joined yet.
    asked: AtomicUsize,
    /// Bumped (and `changed` notified) whenever a slot becomes idle.
    idle_events: Mutex<u64>,
    changed: Condvar,
    closing: AtomicU32,
}

impl Default for ThreadPool {
    fn default() -> Self {
        ThreadPool::new()
    }
}

impl ThreadPool {
    #[must_use]
    pub const fn new() -> ThreadPool {
        ThreadPool {
            slots: [const { Slot::new() }; MAX_THREADS_PER_PROCESS],
            live: AtomicUsize::new(0),
            workers: AtomicUsize::new(0),
            asked: AtomicUsize::new(0),
            idle_events: Mutex::new(0),
            changed: Condvar::new(),
            closing: AtomicU32::new(0),
        }
    }

    /// Live threads (handed over, not finished).
    #[must_use]
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Workers that joined.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.workers.load(Ordering::SeqCst)
    }

    /// Workers parked, waiting for a job.
    #[must_use]
    pub fn idle(&self) -> usize {
        self.slots.iter().filter(|s| s.state.load(Ordering::SeqCst) == IDLE).count()
    }

    /// The page is starting `n` workers for this pool (so they need not be asked for).
    pub fn expect(&self, n: u32) {
        self.asked.fetch_add(n as usize, Ordering::SeqCst);
    }

    /// A new worker takes a slot; `None` when every slot has its worker (the worker is
    /// not needed and may end).
    pub fn join(&self) -> Option<usize> {
        if self.closing.load(Ordering::SeqCst) != 0 {
            return None;
        }
        let slot = self
            .slots
            .iter()
            .position(|s| s.state.compare_exchange(EMPTY, IDLE, Ordering::SeqCst, Ordering::SeqCst).is_ok());
        // Whether it found a slot or not, the page's answer has come.
        let _ = self.asked.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| Some(a.saturating_sub(1)));
        if slot.is_some() {
            self.workers.fetch_add(1, Ordering::SeqCst);
            self.became_idle();
        }
        slot
    }

    fn became_idle(&self) {
        *self.idle_events.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.changed.notify_all();
    }

    /// A joined worker's life: it parks until a job is handed to its slot, runs it, and
    /// parks again. Returns only after [`ThreadPool::close`] (native tests); in the browser
    /// a worker ends when the page terminates it.
    pub fn serve(&self, slot: usize) {
        WORKER.with(|w| w.set(Some(slot)));
        let me = &self.slots[slot];
        loop {
            let job = {
                let mut job = me.job.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if let Some(taken) = job.take() {
                        break taken;
                    }
                    if self.closing.load(Ordering::SeqCst) != 0 {
                        WORKER.with(|w| w.set(None));
                        return;
                    }
                    job = me.handed.wait(job).unwrap_or_else(PoisonError::into_inner);
                }
            };
            job();
            self.live.fetch_sub(1, Ordering::SeqCst);
            me.state.store(IDLE, Ordering::SeqCst);
            self.became_idle();
        }
    }

    /// Hands `job` to an idle worker and returns; when none is idle, asks for more
    /// (`grow(n)`: the page starts `n` workers that [`join`](ThreadPool::join)) and waits for
    /// one, checking `stop_requested` every few ms. Asks ahead too, when a hand-off leaves
    /// few idle, so that the next `spawn` finds one.
    ///
    /// # Errors
    /// [`SpawnError::TooMany`] past [`MAX_THREADS_PER_PROCESS`] live threads, `Stopped`
    /// when stop is requested meanwhile or the pool is closed, `NoWorker` when none came within [`SPAWN_WAIT_MS`].
    pub fn spawn(&self, job: Job, grow: &dyn Fn(u32), stop_requested: &dyn Fn() -> bool) -> Result<(), SpawnError> {
        if self.closing.load(Ordering::SeqCst) != 0 {
            return Err(SpawnError::Stopped);
        }
        self.live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| (l < MAX_THREADS_PER_PROCESS).then_some(l + 1))
            .map_err(|_| SpawnError::TooMany)?;
        let mut waited = Duration::ZERO;
        loop {
            let seen = *self.idle_events.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = self
                .slots
                .iter()
                .find(|s| s.state.compare_exchange(IDLE, BUSY, Ordering::SeqCst, Ordering::SeqCst).is_ok())
            {
                *slot.job.lock().unwrap_or_else(PoisonError::into_inner) = Some(job);
                slot.handed.notify_one();
                self.ask_if_low(grow);
                return Ok(());
            }
            self.ask_if_low(grow);
            if stop_requested() {
                self.live.fetch_sub(1, Ordering::SeqCst);
                return Err(SpawnError::Stopped);
            }
            if waited >= Duration::from_millis(u64::from(SPAWN_WAIT_MS)) {
                self.live.fetch_sub(1, Ordering::SeqCst);
                return Err(SpawnError::NoWorker);
            }
            let events = self.idle_events.lock().unwrap_or_else(PoisonError::into_inner);
            if *events == seen {
                let _ = self.changed.wait_timeout(events, WAIT_SLICE).unwrap_or_else(PoisonError::into_inner);
                waited += WAIT_SLICE;
            }
        }
    }

    /// Asks for [`POOL_GROW`] more workers when the idle ones and those already asked for
    /// are [`POOL_LOW`] or fewer, never past one worker per slot.
    fn ask_if_low(&self, grow: &dyn Fn(u32)) {
        let idle = self.idle();
        let workers = self.workers();
        let asked = self.asked.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |asked| {
            let room = MAX_THREADS_PER_PROCESS.saturating_sub(workers + asked);
            (idle + asked <= POOL_LOW as usize && room > 0).then(|| asked + room.min(POOL_GROW as usize))
        });
        if let Ok(before) = asked {
            let now = self.asked.load(Ordering::SeqCst);
            grow(u32::try_from(now.saturating_sub(before)).unwrap_or(POOL_GROW).max(1));
        }
    }

    /// The program has ended: every parked worker's `serve` returns (and a busy one's after
    /// its job), no worker joins and no thread starts any more. In the browser the workers
    /// then close themselves at once, where a terminated worker blocked in its wait would
    /// linger up to 2 s in Chromium.
    pub fn close(&self) {
        self.closing.store(1, Ordering::SeqCst);
        for slot in &self.slots {
            let _guard = slot.job.lock().unwrap_or_else(PoisonError::into_inner);
            slot.handed.notify_all();
        }
    }
}

/// A program's workers → the page. Every worker of a program (its process and the thread
/// workers the page started on its memory) posts these straight to the page.
///
/// Externally tagged (`{"Output": {…}}`), unlike `FromWorker`: an internally tagged enum is
/// read through serde's buffering `Content`, which doubled the code for every type inside
/// (measured: 18.8 KB for this enum's reader alone, of the runtime's +30 KB gzipped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProgramLetter {
    /// The process worker is up. Its `WebAssembly.Memory` rides beside these fields as
    /// `memory` (no serde value, set on the inner object): the page starts the thread
    /// workers on it, sets the kill word at `kill_addr` in it, and reads its live board
    /// ([`board`]) at `board_addr` while the program runs.
    Ready { at: f64, kill_addr: u32, board_addr: u32 },
    /// A thread worker joined the pool in `slot` (`None`: the pool had a worker per slot).
    Joined { slot: Option<u32>, at: f64 },
    /// Start `n` more thread workers: the pool runs low.
    Grow { n: u32 },
    /// Start another process of this program, running `source`: a runtime test program
    /// ([`Spawner`]), or with `child` a `multiprocessing` child (`program::Processes`).
    SpawnProcess { source: String, child: Option<ChildStart> },
    /// One write of the program, with its ticket (the page shows them in ticket order).
    Output { ticket: u32, chunk: OutputChunk },
    /// The program ended; `tickets` chunks were written in all (their text is not repeated
    /// in `result`).
    Done { result: ProgramResult, tickets: u32 },
    /// A thread of the process panicked (the panic hook's news, just before the trap).
    Crashed { message: String },
    /// The process warmed the VM's machine code (`core::py::vm::warm`) in `ms`: the page
    /// asks no later process to.
    Warmed { ms: f64 },
    /// A worker could not start (program.js writes it by hand; spawn.js's boot failure,
    /// `{type: "Failed", message}`, is read by the page as this too).
    Failed { message: String },
}

/// What a `multiprocessing` child needs besides the program's source (`program::ProcessStart`
/// less the source, plus its pid), page → its process worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildStart {
    pub pid: u32,
    pub name: String,
    pub payload: Vec<u8>,
    pub options: ProgramOptions,
    pub t0_ms: f64,
}

/// Why a process's kill word is set (the page sets it in the process's memory).
pub const KILL_NONE: u32 = 0;
pub const KILL_STOP: u32 = 1;
pub const KILL_TIMEOUT: u32 = 2;

/// What a process shares among its threads and with the page: the pool, the kill word the
/// page sets (Stop, the wall-time budget) and the output ticket that orders writes from every
/// thread.
pub struct Process {
    pub pool: ThreadPool,
    /// [`KILL_NONE`], [`KILL_STOP`] or [`KILL_TIMEOUT`]; set by the page, read by
    /// `Host::stop_requested` at every eval-breaker site.
    pub kill: AtomicU32,
    /// The next output chunk's sequence number.
    pub ticket: AtomicU32,
}

impl Default for Process {
    fn default() -> Self {
        Process::new()
    }
}

impl Process {
    #[must_use]
    pub const fn new() -> Process {
        Process { pool: ThreadPool::new(), kill: AtomicU32::new(KILL_NONE), ticket: AtomicU32::new(0) }
    }

    #[must_use]
    pub fn stop_requested(&self) -> bool {
        self.kill.load(Ordering::Relaxed) != KILL_NONE
    }

    /// Whether the page stopped the program for its time budget (`Host::budget_spent`).
    #[must_use]
    pub fn budget_spent(&self) -> bool {
        self.kill.load(Ordering::Relaxed) == KILL_TIMEOUT
    }

    /// Sleeps up to `ms`, in slices short enough that Stop is seen within a few ms (the
    /// page cannot notify a Rust condition variable; slices cost nothing that matters).
    pub fn sleep_ms(&self, ms: f64) {
        let never = (Mutex::new(()), Condvar::new());
        let mut left = ms.max(0.0);
        while left > 0.0 && !self.stop_requested() {
            let slice = left.min(WAIT_SLICE.as_secs_f64() * 1000.0);
            let guard = never.0.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = never.1.wait_timeout(guard, Duration::from_secs_f64(slice / 1000.0));
            left -= slice;
        }
    }

    /// A ticket for the next output chunk: the page shows chunks in ticket order.
    pub fn ticket(&self) -> u32 {
        self.ticket.fetch_add(1, Ordering::SeqCst)
    }
}

/// How far ahead of the next chunk a chunk may arrive (chunks in flight at once).
const MAX_OUT_OF_ORDER: usize = 1 << 16;

/// The page's side of the ordering: chunks reach it from several workers, each posting its
/// own, so two may arrive out of order; this gives them back in ticket order, holding a chunk
/// until every earlier ticket has arrived.
#[derive(Debug, Default)]
pub struct Reorder {
    next: u32,
    /// Chunks `next`, `next + 1`, … as far as one has come; `None` where one has not yet.
    waiting: VecDeque<Option<OutputChunk>>,
    /// Every chunk given back, in order.
    pub all: Vec<OutputChunk>,
}

impl Reorder {
    /// Takes chunk `ticket`; returns the chunks now ready, in order.
    pub fn take(&mut self, ticket: u32, chunk: OutputChunk) -> Vec<OutputChunk> {
        let Some(at) = ticket.checked_sub(self.next).map(|at| at as usize) else {
            return Vec::new(); // a duplicate: never sent twice, but never shown twice either
        };
        if at > MAX_OUT_OF_ORDER {
            return Vec::new(); // no writer of ours is that far ahead
        }
        if self.waiting.len() <= at {
            self.waiting.resize(at + 1, None);
        }
        self.waiting[at] = Some(chunk);
        let mut ready = Vec::new();
        while let Some(Some(_)) = self.waiting.front() {
            ready.extend(self.waiting.pop_front().flatten());
            self.next += 1;
        }
        self.all.extend(ready.iter().cloned());
        ready
    }

    /// Whether every ticket before `end` has arrived and been given back.
    #[must_use]
    pub fn complete(&self, end: u32) -> bool {
        self.next >= end
    }

    /// The end: gives back what is still held, in ticket order, skipping the tickets that
    /// never came (a writer killed between taking its ticket and posting).
    pub fn finish(&mut self) -> Vec<OutputChunk> {
        let rest: Vec<OutputChunk> = std::mem::take(&mut self.waiting).into_iter().flatten().collect();
        self.all.extend(rest.iter().cloned());
        rest
    }
}

/// What the runtime's test programs need to start other processes of their program and talk
/// to them (the VM's `multiprocessing` uses `program::Processes`, which the browser does not
/// implement yet: this is the arena it will be built on, docs §5). Every process shares one
/// [`arena::Arena`]; a child is started by the page, from `source`, and is told nothing
/// else: what it needs (its channels) is in its source or the arena.
pub trait Spawner: Send + Sync {
    /// The program's channel arena.
    fn arena(&self) -> &dyn arena::Arena;
    /// Starts a process of this program running `source`; returns once asked, not started.
    ///
    /// # Errors
    /// When the request cannot be made.
    fn spawn_process(&self, source: &str) -> Result<(), String>;
}

/// Runs a program on `host`: what a process worker does with the source it is given.
#[must_use]
pub fn run_program(
    source: &str,
    options: &ProgramOptions,
    host: Arc<dyn Host>,
    processes: &dyn Spawner,
) -> ProgramResult {
    if let Some(test) = test_programs::TestProgram::of(source) {
        return test.run(&host, processes);
    }
    crate::core::py::vm::run_program(source, options, host)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Native only, like every test here: clippy.toml's wasm rules do not apply.
mod tests {
    use super::*;
    use crate::core::program::Stream;

    fn chunk(text: &str) -> OutputChunk {
        OutputChunk { stream: Stream::Stdout, pid: 1, lane: 0, text: text.into(), t_ms: 0.0 }
    }

    fn texts(chunks: &[OutputChunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn letters_have_the_shape_program_js_writes() {
        let failed: ProgramLetter =
            serde_json::from_str(r#"{"Failed":{"message":"no"}}"#).expect("program.js's Failed reads");
        assert_eq!(failed, ProgramLetter::Failed { message: "no".into() });
    }

    #[test]
    fn reorder_holds_a_chunk_until_the_earlier_ones_came() {
        let mut r = Reorder::default();
        assert!(r.take(1, chunk("b")).is_empty());
        assert!(r.take(2, chunk("c")).is_empty());
        assert_eq!(texts(&r.take(0, chunk("a"))), ["a", "b", "c"]);
        assert!(r.complete(3));
        assert!(!r.complete(4));
        assert!(r.take(4, chunk("e")).is_empty());
        assert_eq!(texts(&r.finish()), ["e"]);
        assert_eq!(texts(&r.all), ["a", "b", "c", "e"]);
    }

    /// Starts `n` std threads that join `pool` and serve it, as the page's workers do.
    fn workers(pool: &Arc<ThreadPool>, n: u32) -> Vec<std::thread::JoinHandle<()>> {
        (0..n)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    if let Some(slot) = pool.join() {
                        pool.serve(slot);
                    }
                })
            })
            .collect()
    }

    fn wait_until(what: impl Fn() -> bool) {
        for _ in 0..5000 {
            if what() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("timed out");
    }

    #[test]
    fn jobs_run_on_distinct_workers_and_return_them_to_the_pool() {
        let pool = Arc::new(ThreadPool::new());
        pool.expect(4);
        let mut handles = workers(&pool, 4);
        wait_until(|| pool.idle() == 4);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(AtomicU32::new(0));
        let asked = Arc::new(AtomicU32::new(0));
        for _ in 0..4 {
            let (seen, release) = (seen.clone(), release.clone());
            let job: Job = Box::new(move || {
                seen.lock().unwrap().push(current_worker().unwrap());
                while release.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
            });
            pool.spawn(
                job,
                &|n| {
                    asked.fetch_add(n, Ordering::SeqCst);
                },
                &|| false,
            )
            .unwrap();
        }
        wait_until(|| seen.lock().unwrap().len() == 4);
        let mut slots = seen.lock().unwrap().clone();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), 4, "two live threads shared a worker");
        assert_eq!(pool.live(), 4);
        // The 2nd hand-off left 2 idle: 4 more were asked for, once (those asked count as idle).
        assert_eq!(asked.load(Ordering::SeqCst), POOL_GROW);
        release.store(1, Ordering::SeqCst);
        wait_until(|| pool.live() == 0 && pool.idle() == 4);
        pool.close();
        for h in handles.drain(..) {
            h.join().unwrap();
        }
    }

    #[test]
    fn a_spawn_with_none_idle_waits_for_the_worker_it_asked_for() {
        let pool = Arc::new(ThreadPool::new());
        let ran = Arc::new(AtomicU32::new(0));
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let spawner = {
            let (pool, ran) = (pool.clone(), ran.clone());
            std::thread::spawn(move || {
                let job: Job = Box::new(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                });
                pool.spawn(job, &|n| tx.send(n).unwrap(), &|| false)
            })
        };
        // The pool was empty: the spawn asked for workers, and waits for them.
        let n = rx.recv().unwrap();
        assert_eq!(n, POOL_GROW);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let handles = workers(&pool, n);
        assert_eq!(spawner.join().unwrap(), Ok(()));
        wait_until(|| ran.load(Ordering::SeqCst) == 1 && pool.live() == 0);
        pool.close();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn past_the_limit_a_spawn_fails_and_a_stopped_wait_ends() {
        let pool = Arc::new(ThreadPool::new());
        let release = Arc::new(AtomicU32::new(0));
        let grown = Arc::new(Mutex::new(Vec::new()));
        let grow = |n: u32| {
            grown.lock().unwrap().extend(workers(&pool, n));
        };
        let mut results = Vec::new();
        for _ in 0..MAX_THREADS_PER_PROCESS + 3 {
            let release = release.clone();
            let job: Job = Box::new(move || {
                while release.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
            });
            results.push(pool.spawn(job, &grow, &|| false));
        }
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, MAX_THREADS_PER_PROCESS);
        assert!(results[MAX_THREADS_PER_PROCESS..].iter().all(|r| *r == Err(SpawnError::TooMany)));
        assert_eq!(pool.workers(), MAX_THREADS_PER_PROCESS, "one worker per live thread, no more");
        release.store(1, Ordering::SeqCst);
        wait_until(|| pool.live() == 0);
        pool.close();
        for h in grown.lock().unwrap().drain(..) {
            h.join().unwrap();
        }

        // No worker ever comes: a stop ends the wait.
        let empty = ThreadPool::new();
        let asks = AtomicU32::new(0);
        let stop = || asks.load(Ordering::SeqCst) > 0;
        let r = empty.spawn(
            Box::new(|| {}),
            &|_| {
                asks.fetch_add(1, Ordering::SeqCst);
            },
            &stop,
        );
        assert_eq!(r, Err(SpawnError::Stopped));
        assert_eq!(empty.live(), 0);
    }

    #[test]
    fn sleep_ends_early_on_stop() {
        let process = Arc::new(Process::new());
        let p = process.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            p.kill.store(KILL_STOP, Ordering::SeqCst);
        });
        #[allow(clippy::disallowed_types)]
        let began = std::time::Instant::now();
        process.sleep_ms(5_000.0);
        assert!(began.elapsed() < Duration::from_millis(1_000));
        stopper.join().unwrap();
    }
}
