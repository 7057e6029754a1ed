//! One run as every engine sees it: the [`Plan`] it is handed, the [`Progress`] it reports as
//! things happen, the [`Collector`] that turns worker letters into stamps (and decides which
//! task is past its timeout), and [`relative`], which puts the stamps on the run's own clock.
//! Plain logic, so it is tested here, natively; the engines in `web::engines` only move letters.

use crate::core::config::RunConfig;
use crate::core::gil::Segment;
use crate::core::protocol::{FromWorker, TaskOutcome, TaskSpec, ToWorker};
use crate::core::timeline::{Crash, TaskRecord, TaskStatus};
use std::collections::HashMap;

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
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    Started { id: u32, lane: u32, at: f64 },
    Ended { id: u32, lane: u32, at: f64 },
}

/// Where an engine reports [`Progress`] as it happens.
pub type Sink<'a> = &'a dyn Fn(Progress);

/// What an engine hands back: every task's stamps, and how often a GIL changed hands.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub stamps: Vec<Stamped>,
    pub gil_switches: u64,
    /// What crashed or timed out, and where.
    pub crashes: Vec<Crash>,
    /// The tasks ran on the page's own thread and froze it: the lab measures the freeze up
    /// to the first frame the page draws after them.
    pub froze_page: bool,
}

/// One finished task, stamped on the shared clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped {
    pub id: u32,
    pub lane: u32,
    pub start: f64,
    pub end: f64,
    pub outcome: TaskOutcome,
    pub status: TaskStatus,
}

/// The outcome of a task that produced nothing (it crashed, was lost or timed out).
#[must_use]
pub fn no_outcome() -> TaskOutcome {
    TaskOutcome { result: None, checked: None, segments: Vec::new(), segments_dropped: 0 }
}

/// Gathers the stamps of a run from worker messages, in the order the tasks end.
#[derive(Default)]
pub struct Collector {
    starts: HashMap<u32, (u32, f64)>,
    pub done: Vec<Stamped>,
}

impl Collector {
    /// Takes in one message of run `run`; returns whether it was a task's end. Letters of
    /// other runs (a worker still reporting on an earlier one) are passed over.
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

    /// Task `id` ended badly at `at` (crashed, lost or timed out), unless it has ended already.
    pub fn fail(&mut self, id: u32, status: TaskStatus, at: f64, sink: Sink<'_>) {
        if self.ended(id) {
            return;
        }
        let (lane, start) = self.starts.get(&id).copied().unwrap_or((0, at));
        sink(Progress::Ended { id, lane, at });
        self.done.push(Stamped { id, lane, start, end: at, outcome: no_outcome(), status });
    }

    /// Every task of `plan` that has not ended is `status` as of `at`.
    pub fn fail_rest(&mut self, plan: &Plan, status: TaskStatus, at: f64, sink: Sink<'_>) {
        for spec in &plan.tasks {
            self.fail(spec.id, status, at, sink);
        }
    }

    fn ended(&self, id: u32) -> bool {
        self.done.iter().any(|s| s.id == id)
    }

    /// Whether task `id` has started and not ended.
    #[must_use]
    pub fn running(&self, id: u32) -> bool {
        self.starts.contains_key(&id) && !self.ended(id)
    }

    /// When task `id` started, if it has.
    #[must_use]
    pub fn started_at(&self, id: u32) -> Option<f64> {
        self.starts.get(&id).map(|s| s.1)
    }

    /// When the first running task of `plan` reaches `timeout_ms` (infinite when none runs).
    #[must_use]
    pub fn deadline(&self, plan: &Plan, timeout_ms: f64) -> f64 {
        plan.tasks
            .iter()
            .filter(|t| self.running(t.id))
            .filter_map(|t| self.started_at(t.id))
            .map(|start| start + timeout_ms)
            .fold(f64::INFINITY, f64::min)
    }

    /// The running tasks of `plan` that have run `timeout_ms` or longer by `now`, in plan order.
    #[must_use]
    pub fn overdue(&self, plan: &Plan, now: f64, timeout_ms: f64) -> Vec<u32> {
        plan.tasks
            .iter()
            .filter(|t| self.running(t.id) && self.started_at(t.id).is_some_and(|s| now >= s + timeout_ms))
            .map(|t| t.id)
            .collect()
    }
}

