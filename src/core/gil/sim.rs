//! The GIL's rules on a fake clock: a deterministic scheduler for testing the model.
//!
//! Threads follow scripts of CPU slices and I/O waits; time is in µs and advances from
//! event to event, so every run of a script gives the same trace. Each thread has a
//! core of its own (the question here is the lock, not CPU scheduling).

use super::{GilCore, SegmentState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run this many slices of bytecode (each `slice_us` long).
    Cpu { slices: u32 },
    /// Block in I/O for this long (GIL released).
    Io { us: u64 },
}

#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    pub switch_interval_us: u64,
    pub slice_us: u64,
    /// `false`: free-threaded, no GIL at all.
    pub gil: bool,
}

/// What happened: per thread, its segments `(state, start, end)`; and who held the GIL when.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub segments: Vec<Vec<(SegmentState, u64, u64)>>,
    pub holds: Vec<(u32, u64, u64)>,
    pub handovers: u64,
    pub end_us: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum St {
    Want { since: u64, deadline: u64, seen: u64 },
    Run { until: u64 },
    Io { until: u64 },
    Done,
}

struct Thread {
    script: Vec<Step>,
    pc: usize,
    slices_left: u32,
    st: St,
    seg: Option<(SegmentState, u64)>,
    hold_from: Option<u64>,
}

struct Sim {
    cfg: SimConfig,
    gil: GilCore,
    threads: Vec<Thread>,
    trace: Trace,
}

impl Sim {
    fn enter(&mut self, i: usize, state: SegmentState, t: u64) {
        let th = &mut self.threads[i];
        if let Some((s, from)) = th.seg {
            if s == state {
                return;
            }
            if t > from {
                self.trace.segments[i].push((s, from, t));
            }
        }
        th.seg = Some((state, t));
    }

    fn close(&mut self, i: usize, t: u64) {
        if let Some((s, from)) = self.threads[i].seg.take() {
            if t > from {
                self.trace.segments[i].push((s, from, t));
            }
        }
    }

    fn me(i: usize) -> u32 {
        u32::try_from(i).expect("few threads")
    }

    fn take(&mut self, i: usize, t: u64) -> bool {
        if !self.cfg.gil {
            return true;
        }
        if self.gil.try_take(Self::me(i)) {
            self.threads[i].hold_from = Some(t);
            true
        } else {
            false
        }
    }

    fn release(&mut self, i: usize, t: u64) {
        if !self.cfg.gil {
            return;
        }
        self.gil.release(Self::me(i));
        let from = self.threads[i].hold_from.take().expect("held");
        self.trace.holds.push((Self::me(i), from, t));
        // The released condition wakes one waiter: the one that has waited longest.
        let next = (0..self.threads.len())
            .filter_map(|j| match self.threads[j].st {
                St::Want { since, .. } => Some((since, j)),
                _ => None,
            })
            .min();
        if let Some((_, j)) = next {
            let taken = self.take(j, t);
            debug_assert!(taken);
            self.run(j, t);
        }
    }

    fn run(&mut self, i: usize, t: u64) {
        self.threads[i].st = St::Run { until: t + self.cfg.slice_us };
        self.enter(i, SegmentState::Running, t);
    }

    fn want(&mut self, i: usize, t: u64) {
        if self.take(i, t) {
            self.run(i, t);
        } else {
            let seen = self.gil.switch_number();
            self.threads[i].st = St::Want { since: t, deadline: t + self.cfg.switch_interval_us, seen };
            self.enter(i, SegmentState::GilWait, t);
        }
    }

    /// Starts thread `i`'s next step (it holds no GIL here).
    fn next_step(&mut self, i: usize, t: u64) {
        let th = &mut self.threads[i];
        match th.script.get(th.pc).copied() {
            None => {
                th.st = St::Done;
                self.close(i, t);
            }
            Some(Step::Io { us }) => {
                th.pc += 1;
                th.st = St::Io { until: t + us };
                self.enter(i, SegmentState::Io, t);
            }
            Some(Step::Cpu { slices }) => {
                th.pc += 1;
                th.slices_left = slices;
                if slices == 0 {
                    self.next_step(i, t);
                } else {
                    self.want(i, t);
                }
            }
        }
    }

