//! A student's Python program (issue 14): what it is given, what it needs from wherever it
//! runs, and what it gives back. The contract between the VM (`core::py`), the runtime
//! that starts its threads and processes (native threads in tests, Web Workers in the
//! browser) and the page (`threadlab.python`, the Code view).
//!
//! Times are milliseconds on the program's clock: `Host::now_ms`, shared by every thread and
//! process of one program (in the browser, `performance.timeOrigin + performance.now()`, so
//! the lab's timeline and the program's agree). In a [`ProgramResult`] they are relative to
//! the program's start.

use serde::{Deserialize, Serialize};

/// Limits past which a program may not start more threads (CPython's own message, with
/// ThreadLab's limit named, is raised as `RuntimeError: can't start new thread`).
pub const MAX_THREADS_PER_PROCESS: usize = 32;

/// The wall-time budget when the caller gives none.
pub const DEFAULT_TIMEOUT_MS: f64 = 60_000.0;

/// How a program is to run (`threadlab.python(source, options)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgramOptions {
    /// `sys.getswitchinterval()` at the start, in ms (CPython's default: 5).
    pub switch_interval_ms: f64,
    /// Wall-time budget; past it the program ends with a clear message naming the line.
    pub timeout_ms: f64,
    /// False: free-threaded, as CPython 3.14t (`python3.14t`, PEP 703): a process's
    /// threads run Python at the same time (docs/python-vm.md §4.1).
    pub gil: bool,
}

impl Default for ProgramOptions {
    fn default() -> Self {
        ProgramOptions {
            switch_interval_ms: crate::core::gil::DEFAULT_SWITCH_INTERVAL_MS,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            gil: true,
        }
    }
}

/// Where a piece of output went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One write of the program (a `print` is one write, its end included), tagged with who
/// wrote it: the terminal shows them in this order, each line tagged on hover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChunk {
    pub stream: Stream,
    /// The process's pid as the program sees it (`os.getpid()`).
    pub pid: u32,
    /// The writing thread's lane id (see [`Lane::id`]).
    pub lane: u32,
    pub text: String,
    pub t_ms: f64,
}

/// What one thread was doing, for the program's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneState {
    /// Running bytecode, holding the GIL.
    Running,
    /// Ready to run, waiting for the GIL.
    GilWait,
    /// In a blocking call that is I/O for the program (`time.sleep`), GIL released.
    Io,
    /// Blocked on a lock, an event, a queue, a join, a future, a pool (GIL released).
    Blocked,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaneSegment {
    pub state: LaneState,
    pub start_ms: f64,
    pub end_ms: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// A process's main thread (the program's first process: the main program).
    Main,
    Thread,
    /// A child process's main thread.
    Process,
}

/// One thread of one process, as the timeline draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// Unique within the program.
    pub id: u32,
    pub kind: LaneKind,
    /// `threading.current_thread().name`, or the process's name for its main thread.
    pub name: String,
    /// The pid of the process this thread belongs to.
    pub process: u32,
    pub segments: Vec<LaneSegment>,
}

/// The message of a program ended for its time budget of `timeout_ms`.
#[must_use]
pub fn over_budget_message(timeout_ms: f64) -> String {
    format!("the program ran longer than its time budget of {} s", timeout_ms / 1000.0)
}

/// What a program ended from outside says (its error's kind and message): `Stopped` when Stop
/// was pressed, `TimeoutError` when its time budget is spent, whether the page's timer or the
/// VM's own clock saw it first (the page sets one kill word for both; [`Host::budget_spent`]
/// tells them apart).
#[must_use]
pub fn outside_end(host: &dyn Host, timeout_ms: f64) -> (&'static str, String) {
    if host.stop_requested() && !host.budget_spent() {
        ("Stopped", "the program was stopped".to_owned())
    } else {
        ("TimeoutError", over_budget_message(timeout_ms))
    }
}

/// Why a program ended badly, where (1-based line and column; 0 when nowhere in the source).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramError {
    /// The Python exception type (`ValueError`, `SyntaxError`, …), or ThreadLab's
    /// (`TimeoutError` for the wall-time budget, `Stopped` for Stop, `Crashed` for a trap).
    pub kind: String,
    pub message: String,
    pub line: u32,
    pub col: u32,
}

/// What `threadlab.python` resolves to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProgramResult {
    /// stdout and stderr merged in the order written, as `python3 -u prog.py 2>&1` shows them.
    pub stdout: String,
    pub output: Vec<OutputChunk>,
    /// The main process's exit code (0, 1 after an uncaught exception, n after `os._exit(n)`).
    pub exit_code: i32,
    pub wall_ms: f64,
    /// GIL hand-overs from one thread to another, summed over the program's processes.
    pub gil_switches: u64,
    pub lanes: Vec<Lane>,
    pub error: Option<ProgramError>,
}

/// What a thread tells the page while the program runs ([`Host::show`]): the Code view
/// marks each thread's line in the editor and grows the timeline from it
/// (`core::runtime::board`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Live<'a> {
    /// The thread exists, not running yet.
    Started {
        name: &'a str,
        kind: LaneKind,
    },
    State(LaneState),
    /// The line its innermost frame is on (1-based).
    Line(u32),
    /// The thread has ended: its slot is free again.
    Ended,
}

/// What a running program needs from wherever it runs: native threads in `cargo test`,
/// Web Workers sharing the process's wasm memory in the browser. One `Host` per process;
/// every thread of that process uses it (hence `Send + Sync`).
///
/// The VM never blocks the page: in the browser every method is called from a worker.
pub trait Host: Send + Sync {
    /// The program's clock, in ms (see the module's note).
    fn now_ms(&self) -> f64;

