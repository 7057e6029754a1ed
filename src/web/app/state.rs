//! The page's state: one reducer, one [`Action`] enum.

use crate::core::config::{
    self, BadKind, Engine, FieldError, Limits, RawConfig, RawValue, RunConfig, Variant, Workload, DEFAULT_TIMEOUT_MS,
    MAX_DURATION_MS,
};
use crate::core::memory::MemoryResult;
use crate::core::race::RaceResult;
use crate::core::timeline::RunResult;
use crate::web::lab::{LabEvent, StartCosts};
use std::collections::HashMap;
use std::rc::Rc;
use yew::Reducible;

/// How many finished runs the page remembers.
pub const HISTORY: usize = 200;

/// The form as typed (text, so that bad input can be shown back with its message).
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub workload: Workload,
    pub engine: Engine,
    pub tasks: String,
    pub duration_ms: String,
    /// CPU task size in ms on this device; converted to work units by calibration.
    pub cpu_ms: String,
    pub workers: String,
    /// Threads share a GIL (as in CPython); off = free-threaded.
    pub gil: bool,
    pub switch_interval_ms: String,
    /// "" (none), "panic" or "hang".
    pub bad_kind: String,
    pub bad_id: String,
    pub timeout_ms: String,
}

impl Form {
    #[must_use]
    pub fn from_config(config: &RunConfig, ms_per_unit: f64) -> Form {
        Form {
            workload: config.workload,
            engine: config.engine,
            tasks: config.tasks.to_string(),
            duration_ms: config.duration_ms.to_string(),
            cpu_ms: format!("{:.0}", (f64::from(config.units) * ms_per_unit).max(1.0)),
            workers: config.workers.to_string(),
            gil: config.gil,
            switch_interval_ms: format!("{}", config.switch_interval_ms),
            bad_kind: match config.bad_task.map(|b| b.kind) {
                None => String::new(),
                Some(BadKind::Panic) => "panic".into(),
                Some(BadKind::Hang) => "hang".into(),
            },
            bad_id: config.bad_task.map_or_else(|| "0".into(), |b| b.id.to_string()),
            timeout_ms: config.timeout_ms.to_string(),
        }
    }

    /// The set-up the form describes.
    #[must_use]
    pub fn variant(&self) -> Variant {
        Variant::of(self.engine, self.gil)
    }

    /// Takes the settings of a link (already checked by `core::permalink::read`).
    pub fn apply_link(&mut self, pairs: &[(String, String)]) {
        for (k, v) in pairs {
            match k.as_str() {
                "engine" => self.engine = Engine::from_key(v).unwrap_or(self.engine),
                "workload" => self.workload = Workload::from_key(v).unwrap_or(self.workload),
                "tasks" => self.tasks.clone_from(v),
                "duration_ms" => self.duration_ms.clone_from(v),
                "cpu_ms" => self.cpu_ms.clone_from(v),
                "workers" => self.workers.clone_from(v),
                "gil" => self.gil = v == "true",
                "switch_interval_ms" => self.switch_interval_ms.clone_from(v),
                "bad" => self.bad_kind.clone_from(v),
                "bad_id" => self.bad_id.clone_from(v),
                "timeout_ms" => self.timeout_ms.clone_from(v),
                _ => {}
            }
        }
    }

    /// The link parameters of this form (the inspector's script and the panel are added by the page).
    #[must_use]
    pub fn link_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("engine", self.engine.key().to_owned()),
            ("workload", self.workload.key().to_owned()),
            ("tasks", self.tasks.clone()),
            (
                if self.workload == Workload::Io { "duration_ms" } else { "cpu_ms" },
                match self.workload {
                    Workload::Io => self.duration_ms.clone(),
                    Workload::Cpu => self.cpu_ms.clone(),
                },
            ),
            ("workers", self.workers.clone()),
            ("gil", self.gil.to_string()),
            ("switch_interval_ms", self.switch_interval_ms.clone()),
        ];
        if !self.bad_kind.is_empty() {
            pairs.extend([("bad", self.bad_kind.clone()), ("bad_id", self.bad_id.clone())]);
        }
        // The timeout bounds every main-thread task, not only a bad one.
        if !self.bad_kind.is_empty() || self.timeout_ms.trim() != DEFAULT_TIMEOUT_MS.to_string() {
            pairs.push(("timeout_ms", self.timeout_ms.clone()));
        }
        pairs
    }

    /// How long running this form on `variants`, one after another, can freeze the page
    /// (see [`config::freeze_ms`]); `None` while the form does not validate.
    #[must_use]
    pub fn freeze_ms(&self, variants: &[Variant], ms_per_unit: f64, limits: Limits) -> Option<f64> {
        let configs: Option<Vec<_>> = variants
            .iter()
            .map(|v| self.raw(*v, ms_per_unit).ok().and_then(|raw| config::validate(&raw, limits).ok()))
            .collect();
        Some(config::total_freeze_ms(&configs?, ms_per_unit))
    }

    /// The run request this form describes, for `variant`.
    ///
    /// # Errors
    /// When the CPU size is not a number of ms (the one field converted here).
    pub fn raw(&self, variant: Variant, ms_per_unit: f64) -> Result<RawConfig, FieldError> {
        let units = match self.workload {
            Workload::Cpu => RawValue::Number(f64::from(units_for_ms(&self.cpu_ms, ms_per_unit)?)),
            Workload::Io => RawValue::Missing,
        };
        Ok(RawConfig {
            engine: RawValue::Text(variant.engine().key().into()),
            workload: RawValue::Text(self.workload.key().into()),
            tasks: RawValue::Text(self.tasks.clone()),
            duration_ms: RawValue::Text(self.duration_ms.clone()),
            units,
            workers: RawValue::Text(self.workers.clone()),
            gil: RawValue::Bool(variant.gil()),
            switch_interval_ms: RawValue::Text(self.switch_interval_ms.clone()),
            bad_task_id: if self.bad_kind.is_empty() { RawValue::Missing } else { RawValue::Text(self.bad_id.clone()) },
            bad_task_kind: if self.bad_kind.is_empty() {
                RawValue::Missing
            } else {
                RawValue::Text(self.bad_kind.clone())
            },
            bad_task_other: RawValue::Missing,
            timeout_ms: RawValue::Text(self.timeout_ms.clone()),
        })
    }
}

