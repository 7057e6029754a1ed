//! Processes on the native host: spawn, copies, overlap, errors, Stop.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // Native tests.

use super::super::native::NativeHost;
use super::super::run_program;
use crate::core::program::{Host, LaneKind, LaneState, OutputChunk, ProgramOptions, ProgramResult, NO_PROCESSES};
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn run(src: &str) -> ProgramResult {
    run_program(
        src,
        &ProgramOptions { timeout_ms: 30_000.0, ..ProgramOptions::default() },
        Arc::new(NativeHost::default()),
    )
}

/// The longest Running stretch of each process lane: when its task ran.
fn task_spans(r: &ProgramResult) -> Vec<(f64, f64)> {
    r.lanes
        .iter()
        .filter(|l| l.kind == LaneKind::Process)
        .filter_map(|l| {
            l.segments
                .iter()
                .filter(|s| s.state == LaneState::Running)
                .max_by(|a, b| (a.end_ms - a.start_ms).total_cmp(&(b.end_ms - b.start_ms)))
                .map(|s| (s.start_ms, s.end_ms))
        })
        .collect()
}

#[test]
fn two_pool_workers_run_their_tasks_at_the_same_time() {
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "def busy(n):\n",
        "    t = 0\n",
        "    for i in range(n):\n",
        "        t += i % 7\n",
        "    return t\n",
        "if __name__ == '__main__':\n",
        "    with mp.Pool(2) as pool:\n",
        "        print(pool.map(busy, [300000, 300000]))\n",
    ));
    assert_eq!(r.stdout, "[899997, 899997]\n", "{r:?}");
    let process_lanes: Vec<_> = r.lanes.iter().filter(|l| l.kind == LaneKind::Process).collect();
    assert_eq!(process_lanes.len(), 2, "one lane per worker: {:?}", r.lanes);
    assert_eq!(
        process_lanes.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["SpawnPoolWorker-1", "SpawnPoolWorker-2"]
    );
    assert_ne!(process_lanes[0].process, process_lanes[1].process, "distinct processes");
    assert_ne!(process_lanes[0].id, process_lanes[1].id);
    let spans = task_spans(&r);
    let (a, b) = (spans[0], spans[1]);
    let overlap = a.1.min(b.1) - a.0.max(b.0);
    let shorter = (a.1 - a.0).min(b.1 - b.0);
    assert!(overlap > shorter * 0.5, "the two tasks overlap: {a:?} {b:?}");
    // Meanwhile the parent waited, GIL released, drawn Blocked.
    let main = r.lanes.iter().find(|l| l.kind == LaneKind::Main).expect("main lane");
    assert!(
        main.segments.iter().any(|s| s.state == LaneState::Blocked && s.end_ms - s.start_ms >= overlap * 0.5),
        "{:?}",
        main.segments
    );
}

#[test]
fn two_pool_tasks_are_in_progress_at_once() {
    // Measured from inside the tasks: each one's (start, end) on the program's clock.
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "import time\n",
        "def busy(n):\n",
        "    t0 = time.time()\n",
        "    t = 0\n",
        "    for i in range(n):\n",
        "        t += i % 7\n",
        "    return (t0, time.time())\n",
        "if __name__ == '__main__':\n",
        "    with mp.Pool(2) as pool:\n",
        "        (a0, a1), (b0, b1) = pool.map(busy, [300000, 300000])\n",
        "    overlap = min(a1, b1) - max(a0, b0)\n",
        "    print(overlap > 0.5 * min(a1 - a0, b1 - b0))\n",
    ));
    assert_eq!(r.stdout, "True\n", "{r:?}");
}

#[test]
fn a_child_changes_its_copy_never_the_parents() {
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "def child(q, items, d):\n",
        "    items.append('child')\n",
        "    d['k'] = 2\n",
        "    q.put((items, d))\n",
        "if __name__ == '__main__':\n",
        "    q = mp.Queue()\n",
        "    items = ['parent']\n",
        "    d = {'k': 1}\n",
        "    p = mp.Process(target=child, args=(q, items, d))\n",
        "    p.start()\n",
        "    got = q.get()\n",
        "    p.join()\n",
        "    print(got, items, d, got[0] is items)\n",
    ));
    assert_eq!(r.stdout, "(['parent', 'child'], {'k': 2}) ['parent'] {'k': 1} False\n", "{r:?}");
}

