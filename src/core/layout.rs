//! What the page's layout works out for itself: how many time-axis ticks fit a timeline of a
//! given width, and the one-line summary shown on an experiment's folded settings.

use crate::core::config::{Engine, Workload};
use crate::core::timeline::ticks;

/// Room for one axis label ("10 s", "1500 ms" at 12 px) and the space before the next one.
pub const TICK_SPACING_PX: f64 = 90.0;

/// How many ticks to ask [`crate::core::timeline::ticks`] for on an axis `plot_px` CSS
/// pixels long: labels keep their size at every width, so a phone gets fewer of them.
#[must_use]
pub fn tick_count(plot_px: f64) -> usize {
    if !plot_px.is_finite() || plot_px <= 0.0 {
        return 2;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = (plot_px / TICK_SPACING_PX).round() as usize;
    n.clamp(2, 10)
}

/// The ticks of a time axis from 0 to `scale` ms drawn `plot_px` CSS pixels long: as many as
/// fit ([`tick_count`]), and never fewer than two (a lone "0" says nothing), which a round
/// step can cost: 405 ms in 2 ticks is a step of 500, past the end.
#[must_use]
pub fn axis_ticks(scale: f64, plot_px: f64) -> Vec<f64> {
    let first = tick_count(plot_px);
    (first..=first + 3).map(|n| ticks(scale, n)).find(|t| t.len() >= 2).unwrap_or_else(|| ticks(scale, first))
}

/// A tick's label: seconds on an axis of 2 s or more, else ms.
#[must_use]
pub fn axis_label(t: f64, scale: f64) -> String {
    if scale >= 2000.0 {
        format!("{} s", t / 1000.0)
    } else {
        format!("{t} ms")
    }
}

/// The experiment in one line, e.g. "Threads · I/O · 2 tasks × 3000 ms": what an embed shows
/// while its settings are folded. The values are the form's text as typed (possibly not yet
/// valid), so each is shortened rather than trusted.
#[must_use]
pub fn settings_summary(
    engine: Engine,
    gil: bool,
    workload: Workload,
    tasks: &str,
    size_ms: &str,
    bad: &str,
) -> String {
    let engine = match (engine, gil) {
        (Engine::Threads, false) => "Threads, no GIL",
        (engine, _) => engine.label(),
    };
    let tasks = short(tasks);
    let size = short(size_ms);
    let (kind, size) = match workload {
        Workload::Io => ("I/O", format!("{size} ms")),
        Workload::Cpu => ("CPU", format!("~{size} ms")),
    };
    let noun = if tasks == "1" { "task" } else { "tasks" };
    let mut line = format!("{engine} · {kind} · {tasks} {noun} × {size}");
    match bad {
        "panic" => line.push_str(" · one panics"),
        "hang" => line.push_str(" · one hangs"),
        _ => {}
    }
    line
}

/// A typed value, trimmed and cut to a few characters so that the summary stays one line.
fn short(value: &str) -> String {
    const MOST: usize = 8;
    let value = value.trim();
    if value.is_empty() {
        return "?".to_owned();
    }
    if value.chars().count() <= MOST {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(MOST - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_stay_readable_on_a_phone_and_fill_a_beamer() {
        // A 360 px phone leaves about 190 px of axis after the lane labels.
        assert_eq!(tick_count(190.0), 2);
        assert_eq!(tick_count(894.0), 10);
        assert_eq!(tick_count(600.0), 7);
        assert_eq!(tick_count(0.0), 2);
        assert_eq!(tick_count(f64::NAN), 2);
    }

    #[test]
    fn an_axis_has_two_ticks_or_more_never_crowded() {
        // A 360 px phone leaves about 190 px of axis; every run length from 100 ms to 640 s.
        for plot in [190.0, 208.0, 313.0, 500.0, 894.0, 1600.0] {
            let mut scale = 100.0;
            while scale < 640_000.0 {
                let t = axis_ticks(scale, plot);
                assert!(t.len() >= 2, "{plot} px, {scale} ms: {t:?}");
                assert!(*t.last().unwrap() <= scale + 1e-6, "{plot} px, {scale} ms: {t:?}");
                let gap = plot * (t[1] - t[0]) / scale;
                assert!(gap >= 60.0, "{plot} px, {scale} ms: ticks {gap:.0} px apart");
                scale *= 1.037;
            }
        }
        // The case seen on a phone: two 200 ms tasks on the main thread, 405 ms in all.
        assert_eq!(axis_ticks(405.0, 208.0), vec![0.0, 200.0, 400.0]);
    }

    #[test]
    fn the_summary_says_the_experiment_in_one_line() {
        assert_eq!(
            settings_summary(Engine::Threads, true, Workload::Io, "2", "3000", ""),
            "Threads · I/O · 2 tasks × 3000 ms"
        );
        assert_eq!(
            settings_summary(Engine::Threads, false, Workload::Cpu, "4", "500", "panic"),
            "Threads, no GIL · CPU · 4 tasks × ~500 ms · one panics"
        );
        assert_eq!(
            settings_summary(Engine::Main, false, Workload::Io, " 1 ", "200", "hang"),
            "Main thread · I/O · 1 task × 200 ms · one hangs"
        );
        // Whatever was typed, the line stays short.
        let typed = "9".repeat(100_000);
        let line = settings_summary(Engine::Processes, true, Workload::Io, &typed, "", "");
        assert_eq!(line, "Processes · I/O · 9999999… tasks × ? ms");
    }
}
