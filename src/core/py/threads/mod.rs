//! Python threads under the real GIL (issue 14, docs/python-vm.md §1 and §4).
//!
//! The VM's loop runs one thread's bytecode and returns to its **driver** ([`drive`]) for
//! two reasons only: at an eval-breaker site when the [`EvalBreaker`] is pending
//! ([`Exit::Breaker`]: the driver drops the GIL and takes it back, CPython's
//! `drop_gil`/`take_gil`, so another thread runs), and when a builtin must block
//! ([`Exit::Block`]: the driver releases the GIL, waits on one of the primitives of
//! [`sync`], takes the GIL back and resumes the loop with the [`Resumed`] result). Between
//! those returns no other thread can run Python: that is what makes `counter += 1` lose
//! nothing and `v = counter; time.sleep(0); counter = v + 1` lose many, as in CPython 3.11.
//!
//! The driver records each thread's lane (Running while it holds the GIL, GilWait while it
//! waits for it, Io in `sleep`, Blocked in a lock, event, queue or join) on the host's
//! clock; [`Process`] gathers the lanes and the GIL's hand-overs for the program's result.

mod driver;
pub mod futures;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub(crate) mod prelude;
mod process;
pub mod sync;
pub mod threading;
pub mod vmrun;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests_vm;

pub use driver::{drive, Ended};
pub use process::{EvalBreaker, GilGuard, Phase, Process, PyThread};
pub use sync::{Barrier, CondLock, Condition, Event, Lock, Queue, RLock, Raise, Semaphore, Stopped, Waiter};

use crate::core::program::LaneState;
use std::sync::Arc;

/// One thread's VM state (CPython's `PyThreadState`: its frames and stacks), which the
/// driver runs against the process's shared interpreter while it holds the GIL.
pub trait Runnable: Send + Sized + 'static {
    /// The interpreter the GIL guards (heap, modules, globals), one per process.
    type Interp: Send + 'static;
    /// A Python value as the VM holds it (what a `Queue` carries).
    type Value: Send + 'static;

    /// Runs bytecode until the thread ends, blocks, or its eval breaker is pending at a
    /// breaker site. `resumed` is the result of the previous [`Exit::Block`], to push (or
    /// raise) before going on.
    fn run(&mut self, interp: &mut Self::Interp, resumed: Option<Resumed>) -> Exit<Self>;

    /// Called under the GIL just before this thread lets it go (a switch, a blocking call,
    /// or, for a thread being started, before it first runs): its values must now be
    /// reachable from the interpreter, whose collector may run in another thread
    /// meanwhile (the VM moves its `ThreadState` into `Interp::parked`).
    fn park(&mut self, _interp: &mut Self::Interp) {}

    /// Called once the GIL is held again, before [`Runnable::run`]: undoes [`Runnable::park`].
    fn unpark(&mut self, _interp: &mut Self::Interp) {}

    /// Free-threaded: after an [`Exit::Breaker`], under the lock, whether the loop asked to
    /// run on without the lock (the VM's `free::run_local`); if so it is set up for it.
    fn go_local(&mut self, _interp: &mut Self::Interp) -> bool {
        false
    }

    /// Free-threaded: runs on without the lock, after [`Runnable::go_local`] said so.
    fn run_local(&mut self) {}

    /// Free-threaded: the lock is held again after [`Runnable::run_local`].
    fn come_back(&mut self, _interp: &mut Self::Interp) {}

    /// Writes what the driver prints for an uncaught exception, under the GIL, if the VM
    /// keeps its own output (its cap, its collected text); false lets the driver write it
    /// to the host.
    fn write_stderr(&mut self, _interp: &mut Self::Interp, _text: &str) -> bool {
        false
    }
}

