//! How the Code view shows a program's run (a [`ProgramResult`], or one in progress): the
//! terminal's lines, each tagged with who wrote it, and the timeline's lanes, in order,
//! labelled, with what each thread did. The page only draws what this works out.

use crate::core::program::{Lane, LaneKind, LaneSegment, LaneState, OutputChunk, ProgramResult, Stream};
use crate::core::timeline::format_ms;

/// The states, in the order the legend and the table list them.
pub const STATES: [LaneState; 4] = [LaneState::Running, LaneState::GilWait, LaneState::Io, LaneState::Blocked];

/// The state as a CSS class and data attribute take it (the lab's for the first three).
#[must_use]
pub fn state_key(state: LaneState) -> &'static str {
    match state {
        LaneState::Running => "running",
        LaneState::GilWait => "gil_wait",
        LaneState::Io => "io",
        LaneState::Blocked => "blocked",
    }
}

/// The state in words.
#[must_use]
pub fn state_words(state: LaneState) -> &'static str {
    match state {
        LaneState::Running => "running (holds the GIL)",
        LaneState::GilWait => "waiting for the GIL",
        LaneState::Io => "waiting on I/O (sleep)",
        LaneState::Blocked => "blocked (lock, join, queue…)",
    }
}

/// The engine colour a lane is drawn in: the lab's main thread, threads and processes.
#[must_use]
pub fn kind_key(kind: LaneKind) -> &'static str {
    match kind {
        LaneKind::Main => "main",
        LaneKind::Thread => "threads",
        LaneKind::Process => "processes",
    }
}

/// The order lanes are drawn in: the main process first, its main thread then its threads
/// by id; then each child process, in the order it started, its main thread first.
#[must_use]
pub fn lane_order(lanes: &[Lane]) -> Vec<usize> {
    let first_start = |l: &Lane| l.segments.first().map_or(f64::INFINITY, |s| s.start_ms);
    let main_pid = lanes.iter().find(|l| l.kind == LaneKind::Main).map(|l| l.process);
    // Each process's first appearance: its main thread's start, else its earliest lane's.
    let process_start = |pid: u32| {
        let of = || lanes.iter().filter(move |l| l.process == pid);
        of().find(|l| l.kind != LaneKind::Thread)
            .map_or_else(|| of().map(first_start).fold(f64::INFINITY, f64::min), first_start)
    };
    let mut order: Vec<usize> = (0..lanes.len()).collect();
    order.sort_by(|&a, &b| {
        let (la, lb) = (&lanes[a], &lanes[b]);
        let key = |l: &Lane| (Some(l.process) != main_pid, process_start(l.process));
        let (ka, kb) = (key(la), key(lb));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(la.process.cmp(&lb.process))
            .then((la.kind == LaneKind::Thread).cmp(&(lb.kind == LaneKind::Thread)))
            .then(la.id.cmp(&lb.id))
    });
    order
}

/// A lane's label at the left of the timeline: its name, cut to fit the gutter.
#[must_use]
pub fn short_label(name: &str) -> String {
    const MOST: usize = 13;
    if name.chars().count() <= MOST {
        name.to_owned()
    } else {
        let mut cut: String = name.chars().take(MOST - 1).collect();
        cut.push('…');
        cut
    }
}

/// A lane in a sentence: "Thread-1 (fetch_data), a thread of process 4242".
#[must_use]
pub fn describe(lane: &Lane) -> String {
    match lane.kind {
        LaneKind::Main => format!("{}, the main thread of process {}", lane.name, lane.process),
        LaneKind::Thread => format!("{}, a thread of process {}", lane.name, lane.process),
        LaneKind::Process => format!("{}, the main thread of child process {}", lane.name, lane.process),
    }
}

/// How long `segments` spent in `state`, in ms.
#[must_use]
pub fn time_in(segments: &[LaneSegment], state: LaneState) -> f64 {
    segments.iter().filter(|s| s.state == state).fold(0.0, |t, s| t + (s.end_ms - s.start_ms))
}

