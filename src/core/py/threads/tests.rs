//! The driver and the primitives on real std threads with the real GIL, against a small
//! fake VM whose scripts stop at the eval-breaker sites the real VM stops at (docs §1).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // Native only, like every test here: clippy.toml's wasm rules do not apply.

use super::native::NativeHost;
use super::*;
use crate::core::program::{Host, LaneKind, LaneState};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The fake interpreter: one global `counter`, and what the scripts noted.
#[derive(Default)]
struct Interp {
    counter: u64,
    notes: Vec<String>,
    /// The ids of the threads parked (running no Python): what a collector would see.
    parked: Vec<usize>,
}

/// One step of a fake thread's code. Loops stop at their `JUMP_BACKWARD` (and, for the
/// sleep(0) forms, at the `CALL` of `time.sleep` returning), as CPython 3.11 does.
enum Act {
    /// `for _ in range(n): counter += 1`
    Incr(u64),
    /// `for _ in range(n): v = counter; time.sleep(0); counter = v + 1`
    Sleep0Race(u64),
    /// The same under `with lock:`.
    LockRace(u64, Arc<Lock>),
    /// `time.sleep(secs)`
    Sleep(f64),
    /// `while True: pass`
    Spin,
    /// `t.start()`
    Start(Arc<PyThread>, Option<Box<Fake>>),
    /// `t.join(timeout)`
    Join(Arc<PyThread>, Option<f64>),
    /// `q.put(x)` / `x = q.get()`, noting what it got.
    Put(Arc<Queue<u64>>, u64),
    Get(Arc<Queue<u64>>, Option<f64>),
    /// `raise ValueError(msg)`
    Raise(&'static str),
    /// Notes how many threads are parked.
    CountParked,
}

struct Fake {
    acts: Vec<Act>,
    pc: usize,
    /// The loop's count, its position in the body, and `v`.
    i: u64,
    at: u8,
    v: u64,
    deadline: Option<f64>,
    brk: EvalBreaker,
    host: Arc<dyn Host>,
}

impl Fake {
    fn new<I: Send + 'static>(proc: &Process<I>, acts: Vec<Act>) -> Fake {
        Fake { acts, pc: 0, i: 0, at: 0, v: 0, deadline: None, brk: proc.breaker(), host: proc.host().clone() }
    }

    fn next(&mut self) {
        self.pc += 1;
        self.i = 0;
        self.at = 0;
    }
}

fn note(c: &mut Interp, r: Option<Resumed>) {
    match r {
        None | Some(Resumed::None) => {}
        Some(Resumed::Bool(b)) => c.notes.push(format!("bool {b}")),
        Some(Resumed::Index(i)) => c.notes.push(format!("index {i}")),
        Some(Resumed::Raise(e)) => c.notes.push(format!("{}: {}", e.kind, e.message)),
    }
}

impl Runnable for Fake {
    type Interp = Interp;
    type Value = u64;

    fn park(&mut self, c: &mut Interp) {
        let me = self.acts.as_ptr() as usize; // Stable while the state moves between threads.
        assert!(!c.parked.contains(&me), "parked twice");
        c.parked.push(me);
    }

    fn unpark(&mut self, c: &mut Interp) {
        let me = self.acts.as_ptr() as usize; // Stable while the state moves between threads.
        let at = c.parked.iter().position(|p| *p == me).expect("unparked without a park");
        c.parked.swap_remove(at);
    }

