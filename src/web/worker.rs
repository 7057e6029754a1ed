//! What runs inside ThreadLab's workers: a process of the processes engine, the
//! threads engine's host (one wasm instance whose memory its rayon pool shares), or
//! the Python worker of the reference-count inspector.

use crate::core::gil::Gil;
use crate::core::protocol::{FromWorker, PythonJob, Role, TaskSpec, ToWorker};
use crate::core::py;
use crate::core::task::{self, GilSeat};
use crate::web::clock::{block_ms, now_ms};
#[cfg(feature = "threads")]
use crate::web::spawn::js_error;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};
use wasm_bindgen::prelude::*;
#[cfg(feature = "threads")]
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// A value in this instance's memory that `Poke` writes and `Peek` reads: it shows
/// whether two workers share memory (threads of one process) or not (processes).
pub static PROBE: AtomicU32 = AtomicU32::new(0);

/// Events of the threads host's pool, gathered until the host posts them.
///
/// Rayon's threads are Web Workers whose parent is the host worker, and their
/// `postMessage` would go to the host, not the page. So they stamp events here, in
/// the shared memory, and the host's own event loop forwards them (see [`flush`]).
static OUTBOX: Mutex<Vec<FromWorker>> = Mutex::new(Vec::new());

/// The results list of this worker's memory (the memory experiment's "list").
static RESULTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// A process's own GIL: every process has one, so processes never wait on each other.
static PROCESS_GIL: LazyLock<Gil> = LazyLock::new(Gil::default);

/// The size of this instance's memory now, in bytes.
fn memory_bytes() -> f64 {
    js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
        .and_then(|buffer| js_sys::Reflect::get(&buffer, &"byteLength".into()))
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(0.0)
}

