//! A run's results as files a student can keep: CSV (one row per task) and the names of
//! the downloads. JSON is the API's own result; SVG and PNG are drawn from the page.

use crate::core::gil::SegmentState;
use crate::core::timeline::{RunResult, TaskStatus};
use std::fmt::Write;

/// The CSV's columns, in order.
pub const CSV_COLUMNS: [&str; 15] = [
    "run",
    "setup",
    "workload",
    "workers",
    "gil",
    "task",
    "lane",
    "start_ms",
    "end_ms",
    "duration_ms",
    "running_ms",
    "gil_wait_ms",
    "io_ms",
    "status",
    "checked",
];

/// One row per task, times in ms from the run's start with µs precision. Segment
/// totals are empty when none were recorded (the main thread records none).
#[must_use]
pub fn csv(result: &RunResult) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for task in &result.tasks {
        let total = |state| {
            if task.segments.is_empty() {
                String::new()
            } else {
                format!("{:.3}", task.time_in(state))
            }
        };
        let status = match task.status {
            TaskStatus::Ok => "ok",
            TaskStatus::Crashed => "crashed",
            TaskStatus::Lost => "lost",
            TaskStatus::Timeout => "timeout",
        };
        let checked = task.checked.map_or(String::new(), |c| c.to_string());
        // Every field is a number or a fixed word: nothing needs quoting.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{},{},{},{status},{checked}",
            result.run,
            result.variant().key(),
            result.config.workload.key(),
            result.config.workers,
            result.config.gil,
            task.id,
            task.lane,
            task.start_ms,
            task.end_ms,
            task.duration_ms(),
            total(SegmentState::Running),
            total(SegmentState::GilWait),
            total(SegmentState::Io),
        );
    }
    out
}

/// The download's name: `threadlab-run3-threads-io.csv`.
#[must_use]
pub fn file_name(result: &RunResult, extension: &str) -> String {
    format!("threadlab-run{}-{}-{}.{extension}", result.run, result.variant().key(), result.config.workload.key())
}

/// The caption's lines for a drawing `max` px wide, `width` measuring a line as drawn:
/// its parts (separated by ` · `) as many to a line as fit, a part too wide for a line of
/// its own broken at its spaces. A single word wider than `max` stays whole (the caller
/// scales the text down).
pub fn wrap_caption(caption: &str, max: f64, width: impl Fn(&str) -> f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for part in caption.split(" · ") {
        let joined = if line.is_empty() { part.to_owned() } else { format!("{line} · {part}") };
        if width(&joined) <= max {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if width(part) <= max {
            line = part.to_owned();
            continue;
        }
        for word in part.split(' ') {
            let joined = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if line.is_empty() || width(&joined) <= max {
                line = joined;
            } else {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{Engine, RunConfig, Workload};
    use crate::core::gil::Segment;
    use crate::core::timeline::TaskRecord;

    fn record(id: u32, lane: u32, start_ms: f64, end_ms: f64, segments: Vec<Segment>) -> TaskRecord {
        TaskRecord {
            id,
            lane,
            start_ms,
            end_ms,
            result: None,
            checked: Some(true),
            segments,
            segments_dropped: 0,
            status: TaskStatus::Ok,
        }
    }

    fn result(tasks: Vec<TaskRecord>) -> RunResult {
        let config = RunConfig {
            engine: Engine::Threads,
            workload: Workload::Cpu,
            tasks: 2,
            workers: 2,
            gil: true,
            ..RunConfig::notebook_preset()
        };
        RunResult::new(4, config, 2, 0.0, 0.0, tasks)
    }

    #[test]
    fn one_row_per_task_with_its_segment_totals() {
        let seg = |state, start_ms, end_ms| Segment { state, start_ms, end_ms };
        let a = record(
            0,
            0,
            0.0,
            10.0,
            vec![
                seg(SegmentState::Running, 0.0, 5.0),
                seg(SegmentState::GilWait, 5.0, 8.0),
                seg(SegmentState::Running, 8.0, 10.0),
            ],
        );
        let b = record(
            1,
            1,
            0.5,
            10.25,
            vec![seg(SegmentState::GilWait, 0.5, 5.0), seg(SegmentState::Running, 5.0, 10.25)],
        );
        let csv = csv(&result(vec![a, b]));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].split(',').count(), CSV_COLUMNS.len());
        assert_eq!(lines[1], "4,threads,cpu,2,true,0,0,0.000,10.000,10.000,7.000,3.000,0.000,ok,true");
        assert_eq!(lines[2], "4,threads,cpu,2,true,1,1,0.500,10.250,9.750,5.250,4.500,0.000,ok,true");
        assert!(lines.iter().all(|l| l.split(',').count() == CSV_COLUMNS.len()));
    }

    #[test]
    fn no_segments_leave_the_totals_empty() {
        let csv = csv(&result(vec![record(0, 0, 1.0, 2.0, Vec::new())]));
        assert!(csv.lines().nth(1).unwrap().contains(",1.000,,,,ok,"), "{csv}");
    }

    #[test]
    fn names_say_run_setup_and_workload() {
        assert_eq!(file_name(&result(Vec::new()), "svg"), "threadlab-run4-threads-cpu.svg");
    }

    /// Seven pixels a character, about 14 px text.
    #[allow(clippy::cast_precision_loss)]
    fn px(s: &str) -> f64 {
        s.chars().count() as f64 * 7.0
    }

    #[test]
    fn a_caption_wraps_at_its_parts_to_fit_any_width() {
        let caption = "ThreadLab · Processes · 3 × I/O-bound · 120 ms wait · wall 126.4 ms · 4 cores";
        assert_eq!(wrap_caption(caption, 2000.0, px), [caption]);
        let lines = wrap_caption(caption, 250.0, px);
        assert_eq!(lines, ["ThreadLab · Processes", "3 × I/O-bound · 120 ms wait", "wall 126.4 ms · 4 cores"]);
        // Narrower than a part: that part breaks at its spaces; every line fits.
        let lines = wrap_caption(caption, 100.0, px);
        assert!(lines.iter().all(|l| px(l) <= 100.0), "{lines:?}");
        assert!(lines.contains(&"120 ms wait".to_owned()), "{lines:?}");
        assert_eq!(
            lines.join(" ").replace(" · ", " ").split(' ').count(),
            caption.replace(" · ", " ").split(' ').count()
        );
        // A word wider than the line stays whole, on its own line.
        assert_eq!(wrap_caption("ThreadLab · x", 20.0, px), ["ThreadLab", "x"]);
        assert_eq!(wrap_caption("", 20.0, px), [""]);
    }
}
