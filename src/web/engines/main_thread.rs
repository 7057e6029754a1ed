//! The main-thread engine: the notebook's "version without threads". Tasks run one
//! after another on the page's own thread and block it, on purpose: the heartbeat
//! stops and the page freezes, as a GUI does when it calls `time.sleep` on its UI thread.

use super::{Output, Plan, Progress, Sink, Stamped};
use crate::core::config::BadKind;
use crate::core::protocol::{TaskOutcome, TaskSpec};
use crate::core::task;
use crate::core::timeline::{Crash, TaskStatus};
use crate::web::clock::{now_ms, spin_ms};

/// Runs the plan sequentially, blocking the page until every task has ended. One
/// thread: a GIL would never change hands, so none is modelled here.
///
/// A bad task is *contained*: a real panic here would abort the page's own wasm instance
/// and take the UI down, so the failure becomes an error result instead, and — as an
/// uncaught exception ends a sequential Python script — the tasks after it never run.
/// A hanging task spins until the timeout (the page is frozen meanwhile, as a GUI is).
pub fn run(plan: &Plan, sink: Sink<'_>) -> Output {
    let mut stamps = Vec::new();
    let mut crashes = Vec::new();
    for spec in &plan.tasks {
        let start = now_ms();
        if !crashes.is_empty() {
            let outcome = TaskOutcome { result: None, checked: None, segments: Vec::new(), segments_dropped: 0 };
            stamps.push(Stamped { id: spec.id, lane: 0, start, end: start, outcome, status: TaskStatus::Lost });
            continue;
        }
        sink(Progress::Started { id: spec.id, lane: 0, at: start });
        let (outcome, status) = match spec.bad {
            None => {
                // Browsers forbid blocking waits (Atomics.wait) on the page's thread: spin.
                (task::execute(spec, None, &now_ms, spin_ms), TaskStatus::Ok)
            }
            Some(BadKind::Panic) => {
                let half = TaskSpec { bad: None, duration_ms: spec.duration_ms / 2, units: spec.units / 2, ..*spec };
                let mut outcome = task::execute(&half, None, &now_ms, spin_ms);
                (outcome.result, outcome.checked) = (None, None);
                crashes.push(Crash {
                    lane: 0,
                    message: format!(
                        "task {} failed halfway; on the page's thread the failure is caught as an error (a real panic would abort the page itself), and the tasks after it never ran",
                        spec.id
                    ),
                });
                (outcome, TaskStatus::Crashed)
            }
            Some(BadKind::Hang) => {
                spin_ms(plan.config.timeout_ms);
                crashes.push(Crash {
                    lane: 0,
                    message: format!(
                        "task {} did not return: the page was frozen for the whole {} ms timeout, then it was stopped",
                        spec.id, plan.config.timeout_ms
                    ),
                });
                let outcome = TaskOutcome { result: None, checked: None, segments: Vec::new(), segments_dropped: 0 };
                (outcome, TaskStatus::Timeout)
            }
        };
        let end = now_ms();
        sink(Progress::Ended { id: spec.id, lane: 0, at: end });
        stamps.push(Stamped { id: spec.id, lane: 0, start, end, outcome, status });
    }
    Output { stamps, gil_switches: 0, crashes }
}