    fn slice_ended(&mut self, i: usize, t: u64) {
        self.threads[i].slices_left -= 1;
        if self.threads[i].slices_left == 0 {
            self.release(i, t);
            self.next_step(i, t);
        } else if self.cfg.gil && self.gil.drop_requested() {
            // Forced drop: the waiter takes it at once (FORCE_SWITCHING), then we queue.
            self.threads[i].st = St::Done; // not a waiter while the GIL is handed on
            self.release(i, t);
            self.want(i, t);
        } else {
            self.threads[i].st = St::Run { until: t + self.cfg.slice_us };
        }
    }
}

/// Runs `scripts` (one per thread, all starting at t = 0) and returns the trace.
#[must_use]
pub fn run(scripts: &[Vec<Step>], cfg: SimConfig) -> Trace {
    let mut sim = Sim {
        cfg,
        gil: GilCore::default(),
        threads: scripts
            .iter()
            .map(|s| Thread { script: s.clone(), pc: 0, slices_left: 0, st: St::Done, seg: None, hold_from: None })
            .collect(),
        trace: Trace { segments: vec![Vec::new(); scripts.len()], ..Trace::default() },
    };
    for i in 0..scripts.len() {
        sim.next_step(i, 0);
    }
    let mut t = 0;
    loop {
        // The next event; at equal times slices end first, then I/O, then deadlines.
        let next = sim
            .threads
            .iter()
            .enumerate()
            .filter_map(|(i, th)| match th.st {
                St::Run { until } => Some((until, 0, i)),
                St::Io { until } => Some((until, 1, i)),
                St::Want { deadline, .. } if cfg.gil => Some((deadline, 2, i)),
                _ => None,
            })
            .min();
        let Some((at, kind, i)) = next else { break };
        t = at;
        match (kind, sim.threads[i].st) {
            (0, _) => sim.slice_ended(i, t),
            (1, _) => sim.next_step(i, t),
            (_, St::Want { since, seen, .. }) => {
                sim.gil.interval_elapsed(seen);
                let seen = sim.gil.switch_number();
                sim.threads[i].st = St::Want { since, deadline: t + cfg.switch_interval_us, seen };
            }
            _ => unreachable!(),
        }
    }
    sim.trace.handovers = sim.gil.handovers();
    sim.trace.end_us = t;
    sim.trace
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: SimConfig = SimConfig { switch_interval_us: 5_000, slice_us: 50, gil: true };

    fn cpu(ms: u64) -> Step {
        Step::Cpu { slices: u32::try_from(ms * 1000 / CFG.slice_us).unwrap() }
    }

    fn time_in(trace: &Trace, thread: usize, state: SegmentState) -> u64 {
        trace.segments[thread].iter().filter(|s| s.0 == state).map(|s| s.2 - s.1).sum()
    }

    fn assert_never_two_holders(trace: &Trace) {
        let mut holds = trace.holds.clone();
        holds.sort_by_key(|h| h.1);
        for pair in holds.windows(2) {
            assert!(pair[0].2 <= pair[1].1, "two holders at once: {pair:?}");
        }
    }

    #[test]
    fn two_cpu_threads_alternate_at_the_switch_interval() {
        let trace = run(&[vec![cpu(20)], vec![cpu(20)]], CFG);
        assert_never_two_holders(&trace);
        // With the GIL, 2 × 20 ms of CPU take 40 ms: no speed-up.
        assert_eq!(trace.end_us, 40_000);
        let holders: Vec<u32> = trace.holds.iter().map(|h| h.0).collect();
        assert!(holders.windows(2).all(|w| w[0] != w[1]), "turns alternate: {holders:?}");
        for hold in &trace.holds[..trace.holds.len() - 2] {
            let held = hold.2 - hold.1;
            assert!((CFG.switch_interval_us..=CFG.switch_interval_us + CFG.slice_us).contains(&held), "{hold:?}");
        }
        assert_eq!(trace.handovers, (trace.holds.len() - 1) as u64);
        assert!(trace.handovers >= 7);
    }

    #[test]
    fn a_thread_in_io_does_not_hold_the_gil_and_cpu_runs_meanwhile() {
        let trace = run(&[vec![Step::Io { us: 10_000 }, cpu(1)], vec![cpu(10)]], CFG);
        assert_never_two_holders(&trace);
        let io = trace.segments[0][0];
        assert_eq!(io, (SegmentState::Io, 0, 10_000));
        for hold in trace.holds.iter().filter(|h| h.0 == 0) {
            assert!(hold.1 >= io.2, "thread 0 held the GIL during its I/O: {hold:?}");
        }
        assert_eq!(time_in(&trace, 1, SegmentState::Running), 10_000, "thread 1 ran the whole time");
    }

    #[test]
    fn io_waits_overlap_even_with_the_gil() {
        let trace = run(&[vec![Step::Io { us: 3_000_000 }], vec![Step::Io { us: 3_000_000 }]], CFG);
        assert_eq!(trace.end_us, 3_000_000, "two 3 s waits take 3 s, as in the notebook");
        assert!(trace.holds.is_empty());
    }

    #[test]
    fn a_waiting_thread_always_gets_the_gil_within_a_bound() {
        for threads in 2..=5u64 {
            let scripts: Vec<_> = (0..threads).map(|_| vec![cpu(30)]).collect();
            let trace = run(&scripts, CFG);
            assert_never_two_holders(&trace);
            let bound = (threads - 1) * (CFG.switch_interval_us + CFG.slice_us);
            for (i, segs) in trace.segments.iter().enumerate() {
                for s in segs.iter().filter(|s| s.0 == SegmentState::GilWait) {
                    assert!(s.2 - s.1 <= bound, "thread {i} of {threads} waited {} µs > {bound}", s.2 - s.1);
                }
            }
        }
    }

    #[test]
    fn never_two_holders_on_mixed_scripts() {
        let mut x = 12_345u64;
        let mut rand = |n: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % n
        };
        for _ in 0..50 {
            let scripts: Vec<Vec<Step>> = (0..2 + rand(4))
                .map(|_| {
                    (0..1 + rand(5))
                        .map(|_| {
                            if rand(2) == 0 {
                                Step::Cpu { slices: 1 + u32::try_from(rand(300)).expect("below 300") }
                            } else {
                                Step::Io { us: 1 + rand(20_000) }
                            }
                        })
                        .collect()
                })
                .collect();
            let cfg = SimConfig { switch_interval_us: 100 + rand(10_000), slice_us: 10 + rand(100), gil: true };
            let trace = run(&scripts, cfg);
            assert_never_two_holders(&trace);
            // Every slice of every script ran, while its thread held the GIL.
            for (i, script) in scripts.iter().enumerate() {
                let slices: u64 =
                    script.iter().map(|s| if let Step::Cpu { slices } = s { u64::from(*slices) } else { 0 }).sum();
                assert_eq!(time_in(&trace, i, SegmentState::Running), slices * cfg.slice_us);
                let held: u64 = trace.holds.iter().filter(|h| h.0 as usize == i).map(|h| h.2 - h.1).sum();
                assert_eq!(held, slices * cfg.slice_us);
            }
        }
    }

    #[test]
    fn free_threaded_cpu_threads_run_at_once() {
        let trace = run(&[vec![cpu(20)], vec![cpu(20)]], SimConfig { gil: false, ..CFG });
        assert_eq!(trace.end_us, 20_000);
        assert!(trace.segments.iter().flatten().all(|s| s.0 == SegmentState::Running));
        assert_eq!(trace.handovers, 0);
    }
}
