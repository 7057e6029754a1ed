//! Where a student's Python program runs in the browser (issue 14, docs/python-vm.md §4, §6):
//! the page-side API the Code view and `threadlab.python` use ([`ProgramRun`]). The worker
//! half is the Python VM's own wasm module (`web::vm`, built with the `vm-module` feature into
//! `pkg-vm/`, docs/python-vm.md §8.4), which the page compiles on the first Run.
//!
//! A program runs in a **process worker**: its own instance of the VM module and shared
//! memory (a plain `init`, so a brand-new memory), and its main thread runs there, never on
//! the page's thread. Its Python threads run on **thread workers** that the *page* starts on that
//! memory (`initSync({module, memory, thread_stack_size})`): a nested worker would not start
//! while the process blocks in `join` or in the GIL. They park in the process's pool
//! (`core::runtime::ThreadPool`) until `Host::spawn_thread` hands them a job. The process
//! makes the memory (rather than the page making it and passing it in) so that the page need
//! not know the module's memory limits; it sends the memory to the page in its `Ready`.
//!
//! Every worker of a program posts its output straight to the page with a ticket from one
//! counter in the process's memory; the page shows it in ticket order ([`Reorder`]).
//! Stop sets a kill word in the process's memory (the VM checks it at every eval-breaker
//! site and ends naming its line), waits [`STOP_GRACE_MS`], and terminates every worker of
//! the program: the page started them all, so none lingers.
//!
//! Each program gets a fresh process (no statics, heap or stuck thread of the last one
//! survive); the next one is started as soon as a program ends, with its pool, so that it
//! is warm when wanted. One program runs at a time on a page. Dropping a [`ProgramRun`]
//! before it is done stops it.

use crate::core::program::{
    over_budget_message, Lane, OutputChunk, ProgramError, ProgramOptions, ProgramResult, DEFAULT_TIMEOUT_MS,
};
use crate::core::protocol::{Role, ToWorker};
use crate::core::runtime::board::{self, LiveThread, BOARD_WORDS};
use crate::core::runtime::{ChildStart, ProgramLetter, Reorder, KILL_NONE, KILL_STOP, KILL_TIMEOUT, POOL_START};
use crate::web::clock::{self, now_ms};
use crate::web::engines::START_TIMEOUT_MS;
use crate::web::js::to_js;
use crate::web::spawn::{js_error, silence, spawn_worker, GLUE_URL};
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;
use js_sys::{JsString, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

/// A thread worker's stack (docs §4: 32 threads ≈ 35 MB).
const THREAD_STACK_BYTES: u32 = 1 << 20;
/// How long Stop (or the time budget) lets the VM end by itself, naming its line, before
/// every worker is terminated.
pub const STOP_GRACE_MS: u32 = 60;
/// How long a program waits for its process's first [`POOL_START`] thread workers before it
/// starts without them (they take 15-21 ms each; a loaded machine or browser, longer).
const POOL_WAIT_MS: u32 = 1_000;
/// After `Done`, how long output still on its way from a thread worker is waited for.
const LATE_OUTPUT_MS: u32 = 500;
/// After a worker's error event, how long the panic hook's message is waited for.
const CRASH_DETAIL_MS: u32 = 200;

#[wasm_bindgen(module = "/src/web/program.js")]
extern "C" {
    #[wasm_bindgen(js_name = spawnProgramThread, catch)]
    fn spawn_program_thread(
        glue_url: &JsString,
        name: &str,
        module: &JsValue,
        memory: &JsValue,
        arena: &JsValue,
        stack_bytes: u32,
    ) -> Result<Worker, JsValue>;
    #[wasm_bindgen(js_name = vmGlueUrl)]
    pub(crate) fn vm_glue_url(page_glue_url: &JsString) -> JsString;
    #[wasm_bindgen(js_name = bootWithVm)]
    pub(crate) fn boot_with_vm(page_glue_url: &JsString, worker: &Worker, boot: &JsValue);
    #[wasm_bindgen(js_name = vmRequested)]
    pub(crate) fn vm_requested() -> bool;
    #[wasm_bindgen(js_name = vmModule)]
    fn vm_module() -> JsValue;
    #[wasm_bindgen(js_name = setWord)]
    fn set_word(memory: &JsValue, addr: u32, value: u32);
    #[wasm_bindgen(js_name = setSabWord)]
    fn set_sab_word(sab: &JsValue, index: u32, value: i32);
    #[wasm_bindgen(js_name = readWords)]
    fn read_words(memory: &JsValue, addr: u32, count: u32) -> Vec<u32>;
}

/// What a running program reports to the page, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgramEvent {
    /// Output written since the last event, in the order the program wrote it.
    Output(Vec<OutputChunk>),
    /// The program ended (normally, with an error, stopped, timed out or crashed); the
    /// result holds all of its output. Every later `next` returns the same.
    Done(ProgramResult),
}

