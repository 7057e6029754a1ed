//! The threads engine: one "process" (a host worker with one wasm instance) whose
//! tasks run on a `wasm-bindgen-rayon` pool of Web Workers sharing that instance's memory.
//! [`Threads`] is the page half; [`host`] is what the host worker does with its pool.

use super::{Collector, Engine, Output, Plan, Sink, START_TIMEOUT_MS};
use crate::core::plan::wait_ms;
use crate::core::protocol::{FromWorker, Role, ToWorker};
use crate::core::race::{RaceConfig, RaceResult};
use crate::core::timeline::{Crash, TaskStatus};
use crate::web::clock::now_ms;
use crate::web::spawn::{Mailbox, NoAnswer, WorkerHandle};
use futures::future::LocalBoxFuture;

struct Host {
    id: usize,
    threads: u32,
    worker: WorkerHandle,
}

pub struct Threads {
    host: Option<Host>,
    /// How long the last host took to start its pool, measured inside the host.
    pub pool_ms: Option<(f64, u32)>,
    /// The memory of the host's instance, which its threads share, in bytes.
    pub memory_bytes: Option<f64>,
    /// Why threads cannot run on this page (no shared memory), if they cannot.
    unavailable: Option<String>,
    mailbox: Mailbox,
}

impl Default for Threads {
    fn default() -> Self {
        Threads::new(None)
    }
}

impl Engine for Threads {
    fn prepare(&mut self, workers: u32) -> LocalBoxFuture<'_, Result<f64, String>> {
        Box::pin(Threads::prepare(self, workers))
    }

    fn run<'a>(&'a mut self, plan: &'a Plan, sink: Sink<'a>) -> LocalBoxFuture<'a, Result<Output, String>> {
        Box::pin(Threads::run(self, plan, sink))
    }

    fn start_costs(&self, costs: &mut crate::web::lab::StartCosts) {
        costs.thread_pool = self.pool_ms;
        costs.thread_memory_bytes = self.memory_bytes;
    }
}

impl Threads {
    /// `unavailable`: why threads cannot run on this page, if they cannot; every
    /// [`prepare`](Threads::prepare) then fails with it.
    #[must_use]
    pub fn new(unavailable: Option<String>) -> Threads {
        Threads { host: None, pool_ms: None, memory_bytes: None, unavailable, mailbox: Mailbox::default() }
    }

    /// The size of the running pool, if any.
    #[must_use]
    pub fn threads(&self) -> Option<u32> {
        self.host.as_ref().map(|h| h.threads)
    }

    /// Makes sure a host with a pool of exactly `threads` threads is running; returns
    /// the ms spent starting one (0 when the current one fits).
    ///
    /// A rayon global pool cannot be resized, so another size means a new process.
    ///
    /// # Errors
    /// When the host or its pool fails to start, or does not answer in time.
    pub async fn prepare(&mut self, threads: u32) -> Result<f64, String> {
        if let Some(why) = &self.unavailable {
            return Err(why.clone());
        }
        if self.host.as_ref().is_some_and(|h| h.threads == threads) {
            return Ok(0.0);
        }
        self.host = None; // terminates the old process and its pool
        let began = now_ms();
        let (id, worker) = self.mailbox.spawn(Role::Threads, threads)?;
        let ready = |m| match m {
            FromWorker::Ready { pool_ms, memory_bytes, threads, .. } => Some((pool_ms, memory_bytes, threads)),
            _ => None,
        };
        match self.mailbox.answer(id, ready, Some(START_TIMEOUT_MS)).await {
            Ok((pool_ms, memory_bytes, started)) => {
                self.pool_ms = Some((pool_ms, started));
                self.memory_bytes = Some(memory_bytes);
            }
            Err(NoAnswer::Failed(message)) => return Err(format!("The threads engine could not start: {message}")),
            Err(NoAnswer::Silent) => return Err("The threads engine did not start within 30 s.".into()),
        }
        self.host = Some(Host { id, threads, worker });
        Ok(now_ms() - began)
    }

    /// Races incref/decref pairs on the running pool (which must have `config.threads`).
    ///
    /// # Errors
    /// When there is no host or it fails.
    pub async fn race(&mut self, config: RaceConfig) -> Result<RaceResult, String> {
        let Some(host) = &self.host else { return Err("The threads engine is not running.".into()) };
        let id = host.id;
        host.worker.post(&ToWorker::Race(config))?;
        // No time limit: a race of many pairs on a slow device takes what it takes.
        let raced = |m| if let FromWorker::Raced(result) = m { Some(result) } else { None };
        self.mailbox.answer(id, raced, None).await.map_err(|e| self.failed(e))
    }

    /// The host failed or went silent: it is dropped (terminated with its pool).
    fn failed(&mut self, why: NoAnswer) -> String {
        self.host = None;
        match why {
            NoAnswer::Failed(message) => format!("The threads engine failed: {message}"),
            NoAnswer::Silent => "The threads engine stopped answering.".into(),
        }
    }