#[test]
fn what_cpython_cannot_pickle_fails_with_its_words() {
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "import pickle\n",
        "def outer():\n",
        "    def nested():\n",
        "        return 1\n",
        "    return nested\n",
        "def f(x):\n",
        "    return x\n",
        "g = f\n",
        "def f(x):\n",
        "    return x + 1\n",
        "for thing in (lambda x: x, outer(), g, mp):\n",
        "    try:\n",
        "        pickle.dumps(thing)\n",
        "    except Exception as e:\n",
        "        print(f'{type(e).__name__}: {e}')\n",
        "p = mp.Process(target=lambda: 1)\n",
        "try:\n",
        "    p.start()\n",
        "except pickle.PicklingError as e:\n",
        "    print('start:', type(e).__name__)\n",
    ));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    assert!(lines[0].starts_with("PicklingError: Can't pickle <function <lambda> at 0x"), "{}", lines[0]);
    assert!(lines[0].ends_with(">: attribute lookup <lambda> on __main__ failed"), "{}", lines[0]);
    assert_eq!(lines[1], "AttributeError: Can't pickle local object 'outer.<locals>.nested'");
    assert!(lines[2].ends_with(": it's not the same object as __main__.f"), "{}", lines[2]);
    assert_eq!(lines[3], "TypeError: cannot pickle 'module' object");
    assert_eq!(lines[4], "start: PicklingError");
}

#[test]
fn values_cross_as_equal_copies() {
    let r = run(concat!(
        "import pickle\n",
        "class Point:\n",
        "    def __init__(self, x):\n",
        "        self.x = x\n",
        "v = {1: (2, -3.5, 'x', None, True, {4}, [5], frozenset([6]), range(3), 2 ** 62), 'p': Point(7)}\n",
        "w = pickle.loads(pickle.dumps(v))\n",
        "print(w[1], w['p'].x, type(w['p']) is Point, w is v, w[1] == v[1])\n",
        "e = pickle.loads(pickle.dumps(KeyError('k', 2)))\n",
        "print(type(e).__name__, e.args, pickle.loads(pickle.dumps(pow)) is pow)\n",
    ));
    assert_eq!(
        r.stdout,
        "(2, -3.5, 'x', None, True, {4}, [5], frozenset({6}), range(0, 3), 4611686018427387904) 7 True False True\nKeyError ('k', 2) True\n",
        "{r:?}"
    );
}

#[test]
fn a_child_may_not_start_processes_from_its_top_level() {
    // No `if __name__ == "__main__":` guard: the child runs `p.start()` again, and CPython
    // refuses it there (its traceback ends with the bootstrapping RuntimeError).
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "def hello():\n",
        "    print('hello')\n",
        "p = mp.Process(target=hello)\n",
        "p.start()\n",
        "p.join()\n",
        "print(mp.current_process().name, 'sees', p.exitcode)\n",
    ));
    assert!(r.stdout.contains("An attempt has been made to start a new process before the"), "{}", r.stdout);
    assert!(r.stdout.ends_with("MainProcess sees 1\n"), "{}", r.stdout);
    assert!(!r.stdout.contains("hello\n"), "{}", r.stdout);
    assert_eq!(r.exit_code, 0);
}

#[test]
fn a_pool_whose_workers_cannot_start_raises_instead_of_hanging() {
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "if __name__ != '__main__':\n",
        "    raise ValueError('no')\n",
        "try:\n",
        "    mp.Pool(2)\n",
        "except RuntimeError as e:\n",
        "    print('RuntimeError')\n",
    ));
    assert!(r.stdout.ends_with("RuntimeError\n"), "{}", r.stdout);
    assert_eq!(r.stdout.matches("ValueError: no").count(), 2, "{}", r.stdout);
}

#[test]
fn stop_ends_a_parent_waiting_for_its_child() {
    let host = Arc::new(NativeHost::default());
    let stop = host.stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    let t0 = std::time::Instant::now();
    let r = run_program(
        concat!(
            "import multiprocessing as mp\n",
            "def spin():\n",
            "    while True:\n",
            "        pass\n",
            "if __name__ == '__main__':\n",
            "    p = mp.Process(target=spin)\n",
            "    p.start()\n",
            "    mp.Queue().get()\n",
        ),
        &ProgramOptions::default(),
        host,
    );
    stopper.join().expect("stopper");
    assert!(t0.elapsed().as_secs_f64() < 5.0, "{:?}", t0.elapsed());
    assert_eq!(r.error.as_ref().map(|e| e.kind.as_str()), Some("Stopped"), "{r:?}");
}

#[test]
fn terminate_ends_a_busy_child_with_minus_15() {
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "import time\n",
        "def spin():\n",
        "    while True:\n",
        "        pass\n",
        "if __name__ == '__main__':\n",
        "    p = mp.Process(target=spin)\n",
        "    p.start()\n",
        "    time.sleep(0.1)\n",
        "    print(p.is_alive())\n",
        "    p.terminate()\n",
        "    p.join(5)\n",
        "    print(p.is_alive(), p.exitcode)\n",
    ));
    assert_eq!(r.stdout, "True\nFalse -15\n", "{r:?}");
}