/// What reaches a run: a letter of one of its workers (or why a worker failed), or Stop.
enum Event {
    Letter(Result<ProgramLetter, String>),
    Stop,
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// One program process and the thread workers the page started on its memory. Dropping it
/// terminates them all.
struct Process {
    /// The program's channel arena, shared by all its processes (docs §5).
    arena: JsValue,
    /// The program's first process, for a child; `None` for that one.
    root: Option<Weak<Process>>,
    /// The other processes of the program (kept by the first, whoever asked for them).
    children: RefCell<Vec<Rc<Process>>>,
    /// The lanes of the children that ended (kept by the first). Taken in with the child's
    /// end, in the same handler that forgets it: had they gone through the run's queue, a
    /// child forgotten here could have its lanes still queued behind the program's `Done`,
    /// which saw no child left to wait for and ended without them.
    child_lanes: RefCell<Vec<Lane>>,
    /// A child's program, posted when it is ready.
    pending: RefCell<Option<ToWorker>>,
    /// A `multiprocessing` child's pid (0: not one), whose record the page closes if it dies.
    pid: Cell<u32>,
    /// The program's options (the first process's), for its children.
    options: RefCell<ProgramOptions>,
    worker: Worker,
    threads: RefCell<Vec<Worker>>,
    handlers: RefCell<Vec<Handler>>,
    memory: RefCell<Option<JsValue>>,
    kill_addr: Cell<u32>,
    /// Its live board (`core::runtime::board`) in `memory`; 0 until it is ready.
    board_addr: Cell<u32>,
    tx: UnboundedSender<Event>,
    rx: RefCell<Option<UnboundedReceiver<Event>>>,
    spawned_at: f64,
    joined: Cell<u32>,
    /// The first process's `Ready`, held back from its run until its first [`POOL_START`]
    /// thread workers have joined ([`Process::release_ready`]).
    ready: RefCell<Option<ProgramLetter>>,
}

thread_local! {
    /// The process the next program runs in, started ahead.
    static SPARE: RefCell<Option<Rc<Process>>> = const { RefCell::new(None) };
    /// Stops the running program, if one runs.
    static RUNNING: RefCell<Option<Stopper>> = const { RefCell::new(None) };
    /// ms from starting the last process to its first [`POOL_START`] thread workers parked.
    static POOL_MS: Cell<Option<f64>> = const { Cell::new(None) };
    /// Whether a program's process was ever started here (the VM's module may have been
    /// fetched for the inspector alone, which wants no spare process).
    static STARTED: Cell<bool> = const { Cell::new(false) };
    /// A process warmed the VM's machine code for every later one (`core::py::vm::warm`):
    /// until one has, each new spare process is asked to.
    static WARMED: Cell<bool> = const { Cell::new(false) };
}

impl Process {
    /// A program's first process, with a fresh arena.
    fn spawn() -> Result<Rc<Process>, String> {
        let (tx, rx) = mpsc::unbounded();
        Process::start(crate::web::arena::create().into(), tx, Some(rx), None)
    }