    fn run(&mut self, c: &mut Interp, mut resumed: Option<Resumed>) -> Exit<Fake> {
        loop {
            let Some(act) = self.acts.get_mut(self.pc) else { return Exit::Done };
            match act {
                Act::Incr(n) => {
                    while self.i < *n {
                        // The bytecode's cost, roughly (a real VM spends ~50 ns per turn).
                        for k in 0..20u64 {
                            std::hint::black_box(k);
                        }
                        c.counter += 1;
                        self.i += 1;
                        if self.brk.pending() {
                            return Exit::Breaker;
                        }
                    }
                }
                Act::Sleep0Race(_) | Act::LockRace(..) => {
                    let (n, lock) = match act {
                        Act::LockRace(n, l) => (*n, Some(l.clone())),
                        Act::Sleep0Race(n) => (*n, None),
                        _ => unreachable!(),
                    };
                    while self.i < n {
                        match self.at {
                            0 => {
                                self.at = 1;
                                if let Some(l) = &lock {
                                    if !l.try_acquire() {
                                        return Exit::Block(BlockOp::Lock { lock: l.clone(), timeout: None });
                                    }
                                }
                            }
                            1 => {
                                self.v = c.counter;
                                self.at = 2;
                                return Exit::Block(BlockOp::Sleep { secs: 0.0 });
                            }
                            2 => {
                                // The CALL of time.sleep has returned: a breaker site.
                                self.at = 3;
                                if self.brk.pending() {
                                    return Exit::Breaker;
                                }
                            }
                            _ => {
                                c.counter = self.v + 1;
                                if let Some(l) = &lock {
                                    l.release().expect("held");
                                }
                                self.i += 1;
                                self.at = 0;
                                if self.brk.pending() {
                                    return Exit::Breaker;
                                }
                            }
                        }
                    }
                }
                Act::Spin => loop {
                    if self.brk.pending() {
                        return Exit::Breaker;
                    }
                },
                Act::Sleep(secs) => {
                    if self.at == 0 {
                        self.at = 1;
                        return Exit::Block(BlockOp::Sleep { secs: *secs });
                    }
                }
                Act::Start(thread, body) => {
                    if self.at == 0 {
                        self.at = 1;
                        let state = *body.take().expect("started once");
                        return Exit::Block(BlockOp::Start { thread: thread.clone(), state });
                    }
                    note(c, resumed.take());
                }
                Act::Join(thread, timeout) => {
                    if self.at == 0 {
                        self.at = 1;
                        return Exit::Block(BlockOp::Join { thread: thread.clone(), timeout: *timeout });
                    }
                }
                Act::Put(q, v) => {
                    if q.try_put(*v).is_err() {
                        unreachable!("unbounded");
                    }
                }
                Act::Get(q, timeout) => {
                    if self.at == 0 {
                        self.at = 1;
                        self.deadline = sync::deadline(self.host.now_ms(), *timeout);
                    } else if let Some(Resumed::Bool(false)) = resumed.take() {
                        c.notes.push("Empty".into());
                        self.next();
                        continue;
                    }
                    // Taken under the GIL; if another thread was first, wait again.
                    match q.try_get() {
                        Some(v) => c.notes.push(format!("item {v}")),
                        None => return Exit::Block(BlockOp::QueueGet { queue: q.clone(), deadline: self.deadline }),
                    }
                }
                Act::CountParked => c.notes.push(format!("parked {}", c.parked.len())),
                Act::Raise(msg) => {
                    return Exit::Uncaught(format!(
                        "Traceback (most recent call last):\n  File \"<cell>\", line 6, in worker\nValueError: {msg}\n"
                    ));
                }
            }
            self.next();
        }
    }
}

type Proc = Arc<Process<Interp>>;

fn process(switch_ms: f64, timeout_ms: f64) -> (Proc, Arc<NativeHost>) {
    let host = Arc::new(NativeHost::new(timeout_ms));
    (Process::new(Interp::default(), host.clone(), 1, switch_ms, 0), host)
}

/// `threading.Thread(target=worker)` with the worker's script.
fn thread(proc: &Proc, acts: Vec<Act>) -> (Arc<PyThread>, Act) {
    let t = proc.new_thread(None, Some("worker"), false);
    let body = Fake::new(proc, acts);
    (t.clone(), Act::Start(t, Some(Box::new(body))))
}

/// Runs `acts` as the main thread, then the interpreter's exit (non-daemon threads joined).
fn run_main(proc: &Proc, acts: Vec<Act>) -> (Ended, u64, Vec<String>) {
    let mut main = Fake::new(proc, acts);
    let mut g = proc.enter_main(LaneKind::Main, "MainThread");
    let ended = drive(&mut g, &mut main);
    let _ = proc.shutdown(&mut g);
    let (counter, notes) = (g.interp().counter, std::mem::take(&mut g.interp().notes));
    drop(g);
    assert!(proc.wait_threads_done(5000.0), "a thread outlived its process");
    (ended, counter, notes)
}

