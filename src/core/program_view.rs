//! How the Code view shows a program's run (a [`ProgramResult`], or one in progress): the
//! terminal's lines, each tagged with who wrote it, and the timeline's lanes, in order,
//! labelled, with what each thread did. The page only draws what this works out.

use crate::core::layout::{axis_label, axis_ticks};
use crate::core::program::{Lane, LaneKind, LaneSegment, LaneState, OutputChunk, ProgramResult, Stream};
use crate::core::timeline::format_ms;
use std::fmt::Write;

/// How often the Code view samples a running program's live board, in ms.
pub const LIVE_SAMPLE_MS: u32 = 100;

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
        let mut of = lanes.iter().filter(|l| l.process == pid);
        match lanes.iter().find(|l| l.process == pid && l.kind != LaneKind::Thread) {
            Some(l) => first_start(l),
            None => of.try_fold(f64::INFINITY, |t, l| Some(t.min(first_start(l)))).unwrap_or(f64::INFINITY),
        }
    };
    let key =
        |l: &Lane| (Some(l.process) != main_pid, process_start(l.process), l.process, l.kind == LaneKind::Thread, l.id);
    let before = |a: &Lane, b: &Lane| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.cmp(&kb.2))
            .then(ka.3.cmp(&kb.3))
            .then(ka.4.cmp(&kb.4))
            .is_lt()
    };
    // An insertion sort: a program has a few dozen lanes, and a library sort would ship a
    // copy of itself for this one key (wasm size).
    let mut order: Vec<usize> = Vec::with_capacity(lanes.len());
    for i in 0..lanes.len() {
        let at = order.iter().position(|&j| before(&lanes[i], &lanes[j])).unwrap_or(order.len());
        order.insert(at, i);
    }
    order
}