    fn start(
        arena: JsValue,
        tx: UnboundedSender<Event>,
        rx: Option<UnboundedReceiver<Event>>,
        root: Option<Weak<Process>>,
    ) -> Result<Rc<Process>, String> {
        STARTED.with(|s| s.set(true));
        let boot = to_js(&ToWorker::Boot { role: Role::Program, threads: 1 }).map_err(js_error)?;
        // The boot's own fields carry the rest (the message is `{Boot: {...}}`, one key).
        let fields = Reflect::get(&boot, &"Boot".into()).map_err(js_error)?;
        Reflect::set(&fields, &"arena".into(), &arena).map_err(js_error)?;
        // A child starts with no thread worker (most processes of a `Pool` start no thread);
        // its first `Thread.start()` asks for them.
        Reflect::set(&fields, &"pool_start".into(), &(if root.is_some() { 0 } else { POOL_START }).into())
            .map_err(js_error)?;
        if root.is_none() && !WARMED.with(Cell::get) {
            Reflect::set(&fields, &"warm".into(), &true.into()).map_err(js_error)?;
        }
        // The VM's own module (docs/python-vm.md §8.4), compiled on the first Run: the boot
        // is posted once it is.
        let worker = GLUE_URL
            .with(|url| {
                let worker = spawn_worker(&vm_glue_url(url), "threadlab program", &JsValue::UNDEFINED)?;
                boot_with_vm(url, &worker, &boot);
                Ok::<_, JsValue>(worker)
            })
            .map_err(js_error)?;
        let process = Rc::new(Process {
            arena,
            root,
            children: RefCell::new(Vec::new()),
            child_lanes: RefCell::new(Vec::new()),
            pending: RefCell::new(None),
            pid: Cell::new(0),
            options: RefCell::new(ProgramOptions::default()),
            worker: worker.clone(),
            threads: RefCell::new(Vec::new()),
            handlers: RefCell::new(Vec::new()),
            memory: RefCell::new(None),
            kill_addr: Cell::new(0),
            board_addr: Cell::new(0),
            tx,
            rx: RefCell::new(rx),
            spawned_at: now_ms(),
            ready: RefCell::new(None),
            joined: Cell::new(0),
        });
        Process::listen(&process, &worker);
        Ok(process)
    }

    /// The program's first process.
    fn root(self: &Rc<Process>) -> Option<Rc<Process>> {
        match &self.root {
            None => Some(self.clone()),
            Some(root) => root.upgrade(),
        }
    }

    /// Starts another process of the program, on the same arena, running `source`.
    fn spawn_child(self: &Rc<Process>, source: String, start: Option<ChildStart>) {
        let options = self.options.borrow().clone();
        let pid = start.as_ref().map_or(0, |s| s.pid);
        match Process::start(self.arena.clone(), self.tx.clone(), None, Some(Rc::downgrade(self))) {
            Ok(child) => {
                child.pid.set(pid);
                *child.pending.borrow_mut() = Some(match start {
                    Some(child) => ToWorker::ProgramChild { source, child },
                    None => ToWorker::Program { source, options },
                });
                self.children.borrow_mut().push(child);
            }
            // A `join` on it then ends at once, with exit code 1.
            Err(_) => self.closed_record(pid),
        }
    }

    /// A child ended (or died): it is terminated, alone. One that died without closing its
    /// record (a trap) has it closed with exit code 1, so that its `join` returns.
    fn forget_child(self: &Rc<Process>, child: &Rc<Process>, died: bool) {
        if died {
            self.closed_record(child.pid.get());
        }
        self.children.borrow_mut().retain(|c| !Rc::ptr_eq(c, child));
    }

    fn closed_record(&self, pid: u32) {
        if pid != 0 {
            let (ended, exit) = crate::core::runtime::arena::ended_words(pid);
            set_sab_word(&self.arena, exit, 1);
            set_sab_word(&self.arena, ended, 1);
        }
    }