/// Converts a CPU size typed in ms into work units at this device's measured speed.
///
/// # Errors
/// When `text` is not a number of ms from 1 to 10 000.
pub fn units_for_ms(text: &str, ms_per_unit: f64) -> Result<u32, FieldError> {
    let ms =
        text.trim().parse::<f64>().ok().filter(|ms| ms.is_finite() && (1.0..=f64::from(MAX_DURATION_MS)).contains(ms));
    match ms {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(ms) => Ok(((ms / ms_per_unit).round() as u32).max(1)),
        None => Err(FieldError {
            field: "units",
            message: format!(
                "Task size must be a number of ms from 1 to {MAX_DURATION_MS}; got {}.",
                crate::core::config::quote(text)
            ),
        }),
    }
}

/// A run that would freeze the page longer than [`config::CONFIRM_FREEZE_MS`], waiting for
/// the person to accept the freeze or cancel it.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    /// The set-ups asked for (one, or Compare all four).
    pub variants: Vec<Variant>,
    pub freeze_ms: f64,
    /// Asked by a link's autorun, not by a click: the focus stays where it is (moving it, and
    /// scrolling to it, as the page opens would hide the notice that says why it asks).
    pub from_link: bool,
}

/// The run in progress; its tasks are in the [`super::live::LiveFeed`].
#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    pub run: u32,
    pub config: RunConfig,
}

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub form: Form,
    pub errors: Vec<FieldError>,
    pub preparing: Option<Engine>,
    pub live: Option<Live>,
    /// The last finished run of each set-up.
    pub last: HashMap<Variant, Rc<RunResult>>,
    /// Every finished run, oldest first (the latest [`HISTORY`]): the evidence the
    /// differences table and the speed-ups draw on.
    pub history: Vec<Rc<RunResult>>,
    /// Why an engine is unavailable, for each engine that is.
    pub engine_errors: HashMap<Engine, String>,
    pub notice: Option<String>,
    /// A long main-thread freeze asked for and not yet confirmed.
    pub confirm: Option<Confirm>,
    pub ms_per_unit: f64,
    pub start_costs: StartCosts,
    /// The last reference-count race of each variant.
    pub races: Vec<RaceResult>,
    /// The last memory experiment of each engine.
    pub memory: Vec<MemoryResult>,
}

impl State {
    #[must_use]
    pub fn new(ms_per_unit: f64) -> State {
        State {
            form: Form::from_config(&RunConfig::notebook_preset(), ms_per_unit),
            errors: Vec::new(),
            preparing: None,
            live: None,
            last: HashMap::new(),
            history: Vec::new(),
            engine_errors: HashMap::new(),
            notice: None,
            confirm: None,
            ms_per_unit,
            start_costs: StartCosts::default(),
            races: Vec::new(),
            memory: Vec::new(),
        }
    }

    #[must_use]
    pub fn last_of(&self, variant: Variant) -> Option<&Rc<RunResult>> {
        self.last.get(&variant)
    }

    #[must_use]
    pub fn busy(&self) -> bool {
        self.live.is_some() || self.preparing.is_some()
    }

    #[must_use]
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// The latest run of `variant` on `workload`.
    #[must_use]
    pub fn latest(&self, variant: Variant, workload: Workload) -> Option<&Rc<RunResult>> {
        self.history.iter().rev().find(|r| r.variant == variant && r.workload == workload)
    }

