//! Every ThreadLab worker starts here: the boot, the panic hook, and the routing of the
//! page's messages to the worker half of an engine (`engines::processes::process`,
//! `engines::threads::host`) or of the Python worker (`inspector::serve`, in the build without threads).

use crate::core::protocol::{FromWorker, Role, ToWorker};
use crate::web::clock::now_ms;
use crate::web::engines::{processes::process, threads::host};
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// A value in this instance's memory that `Poke` writes and `Peek` reads: it shows
/// whether two workers share memory (threads of one process) or not (processes).
pub static PROBE: AtomicU32 = AtomicU32::new(0);

/// The results list of this worker's memory (the memory experiment's "list").
pub static RESULTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The size of this instance's memory now, in bytes.
#[must_use]
pub fn memory_bytes() -> f64 {
    js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
        .and_then(|buffer| js_sys::Reflect::get(&buffer, &"byteLength".into()))
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(0.0)
}

thread_local! {
    /// The task this thread is running: (run, task id, lane), for the panic hook.
    static CURRENT: Cell<Option<(u32, u32, u32)>> = const { Cell::new(None) };
}

/// Says which task this thread runs (`(run, id, lane)`), or that it runs none, for the panic hook.
pub fn running(task: Option<(u32, u32, u32)>) {
    CURRENT.with(|c| c.set(task));
}

#[must_use]
pub fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Posts `message` to whoever started this worker (for a pool thread, its host: see
/// `engines::threads::host::push`).
pub fn post(message: &FromWorker) {
    if let Ok(value) = serde_wasm_bindgen::to_value(message) {
        let _ = scope().post_message(&value);
    }
}

/// Entry point of every ThreadLab worker, called by the boot script of `spawn.js`.
#[wasm_bindgen]
pub fn worker_main(boot: JsValue) {
    let (role, threads) = match serde_wasm_bindgen::from_value(boot) {
        Ok(ToWorker::Boot { role, threads }) => (role, threads),
        Ok(other) => return post(&FromWorker::Failed { message: format!("a worker must boot first, not {other:?}") }),
        Err(e) => return post(&FromWorker::Failed { message: format!("unreadable boot message: {e}") }),
    };
    if role == Role::Program {
        // Programs run in the VM's own module (web::vm), never in the page's.
        return post(&FromWorker::Failed { message: "a program's process boots the VM module, not the page's".into() });
    }
    // The threaded page's inspector runs on the VM's module too (web::inspector says why).
    #[cfg(feature = "threads")]
    if role == Role::Python {
        return post(&FromWorker::Failed { message: "the inspector's Python worker boots the VM module".into() });
    }
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
                Role::Threads => host::push(crashed),
                Role::Python | Role::Program => {}
            }
        }
    }));
    match role {
        Role::Process | Role::Python | Role::Program => {
            listen(role);
            post(&FromWorker::Ready { threads: 1, at: now_ms(), pool_ms: 0.0, memory_bytes: memory_bytes() });
        }
        Role::Threads => host::start(threads),
    }
}

/// Hands the page's messages to this worker's half of its engine.
pub fn listen(role: Role) {
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
            Role::Process | Role::Python | Role::Program => process::run(run, lane, &tasks, gil, switch_interval_ms),
            Role::Threads => host::run(run, tasks, gil, switch_interval_ms),
        },
        #[cfg(not(feature = "threads"))]
        ToWorker::Python { source, version } => crate::web::inspector::serve(&source, version),
        #[cfg(feature = "threads")]
        ToWorker::Python { .. } => {
            post(&FromWorker::Failed {
                message: "the inspector's scripts run in the VM module, not the page's".into(),
            });
        }
        ToWorker::Program { .. } | ToWorker::ProgramChild { .. } => {
            post(&FromWorker::Failed { message: "programs run in the VM module, not the page's".into() });
        }
        ToWorker::Poke { value } => PROBE.store(value, Ordering::SeqCst),
        ToWorker::Peek => post(&FromWorker::Peeked { value: PROBE.load(Ordering::SeqCst) }),
        ToWorker::Race(config) => host::race(config),
        ToWorker::Keep { workers } => match role {
            Role::Process | Role::Python | Role::Program => process::keep(),
            Role::Threads => host::keep(workers),
        },
        ToWorker::Echo { data } => post(&FromWorker::Echoed { data }),
        ToWorker::Boot { .. } => post(&FromWorker::Failed { message: "this worker has booted already".into() }),
        ToWorker::HandOff { bytes } => host::hand_off(bytes),
    }
}
