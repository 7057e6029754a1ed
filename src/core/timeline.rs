//! The maths behind the timeline: records of what ran when, and the figures shown beside them.

use crate::core::config::{BadTask, Engine, RunConfig, Variant, Workload};
use crate::core::gil::{Segment, SegmentState};
use serde::Serialize;

/// One task as it really ran, times in ms relative to the start of its run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskRecord {
    pub id: u32,
    /// Which thread or process ran it (0-based); always 0 on the main thread.
    pub lane: u32,
    pub start_ms: f64,
    pub end_ms: f64,
    pub result: Option<String>,
    pub checked: Option<bool>,
    /// Running / waiting for the GIL / in I/O, in ms relative to the run's start.
    pub segments: Vec<Segment>,
    /// State changes past the recording cap (see `task::MAX_SEGMENTS`), not in `segments`.
    pub segments_dropped: u32,
    pub status: TaskStatus,
}

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Ok,
    /// It failed itself (a panic).
    Crashed,
    /// It was fine, but went down with its process.
    Lost,
    /// It did not return in time and was ended.
    Timeout,
}

/// A crash, or a timeout, and where it happened.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Crash {
    pub lane: u32,
    pub message: String,
}

impl TaskRecord {
    #[must_use]
    pub fn duration_ms(&self) -> f64 {
        self.end_ms - self.start_ms
    }

    /// How long the task spent in `state` (0 when no segments were recorded).
    #[must_use]
    pub fn time_in(&self, state: SegmentState) -> f64 {
        time_in(&self.segments, state)
    }

    /// Whether two tasks ran at the same time: each started before the other ended.
    #[must_use]
    pub fn overlaps(&self, other: &TaskRecord) -> bool {
        self.start_ms < other.end_ms && other.start_ms < self.end_ms
    }
}

/// How long `segments` spent in `state`, in ms (0 when none).
#[must_use]
pub fn time_in(segments: &[Segment], state: SegmentState) -> f64 {
    // A fold from +0.0: an empty float `sum()` is −0.0, which would print as "-0.000".
    segments.iter().filter(|s| s.state == state).fold(0.0, |total, s| total + (s.end_ms - s.start_ms))
}

/// The result of a run, as the page draws it. The API's JSON (see README) writes the
/// config's fields at the top level, `tasks` as `tasks_requested`, and adds the `variant`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The run's number on this page (1, 2, …).
    pub run: u32,
    /// The request this result answers.
    pub config: RunConfig,
    /// What crashed or timed out during the run, and where.
    pub crashes: Vec<Crash>,
    /// How many times a GIL passed from one thread to another during the run.
    pub gil_switches: u64,
    pub cores: u32,
    /// From the run's start to the last task's end.
    pub wall_ms: f64,
    /// The sum of all task durations: the wall time if they had run one after another.
    pub busy_ms: f64,
    /// Time spent getting the engine ready for this run (starting workers), not in `wall_ms`.
    pub setup_ms: f64,
    /// Main thread only: the longest time between two animation frames around the run.
    pub longest_frame_gap_ms: Option<f64>,
    /// The run's start on the shared clock (ms since the Unix epoch).
    pub started_at: f64,
    pub tasks: Vec<TaskRecord>,
}

/// [`RunResult`] as the API and the JSON download give it, fields in this order.
#[derive(Serialize)]
struct RunResultJson<'a> {
    run: u32,
    engine: Engine,
    workload: Workload,
    tasks_requested: u32,
    duration_ms: u32,
    units: u32,
    workers: u32,
    gil: bool,
    switch_interval_ms: f64,
    bad_task: Option<BadTask>,
    timeout_ms: u32,
    crashes: &'a [Crash],
    /// Which compared set-up ran ("main", "threads_gil", "threads_free", "processes").
    variant: Variant,
    gil_switches: u64,
    cores: u32,
    wall_ms: f64,
    busy_ms: f64,
    setup_ms: f64,
    longest_frame_gap_ms: Option<f64>,
    started_at: f64,
    tasks: &'a [TaskRecord],
}

impl Serialize for RunResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = &self.config;
        RunResultJson {
            run: self.run,
            engine: c.engine,
            workload: c.workload,
            tasks_requested: c.tasks,
            duration_ms: c.duration_ms,
            units: c.units,
            workers: c.workers,
            gil: c.gil,
            switch_interval_ms: c.switch_interval_ms,
            bad_task: c.bad_task,
            timeout_ms: c.timeout_ms,
            crashes: &self.crashes,
            variant: c.variant(),
            gil_switches: self.gil_switches,
            cores: self.cores,
            wall_ms: self.wall_ms,
            busy_ms: self.busy_ms,
            setup_ms: self.setup_ms,
            longest_frame_gap_ms: self.longest_frame_gap_ms,
            started_at: self.started_at,
            tasks: &self.tasks,
        }
        .serialize(serializer)
    }
}