/// Segments narrower than `min_ms` (about a pixel) merged into one, drawn in the state that
/// took most of the merged time — as the lab's timeline does ([`crate::core::timeline::coalesce`]),
/// with the fourth state, blocked.
#[must_use]
pub fn coalesce(segments: &[LaneSegment], min_ms: f64) -> Vec<LaneSegment> {
    let mut out: Vec<LaneSegment> = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        let first = segments[i];
        let mut j = i;
        let mut time = [0.0f64; 4];
        while j < segments.len() && (j == i || segments[j].end_ms - first.start_ms <= min_ms) {
            let k = STATES.iter().position(|s| *s == segments[j].state).unwrap_or(0);
            time[k] += segments[j].end_ms - segments[j].start_ms;
            j += 1;
        }
        let most = (0..4).max_by(|a, b| time[*a].total_cmp(&time[*b])).unwrap_or(0);
        out.push(LaneSegment { state: STATES[most], start_ms: first.start_ms, end_ms: segments[j - 1].end_ms });
        i = j;
    }
    out
}

/// The run in one sentence, for a screen reader and the status line.
#[must_use]
pub fn summary(result: &ProgramResult) -> String {
    let lanes = &result.lanes;
    let threads = lanes.iter().filter(|l| l.kind == LaneKind::Thread).count();
    let mut pids: Vec<u32> = lanes.iter().map(|l| l.process).collect();
    pids.sort_unstable();
    pids.dedup();
    let children = pids.len().saturating_sub(1);
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![format!("wall time {}", format_ms(result.wall_ms))];
    parts.push(format!(
        "{}, {} and {}",
        plural(lanes.len(), "lane", "lanes"),
        plural(threads, "thread", "threads"),
        plural(children, "child process", "child processes")
    ));
    parts.push(plural(usize::try_from(result.gil_switches).unwrap_or(usize::MAX), "GIL hand-over", "GIL hand-overs"));
    parts.push(match (&result.error, result.exit_code) {
        (Some(e), _) => format!("ended with {}: {}", e.kind, e.message),
        (None, 0) => "exit code 0".to_owned(),
        (None, code) => format!("exit code {code}"),
    });
    parts.join("; ")
}

/// A piece of a terminal line and who wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    pub text: String,
    pub lane: u32,
    pub pid: u32,
    pub stderr: bool,
    pub t_ms: f64,
}