thread_local! {
    static FLUSH_TIMER: Cell<Option<i32>> = const { Cell::new(None) };
    /// The task this thread is running: (run, task id, lane), for the panic hook.
    static CURRENT: Cell<Option<(u32, u32, u32)>> = const { Cell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(message: &FromWorker) {
    if let Ok(value) = serde_wasm_bindgen::to_value(message) {
        let _ = scope().post_message(&value);
    }
}

/// Entry point of every ThreadLab worker, called by the boot script of `spawn.js`.
#[wasm_bindgen]
pub fn worker_main(role: JsValue, threads: u32) {
    let role: Role = match serde_wasm_bindgen::from_value(role) {
        Ok(role) => role,
        Err(e) => return post(&FromWorker::Failed { message: format!("unknown worker role: {e}") }),
    };
    // wasm panics abort (the instance traps right after the hook): the hook is the one
    // chance to tell the page which task failed and why. A pool thread cannot post to
    // the page, so it leaves the news in shared memory for the host to forward.
    std::panic::set_hook(Box::new(move |info| {
        let message = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
            (Some(s), _) => (*s).to_owned(),
            (_, Some(s)) => s.clone(),
            _ => "a panic".to_owned(),
        };
        if role == Role::Python {
            // No task to blame: the script did it (or a bug of ours it ran into).
            return post(&FromWorker::Failed { message: format!("it panicked: {message}") });
        }
        if let Some((run, id, lane)) = CURRENT.with(Cell::get) {
            let crashed = FromWorker::Crashed { run, id, lane, at: now_ms(), message };
            match role {
                Role::Process => post(&crashed),
                Role::Threads => push(crashed),
                Role::Python => {}
            }
        }
    }));
    match role {
        Role::Process | Role::Python => {
            listen(role);
            post(&FromWorker::Ready { threads: 1, at: now_ms(), pool_ms: 0.0, memory_bytes: memory_bytes() });
        }
        Role::Threads => start_pool(threads),
    }
}

fn listen(role: Role) {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<ToWorker>(event.data()) {
            Ok(message) => handle(role, message),
            Err(e) => post(&FromWorker::Failed { message: format!("unreadable message: {e}") }),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // lives as long as the worker
}

fn handle(role: Role, message: ToWorker) {
    match message {
        ToWorker::Run { run, lane, tasks, gil, switch_interval_ms } => match role {
            Role::Process | Role::Python => run_here(run, lane, &tasks, gil, switch_interval_ms),
            Role::Threads => pool::run(run, tasks, gil, switch_interval_ms),
        },
        ToWorker::Python { source } => python(&source),
        ToWorker::Poke { value } => PROBE.store(value, Ordering::SeqCst),
        ToWorker::Peek => post(&FromWorker::Peeked { value: PROBE.load(Ordering::SeqCst) }),
        ToWorker::Race(config) => pool::race(config),
        ToWorker::Keep { workers } => match role {
            // A process appends to the list in its own memory.
            Role::Process | Role::Python => {
                let mut list = RESULTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                list.clear();
                list.push(0);
                post(&FromWorker::Kept { len: u32::try_from(list.len()).unwrap_or(u32::MAX) });
            }
            // Threads append to one list in their process's shared memory.
            Role::Threads => pool::keep(workers),
        },
        ToWorker::Echo { data } => post(&FromWorker::Echoed { data }),
        ToWorker::HandOff { bytes } => pool::hand_off(bytes),
    }
}

/// The most a trace may take (roughly, see `largerThan` in spawn.js) for the page to be sent it.
const MAX_TRACE_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

#[wasm_bindgen(module = "/src/web/spawn.js")]
extern "C" {
    #[wasm_bindgen(js_name = largerThan)]
    fn larger_than(value: &JsValue, limit: f64) -> bool;
}

/// Runs a script of the reference-count inspector and sends its trace back. Whatever
/// the script does to this instance (a trap, a stack overflow, an endless loop) the
/// page survives: it terminates this worker and starts another.
fn python(source: &str) {
    match PythonJob::of(source) {
        PythonJob::Run => {
            let began = now_ms();
            let mut trace = py::run_with_stack(source, py::BROWSER_STACK);
            trace.run_ms = Some(now_ms() - began);
            let traced = FromWorker::Traced { trace: Box::new(trace) };
            match serde_wasm_bindgen::to_value(&traced) {
                // The page would have to hold it all, in its own memory: a script must not
                // be able to make the page run out of it.
                Ok(value) if larger_than(&value, MAX_TRACE_BYTES) => {
                    post(&FromWorker::TooBig { limit_bytes: MAX_TRACE_BYTES });
                }
                Ok(value) => {
                    let _ = scope().post_message(&value);
                }
                Err(e) => post(&FromWorker::Failed { message: format!("its trace could not be sent: {e}") }),
            }
        }
        PythonJob::Crash => panic!("crashed on purpose: the tests' crash script"),
        // Blocks this worker's only thread for good, as an interpreter stuck in a loop
        // would: nothing is posted, and only the page's timeout ends it.
        PythonJob::Hang => loop {
            block_ms(60_000);
        },
    }
}

/// A process runs its tasks on its own (only) thread, posting each stamp as it happens.
fn run_here(run: u32, lane: u32, tasks: &[TaskSpec], gil: bool, switch_interval_ms: f64) {
    PROCESS_GIL.set_switch_interval(switch_interval_ms);
    let seat = gil.then_some(GilSeat { gil: &PROCESS_GIL, me: 0 });
    for spec in tasks {
        post(&FromWorker::Started { run, id: spec.id, lane, at: now_ms() });
        CURRENT.with(|c| c.set(Some((run, spec.id, lane))));
        let outcome = task::execute(spec, seat, &now_ms, block_ms);
        CURRENT.with(|c| c.set(None));
        post(&FromWorker::Ended { run, id: spec.id, lane, at: now_ms(), outcome });
    }
    // One thread per process: its GIL never changes hands.
    post(&FromWorker::Done { run, gil_switches: 0 });
}

#[cfg_attr(not(feature = "threads"), allow(dead_code))]
fn push(message: FromWorker) {
    OUTBOX.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(message);
}

/// Forwards the pool's events every few ms while a run is in flight. The stamps were
/// taken when things happened; this delay only affects when the page hears of them.
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
fn start_flushing() {
    if FLUSH_TIMER.with(Cell::get).is_some() {
        return;
    }
    let tick = Closure::<dyn FnMut()>::new(flush);
    let id = scope()
        .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 8)
        .unwrap_or_default();
    tick.forget(); // one per flushing period; small and bounded by the number of runs
    FLUSH_TIMER.with(|t| t.set(Some(id)));
}

#[cfg_attr(not(feature = "threads"), allow(dead_code))]
fn flush() {
    let batch = std::mem::take(&mut *OUTBOX.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let mut finished = false;
    for message in &batch {
        finished |= matches!(message, FromWorker::Done { .. });
        post(message);
    }
    if finished {
        if let Some(id) = FLUSH_TIMER.with(Cell::take) {
            scope().clear_interval_with_handle(id);
        }
    }
}

#[cfg(feature = "threads")]
fn start_pool(threads: u32) {
    wasm_bindgen_futures::spawn_local(async move {
        // A pool thread's trap is caught at its Worker object (see spawn.js) and
        // reported as `Failed`; the panic itself arrives as `Crashed`.
        let began = now_ms();
        match JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads as usize)).await {
            Ok(_) => {
                listen(Role::Threads);
                let threads = u32::try_from(rayon::current_num_threads()).unwrap_or(u32::MAX);
                let at = now_ms();
                post(&FromWorker::Ready { threads, at, pool_ms: at - began, memory_bytes: memory_bytes() });
            }
            Err(e) => post(&FromWorker::Failed { message: format!("the thread pool did not start: {}", js_error(e)) }),
        }
    });
}

