//! What a run is asked to do, and the checks that keep bad input out.
//!
//! The page's form and `window.threadlab.run(config)` both arrive here as a
//! [`RawConfig`] of loosely typed [`RawValue`]s (whatever JavaScript handed us) and
//! leave as a [`RunConfig`] or a list of [`FieldError`]s, one message per field,
//! shown next to the field and used as the API's rejection message.

use crate::core::gil::{DEFAULT_SWITCH_INTERVAL_MS, MAX_SWITCH_INTERVAL_MS, MIN_SWITCH_INTERVAL_MS};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_TASKS: u32 = 64;
pub const MAX_WORKERS: u32 = 32;
pub const MAX_DURATION_MS: u32 = 10_000;
/// No task may take longer than this, whatever this device's speed.
pub const MAX_TASK_MS: f64 = 10_000.0;
/// A hard cap on CPU units, for devices so fast that calibration would allow more.
pub const MAX_UNITS_HARD: u32 = 100_000;

/// Where the tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Sequentially on the page's own thread, blocking it.
    Main,
    /// On a rayon pool of Web Workers sharing one wasm memory: one "process".
    Threads,
    /// On separate workers, each with its own wasm instance and memory.
    Processes,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Main, Engine::Threads, Engine::Processes];

    #[must_use]
    pub fn key(self) -> &'static str {
        self.info().key
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        self.info().label
    }

    /// What one lane of this engine's timeline is.
    #[must_use]
    pub fn lane_name(self) -> &'static str {
        self.info().lane_name
    }

    #[must_use]
    pub fn from_key(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.key() == s)
    }
}

/// The set-ups compared side by side: the GIL splits the threads engine in two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Main,
    ThreadsGil,
    ThreadsFree,
    Processes,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::Main, Variant::ThreadsGil, Variant::ThreadsFree, Variant::Processes];

    /// The set-up of `engine` with the GIL on or off (only threads tell the two apart).
    #[must_use]
    pub fn of(engine: Engine, gil: bool) -> Variant {
        match (engine, gil) {
            (Engine::Main, _) => Variant::Main,
            (Engine::Threads, true) => Variant::ThreadsGil,
            (Engine::Threads, false) => Variant::ThreadsFree,
            (Engine::Processes, _) => Variant::Processes,
        }
    }

    #[must_use]
    pub fn engine(self) -> Engine {
        match self {
            Variant::Main => Engine::Main,
            Variant::ThreadsGil | Variant::ThreadsFree => Engine::Threads,
            Variant::Processes => Engine::Processes,
        }
    }

    #[must_use]
    pub fn gil(self) -> bool {
        self != Variant::ThreadsFree
    }

    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Variant::Main => "main",
            Variant::ThreadsGil => "threads",
            Variant::ThreadsFree => "threads-free",
            Variant::Processes => "processes",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Variant::Main => "Main thread",
            Variant::ThreadsGil => "Threads (GIL)",
            Variant::ThreadsFree => "Threads (free-threaded)",
            Variant::Processes => "Processes",
        }
    }
}

/// What each task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// A blocking wait, like `time.sleep` standing in for a download.
    Io,
    /// The checked CPU kernel of [`crate::core::kernel`].
    Cpu,
}

impl Workload {
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Workload::Io => "io",
            Workload::Cpu => "cpu",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Workload::Io => "I/O-bound",
            Workload::Cpu => "CPU-bound",
        }
    }

    #[must_use]
    pub fn from_key(s: &str) -> Option<Workload> {
        [Workload::Io, Workload::Cpu].into_iter().find(|w| w.key() == s)
    }
}

/// A validated run request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub engine: Engine,
    pub workload: Workload,
    pub tasks: u32,
    /// Length of each I/O wait (I/O workload).
    pub duration_ms: u32,
    /// Work units of each CPU task (CPU workload).
    pub units: u32,
    /// Threads in the pool or processes in the pool; 1 for the main thread.
    pub workers: u32,
    /// Python threads must hold a GIL to run (`false`: free-threaded, PEP 703).
    pub gil: bool,
    /// How long a thread waits for the GIL before asking for it (`sys.setswitchinterval`).
    pub switch_interval_ms: f64,
    /// One task that fails on purpose, to show what a crash takes down.
    pub bad_task: Option<BadTask>,
    /// A task running longer than this is ended (its worker terminated).
    pub timeout_ms: u32,
}