/// A lane's name in at most `most` characters, for a tag or the timeline's gutter: whole if it
/// fits, else without the target CPython adds ("Thread-1 (fetch_data)" → "Thread-1"), else cut.
#[must_use]
pub fn short_label(name: &str, most: usize) -> String {
    let fits = |s: &str| s.chars().count() <= most;
    if fits(name) {
        return name.to_owned();
    }
    if let Some((head, _)) = name.split_once(" (") {
        if fits(head) && !head.is_empty() {
            return head.to_owned();
        }
    }
    let mut cut: String = name.chars().take(most.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
    summary_as(result, true)
}

/// [`summary`] of a run with the GIL (`gil`) or free-threaded, which has no hand-overs to count.
#[must_use]
pub fn summary_as(result: &ProgramResult, gil: bool) -> String {
    let lanes = &result.lanes;
    let threads = lanes.iter().filter(|l| l.kind == LaneKind::Thread).count();
    let mut pids: Vec<u32> = Vec::new();
    for l in lanes {
        if !pids.contains(&l.process) {
            pids.push(l.process);
        }
    }
    let children = pids.len().saturating_sub(1);
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![format!("wall time {}", format_ms(result.wall_ms))];
    if !lanes.is_empty() {
        parts.push(format!(
            "{}, {} and {}",
            plural(lanes.len(), "lane", "lanes"),
            plural(threads, "thread", "threads"),
            plural(children, "child process", "child processes")
        ));
    }
    parts.push(if gil {
        plural(usize::try_from(result.gil_switches).unwrap_or(usize::MAX), "GIL hand-over", "GIL hand-overs")
    } else {
        "free-threaded (no GIL)".to_owned()
    });
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
    lanes.iter().find(|l| l.id == lane).map_or_else(|| format!("lane {lane} of process {pid}"), |l| l.name.clone())
}

/// `s` safe in HTML text and attribute values (program output and thread names are the
/// student's: `<b>` must show as typed).
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// The Code view's output and timeline are written here as markup, not built as yew nodes:
// the same page for a fraction of the shipped wasm (each `html!` element is code), and tested
// natively. Everything from the program goes through `escape`.

/// The terminal's lines as HTML: each line tagged with who wrote it (its name, shortened; in
/// full on hover, with the process and the time of each part).
#[must_use]
pub fn terminal_html(output: &[OutputChunk], lanes: &[Lane]) -> String {
    let lines = terminal_lines(output);
    if lines.is_empty() {
        return "<span class=\"muted\">Nothing printed yet.</span>".to_owned();
    }
    let mut html = String::new();
    for line in &lines {
        let stderr = line.iter().any(|p| p.stderr);
        let who = line.first().map(|p| writer(lanes, p.lane, p.pid)).unwrap_or_default();
        let _ = write!(
            html,
            "<div class=\"term-line{}\" data-testid=\"code-line\" data-lane=\"{}\" data-stream=\"{}\"><span class=\"who\" title=\"{}\">{}<span class=\"visually-hidden\">{}</span></span><span class=\"text\">",
            if stderr { " stderr" } else { "" },
            line.first().map_or(0, |p| p.lane),
            if stderr { "stderr" } else { "stdout" },
            escape(&who),
            escape(&short_label(&who, 12)),
            if stderr { " (error output): " } else { ": " },
        );
        for p in line {
            let _ = write!(
                html,
                "<span title=\"{}, process {}, at {}{}\">{}</span>",
                escape(&writer(lanes, p.lane, p.pid)),
                p.pid,
                format_ms(p.t_ms),
                if p.stderr { ", stderr" } else { "" },
                escape(&p.text)
            );
        }
        html.push_str("</span></div>");
    }
    html
}

const GUTTER: f64 = 104.0;
const RIGHT: f64 = 14.0;
const LANE: f64 = 26.0;
const GAP: f64 = 8.0;
const AXIS: f64 = 24.0;

/// The program's timeline, `width` CSS pixels wide: its legend, wall time and GIL hand-overs,
/// one lane per thread and per process drawn as the lab draws its runs, and the same as a
/// table (what a screen reader reads, and the exact figures).
#[must_use]
pub fn timeline_html(r: &ProgramResult, width: f64) -> String {
    timeline(r, width, false, true)
}

/// [`timeline_html`] of a run with the GIL (`gil`) or free-threaded: without a GIL, running
/// is not holding it, nobody waits for it and nothing is handed over.
#[must_use]
pub fn timeline_html_as(r: &ProgramResult, width: f64, gil: bool) -> String {
    timeline(r, width, false, gil)
}

/// [`state_words`] of a run with the GIL or free-threaded.
fn words(state: LaneState, gil: bool) -> &'static str {
    if !gil && state == LaneState::Running {
        return "running";
    }
    state_words(state)
}

/// The timeline of a program still running: its lanes so far as [`LiveLanes`] sampled them,
/// `wall_ms` after its start, drawn as [`timeline_html`] draws a finished run's, said to be
/// sampled (the exact one replaces it at the end).
#[must_use]
pub fn live_timeline_html(lanes: &[Lane], wall_ms: f64, width: f64) -> String {
    let r = ProgramResult { lanes: lanes.to_vec(), wall_ms, ..ProgramResult::default() };
    timeline(&r, width, true, true)
}

/// A running program's lanes, from samples of its live board (`core::runtime::board`): a
/// thread seen in the same state as at the previous sample has its segment grown to now; a
/// change starts a segment at the sample that saw it. So a stretch shorter than the
/// sampling period may be missed, which the page says; the run's own lanes are exact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveLanes {
    t0_ms: f64,
    /// The previous sample's time (relative to `t0_ms`).
    last_ms: Option<f64>,
    lanes: Vec<Lane>,
}

impl LiveLanes {
    /// Lanes for a program started at `t0_ms` on the clock of the samples.
    #[must_use]
    pub fn new(t0_ms: f64) -> LiveLanes {
        LiveLanes { t0_ms, last_ms: None, lanes: Vec::new() }
    }