impl RunResult {
    /// Assembles a result from records in ms relative to the run's start.
    #[must_use]
    pub fn new(
        run: u32,
        config: RunConfig,
        cores: u32,
        started_at: f64,
        setup_ms: f64,
        mut tasks: Vec<TaskRecord>,
    ) -> RunResult {
        tasks.sort_by_key(|t| t.id);
        RunResult {
            run,
            config,
            crashes: Vec::new(),
            gil_switches: 0,
            cores,
            wall_ms: wall_ms(&tasks),
            busy_ms: busy_ms(&tasks),
            setup_ms,
            longest_frame_gap_ms: None,
            started_at,
            tasks,
        }
    }

    /// Which of the compared set-ups ran.
    #[must_use]
    pub fn variant(&self) -> Variant {
        self.config.variant()
    }

    /// Lanes drawn: as many as workers, at least as many as the highest lane used.
    #[must_use]
    pub fn lane_count(&self) -> u32 {
        let used = self.tasks.iter().map(|t| t.lane + 1).max().unwrap_or(0);
        used.max(self.config.workers.min(self.config.tasks)).max(1)
    }
}

/// From 0 (the run's start) to the last end.
#[must_use]
pub fn wall_ms(tasks: &[TaskRecord]) -> f64 {
    tasks.iter().map(|t| t.end_ms).fold(0.0, f64::max)
}

#[must_use]
pub fn busy_ms(tasks: &[TaskRecord]) -> f64 {
    tasks.iter().map(TaskRecord::duration_ms).sum()
}

/// How many tasks were running at once, at the busiest instant.
#[must_use]
pub fn max_concurrency(tasks: &[TaskRecord]) -> usize {
    // Sweep over starts (+1) and ends (−1); at equal times, ends go first, so that
    // a task starting exactly when another ends does not count as overlapping.
    let mut edges: Vec<(f64, i32)> = tasks.iter().flat_map(|t| [(t.start_ms, 1), (t.end_ms, -1)]).collect();
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut best) = (0i32, 0i32);
    for (_, delta) in edges {
        now += delta;
        best = best.max(now);
    }
    usize::try_from(best).unwrap_or(0)
}

/// How many times faster than the sequential run: `T_seq / T_wall`.
#[must_use]
pub fn speedup(sequential_wall_ms: f64, wall_ms: f64) -> Option<f64> {
    (sequential_wall_ms > 0.0 && wall_ms > 0.0).then(|| sequential_wall_ms / wall_ms)
}

/// Tick marks for an axis from 0 to `max`: steps of 1, 2 or 5 × 10ⁿ, at most `most` of them.
#[must_use]
pub fn ticks(max: f64, most: usize) -> Vec<f64> {
    if !(max.is_finite() && max > 0.0) || most == 0 {
        return vec![0.0];
    }
    #[allow(clippy::cast_precision_loss)]
    let rough = max / most as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= rough).unwrap_or(10.0 * magnitude);
    let mut out = Vec::new();
    let mut t = 0.0;
    while t <= max + step * 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

/// Merges runs of segments narrower than `min_ms` (about a pixel) into one, drawn in
/// the state that took most of the run's time: thousands of sub-pixel rectangles would
/// slow the page without showing more. The data keeps every segment.
#[must_use]
pub fn coalesce(segments: &[Segment], min_ms: f64) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let first = segments[i];
        let mut j = i;
        let mut time = [0.0f64; 3];
        while j < segments.len() && (j == i || segments[j].end_ms - first.start_ms <= min_ms) {
            let k = match segments[j].state {
                SegmentState::Running => 0,
                SegmentState::GilWait => 1,
                SegmentState::Io => 2,
            };
            time[k] += segments[j].end_ms - segments[j].start_ms;
            j += 1;
        }
        let state = [SegmentState::Running, SegmentState::GilWait, SegmentState::Io]
            [(0..3).max_by(|a, b| time[*a].total_cmp(&time[*b])).unwrap_or(0)];
        out.push(Segment { state, start_ms: first.start_ms, end_ms: segments[j - 1].end_ms });
        i = j;
    }
    out
}

