//! The Global Interpreter Lock, modelled on CPython's `Python/ceval_gil.c`.
//!
//! The rules (all in [`GilCore`], shared by the real lock and the simulation):
//! - a "Python thread" runs bytecode only while it holds the GIL; it checks for a
//!   drop request between slices of work (CPython's eval breaker, between bytecodes);
//! - a thread that wants the GIL waits up to the **switch interval** (5 ms by default,
//!   `sys.getswitchinterval()`); if no switch happened meanwhile it sets a **drop
//!   request**, and the holder gives the GIL up at its next slice boundary;
//! - after a forced drop the old holder waits until another thread has taken the GIL
//!   (CPython's `FORCE_SWITCHING`), so it cannot grab it straight back: nobody starves;
//! - a blocking I/O wait releases the GIL first and takes it back afterwards
//!   (`Py_BEGIN_ALLOW_THREADS`).
//!
//! [`Gil`] is the real lock (a `Mutex` and `Condvar`s, in the process's shared wasm
//! memory when threads run in the browser). [`sim`] replays the same rules on a fake
//! clock so that the model's properties are tested deterministically.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// CPython's default switch interval (`sys.getswitchinterval()` = 0.005).
pub const DEFAULT_SWITCH_INTERVAL_MS: f64 = 5.0;
pub const MIN_SWITCH_INTERVAL_MS: f64 = 0.1;
pub const MAX_SWITCH_INTERVAL_MS: f64 = 100.0;

/// The GIL's bookkeeping, without any waiting: the rules, in one place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GilCore {
    holder: Option<u32>,
    last_holder: Option<u32>,
    drop_request: bool,
    /// Counts every take, like CPython's `gil->switch_number`.
    switch_number: u64,
    /// Takes by a thread other than the previous holder.
    handovers: u64,
    waiters: u32,
}

impl GilCore {
    #[must_use]
    pub fn holder(&self) -> Option<u32> {
        self.holder
    }

    #[must_use]
    pub fn switch_number(&self) -> u64 {
        self.switch_number
    }

    #[must_use]
    pub fn handovers(&self) -> u64 {
        self.handovers
    }

    #[must_use]
    pub fn drop_requested(&self) -> bool {
        self.drop_request
    }

    #[must_use]
    pub fn waiters(&self) -> u32 {
        self.waiters
    }

    /// Takes the GIL if it is free; returns whether `me` now holds it.
    pub fn try_take(&mut self, me: u32) -> bool {
        if self.holder.is_some() {
            return false;
        }
        self.holder = Some(me);
        self.switch_number += 1;
        if self.last_holder.is_some_and(|last| last != me) {
            self.handovers += 1;
        }
        self.last_holder = Some(me);
        // The request was for whoever held it before: served.
        self.drop_request = false;
        true
    }

    /// A waiter's switch interval has passed. If no switch happened since it began
    /// waiting (`seen` = the switch number then), it asks the holder to drop.
    pub fn interval_elapsed(&mut self, seen: u64) {
        if self.holder.is_some() && self.switch_number == seen {
            self.drop_request = true;
        }
    }

    /// Gives the GIL up.
    ///
    /// # Panics
    /// If `me` does not hold it: that would be a bug in the caller.
    pub fn release(&mut self, me: u32) {
        assert_eq!(self.holder, Some(me), "thread {me} released a GIL it does not hold");
        self.holder = None;
    }

    pub fn wait_begins(&mut self) {
        self.waiters += 1;
    }

    pub fn wait_ends(&mut self) {
        self.waiters = self.waiters.saturating_sub(1);
    }

    /// After a forced drop by `me`: must `me` still wait for someone else to take it?
    #[must_use]
    pub fn must_let_another_take(&self, me: u32) -> bool {
        self.waiters > 0 && self.last_holder == Some(me)
    }
}

/// What a Python thread was doing, for the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentState {
    /// Running bytecode, holding the GIL (or free-threaded).
    Running,
    /// Ready to run, waiting for the GIL.
    GilWait,
    /// In a blocking I/O call, GIL released.
    Io,
}