    /// Runs `job` on a new thread of this process (same memory, same heap): the body of a
    /// `threading.Thread` after `start()`. Returns once the job is handed over, not when it
    /// has run. The browser takes a warm worker (`py.thread_start_ms` ≤ 1 ms); when none is
    /// idle it may wait for one, but never while holding the GIL: the caller releases it.
    ///
    /// # Errors
    /// Why no thread could be started (the VM raises `RuntimeError: can't start new thread`).
    fn spawn_thread(&self, job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String>;

    /// One write of the program's output (`chunk.text` may hold several lines).
    fn write(&self, chunk: OutputChunk);

    /// Whether the program must end now (Stop, or a budget the runtime enforces): the VM
    /// checks it at every eval-breaker site and wakes from every blocking wait to check it.
    fn stop_requested(&self) -> bool;

    /// Whether the stop [`Host::stop_requested`] reports is the time budget's: the page's
    /// timer sets the same word as Stop, with its reason, a moment before the VM's own clock
    /// would see the budget spent. The VM then ends with `TimeoutError`, not `Stopped`
    /// ([`outside_end`]). True only while `stop_requested` is true too.
    fn budget_spent(&self) -> bool {
        false
    }

    /// Sleeps up to `ms` or until [`Host::stop_requested`] turns true, whichever is first.
    fn sleep_ms(&self, ms: f64);

    /// Child processes and channels, where this host has them (`multiprocessing` raises
    /// `RuntimeError:` [`NO_PROCESSES`] otherwise).
    fn processes(&self) -> Option<&dyn Processes> {
        None
    }

    /// News for the page's live view of thread `lane`. Called when a thread starts, ends
    /// or changes state, before each blocking call and every 1,024 eval-breaker sites
    /// with its line: cheap, never blocking. Hosts without a live view ignore it.
    fn show(&self, _lane: u32, _news: Live<'_>) {}
}

/// Why a host cannot start processes (the browser's, until its process workers land):
/// raised as `RuntimeError` by `multiprocessing` and `ProcessPoolExecutor`.
pub const NO_PROCESSES: &str = "multiprocessing in the browser is not supported yet";

/// A child process to start with the **spawn** method (docs/python-vm.md §5): it gets the
/// program's source, runs its top level as `__mp_main__`, then runs `payload`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessStart {
    pub source: String,
    /// `multiprocessing.current_process().name` in the child (`Process-1`, …).
    pub name: String,
    /// What to run after the top level, pickled by the parent (`core::py::vm::mp`):
    /// a target and its arguments, or a pool worker's channels.
    pub payload: Vec<u8>,
    pub options: ProgramOptions,
    /// The program's start on [`Host::now_ms`]'s clock: a child's times are relative to it.
    pub t0_ms: f64,
}

/// What a child process left when it ended: the parent's result gathers them.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessReport {
    pub pid: u32,
    pub exit_code: i32,
    /// Its lanes (its main thread is of kind [`LaneKind::Process`]), relative to the program's start.
    pub lanes: Vec<Lane>,
    /// What it wrote, `t_ms` relative to the program's start.
    pub output: Vec<OutputChunk>,
    pub gil_switches: u64,
}

/// Processes and the channels between them (docs/python-vm.md §5): what `multiprocessing`
/// needs from where the program runs. Separate from [`Host`] so that a host without
/// processes (the browser's, for now) needs nothing: every method's default says
/// [`NO_PROCESSES`].
///
/// Channels carry bytes only (pickled values): no Python value crosses between processes.
/// Every wait here is done with the caller's GIL released, and returns early when
/// [`Host::stop_requested`] turns true.
pub trait Processes {
    /// Starts a child process; returns its pid (`os.getpid()` in the child).
    ///
    /// # Errors
    /// Why no process could be started (raised as `RuntimeError`).
    fn start_process(&self, start: ProcessStart) -> Result<u32, String> {
        let _ = start;
        Err(NO_PROCESSES.into())
    }

    /// Waits up to `timeout_ms` (`None`: until it ends, or Stop) for process `pid` to end:
    /// its exit code, or `None` while it runs.
    fn wait_process(&self, pid: u32, timeout_ms: Option<f64>) -> Option<i32> {
        let _ = (pid, timeout_ms);
        None
    }

    /// `Process.terminate()`: the child ends at its next eval breaker or wait (exit code -15).
    fn terminate_process(&self, pid: u32) {
        let _ = pid;
    }

    /// A new channel (a `multiprocessing.Queue`, a pool's tasks or results).
    ///
    /// # Errors
    /// Why none could be made (raised as `RuntimeError`).
    fn channel_new(&self) -> Result<u32, String> {
        Err(NO_PROCESSES.into())
    }

    /// Appends one message to channel `id` (never blocks: channels are unbounded).
    ///
    /// # Errors
    /// An unknown channel.
    fn channel_send(&self, id: u32, message: Vec<u8>) -> Result<(), String> {
        let _ = (id, message);
        Err(NO_PROCESSES.into())
    }

    /// Takes the oldest message of channel `id`, waiting up to `timeout_ms` (`None`: until one
    /// comes, or Stop); `None` when none came.
    fn channel_recv(&self, id: u32, timeout_ms: Option<f64>) -> Option<Vec<u8>> {
        let _ = (id, timeout_ms);
        None
    }

    /// Messages waiting in channel `id` (`Queue.empty()`, `qsize()`).
    fn channel_len(&self, id: u32) -> usize {
        let _ = id;
        0
    }

    /// The children that have ended so far, in the order they ended; each is given once.
    fn take_reports(&self) -> Vec<ProcessReport> {
        Vec::new()
    }
}
