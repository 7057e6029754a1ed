//! The lab: owns the engines and runs one experiment at a time, for the page's Run
//! button and for `window.threadlab.run` alike, telling the page what happens as it happens.

use crate::core::config::{self, Engine, FieldError, Limits, RawValue, RunConfig};
use crate::core::form::Origin;
use crate::core::kernel;
use crate::core::memory::{self, MemoryResult};
use crate::core::plan::relative;
use crate::core::protocol::Trace;
use crate::core::race::{self, RaceResult};
use crate::core::timeline::RunResult;
use crate::web::clock::{self, now_ms};
use crate::web::engines::{Engines, Plan, Progress};
use crate::web::python::PythonWorker;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// What the page hears from the lab.
#[derive(Clone, Debug)]
pub enum LabEvent {
    /// An engine is being started (workers spawned) before a run.
    Preparing {
        engine: Engine,
    },
    /// A run is about to start: the page draws it as live (before its clock starts).
    Started {
        run: u32,
        config: RunConfig,
        origin: Origin,
    },
    /// The run's clock started, on the shared clock: its tasks are being handed out.
    Began {
        run: u32,
        started_at: f64,
    },
    Progress {
        run: u32,
        progress: Progress,
    },
    Finished {
        run: u32,
        result: Rc<RunResult>,
    },
    Failed {
        message: String,
    },
    Invalid {
        errors: Vec<FieldError>,
    },
    /// An engine's workers are up (or could not start), outside any run.
    EngineStatus {
        engine: Engine,
        error: Option<String>,
    },
    /// What starting workers cost on this device, measured when they last started.
    StartCosts(StartCosts),
    /// A reference-count race finished.
    Raced(RaceResult),
    /// A memory experiment finished.
    Memory(MemoryResult),
}

/// The measured cost of starting threads and processes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartCosts {
    /// ms for a pool of `threads` threads to be ready inside a running process.
    pub thread_pool: Option<(f64, u32)>,
    /// ms for `count` new processes (own instance, own memory) to be ready.
    pub processes: Option<(f64, u32)>,
    /// The memory of one process when it starts, in bytes.
    pub process_memory_bytes: Option<f64>,
    /// The memory the threads engine's process and all its threads share, in bytes.
    pub thread_memory_bytes: Option<f64>,
}

/// See [`Lab::probe`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Probe {
    /// ms from the page's first spawn to its first process ready (module compiled by then).
    pub process_ms_first: Option<f64>,
    /// ms to one more ready process in the pool (the spare is taken).
    pub process_ms_next: f64,
    /// ms for a brand-new process worker to be ready, the module already compiled.
    pub process_ms_cold: f64,
    /// Median page → process → page round trip of an empty message, µs.
    pub roundtrip_us: f64,
    pub trips: u32,
}

/// Why a run did not happen.
#[derive(Clone, Debug)]
pub enum RunError {
    Invalid(Vec<FieldError>),
    Failed(String),
}

impl RunError {
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            RunError::Invalid(errors) => config::describe(errors),
            RunError::Failed(message) => message.clone(),
        }
    }
}

pub struct Lab {
    /// Runs (and the warm-up) take turns: a second request waits for the first to let go
    /// of the engines.
    engines: futures::lock::Mutex<Engines>,
    /// What starting workers cost, as last measured, for when the engines are busy.
    costs: RefCell<StartCosts>,
    /// The inspector's Python, in a worker of its own; its scripts take turns of their own,
    /// so a script need not wait for a run on the engines.
    python: futures::lock::Mutex<PythonWorker>,
    next_run: Cell<u32>,
    /// How long one CPU work unit takes on this device's page thread.
    pub ms_per_unit: f64,
    pub cores: u32,
    /// Why the threads engine cannot run on this page, if it cannot.
    pub threads_unavailable: Option<String>,
    listener: RefCell<Option<Listener>>,
}

type Listener = Rc<dyn Fn(LabEvent)>;

/// How long a run waits for the page to draw it as live: two frames take ~33 ms, but a
/// hidden tab draws none.
const PAINT_AT_MOST_MS: u32 = 100;

/// Shown where threads cannot run, with the fix.
pub const THREADS_NEED_ISOLATION: &str = "Threads are unavailable here: they need shared memory, which browsers give \
    only to cross-origin isolated pages. Serve ThreadLab with 'Cross-Origin-Opener-Policy: same-origin' and \
    'Cross-Origin-Embedder-Policy: require-corp' (cargo xtask serve does), or open it as a page of its own. \
    The main thread and processes work; waits in processes spin, since there is no Atomics.wait without shared memory.";

/// Measures one work unit on this device: the fastest of many one-unit calls.
///
/// Many short calls rather than one long one, because V8 first runs wasm with its
/// baseline compiler (Liftoff) and swaps in optimized code (TurboFan) for later calls
/// once a function is hot: the first calls can be several times slower than the rest.
fn calibrate() -> f64 {
    let began = now_ms();
    let mut best = f64::INFINITY;
    let mut calls = 0u32;
    while calls < 8 || (now_ms() - began < 150.0 && calls < 400) {
        let t = now_ms();
        std::hint::black_box(kernel::cpu_task(calls, 1));
        best = best.min(now_ms() - t);
        calls += 1;
    }
    best.max(1e-3)
}

