//! The three engines, one module each. An engine takes a [`Plan`], reports each task's
//! start and end as they happen through a [`Sink`], and returns every task's stamps.
//! A fourth engine is one new file here and one [`Engine`](crate::core::config::Engine) variant.

pub mod main_thread;
pub mod processes;
pub mod threads;

use crate::core::config::RunConfig;
use crate::core::protocol::{FromWorker, TaskOutcome, TaskSpec, ToWorker};
use crate::core::timeline::{Crash, TaskStatus};
use crate::web::clock;
use crate::web::spawn::{Inbox, Letter};
use futures::StreamExt;

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub run: u32,
    pub config: RunConfig,
    pub tasks: Vec<TaskSpec>,
}

impl Plan {
    #[must_use]
    pub fn new(run: u32, config: RunConfig) -> Plan {
        let tasks = (0..config.tasks)
            .map(|id| TaskSpec {
                id,
                workload: config.workload,
                duration_ms: config.duration_ms,
                units: config.units,
                bad: config.bad_task.filter(|b| b.id == id).map(|b| b.kind),
            })
            .collect();
        Plan { run, config, tasks }
    }

    /// The message that hands `tasks` to a worker, with this run's GIL settings.
    #[must_use]
    pub fn message(&self, lane: u32, tasks: Vec<TaskSpec>) -> ToWorker {
        ToWorker::Run {
            run: self.run,
            lane,
            tasks,
            gil: self.config.gil,
            switch_interval_ms: self.config.switch_interval_ms,
        }
    }
}

/// A task's start or end, as it happens (absolute stamps on the shared clock).
#[derive(Clone, Debug)]
pub enum Progress {
    Started { id: u32, lane: u32, at: f64 },
    Ended { id: u32, lane: u32, at: f64 },
}

pub type Sink<'a> = &'a dyn Fn(Progress);

/// What an engine hands back: every task's stamps, and how often a GIL changed hands.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub stamps: Vec<Stamped>,
    pub gil_switches: u64,
    /// What crashed or timed out, and where.
    pub crashes: Vec<Crash>,
}

/// One finished task, stamped on the shared clock.
#[derive(Clone, Debug)]
pub struct Stamped {
    pub id: u32,
    pub lane: u32,
    pub start: f64,
    pub end: f64,
    pub outcome: TaskOutcome,
    pub status: TaskStatus,
}

/// Gathers the stamps of a run from worker messages.
#[derive(Default)]
pub struct Collector {
    starts: std::collections::HashMap<u32, (u32, f64)>,
    pub done: Vec<Stamped>,
}

impl Collector {
    /// Takes in one message of run `run`; returns whether it was a task's end.
    pub fn take(&mut self, run: u32, message: FromWorker, sink: Sink<'_>) -> bool {
        match message {
            FromWorker::Started { run: r, id, lane, at } if r == run => {
                self.starts.insert(id, (lane, at));
                sink(Progress::Started { id, lane, at });
                false
            }
            FromWorker::Ended { run: r, id, lane, at, outcome } if r == run => {
                let start = self.starts.get(&id).map_or(at, |s| s.1);
                sink(Progress::Ended { id, lane, at });
                self.done.push(Stamped { id, lane, start, end: at, outcome, status: TaskStatus::Ok });
                true
            }
            _ => false,
        }
    }

    /// Task `id` ended badly at `at` (crashed, lost or timed out).
    pub fn fail(&mut self, id: u32, status: TaskStatus, at: f64, sink: Sink<'_>) {
        if self.done.iter().any(|s| s.id == id) {
            return;
        }
        let (lane, start) = self.starts.get(&id).copied().unwrap_or((0, at));
        sink(Progress::Ended { id, lane, at });
        let outcome = TaskOutcome { result: None, checked: None, segments: Vec::new(), segments_dropped: 0 };
        self.done.push(Stamped { id, lane, start, end: at, outcome, status });
    }

    /// Every task of `plan` that has not ended is `status` as of `at`.
    pub fn fail_rest(&mut self, plan: &Plan, status: TaskStatus, at: f64, sink: Sink<'_>) {
        for spec in &plan.tasks {
            self.fail(spec.id, status, at, sink);
        }
    }

    /// Whether task `id` has started and not ended.
    #[must_use]
    pub fn running(&self, id: u32) -> bool {
        self.starts.contains_key(&id) && !self.done.iter().any(|s| s.id == id)
    }

    /// When task `id` started, if it has.
    #[must_use]
    pub fn started_at(&self, id: u32) -> Option<f64> {
        self.starts.get(&id).map(|s| s.1)
    }
}

/// How long a worker may take to start before the page gives up on it.
pub const START_TIMEOUT_MS: u32 = 30_000;

/// The next letter, or `None` after `timeout_ms`.
pub async fn receive(inbox: &mut Inbox, timeout_ms: u32) -> Option<Letter> {
    let next = inbox.next();
    let timer = clock::delay(timeout_ms);
    futures::pin_mut!(next, timer);
    match futures::future::select(next, timer).await {
        futures::future::Either::Left((letter, _)) => letter,
        futures::future::Either::Right(_) => None,
    }
}