/// `n` threads each running `body()`, started then joined by the main thread.
fn start_join(proc: &Proc, n: usize, body: impl Fn() -> Vec<Act>) -> Vec<Act> {
    let (threads, starts): (Vec<_>, Vec<_>) = (0..n).map(|_| thread(proc, body())).unzip();
    starts.into_iter().chain(threads.into_iter().map(|t| Act::Join(t, None))).collect()
}

/// Every Running segment of every lane, in time order: no two overlap (one GIL).
fn assert_one_runner(proc: &Proc) {
    let mut running: Vec<_> = proc
        .lanes()
        .into_iter()
        .flat_map(|l| l.segments.into_iter().filter(|s| s.state == LaneState::Running).map(move |s| (l.id, s)))
        .collect();
    running.sort_by(|a, b| a.1.start_ms.total_cmp(&b.1.start_ms));
    for w in running.windows(2) {
        assert!(
            w[1].1.start_ms >= w[0].1.end_ms,
            "lanes {} and {} ran at once: {:?} {:?}",
            w[0].0,
            w[1].0,
            w[0].1,
            w[1].1
        );
    }
}

fn state_ms(proc: &Proc, lane: usize, state: LaneState) -> f64 {
    proc.lanes()[lane].segments.iter().filter(|s| s.state == state).map(|s| s.end_ms - s.start_ms).sum()
}

#[test]
fn counter_plus_one_loses_nothing_under_the_gil() {
    // A tiny switch interval: thousands of hand-overs, none between the load and the store.
    let (proc, _host) = process(0.1, 60_000.0);
    let acts = start_join(&proc, 4, || vec![Act::Incr(300_000)]);
    let (ended, counter, _) = run_main(&proc, acts);
    assert_eq!(ended, Ended::Returned);
    assert_eq!(counter, 1_200_000);
    eprintln!("counter += 1: {} GIL hand-overs", proc.gil_switches());
    assert!(proc.gil_switches() >= 20, "the GIL changed hands {} times only", proc.gil_switches());
    assert_one_runner(&proc);
    let lanes = proc.lanes();
    assert_eq!(lanes.len(), 5);
    for lane in &lanes[..4] {
        assert!(lane.segments.iter().any(|s| s.state == LaneState::GilWait), "{} never waited for the GIL", lane.name);
    }
}

#[test]
fn sleep0_between_load_and_store_loses_updates() {
    let (proc, _host) = process(5.0, 60_000.0);
    let acts = start_join(&proc, 4, || vec![Act::Sleep0Race(2_000)]);
    let (_, counter, _) = run_main(&proc, acts);
    eprintln!("sleep(0) race: counter = {counter} of 8000, {} GIL hand-overs", proc.gil_switches());
    assert!(counter < 8_000, "no update lost: {counter}");
    assert!(counter >= 2_000, "each thread's own updates add up to at least 2,000: {counter}");
    assert_one_runner(&proc);
}

#[test]
fn the_same_race_under_a_lock_loses_nothing() {
    let (proc, _host) = process(5.0, 60_000.0);
    let lock = Arc::new(Lock::new());
    let acts = start_join(&proc, 4, || vec![Act::LockRace(2_000, lock.clone())]);
    let (_, counter, _) = run_main(&proc, acts);
    assert_eq!(counter, 8_000);
    assert!(!lock.locked());
    // The threads did block on the lock (the sleep lets the GIL go while it is held).
    let blocked: f64 = (0..4).map(|l| state_ms(&proc, l, LaneState::Blocked)).sum();
    assert!(blocked > 0.0);
    assert_one_runner(&proc);
}