impl Lab {
    #[must_use]
    pub fn new(isolated: bool) -> Rc<Lab> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // finite and ≥ 1; `as` saturates
        let cores = web_sys::window()
            .map(|w| w.navigator().hardware_concurrency())
            .filter(|c| c.is_finite() && *c >= 1.0)
            .map_or(1, |c| c as u32);
        let threads_unavailable =
            (!isolated || cfg!(not(feature = "threads"))).then(|| THREADS_NEED_ISOLATION.to_owned());
        Rc::new(Lab {
            engines: futures::lock::Mutex::new(Engines::new(threads_unavailable.clone())),
            costs: RefCell::new(StartCosts::default()),
            python: futures::lock::Mutex::new(PythonWorker::default()),
            next_run: Cell::new(1),
            ms_per_unit: calibrate(),
            threads_unavailable,
            cores,
            listener: RefCell::new(None),
        })
    }

    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits::for_speed(self.ms_per_unit)
    }

    pub fn listen(&self, listener: Rc<dyn Fn(LabEvent)>) {
        *self.listener.borrow_mut() = Some(listener);
    }

    fn emit(&self, event: LabEvent) {
        let listener = self.listener.borrow().clone();
        if let Some(listener) = listener {
            listener(event);
        }
    }

    /// Starts the threads and processes engines with `workers` each, so the first run
    /// does not pay for it. Failures are reported, not fatal: other engines still work.
    pub async fn warm_up(self: &Rc<Self>, workers: u32) {
        let mut engines = self.engines.lock().await;
        // The main thread has nothing to start (and says nothing).
        for engine in Engine::ALL.into_iter().filter(|e| *e != Engine::Main) {
            let error = self.prepare(&mut engines, engine, workers).await.err();
            self.emit(LabEvent::EngineStatus { engine, error });
        }
        // No run is waiting: spare workers can boot now, and the inspector's Python. In the
        // threaded build that worker runs on the VM's module (web::inspector): it is started
        // here only once something fetched that module, so that a visit does not.
        engines.idle();
        if !cfg!(feature = "threads") || crate::web::program::vm_requested() {
            self.python.lock().await.keep_started();
        }
    }

    /// Starts the inspector's Python worker if there is none, ahead of its first script.
    pub async fn prepare_python(&self) {
        self.python.lock().await.keep_started();
    }

    /// Runs a script of the reference-count inspector in ThreadLab's Python worker.
    ///
    /// # Errors
    /// When the worker crashes or runs out of time (it is replaced; the message says
    /// what happened), or cannot start. Errors in the script itself are in the trace.
    pub async fn python(&self, source: &str, version: crate::core::py::Version) -> Result<Rc<Trace>, String> {
        self.python.lock().await.run(source, version).await.map(Rc::new)
    }

    /// ms from asking for the last Python worker to its being ready, and its memory in bytes
    /// (none while a script runs).
    #[must_use]
    pub fn python_start(&self) -> (Option<f64>, Option<f64>) {
        self.python.try_lock().map_or((None, None), |p| (p.start_ms, p.memory_bytes))
    }

    /// Makes sure `engine` has `workers` ready; returns the ms spent starting them.
    async fn prepare(&self, engines: &mut Engines, engine: Engine, workers: u32) -> Result<f64, String> {
        let result = engines.get(engine).prepare(workers).await;
        if result.as_ref().is_ok_and(|ms| *ms > 0.0) {
            let costs = engines.start_costs();
            *self.costs.borrow_mut() = costs.clone();
            self.emit(LabEvent::StartCosts(costs));
        }
        result
    }

    /// What `cargo xtask bench` measures besides runs: process start costs (see
    /// [`Processes::probe_start`]) and the median message round trip over `trips` trips.
    ///
    /// # Errors
    /// When the processes engine fails.
    pub async fn probe(self: &Rc<Self>, trips: u32) -> Result<Probe, String> {
        let mut engines = self.engines.lock().await;
        // One process in the pool (it may have been larger: the next run grows it again).
        self.prepare(&mut engines, Engine::Processes, 1).await?;
        let processes = &mut engines.processes;
        let (next, cold) = processes.probe_start().await?;
        let round_trip = processes.round_trip(trips).await?;
        Ok(Probe {
            process_ms_first: processes.first_ready_ms,
            process_ms_next: next,
            process_ms_cold: cold,
            roundtrip_us: round_trip,
            trips,
        })
    }

    /// The start costs measured so far (while the engines are busy, as they were when last
    /// measured).
    #[must_use]
    pub fn start_costs(&self) -> StartCosts {
        match self.engines.try_lock() {
            Some(mut engines) => engines.start_costs(),
            None => self.costs.borrow().clone(),
        }
    }

    /// Runs the reference-count race on a pool of `threads` threads.
    ///
    /// # Errors
    /// [`RunError::Invalid`] for a bad request, [`RunError::Failed`] when the engine fails.
    pub async fn race(
        self: &Rc<Self>,
        threads: &RawValue,
        pairs: &RawValue,
        variant: &RawValue,
    ) -> Result<RaceResult, RunError> {
        let config = race::validate(threads, pairs, variant).map_err(RunError::Invalid)?;
        let mut engines = self.engines.lock().await;
        self.emit(LabEvent::Preparing { engine: Engine::Threads });
        let outcome = async {
            self.prepare(&mut engines, Engine::Threads, config.threads).await?;
            engines.threads.race(config).await
        }
        .await;
        match outcome {
            Ok(result) => {
                self.emit(LabEvent::Raced(result.clone()));
                Ok(result)
            }
            Err(message) => {
                self.emit(LabEvent::Failed { message: message.clone() });
                Err(RunError::Failed(message))
            }
        }
    }

    /// Shared versus separate memory, measured on the threads or processes engine.
    ///
    /// # Errors
    /// [`RunError::Invalid`] for a bad request, [`RunError::Failed`] when the engine fails.
    pub async fn memory(self: &Rc<Self>, engine: &RawValue, bytes: &RawValue) -> Result<MemoryResult, RunError> {
        let config = memory::validate(engine, bytes).map_err(RunError::Invalid)?;
        let mut engines = self.engines.lock().await;
        let workers = 2;
        let outcome: Result<MemoryResult, String> = async {
            self.prepare(&mut engines, config.engine, workers).await?;
            if config.engine == Engine::Threads {
                let (seen, ms) = engines.threads.memory(config.bytes).await?;
                Ok(MemoryResult {
                    engine: config.engine,
                    bytes: config.bytes,
                    workers,
                    parent_sees_items: seen,
                    returned_items: 0,
                    copy_ms: ms,
                    mb_per_s: None,
                })
            } else {
                let (returned, ms) = engines.processes.memory(config.bytes).await?;
                Ok(MemoryResult {
                    engine: config.engine,
                    bytes: config.bytes,
                    workers,
                    parent_sees_items: 0,
                    returned_items: returned,
                    copy_ms: ms,
                    mb_per_s: memory::mb_per_s(config.bytes, ms),
                })
            }
        }
        .await;
        match outcome {
            Ok(result) => {
                self.emit(LabEvent::Memory(result.clone()));
                Ok(result)
            }
            Err(message) => {
                self.emit(LabEvent::Failed { message: message.clone() });
                Err(RunError::Failed(message))
            }
        }
    }

    /// A request that did not validate at its edge: the page shows the messages by their
    /// fields, whoever asked. Returns the error to hand back.
    pub fn reject(&self, errors: Vec<FieldError>) -> RunError {
        self.emit(LabEvent::Invalid { errors: errors.clone() });
        RunError::Invalid(errors)
    }

    /// Runs one experiment, already validated where it was asked for, and shows it on the page.
    ///
    /// # Errors
    /// [`RunError::Failed`] when an engine fails. A run requested while another is in
    /// progress waits for it.
    pub async fn run(self: &Rc<Self>, config: RunConfig, origin: Origin) -> Result<Rc<RunResult>, RunError> {
        let mut engines = self.engines.lock().await;
        let outcome = self.run_valid(&mut engines, config, origin).await;
        if let Err(message) = &outcome {
            self.emit(LabEvent::Failed { message: message.clone() });
        }
        outcome.map_err(RunError::Failed)
    }

    async fn run_valid(
        self: &Rc<Self>,
        engines: &mut Engines,
        config: RunConfig,
        origin: Origin,
    ) -> Result<Rc<RunResult>, String> {
        let run = self.next_run.replace(self.next_run.get() + 1);
        let plan = Plan::new(run, config.clone());
        self.emit(LabEvent::Preparing { engine: config.engine });
        let setup_ms = self.prepare(engines, config.engine, config.workers).await?;
        let sink = |progress: Progress| self.emit(LabEvent::Progress { run, progress });
        // The page draws the run as live before its clock starts: drawing it while the tasks
        // run would take a core from them (or, on the main thread, wait until they are done).
        self.emit(LabEvent::Started { run, config: config.clone(), origin });
        clock::frames(2, PAINT_AT_MOST_MS).await;
        // The last frame before the tasks, so on the main thread the start of the freeze.
        let started_at = now_ms();
        self.emit(LabEvent::Began { run, started_at });
        let output = engines.get(config.engine).run(&plan, &sink).await?;
        let frame_gap = if output.froze_page {
            // The first frame the page can draw again ends the freeze.
            clock::frames(1, PAINT_AT_MOST_MS).await;
            Some(now_ms() - started_at)
        } else {
            None
        };
        let records = output.stamps.into_iter().map(|s| relative(s, started_at)).collect();
        let mut result = RunResult::new(run, config, self.cores, started_at, setup_ms, records);
        result.longest_frame_gap_ms = frame_gap;
        result.gil_switches = output.gil_switches;
        result.crashes = output.crashes;
        let result = Rc::new(result);
        self.emit(LabEvent::Finished { run, result: result.clone() });
        Ok(result)
    }
}
