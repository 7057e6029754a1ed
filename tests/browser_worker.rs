//! Browser tests, run in a dedicated worker of headless Chromium and of headless Firefox
//! ESR by `wasm-pack test --headless --chrome` and `--firefox` (see `cargo xtask test`).
//! A worker, because the things under test block (rayon's broadcast, the tasks' waits),
//! which the page's main thread may not.
#![cfg(target_arch = "wasm32")]

use futures::channel::mpsc;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use threadlab::core::config::{Engine, RunConfig, Workload};
use threadlab::core::gil::SegmentState;
use threadlab::core::protocol::{FromWorker, Role, ToWorker};
use threadlab::web::clock::{now_ms, CROSS_CONTEXT_PRECISION_MS};
use threadlab::web::engines::{processes::Processes, receive, threads::Threads, Plan, Stamped};
use threadlab::web::spawn::WorkerHandle;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn io_plan(engine: Engine, tasks: u32, duration_ms: u32) -> Plan {
    Plan::new(
        7,
        RunConfig {
            engine,
            workload: Workload::Io,
            tasks,
            duration_ms,
            workers: tasks,
            ..RunConfig::notebook_preset()
        },
    )
}

fn cpu_plan(engine: Engine, tasks: u32, units: u32, gil: bool) -> Plan {
    let config = RunConfig {
        engine,
        workload: Workload::Cpu,
        tasks,
        units,
        workers: tasks,
        gil,
        switch_interval_ms: 1.0,
        ..RunConfig::notebook_preset()
    };
    Plan::new(9, config)
}

fn cores() -> f64 {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    js_sys::Reflect::get(&navigator, &"hardwareConcurrency".into()).unwrap().as_f64().unwrap_or(1.0)
}

/// The "running" segments of all tasks, tagged with their task.
fn running(stamps: &[Stamped]) -> Vec<(u32, f64, f64)> {
    stamps
        .iter()
        .flat_map(|s| {
            s.outcome.segments.iter().filter(|g| g.state == SegmentState::Running).map(|g| (s.id, g.start_ms, g.end_ms))
        })
        .collect()
}

/// Whether a running segment of one task overlaps one of another task.
fn running_overlaps(stamps: &[Stamped]) -> bool {
    let segs = running(stamps);
    let eps = CROSS_CONTEXT_PRECISION_MS;
    segs.iter().any(|a| segs.iter().any(|b| a.0 != b.0 && a.1 + eps < b.2 && b.1 + eps < a.2))
}

/// Every stamp lies between two stamps taken here, in this worker, before and after.
fn assert_on_one_clock(stamps: &[Stamped], before: f64, after: f64, duration_ms: f64) {
    for s in stamps {
        let eps = CROSS_CONTEXT_PRECISION_MS;
        assert!(before - eps <= s.start && s.start <= s.end && s.end <= after + eps, "{before} ≤ {s:?} ≤ {after}");
        // Start and end are stamped in one context: less than one coarsening step early
        // (20 µs in Firefox), within the cross-context bound.
        assert!(s.end - s.start >= duration_ms - eps, "task {} waited only {} ms", s.id, s.end - s.start);
    }
}

#[wasm_bindgen_test]
async fn the_thread_pool_has_n_threads_that_share_one_memory() {
    JsFuture::from(wasm_bindgen_rayon::init_thread_pool(3)).await.expect("pool starts");
    assert_eq!(rayon::current_num_threads(), 3);

    // Thread 0 writes a value; the other threads (other Web Workers) wait to read it.
    static VALUE: AtomicU32 = AtomicU32::new(0);
    static SEEN: Mutex<BTreeSet<(usize, u32)>> = Mutex::new(BTreeSet::new());
    rayon::broadcast(|ctx| {
        if ctx.index() == 0 {
            VALUE.store(42, Ordering::SeqCst);
        }
        let give_up = now_ms() + 5_000.0;
        let mut seen = VALUE.load(Ordering::SeqCst);
        while seen != 42 && now_ms() < give_up {
            seen = VALUE.load(Ordering::SeqCst);
        }
        SEEN.lock().unwrap().insert((ctx.index(), seen));
    });
    // And this worker, which is none of the pool's threads, sees what they all wrote.
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen, BTreeSet::from([(0, 42), (1, 42), (2, 42)]));
}

