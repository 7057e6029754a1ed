//! The Python VM's own wasm module (docs/python-vm.md §8.4): what a program's workers run.
//! Built from this crate with the `vm-module` feature, at opt-level 3, into `pkg-vm/`; the
//! page ([`super::program`] in the page's build) compiles it on the first Run and starts a
//! program's **process worker** (spawn.js's boot script, calling [`worker_main`]) and its
//! **thread workers** (program.js, calling [`program_thread_main`]) on it, and the
//! reference-count inspector's Python worker ([`super::inspector`]). Nothing else of the
//! page is in this module, and nothing of it is in the page's.

use crate::core::program::{
    Host, Live, OutputChunk, ProcessReport, ProcessStart, Processes, ProgramOptions, ProgramResult,
};
use crate::core::protocol::{Role, ToVm};
use crate::core::runtime::arena::{self as channels, Arena, Channel, TICKET_WORD};
use crate::core::runtime::board::Board;
use crate::core::runtime::{self, ChildStart, Process, ProgramLetter, Spawner, POOL_START};
use crate::web::arena::{self, SabArena, CHANNEL_BYTES};
use crate::web::clock::now_ms;
use crate::web::js::to_js;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// The process's shared state, in its memory: every thread worker on that memory sees it.
pub static PROCESS: Process = Process::new();

/// What each thread of the process does now, read by the page (`runtime::board`).
static BOARD: Board = Board::new();

/// This process's pid when it is a `multiprocessing` child (0: the main program).
static PID: AtomicU32 = AtomicU32::new(0);

fn post(letter: &ProgramLetter) {
    if let Ok(value) = to_js(letter) {
        let _ = scope().post_message(&value);
    }
}

struct BrowserHost;

impl Host for BrowserHost {
    fn now_ms(&self) -> f64 {
        now_ms()
    }

    fn spawn_thread(&self, job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        // Asked from any thread of the program: each was started by the page, so each
        // can ask it directly, even while the process's main thread blocks.
        let grow = |n| post(&ProgramLetter::Grow { n });
        PROCESS.pool.spawn(job, &grow, &|| PROCESS.stop_requested()).map_err(|e| e.to_string())
    }

    fn write(&self, chunk: OutputChunk) {
        post(&ProgramLetter::Output { ticket: ticket(), chunk });
    }

    fn stop_requested(&self) -> bool {
        PROCESS.stop_requested() || {
            let pid = PID.load(Ordering::Relaxed);
            pid != 0 && channels::killed(&SabArena, pid)
        }
    }

    fn budget_spent(&self) -> bool {
        PROCESS.budget_spent()
    }

    fn processes(&self) -> Option<&dyn Processes> {
        arena::present().then_some(self as &dyn Processes)
    }

    fn sleep_ms(&self, ms: f64) {
        PROCESS.sleep_ms(ms);
    }

    fn show(&self, lane: u32, news: Live<'_>) {
        BOARD.show(lane, news);
    }
}

impl Spawner for BrowserHost {
    fn arena(&self) -> &dyn Arena {
        &SabArena
    }

    fn spawn_process(&self, source: &str) -> Result<(), String> {
        // The page starts it: a worker started here would not start while this one blocks.
        post(&ProgramLetter::SpawnProcess { source: source.to_owned(), child: None });
        Ok(())
    }
}

/// `multiprocessing` over the program's arena (docs §5): children started by the page,
/// records and channels in the arena. Their output reaches the page as they write it, and
/// their lanes with their end, so there are no reports to gather here.
impl Processes for BrowserHost {
    fn start_process(&self, start: ProcessStart) -> Result<u32, String> {
        let pid = channels::new_pid(&SabArena);
        let child =
            ChildStart { pid, name: start.name, payload: start.payload, options: start.options, t0_ms: start.t0_ms };
        post(&ProgramLetter::SpawnProcess { source: start.source, child: Some(child) });
        Ok(pid)
    }

    fn wait_process(&self, pid: u32, timeout_ms: Option<f64>) -> Option<i32> {
        channels::wait_process(&SabArena, pid, timeout_ms, &now_ms, &|| self.stop_requested())
    }

    fn terminate_process(&self, pid: u32) {
        channels::terminate(&SabArena, pid);
    }

