//! Python threads on the VM, natively: `run_program` with real std threads and the real
//! GIL. What the corpus (tests/fixtures/programs) cannot say: the lanes, Stop, budgets,
//! the thread limit, the switch interval.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // Native only, like every test here: clippy.toml's wasm rules do not apply.

use crate::core::program::{LaneKind, LaneState, ProgramOptions, ProgramResult};
use crate::core::py::vm::{native::NativeHost, run_program};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn run(source: &str) -> ProgramResult {
    run_program(source, &ProgramOptions::default(), Arc::new(NativeHost::default()))
}

fn running(r: &ProgramResult) -> Vec<(u32, f64, f64)> {
    let mut all: Vec<_> = r
        .lanes
        .iter()
        .flat_map(|l| {
            l.segments.iter().filter(|s| s.state == LaneState::Running).map(move |s| (l.id, s.start_ms, s.end_ms))
        })
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    all
}

#[test]
fn cpu_threads_take_turns_and_never_run_at_once() {
    let r = run("import threading\n\
                 import sys\n\
                 sys.setswitchinterval(0.0005)\n\
                 n = 0\n\
                 def work():\n    global n\n    for _ in range(300_000):\n        n += 1\n\
                 ts = [threading.Thread(target=work) for _ in range(3)]\n\
                 for t in ts:\n    t.start()\n\
                 for t in ts:\n    t.join()\n\
                 print(n)\n");
    assert_eq!(r.stdout, "900000\n", "{:?}", r.error);
    let names: Vec<_> = r.lanes.iter().map(|l| (l.kind, l.name.as_str())).collect();
    assert_eq!(
        names,
        [
            (LaneKind::Main, "MainThread"),
            (LaneKind::Thread, "Thread-1 (work)"),
            (LaneKind::Thread, "Thread-2 (work)"),
            (LaneKind::Thread, "Thread-3 (work)")
        ]
    );
    let segs = running(&r);
    for w in segs.windows(2) {
        assert!(w[1].1 >= w[0].2, "lanes {} and {} ran at once: {w:?}", w[0].0, w[1].0);
    }
    // Each worker ran in several stretches: the GIL passed between them, at 0.5 ms.
    for id in 1..4 {
        let stretches = segs.iter().filter(|s| s.0 == id).count();
        assert!(stretches >= 3, "lane {id} ran in {stretches} stretch(es) only");
    }
    assert!(r.gil_switches >= 9, "{} hand-overs", r.gil_switches);
}

#[test]
fn sleeping_threads_overlap_while_the_main_thread_waits_in_join() {
    // Whether they overlapped is read from the lanes, not from a wall time (a loaded
    // machine made one run take 836 ms).
    let r = run("import threading, time\n\
                 def fetch():\n    time.sleep(0.3)\n\
                 a = threading.Thread(target=fetch)\n\
                 b = threading.Thread(target=fetch)\n\
                 a.start(); b.start(); a.join(); b.join()\n\
                 print('done')\n");
    assert_eq!(r.stdout, "done\n");
    let io =
        |lane: usize| r.lanes[lane].segments.iter().find(|s| s.state == LaneState::Io).copied().expect("an Io segment");
    let (a, b) = (io(1), io(2));
    assert!(a.start_ms < b.end_ms && b.start_ms < a.end_ms, "the sleeps did not overlap: {a:?} {b:?}");
    let blocked: f64 =
        r.lanes[0].segments.iter().filter(|s| s.state == LaneState::Blocked).map(|s| s.end_ms - s.start_ms).sum();
    assert!(blocked > 250.0, "the main thread was blocked {blocked} ms");
    assert!(r.lanes.iter().all(|l| l.segments.iter().all(|s| s.end_ms <= r.wall_ms + 1.0)));
}

/// Sets `flag` (a host's Stop, or its spent budget, as the page would) after `ms`, on a
/// thread of its own; the thread answers when it did.
fn set_after(flag: &Arc<AtomicBool>, ms: u64) -> std::thread::JoinHandle<Instant> {
    let flag = flag.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        flag.store(true, Ordering::Relaxed);
        Instant::now()
    })
}