#[wasm_bindgen_test]
async fn each_process_has_its_own_memory() {
    let (outbox, mut inbox) = mpsc::unbounded();
    let a = WorkerHandle::spawn(Role::Process, 1, 0, &outbox).unwrap();
    let b = WorkerHandle::spawn(Role::Process, 1, 1, &outbox).unwrap();
    let mut ready = BTreeSet::new();
    while ready.len() < 2 {
        match receive(&mut inbox, 30_000).await.expect("processes start") {
            (id, Ok(FromWorker::Ready { threads: 1, .. })) => {
                ready.insert(id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    a.post(&ToWorker::Poke { value: 7 }).unwrap();
    a.post(&ToWorker::Peek).unwrap();
    b.post(&ToWorker::Peek).unwrap();
    let mut peeked = BTreeSet::new();
    while peeked.len() < 2 {
        match receive(&mut inbox, 10_000).await.expect("answers") {
            (id, Ok(FromWorker::Peeked { value })) => {
                peeked.insert((id, value));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Written in process 0, invisible to process 1 and to this worker.
    assert_eq!(peeked, BTreeSet::from([(0, 7), (1, 0)]));
    assert_eq!(threadlab::web::worker::PROBE.load(Ordering::SeqCst), 0);
}

#[wasm_bindgen_test]
async fn process_stamps_are_on_this_workers_clock_and_overlap() {
    let mut processes = Processes::default();
    processes.prepare(2).await.expect("processes start");
    let before = now_ms();
    let stamps = processes.run(&io_plan(Engine::Processes, 2, 60), &|_| {}).await.expect("run").stamps;
    let after = now_ms();
    assert_eq!(stamps.len(), 2);
    assert_on_one_clock(&stamps, before, after, 60.0);
    let lanes: BTreeSet<_> = stamps.iter().map(|s| s.lane).collect();
    assert_eq!(lanes, BTreeSet::from([0, 1]), "one task per process");
    // Both waited at the same time: each started before the other ended.
    assert!(stamps[0].start < stamps[1].end && stamps[1].start < stamps[0].end, "{stamps:?}");
}

#[wasm_bindgen_test]
async fn thread_stamps_are_on_this_workers_clock_and_overlap() {
    let mut threads = Threads::default();
    threads.prepare(2).await.expect("threads host starts");
    let before = now_ms();
    let stamps = threads.run(&io_plan(Engine::Threads, 2, 60), &|_| {}).await.expect("run").stamps;
    let after = now_ms();
    assert_eq!(stamps.len(), 2);
    assert_on_one_clock(&stamps, before, after, 60.0);
    let lanes: BTreeSet<_> = stamps.iter().map(|s| s.lane).collect();
    assert_eq!(lanes, BTreeSet::from([0, 1]), "one task per thread");
    assert!(stamps[0].start < stamps[1].end && stamps[1].start < stamps[0].end, "{stamps:?}");
}

#[wasm_bindgen_test]
async fn cpu_tasks_in_a_process_return_checked_results() {
    let mut processes = Processes::default();
    processes.prepare(1).await.expect("process starts");
    let plan = Plan::new(3, RunConfig { workers: 1, ..cpu_plan(Engine::Processes, 2, 1, true).config });
    let stamps = processes.run(&plan, &|_| {}).await.expect("run").stamps;
    assert_eq!(stamps.len(), 2);
    for s in &stamps {
        assert_eq!(s.outcome.checked, Some(true));
        let expected = format!("{:016x}", threadlab::core::kernel::expected(s.id, 1));
        assert_eq!(s.outcome.result.as_deref(), Some(expected.as_str()));
    }
    // One process: the second task waited for the first.
    let (first, second) =
        if stamps[0].start < stamps[1].start { (&stamps[0], &stamps[1]) } else { (&stamps[1], &stamps[0]) };
    assert!(second.start >= first.end);
}

#[wasm_bindgen_test]
async fn threads_holding_the_gil_never_run_at_once_and_take_turns() {
    let mut threads = Threads::default();
    threads.prepare(2).await.expect("threads host starts");
    let output = threads.run(&cpu_plan(Engine::Threads, 2, 6, true), &|_| {}).await.expect("run");
    assert_eq!(output.stamps.len(), 2);
    assert!(output.stamps.iter().all(|s| s.outcome.checked == Some(true)), "slicing kept the answers right");
    assert!(!running_overlaps(&output.stamps), "two threads ran Python at once: {:?}", running(&output.stamps));
    assert!(output.gil_switches >= 1, "the GIL never changed hands");
    // Each task's segments lie inside its bar, in order, one after another.
    for s in &output.stamps {
        let segs = &s.outcome.segments;
        assert!(s.start <= segs[0].start_ms && segs[segs.len() - 1].end_ms <= s.end, "task {}: {segs:?}", s.id);
        assert!(segs.windows(2).all(|w| w[0].end_ms <= w[1].start_ms && w[0].state != w[1].state), "{segs:?}");
        assert!(segs.iter().any(|g| g.state == SegmentState::GilWait), "task {} never waited for the GIL", s.id);
    }
}

#[wasm_bindgen_test]
async fn free_threaded_threads_run_at_once_on_two_cores() {
    if cores() < 2.0 {
        return; // one core: nothing can run at once, whatever the lock
    }
    let mut threads = Threads::default();
    threads.prepare(2).await.expect("threads host starts");
    let output = threads.run(&cpu_plan(Engine::Threads, 2, 10, false), &|_| {}).await.expect("run");
    assert!(running_overlaps(&output.stamps), "free-threaded threads never overlapped: {:?}", running(&output.stamps));
    assert_eq!(output.gil_switches, 0);
    assert!(output.stamps.iter().flat_map(|s| &s.outcome.segments).all(|g| g.state == SegmentState::Running));
}

#[wasm_bindgen_test]
async fn processes_each_with_their_own_gil_run_at_once() {
    if cores() < 2.0 {
        return;
    }
    let mut processes = Processes::default();
    processes.prepare(2).await.expect("processes start");
    let output = processes.run(&cpu_plan(Engine::Processes, 2, 10, true), &|_| {}).await.expect("run");
    assert!(running_overlaps(&output.stamps), "processes never overlapped: {:?}", running(&output.stamps));
    assert!(output.stamps.iter().flat_map(|s| &s.outcome.segments).all(|g| g.state != SegmentState::GilWait));
}

/// The engines race each wait for a letter against a timeout: the loser's timer must be
/// cleared, or every letter leaves one behind to fire later on the page's thread.
#[wasm_bindgen_test]
async fn a_delay_dropped_before_it_fires_clears_its_timer() {
    use futures::future::{select, Either};
    use std::cell::RefCell;
    use std::rc::Rc;
    use threadlab::web::clock::delay;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    // Watch clearTimeout, passing each call on.
    let global = js_sys::global();
    let original: js_sys::Function = js_sys::Reflect::get(&global, &"clearTimeout".into()).unwrap().unchecked_into();
    let cleared = Rc::new(RefCell::new(Vec::new()));
    let spy = {
        let (cleared, original) = (cleared.clone(), original.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |id: JsValue| {
            let _ = original.call1(&JsValue::NULL, &id);
            cleared.borrow_mut().push(id);
        })
    };
    js_sys::Reflect::set(&global, &"clearTimeout".into(), spy.as_ref()).unwrap();

    let Either::Right(((), long)) = select(delay(60_000), delay(5)).await else {
        panic!("a 60 s delay fired before a 5 ms one");
    };
    let before = cleared.borrow().len();
    drop(long);
    let after = cleared.borrow().clone();
    js_sys::Reflect::set(&global, &"clearTimeout".into(), &original).unwrap();

    assert_eq!(after.len(), before + 1, "dropping the pending delay cleared no timer");
    assert!(after.last().and_then(JsValue::as_f64).is_some(), "cleared {:?}, not a timer handle", after.last());
}