    /// Routes `worker`'s letters: the pool's needs are met here at once (the run may not be
    /// awaiting anything), the rest goes to the run.
    fn listen(process: &Rc<Process>, worker: &Worker) {
        let weak = Rc::downgrade(process);
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(process) = weak.upgrade() else { return };
            let data = event.unchecked_into::<MessageEvent>().data();
            let field = |value: &JsValue, name: &str| Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED);
            // spawn.js's `{Failed: {message}}` (its boot, for any worker) reads as ProgramLetter's.
            let letter = serde_wasm_bindgen::from_value::<ProgramLetter>(data.clone())
                .map_err(|e| format!("unreadable message from a program worker: {e}"));
            match &letter {
                Ok(ProgramLetter::Ready { kill_addr, board_addr, .. }) => {
                    *process.memory.borrow_mut() = Some(field(&field(&data, "Ready"), "memory"));
                    process.kill_addr.set(*kill_addr);
                    process.board_addr.set(*board_addr);
                    if let Some(program) = process.pending.borrow_mut().take() {
                        let _ = process.post(&program);
                    }
                    if process.root.is_some() {
                        return;
                    }
                    // The program starts once its pool is up, not while it starts: a program
                    // started after another at once (the pool of the process started ahead
                    // still coming up) had its two threads share two cores with four workers
                    // starting. A pool that is slow to come is waited for only so long.
                    if let Ok(ready) = letter.clone() {
                        *process.ready.borrow_mut() = Some(ready);
                    }
                    process.grow(POOL_START);
                    let weak = Rc::downgrade(&process);
                    gloo_timers::callback::Timeout::new(POOL_WAIT_MS, move || {
                        if let Some(process) = weak.upgrade() {
                            process.release_ready();
                        }
                    })
                    .forget();
                    return;
                }
                Ok(ProgramLetter::SpawnProcess { source, child }) => {
                    if let Some(root) = process.root() {
                        root.spawn_child(source.clone(), child.clone());
                    }
                    return;
                }
                Ok(ProgramLetter::Done { result, .. }) if process.root.is_some() => {
                    // A child's end is its own: its siblings and parent go on.
                    if let Some(root) = process.root() {
                        root.child_lanes.borrow_mut().extend(result.lanes.iter().cloned());
                        root.forget_child(&process, false);
                    }
                    return;
                }
                Ok(ProgramLetter::Crashed { .. } | ProgramLetter::Failed { .. }) | Err(_) if process.root.is_some() => {
                    if let Some(root) = process.root() {
                        root.forget_child(&process, true);
                    }
                    return;
                }
                Ok(ProgramLetter::Grow { n }) => return process.grow(*n),
                Ok(ProgramLetter::Warmed { .. }) => return WARMED.with(|w| w.set(true)),
                Ok(ProgramLetter::Joined { at, .. }) => {
                    process.joined.set(process.joined.get() + 1);
                    if process.joined.get() == POOL_START {
                        POOL_MS.with(|p| p.set(Some(at - process.spawned_at)));
                        process.release_ready();
                    }
                    return;
                }
                _ => {}
            }
            let _ = process.tx.unbounded_send(Event::Letter(letter));
        });
        let weak = Rc::downgrade(process);
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let event = event.unchecked_into::<ErrorEvent>();
            event.prevent_default();
            let Some(process) = weak.upgrade() else { return };
            if process.root.is_some() {
                if let Some(root) = process.root() {
                    root.forget_child(&process, true);
                }
                return;
            }
            let message = event.message();
            let message = if message.is_empty() { "a worker of the program failed".to_owned() } else { message };
            let _ = process.tx.unbounded_send(Event::Letter(Err(message)));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        process.handlers.borrow_mut().extend([on_message, on_error]);
    }

    /// Passes the held-back `Ready` on to the run (once).
    fn release_ready(&self) {
        if let Some(ready) = self.ready.borrow_mut().take() {
            let _ = self.tx.unbounded_send(Event::Letter(Ok(ready)));
        }
    }

    /// Starts `n` thread workers on the process's memory; they join its pool themselves.
    fn grow(self: &Rc<Process>, n: u32) {
        let Some(memory) = self.memory.borrow().clone() else { return };
        for _ in 0..n {
            let name = format!("threadlab program thread {}", self.threads.borrow().len() + 1);
            let spawned = GLUE_URL.with(|url| {
                spawn_program_thread(&vm_glue_url(url), &name, &vm_module(), &memory, &self.arena, THREAD_STACK_BYTES)
            });
            // A worker the browser refuses is a `spawn_thread` that waits, then fails with
            // `RuntimeError: can't start new thread` and why: nothing to do here.
            if let Ok(worker) = spawned {
                Process::listen(self, &worker);
                self.threads.borrow_mut().push(worker);
            }
        }
    }

    /// What every thread of this process and of its children does now, read from their
    /// live boards (a copy of a few hundred words each; cheap at a frame's rate).
    fn live(&self, out: &mut Vec<(u32, LiveThread)>) {
        if let (Some(memory), addr) = (&*self.memory.borrow(), self.board_addr.get()) {
            if addr != 0 {
                let words = read_words(memory, addr, u32::try_from(BOARD_WORDS).unwrap_or(0));
                out.extend(board::read(&words).into_iter().map(|t| (self.pid.get(), t)));
            }
        }
        for child in self.children.borrow().iter() {
            child.live(out);
        }
    }

    fn kill(&self, why: u32) {
        if let Some(memory) = &*self.memory.borrow() {
            set_word(memory, self.kill_addr.get(), why);
        }
        for child in self.children.borrow().iter() {
            child.kill(why);
        }
    }

    fn post(&self, message: &ToWorker) -> Result<(), String> {
        let value = to_js(message).map_err(js_error)?;
        self.worker.post_message(&value).map_err(js_error)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Chromium lets a terminated worker that is busy (or blocked in a wait) run on for up
        // to 2 s: the kill word ends whatever Python still runs there at its next check.
        self.kill(KILL_STOP);
        for worker in std::iter::once(&self.worker).chain(self.threads.borrow().iter()) {
            silence(worker);
            worker.terminate();
        }
    }
}