    fn channel_new(&self) -> Result<u32, String> {
        channels::create(&SabArena, CHANNEL_BYTES).map(|c| c.0).map_err(|e| e.to_string())
    }

    fn channel_send(&self, id: u32, message: Vec<u8>) -> Result<(), String> {
        Channel(id).send(&SabArena, &message, &|| self.stop_requested()).map_err(|e| e.to_string())
    }

    fn channel_recv(&self, id: u32, timeout_ms: Option<f64>) -> Option<Vec<u8>> {
        Channel(id).receive(&SabArena, timeout_ms, &now_ms, &|| self.stop_requested()).ok()
    }

    fn channel_len(&self, id: u32) -> usize {
        Channel(id).len(&SabArena)
    }

    fn take_reports(&self) -> Vec<ProcessReport> {
        Vec::new()
    }
}

/// The next output ticket: from the program's arena, so that the output of all its
/// processes is in one order (from this process's memory when there is no arena).
fn ticket() -> u32 {
    if arena::present() {
        SabArena.add(TICKET_WORD, 1)
    } else {
        PROCESS.ticket()
    }
}

fn tickets() -> u32 {
    if arena::present() {
        SabArena.load(TICKET_WORD)
    } else {
        PROCESS.ticket.load(Ordering::SeqCst)
    }
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Entry point of a program's process worker, called by spawn.js's boot script (the page's
/// own workers' entry of the same name is in the page's module).
#[wasm_bindgen]
pub fn worker_main(boot: JsValue) {
    match serde_wasm_bindgen::from_value(boot.clone()) {
        Ok(ToVm::Boot { role: Role::Program, .. }) => boot_process(&boot),
        Ok(ToVm::Boot { role: Role::Python, .. }) => boot_inspector(),
        Ok(_) => post(&ProgramLetter::Failed { message: "the VM module boots program processes only".into() }),
        Err(e) => post(&ProgramLetter::Failed { message: format!("unreadable boot message: {e}") }),
    }
}

/// The reference-count inspector's Python worker (`web::inspector` says why it is here): it
/// speaks the page's worker protocol (`FromWorker`), not a program's letters.
fn boot_inspector() {
    use crate::core::protocol::FromWorker;
    use crate::web::inspector::post;
    // No task to blame: the script did it (or a bug of ours it ran into).
    std::panic::set_hook(Box::new(|info| {
        let message = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
            (Some(s), _) => (*s).to_owned(),
            (_, Some(s)) => s.clone(),
            _ => "a panic".to_owned(),
        };
        post(&FromWorker::Failed { message: format!("it panicked: {message}") });
    }));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<ToVm>(event.data()) {
            Ok(ToVm::Python { source, version }) => crate::web::inspector::serve(&source, version),
            Ok(_) => {
                post(&FromWorker::Failed { message: "the inspector's worker got a message it has no use for".into() });
            }
            Err(e) => post(&FromWorker::Failed { message: format!("unreadable message: {e}") }),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // lives as long as the worker
    let memory_bytes = js_sys::Reflect::get(&wasm_bindgen::memory(), &"buffer".into())
        .and_then(|buffer| js_sys::Reflect::get(&buffer, &"byteLength".into()))
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(0.0);
    post(&FromWorker::Ready { threads: 1, at: now_ms(), pool_ms: 0.0, memory_bytes });
}

/// The page's letters to a process: its program (or a `multiprocessing` child's), once.
fn listen() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        BUSY.store(true, Ordering::SeqCst);
        match serde_wasm_bindgen::from_value::<ToVm>(event.data()) {
            Ok(ToVm::Program { source, options }) => run(&source, &options),
            Ok(ToVm::ProgramChild { source, child }) => run_child(source, child),
            Ok(_) => {
                post(&ProgramLetter::Failed { message: "a program's process got a message it has no use for".into() });
            }
            Err(e) => post(&ProgramLetter::Failed { message: format!("unreadable message: {e}") }),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // lives as long as the worker
}

/// The process worker is up: says so with its memory, for the page to start the pool on.
fn boot_process(raw: &JsValue) {
    // What the page added to the boot sits among its fields (`{Boot: {..., arena, pool_start}}`).
    let raw = &js_sys::Reflect::get(raw, &"Boot".into()).unwrap_or(JsValue::UNDEFINED);
    arena::adopt(&js_sys::Reflect::get(raw, &"arena".into()).unwrap_or(JsValue::UNDEFINED));
    // A panic in any thread of the process traps it: its message is the one thing the
    // page can still be told (std's hook is one for the whole memory, so this one
    // serves the thread workers too, and posts from whichever thread panicked).
    std::panic::set_hook(Box::new(|info| {
        let message = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
            (Some(s), _) => (*s).to_owned(),
            (_, Some(s)) => s.clone(),
            _ => "a panic".to_owned(),
        };
        let who = runtime::current_worker().map_or("its main thread".to_owned(), |w| format!("thread worker {w}"));
        post(&ProgramLetter::Crashed { message: format!("{who} panicked: {message}") });
    }));
    let pool_start = js_sys::Reflect::get(raw, &"pool_start".into()).ok().and_then(|n| n.as_f64());
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 or POOL_START
    PROCESS.pool.expect(pool_start.map_or(POOL_START, |n| n as u32));
    listen();
    let kill_addr = u32::try_from(PROCESS.kill.as_ptr() as usize).unwrap_or(0);
    let board_addr = u32::try_from(BOARD.addr()).unwrap_or(0);
    let Ok(ready) = to_js(&ProgramLetter::Ready { at: now_ms(), kill_addr, board_addr }) else { return };
    if let Ok(fields) = js_sys::Reflect::get(&ready, &"Ready".into()) {
        let _ = js_sys::Reflect::set(&fields, &"memory".into(), &wasm_bindgen::memory());
    }
    let _ = scope().post_message(&ready);
    if js_sys::Reflect::get(raw, &"warm".into()).ok().and_then(|w| w.as_bool()) == Some(true) {
        warm(0, now_ms());
    }
}

/// The process got its program: warming stops.
static BUSY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Slices of the VM's warm-up (`core::py::vm::warm`) run while the spare process waits for
/// a program, one per timer turn, so that a program arriving waits one slice at most.
const WARM_SLICES: u32 = 24;

fn warm(done: u32, began: f64) {
    if BUSY.load(Ordering::SeqCst) {
        return;
    }
    if done == WARM_SLICES {
        post(&ProgramLetter::Warmed { ms: now_ms() - began });
        return;
    }
    if !crate::core::py::vm::warm::slice(Arc::new(BrowserHost)) {
        return;
    }
    gloo_timers::callback::Timeout::new(0, move || warm(done + 1, began)).forget();
}

/// Runs the program on this worker's thread, to its end.
fn run(source: &str, options: &ProgramOptions) {
    let host: Arc<dyn Host> = Arc::new(BrowserHost);
    let mut result = runtime::run_program(source, options, host, &BrowserHost);
    // Parked workers return and close themselves, at once: terminated while blocked in
    // a wait, Chromium would let each linger up to 2 s.
    PROCESS.pool.close();
    // The page collected every chunk as it was written.
    result.output.clear();
    result.stdout.clear();
    post(&ProgramLetter::Done { result, tickets: tickets() });
}

/// Runs `multiprocessing` child `child.pid` of the program `source` to its end: its record
/// in the arena says when, for whoever joins it.
fn run_child(source: String, child: ChildStart) {
    PID.store(child.pid, Ordering::SeqCst);
    let start =
        ProcessStart { source, name: child.name, payload: child.payload, options: child.options, t0_ms: child.t0_ms };
    let host: Arc<dyn Host> = Arc::new(BrowserHost);
    let report = crate::core::py::vm::mp::child::run_child(&start, child.pid, host);
    PROCESS.pool.close();
    channels::process_ended(&SabArena, child.pid, report.exit_code);
    let result = ProgramResult {
        exit_code: report.exit_code,
        lanes: report.lanes,
        gil_switches: report.gil_switches,
        ..ProgramResult::default()
    };
    post(&ProgramLetter::Done { result, tickets: tickets() });
}

/// A thread worker's life, called by program.js once it is instantiated on the process's
/// memory: it joins the pool and serves it until the page terminates it.
#[wasm_bindgen]
pub fn program_thread_main(arena: JsValue) {
    arena::adopt(&arena);
    let slot = PROCESS.pool.join();
    post(&ProgramLetter::Joined { slot: slot.and_then(|s| u32::try_from(s).ok()), at: now_ms() });
    if let Some(slot) = slot {
        PROCESS.pool.serve(slot);
    }
}