    /// The memory experiment on this process: its threads append to one shared list,
    /// and `bytes` of data are handed to a thread by reference. Returns (items the
    /// process sees, hand-off ms).
    ///
    /// # Errors
    /// When there is no host or it fails.
    pub async fn memory(&mut self, bytes: u32) -> Result<(u32, f64), String> {
        let Some(host) = &self.host else { return Err("The threads engine is not running.".into()) };
        let (id, threads) = (host.id, host.threads);
        host.worker.post(&ToWorker::Keep { workers: threads })?;
        let kept = |m| if let FromWorker::Kept { len } = m { Some(len) } else { None };
        let kept = self.mailbox.answer(id, kept, Some(START_TIMEOUT_MS)).await.map_err(|e| self.failed(e))?;
        if let Some(host) = &self.host {
            host.worker.post(&ToWorker::HandOff { bytes })?;
        }
        let handed = |m| if let FromWorker::HandedOff { ms, .. } = m { Some(ms) } else { None };
        let ms = self.mailbox.answer(id, handed, Some(START_TIMEOUT_MS)).await.map_err(|e| self.failed(e))?;
        Ok((kept, ms))
    }

    /// Runs the plan on the pool.
    ///
    /// # Errors
    /// When there is no host, or it fails during the run (the host is then dropped).
    pub async fn run(&mut self, plan: &Plan, sink: Sink<'_>) -> Result<Output, String> {
        let Some(host) = &self.host else {
            return Err("The threads engine is not running.".into());
        };
        let id = host.id;
        let threads = host.threads;
        host.worker.post(&plan.message(0, plan.tasks.clone()))?;
        let timeout = f64::from(plan.config.timeout_ms);
        let mut collector = Collector::default();
        let mut crashes = Vec::new();
        let ended = loop {
            let deadline = collector.deadline(plan, timeout);
            match self.mailbox.receive(wait_ms(deadline, now_ms(), START_TIMEOUT_MS)).await {
                None if deadline.is_finite() => {
                    // A thread cannot be stopped alone: ending a hung task ends its process.
                    let now = now_ms();
                    for task in collector.overdue(plan, now, timeout) {
                        collector.fail(task, TaskStatus::Timeout, now, sink);
                        crashes.push(Crash {
                            lane: 0,
                            message: format!(
                                "task {task} did not return within {timeout} ms: the whole process (its {threads} threads) was terminated"
                            ),
                        });
                    }
                    collector.fail_rest(plan, TaskStatus::Lost, now, sink);
                    break None;
                }
                None => break Some(Err("The threads engine stopped answering.".to_owned())),
                Some((from, _)) if from != id => {}
                Some((_, Ok(FromWorker::Done { run, gil_switches }))) if run == plan.run => {
                    break Some(Ok(gil_switches))
                }
                Some((_, Ok(FromWorker::Crashed { run, id: task, lane, at, message }))) if run == plan.run => {
                    Self::crashed(plan, &mut collector, &mut crashes, (task, lane, at, message), sink);
                    break None;
                }
                Some((_, Ok(FromWorker::Failed { message }) | Err(message))) => {
                    // A pool thread's trap can reach the page before its panic message,
                    // which the host forwards within a few ms: wait for it briefly.
                    let mut detail = None;
                    while let Some((from, letter)) = self.mailbox.receive(200).await {
                        if let (true, Ok(FromWorker::Crashed { run, id: task, lane, at, message })) =
                            (from == id, letter)
                        {
                            if run == plan.run {
                                detail = Some((task, lane, at, message));
                                break;
                            }
                        }
                    }
                    match detail {
                        Some(d) => Self::crashed(plan, &mut collector, &mut crashes, d, sink),
                        None => {
                            crashes.push(Crash { lane: 0, message: format!("process crashed: {message}") });
                            collector.fail_rest(plan, TaskStatus::Lost, now_ms(), sink);
                        }
                    }
                    break None;
                }
                Some((_, Ok(message))) => {
                    collector.take(plan.run, message, sink);
                }
            }
        };
        match ended {
            Some(Ok(gil_switches)) => Ok(Output { stamps: collector.done, gil_switches, crashes, froze_page: false }),
            Some(Err(message)) => {
                self.host = None;
                Err(message)
            }
            // Crashed or timed out: the process is gone with all its threads.
            None => {
                self.host = None;
                Ok(Output { stamps: collector.done, gil_switches: 0, crashes, froze_page: false })
            }
        }
    }

    /// One thread panicked: the whole wasm instance aborts, so every unfinished task is lost.
    fn crashed(
        plan: &Plan,
        collector: &mut Collector,
        crashes: &mut Vec<Crash>,
        (task, lane, at, message): (u32, u32, f64, String),
        sink: Sink<'_>,
    ) {
        collector.fail(task, TaskStatus::Crashed, at, sink);
        crashes.push(Crash { lane, message: format!("process crashed: thread {lane} panicked: {message}") });
        collector.fail_rest(plan, TaskStatus::Lost, at, sink);
    }
}