#[test]
fn stop_ends_a_spinning_thread_and_the_join_waiting_on_it() {
    let host = Arc::new(NativeHost::default());
    let stopper = set_after(&host.stop, 200);
    let r = run_program(
        "import threading\ndef spin():\n    while True:\n        pass\nt = threading.Thread(target=spin)\nt.start()\nt.join()\nprint('never')\n",
        &ProgramOptions::default(),
        host.clone(),
    );
    let stopped = stopper.join().unwrap();
    assert!(stopped.elapsed() < Duration::from_millis(300), "Stop took {:?}", stopped.elapsed());
    assert_eq!(r.error.as_ref().map(|e| e.kind.as_str()), Some("Stopped"), "{:?}", r.error);
    assert_eq!(r.exit_code, 1);
    assert!(!r.stdout.contains("never"));
}

#[test]
fn the_runtime_spending_the_budget_ends_the_program_with_one_timeout_error() {
    // In the browser the page's timer sets the kill word (Stop, with the budget as its
    // reason) a moment before the VM's own clock sees the budget spent. The VM read it as
    // Stop: "Stopped" where nobody pressed Stop, and free-threaded one line per thread.
    // Spinning threads, and a parent waiting in `join` for a spinning child process.
    let threads = "import threading\ndef f():\n    while True:\n        pass\n\
                   for _ in range(4):\n    threading.Thread(target=f, daemon=True).start()\n\
                   while True:\n    pass\n";
    let child = concat!(
        "import multiprocessing\n",
        "def f():\n    while True:\n        pass\n",
        "if __name__ == \"__main__\":\n    p = multiprocessing.Process(target=f)\n    p.start()\n    p.join()\n",
    );
    for (source, gil) in [(threads, true), (threads, false), (child, true)] {
        let host = Arc::new(NativeHost::default());
        let timer = set_after(&host.budget, 200);
        let r = run_program(source, &ProgramOptions { gil, ..ProgramOptions::default() }, host.clone());
        timer.join().unwrap();
        assert_eq!(
            r.error.as_ref().map(|e| e.kind.as_str()),
            Some("TimeoutError"),
            "{source} gil {gil}: {:?}",
            r.error
        );
        let said: Vec<&str> = r.stdout.lines().map(|l| l.split(':').next().unwrap_or("")).collect();
        assert_eq!(said, ["TimeoutError"], "{source} gil {gil}: {}", r.stdout);
    }
}

#[test]
fn the_time_budget_ends_a_spinning_thread_and_the_main_thread_joining_it() {
    let t0 = Instant::now();
    let options = ProgramOptions { timeout_ms: 300.0, ..ProgramOptions::default() };
    let r = run_program(
        "import threading\ndef spin():\n    while True:\n        pass\nt = threading.Thread(target=spin)\nt.start()\nt.join()\n",
        &options,
        Arc::new(NativeHost::default()),
    );
    assert!(t0.elapsed() < Duration::from_millis(900), "{:?}", t0.elapsed());
    let e = r.error.expect("an error");
    assert_eq!(e.kind, "TimeoutError", "{e:?}");
    assert!(r.stdout.contains("time budget"), "{}", r.stdout);
}

#[test]
fn a_sleeping_main_thread_ends_at_the_time_budget_too() {
    let t0 = Instant::now();
    let options = ProgramOptions { timeout_ms: 200.0, ..ProgramOptions::default() };
    let r = run_program("import time\ntime.sleep(30)\n", &options, Arc::new(NativeHost::default()));
    assert!(t0.elapsed() < Duration::from_millis(600), "{:?}", t0.elapsed());
    assert_eq!(r.error.map(|e| e.kind), Some("TimeoutError".into()));
}

#[test]
fn past_thirty_two_live_threads_start_raises_runtime_error() {
    let r = run("import threading\n\
                 ev = threading.Event()\n\
                 ts = []\n\
                 try:\n    for i in range(40):\n        t = threading.Thread(target=ev.wait)\n        t.start()\n        ts.append(t)\n\
                 except RuntimeError as e:\n    print(len(ts), threading.active_count(), e)\n\
                 ev.set()\n\
                 for t in ts:\n    t.join()\n\
                 print(threading.active_count())\n");
    assert_eq!(
        r.stdout,
        "31 32 can't start new thread (ThreadLab runs at most 32 threads per process, the main thread included)\n1\n",
        "{:?}",
        r.error
    );
}