#[test]
fn sleeping_threads_overlap_and_the_main_thread_waits_blocked() {
    let (proc, _host) = process(5.0, 60_000.0);
    let t0 = Instant::now();
    let acts = start_join(&proc, 2, || vec![Act::Sleep(0.3)]);
    let (ended, _, _) = run_main(&proc, acts);
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(ended, Ended::Returned);
    assert!((0.3..0.5).contains(&wall), "two 0.3 s sleeps in threads took {wall} s");
    let lanes = proc.lanes();
    assert_eq!(lanes.iter().map(|l| l.kind).collect::<Vec<_>>(), [LaneKind::Thread, LaneKind::Thread, LaneKind::Main]);
    let io = |l: usize| *lanes[l].segments.iter().find(|s| s.state == LaneState::Io).expect("an Io segment");
    let (a, b) = (io(0), io(1));
    assert!(a.start_ms < b.end_ms && b.start_ms < a.end_ms, "the sleeps did not overlap: {a:?} {b:?}");
    assert!(a.end_ms - a.start_ms >= 299.0);
    assert!(state_ms(&proc, 2, LaneState::Blocked) > 250.0, "main did not wait in join: {:?}", lanes[2]);
    assert_one_runner(&proc);
}

#[test]
fn threads_are_named_as_cpython_names_them() {
    let (proc, _host) = process(5.0, 60_000.0);
    let a = proc.new_thread(Some("greeter"), Some("greet"), false);
    let b = proc.new_thread(None, Some("greet"), false);
    let c = proc.new_thread(Some(""), None, true);
    assert_eq!((a.name(), b.name(), c.name()), ("greeter".into(), "Thread-1 (greet)".into(), "Thread-2".into()));
    assert!(c.daemon());
    let g = proc.enter_main(LaneKind::Main, "MainThread");
    assert_eq!(proc.main_thread().expect("main").name(), "MainThread");
    assert_eq!(proc.active_count(), 1, "threads not started are not active");
    drop(g);
}

#[test]
fn an_uncaught_exception_ends_its_thread_only() {
    let (proc, host) = process(5.0, 60_000.0);
    let (t, start) = thread(&proc, vec![Act::Raise("boom")]);
    let (ended, _, _) = run_main(&proc, vec![start, Act::Join(t.clone(), None), Act::Incr(3)]);
    assert_eq!(ended, Ended::Returned);
    assert!(!t.is_alive());
    assert_eq!(
        host.text(),
        "Exception in thread Thread-1 (worker):\nTraceback (most recent call last):\n  File \"<cell>\", line 6, in worker\nValueError: boom\n"
    );
    let chunk = &host.output()[0];
    assert_eq!((chunk.stream, chunk.lane), (crate::core::program::Stream::Stderr, t.id()));
}

#[test]
fn thirty_two_live_threads_at_most() {
    let (proc, _host) = process(5.0, 60_000.0);
    let gate = Arc::new(Queue::new(0));
    let mut acts = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..32 {
        let (t, start) = thread(&proc, vec![Act::Get(gate.clone(), None)]);
        threads.push(t);
        acts.push(start);
    }
    for _ in 0..31 {
        acts.push(Act::Put(gate.clone(), 0));
    }
    acts.extend(threads.into_iter().map(|t| Act::Join(t, Some(0.0))));
    // Joined with no wait: the 32nd (the main thread counts) could not start, and the
    // others are let go one item each.
    let (_, _, notes) = run_main(&proc, acts);
    let refused: Vec<_> = notes.iter().filter(|n| n.starts_with("RuntimeError")).collect();
    assert_eq!(refused.len(), 1, "{notes:?}");
    assert!(refused[0].contains("can't start new thread") && refused[0].contains("32"), "{}", refused[0]);
    assert_eq!(notes.iter().filter(|n| n.starts_with("item")).count(), 31);
}