/// The worker half: what the threads host does. It starts a rayon pool in its own instance;
/// every job runs on the pool, whose threads share this instance's memory.
///
/// Rayon's threads are Web Workers whose parent is the host worker, and their
/// `postMessage` would go to the host, not the page. So they stamp events into a list in
/// the shared memory, and the host's own event loop forwards them every 8 ms while a job
/// is in flight. The stamps were taken when things happened; the forwarding delay only
/// changes when the page hears of them.
pub mod host {
    use crate::core::protocol::FromWorker;
    #[cfg(feature = "threads")]
    pub use pool::*;
    #[cfg(not(feature = "threads"))]
    pub use without_threads::*;

    /// Events of the pool, gathered until the host posts them.
    #[cfg_attr(not(feature = "threads"), allow(dead_code))]
    static OUTBOX: std::sync::Mutex<Vec<FromWorker>> = std::sync::Mutex::new(Vec::new());

    /// Leaves `message` for the host to forward (a pool thread cannot post to the page).
    pub fn push(message: FromWorker) {
        OUTBOX.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(message);
    }

    #[cfg(feature = "threads")]
    mod pool {
        use super::{push, FromWorker, OUTBOX};
        use crate::core::gil::Gil;
        use crate::core::protocol::{Role, TaskSpec};
        use crate::core::race;
        use crate::core::task::{self, GilSeat};
        use crate::web::clock::{block_ms, now_ms};
        use crate::web::spawn::js_error;
        use crate::web::worker::{self, post, RESULTS};
        use std::cell::Cell;
        use std::sync::Arc;
        use wasm_bindgen::prelude::*;
        use wasm_bindgen_futures::JsFuture;

        thread_local! {
            static FLUSH_TIMER: Cell<Option<i32>> = const { Cell::new(None) };
        }

        /// Starts the pool of `threads`, then listens to the page and says `Ready`.
        pub fn start(threads: u32) {
            wasm_bindgen_futures::spawn_local(async move {
                // A pool thread's trap is caught at its Worker object (see spawn.js) and
                // reported as `Failed`; the panic itself arrives as `Crashed`.
                let began = now_ms();
                match JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads as usize)).await {
                    Ok(_) => {
                        worker::listen(Role::Threads);
                        let threads = u32::try_from(rayon::current_num_threads()).unwrap_or(u32::MAX);
                        let at = now_ms();
                        post(&FromWorker::Ready {
                            threads,
                            at,
                            pool_ms: at - began,
                            memory_bytes: worker::memory_bytes(),
                        });
                    }
                    Err(e) => {
                        post(&FromWorker::Failed {
                            message: format!("the thread pool did not start: {}", js_error(e)),
                        });
                    }
                }
            });
        }

        /// Forwards the pool's events every few ms while a job is in flight.
        fn start_flushing() {
            if FLUSH_TIMER.with(Cell::get).is_some() {
                return;
            }
            let tick = Closure::<dyn FnMut()>::new(flush);
            let id = worker::scope()
                .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), 8)
                .unwrap_or_default();
            tick.forget(); // one per flushing period; small and bounded by the number of runs
            FLUSH_TIMER.with(|t| t.set(Some(id)));
        }

        fn flush() {
            let batch = std::mem::take(&mut *OUTBOX.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            let mut finished = false;
            for message in &batch {
                finished |= matches!(message, FromWorker::Done { .. });
                post(message);
            }
            if finished {
                if let Some(id) = FLUSH_TIMER.with(Cell::take) {
                    worker::scope().clear_interval_with_handle(id);
                }
            }
        }

        /// Every task is its own rayon job, so with as many threads as tasks they all run at
        /// once, like one `threading.Thread` per call. With `gil`, they share one GIL in this
        /// process's memory, as CPython's threads do.
        pub fn run(run: u32, tasks: Vec<TaskSpec>, gil: bool, switch_interval_ms: f64) {
            use rayon::prelude::*;
            let lock = Arc::new(Gil::new(switch_interval_ms));
            // `rayon::spawn` returns at once: the host's event loop stays free to forward events.
            rayon::spawn(move || {
                tasks.into_par_iter().with_max_len(1).for_each(|spec| {
                    let lane = u32::try_from(rayon::current_thread_index().unwrap_or(0)).unwrap_or(0);
                    let seat = gil.then_some(GilSeat { gil: &lock, me: lane });
                    push(FromWorker::Started { run, id: spec.id, lane, at: now_ms() });
                    worker::running(Some((run, spec.id, lane)));
                    let outcome = task::execute(&spec, seat, &now_ms, block_ms);
                    worker::running(None);
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

    /// Built without threads (for pages that are not cross-origin isolated): no pool, and
    /// nothing reaches these but a host that cannot start.
    #[cfg(not(feature = "threads"))]
    mod without_threads {
        use super::FromWorker;
        use crate::core::protocol::TaskSpec;
        use crate::core::race::RaceConfig;
        use crate::web::worker::post;

        pub const UNAVAILABLE: &str =
            "threads need shared memory, which this page does not have: it is not cross-origin isolated";

        fn unavailable() {
            post(&FromWorker::Failed { message: UNAVAILABLE.into() });
        }

        pub fn start(_threads: u32) {
            unavailable();
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
}