/// Why this page cannot run programs, if it cannot.
fn unavailable() -> Option<String> {
    let isolated = Reflect::get(&js_sys::global(), &"crossOriginIsolated".into()).ok().and_then(|v| v.as_bool());
    (!cfg!(feature = "threads") || isolated != Some(true)).then(|| {
        "Python programs need threads, hence shared memory, which browsers give only to cross-origin isolated \
         pages: serve ThreadLab with 'Cross-Origin-Opener-Policy: same-origin' and \
         'Cross-Origin-Embedder-Policy: require-corp' (cargo xtask serve does)."
            .to_owned()
    })
}

/// Starts a process worker and its thread pool ahead of the next program, so that it finds
/// them ready; harmless to call again. Only once a program's process was started (a Run, or
/// [`prepare`]): a visit to the lab alone does not fetch the VM, nor does the inspector's use
/// of it start a process.
pub fn warm_up() {
    if STARTED.with(Cell::get) {
        prepare();
    }
}

/// As [`warm_up`], fetching and compiling the VM module first if no Run has yet: for a view
/// whose purpose is running programs (the Code view's first look).
pub fn prepare() {
    if unavailable().is_some() {
        return;
    }
    SPARE.with(|spare| {
        if spare.borrow().is_none() {
            *spare.borrow_mut() = Process::spawn().ok();
        }
    });
}

/// ms from starting the last program process to its first thread workers parked in its pool.
#[must_use]
pub fn pool_start_ms() -> Option<f64> {
    POOL_MS.with(Cell::get)
}

/// Stops the program it came from (see [`ProgramRun::stopper`]); cheap to clone, e.g.
/// into a Stop button's callback while [`ProgramRun::next`] is awaited elsewhere.
#[derive(Clone)]
pub struct Stopper {
    process: Weak<Process>,
    /// Why the page ended the program ([`KILL_STOP`], [`KILL_TIMEOUT`]), once it did.
    why: Rc<Cell<u32>>,
}

impl std::fmt::Debug for Stopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopper").field("why", &self.why.get()).finish_non_exhaustive()
    }
}

impl Stopper {
    /// The program's threads now, each with its process's pid (0: the main program), state
    /// and line: sampled, for the Code view's marks while it runs; nothing once it ended.
    #[must_use]
    pub fn live(&self) -> Vec<(u32, LiveThread)> {
        let mut out = Vec::new();
        if let Some(process) = self.process.upgrade() {
            process.live(&mut out);
        }
        out
    }

