//! The runs the page remembers: the last of each set-up (drawn in its timeline panel) and a
//! history of finished runs, from which the differences table and the speed-ups draw their
//! evidence, always comparing like with like.

use crate::core::config::{RunConfig, Variant, Workload};
use crate::core::timeline::RunResult;
use std::collections::HashMap;
use std::rc::Rc;

/// How many finished runs the page remembers.
pub const HISTORY: usize = 200;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Runs {
    last: HashMap<Variant, Rc<RunResult>>,
    /// Oldest first, the latest [`HISTORY`].
    history: Vec<Rc<RunResult>>,
}

impl Runs {
    /// A run finished.
    pub fn record(&mut self, result: Rc<RunResult>) {
        self.last.insert(result.variant(), result.clone());
        if self.history.len() >= HISTORY {
            self.history.remove(0);
        }
        self.history.push(result);
    }

    /// The last finished run of `variant`, however long ago.
    #[must_use]
    pub fn last_of(&self, variant: Variant) -> Option<&Rc<RunResult>> {
        self.last.get(&variant)
    }

    /// The last finished run of each set-up that has one, in no particular order.
    pub fn lasts(&self) -> impl Iterator<Item = &Rc<RunResult>> {
        self.last.values()
    }

    /// Every remembered run, oldest first.
    #[must_use]
    pub fn history(&self) -> &[Rc<RunResult>] {
        &self.history
    }

    /// The latest run of `variant` on `workload`.
    #[must_use]
    pub fn latest(&self, variant: Variant, workload: Workload) -> Option<&Rc<RunResult>> {
        self.history.iter().rev().find(|r| r.variant() == variant && r.config.workload == workload)
    }

    /// The latest `variant` run that did the same work as `config`.
    #[must_use]
    pub fn latest_same_work(&self, variant: Variant, config: &RunConfig) -> Option<&Rc<RunResult>> {
        self.history.iter().rev().find(|r| r.variant() == variant && r.config.same_work(config))
    }

    /// The latest main-thread run that did the same work as `config`: the baseline of speed-ups.
    #[must_use]
    pub fn sequential_for(&self, config: &RunConfig) -> Option<&Rc<RunResult>> {
        self.latest_same_work(Variant::Main, config)
    }

    /// The latest run on one of `variants` in which something crashed or timed out.
    #[must_use]
    pub fn latest_crash(&self, variants: &[Variant]) -> Option<&Rc<RunResult>> {
        self.history.iter().rev().find(|r| variants.contains(&r.variant()) && !r.crashes.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Engine;
    use crate::core::timeline::Crash;

    fn result(run: u32, variant: Variant, workload: Workload, duration_ms: u32) -> Rc<RunResult> {
        let config = RunConfig { workload, duration_ms, ..RunConfig::notebook_preset() }.on(variant);
        Rc::new(RunResult::new(run, config, 2, 0.0, 0.0, Vec::new()))
    }

    #[test]
    fn the_last_run_of_each_set_up_is_kept() {
        let mut runs = Runs::default();
        runs.record(result(1, Variant::Main, Workload::Io, 100));
        runs.record(result(2, Variant::ThreadsGil, Workload::Io, 100));
        runs.record(result(3, Variant::Main, Workload::Cpu, 100));
        assert_eq!(runs.last_of(Variant::Main).map(|r| r.run), Some(3));
        assert_eq!(runs.last_of(Variant::ThreadsGil).map(|r| r.run), Some(2));
        assert_eq!(runs.last_of(Variant::Processes), None);
        let mut lasts: Vec<u32> = runs.lasts().map(|r| r.run).collect();
        lasts.sort_unstable();
        assert_eq!(lasts, [2, 3]);
        assert_eq!(runs.latest(Variant::Main, Workload::Io).map(|r| r.run), Some(1));
    }

    #[test]
    fn speed_ups_compare_like_with_like() {
        let mut runs = Runs::default();
        runs.record(result(1, Variant::Main, Workload::Io, 100));
        runs.record(result(2, Variant::Main, Workload::Io, 300));
        runs.record(result(3, Variant::Processes, Workload::Io, 100));
        let processes = runs.last_of(Variant::Processes).unwrap().config.clone();
        assert_eq!(processes.engine, Engine::Processes);
        // Run 2 is later, but waited 300 ms a task: run 1 is the baseline.
        assert_eq!(runs.sequential_for(&processes).map(|r| r.run), Some(1));
        assert_eq!(runs.latest_same_work(Variant::ThreadsGil, &processes), None);
    }

    #[test]
    fn history_keeps_the_latest_runs_and_the_last_of_each_set_up_outlives_it() {
        let mut runs = Runs::default();
        runs.record(result(0, Variant::Processes, Workload::Io, 100));
        for run in 1..=u32::try_from(HISTORY).expect("a short history") {
            runs.record(result(run, Variant::Main, Workload::Io, 100));
        }
        assert_eq!(runs.history().len(), HISTORY);
        assert_eq!(runs.history()[0].run, 1, "the oldest went");
        assert_eq!(runs.latest(Variant::Processes, Workload::Io), None);
        assert_eq!(runs.last_of(Variant::Processes).map(|r| r.run), Some(0));
    }

    #[test]
    fn the_latest_crash_is_found_among_the_set_ups_asked_for() {
        let mut runs = Runs::default();
        let mut crashed = (*result(1, Variant::Processes, Workload::Io, 100)).clone();
        crashed.crashes.push(Crash { lane: 0, message: "process crashed".into() });
        runs.record(Rc::new(crashed));
        runs.record(result(2, Variant::Processes, Workload::Io, 100));
        assert_eq!(runs.latest_crash(&[Variant::Processes]).map(|r| r.run), Some(1));
        assert_eq!(runs.latest_crash(&[Variant::ThreadsGil, Variant::ThreadsFree]), None);
    }
}