    /// The latest `variant` run that did the same work as `config`.
    #[must_use]
    pub fn latest_same_work(&self, variant: Variant, config: &RunConfig) -> Option<&Rc<RunResult>> {
        self.history.iter().rev().find(|r| r.variant == variant && r.config().same_work(config))
    }

    /// The latest main-thread run that did the same work as `config`: the baseline of speed-ups.
    #[must_use]
    pub fn sequential_for(&self, config: &RunConfig) -> Option<&Rc<RunResult>> {
        self.latest_same_work(Variant::Main, config)
    }
}

/// Edits of the form by the person at the page.
#[derive(Clone, Debug)]
pub enum Edit {
    Workload(Workload),
    Engine(Engine),
    Tasks(String),
    Duration(String),
    CpuMs(String),
    Workers(String),
    Gil(bool),
    SwitchInterval(String),
    BadKind(String),
    BadId(String),
    Timeout(String),
    Preset,
}

pub enum Action {
    Edit(Edit),
    Errors(Vec<FieldError>),
    Lab(LabEvent),
    Notice(String),
    DismissNotice,
    /// Ask before a long freeze, or (`None`) stop asking: confirmed, cancelled or out of date.
    Confirm(Option<Confirm>),
}

impl Reducible for State {
    type Action = Action;

    // yew 0.23 re-renders only when a new Rc is returned: always return one.
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Edit(edit) => {
                match edit {
                    Edit::Workload(w) => s.form.workload = w,
                    Edit::Engine(e) => s.form.engine = e,
                    Edit::Tasks(t) => s.form.tasks = t,
                    Edit::Duration(d) => s.form.duration_ms = d,
                    Edit::CpuMs(c) => s.form.cpu_ms = c,
                    Edit::Workers(w) => s.form.workers = w,
                    Edit::Gil(g) => s.form.gil = g,
                    Edit::SwitchInterval(i) => s.form.switch_interval_ms = i,
                    Edit::BadKind(k) => s.form.bad_kind = k,
                    Edit::BadId(i) => s.form.bad_id = i,
                    Edit::Timeout(t) => s.form.timeout_ms = t,
                    Edit::Preset => s.form = Form::from_config(&RunConfig::notebook_preset(), s.ms_per_unit),
                }
                s.errors.clear();
                // The freeze it asked about was for the form as it was.
                s.confirm = None;
            }
            Action::Errors(errors) => s.errors = errors,
            Action::DismissNotice => s.notice = None,
            Action::Notice(text) => s.notice = Some(text),
            Action::Confirm(confirm) => s.confirm = confirm,
            Action::Lab(event) => s.apply(event),
        }
        Rc::new(s)
    }
}

impl State {
    fn apply(&mut self, event: LabEvent) {
        match event {
            LabEvent::Preparing { engine } => self.preparing = Some(engine),
            LabEvent::Started { run, config } => {
                self.preparing = None;
                self.errors.clear();
                self.notice = None;
                self.engine_errors.remove(&config.engine);
                // A run started from the API shows its settings in the form too.
                let engine = config.engine;
                let workers =
                    if engine == Engine::Main { self.form.workers.clone() } else { config.workers.to_string() };
                self.form = Form { workers, ..Form::from_config(&config, self.ms_per_unit) };
                // A question about the form as it was (an API run just replaced it) is out of date.
                self.confirm = None;
                self.form.engine = engine;
                self.live = Some(Live { run, config });
            }
            // Drawn from the live feed by the timeline alone (see `super::live`).
            LabEvent::Began { .. } | LabEvent::Progress { .. } => {}
            LabEvent::Finished { result, .. } => {
                self.live = None;
                self.preparing = None;
                let variant = result.variant;
                self.last.insert(variant, result.clone());
                if self.history.len() >= HISTORY {
                    self.history.remove(0);
                }
                self.history.push(result);
            }
            LabEvent::Failed { message } => {
                self.live = None;
                self.preparing = None;
                self.notice = Some(message);
            }
            LabEvent::Invalid { errors } => self.errors = errors,
            LabEvent::EngineStatus { engine, error } => {
                self.preparing = None;
                match error {
                    Some(error) => self.engine_errors.insert(engine, error),
                    None => self.engine_errors.remove(&engine),
                };
            }
            LabEvent::StartCosts(costs) => self.start_costs = costs,
            LabEvent::Memory(result) => {
                let slot = self.memory.iter().position(|m| m.engine == result.engine);
                match slot {
                    Some(i) => self.memory[i] = result,
                    None => self.memory.push(result),
                }
            }
            LabEvent::Raced(result) => {
                self.preparing = None;
                let slot = self.races.iter().position(|r| r.variant == result.variant);
                match slot {
                    Some(i) => self.races[i] = result,
                    None => self.races.push(result),
                }
            }
        }
    }
}