    /// Stops the program now (see [`ProgramRun::stop`]); does nothing once it is done.
    pub fn stop(&self) {
        self.end(KILL_STOP);
    }

    fn end(&self, why: u32) {
        let Some(process) = self.process.upgrade() else { return };
        if self.why.get() == KILL_NONE {
            self.why.set(why);
            process.kill(why);
            let _ = process.tx.unbounded_send(Event::Stop);
        }
    }
}

/// A program started by [`ProgramRun::start`].
pub struct ProgramRun {
    process: Option<Rc<Process>>,
    rx: UnboundedReceiver<Event>,
    /// Until the process is ready to be given it.
    program: Option<ToWorker>,
    timeout_ms: f64,
    began: f64,
    /// When the program must end (its budget), or end by force (Stop's grace).
    deadline: Option<f64>,
    stopper: Stopper,
    reorder: Reorder,
    /// The result, once ended, held back until the output before it was given.
    ended: Option<ProgramResult>,
    done: Option<ProgramResult>,
}

impl ProgramRun {
    /// Starts `source` in a process worker (the warm one if ready, else a new one).
    ///
    /// # Errors
    /// When this page cannot run programs (not cross-origin isolated: no shared memory),
    /// another program is still running, or the browser refuses to start a worker.
    pub fn start(source: String, options: ProgramOptions) -> Result<ProgramRun, String> {
        if let Some(why) = unavailable() {
            return Err(why);
        }
        if RUNNING.with(|r| r.borrow().as_ref().is_some_and(|s| s.process.strong_count() > 0)) {
            return Err("A program is running already: stop it first.".into());
        }
        let process = match SPARE.with(RefCell::take) {
            Some(spare) => spare,
            None => Process::spawn()?,
        };
        let rx = process.rx.borrow_mut().take().ok_or("this process has run a program already")?;
        *process.options.borrow_mut() = options.clone();
        let timeout_ms = if options.timeout_ms.is_finite() && options.timeout_ms > 0.0 {
            options.timeout_ms
        } else {
            DEFAULT_TIMEOUT_MS
        };
        let stopper = Stopper { process: Rc::downgrade(&process), why: Rc::new(Cell::new(KILL_NONE)) };
        RUNNING.with(|r| *r.borrow_mut() = Some(stopper.clone()));
        Ok(ProgramRun {
            process: Some(process),
            rx,
            program: Some(ToWorker::Program { source, options: ProgramOptions { timeout_ms, ..options } }),
            timeout_ms,
            began: now_ms(),
            deadline: None,
            stopper,
            reorder: Reorder::default(),
            ended: None,
            done: None,
        })
    }

    /// Stops the program at once, whatever it is doing (`while True: pass` included): the VM
    /// is asked to end (it names the line it was at), then every worker of the program is
    /// terminated. [`ProgramRun::next`] then gives `Done` with error kind `Stopped`.
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// A handle that stops this program, usable while `next` is awaited.
    #[must_use]
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// The next event: output as it is written, then [`ProgramEvent::Done`].
    pub async fn next(&mut self) -> ProgramEvent {
        loop {
            if let Some(done) = &self.done {
                return ProgramEvent::Done(done.clone());
            }
            if let Some(result) = self.ended.take() {
                let rest = self.reorder.finish();
                self.finish(result);
                if !rest.is_empty() {
                    return ProgramEvent::Output(rest);
                }
                continue;
            }
            let wait = match (self.program.is_some(), self.deadline) {
                (true, _) => f64::from(START_TIMEOUT_MS),
                (false, Some(deadline)) => deadline - now_ms(),
                (false, None) => f64::INFINITY,
            };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wait = wait.clamp(0.0, f64::from(u32::MAX)).ceil() as u32;
            match self.receive(wait).await {
                None => self.timer(),
                Some(Event::Stop) => {
                    if self.program.is_some() {
                        // Not started: nothing to name, nothing to wait for.
                        self.ended = Some(self.forced());
                    } else {
                        self.deadline = Some(now_ms() + f64::from(STOP_GRACE_MS));
                    }
                }
                Some(Event::Letter(letter)) => {
                    if let Some(event) = self.letter(letter).await {
                        return event;
                    }
                }
            }
        }
    }

