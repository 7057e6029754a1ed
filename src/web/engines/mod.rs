//! The engines, one module each: its page half (an [`Engine`]) and, for an engine that runs
//! in workers, its worker half beside it. An engine takes a [`Plan`], reports each task's start
//! and end as they happen through a [`Sink`], and returns every task's stamps ([`Output`]).
//!
//! A fourth engine is one new file here (its page half, and its worker half if it has one),
//! one [`config::Engine`] variant (and its `Variant`, the set-up the page compares) with its
//! [`EngineInfo`](crate::core::engine::EngineInfo) in `core::engine`, and its field and arm in
//! [`Engines`] below. ARCHITECTURE.md ("Adding an engine") lists every file it touches.

pub mod main_thread;
pub mod processes;
pub mod threads;

use crate::core::config;
pub use crate::core::plan::{Collector, Output, Plan, Progress, Sink, Stamped};
pub use crate::web::spawn::receive;
use futures::future::LocalBoxFuture;

/// An engine as the lab drives it. The lab holds every engine behind one async lock (see
/// [`Engines`]), so an engine runs one thing at a time and needs no lock of its own.
pub trait Engine {
    /// Makes sure `workers` workers are up; returns the ms spent starting them (0 when the
    /// engine was ready as it was).
    fn prepare(&mut self, workers: u32) -> LocalBoxFuture<'_, Result<f64, String>>;

    /// Runs `plan`, reporting to `sink` as tasks start and end.
    fn run<'a>(&'a mut self, plan: &'a Plan, sink: Sink<'a>) -> LocalBoxFuture<'a, Result<Output, String>>;

    /// What this engine measured when it last started workers.
    fn start_costs(&self, _costs: &mut crate::web::lab::StartCosts) {}

    /// Work to start when no run is waiting (a spare worker): it must not take a core
    /// from a measured run.
    fn idle(&mut self) {}
}

/// Every engine the lab drives, one field each.
pub struct Engines {
    pub main: main_thread::MainThread,
    pub threads: threads::Threads,
    pub processes: processes::Processes,
}

impl Engines {
    /// `threads_unavailable`: why the threads engine cannot run on this page, if it cannot.
    #[must_use]
    pub fn new(threads_unavailable: Option<String>) -> Engines {
        Engines {
            main: main_thread::MainThread,
            threads: threads::Threads::new(threads_unavailable),
            processes: processes::Processes::default(),
        }
    }

    /// The engine that runs `engine`'s experiments.
    pub fn get(&mut self, engine: config::Engine) -> &mut dyn Engine {
        match engine {
            config::Engine::Main => &mut self.main,
            config::Engine::Threads => &mut self.threads,
            config::Engine::Processes => &mut self.processes,
        }
    }

    /// The start costs measured so far, by every engine.
    #[must_use]
    pub fn start_costs(&mut self) -> crate::web::lab::StartCosts {
        let mut costs = crate::web::lab::StartCosts::default();
        for engine in config::Engine::ALL {
            self.get(engine).start_costs(&mut costs);
        }
        costs
    }

    /// Lets every engine start what it keeps ready (see [`Engine::idle`]).
    pub fn idle(&mut self) {
        for engine in config::Engine::ALL {
            self.get(engine).idle();
        }
    }
}

/// How long a worker may take to start before the page gives up on it.
pub const START_TIMEOUT_MS: u32 = 30_000;