/// How long to wait for the next letter: until just past `deadline` (so that a task due
/// then is surely past it), or `idle_ms` when nothing is due.
#[must_use]
pub fn wait_ms(deadline: f64, now: f64, idle_ms: u32) -> u32 {
    if deadline.is_finite() {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = ((deadline - now).max(0.0) + 1.0).ceil().min(f64::from(u32::MAX)) as u32;
        ms
    } else {
        idle_ms
    }
}

/// A stamped task as the run's result keeps it: every time relative to the run's start.
#[must_use]
pub fn relative(s: Stamped, started_at: f64) -> TaskRecord {
    TaskRecord {
        id: s.id,
        lane: s.lane,
        start_ms: s.start - started_at,
        end_ms: s.end - started_at,
        result: s.outcome.result,
        checked: s.outcome.checked,
        segments: s
            .outcome
            .segments
            .into_iter()
            .map(|g| Segment { start_ms: g.start_ms - started_at, end_ms: g.end_ms - started_at, ..g })
            .collect(),
        segments_dropped: s.outcome.segments_dropped,
        status: s.status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{BadKind, BadTask, Engine};
    use crate::core::gil::SegmentState;
    use std::cell::RefCell;

    fn plan(tasks: u32) -> Plan {
        Plan::new(7, RunConfig { engine: Engine::Processes, tasks, ..RunConfig::notebook_preset() })
    }

    fn started(id: u32, lane: u32, at: f64) -> FromWorker {
        FromWorker::Started { run: 7, id, lane, at }
    }

    fn ended(id: u32, lane: u32, at: f64) -> FromWorker {
        FromWorker::Ended { run: 7, id, lane, at, outcome: no_outcome() }
    }

    #[test]
    fn a_plan_marks_only_the_bad_task() {
        let config = RunConfig {
            tasks: 3,
            bad_task: Some(BadTask { id: 1, kind: BadKind::Hang }),
            ..RunConfig::notebook_preset()
        };
        let plan = Plan::new(2, config);
        let bad: Vec<_> = plan.tasks.iter().map(|t| t.bad).collect();
        assert_eq!(bad, [None, Some(BadKind::Hang), None]);
        assert_eq!(plan.tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
        let ToWorker::Run { run, lane, tasks, .. } = plan.message(3, vec![plan.tasks[2]]) else { panic!() };
        assert_eq!((run, lane, tasks[0].id), (2, 3, 2));
    }

    #[test]
    fn tasks_are_kept_in_the_order_they_end_and_reported_as_they_happen() {
        let seen = RefCell::new(Vec::new());
        let sink = |p: Progress| seen.borrow_mut().push(p);
        let mut c = Collector::default();
        assert!(!c.take(7, started(0, 0, 10.0), &sink));
        assert!(!c.take(7, started(1, 1, 11.0), &sink));
        assert!(c.take(7, ended(1, 1, 20.0), &sink));
        assert!(c.take(7, ended(0, 0, 30.0), &sink));
        assert_eq!(
            c.done.iter().map(|s| (s.id, s.start, s.end)).collect::<Vec<_>>(),
            [(1, 11.0, 20.0), (0, 10.0, 30.0)]
        );
        assert_eq!(
            seen.into_inner(),
            [
                Progress::Started { id: 0, lane: 0, at: 10.0 },
                Progress::Started { id: 1, lane: 1, at: 11.0 },
                Progress::Ended { id: 1, lane: 1, at: 20.0 },
                Progress::Ended { id: 0, lane: 0, at: 30.0 },
            ]
        );
    }

    #[test]
    fn letters_of_another_run_are_passed_over() {
        let mut c = Collector::default();
        assert!(!c.take(8, ended(0, 0, 5.0), &|_| {}));
        assert!(!c.take(8, FromWorker::Done { run: 7, gil_switches: 3 }, &|_| {}));
        assert!(c.done.is_empty());
        assert!(!c.running(0));
    }

    #[test]
    fn an_end_without_a_start_lasts_no_time() {
        let mut c = Collector::default();
        assert!(c.take(7, ended(2, 1, 40.0), &|_| {}));
        assert_eq!((c.done[0].start, c.done[0].end), (40.0, 40.0));
    }

    #[test]
    fn a_failure_keeps_its_lane_and_start_and_never_overwrites_an_end() {
        let mut c = Collector::default();
        c.take(7, started(0, 2, 10.0), &|_| {});
        c.take(7, started(1, 3, 10.0), &|_| {});
        c.take(7, ended(1, 3, 15.0), &|_| {});
        c.fail(0, TaskStatus::Crashed, 18.0, &|_| {});
        c.fail(1, TaskStatus::Crashed, 18.0, &|_| {});
        c.fail_rest(&plan(3), TaskStatus::Lost, 19.0, &|_| {});
        let got: Vec<_> = c.done.iter().map(|s| (s.id, s.lane, s.start, s.end, s.status)).collect();
        assert_eq!(
            got,
            [
                (1, 3, 10.0, 15.0, TaskStatus::Ok),
                (0, 2, 10.0, 18.0, TaskStatus::Crashed),
                (2, 0, 19.0, 19.0, TaskStatus::Lost),
            ]
        );
    }

    #[test]
    fn the_deadline_is_the_earliest_running_task_plus_the_timeout() {
        let plan = plan(3);
        let mut c = Collector::default();
        assert_eq!(c.deadline(&plan, 100.0), f64::INFINITY);
        c.take(7, started(0, 0, 50.0), &|_| {});
        c.take(7, started(1, 1, 20.0), &|_| {});
        assert_eq!(c.deadline(&plan, 100.0), 120.0);
        // A task that ended no longer counts.
        c.take(7, ended(1, 1, 60.0), &|_| {});
        assert_eq!(c.deadline(&plan, 100.0), 150.0);
    }

    #[test]
    fn only_tasks_at_or_past_their_timeout_are_overdue() {
        let plan = plan(3);
        let mut c = Collector::default();
        c.take(7, started(0, 0, 0.0), &|_| {});
        c.take(7, started(1, 1, 30.0), &|_| {});
        c.take(7, started(2, 2, 0.0), &|_| {});
        c.take(7, ended(2, 2, 50.0), &|_| {});
        assert_eq!(c.overdue(&plan, 99.0, 100.0), Vec::<u32>::new());
        assert_eq!(c.overdue(&plan, 100.0, 100.0), [0]);
        assert_eq!(c.overdue(&plan, 130.0, 100.0), [0, 1]);
    }

    #[test]
    fn the_wait_runs_just_past_the_deadline_or_idles() {
        assert_eq!(wait_ms(f64::INFINITY, 5.0, 30_000), 30_000);
        assert_eq!(wait_ms(110.0, 100.0, 30_000), 11);
        assert_eq!(wait_ms(100.2, 100.0, 30_000), 2);
        // Already past: wait only a moment, then look again.
        assert_eq!(wait_ms(90.0, 100.0, 30_000), 1);
    }

    #[test]
    fn relative_puts_the_task_and_its_segments_on_the_runs_clock() {
        let outcome = TaskOutcome {
            result: Some("ab".into()),
            checked: Some(true),
            segments: vec![Segment { state: SegmentState::Running, start_ms: 1010.0, end_ms: 1030.0 }],
            segments_dropped: 2,
        };
        let s = Stamped { id: 4, lane: 1, start: 1005.0, end: 1040.0, outcome, status: TaskStatus::Ok };
        let r = relative(s, 1000.0);
        assert_eq!((r.id, r.lane, r.start_ms, r.end_ms), (4, 1, 5.0, 40.0));
        assert_eq!((r.segments[0].start_ms, r.segments[0].end_ms), (10.0, 30.0));
        assert_eq!(r.segments[0].state, SegmentState::Running);
        assert_eq!((r.result.as_deref(), r.checked, r.segments_dropped), (Some("ab"), Some(true), 2));
    }
}
