//! The main-thread engine: the notebook's "version without threads". Tasks run one
//! after another on the page's own thread and block it, on purpose: the heartbeat
//! stops and the page freezes, as a GUI does when it calls `time.sleep` on its UI thread.

use super::{Output, Plan, Progress, Sink, Stamped};
use crate::core::task;
use crate::web::clock::{now_ms, spin_ms};

/// Runs the plan sequentially, blocking the page until every task has ended. One
/// thread: a GIL would never change hands, so none is modelled here.
pub fn run(plan: &Plan, sink: Sink<'_>) -> Output {
    let stamps = plan
        .tasks
        .iter()
        .map(|spec| {
            let start = now_ms();
            sink(Progress::Started { id: spec.id, lane: 0, at: start });
            // Browsers forbid blocking waits (Atomics.wait) on the page's thread: spin.
            let outcome = task::execute(spec, None, &now_ms, spin_ms);
            let end = now_ms();
            sink(Progress::Ended { id: spec.id, lane: 0, at: end });
            Stamped { id: spec.id, lane: 0, start, end, outcome }
        })
        .collect();
    Output { stamps, gil_switches: 0 }
}
