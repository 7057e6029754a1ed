//! The blocking primitives of `threading` and `queue`, as plain Rust on std's `Mutex` and
//! `Condvar` (in the browser: futex waits on the process's shared memory, in a worker).
//!
//! None of them knows the GIL: the driver releases it before calling a blocking method and
//! takes it back after (`Py_BEGIN/END_ALLOW_THREADS`), and the VM tries the non-blocking
//! form first under the GIL, as CPython's `acquire_timed` does, so an uncontended
//! `with lock:` never lets the GIL go.
//!
//! Every wait wakes at least every [`POLL_MS`] to ask its [`Waiter`] whether the program is
//! being stopped (Stop, the wall-time budget, the process's exit): then it returns
//! [`Stopped`] and the thread unwinds without running more Python.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The longest a wait sleeps before it checks for Stop again.
pub const POLL_MS: f64 = 50.0;

/// The clock and the stop flag a wait consults.
pub trait Waiter {
    /// The program's clock, in ms.
    fn now_ms(&self) -> f64;
    /// Whether every wait must end now.
    fn stopping(&self) -> bool;
}

/// The program is being stopped: the wait ended without its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

/// A Python exception raised by a primitive: its type's name and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raise {
    pub kind: &'static str,
    pub message: String,
}

impl Raise {
    fn new(kind: &'static str, message: &str) -> Raise {
        Raise { kind, message: message.to_owned() }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Timeouts as Python gives them (seconds, `None` or negative for "forever" where Python
/// says so) turned into a deadline on the waiter's clock.
#[must_use]
pub fn deadline(now_ms: f64, timeout_s: Option<f64>) -> Option<f64> {
    timeout_s.filter(|t| *t >= 0.0).map(|t| now_ms + t * 1000.0)
}

/// Waits on `cv` while `blocked(&mut state)` holds, until `deadline` (ms, on `w`'s clock)
/// or Stop. Returns the guard and whether the condition cleared (false: timed out).
///
/// # Errors
/// [`Stopped`] when the program is being stopped.
pub fn wait_while<'a, T>(
    w: &dyn Waiter,
    cv: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<f64>,
    mut blocked: impl FnMut(&mut T) -> bool,
) -> Result<(MutexGuard<'a, T>, bool), Stopped> {
    loop {
        if !blocked(&mut guard) {
            return Ok((guard, true));
        }
        if w.stopping() {
            return Err(Stopped);
        }
        let slice = match deadline {
            Some(d) => {
                let left = d - w.now_ms();
                if left <= 0.0 {
                    return Ok((guard, false));
                }
                left.min(POLL_MS)
            }
            None => POLL_MS,
        };
        guard =
            cv.wait_timeout(guard, Duration::from_secs_f64(slice / 1000.0)).unwrap_or_else(PoisonError::into_inner).0;
    }
}

/// Sleeps `secs` on the waiter's clock, waking every [`POLL_MS`] for Stop (`time.sleep`).
///
/// # Errors
/// [`Stopped`] when the program is being stopped.
pub fn sleep(w: &dyn Waiter, secs: f64, nap: &dyn Fn(f64)) -> Result<(), Stopped> {
    let until = w.now_ms() + secs.max(0.0) * 1000.0;
    loop {
        if w.stopping() {
            return Err(Stopped);
        }
        let left = until - w.now_ms();
        if left <= 0.0 {
            return Ok(());
        }
        nap(left.min(POLL_MS));
    }
}

/// `threading.Lock` (CPython's `_thread.lock`): anyone may release it.
#[derive(Debug, Default)]
pub struct Lock {
    locked: Mutex<bool>,
    freed: Condvar,
}

impl Lock {
    #[must_use]
    pub fn new() -> Lock {
        Lock::default()
    }

    /// The non-blocking attempt (`acquire(False)`), made under the GIL first.
    pub fn try_acquire(&self) -> bool {
        let mut locked = lock(&self.locked);
        !std::mem::replace(&mut *locked, true)
    }

    /// `acquire(True, timeout)`: whether it was acquired.
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn acquire(&self, w: &dyn Waiter, timeout_s: Option<f64>) -> Result<bool, Stopped> {
        let until = deadline(w.now_ms(), timeout_s);
        let (mut locked, got) = wait_while(w, &self.freed, lock(&self.locked), until, |l| *l)?;
        if got {
            *locked = true;
        }
        Ok(got)
    }

    /// # Errors
    /// `RuntimeError: release unlocked lock`, as CPython.
    pub fn release(&self) -> Result<(), Raise> {
        let mut locked = lock(&self.locked);
        if !*locked {
            return Err(Raise::new("RuntimeError", "release unlocked lock"));
        }
        *locked = false;
        drop(locked);
        self.freed.notify_one();
        Ok(())
    }

    #[must_use]
    pub fn locked(&self) -> bool {
        *lock(&self.locked)
    }
}

#[derive(Debug, Default)]
struct RState {
    owner: Option<u64>,
    count: u64,
}

/// `threading.RLock`: an owner (the thread's ident) and a count.
#[derive(Debug, Default)]
pub struct RLock {
    state: Mutex<RState>,
    freed: Condvar,
}

impl RLock {
    #[must_use]
    pub fn new() -> RLock {
        RLock::default()
    }

    /// The non-blocking attempt by thread `me`.
    pub fn try_acquire(&self, me: u64) -> bool {
        let mut s = lock(&self.state);
        match s.owner {
            Some(o) if o == me => {
                s.count += 1;
                true
            }
            Some(_) => false,
            None => {
                s.owner = Some(me);
                s.count = 1;
                true
            }
        }
    }

    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn acquire(&self, w: &dyn Waiter, me: u64, timeout_s: Option<f64>) -> Result<bool, Stopped> {
        if self.try_acquire(me) {
            return Ok(true);
        }
        let until = deadline(w.now_ms(), timeout_s);
        let (mut s, got) = wait_while(w, &self.freed, lock(&self.state), until, |s| s.owner.is_some())?;
        if got {
            s.owner = Some(me);
            s.count = 1;
        }
        Ok(got)
    }

    /// # Errors
    /// `RuntimeError: cannot release un-acquired lock` when `me` does not own it.
    pub fn release(&self, me: u64) -> Result<(), Raise> {
        let mut s = lock(&self.state);
        if s.owner != Some(me) {
            return Err(Raise::new("RuntimeError", "cannot release un-acquired lock"));
        }
        s.count -= 1;
        if s.count == 0 {
            s.owner = None;
            drop(s);
            self.freed.notify_one();
        }
        Ok(())
    }

    /// Whether `me` owns it (`Condition` asks).
    #[must_use]
    pub fn is_owned(&self, me: u64) -> bool {
        lock(&self.state).owner == Some(me)
    }
}

/// `threading.Event`.
#[derive(Debug, Default)]
pub struct Event {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Event {
    #[must_use]
    pub fn new() -> Event {
        Event::default()
    }

    pub fn set(&self) {
        *lock(&self.flag) = true;
        self.changed.notify_all();
    }

    pub fn clear(&self) {
        *lock(&self.flag) = false;
    }

    #[must_use]
    pub fn is_set(&self) -> bool {
        *lock(&self.flag)
    }

    /// `wait(timeout)`: the flag at the end (false: timed out).
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn wait(&self, w: &dyn Waiter, timeout_s: Option<f64>) -> Result<bool, Stopped> {
        let until = deadline(w.now_ms(), timeout_s);
        let (flag, _) = wait_while(w, &self.changed, lock(&self.flag), until, |f| !*f)?;
        Ok(*flag)
    }
}

/// `threading.Semaphore` and, with a bound, `BoundedSemaphore`.
#[derive(Debug)]
pub struct Semaphore {
    value: Mutex<u64>,
    bound: Option<u64>,
    freed: Condvar,
}

impl Semaphore {
    #[must_use]
    pub fn new(value: u64, bounded: bool) -> Semaphore {
        Semaphore { value: Mutex::new(value), bound: bounded.then_some(value), freed: Condvar::new() }
    }

    pub fn try_acquire(&self) -> bool {
        let mut v = lock(&self.value);
        if *v == 0 {
            return false;
        }
        *v -= 1;
        true
    }

    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn acquire(&self, w: &dyn Waiter, timeout_s: Option<f64>) -> Result<bool, Stopped> {
        let until = deadline(w.now_ms(), timeout_s);
        let (mut v, got) = wait_while(w, &self.freed, lock(&self.value), until, |v| *v == 0)?;
        if got {
            *v -= 1;
        }
        Ok(got)
    }

    /// `release(n)`.
    ///
    /// # Errors
    /// `ValueError: Semaphore released too many times` past a bounded semaphore's bound.
    pub fn release(&self, n: u64) -> Result<(), Raise> {
        let mut v = lock(&self.value);
        if self.bound.is_some_and(|b| *v + n > b) {
            return Err(Raise::new("ValueError", "Semaphore released too many times"));
        }
        *v += n;
        drop(v);
        self.freed.notify_all();
        Ok(())
    }

    /// A `BoundedSemaphore`?
    #[must_use]
    pub fn bounded(&self) -> bool {
        self.bound.is_some()
    }

    #[must_use]
    pub fn value(&self) -> u64 {
        *lock(&self.value)
    }
}

#[derive(Debug, Default)]
struct BState {
    waiting: usize,
    generation: u64,
    broken: bool,
}

/// `threading.Barrier(n)`: `wait` returns 0..n, a distinct index per thread of a round.
#[derive(Debug)]
pub struct Barrier {
    parties: usize,
    state: Mutex<BState>,
    changed: Condvar,
}

impl Barrier {
    #[must_use]
    pub fn new(parties: usize) -> Barrier {
        Barrier { parties: parties.max(1), state: Mutex::new(BState::default()), changed: Condvar::new() }
    }

    #[must_use]
    pub fn parties(&self) -> usize {
        self.parties
    }

    #[must_use]
    pub fn n_waiting(&self) -> usize {
        lock(&self.state).waiting
    }

    #[must_use]
    pub fn broken(&self) -> bool {
        lock(&self.state).broken
    }

    /// `abort()`: every waiter, now and later, gets `BrokenBarrierError`.
    pub fn abort(&self) {
        lock(&self.state).broken = true;
        self.changed.notify_all();
    }

    /// `reset()`.
    pub fn reset(&self) {
        let mut s = lock(&self.state);
        s.broken = false;
        s.waiting = 0;
        s.generation += 1;
        drop(s);
        self.changed.notify_all();
    }

    /// `wait(timeout)`: this thread's index in the round, its order of arrival (0 first,
    /// as CPython's `Barrier.wait`).
    ///
    /// # Errors
    /// `Ok(Err(BrokenBarrierError))` when the barrier is or becomes broken, or this wait
    /// timed out (which breaks it, as in CPython); [`Stopped`] when the program is stopped.
    pub fn wait(&self, w: &dyn Waiter, timeout_s: Option<f64>) -> Result<Result<usize, Raise>, Stopped> {
        let broken = || Raise::new("BrokenBarrierError", "");
        let mut s = lock(&self.state);
        if s.broken {
            return Ok(Err(broken()));
        }
        let index = s.waiting;
        s.waiting += 1;
        if s.waiting == self.parties {
            s.waiting = 0;
            s.generation += 1;
            drop(s);
            self.changed.notify_all();
            return Ok(Ok(index));
        }
        let gen = s.generation;
        let until = deadline(w.now_ms(), timeout_s);
        let (mut s, released) = match wait_while(w, &self.changed, s, until, |s| s.generation == gen && !s.broken) {
            Ok(r) => r,
            Err(Stopped) => {
                self.abort();
                return Err(Stopped);
            }
        };
        if released && s.generation != gen {
            return Ok(Ok(index));
        }
        // Timed out or broken: the barrier stays broken for everyone (CPython's `_break`).
        s.broken = true;
        drop(s);
        self.changed.notify_all();
        Ok(Err(broken()))
    }
}

#[derive(Debug)]
struct QState<V> {
    items: VecDeque<V>,
    unfinished: u64,
}

/// `queue.Queue(maxsize)`: FIFO, with `task_done`/`join`.
#[derive(Debug)]
pub struct Queue<V> {
    maxsize: usize,
    state: Mutex<QState<V>>,
    not_empty: Condvar,
    not_full: Condvar,
    all_done: Condvar,
}

impl<V> Queue<V> {
    /// `maxsize` 0 (or less, in Python) is unbounded.
    #[must_use]
    pub fn new(maxsize: usize) -> Queue<V> {
        Queue {
            maxsize,
            state: Mutex::new(QState { items: VecDeque::new(), unfinished: 0 }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            all_done: Condvar::new(),
        }
    }

    fn full(&self, s: &QState<V>) -> bool {
        self.maxsize > 0 && s.items.len() >= self.maxsize
    }

    /// `put(item, block=False)`; gives the item back when full (`queue.Full`).
    ///
    /// # Errors
    /// The item, when the queue is full.
    pub fn try_put(&self, item: V) -> Result<(), V> {
        let mut s = lock(&self.state);
        if self.full(&s) {
            return Err(item);
        }
        s.items.push_back(item);
        s.unfinished += 1;
        drop(s);
        // Every waiter re-checks under the GIL: wake all, not one that might time out first.
        self.not_empty.notify_all();
        Ok(())
    }

    /// `put(item, True, timeout)` on a full queue, GIL released: waits until there is
    /// room (true) or the deadline passes (false, `queue.Full`). The item stays with the
    /// VM, which tries [`Queue::try_put`] again under the GIL: a value is never out of the
    /// heap's sight while the GIL is free for its collector.
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn wait_not_full(&self, w: &dyn Waiter, deadline: Option<f64>) -> Result<bool, Stopped> {
        wait_while(w, &self.not_full, lock(&self.state), deadline, |s| self.full(s)).map(|(_, room)| room)
    }

    /// `get(block=False)`: `None` is `queue.Empty`.
    pub fn try_get(&self) -> Option<V> {
        let mut s = lock(&self.state);
        let item = s.items.pop_front();
        drop(s);
        if item.is_some() {
            self.not_full.notify_all();
        }
        item
    }

    /// `get(True, timeout)` on an empty queue, GIL released: waits until an item is there
    /// (true; the VM takes it with [`Queue::try_get`] under the GIL, and waits again if
    /// another thread was first) or the deadline passes (false, `queue.Empty`).
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn wait_not_empty(&self, w: &dyn Waiter, deadline: Option<f64>) -> Result<bool, Stopped> {
        wait_while(w, &self.not_empty, lock(&self.state), deadline, |s| s.items.is_empty()).map(|(_, some)| some)
    }

    /// Every item held, for the VM's collector (they are live).
    pub fn for_each(&self, mut f: impl FnMut(&V)) {
        lock(&self.state).items.iter().for_each(&mut f);
    }

    /// # Errors
    /// `ValueError: task_done() called too many times`, as CPython.
    pub fn task_done(&self) -> Result<(), Raise> {
        let mut s = lock(&self.state);
        if s.unfinished == 0 {
            return Err(Raise::new("ValueError", "task_done() called too many times"));
        }
        s.unfinished -= 1;
        if s.unfinished == 0 {
            drop(s);
            self.all_done.notify_all();
        }
        Ok(())
    }

    /// Whether `join()` would return at once (no unfinished task): the VM's fast path.
    #[must_use]
    pub fn all_done(&self) -> bool {
        lock(&self.state).unfinished == 0
    }

    /// `join()`: until every item put has had its `task_done`.
    ///
    /// # Errors
    /// [`Stopped`] when the program is being stopped.
    pub fn join(&self, w: &dyn Waiter) -> Result<(), Stopped> {
        wait_while(w, &self.all_done, lock(&self.state), None, |s| s.unfinished > 0).map(drop)
    }

    #[must_use]
    pub fn qsize(&self) -> usize {
        lock(&self.state).items.len()
    }

    #[must_use]
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    #[must_use]
    pub fn is_full(&self) -> bool {
        self.full(&lock(&self.state))
    }

    #[must_use]
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Takes every item out (the program's end hands their references back to the heap).
    pub fn drain(&self) -> Vec<V> {
        lock(&self.state).items.drain(..).collect()
    }
}

/// The lock under a [`Condition`] (`threading.Condition(lock)`; an `RLock` by default).
#[derive(Clone, Debug)]
pub enum CondLock {
    Lock(std::sync::Arc<Lock>),
    RLock(std::sync::Arc<RLock>),
}

impl CondLock {
    /// CPython's `Condition._is_owned`: for a plain lock, "held by someone" (it has no owner).
    fn is_owned(&self, me: u64) -> bool {
        match self {
            CondLock::Lock(l) => l.locked(),
            CondLock::RLock(r) => r.is_owned(me),
        }
    }

    /// Lets the lock go entirely, returning what to restore (an `RLock`'s count).
    fn release_save(&self, me: u64) -> u64 {
        match self {
            CondLock::Lock(l) => {
                let _ = l.release();
                1
            }
            CondLock::RLock(r) => {
                let mut s = lock(&r.state);
                let count = s.count;
                if s.owner == Some(me) {
                    s.owner = None;
                    s.count = 0;
                }
                drop(s);
                r.freed.notify_one();
                count
            }
        }
    }

    fn acquire_restore(&self, w: &dyn Waiter, me: u64, count: u64) -> Result<(), Stopped> {
        match self {
            CondLock::Lock(l) => l.acquire(w, None).map(drop),
            CondLock::RLock(r) => {
                r.acquire(w, me, None)?;
                lock(&r.state).count = count;
                Ok(())
            }
        }
    }
}

/// `threading.Condition`: waiters queue up, each on a lock of its own that `notify`
/// releases, as CPython's `threading.py` does it.
#[derive(Debug)]
pub struct Condition {
    lock: CondLock,
    waiters: Mutex<VecDeque<std::sync::Arc<Lock>>>,
}

impl Condition {
    #[must_use]
    pub fn new(lock: CondLock) -> Condition {
        Condition { lock, waiters: Mutex::new(VecDeque::new()) }
    }

    #[must_use]
    pub fn lock(&self) -> &CondLock {
        &self.lock
    }

    /// `wait(timeout)` by thread `me`: whether it was notified (false: timed out). The
    /// lock is let go while waiting and held again on return, in every case.
    ///
    /// # Errors
    /// `Ok(Err(RuntimeError))` when `me` does not hold the lock; [`Stopped`] when the
    /// program is being stopped.
    pub fn wait(&self, w: &dyn Waiter, me: u64, timeout_s: Option<f64>) -> Result<Result<bool, Raise>, Stopped> {
        if !self.lock.is_owned(me) {
            return Ok(Err(Raise::new("RuntimeError", "cannot wait on un-acquired lock")));
        }
        let waiter = std::sync::Arc::new(Lock::new());
        waiter.try_acquire();
        lock(&self.waiters).push_back(waiter.clone());
        let saved = self.lock.release_save(me);
        let notified = waiter.acquire(w, timeout_s.filter(|t| *t >= 0.0));
        if !matches!(notified, Ok(true)) {
            lock(&self.waiters).retain(|x| !std::sync::Arc::ptr_eq(x, &waiter));
        }
        self.lock.acquire_restore(w, me, saved)?;
        notified.map(Ok)
    }

    /// `notify(n)` by thread `me`.
    ///
    /// # Errors
    /// `RuntimeError: cannot notify on un-acquired lock`.
    pub fn notify(&self, me: u64, n: usize) -> Result<(), Raise> {
        if !self.lock.is_owned(me) {
            return Err(Raise::new("RuntimeError", "cannot notify on un-acquired lock"));
        }
        let mut waiters = lock(&self.waiters);
        for _ in 0..n {
            let Some(waiter) = waiters.pop_front() else { break };
            let _ = waiter.release();
        }
        Ok(())
    }

    /// `notify_all()`.
    ///
    /// # Errors
    /// As [`Condition::notify`].
    pub fn notify_all(&self, me: u64) -> Result<(), Raise> {
        self.notify(me, usize::MAX)
    }
}