/// A stretch of one state, in absolute ms on the shared clock (relative once in a result).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub state: SegmentState,
    pub start_ms: f64,
    pub end_ms: f64,
}

/// The real GIL, for threads that really run at once.
pub struct Gil {
    core: Mutex<GilCore>,
    /// Signalled when the GIL is released (CPython's `gil->cond`).
    released: Condvar,
    /// Signalled when the GIL is taken (CPython's `gil->switch_cond`).
    taken: Condvar,
    /// A copy of the drop request the holder polls without the mutex (the eval breaker);
    /// shared with the VM's loop, which polls it at its eval-breaker sites.
    drop_flag: Arc<AtomicBool>,
    interval_us: AtomicU64,
}

impl Default for Gil {
    fn default() -> Self {
        Gil::new(DEFAULT_SWITCH_INTERVAL_MS)
    }
}

impl Gil {
    #[must_use]
    pub fn new(switch_interval_ms: f64) -> Gil {
        let gil = Gil {
            core: Mutex::new(GilCore::default()),
            released: Condvar::new(),
            taken: Condvar::new(),
            drop_flag: Arc::new(AtomicBool::new(false)),
            interval_us: AtomicU64::new(0),
        };
        gil.set_switch_interval(switch_interval_ms);
        gil
    }