#[test]
fn stop_ends_a_spinning_thread_and_the_join_waiting_on_it() {
    let (proc, host) = process(5.0, 60_000.0);
    let (t, start) = thread(&proc, vec![Act::Spin]);
    let stopper = {
        let host = host.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            host.stop();
            Instant::now()
        })
    };
    // After the join, the main thread spins too: Stop must end both wherever they are.
    let (ended, _, _) = run_main(&proc, vec![start, Act::Join(t.clone(), None), Act::Spin]);
    let stopped_at = stopper.join().unwrap();
    assert_eq!(ended, Ended::Stopped);
    assert!(stopped_at.elapsed() < Duration::from_millis(200), "Stop took {:?}", stopped_at.elapsed());
    assert!(!t.is_alive());
}

#[test]
fn the_wall_time_budget_ends_a_main_thread_spinning_alone() {
    let (proc, host) = process(5.0, 200.0);
    let t0 = Instant::now();
    let (ended, _, _) = run_main(&proc, vec![Act::Spin]);
    assert_eq!(ended, Ended::Stopped);
    assert!(host.timed_out());
    assert!(t0.elapsed() < Duration::from_millis(600), "{:?}", t0.elapsed());
}

#[test]
fn a_daemon_thread_does_not_keep_the_process_alive() {
    let (proc, _host) = process(5.0, 60_000.0);
    let t = proc.new_thread(None, Some("spin"), true);
    let body = Fake::new(&proc, vec![Act::Spin]);
    let t0 = Instant::now();
    let (ended, _, _) = run_main(&proc, vec![Act::Start(t.clone(), Some(Box::new(body))), Act::Sleep(0.05)]);
    assert_eq!(ended, Ended::Returned);
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(!t.is_alive(), "the daemon thread still runs after the process's end");
}

#[test]
fn a_queue_hands_items_across_threads_in_order() {
    let (proc, _host) = process(5.0, 60_000.0);
    let q = Arc::new(Queue::new(0));
    let (t, start) = thread(&proc, (0..5).map(|i| Act::Put(q.clone(), i * i)).chain([Act::Sleep(0.02)]).collect());
    let mut acts = vec![start];
    acts.extend((0..5).map(|_| Act::Get(q.clone(), None)));
    acts.push(Act::Get(q.clone(), Some(0.01)));
    acts.push(Act::Join(t, None));
    let (_, _, notes) = run_main(&proc, acts);
    assert_eq!(notes, ["item 0", "item 1", "item 4", "item 9", "item 16", "Empty"]);
}

/// A waiter on the real clock, with a stop switch.
struct Clock(Instant, std::sync::atomic::AtomicBool);

impl Clock {
    fn new() -> Arc<Clock> {
        Arc::new(Clock(Instant::now(), std::sync::atomic::AtomicBool::new(false)))
    }
}

impl Waiter for Clock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
    fn stopping(&self) -> bool {
        self.1.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[test]
fn lock_acquire_release_and_timeout() {
    let w = Clock::new();
    let lock = Arc::new(Lock::new());
    assert!(lock.try_acquire());
    assert!(!lock.try_acquire());
    let t0 = Instant::now();
    assert_eq!(lock.acquire(&*w, Some(0.05)), Ok(false));
    assert!(t0.elapsed() >= Duration::from_millis(50));
    let (l2, w2) = (lock.clone(), w.clone());
    let other = std::thread::spawn(move || l2.acquire(&*w2, None));
    std::thread::sleep(Duration::from_millis(20));
    lock.release().unwrap();
    assert_eq!(other.join().unwrap(), Ok(true), "a waiter gets a released lock");
    assert!(lock.locked());
    lock.release().unwrap();
    let e = lock.release().unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), ("RuntimeError", "release unlocked lock"));
}

#[test]
fn rlock_counts_its_owner_and_refuses_others() {
    let w = Clock::new();
    let r = RLock::new();
    assert!(r.try_acquire(1));
    assert!(r.try_acquire(1));
    assert!(!r.try_acquire(2));
    assert_eq!(r.release(2).unwrap_err().message, "cannot release un-acquired lock");
    r.release(1).unwrap();
    assert_eq!(r.acquire(&*w, 2, Some(0.02)), Ok(false), "still held once");
    r.release(1).unwrap();
    assert_eq!(r.acquire(&*w, 2, Some(0.02)), Ok(true));
    assert!(r.is_owned(2));
}

