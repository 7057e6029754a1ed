//! The main-thread engine: the notebook's "version without threads". Tasks run one
//! after another on the page's own thread and block it, on purpose: the heartbeat
//! stops and the page freezes, as a GUI does when it calls `time.sleep` on its UI thread.

use super::{Engine, Output, Plan, Progress, Sink, Stamped};
use crate::core::config::BadKind;
use crate::core::protocol::{TaskOutcome, TaskSpec};
use crate::core::task;
use crate::core::timeline::{Crash, TaskStatus};
use crate::web::clock::{now_ms, spin_ms};
use futures::future::LocalBoxFuture;

/// The page's own thread: nothing to start.
pub struct MainThread;

impl Engine for MainThread {
    fn prepare(&mut self, _workers: u32) -> LocalBoxFuture<'_, Result<f64, String>> {
        Box::pin(async { Ok(0.0) })
    }

    fn run<'a>(&'a mut self, plan: &'a Plan, sink: Sink<'a>) -> LocalBoxFuture<'a, Result<Output, String>> {
        Box::pin(async move { Ok(run(plan, sink)) })
    }
}

/// Runs the plan sequentially, blocking the page until every task has ended. One
/// thread: a GIL would never change hands, so none is modelled here.
///
/// A task past `timeout_ms` is stopped there, as the other engines end one by terminating
/// its worker: here the page's own code runs the task, so it looks at the clock between CPU
/// slices and spins only until the deadline. The tasks after it still run, each with its own
/// timeout, like a sequential script that calls `fetch(url, timeout=5)` in a loop and catches
/// the `TimeoutError`: a timeout is the caller giving up on one call, not a failure of the
/// script, and so the page freezes for at most the sum of min(task, timeout). A task that
/// never returns is no different: it is stopped at its timeout.
///
/// A task that fails is *contained*: a real panic here would abort the page's own wasm
/// instance and take the UI down, so the failure becomes an error result instead, and — as an
/// uncaught exception ends a sequential Python script — the tasks after it never run.
pub fn run(plan: &Plan, sink: Sink<'_>) -> Output {
    let timeout = plan.config.timeout_ms;
    let mut stamps = Vec::new();
    let mut crashes = Vec::new();
    let mut failed = false;
    for spec in &plan.tasks {
        let start = now_ms();
        if failed {
            let outcome = TaskOutcome { result: None, checked: None, segments: Vec::new(), segments_dropped: 0 };
            stamps.push(Stamped { id: spec.id, lane: 0, start, end: start, outcome, status: TaskStatus::Lost });
            continue;
        }
        sink(Progress::Started { id: spec.id, lane: 0, at: start });
        // Browsers forbid blocking waits (Atomics.wait) on the page's thread: spin.
        let deadline = start + f64::from(timeout);
        let ran = match spec.bad {
            Some(BadKind::Panic) => {
                let half = TaskSpec { bad: None, duration_ms: spec.duration_ms / 2, units: spec.units / 2, ..*spec };
                task::execute_until(&half, None, &now_ms, spin_ms, deadline).map(|mut outcome| {
                    (outcome.result, outcome.checked) = (None, None);
                    failed = true;
                    crashes.push(Crash {
                        lane: 0,
                        message: format!(
                            "task {} failed halfway; on the page's thread the failure is caught as an error (a real panic would abort the page itself), and the tasks after it never ran",
                            spec.id
                        ),
                    });
                    (outcome, TaskStatus::Crashed)
                })
            }
            None | Some(BadKind::Hang) => {
                task::execute_until(spec, None, &now_ms, spin_ms, deadline).map(|outcome| (outcome, TaskStatus::Ok))
            }
        };
        let (outcome, status) = ran.unwrap_or_else(|stopped| {
            crashes.push(Crash {
                lane: 0,
                message: format!(
                    "task {} did not return within {timeout} ms: the page was frozen until then, stopped it, and went on with the next task",
                    spec.id
                ),
            });
            (stopped, TaskStatus::Timeout)
        });
        let end = now_ms();
        sink(Progress::Ended { id: spec.id, lane: 0, at: end });
        stamps.push(Stamped { id: spec.id, lane: 0, start, end, outcome, status });
    }
    Output { stamps, gil_switches: 0, crashes, froze_page: true }
}