    /// What the board showed at `now_ms`: each thread with its process's pid.
    pub fn sample(&mut self, now_ms: f64, threads: &[(u32, crate::core::runtime::board::LiveThread)]) {
        let now = (now_ms - self.t0_ms).max(0.0);
        for (pid, t) in threads {
            let Some(state) = t.state else { continue };
            let i = match self.lanes.iter().position(|l| l.id == t.lane && l.process == *pid) {
                Some(i) => i,
                None => {
                    self.lanes.push(Lane {
                        id: t.lane,
                        kind: t.kind,
                        name: t.name.clone(),
                        process: *pid,
                        segments: Vec::new(),
                    });
                    self.lanes.len() - 1
                }
            };
            let segments = &mut self.lanes[i].segments;
            // Seen at the previous sample too: it went on (or changed) in between.
            let went_on = segments.last().filter(|last| Some(last.end_ms) == self.last_ms).copied();
            match went_on {
                Some(last) if last.state == state => {
                    if let Some(l) = segments.last_mut() {
                        l.end_ms = now;
                    }
                }
                Some(last) => segments.push(LaneSegment { state, start_ms: last.end_ms, end_ms: now }),
                None => segments.push(LaneSegment { state, start_ms: now, end_ms: now }),
            }
        }
        self.last_ms = Some(now);
    }

    /// When the program started, on the samples' clock.
    #[must_use]
    pub fn t0_ms(&self) -> f64 {
        self.t0_ms
    }

    #[must_use]
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }
}