/// How a bad task fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadKind {
    /// Panics halfway through its work.
    Panic,
    /// Never returns.
    Hang,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BadTask {
    pub id: u32,
    pub kind: BadKind,
}

pub const DEFAULT_TIMEOUT_MS: u32 = 5_000;
pub const MIN_TIMEOUT_MS: u32 = 100;
pub const MAX_TIMEOUT_MS: u32 = 60_000;

impl RunConfig {
    /// The notebook's experiment: two I/O tasks of three seconds, one thread each.
    #[must_use]
    pub fn notebook_preset() -> RunConfig {
        RunConfig {
            engine: Engine::Main,
            workload: Workload::Io,
            tasks: 2,
            duration_ms: 3000,
            units: 100,
            workers: 2,
            gil: true,
            switch_interval_ms: DEFAULT_SWITCH_INTERVAL_MS,
            bad_task: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }

    /// The same work on `variant`'s engine and GIL, as validation would give it (the main
    /// thread has one worker).
    #[must_use]
    pub fn on(&self, variant: Variant) -> RunConfig {
        let engine = variant.engine();
        let workers = if engine == Engine::Main { 1 } else { self.workers };
        RunConfig { engine, gil: variant.gil(), workers, ..self.clone() }
    }

    /// Which of the compared set-ups this run is.
    #[must_use]
    pub fn variant(&self) -> Variant {
        Variant::of(self.engine, self.gil)
    }

    /// Whether a sequential run `other` did the same work, so speed-ups compare like with like.
    #[must_use]
    pub fn same_work(&self, other: &RunConfig) -> bool {
        self.workload == other.workload
            && self.tasks == other.tasks
            && match self.workload {
                Workload::Io => self.duration_ms == other.duration_ms,
                Workload::Cpu => self.units == other.units,
            }
    }
}

/// Above this worst-case freeze the page asks before a main-thread run, and a link's
/// autorun does not start it: ten seconds frozen is already long for a page that looks dead.
pub const CONFIRM_FREEZE_MS: f64 = 10_000.0;

/// How long `config` can freeze the page at worst: nothing off the main thread; on it, each
/// task until it ends or its timeout, one after another (see `engines::main_thread`). A task
/// that panics does half its work and the tasks after it never run; one that hangs runs to its
/// timeout. CPU tasks are timed at this device's measured `ms_per_unit`.
#[must_use]
pub fn freeze_ms(config: &RunConfig, ms_per_unit: f64) -> f64 {
    if config.engine != Engine::Main {
        return 0.0;
    }
    let task_ms = |duration_ms: u32, units: u32| match config.workload {
        Workload::Io => f64::from(duration_ms),
        Workload::Cpu => f64::from(units) * ms_per_unit,
    };
    let timeout = f64::from(config.timeout_ms);
    let mut total = 0.0;
    for id in 0..config.tasks {
        match config.bad_task.filter(|b| b.id == id).map(|b| b.kind) {
            None => total += task_ms(config.duration_ms, config.units).min(timeout),
            Some(BadKind::Hang) => total += timeout,
            Some(BadKind::Panic) => {
                let half = task_ms(config.duration_ms / 2, config.units / 2);
                if half > timeout {
                    // Stopped at its timeout before it could fail: the next tasks run.
                    total += timeout;
                } else {
                    return total + half;
                }
            }
        }
    }
    total
}

/// The worst-case freeze of several runs one after another (Compare all four).
#[must_use]
pub fn total_freeze_ms(configs: &[RunConfig], ms_per_unit: f64) -> f64 {
    configs.iter().map(|c| freeze_ms(c, ms_per_unit)).sum()
}

/// A freeze as a person reads it: "about 6 s", "about 11 min", "less than a second".
#[must_use]
pub fn describe_freeze(ms: f64) -> String {
    if ms < 1000.0 {
        "less than a second".into()
    } else if ms < 120_000.0 {
        format!("about {:.0} s", ms / 1000.0)
    } else {
        format!("about {:.0} min", ms / 60_000.0)
    }
}

/// A value as JavaScript handed it over, before any checking.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue {
    Missing,
    Number(f64),
    Text(String),
    Bool(bool),
    /// Anything else (a boolean, an object, an array, null): never valid here.
    Other(String),
}