/// Why the VM loop returned to the driver.
pub enum Exit<R: Runnable> {
    /// At an eval-breaker site with [`EvalBreaker::pending`] true.
    Breaker,
    /// A builtin must wait, GIL released.
    Block(BlockOp<R>),
    /// The thread's code returned.
    Done,
    /// The whole process must end now (Stop, a budget, `os._exit`): the VM keeps the
    /// reason; every thread of the process stops at its next breaker or wait.
    Fatal,
    /// An exception nobody caught, formatted as CPython's traceback (`Traceback (most
    /// recent call last):` … `ValueError: boom`, newline-terminated). The driver prints it
    /// to stderr, after `Exception in thread NAME:` for a `threading.Thread`.
    Uncaught(String),
}

/// A blocking call, as the VM hands it to the driver. The VM tries the non-blocking form
/// first under the GIL (`Lock::try_acquire`, `Queue::try_get`, …), as CPython does, and
/// blocks only when that fails.
///
/// No Python value crosses a wait: the heap's collector runs under the GIL while this
/// thread waits without it, so an item in flight (taken from a queue, not yet on a stack)
/// would be invisible to it. Queue waits therefore only wait, and the VM moves the item
/// under the GIL.
pub enum BlockOp<R: Runnable> {
    /// `Thread.start()`: run `state` (the target's call, set up) on a new thread.
    Start { thread: Arc<PyThread>, state: R },
    /// Several threads at once (a pool's workers): [`Resumed::None`], or the first error.
    StartAll { starts: Vec<(Arc<PyThread>, R)> },
    /// `time.sleep(secs)`.
    Sleep { secs: f64 },
    /// `Lock.acquire(True, timeout)`: [`Resumed::Bool`].
    Lock { lock: Arc<Lock>, timeout: Option<f64> },
    /// `RLock.acquire(True, timeout)` by thread `owner`: [`Resumed::Bool`].
    RLock { lock: Arc<RLock>, owner: u64, timeout: Option<f64> },
    /// `Condition.wait(timeout)` by thread `owner`: [`Resumed::Bool`], or `RuntimeError`.
    Condition { cond: Arc<Condition>, owner: u64, timeout: Option<f64> },
    /// `Event.wait(timeout)`: [`Resumed::Bool`].
    Event { event: Arc<Event>, timeout: Option<f64> },
    /// `Semaphore.acquire(True, timeout)`: [`Resumed::Bool`].
    Semaphore { sem: Arc<Semaphore>, timeout: Option<f64> },
    /// `Barrier.wait(timeout)`: [`Resumed::Index`], or `BrokenBarrierError`.
    Barrier { barrier: Arc<Barrier>, timeout: Option<f64> },
    /// `Queue.get(True, timeout)` after `try_get` found it empty: waits for an item,
    /// [`Resumed::Bool`] (false: the deadline passed, raise `queue.Empty`; true: try
    /// again, under the GIL). `deadline` is absolute, on the host's clock
    /// ([`sync::deadline`]), so that a retry waits only what is left.
    QueueGet { queue: Arc<Queue<R::Value>>, deadline: Option<f64> },
    /// `Queue.put(item, True, timeout)` after `try_put` found it full: the same, for room
    /// (false: `queue.Full`).
    QueuePut { queue: Arc<Queue<R::Value>>, deadline: Option<f64> },
    /// `Queue.join()`.
    QueueJoin { queue: Arc<Queue<R::Value>> },
    /// `Thread.join(timeout)` (check [`PyThread::check_join`] first).
    Join { thread: Arc<PyThread>, timeout: Option<f64> },
    /// Any other wait (a future's result, a pool's map): its lane state and the wait.
    #[allow(clippy::type_complexity)]
    Custom { state: LaneState, wait: Box<dyn FnOnce(&Process<R::Interp>) -> Result<Resumed, Stopped> + Send> },
}

/// What a blocking call gives back to the VM.
#[derive(Debug)]
pub enum Resumed {
    /// The call returns `None`.
    None,
    Bool(bool),
    /// `Barrier.wait`'s index.
    Index(usize),
    /// An exception to raise: `kind` is the class (`Empty` is `queue.Empty`).
    Raise(Raise),
}