fn timeline(r: &ProgramResult, width: f64, live: bool, gil: bool) -> String {
    let order = lane_order(&r.lanes);
    let width = width.max(240.0).round();
    let plot = width - GUTTER - RIGHT;
    let last_end = r.lanes.iter().filter_map(|l| l.segments.last()).fold(1.0, |m, s| s.end_ms.max(m));
    let scale = r.wall_ms.max(last_end);
    let x = |ms: f64| GUTTER + (ms / scale).clamp(0.0, 1.0) * plot;
    #[allow(clippy::cast_precision_loss)]
    let axis_y = order.len().max(1) as f64 * (LANE + GAP);
    let height = axis_y + AXIS;
    let span = |l: &Lane| (l.segments.first().map_or(0.0, |s| s.start_ms), l.segments.last().map_or(0.0, |s| s.end_ms));

    let mut h = String::from("<div class=\"card-head\"><h3 class=\"small-title\">Timeline</h3>");
    if !order.is_empty() {
        h.push_str("<span class=\"legend\" aria-label=\"Legend\">");
        for state in STATES.into_iter().filter(|s| gil || *s != LaneState::GilWait) {
            // The hatching of "blocked" is defined once, here; the lanes use it too.
            let defs = if state == LaneState::Blocked {
                "<defs><pattern id=\"hatch-blocked\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
                 patternTransform=\"rotate(45)\"><line class=\"hatch\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\"/></pattern></defs>"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<span class=\"key\"><svg width=\"22\" height=\"12\" aria-hidden=\"true\">{defs}<rect class=\"seg-{}\" width=\"22\" height=\"12\" rx=\"3\"/></svg>{}</span>",
                state_key(state),
                escape(words(state, gil))
            );
        }
        h.push_str("</span>");
    }
    if live {
        let _ = write!(
            h,
            "</div><p class=\"stats\" data-testid=\"code-live-stats\"><span class=\"stat\"><span class=\"k\">running for</span><span class=\"v\">{}</span></span>\
             <span class=\"hint\">Live: sampled every {LIVE_SAMPLE_MS} ms (shorter stretches may not show); the exact timeline replaces it when the program ends.</span></p>",
            format_ms(r.wall_ms)
        );
    } else {
        write_stats(&mut h, r, gil);
    }
    if order.is_empty() {
        h.push_str(if live {
            "<p class=\"empty\">No thread has run yet.</p>"
        } else {
            "<p class=\"empty\">No thread reported what it did.</p>"
        });
        return h;
    }
    let label = if live {
        "Timeline of the program so far, sampled".to_owned()
    } else {
        format!("Timeline of the program: {}", summary_as(r, gil))
    };
    let _ = write!(
        h,
        "<svg class=\"lanes\" viewBox=\"0 0 {width} {height}\" role=\"img\" preserveAspectRatio=\"none\" style=\"height: {height}px\" aria-label=\"{}\" data-live=\"{live}\">\
         <g class=\"grid\">",
        escape(&label)
    );

    for t in axis_ticks(scale, plot) {
        let anchor = if x(t) > width - RIGHT - 24.0 { "end" } else { "middle" };
        let _ = write!(
            h,
            "<g class=\"tick\"><line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"0\" y2=\"{1}\"/><text x=\"{0:.1}\" y=\"{2}\" text-anchor=\"{anchor}\">{3}</text></g>",
            x(t),
            axis_y + 4.0,
            axis_y + 17.0,
            axis_label(t, scale)
        );
    }
    h.push_str("</g>");
    for (row, &i) in order.iter().enumerate() {
        let lane = &r.lanes[i];
        #[allow(clippy::cast_precision_loss)]
        let y = row as f64 * (LANE + GAP) + GAP / 2.0;
        let (start, end) = span(lane);
        let mut title = format!("{}: {} → {}", describe(lane), format_ms(start), format_ms(end));
        for state in STATES {
            let t = time_in(&lane.segments, state);
            if t > 0.0 {
                let _ = write!(title, "\n{}: {}", words(state, gil), format_ms(t));
            }
        }
        let _ = write!(
            h,
            "<g class=\"lane engine-{}\" data-testid=\"code-lane\" data-kind=\"{}\" data-name=\"{}\" data-process=\"{}\" data-start=\"{start:.3}\" data-end=\"{end:.3}\"><title>{}</title>\
             <text class=\"lane-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            kind_key(lane.kind),
            kind_name(lane.kind),
            escape(&lane.name),
            lane.process,
            escape(&title),
            GUTTER - 8.0,
            y + LANE / 2.0 + 4.0,
            escape(&short_label(&lane.name, 13))
        );
        for s in coalesce(&lane.segments, scale / plot) {
            let (x0, x1) = (x(s.start_ms), x(s.end_ms));
            let _ = write!(
                h,
                "<rect class=\"seg seg-{0}\" data-state=\"{0}\" x=\"{1:.1}\" y=\"{y}\" width=\"{2:.1}\" height=\"{LANE}\"/>",
                state_key(s.state),
                x0,
                (x1 - x0).max(0.5)
            );
        }
        h.push_str("</g>");
    }
    let _ = write!(
        h,
        "</svg><details class=\"as-table\" data-testid=\"code-table\"><summary>Table of the {} lanes</summary>\
         <div class=\"table-scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Lanes of the program\"><table><thead><tr>\
         <th scope=\"col\">Lane</th><th scope=\"col\">Kind</th><th scope=\"col\">Process</th><th scope=\"col\">Start</th><th scope=\"col\">End</th>",
        order.len()
    );
    for state in STATES.into_iter().filter(|s| gil || *s != LaneState::GilWait) {
        let _ = write!(h, "<th scope=\"col\">{}</th>", escape(words(state, gil)));
    }
    h.push_str("</tr></thead><tbody>");
    for &i in &order {
        let l = &r.lanes[i];
        let (start, end) = span(l);
        let _ = write!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            escape(&l.name),
            kind_name(l.kind),
            l.process,
            format_ms(start),
            format_ms(end)
        );
        for state in STATES.into_iter().filter(|s| gil || *s != LaneState::GilWait) {
            let _ = write!(h, "<td>{}</td>", format_ms(time_in(&l.segments, state)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div></details>");
    h
}

/// A finished run's figures above its timeline.
fn write_stats(h: &mut String, r: &ProgramResult, gil: bool) {
    let (k, v) =
        if gil { ("GIL hand-overs", r.gil_switches.to_string()) } else { ("GIL", "off (free-threaded)".to_owned()) };
    let _ = write!(
        h,
        "</div><p class=\"stats\"><span class=\"stat\"><span class=\"k\">wall</span><span class=\"v\" data-testid=\"code-wall\">{}</span></span>\
         <span class=\"stat\"><span class=\"k\">{k}</span><span class=\"v\" data-testid=\"code-gil-switches\">{v}</span></span>\
         <span class=\"stat\"><span class=\"k\">exit code</span><span class=\"v\" data-testid=\"code-exit\">{}</span></span></p>",
        format_ms(r.wall_ms),
        r.exit_code
    );
}

/// A lane's kind in a word, as the API writes it.
#[must_use]
pub fn kind_name(kind: LaneKind) -> &'static str {
    match kind {
        LaneKind::Main => "main",
        LaneKind::Thread => "thread",
        LaneKind::Process => "process",
    }
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
        assert_eq!(short_label("Thread-1 (fetch_data)", 13), "Thread-1");
        assert_eq!(short_label("Thread-1 (f)", 13), "Thread-1 (f)");
        assert_eq!(short_label("SpawnPoolWorker-12", 13), "SpawnPoolWor…");
        assert_eq!(describe(&result.lanes[1]), "Thread-1 (fetch_data), a thread of process 1");
        assert_eq!(writer(&result.lanes, 2, 2), "Process-1");
        assert_eq!(writer(&result.lanes, 9, 2), "lane 9 of process 2");
        let nothing = ProgramResult { wall_ms: 2.5, ..ProgramResult::default() };
        assert_eq!(summary(&nothing), "wall time 2.5 ms; 0 GIL hand-overs; exit code 0");
        assert_eq!(summary_as(&nothing, false), "wall time 2.5 ms; free-threaded (no GIL); exit code 0");
        let html = timeline_html(&nothing, 600.0);
        assert!(
            html.ends_with("<p class=\"empty\">No thread reported what it did.</p>") && !html.contains("legend"),
            "{html}"
        );
    }

    #[test]
    fn the_terminal_is_markup_with_every_writer_named_and_the_output_escaped() {
        let lanes = vec![lane(1, LaneKind::Thread, "Thread-1 (fetch_data)", 7, 0.0)];
        let html = terminal_html(
            &[chunk(1, Stream::Stdout, "<b>bold?</b> & \"quotes\"\n"), chunk(4, Stream::Stderr, "oops\n")],
            &lanes,
        );
        assert_eq!(html.matches("data-testid=\"code-line\"").count(), 2);
        assert!(html.contains("&lt;b&gt;bold?&lt;/b&gt; &amp; &quot;quotes&quot;"), "{html}");
        assert!(!html.contains("<b>"));
        assert!(
            html.contains("title=\"Thread-1 (fetch_data)\">Thread-1<span class=\"visually-hidden\">: </span>"),
            "{html}"
        );
        assert!(
            html.contains(
                "class=\"term-line stderr\" data-testid=\"code-line\" data-lane=\"4\" data-stream=\"stderr\""
            ),
            "{html}"
        );
        assert!(
            html.contains(
                "title=\"lane 4 of process 7\">lane 4 of p…<span class=\"visually-hidden\"> (error output): </span>"
            ),
            "{html}"
        );
        assert_eq!(terminal_html(&[], &lanes), "<span class=\"muted\">Nothing printed yet.</span>");
    }

    #[test]
    fn the_timeline_draws_each_lane_in_order_on_one_axis_with_its_table() {
        use LaneState::{Blocked, Io, Running};
        let mut main = lane(0, LaneKind::Main, "MainThread", 1, 0.0);
        main.segments = vec![seg(Running, 0.0, 1.0), seg(Blocked, 1.0, 3000.0), seg(Running, 3000.0, 3010.0)];
        let mut t1 = lane(1, LaneKind::Thread, "<Thread-1>", 1, 1.0);
        t1.segments = vec![seg(Running, 1.0, 2.0), seg(Io, 2.0, 3000.0)];
        let result =
            ProgramResult { wall_ms: 3010.0, gil_switches: 3, lanes: vec![t1, main], ..ProgramResult::default() };
        let html = timeline_html(&result, 600.0);
        // The main thread first, then the thread; names escaped everywhere.
        let (m, t) =
            (html.find("data-name=\"MainThread\"").unwrap(), html.find("data-name=\"&lt;Thread-1&gt;\"").unwrap());
        assert!(m < t);
        assert!(!html.contains("<Thread-1>"));
        assert_eq!(html.matches("data-testid=\"code-lane\"").count(), 2);
        assert_eq!(html.matches("class=\"seg seg-").count(), 5);
        assert!(html.contains("data-state=\"blocked\"") && html.contains("data-state=\"io\""));
        assert_eq!(html.matches("id=\"hatch-blocked\"").count(), 1, "the hatching blocked lanes are filled with");
        assert!(html.contains("viewBox=\"0 0 600 92\""), "2 lanes of 34 px and the axis: {html}");
        // The axis ends at the wall time, at the right edge of the plot.
        assert!(
            html.contains("<rect class=\"seg seg-running\" data-state=\"running\" x=\"584.4\" y=\"4\" width=\"1.6\""),
            "{html}"
        );
        assert!(html.contains("data-testid=\"code-gil-switches\">3<"));
        assert!(html.contains("data-testid=\"code-wall\">3.01 s<"));
        assert!(html.contains("aria-label=\"Timeline of the program: wall time 3.01 s; 2 lanes, 1 thread and 0 child processes; 3 GIL hand-overs; exit code 0\""), "{html}");
        assert!(html.contains("<th scope=\"row\">MainThread</th><td>main</td><td>1</td><td>0.0 ms</td><td>3.01 s</td><td>11 ms</td><td>0.0 ms</td><td>0.0 ms</td><td>3.00 s</td>"), "{html}");
        assert!(html.contains("<text x=\"") && html.contains(">3 s</text>"), "ticks in seconds: {html}");
    }

    #[test]
    fn a_free_threaded_timeline_says_there_is_no_gil() {
        let mut t1 = lane(1, LaneKind::Thread, "Thread-1", 1, 1.0);
        t1.segments = vec![seg(LaneState::Running, 1.0, 20.0)];
        let result = ProgramResult { wall_ms: 20.0, lanes: vec![t1], ..ProgramResult::default() };
        let with_gil = timeline_html(&result, 600.0);
        assert!(with_gil.contains("running (holds the GIL)") && with_gil.contains("waiting for the GIL"));
        let free = timeline_html_as(&result, 600.0, false);
        assert!(
            !free.contains("holds the GIL")
                && !free.contains("waiting for the GIL")
                && !free.contains("GIL hand-overs"),
            "{free}"
        );
        assert!(free.contains("data-testid=\"code-gil-switches\">off (free-threaded)<"), "{free}");
        assert!(free.contains("free-threaded (no GIL)"), "the timeline's label says so: {free}");
    }

    /// A real run of an example on the VM, natively (each child process its own interpreter
    /// on a std thread): what the terminal and the timeline make of it.
    #[test]
    #[cfg(not(target_arch = "wasm32"))] // The VM's native host: std threads.
    fn a_real_run_of_the_spawn_example_shows_who_printed_what() {
        use crate::core::program::ProgramOptions;
        use crate::core::py::vm::{native::NativeHost, program::run_program};
        let host = std::sync::Arc::new(NativeHost::default());
        let example = crate::core::programs::EXAMPLES.iter().find(|e| e.key == "spawn_top_level").unwrap();
        let mut r = run_program(example.source, &ProgramOptions::default(), host.clone());
        if r.output.is_empty() {
            r.output = host.chunks.lock().unwrap().clone();
        }
        let lines = terminal_lines(&r.output);
        let text: Vec<String> = lines.iter().map(|l| l.iter().map(|p| p.text.as_str()).collect()).collect();
        assert_eq!(
            text,
            [
                "Top level runs in MainProcess as __main__",
                "Top level runs in Process-1 as __mp_main__",
                "Hello from Process-1 for the main program",
                "The child's exit code: 0"
            ]
        );
        // The child's lines are the child's: another process than the main program's.
        let pids: Vec<u32> = lines.iter().map(|l| l[0].pid).collect();
        assert!(pids[0] == pids[3] && pids[1] == pids[2] && pids[0] != pids[1], "{pids:?}");
        let tags: Vec<String> = lines.iter().map(|l| writer(&r.lanes, l[0].lane, l[0].pid)).collect();
        assert_eq!(tags, ["MainThread", "Process-1", "Process-1", "MainThread"]);
        let html = timeline_html(&r, 800.0);
        let (main, child) =
            (html.find("data-name=\"MainThread\"").unwrap(), html.find("data-name=\"Process-1\"").unwrap());
        assert!(main < child, "the main program's lane first: {html}");
        assert!(html.contains("data-kind=\"process\" data-name=\"Process-1\""), "{html}");
    }
}

#[cfg(test)]
mod live_tests {
    use super::*;
    use crate::core::runtime::board::LiveThread;

    fn t(lane: u32, kind: LaneKind, state: Option<LaneState>) -> LiveThread {
        LiveThread { lane, kind, name: format!("t{lane}"), state, line: 1 }
    }

    #[test]
    fn samples_grow_segments_and_a_change_starts_one_at_the_sample_that_saw_it() {
        let mut live = LiveLanes::new(1000.0);
        live.sample(1000.0, &[(0, t(0, LaneKind::Main, Some(LaneState::Running))), (0, t(1, LaneKind::Thread, None))]);
        live.sample(
            1100.0,
            &[
                (0, t(0, LaneKind::Main, Some(LaneState::Running))),
                (0, t(1, LaneKind::Thread, Some(LaneState::GilWait))),
            ],
        );
        live.sample(
            1200.0,
            &[
                (0, t(0, LaneKind::Main, Some(LaneState::Blocked))),
                (0, t(1, LaneKind::Thread, Some(LaneState::Running))),
            ],
        );
        // Thread 1 ended (left the board); a child's main thread appears.
        live.sample(
            1300.0,
            &[
                (0, t(0, LaneKind::Main, Some(LaneState::Blocked))),
                (2, t(5, LaneKind::Process, Some(LaneState::Running))),
            ],
        );
        // Thread 1 back on the board after a gap: a new segment, not one across the gap.
        live.sample(1400.0, &[(0, t(1, LaneKind::Thread, Some(LaneState::Running)))]);
        let seg = |s, a, b| LaneSegment { state: s, start_ms: a, end_ms: b };
        let lanes = live.lanes();
        assert_eq!(lanes.len(), 3);
        assert_eq!(lanes[0].segments, [seg(LaneState::Running, 0.0, 100.0), seg(LaneState::Blocked, 100.0, 300.0)]);
        assert_eq!(
            lanes[1].segments,
            [
                seg(LaneState::GilWait, 100.0, 100.0),
                seg(LaneState::Running, 100.0, 200.0),
                seg(LaneState::Running, 400.0, 400.0)
            ]
        );
        assert_eq!((lanes[2].kind, lanes[2].process), (LaneKind::Process, 2));
        let html = live_timeline_html(lanes, 400.0, 600.0);
        assert!(html.contains("data-live=\"true\"") && html.contains("sampled every 100 ms"), "{html}");
        assert_eq!(html.matches("data-testid=\"code-lane\"").count(), 3);
        assert!(!html.contains("code-exit"), "no exit code before the end");
        assert!(live_timeline_html(&[], 5.0, 600.0).contains("No thread has run yet"));
    }
}