/// A value quoted back in a message is cut to this many characters: a 100 KB value would
/// run off the notice, and its start is enough to recognise it.
pub const QUOTE_CHARS: usize = 40;

/// `s` in double quotes, as short and plain as a message needs: escaped (a newline shows as
/// `\n`), cut to [`QUOTE_CHARS`] characters with an ellipsis and its length when longer.
#[must_use]
pub fn quote(s: &str) -> String {
    let n = s.chars().count();
    if n <= QUOTE_CHARS {
        return format!("{s:?}");
    }
    let cut: String = s.chars().take(QUOTE_CHARS).collect();
    format!("{cut:?}… ({n} characters)")
}

/// A number as JavaScript would print it, so short: `1e-300`, not 300 digits; `Infinity`,
/// `NaN`; whole numbers without a fraction.
#[must_use]
pub fn short_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n != 0.0 && (n.abs() < 1e-6 || n.abs() >= 1e21) {
        // Rust's shortest round-trip digits, in JavaScript's exponent form (`1e+21`).
        let e = format!("{n:e}");
        match e.split_once('e') {
            Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
            _ => e,
        }
    } else {
        format!("{n}")
    }
}

impl fmt::Display for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawValue::Missing => write!(f, "nothing"),
            RawValue::Number(n) => f.write_str(&short_number(*n)),
            RawValue::Text(s) => f.write_str(&quote(s)),
            RawValue::Bool(b) => write!(f, "{b}"),
            RawValue::Other(kind) => write!(f, "{kind}"),
        }
    }
}

/// A run request as it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct RawConfig {
    pub engine: RawValue,
    pub workload: RawValue,
    pub tasks: RawValue,
    pub duration_ms: RawValue,
    pub units: RawValue,
    pub workers: RawValue,
    pub gil: RawValue,
    pub switch_interval_ms: RawValue,
    /// `bad_task.id` and `bad_task.kind`; both missing (or `bad_task: null`) = no bad task.
    pub bad_task_id: RawValue,
    pub bad_task_kind: RawValue,
    /// `bad_task` itself when it is neither an object nor null/missing (`bad_task: "panic"`):
    /// then it has no id or kind, and the message says what shape it takes.
    pub bad_task_other: RawValue,
    pub timeout_ms: RawValue,
}

impl RawConfig {
    /// The field names a config may carry, in form order.
    pub const FIELDS: [&'static str; 6] = ["engine", "workload", "tasks", "duration_ms", "units", "workers"];
}

/// What this device allows; the CPU bound depends on its measured speed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub max_units: u32,
}