    /// Like `sys.setswitchinterval`, in ms (clamped to 0.1–100).
    pub fn set_switch_interval(&self, ms: f64) {
        let ms = if ms.is_finite() {
            ms.clamp(MIN_SWITCH_INTERVAL_MS, MAX_SWITCH_INTERVAL_MS)
        } else {
            DEFAULT_SWITCH_INTERVAL_MS
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.interval_us.store((ms * 1000.0).round() as u64, Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, GilCore> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the GIL if it is free, without waiting; returns whether `me` holds it now.
    pub fn try_acquire(&self, me: u32) -> bool {
        let taken = self.lock().try_take(me);
        if taken {
            self.drop_flag.store(false, Ordering::Release);
            self.taken.notify_all();
        }
        taken
    }

    /// Blocks until `me` holds the GIL (CPython's `take_gil`).
    pub fn acquire(&self, me: u32) {
        self.acquire_counted(me, false);
    }

    /// Counts a thread that is being started as waiting for the GIL already, before it
    /// runs: it is runnable from then on (as a thread is once `pthread_create` returned),
    /// so a holder's forced drop waits for it instead of taking the GIL straight back while
    /// the host is still bringing the thread up. It then calls [`Gil::acquire_expected`]
    /// (or [`Gil::unexpect`] if it could not start).
    pub fn expect(&self) {
        self.lock().wait_begins();
    }

    /// Undoes [`Gil::expect`] for a thread that could not start.
    pub fn unexpect(&self) {
        self.lock().wait_ends();
        self.released.notify_all();
        self.taken.notify_all();
    }

    /// [`Gil::acquire`] for a thread counted by [`Gil::expect`].
    pub fn acquire_expected(&self, me: u32) {
        self.acquire_counted(me, true);
    }

    fn acquire_counted(&self, me: u32, counted: bool) {
        let mut core = self.lock();
        if core.try_take(me) {
            if counted {
                core.wait_ends();
            }
        } else {
            if !counted {
                core.wait_begins();
            }
            let interval = Duration::from_micros(self.interval_us.load(Ordering::Relaxed));
            loop {
                let seen = core.switch_number();
                let (guard, wait) = self.released.wait_timeout(core, interval).unwrap_or_else(PoisonError::into_inner);
                core = guard;
                if core.try_take(me) {
                    break;
                }
                if wait.timed_out() {
                    core.interval_elapsed(seen);
                    if core.drop_requested() {
                        self.drop_flag.store(true, Ordering::Release);
                    }
                }
            }
            core.wait_ends();
        }
        self.drop_flag.store(false, Ordering::Release);
        self.taken.notify_all();
    }

    /// Whether the holder has been asked to drop the GIL (checked between slices).
    #[must_use]
    pub fn drop_requested(&self) -> bool {
        self.drop_flag.load(Ordering::Acquire)
    }

    /// The drop request's flag itself, for a loop that polls it without a call (the VM's
    /// `Interp::drop_request`). Only the GIL sets and clears it; a holder may set it to
    /// make itself stop at its next breaker (a process ending under its daemon threads).
    #[must_use]
    pub fn drop_flag(&self) -> Arc<AtomicBool> {
        self.drop_flag.clone()
    }

    /// Gives the GIL up (CPython's `drop_gil`). After a forced drop (`forced`, on a
    /// request) waits until another thread has taken it, so `me` cannot take it back
    /// first (`FORCE_SWITCHING`).
    pub fn release(&self, me: u32, forced: bool) {
        let mut core = self.lock();
        core.release(me);
        self.released.notify_one();
        if forced {
            while core.holder().is_none() && core.must_let_another_take(me) {
                core = self.taken.wait(core).unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    /// How many threads wait in [`Gil::acquire`] now.
    #[must_use]
    pub fn waiters(&self) -> u32 {
        self.lock().waiters()
    }

    /// How many times the GIL passed from one thread to another.
    #[must_use]
    pub fn handovers(&self) -> u64 {
        self.lock().handovers()
    }
}

pub mod sim;

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Native only, like every test here: clippy.toml's wasm rules do not apply.
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn the_core_hands_over_and_counts() {
        let mut gil = GilCore::default();
        assert!(gil.try_take(1));
        assert!(!gil.try_take(2), "never two holders");
        let seen = gil.switch_number();
        gil.interval_elapsed(seen);
        assert!(gil.drop_requested());
        gil.release(1);
        assert!(gil.try_take(2));
        assert!(!gil.drop_requested(), "a take serves the request");
        assert_eq!(gil.handovers(), 1);
        gil.release(2);
        assert!(gil.try_take(2));
        assert_eq!(gil.handovers(), 1, "taking it back is no hand-over");
    }

    #[test]
    fn no_drop_request_when_a_switch_happened_meanwhile() {
        let mut gil = GilCore::default();
        assert!(gil.try_take(1));
        let seen = gil.switch_number();
        gil.release(1);
        assert!(gil.try_take(3));
        gil.interval_elapsed(seen);
        assert!(!gil.drop_requested());
    }

    #[test]
    #[should_panic(expected = "does not hold")]
    fn releasing_a_gil_you_do_not_hold_is_a_bug() {
        let mut gil = GilCore::default();
        assert!(gil.try_take(1));
        gil.release(2);
    }

    /// A thread being started counts as a waiter: the holder's forced drop waits for it
    /// rather than taking the GIL straight back.
    #[test]
    fn an_expected_thread_gets_the_gil_at_the_next_forced_drop() {
        let gil = Arc::new(Gil::new(5.0));
        gil.acquire(1);
        gil.expect();
        let late = {
            let gil = gil.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                gil.acquire_expected(2);
                gil.release(2, false);
            })
        };
        gil.release(1, true);
        gil.acquire(1);
        assert_eq!(gil.handovers(), 2, "1 took it back before the expected thread had it");
        assert_eq!(gil.waiters(), 0);
        gil.release(1, false);
        late.join().unwrap();
        gil.expect();
        gil.unexpect();
        gil.acquire(3);
        gil.release(3, true); // no one expected: no wait
    }

    /// Real threads: at most one ever runs "bytecode", and CPU threads take turns.
    #[test]
    fn real_threads_never_run_together_and_take_turns() {
        let gil = Arc::new(Gil::new(0.2));
        let inside = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..3)
            .map(|me| {
                let (gil, inside) = (gil.clone(), inside.clone());
                std::thread::spawn(move || {
                    let mut worst = 0;
                    gil.acquire(me);
                    for slice in 0..4000u32 {
                        if gil.drop_requested() {
                            gil.release(me, true);
                            gil.acquire(me);
                        }
                        worst = worst.max(inside.fetch_add(1, Ordering::SeqCst) + 1);
                        std::hint::black_box(crate::core::kernel::run_steps(u64::from(slice), 200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                    gil.release(me, false);
                    worst
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 1, "two threads ran bytecode at once");
        }
        assert!(gil.handovers() >= 2, "the GIL never changed hands");
    }
}