#[test]
fn event_wakes_every_waiter_and_times_out() {
    let w = Clock::new();
    let ev = Arc::new(Event::new());
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (ev, w) = (ev.clone(), w.clone());
            std::thread::spawn(move || ev.wait(&*w, None))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    assert!(!ev.is_set());
    ev.set();
    for h in waiters {
        assert_eq!(h.join().unwrap(), Ok(true));
    }
    ev.clear();
    assert_eq!(Event::new().wait(&*w, Some(0.01)), Ok(false));
}

#[test]
fn semaphores_count_and_bounded_ones_refuse_extra_releases() {
    let w = Clock::new();
    let s = Semaphore::new(2, true);
    assert!(s.try_acquire() && s.try_acquire());
    assert!(!s.try_acquire());
    assert_eq!(s.acquire(&*w, Some(0.01)), Ok(false));
    s.release(2).unwrap();
    assert_eq!(s.release(1).unwrap_err().message, "Semaphore released too many times");
    Semaphore::new(0, false).release(5).unwrap();
}

#[test]
fn a_barrier_gives_each_party_its_index_and_breaks_on_timeout() {
    let w = Clock::new();
    let b = Arc::new(Barrier::new(3));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let (b, w) = (b.clone(), w.clone());
            std::thread::spawn(move || b.wait(&*w, None).unwrap().unwrap())
        })
        .collect();
    let mut got: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
    assert_eq!(b.wait(&*w, Some(0.01)).unwrap().unwrap_err().kind, "BrokenBarrierError");
    assert!(b.broken());
}

#[test]
fn queue_fifo_timeout_and_task_accounting() {
    let w = Clock::new();
    let q = Arc::new(Queue::new(2));
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert_eq!(q.try_put(3), Err(3), "full");
    let soon = |s: f64| sync::deadline(w.now_ms(), Some(s));
    assert_eq!(q.wait_not_full(&*w, soon(0.01)), Ok(false), "queue.Full");
    assert_eq!(q.qsize(), 2);
    let (q2, w2) = (q.clone(), w.clone());
    let joiner = std::thread::spawn(move || q2.join(&*w2));
    assert_eq!(q.wait_not_empty(&*w, None), Ok(true));
    let mut held = Vec::new();
    q.for_each(|v| held.push(*v));
    assert_eq!(held, [1, 2]);
    assert_eq!(q.try_get(), Some(1));
    assert_eq!(q.wait_not_full(&*w, None), Ok(true));
    assert_eq!(q.try_get(), Some(2));
    assert_eq!(q.wait_not_empty(&*w, soon(0.01)), Ok(false), "queue.Empty");
    q.task_done().unwrap();
    assert!(!joiner.is_finished());
    q.task_done().unwrap();
    assert_eq!(joiner.join().unwrap(), Ok(()));
    assert_eq!(q.task_done().unwrap_err().message, "task_done() called too many times");
    assert!(q.empty());
}

#[test]
fn every_wait_ends_soon_after_stop() {
    let w = Clock::new();
    let lock = Arc::new(Lock::new());
    assert!(lock.try_acquire());
    let q: Arc<Queue<u32>> = Arc::new(Queue::new(0));
    let ev = Arc::new(Event::new());
    let hs = vec![
        {
            let (l, w) = (lock.clone(), w.clone());
            std::thread::spawn(move || l.acquire(&*w, None).map(drop))
        },
        {
            let (q, w) = (q.clone(), w.clone());
            std::thread::spawn(move || q.wait_not_empty(&*w, None).map(drop))
        },
        {
            let (e, w) = (ev.clone(), w.clone());
            std::thread::spawn(move || e.wait(&*w, None).map(drop))
        },
        {
            let w = w.clone();
            std::thread::spawn(move || {
                sync::sleep(&*w, 30.0, &|ms| std::thread::sleep(Duration::from_secs_f64(ms / 1e3)))
            })
        },
    ];
    std::thread::sleep(Duration::from_millis(30));
    let t0 = Instant::now();
    w.1.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in hs {
        assert_eq!(h.join().unwrap(), Err(Stopped));
    }
    assert!(t0.elapsed() < Duration::from_millis(150), "{:?}", t0.elapsed());
}