/// A host without processes, as the browser's is for now.
struct NoProcesses(NativeHost);

impl Host for NoProcesses {
    fn now_ms(&self) -> f64 {
        self.0.now_ms()
    }
    fn spawn_thread(&self, job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        self.0.spawn_thread(job)
    }
    fn write(&self, chunk: OutputChunk) {
        self.0.write(chunk);
    }
    fn stop_requested(&self) -> bool {
        self.0.stop_requested()
    }
    fn sleep_ms(&self, ms: f64) {
        self.0.sleep_ms(ms);
    }
}

#[test]
fn a_host_without_processes_says_so() {
    let r = run_program(
        concat!(
            "import multiprocessing as mp\n",
            "def f(x):\n",
            "    return x\n",
            "if __name__ == '__main__':\n",
            "    for make in (lambda: mp.Process(target=f).start(), lambda: mp.Pool(2), mp.Queue):\n",
            "        try:\n",
            "            make()\n",
            "        except RuntimeError as e:\n",
            "            print(e)\n",
        ),
        &ProgramOptions::default(),
        Arc::new(NoProcesses(NativeHost::default())),
    );
    assert_eq!(r.stdout, format!("{NO_PROCESSES}\n{NO_PROCESSES}\n{NO_PROCESSES}\n"), "{r:?}");
}

#[test]
fn the_time_budget_ends_a_wait_for_ever() {
    // The child never answers: CPython would wait for ever; the budget ends the program,
    // the parent's wait and the child's alike.
    let t0 = std::time::Instant::now();
    let r = run_program(
        concat!(
            "import multiprocessing as mp\n",
            "def mute(q):\n",
            "    mp.Queue().get()\n",
            "if __name__ == '__main__':\n",
            "    q = mp.Queue()\n",
            "    p = mp.Process(target=mute, args=(q,))\n",
            "    p.start()\n",
            "    q.get()\n",
        ),
        &ProgramOptions { timeout_ms: 400.0, ..ProgramOptions::default() },
        Arc::new(NativeHost::default()),
    );
    assert!(t0.elapsed().as_secs_f64() < 5.0, "{:?}", t0.elapsed());
    let e = r.error.as_ref().expect("an error");
    assert_eq!((e.kind.as_str(), e.line), ("TimeoutError", 8), "{r:?}");
}

#[test]
fn huge_timeouts_are_waited_like_none() {
    // No budget either: nothing bounds the wait but the answer.
    let options = ProgramOptions { timeout_ms: f64::INFINITY, ..ProgramOptions::default() };
    let r = run_program(
        concat!(
            "import multiprocessing as mp\n",
            "def answer(q):\n",
            "    q.put(42)\n",
            "if __name__ == '__main__':\n",
            "    q = mp.Queue()\n",
            "    p = mp.Process(target=answer, args=(q,))\n",
            "    p.start()\n",
            "    print(q.get(timeout=1e300))\n",
            "    p.join(1e300)\n",
            "    print(p.exitcode)\n",
        ),
        &options,
        Arc::new(NativeHost::default()),
    );
    assert_eq!(r.stdout, "42\n0\n", "{r:?}");
}

#[test]
fn a_childs_threads_have_their_own_lanes_in_its_process() {
    let r = run(concat!(
        "import multiprocessing as mp\n",
        "import threading\n",
        "import time\n",
        "def child():\n",
        "    ts = [threading.Thread(target=time.sleep, args=(0.05,)) for _ in range(2)]\n",
        "    for t in ts:\n",
        "        t.start()\n",
        "    for t in ts:\n",
        "        t.join()\n",
        "if __name__ == '__main__':\n",
        "    p = mp.Process(target=child)\n",
        "    p.start()\n",
        "    p.join()\n",
        "    print(p.exitcode)\n",
    ));
    assert_eq!(r.stdout, "0\n", "{r:?}");
    let child = r.lanes.iter().find(|l| l.kind == LaneKind::Process).expect("the child's lane");
    assert_eq!(child.name, "Process-1");
    let threads: Vec<_> = r.lanes.iter().filter(|l| l.kind == LaneKind::Thread).collect();
    assert_eq!(threads.len(), 2, "{:?}", r.lanes);
    for t in &threads {
        assert_eq!(t.process, child.process, "a thread of the child, in the child's process");
        assert!(t.id > child.id && t.id < child.id + super::child::LANES_PER_PROCESS);
        assert!(t.segments.iter().any(|s| s.state == LaneState::Io), "{:?}", t.segments);
    }
    assert_ne!(child.process, 1);
}