impl Limits {
    /// Units bounded so that one task stays within [`MAX_TASK_MS`] at `ms_per_unit`.
    #[must_use]
    pub fn for_speed(ms_per_unit: f64) -> Limits {
        let max = if ms_per_unit.is_finite() && ms_per_unit > 0.0 {
            (MAX_TASK_MS / ms_per_unit).floor().clamp(1.0, f64::from(MAX_UNITS_HARD))
        } else {
            f64::from(MAX_UNITS_HARD)
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Limits { max_units: max as u32 }
    }
}

/// One field's problem, worded for the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Joins field errors into one sentence-per-field message (the API's rejection text).
#[must_use]
pub fn describe(errors: &[FieldError]) -> String {
    errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ")
}

pub(crate) fn whole_number(
    field: &'static str,
    label: &str,
    value: &RawValue,
    lo: u32,
    hi: u32,
    unit: &str,
) -> Result<u32, FieldError> {
    let fail = |why: String| FieldError {
        field,
        message: format!("{label} must be a whole number from {lo} to {hi}{unit}; {why}."),
    };
    let n = match value {
        RawValue::Missing => return Err(fail("it is missing".into())),
        RawValue::Number(n) => *n,
        RawValue::Text(s) if s.trim().is_empty() => return Err(fail("it is empty".into())),
        RawValue::Text(s) => s.trim().parse::<f64>().map_err(|_| fail(format!("got {value}")))?,
        RawValue::Bool(_) | RawValue::Other(_) => return Err(fail(format!("got {value}"))),
    };
    if !n.is_finite() || n.fract() != 0.0 {
        return Err(fail(format!("got {value}")));
    }
    if n < f64::from(lo) || n > f64::from(hi) {
        return Err(fail(format!("got {value}")));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(n as u32)
}

fn flag(field: &'static str, value: &RawValue, default: bool) -> Result<bool, FieldError> {
    match value {
        RawValue::Missing => Ok(default),
        RawValue::Bool(b) => Ok(*b),
        RawValue::Text(s) if s.trim() == "true" => Ok(true),
        RawValue::Text(s) if s.trim() == "false" => Ok(false),
        _ => Err(FieldError { field, message: format!("{field} must be true or false; got {value}.") }),
    }
}

fn switch_interval(value: &RawValue) -> Result<f64, FieldError> {
    let fail = || {
        FieldError {
        field: "switch_interval_ms",
        message: format!(
            "Switch interval must be a number of ms from {MIN_SWITCH_INTERVAL_MS} to {MAX_SWITCH_INTERVAL_MS}; got {value}."
        ),
    }
    };
    let ms = match value {
        RawValue::Missing => return Ok(DEFAULT_SWITCH_INTERVAL_MS),
        RawValue::Number(n) => *n,
        RawValue::Text(s) => s.trim().parse::<f64>().map_err(|_| fail())?,
        _ => return Err(fail()),
    };
    if ms.is_finite() && (MIN_SWITCH_INTERVAL_MS..=MAX_SWITCH_INTERVAL_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(fail())
    }
}

fn choice<T>(
    field: &'static str,
    value: &RawValue,
    parse: fn(&str) -> Option<T>,
    options: &str,
) -> Result<T, FieldError> {
    let fail = || FieldError { field, message: format!("{field} must be one of {options}; got {value}.") };
    match value {
        RawValue::Text(s) => parse(s.trim()).ok_or_else(fail),
        _ => Err(fail()),
    }
}

/// Checks a raw request; every bad field is reported, not just the first.
///
/// # Errors
/// One [`FieldError`] per field that is missing, non-numeric, fractional or out of range.
/// `workers` may be missing: it then defaults to one per task (like one
/// `threading.Thread` per call), capped at [`MAX_WORKERS`]; the main thread has one.
pub fn validate(raw: &RawConfig, limits: Limits) -> Result<RunConfig, Vec<FieldError>> {
    let mut errors = Vec::new();
    let engine = choice("engine", &raw.engine, Engine::from_key, "\"main\", \"threads\", \"processes\"")
        .map_err(|e| errors.push(e))
        .ok();
    let workload =
        choice("workload", &raw.workload, Workload::from_key, "\"io\", \"cpu\"").map_err(|e| errors.push(e)).ok();
    let tasks = whole_number("tasks", "Tasks", &raw.tasks, 1, MAX_TASKS, "").map_err(|e| errors.push(e)).ok();
    let mut duration_ms = 0;
    let mut units = 0;
    match workload {
        Some(Workload::Io) => {
            match whole_number("duration_ms", "Duration", &raw.duration_ms, 1, MAX_DURATION_MS, " ms") {
                Ok(d) => duration_ms = d,
                Err(e) => errors.push(e),
            }
        }
        Some(Workload::Cpu) => match whole_number("units", "Work units", &raw.units, 1, limits.max_units, "") {
            Ok(u) => units = u,
            Err(mut e) => {
                e.message.push_str(" (the bound keeps one task under 10 s on this device)");
                errors.push(e);
            }
        },
        None => {}
    }
    let workers = match (&raw.workers, engine) {
        (_, Some(Engine::Main)) => Some(1),
        (RawValue::Missing, _) => tasks.map(|t| t.min(MAX_WORKERS)),
        (value, _) => whole_number("workers", "Workers", value, 1, MAX_WORKERS, "").map_err(|e| errors.push(e)).ok(),
    };
    let timeout_ms = match &raw.timeout_ms {
        RawValue::Missing => Some(DEFAULT_TIMEOUT_MS),
        value => whole_number("timeout_ms", "Timeout", value, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, " ms")
            .map_err(|e| errors.push(e))
            .ok(),
    };
    let bad_task = match (&raw.bad_task_kind, &raw.bad_task_id) {
        _ if raw.bad_task_other != RawValue::Missing => {
            errors.push(FieldError {
                field: "bad_task",
                message: format!(
                    "bad_task must be null or an object like {{id: 1, kind: \"panic\"}}; got {}.",
                    raw.bad_task_other
                ),
            });
            None
        }
        (RawValue::Missing, RawValue::Missing) => Some(None),
        (kind, id) => {
            let kind = match kind {
                RawValue::Text(k) if k.trim() == "panic" => Some(BadKind::Panic),
                RawValue::Text(k) if k.trim() == "hang" => Some(BadKind::Hang),
                _ => {
                    errors.push(FieldError {
                        field: "bad_task",
                        message: format!("bad_task.kind must be \"panic\" or \"hang\"; got {kind}."),
                    });
                    None
                }
            };
            let last = tasks.map_or(MAX_TASKS, |t| t.saturating_sub(1));
            let id = whole_number("bad_task", "bad_task.id", id, 0, last, " (a task's number)")
                .map_err(|e| errors.push(e))
                .ok();
            kind.zip(id).map(|(kind, id)| Some(BadTask { id, kind }))
        }
    };
    let gil = flag("gil", &raw.gil, true).map_err(|e| errors.push(e)).ok();
    let switch_interval_ms = switch_interval(&raw.switch_interval_ms).map_err(|e| errors.push(e)).ok();
    match (engine, workload, tasks, workers, gil, switch_interval_ms, bad_task, timeout_ms) {
        (
            Some(engine),
            Some(workload),
            Some(tasks),
            Some(workers),
            Some(gil),
            Some(switch_interval_ms),
            Some(bad_task),
            Some(timeout_ms),
        ) if errors.is_empty() => Ok(RunConfig {
            engine,
            workload,
            tasks,
            duration_ms,
            units,
            workers,
            gil,
            switch_interval_ms,
            bad_task,
            timeout_ms,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(engine: &str, workload: &str, tasks: RawValue) -> RawConfig {
        RawConfig {
            engine: RawValue::Text(engine.into()),
            workload: RawValue::Text(workload.into()),
            tasks,
            duration_ms: RawValue::Number(300.0),
            units: RawValue::Number(5.0),
            workers: RawValue::Missing,
            gil: RawValue::Missing,
            switch_interval_ms: RawValue::Missing,
            bad_task_id: RawValue::Missing,
            bad_task_kind: RawValue::Missing,
            bad_task_other: RawValue::Missing,
            timeout_ms: RawValue::Missing,
        }
    }

    const LIMITS: Limits = Limits { max_units: 1000 };

    #[test]
    fn a_good_request_passes_and_workers_default_to_one_per_task() {
        let cfg = validate(&raw("threads", "io", RawValue::Number(2.0)), LIMITS).unwrap();
        assert_eq!(cfg.engine, Engine::Threads);
        assert_eq!(cfg.workers, 2);
        assert_eq!(cfg.duration_ms, 300);
    }

    #[test]
    fn the_main_thread_always_has_one_worker() {
        let mut r = raw("main", "cpu", RawValue::Number(4.0));
        r.workers = RawValue::Number(8.0);
        assert_eq!(validate(&r, LIMITS).unwrap().workers, 1);
    }

    #[test]
    fn numbers_typed_into_the_form_are_accepted() {
        let cfg = validate(&raw("processes", "cpu", RawValue::Text(" 3 ".into())), LIMITS).unwrap();
        assert_eq!(cfg.tasks, 3);
        assert_eq!(cfg.units, 5);
    }

    #[test]
    fn bad_tasks_get_a_clear_message_each() {
        for (value, shown) in [
            (RawValue::Number(0.0), "got 0"),
            (RawValue::Number(65.0), "got 65"),
            (RawValue::Number(-3.0), "got -3"),
            (RawValue::Number(2.5), "got 2.5"),
            (RawValue::Number(f64::NAN), "got NaN"),
            (RawValue::Number(f64::INFINITY), "got Infinity"),
            (RawValue::Text("lots".into()), "got \"lots\""),
            (RawValue::Text(String::new()), "it is empty"),
            (RawValue::Missing, "it is missing"),
            (RawValue::Other("an object".into()), "got an object"),
        ] {
            let errors = validate(&raw("threads", "io", value.clone()), LIMITS).unwrap_err();
            assert_eq!(errors.len(), 1, "{value:?}");
            assert_eq!(errors[0].field, "tasks");
            assert!(errors[0].message.starts_with("Tasks must be a whole number from 1 to 64"), "{}", errors[0]);
            assert!(errors[0].message.contains(shown), "{} lacks {shown}", errors[0]);
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let r = RawConfig {
            engine: RawValue::Text("gpu".into()),
            workload: RawValue::Text("io".into()),
            tasks: RawValue::Number(100.0),
            duration_ms: RawValue::Number(0.0),
            units: RawValue::Missing,
            workers: RawValue::Number(33.0),
            gil: RawValue::Text("maybe".into()),
            switch_interval_ms: RawValue::Number(0.01),
            bad_task_id: RawValue::Missing,
            bad_task_kind: RawValue::Missing,
            bad_task_other: RawValue::Missing,
            timeout_ms: RawValue::Missing,
        };
        let fields: Vec<_> = validate(&r, LIMITS).unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["engine", "tasks", "duration_ms", "workers", "gil", "switch_interval_ms"]);
    }

    #[test]
    fn cpu_units_are_bounded_by_this_devices_speed() {
        let limits = Limits::for_speed(2.0);
        assert_eq!(limits.max_units, 5000);
        let mut r = raw("main", "cpu", RawValue::Number(1.0));
        r.units = RawValue::Number(5001.0);
        let errors = validate(&r, limits).unwrap_err();
        assert_eq!(errors[0].field, "units");
        assert!(errors[0].message.contains("under 10 s"));
        assert_eq!(Limits::for_speed(f64::NAN).max_units, MAX_UNITS_HARD);
        assert_eq!(Limits::for_speed(1e9).max_units, 1);
    }

    #[test]
    fn the_gil_is_on_by_default_with_cpythons_switch_interval() {
        let cfg = validate(&raw("threads", "cpu", RawValue::Number(2.0)), LIMITS).unwrap();
        assert!(cfg.gil);
        assert_eq!(cfg.switch_interval_ms, 5.0);
        assert_eq!(cfg.variant(), Variant::ThreadsGil);
        let mut r = raw("threads", "cpu", RawValue::Number(2.0));
        r.gil = RawValue::Bool(false);
        r.switch_interval_ms = RawValue::Text("0.5".into());
        let cfg = validate(&r, LIMITS).unwrap();
        assert_eq!((cfg.gil, cfg.switch_interval_ms, cfg.variant()), (false, 0.5, Variant::ThreadsFree));
        r.switch_interval_ms = RawValue::Number(101.0);
        let errors = validate(&r, LIMITS).unwrap_err();
        assert!(
            errors[0].message.starts_with("Switch interval must be a number of ms from 0.1 to 100"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_bad_task_names_a_real_task_and_a_way_to_fail() {
        let mut r = raw("processes", "io", RawValue::Number(3.0));
        r.bad_task_id = RawValue::Number(2.0);
        r.bad_task_kind = RawValue::Text("panic".into());
        let cfg = validate(&r, LIMITS).unwrap();
        assert_eq!(cfg.bad_task, Some(BadTask { id: 2, kind: BadKind::Panic }));
        assert_eq!(cfg.timeout_ms, DEFAULT_TIMEOUT_MS);
        r.bad_task_id = RawValue::Number(3.0);
        r.bad_task_kind = RawValue::Text("explode".into());
        r.timeout_ms = RawValue::Number(50.0);
        let fields: Vec<_> = validate(&r, LIMITS).unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["timeout_ms", "bad_task", "bad_task"]);
    }

    #[test]
    fn the_unused_size_field_is_not_checked() {
        let mut r = raw("threads", "io", RawValue::Number(2.0));
        r.units = RawValue::Text("junk".into());
        assert!(validate(&r, LIMITS).is_ok());
    }

    #[test]
    fn values_are_quoted_short_and_plain() {
        assert_eq!(RawValue::Number(1e-300).to_string(), "1e-300");
        assert_eq!(RawValue::Number(1e21).to_string(), "1e+21");
        assert_eq!(RawValue::Number(1e12).to_string(), "1000000000000");
        assert_eq!(RawValue::Number(-2.5).to_string(), "-2.5");
        assert_eq!(RawValue::Number(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(RawValue::Text("panic".into()).to_string(), "\"panic\"");
        assert_eq!(RawValue::Text("a\nb".into()).to_string(), "\"a\\nb\"");
        let long = "é".repeat(100_000);
        let shown = RawValue::Text(long).to_string();
        assert_eq!(shown, format!("\"{}\"… (100000 characters)", "é".repeat(QUOTE_CHARS)));
        // In a whole message too: the 1e-300 that echoed 300 digits.
        let mut r = raw("threads", "io", RawValue::Number(2.0));
        r.duration_ms = RawValue::Number(1e-300);
        let message = &validate(&r, LIMITS).unwrap_err()[0].message;
        assert!(message.ends_with("; got 1e-300."), "{message}");
        assert!(message.len() < 100, "{message}");
    }

    #[test]
    fn a_bad_task_that_is_not_an_object_says_what_shape_it_takes() {
        let mut r = raw("threads", "io", RawValue::Number(2.0));
        r.bad_task_other = RawValue::Text("panic".into());
        let errors = validate(&r, LIMITS).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].message,
            "bad_task must be null or an object like {id: 1, kind: \"panic\"}; got \"panic\"."
        );
    }

    #[test]
    fn the_freeze_is_the_main_threads_tasks_each_cut_at_the_timeout() {
        let main = RunConfig { tasks: 64, duration_ms: 10_000, ..RunConfig::notebook_preset() };
        // 64 × 10 s asked for; each task is stopped at the 5 s timeout.
        assert_eq!(freeze_ms(&main, 1.0), 64.0 * 5000.0);
        assert_eq!(freeze_ms(&RunConfig::notebook_preset(), 1.0), 6000.0);
        let threads = RunConfig { engine: Engine::Threads, ..main.clone() };
        assert_eq!(freeze_ms(&threads, 1.0), 0.0, "workers do not freeze the page");
        let cpu = RunConfig { workload: Workload::Cpu, tasks: 3, units: 40, ..main.clone() };
        assert_eq!(freeze_ms(&cpu, 50.0), 3.0 * 2000.0, "CPU tasks at this device's speed");
        assert_eq!(freeze_ms(&cpu, 500.0), 3.0 * 5000.0, "and cut at the timeout");
        // A panic ends the run halfway through the bad task; a hang lasts its whole timeout.
        let panic = RunConfig {
            tasks: 4,
            duration_ms: 2000,
            bad_task: Some(BadTask { id: 1, kind: BadKind::Panic }),
            ..main.clone()
        };
        assert_eq!(freeze_ms(&panic, 1.0), 2000.0 + 1000.0);
        let hang = RunConfig { bad_task: Some(BadTask { id: 1, kind: BadKind::Hang }), ..panic.clone() };
        assert_eq!(freeze_ms(&hang, 1.0), 3.0 * 2000.0 + 5000.0);
        // Compare all four: the main-thread run is the one that freezes.
        let four: Vec<_> =
            Variant::ALL.iter().map(|v| RunConfig { engine: v.engine(), gil: v.gil(), ..main.clone() }).collect();
        assert_eq!(total_freeze_ms(&four, 1.0), 320_000.0);
        assert!(total_freeze_ms(&four, 1.0) > CONFIRM_FREEZE_MS);
        assert!(freeze_ms(&RunConfig::notebook_preset(), 1.0) <= CONFIRM_FREEZE_MS);
    }

    #[test]
    fn a_freeze_reads_in_seconds_or_minutes() {
        assert_eq!(describe_freeze(6000.0), "about 6 s");
        assert_eq!(describe_freeze(40_400.0), "about 40 s");
        assert_eq!(describe_freeze(320_000.0), "about 5 min");
        assert_eq!(describe_freeze(300.0), "less than a second");
    }

    #[test]
    fn same_work_compares_only_what_the_workload_uses() {
        let a = RunConfig::notebook_preset();
        let mut b = RunConfig { engine: Engine::Threads, units: 7, workers: 8, ..a.clone() };
        assert!(a.same_work(&b));
        b.duration_ms = 10;
        assert!(!a.same_work(&b));
    }
}