/// Built without threads (for pages that are not cross-origin isolated): no pool.
#[cfg(not(feature = "threads"))]
fn start_pool(_threads: u32) {
    post(&FromWorker::Failed { message: pool::UNAVAILABLE.into() });
}

/// The threads host's work on its rayon pool.
#[cfg(feature = "threads")]
mod pool {
    use super::{now_ms, push, start_flushing, task, FromWorker, GilSeat, TaskSpec, CURRENT, RESULTS};
    use crate::core::gil::Gil;
    use crate::core::race;
    use crate::web::clock::block_ms;
    use std::sync::Arc;

    /// The threads engine: every task is its own rayon job, so with as many threads as
    /// tasks they all run at once, like one `threading.Thread` per call. With `gil`, they
    /// share one GIL in this process's memory, as CPython's threads do.
    pub fn run(run: u32, tasks: Vec<TaskSpec>, gil: bool, switch_interval_ms: f64) {
        use rayon::prelude::*;
        let lock = Arc::new(Gil::new(switch_interval_ms));
        // `rayon::spawn` returns at once: the host's event loop stays free to forward events.
        rayon::spawn(move || {
            tasks.into_par_iter().with_max_len(1).for_each(|spec| {
                let lane = u32::try_from(rayon::current_thread_index().unwrap_or(0)).unwrap_or(0);
                let seat = gil.then_some(GilSeat { gil: &lock, me: lane });
                push(FromWorker::Started { run, id: spec.id, lane, at: now_ms() });
                CURRENT.with(|c| c.set(Some((run, spec.id, lane))));
                let outcome = task::execute(&spec, seat, &now_ms, block_ms);
                CURRENT.with(|c| c.set(None));
                push(FromWorker::Ended { run, id: spec.id, lane, at: now_ms(), outcome });
            });
            push(FromWorker::Done { run, gil_switches: lock.handovers() });
        });
        start_flushing();
    }

    /// Every thread of the pool hammers one shared count (see `core::race`).
    pub fn race(config: race::RaceConfig) {
        rayon::spawn(move || {
            let shared = race::Shared::new(config.threads);
            let began = now_ms();
            rayon::broadcast(|ctx| {
                if ctx.index() < config.threads as usize {
                    race::hammer(&shared, u32::try_from(ctx.index()).unwrap_or(0), config.pairs, config.variant);
                }
            });
            let elapsed = now_ms() - began;
            push(FromWorker::Raced(race::result(config, &shared, elapsed)));
            push(FromWorker::Done { run: 0, gil_switches: 0 });
        });
        start_flushing();
    }

    /// Threads append to one list in their process's shared memory.
    pub fn keep(workers: u32) {
        RESULTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        rayon::spawn(move || {
            rayon::broadcast(|ctx| {
                if ctx.index() < workers as usize {
                    RESULTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(ctx.index());
                }
            });
            let len = RESULTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
            push(FromWorker::Kept { len: u32::try_from(len).unwrap_or(u32::MAX) });
            push(FromWorker::Done { run: 0, gil_switches: 0 });
        });
        start_flushing();
    }

    /// The thread gets the very same bytes: an Arc, a pointer into shared memory.
    pub fn hand_off(bytes: u32) {
        let data = Arc::new(vec![7u8; bytes as usize]);
        let began = now_ms();
        rayon::spawn(move || {
            let seen = u32::try_from(data.len()).unwrap_or(u32::MAX);
            push(FromWorker::HandedOff { ms: now_ms() - began, bytes: seen });
            push(FromWorker::Done { run: 0, gil_switches: 0 });
        });
        start_flushing();
    }
}

/// Without threads nothing reaches these: no threads host ever starts.
#[cfg(not(feature = "threads"))]
mod pool {
    use super::{post, FromWorker, TaskSpec};
    use crate::core::race::RaceConfig;

    pub const UNAVAILABLE: &str =
        "threads need shared memory, which this page does not have: it is not cross-origin isolated";

    fn unavailable() {
        post(&FromWorker::Failed { message: UNAVAILABLE.into() });
    }

    pub fn run(_run: u32, _tasks: Vec<TaskSpec>, _gil: bool, _switch_interval_ms: f64) {
        unavailable();
    }

    pub fn race(_config: RaceConfig) {
        unavailable();
    }

    pub fn keep(_workers: u32) {
        unavailable();
    }

    pub fn hand_off(_bytes: u32) {
        unavailable();
    }
}
