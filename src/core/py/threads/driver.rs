//! The driver of one Python thread: runs the VM while holding the GIL, lets the GIL go at
//! the eval breaker when asked to, and around every blocking call.

use super::process::GilGuard;
use super::sync::{self, Stopped};
use super::{BlockOp, Exit, Resumed, Runnable};
use crate::core::program::{LaneKind, LaneState, Stream};

/// How a thread's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Its code returned.
    Returned,
    /// An exception nobody caught (already printed).
    Raised,
    /// Stop, a budget, or the process's exit ended it mid-way.
    Stopped,
    /// It ended the process ([`Exit::Fatal`]).
    Fatal,
}

/// Runs `state` to its end on the thread that holds `g`.
pub fn drive<R: Runnable>(g: &mut GilGuard<'_, R::Interp>, state: &mut R) -> Ended {
    let mut resumed = None;
    loop {
        match state.run(g.interp(), resumed.take()) {
            Exit::Breaker => {
                if state.go_local(g.interp()) {
                    // Free-threaded: the lock is let go while the thread runs on its own;
                    // its lane stays Running (it is).
                    g.unlocked(|| state.run_local());
                    state.come_back(g.interp());
                    continue;
                }
                if sync::Waiter::stopping(g.process()) {
                    return Ended::Stopped;
                }
                if g.process().gil().drop_requested() {
                    state.park(g.interp());
                    g.yield_if_requested();
                    state.unpark(g.interp());
                }
            }
            Exit::Block(op) => {
                state.park(g.interp());
                let r = perform(g, op);
                state.unpark(g.interp());
                match r {
                    Ok(r) => resumed = Some(r),
                    Err(Stopped) => return Ended::Stopped,
                }
            }
            Exit::Done => return Ended::Returned,
            Exit::Fatal => {
                g.process().exit_now();
                return Ended::Fatal;
            }
            Exit::Uncaught(traceback) => {
                let thread = g.thread().clone();
                let text = if thread.kind() == LaneKind::Thread {
                    // `threading.excepthook`'s words; the program goes on.
                    format!("Exception in thread {}:\n{traceback}", thread.name())
                } else {
                    traceback
                };
                if !state.write_stderr(g.interp(), &text) {
                    g.write(Stream::Stderr, text);
                }
                return Ended::Raised;
            }
        }
    }
}

/// One blocking call, GIL released while it waits; its result for the VM.
fn perform<R: Runnable>(g: &mut GilGuard<'_, R::Interp>, op: BlockOp<R>) -> Result<Resumed, Stopped> {
    let state = op.lane_state();
    match op {
        BlockOp::Start { thread, state: body } => {
            let proc = g.process();
            match proc.start(g, &thread, body) {
                Ok(r) => r.map(|()| Resumed::None),
                Err(e) => Ok(Resumed::Raise(e)),
            }
        }
        BlockOp::StartAll { starts } => {
            let proc = g.process();
            for (thread, body) in starts {
                match proc.start(g, &thread, body) {
                    Ok(Ok(())) => {}
                    Ok(Err(Stopped)) => return Err(Stopped),
                    Err(e) => return Ok(Resumed::Raise(e)),
                }
            }
            Ok(Resumed::None)
        }
        BlockOp::Sleep { secs } => g.allow_threads(state, |p| {
            if secs <= 0.0 {
                // `time.sleep(0)` still lets the GIL go (CPython 3.11 calls `select` with no
                // timeout inside Py_BEGIN_ALLOW_THREADS): the race of the corpus lives here.
                p.host().sleep_ms(0.0);
                return Ok(Resumed::None);
            }
            let host = p.host().clone();
            sync::sleep(p, secs, &|ms| host.sleep_ms(ms)).map(|()| Resumed::None)
        }),
        BlockOp::Lock { lock, timeout } => g.allow_threads(state, |p| lock.acquire(p, timeout).map(Resumed::Bool)),
        BlockOp::RLock { lock, owner, timeout } => {
            g.allow_threads(state, |p| lock.acquire(p, owner, timeout).map(Resumed::Bool))
        }
        BlockOp::Condition { cond, owner, timeout } => g.allow_threads(state, |p| {
            cond.wait(p, owner, timeout).map(|r| match r {
                Ok(b) => Resumed::Bool(b),
                Err(e) => Resumed::Raise(e),
            })
        }),
        BlockOp::Event { event, timeout } => g.allow_threads(state, |p| event.wait(p, timeout).map(Resumed::Bool)),
        BlockOp::Semaphore { sem, timeout } => g.allow_threads(state, |p| sem.acquire(p, timeout).map(Resumed::Bool)),
        BlockOp::Barrier { barrier, timeout } => g.allow_threads(state, |p| {
            barrier.wait(p, timeout).map(|r| match r {
                Ok(i) => Resumed::Index(i),
                Err(e) => Resumed::Raise(e),
            })
        }),
        BlockOp::QueueGet { queue, deadline } => {
            g.allow_threads(state, |p| queue.wait_not_empty(p, deadline).map(Resumed::Bool))
        }
        BlockOp::QueuePut { queue, deadline } => {
            g.allow_threads(state, |p| queue.wait_not_full(p, deadline).map(Resumed::Bool))
        }
        BlockOp::QueueJoin { queue } => g.allow_threads(state, |p| queue.join(p).map(|()| Resumed::None)),
        BlockOp::Join { thread, timeout } => {
            g.allow_threads(state, |p| thread.join(p, timeout).map(|()| Resumed::None))
        }
        BlockOp::Custom { wait, .. } => g.allow_threads(state, wait),
    }
}

impl<R: Runnable> BlockOp<R> {
    /// What the thread's lane shows while it waits.
    #[must_use]
    pub fn lane_state(&self) -> LaneState {
        match self {
            BlockOp::Sleep { .. } => LaneState::Io,
            BlockOp::Custom { state, .. } => *state,
            BlockOp::Start { .. }
            | BlockOp::StartAll { .. }
            | BlockOp::Lock { .. }
            | BlockOp::RLock { .. }
            | BlockOp::Condition { .. }
            | BlockOp::Event { .. }
            | BlockOp::Semaphore { .. }
            | BlockOp::Barrier { .. }
            | BlockOp::QueueGet { .. }
            | BlockOp::QueuePut { .. }
            | BlockOp::QueueJoin { .. }
            | BlockOp::Join { .. } => LaneState::Blocked,
        }
    }
}
