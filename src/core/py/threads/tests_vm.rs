//! Python threads on the VM, natively: `run_program` with real std threads and the real
//! GIL. What the corpus (tests/fixtures/programs) cannot say: the lanes, Stop, budgets,
//! the thread limit, the switch interval.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // Native only, like every test here: clippy.toml's wasm rules do not apply.

use crate::core::program::{LaneKind, LaneState, ProgramOptions, ProgramResult};
use crate::core::py::vm::{native::NativeHost, run_program};
use std::sync::atomic::Ordering;
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

#[test]
fn stop_ends_a_spinning_thread_and_the_join_waiting_on_it() {
    let host = Arc::new(NativeHost::default());
    let stopper = {
        let host = host.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            host.stop.store(true, Ordering::Relaxed);
            Instant::now()
        })
    };
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
