//! The page's state: one reducer, one [`Action`] enum; a thin wrapper around what core decides
//! ([`crate::core::form`]: the form, its edits, asking before a freeze).

use crate::core::config::{Engine, FieldError, RunConfig, Variant};
pub use crate::core::form::{Confirm, Edit, Form};
use crate::core::memory::MemoryResult;
use crate::core::race::RaceResult;
use crate::core::runs::Runs;
use crate::core::timeline::RunResult;
use crate::web::lab::{LabEvent, StartCosts};
use std::collections::HashMap;
use std::rc::Rc;
use yew::Reducible;

/// The run in progress; its tasks are in the [`crate::core::live::LiveFeed`].
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
    /// The last finished run of each set-up, and the history the differences table and the
    /// speed-ups draw their evidence from.
    pub runs: Runs,
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
            runs: Runs::default(),
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
        self.runs.last_of(variant)
    }

    #[must_use]
    pub fn busy(&self) -> bool {
        self.live.is_some() || self.preparing.is_some()
    }

    #[must_use]
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
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
                s.form.edit(edit, s.ms_per_unit);
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
            LabEvent::Started { run, config, origin } => {
                self.preparing = None;
                self.errors.clear();
                self.notice = None;
                self.engine_errors.remove(&config.engine);
                self.form.run_started(&config, origin, self.ms_per_unit);
                // A question about the form as it was (an API run may just have replaced it) is out of date.
                self.confirm = None;
                self.live = Some(Live { run, config });
            }
            // Drawn from the live feed by the timeline alone (see `super::live`).
            LabEvent::Began { .. } | LabEvent::Progress { .. } => {}
            LabEvent::Finished { result, .. } => {
                self.live = None;
                self.preparing = None;
                self.runs.record(result);
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