/// "850 ms", "3.01 s": how a duration reads on the page.
#[must_use]
pub fn format_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u32, lane: u32, start_ms: f64, end_ms: f64) -> TaskRecord {
        TaskRecord {
            id,
            lane,
            start_ms,
            end_ms,
            result: None,
            checked: None,
            segments: Vec::new(),
            segments_dropped: 0,
            status: TaskStatus::Ok,
        }
    }

    #[test]
    fn sequential_tasks_do_not_overlap_and_add_up() {
        let tasks = [task(0, 0, 0.0, 3000.0), task(1, 0, 3000.0, 6010.0)];
        assert!(!tasks[0].overlaps(&tasks[1]));
        assert_eq!(max_concurrency(&tasks), 1);
        assert_eq!(wall_ms(&tasks), 6010.0);
        assert_eq!(busy_ms(&tasks), 6010.0);
    }

    #[test]
    fn threaded_tasks_overlap_and_give_a_speedup() {
        let tasks = [task(0, 0, 1.0, 3001.0), task(1, 1, 2.0, 3003.0)];
        assert!(tasks[0].overlaps(&tasks[1]));
        assert_eq!(max_concurrency(&tasks), 2);
        let s = speedup(6010.0, wall_ms(&tasks)).unwrap();
        assert!((s - 6010.0 / 3003.0).abs() < 1e-12);
        assert_eq!(speedup(0.0, 1.0), None);
    }

    #[test]
    fn result_sorts_tasks_and_counts_lanes() {
        let cfg = RunConfig { engine: Engine::Processes, workers: 4, tasks: 3, ..RunConfig::notebook_preset() };
        let r = RunResult::new(
            1,
            cfg.clone(),
            2,
            1e12,
            5.0,
            vec![task(2, 1, 0.0, 5.0), task(0, 0, 0.0, 4.0), task(1, 2, 0.0, 6.0)],
        );
        assert_eq!(r.tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(r.lane_count(), 3);
        assert_eq!(r.wall_ms, 6.0);
        assert_eq!(r.config, cfg);
    }

    #[test]
    fn a_result_s_json_keeps_the_shape_the_readme_documents() {
        let cfg = RunConfig {
            engine: Engine::Threads,
            gil: false,
            bad_task: Some(BadTask { id: 1, kind: crate::core::config::BadKind::Hang }),
            ..RunConfig::notebook_preset()
        };
        let mut r = RunResult::new(3, cfg, 2, 1e12, 5.0, vec![task(0, 0, 1.0, 3001.0)]);
        r.crashes.push(Crash { lane: 1, message: "timeout".into() });
        let json = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = [
            "run",
            "engine",
            "workload",
            "tasks_requested",
            "duration_ms",
            "units",
            "workers",
            "gil",
            "switch_interval_ms",
            "bad_task",
            "timeout_ms",
            "crashes",
            "variant",
            "gil_switches",
            "cores",
            "wall_ms",
            "busy_ms",
            "setup_ms",
            "longest_frame_gap_ms",
            "started_at",
            "tasks",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(json["engine"], "threads");
        assert_eq!(json["workload"], "io");
        assert_eq!(json["tasks_requested"], 2);
        assert_eq!(json["duration_ms"], 3000);
        assert_eq!(json["workers"], 2);
        assert_eq!(json["gil"], false);
        assert_eq!(json["switch_interval_ms"], 5.0);
        assert_eq!(json["bad_task"], serde_json::json!({"id": 1, "kind": "hang"}));
        assert_eq!(json["timeout_ms"], 5000);
        assert_eq!(json["variant"], "threads_free");
        assert_eq!(json["crashes"], serde_json::json!([{"lane": 1, "message": "timeout"}]));
        assert_eq!(json["longest_frame_gap_ms"], serde_json::Value::Null);
        assert_eq!(json["tasks"][0]["end_ms"], 3001.0);
        assert_eq!(json["tasks"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn ticks_are_round_and_cover_the_axis() {
        assert_eq!(ticks(6000.0, 6), [0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0]);
        assert_eq!(ticks(620.0, 5), [0.0, 200.0, 400.0, 600.0]);
        assert_eq!(ticks(0.0, 5), [0.0]);
        assert_eq!(ticks(f64::NAN, 5), [0.0]);
        assert!(ticks(12_345.0, 8).len() <= 9);
    }

    #[test]
    fn sub_pixel_segments_merge_and_wide_ones_stay() {
        let seg = |state, start_ms, end_ms| Segment { state, start_ms, end_ms };
        let fine: Vec<_> = (0..100)
            .map(|i| {
                let t = f64::from(i) * 0.01;
                seg(if i % 4 == 0 { SegmentState::GilWait } else { SegmentState::Running }, t, t + 0.01)
            })
            .collect();
        let merged = coalesce(&fine, 0.5);
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().all(|s| s.state == SegmentState::Running), "running took 3/4 of the time");
        assert_eq!((merged[0].start_ms, merged[1].end_ms), (0.0, 1.0));
        let wide = [seg(SegmentState::Io, 0.0, 10.0), seg(SegmentState::Running, 10.0, 20.0)];
        assert_eq!(coalesce(&wide, 0.5), wide);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_ms(3012.0), "3.01 s");
        assert_eq!(format_ms(850.4), "850 ms");
        assert_eq!(format_ms(2.345), "2.3 ms");
    }
}