/// The terminal's lines: the writes in order, split at their newlines. A line is usually one
/// writer's; when threads write parts of one line, each part keeps its writer.
#[must_use]
pub fn terminal_lines(output: &[OutputChunk]) -> Vec<Vec<Piece>> {
    let mut lines = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    for chunk in output {
        let stderr = chunk.stream == Stream::Stderr;
        for (n, part) in chunk.text.split('\n').enumerate() {
            if n > 0 {
                lines.push(std::mem::take(&mut current));
            }
            if part.is_empty() {
                continue;
            }
            match current.last_mut() {
                Some(p) if p.lane == chunk.lane && p.pid == chunk.pid && p.stderr == stderr => p.text.push_str(part),
                _ => current.push(Piece {
                    text: part.to_owned(),
                    lane: chunk.lane,
                    pid: chunk.pid,
                    stderr,
                    t_ms: chunk.t_ms,
                }),
            }
        }
    }
    // A last line without its newline yet (`print(..., end="")`).
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Who wrote a piece, for its tag: the lane's name, or its number when the lane is unknown
/// (output can arrive before the lanes do).
#[must_use]
pub fn writer(lanes: &[Lane], lane: u32, pid: u32) -> String {
    lanes.iter().find(|l| l.id == lane).map_or_else(|| format!("thread {lane} of process {pid}"), |l| l.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(state: LaneState, start_ms: f64, end_ms: f64) -> LaneSegment {
        LaneSegment { state, start_ms, end_ms }
    }

    fn lane(id: u32, kind: LaneKind, name: &str, process: u32, start: f64) -> Lane {
        Lane { id, kind, name: name.to_owned(), process, segments: vec![seg(LaneState::Running, start, start + 1.0)] }
    }

    fn chunk(lane: u32, stream: Stream, text: &str) -> OutputChunk {
        OutputChunk { stream, pid: 7, lane, text: text.to_owned(), t_ms: f64::from(lane) }
    }

    #[test]
    fn lanes_go_main_process_first_then_children_in_the_order_they_started() {
        let lanes = vec![
            lane(5, LaneKind::Thread, "Thread-2", 100, 3.0),
            lane(9, LaneKind::Process, "Process-2", 300, 20.0),
            lane(1, LaneKind::Main, "MainThread", 100, 0.0),
            lane(8, LaneKind::Thread, "Thread-1", 300, 25.0),
            lane(7, LaneKind::Process, "Process-1", 200, 10.0),
            lane(4, LaneKind::Thread, "Thread-1", 100, 2.0),
        ];
        let names: Vec<(u32, &str)> =
            lane_order(&lanes).into_iter().map(|i| (lanes[i].process, lanes[i].name.as_str())).collect();
        assert_eq!(
            names,
            [
                (100, "MainThread"),
                (100, "Thread-1"),
                (100, "Thread-2"),
                (200, "Process-1"),
                (300, "Process-2"),
                (300, "Thread-1")
            ]
        );
        assert_eq!(lane_order(&[]), Vec::<usize>::new());
    }

    #[test]
    fn the_terminal_splits_writes_into_lines_and_keeps_each_writer() {
        use Stream::{Stderr, Stdout};
        let out = [
            chunk(1, Stdout, "Start fetching...\n"),
            chunk(2, Stdout, "Start fetching...\n"),
            chunk(1, Stdout, "a"),
            chunk(2, Stdout, "b"),
            chunk(1, Stdout, "c\nnext"),
            chunk(1, Stdout, " line\n\n"),
            chunk(2, Stderr, "Exception in thread Thread-2:\nValueError: boom\n"),
        ];
        let lines = terminal_lines(&out);
        let shown: Vec<Vec<(u32, bool, &str)>> =
            lines.iter().map(|l| l.iter().map(|p| (p.lane, p.stderr, p.text.as_str())).collect()).collect();
        assert_eq!(
            shown,
            vec![
                vec![(1, false, "Start fetching...")],
                vec![(2, false, "Start fetching...")],
                vec![(1, false, "a"), (2, false, "b"), (1, false, "c")],
                vec![(1, false, "next line")],
                vec![],
                vec![(2, true, "Exception in thread Thread-2:")],
                vec![(2, true, "ValueError: boom")],
            ]
        );
        assert!(terminal_lines(&[]).is_empty());
        assert_eq!(terminal_lines(&[chunk(1, Stdout, "no newline")]).len(), 1);
    }

    #[test]
    fn coalescing_keeps_the_span_and_the_main_state() {
        use LaneState::{Blocked, GilWait, Io, Running};
        let segments = [
            seg(Running, 0.0, 0.1),
            seg(GilWait, 0.1, 0.5),
            seg(Running, 0.5, 0.6),
            seg(Blocked, 0.6, 100.0),
            seg(Io, 100.0, 101.0),
        ];
        assert_eq!(
            coalesce(&segments, 1.0),
            vec![seg(GilWait, 0.0, 0.6), seg(Blocked, 0.6, 100.0), seg(Io, 100.0, 101.0)]
        );
        assert_eq!(coalesce(&segments, 0.01), segments.to_vec());
        assert!((time_in(&segments, Running) - 0.2).abs() < 1e-9);
    }

    #[test]
    fn the_summary_says_the_run_in_one_sentence() {
        let result = ProgramResult {
            wall_ms: 3012.0,
            gil_switches: 1,
            lanes: vec![
                lane(0, LaneKind::Main, "MainThread", 1, 0.0),
                lane(1, LaneKind::Thread, "Thread-1 (fetch_data)", 1, 1.0),
                lane(2, LaneKind::Process, "Process-1", 2, 1.0),
            ],
            ..ProgramResult::default()
        };
        assert_eq!(
            summary(&result),
            "wall time 3.01 s; 3 lanes, 1 thread and 1 child process; 1 GIL hand-over; exit code 0"
        );
        assert_eq!(short_label("Thread-1 (fetch_data)"), "Thread-1 (fe…");
        assert_eq!(describe(&result.lanes[1]), "Thread-1 (fetch_data), a thread of process 1");
        assert_eq!(writer(&result.lanes, 2, 2), "Process-1");
        assert_eq!(writer(&result.lanes, 9, 2), "thread 9 of process 2");
    }
}