#[test]
fn a_native_host_runs_jobs_and_reports_its_budget() {
    let host = NativeHost::new(50.0);
    let (tx, rx) = std::sync::mpsc::channel();
    host.spawn_thread(Box::new(move || tx.send(7).unwrap())).unwrap();
    assert_eq!(rx.recv().unwrap(), 7);
    assert!(!host.stop_requested());
    host.sleep_ms(1000.0);
    assert!(host.stop_requested() && host.timed_out(), "the budget ends a sleep");
}

#[test]
fn a_condition_lets_its_lock_go_while_waiting_and_wakes_on_notify() {
    let w = Clock::new();
    for rlock in [false, true] {
        let cl = if rlock { CondLock::RLock(Arc::new(RLock::new())) } else { CondLock::Lock(Arc::new(Lock::new())) };
        let cond = Arc::new(Condition::new(cl.clone()));
        let take = |me: u64| match &cl {
            CondLock::Lock(l) => assert_eq!(l.acquire(&*w, None), Ok(true)),
            CondLock::RLock(r) => assert_eq!(r.acquire(&*w, me, None), Ok(true)),
        };
        assert_eq!(cond.wait(&*w, 1, Some(0.01)).unwrap().unwrap_err().message, "cannot wait on un-acquired lock");
        take(1);
        if rlock {
            take(1); // held twice: wait lets both go and restores both
        }
        assert_eq!(cond.wait(&*w, 1, Some(0.01)), Ok(Ok(false)), "timed out, lock held again");
        let (c2, w2, cl2) = (cond.clone(), w.clone(), cl.clone());
        let notifier = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            match &cl2 {
                CondLock::Lock(l) => assert_eq!(l.acquire(&*w2, None), Ok(true)),
                CondLock::RLock(r) => assert_eq!(r.acquire(&*w2, 2, None), Ok(true)),
            }
            c2.notify(2, 1).unwrap();
            match &cl2 {
                CondLock::Lock(l) => l.release().unwrap(),
                CondLock::RLock(r) => r.release(2).unwrap(),
            }
        });
        assert_eq!(cond.wait(&*w, 1, None), Ok(Ok(true)), "notified while waiting, lock let go meanwhile");
        notifier.join().unwrap();
        match &cl {
            CondLock::Lock(l) => {
                assert!(l.locked());
                l.release().unwrap();
            }
            CondLock::RLock(r) => {
                r.release(1).unwrap();
                assert!(r.is_owned(1), "the count of two was restored");
                r.release(1).unwrap();
            }
        }
    }
}

#[test]
fn consumers_racing_for_items_each_get_distinct_ones() {
    let (proc, _host) = process(0.5, 60_000.0);
    let q = Arc::new(Queue::new(0));
    let mut acts = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..3 {
        let (t, start) = thread(&proc, (0..100).map(|_| Act::Get(q.clone(), Some(5.0))).collect());
        threads.push(t);
        acts.push(start);
    }
    acts.extend((0..300).map(|i| Act::Put(q.clone(), i)));
    acts.extend(threads.into_iter().map(|t| Act::Join(t, None)));
    let (_, _, notes) = run_main(&proc, acts);
    let mut got: Vec<u64> = notes.iter().map(|n| n.strip_prefix("item ").expect(n).parse().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
}

#[test]
fn a_thread_is_parked_in_the_interpreter_whenever_it_runs_no_python() {
    let (proc, _host) = process(5.0, 60_000.0);
    let (t, start) = thread(&proc, vec![Act::Sleep(0.2), Act::Incr(10)]);
    let acts = vec![start, Act::Sleep(0.05), Act::CountParked, Act::Join(t, None), Act::CountParked];
    let (_, _, notes) = run_main(&proc, acts);
    assert_eq!(notes, ["parked 1", "parked 0"], "the sleeper is parked, then gone");
}