    async fn receive(&mut self, wait_ms: u32) -> Option<Event> {
        let next = self.rx.next();
        let timer = clock::delay(wait_ms);
        futures::pin_mut!(next, timer);
        match futures::future::select(next, timer).await {
            futures::future::Either::Left((event, _)) => event,
            futures::future::Either::Right(_) => None,
        }
    }

    fn timer(&mut self) {
        if self.program.is_some() {
            self.ended =
                Some(self.error(
                    "Crashed",
                    format!("the program's process did not start within {} s", START_TIMEOUT_MS / 1000),
                ));
        } else if self.stopper.why.get() == KILL_NONE {
            // The budget ran out: the VM is told, as by Stop, and has the grace to end.
            self.stopper.end(KILL_TIMEOUT);
        } else {
            self.ended = Some(self.forced());
        }
    }

    async fn letter(&mut self, letter: Result<ProgramLetter, String>) -> Option<ProgramEvent> {
        match letter {
            Ok(ProgramLetter::Ready { .. }) => {
                if let (Some(program), Some(process)) = (self.program.take(), &self.process) {
                    if let Err(why) = process.post(&program) {
                        self.ended = Some(self.error("Crashed", format!("the program could not be sent: {why}")));
                    }
                    self.began = now_ms();
                    if self.stopper.why.get() == KILL_NONE {
                        self.deadline = Some(self.began + self.timeout_ms);
                    }
                }
                None
            }
            Ok(ProgramLetter::Output { ticket, chunk }) => {
                let ready = self.reorder.take(ticket, chunk);
                (!ready.is_empty()).then_some(ProgramEvent::Output(ready))
            }
            Ok(ProgramLetter::Done { result, tickets }) => {
                let mut ready = Vec::new();
                let until = now_ms() + f64::from(LATE_OUTPUT_MS);
                // Output still on its way, and children still ending (their lanes come with
                // their end, see `Process::child_lanes`).
                let children = |run: &ProgramRun| run.process.as_ref().is_some_and(|p| !p.children.borrow().is_empty());
                while (!self.reorder.complete(tickets) || children(self)) && now_ms() < until {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let left = (until - now_ms()).max(1.0) as u32;
                    match self.receive(left).await {
                        Some(Event::Letter(Ok(ProgramLetter::Output { ticket, chunk }))) => {
                            ready.extend(self.reorder.take(ticket, chunk));
                        }
                        None => break,
                        Some(_) => {}
                    }
                }
                self.ended = Some(self.completed(result));
                (!ready.is_empty()).then_some(ProgramEvent::Output(ready))
            }
            Ok(ProgramLetter::Crashed { message }) => {
                self.ended = Some(self.crashed(&message));
                None
            }
            Ok(ProgramLetter::Failed { message }) | Err(message) => {
                // A trap reaches the page as an error event, maybe before the panic hook's
                // letter with the message: wait for it briefly.
                let until = now_ms() + f64::from(CRASH_DETAIL_MS);
                let mut detail = None;
                while detail.is_none() && now_ms() < until {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let left = (until - now_ms()).max(1.0) as u32;
                    match self.receive(left).await {
                        Some(Event::Letter(Ok(ProgramLetter::Crashed { message }))) => detail = Some(message),
                        Some(Event::Letter(Ok(ProgramLetter::Output { ticket, chunk }))) => {
                            self.reorder.take(ticket, chunk);
                        }
                        None => break,
                        Some(_) => {}
                    }
                }
                self.ended = Some(match detail {
                    Some(panic) => self.crashed(&panic),
                    None => self.error("Crashed", format!("the program's process died: {message}")),
                });
                None
            }
            Ok(
                ProgramLetter::Joined { .. }
                | ProgramLetter::Grow { .. }
                | ProgramLetter::SpawnProcess { .. }
                | ProgramLetter::Warmed { .. },
            ) => None,
        }
    }