#[test]
fn a_daemon_thread_does_not_keep_the_program_alive() {
    let t0 = Instant::now();
    let r = run("import threading\n\
                 def spin():\n    while True:\n        pass\n\
                 threading.Thread(target=spin, daemon=True).start()\n\
                 print('bye')\n");
    assert_eq!((r.stdout.as_str(), r.exit_code), ("bye\n", 0), "{:?}", r.error);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn the_main_thread_waits_for_non_daemon_threads_at_exit() {
    let r = run("import threading, time\n\
                 def late():\n    time.sleep(0.1)\n    print('late')\n\
                 threading.Thread(target=late).start()\n\
                 print('main ends')\n");
    assert_eq!(r.stdout, "main ends\nlate\n");
}

#[test]
fn the_switch_interval_sets_how_often_the_gil_changes_hands() {
    let program = |interval: &str| {
        format!(
            "import sys, threading\nsys.setswitchinterval({interval})\nn = 0\n\
             def work():\n    global n\n    for _ in range(400_000):\n        n += 1\n\
             ts = [threading.Thread(target=work) for _ in range(2)]\n\
             for t in ts:\n    t.start()\nfor t in ts:\n    t.join()\nprint(n)\n"
        )
    };
    let fast = run(&program("0.0002"));
    let slow = run(&program("0.1"));
    assert_eq!((fast.stdout.as_str(), slow.stdout.as_str()), ("800000\n", "800000\n"));
    assert!(
        fast.gil_switches >= slow.gil_switches + 10,
        "0.2 ms: {} hand-overs, 100 ms: {}",
        fast.gil_switches,
        slow.gil_switches
    );
}

/// A generator that must wait (a lock another thread holds) while a builtin's nested loop
/// runs it (`zip`): a clear error naming the line, not a wait holding the GIL
/// (which would never end) nor a wrong answer. Drained by `sum`, the same generator waits
/// and works (`gen.rs`: `consume_generators`).
#[test]
fn a_generator_that_blocks_inside_a_builtins_loop_is_a_clear_error() {
    let src = "import threading\nimport time\nlock = threading.Lock()\n\
               def g():\n    with lock:\n        yield 1\n\
               def hold():\n    with lock:\n        time.sleep(0.05)\n\
               t = threading.Thread(target=hold)\nt.start()\ntime.sleep(0.01)\n\
               print(sum(g()))\n\
               t = threading.Thread(target=hold)\nt.start()\ntime.sleep(0.01)\n\
               for i, x in zip(\"ab\", g()):\n    print(i, x)\n";
    let r = run(src);
    assert_eq!(r.stdout.lines().next(), Some("1"), "{}", r.stdout);
    let e = r.error.expect("an error");
    // Raised at the wait (`with lock:`), the builtin's line above it in the traceback.
    assert_eq!((e.kind.as_str(), e.line), ("RuntimeError", 5), "{e:?}");
    assert!(e.message.contains("inside a generator a builtin or an unpacking iterates"), "{}", e.message);
    assert!(r.stdout.contains("line 17, in <module>"), "{}", r.stdout);
}

fn run_free(source: &str) -> ProgramResult {
    run_program(source, &ProgramOptions { gil: false, ..ProgramOptions::default() }, Arc::new(NativeHost::default()))
}

/// How long two worker lanes (ids 1 and 2) were Running at the same moment.
fn overlap_ms(r: &ProgramResult) -> f64 {
    let segs = running(r);
    let (a, b): (Vec<&(u32, f64, f64)>, Vec<_>) = segs.iter().filter(|s| s.0 == 1 || s.0 == 2).partition(|s| s.0 == 1);
    a.iter().flat_map(|x| b.iter().map(move |y| (x.2.min(y.2) - x.1.max(y.1)).max(0.0))).sum()
}

const TWO_CPU_THREADS: &str = "import threading\n\
    def work(n):\n    t = 0\n    for i in range(n):\n        t += i * i % 7\n    return t\n\
    out = [0, 0]\n\
    def run(k):\n    out[k] = work(1_500_000)\n\
    ts = [threading.Thread(target=run, args=(k,)) for k in range(2)]\n\
    for t in ts:\n    t.start()\n\
    for t in ts:\n    t.join()\n\
    print(out)\n";

#[test]
fn free_threaded_cpu_threads_run_at_the_same_time() {
    // The same program with the GIL: never at once (the test above); without: they overlap
    // for most of their run. Read from the lanes, not from a wall time.
    let with_gil = run(TWO_CPU_THREADS);
    let free = run_free(TWO_CPU_THREADS);
    assert_eq!(free.stdout, with_gil.stdout, "{:?}", free.error);
    assert!(overlap_ms(&with_gil) < 0.5, "with the GIL the threads overlapped {} ms", overlap_ms(&with_gil));
    let busy: f64 = running(&free).iter().filter(|s| s.0 == 1).map(|s| s.2 - s.1).sum();
    assert!(overlap_ms(&free) > busy * 0.3, "free-threaded: {} ms at once of {busy} ms", overlap_ms(&free));
    assert_eq!(free.gil_switches, 0, "no GIL, no hand-overs");
}

#[test]
fn free_threaded_loses_counter_updates_but_never_an_appended_item() {
    // PEP 703: the interpreter's own structures stay safe (each list operation is atomic),
    // but `counter += 1` is a load, an add and a store, and threads run between them.
    let src = "import threading\n\
               counter = 0\n\
               items = []\n\
               def bump():\n    global counter\n    for i in range(200_000):\n        counter += 1\n        items.append(i)\n\
               ts = [threading.Thread(target=bump) for _ in range(4)]\n\
               for t in ts:\n    t.start()\n\
               for t in ts:\n    t.join()\n\
               print(counter < 800_000, len(items), sorted(items) == sorted(list(range(200_000)) * 4))\n";
    let with_gil = run(src);
    assert_eq!(with_gil.stdout, "False 800000 True\n", "{:?}", with_gil.error);
    let free = run_free(src);
    assert_eq!(free.stdout, "True 800000 True\n", "{:?}", free.error);
}

#[test]
fn free_threaded_collection_waits_for_threads_running_on_their_own() {
    // Two threads hold lists only on their own stacks while they loop without the lock;
    // two others make garbage fast enough to start collections meanwhile. Without the
    // stop-the-world wait the collector freed the lists under them (a panic, checked).
    // The corpus runs it with the GIL against CPython's output (regenerate.py); here it
    // must print the same free-threaded.
    let src = include_str!("../../../../tests/fixtures/programs/free_gc_contention.py");
    let expected = include_str!("../../../../tests/fixtures/programs/free_gc_contention.expected");
    let expected: String =
        expected.lines().filter(|l| !l.starts_with("# regenerate.py")).map(|l| format!("{l}\n")).collect();
    let free = run_free(src);
    assert_eq!(free.stdout, expected, "{:?}", free.error);
}

#[test]
fn free_threaded_endless_loops_meet_the_time_budget() {
    // Threads that run on their own come back for the eval breaker's checks.
    let src = "import threading\n\
               def spin():\n    i = 0\n    while True:\n        i += 1\n\
               threading.Thread(target=spin, daemon=True).start()\n\
               while True:\n    pass\n";
    let began = Instant::now();
    let r = run_program(
        src,
        &ProgramOptions { gil: false, timeout_ms: 300.0, ..ProgramOptions::default() },
        Arc::new(NativeHost::default()),
    );
    assert_eq!(r.error.as_ref().map(|e| e.kind.as_str()), Some("TimeoutError"), "{:?}", r.error);
    assert!(began.elapsed() < Duration::from_secs(20), "took {:?}", began.elapsed());
}

#[test]
fn free_threaded_range_iterators_run_on_their_own_keep_their_place() {
    // A `for` over a range runs without the lock from a copy of the iterator's position
    // (free.rs RangeCache): what the program sees of the iterator must not change.
    let src = "import threading\n\
               out = {}\n\
               def work(k):\n    it = iter(range(100_000))\n    s = 0\n    for x in it:\n        s += x\n        if x == 70_000 + k:\n            break\n    rest = list(it)\n    for a in range(3):\n        for b in range(a, 50_000):\n            s += b % 3\n    out[k] = (s, len(rest), rest[:2], next(it, 'done'))\n\
               ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]\n\
               for t in ts:\n    t.start()\n\
               for t in ts:\n    t.join()\n\
               print(sorted(out.items()))\n";
    let with_gil = run(src);
    assert!(with_gil.error.is_none() && with_gil.stdout.contains("[70001, 70002], 'done')"), "{}", with_gil.stdout);
    let free = run_free(src);
    assert_eq!(free.stdout, with_gil.stdout, "{:?}", free.error);
}

#[test]
fn free_threaded_sys_says_the_gil_is_off() {
    // CPython 3.13+'s `sys._is_gil_enabled()`; 3.11 (the GIL build here) has none.
    let src = "import sys\nprint(hasattr(sys, '_is_gil_enabled'))\nif hasattr(sys, '_is_gil_enabled'):\n    print(sys._is_gil_enabled())\n";
    assert_eq!(run(src).stdout, "False\n");
    assert_eq!(run_free(src).stdout, "True\nFalse\n");
}