    /// The VM's own result, with the output as the page collected it.
    fn completed(&self, mut result: ProgramResult) -> ProgramResult {
        if let Some(error) = &mut result.error {
            match self.stopper.why.get() {
                KILL_STOP => error.kind = "Stopped".into(),
                KILL_TIMEOUT => {
                    error.kind = "TimeoutError".into();
                    error.message = over_budget_message(self.timeout_ms);
                }
                _ => {}
            }
        }
        result
    }

    /// Ended by the page's force: the VM did not end within the grace.
    fn forced(&self) -> ProgramResult {
        match self.stopper.why.get() {
            KILL_TIMEOUT => self.error("TimeoutError", over_budget_message(self.timeout_ms)),
            _ => self.error("Stopped", "the program was stopped".into()),
        }
    }

    fn crashed(&self, panic: &str) -> ProgramResult {
        self.error(
            "Crashed",
            format!(
                "the program's process crashed, with all its threads: {panic}. A fresh process runs the next program."
            ),
        )
    }

    fn error(&self, kind: &str, message: String) -> ProgramResult {
        ProgramResult {
            exit_code: 1,
            wall_ms: now_ms() - self.began,
            error: Some(ProgramError { kind: kind.into(), message, line: 0, col: 0 }),
            ..ProgramResult::default()
        }
    }

    /// The end: every worker of the program is terminated, and the next process started.
    fn finish(&mut self, mut result: ProgramResult) {
        result.output = std::mem::take(&mut self.reorder.all);
        result.stdout = result.output.iter().map(|c| c.text.as_str()).collect();
        if let Some(process) = &self.process {
            result.lanes.append(&mut process.child_lanes.borrow_mut());
        }
        self.done = Some(result);
        self.close();
    }

    fn close(&mut self) {
        self.process = None;
        RUNNING.with(|r| *r.borrow_mut() = None);
        warm_up();
    }
}

impl Drop for ProgramRun {
    fn drop(&mut self) {
        if self.process.is_some() {
            self.close();
        }
    }
}

/// Runs `source` to its end, handing each batch of output to `on_output` as it comes:
/// `threadlab.python`'s body.
///
/// # Errors
/// As [`ProgramRun::start`].
pub async fn run(
    source: String,
    options: ProgramOptions,
    mut on_output: impl FnMut(&[OutputChunk]),
) -> Result<ProgramResult, String> {
    let mut run = ProgramRun::start(source, options)?;
    loop {
        match run.next().await {
            ProgramEvent::Output(chunks) => on_output(&chunks),
            ProgramEvent::Done(result) => return Ok(result),
        }
    }
}

/// Stops the running program, if any (what the Stop button does).
pub fn stop() {
    if let Some(stopper) = RUNNING.with(|r| r.borrow().clone()) {
        stopper.stop();
    }
}

/// The tests' and the benchmark's way in, until `threadlab.python` is wired to [`run`]:
/// resolves to `{result, events, pool_start_ms}` (`events`: how many output batches
/// streamed), rejects when the program cannot start.
#[wasm_bindgen(js_name = programRun)]
pub fn program_run(source: String, options: JsValue) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let options = if options.is_undefined() || options.is_null() {
            ProgramOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| js_sys::Error::new(&e.to_string()))?
        };
        let mut events = 0u32;
        let result = run(source, options, |_| events += 1).await.map_err(|e| js_sys::Error::new(&e))?;
        let out = to_js(&result)?;
        let answer = js_sys::Object::new();
        Reflect::set(&answer, &"result".into(), &out)?;
        Reflect::set(&answer, &"events".into(), &events.into())?;
        Reflect::set(&answer, &"pool_start_ms".into(), &pool_start_ms().map_or(JsValue::NULL, JsValue::from))?;
        Ok(answer.into())
    })
}

/// Stops the running program (the tests' Stop button).
#[wasm_bindgen(js_name = programStop)]
pub fn program_stop() {
    stop();
}
