//! The experiment's form: what was typed (text, so that bad input can be shown back with its
//! message), its edits, and the decisions around a run — validation at the form's edge, asking
//! before a long freeze, and what a started run does to the form. The page's reducer
//! (`web::app::state`) is a thin wrapper around it.

use crate::core::config::{
    self, describe_freeze, BadKind, Engine, FieldError, Limits, RawConfig, RawValue, RunConfig, Variant, Workload,
    CONFIRM_FREEZE_MS, DEFAULT_TIMEOUT_MS, MAX_DURATION_MS,
};

/// The form as typed.
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
        let configs: Option<Vec<_>> = variants.iter().map(|v| self.config(*v, ms_per_unit, limits).ok()).collect();
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

impl Form {
    /// The validated run this form describes for `variant`: the form's own edge, where what
    /// was typed becomes a [`RunConfig`] or one message per bad field.
    ///
    /// # Errors
    /// One [`FieldError`] per field that does not validate.
    pub fn config(&self, variant: Variant, ms_per_unit: f64, limits: Limits) -> Result<RunConfig, Vec<FieldError>> {
        let raw = self.raw(variant, ms_per_unit).map_err(|e| vec![e])?;
        config::validate(&raw, limits)
    }

    /// Applies one edit by the person at the page.
    pub fn edit(&mut self, edit: Edit, ms_per_unit: f64) {
        match edit {
            Edit::Workload(w) => self.workload = w,
            Edit::Engine(e) => self.engine = e,
            Edit::Tasks(t) => self.tasks = t,
            Edit::Duration(d) => self.duration_ms = d,
            Edit::CpuMs(c) => self.cpu_ms = c,
            Edit::Workers(w) => self.workers = w,
            Edit::Gil(g) => self.gil = g,
            Edit::SwitchInterval(i) => self.switch_interval_ms = i,
            Edit::BadKind(k) => self.bad_kind = k,
            Edit::BadId(i) => self.bad_id = i,
            Edit::Timeout(t) => self.timeout_ms = t,
            Edit::Preset => *self = Form::from_config(&RunConfig::notebook_preset(), ms_per_unit),
        }
    }

    /// A run has started: one from the API shows its settings in the form (so that the page
    /// and the address bar say what ran); one from the page leaves the form as typed.
    pub fn run_started(&mut self, config: &RunConfig, origin: Origin, ms_per_unit: f64) {
        if origin != Origin::Api {
            return;
        }
        // The main thread has one worker whatever the form says: keep what was typed.
        let workers = if config.engine == Engine::Main { self.workers.clone() } else { config.workers.to_string() };
        *self = Form { workers, ..Form::from_config(config, ms_per_unit) };
    }

    /// What a request to run this form on `variants` (one, or Compare all four) comes to.
    #[must_use]
    pub fn request(&self, variants: &[Variant], asked: Asked, ms_per_unit: f64, limits: Limits) -> Request {
        // The one field converted by the page (the CPU size in ms) is checked before anything runs.
        if let Err(error) = self.raw(self.variant(), ms_per_unit) {
            return Request::Invalid(vec![error]);
        }
        // A long freeze is asked about first, on the page.
        let freeze_ms = self.freeze_ms(variants, ms_per_unit, limits).unwrap_or(0.0);
        if freeze_ms > CONFIRM_FREEZE_MS && asked != Asked::Accepted {
            return Request::Ask(Confirm { variants: variants.to_vec(), freeze_ms, from_link: asked == Asked::ByLink });
        }
        Request::Run(variants.iter().map(|v| self.config(*v, ms_per_unit, limits)).collect())
    }
}

/// Who asked for a run: a click on Run, a link's autorun, or a click that accepted the freeze.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    ByClick,
    ByLink,
    Accepted,
}

/// Where a run was asked for: the page (its form, its experiment links) or `window.threadlab.run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Page,
    Api,
}

/// What [`Form::request`] decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Not run: the messages go next to their fields.
    Invalid(Vec<FieldError>),
    /// Not run yet: the freeze must be accepted first.
    Ask(Confirm),
    /// Run these, one after another, stopping at the first that fails or does not validate
    /// (its messages go next to their fields then).
    Run(Vec<Result<RunConfig, Vec<FieldError>>>),
}

/// Why a link's autorun asks instead of running (`earlier`: the link's own notice, if any).
#[must_use]
pub fn autorun_notice(freeze_ms: f64, earlier: Option<&str>) -> String {
    let why = format!(
        "This link asks to run on the main thread right away, which would freeze the page for {}: \
         a link never starts a freeze of more than {:.0} s. Confirm below to run it anyway.",
        describe_freeze(freeze_ms),
        CONFIRM_FREEZE_MS / 1000.0
    );
    match earlier {
        Some(earlier) => format!("{earlier} {why}"),
        None => why,
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
                config::quote(text)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::BadTask;

    /// 0.5 ms per work unit: 10 s is 20 000 units.
    const MS_PER_UNIT: f64 = 0.5;

    fn limits() -> Limits {
        Limits::for_speed(MS_PER_UNIT)
    }

    fn preset() -> Form {
        Form::from_config(&RunConfig::notebook_preset(), MS_PER_UNIT)
    }

    fn edited(edits: Vec<Edit>) -> Form {
        let mut form = preset();
        for edit in edits {
            form.edit(edit, MS_PER_UNIT);
        }
        form
    }

    fn fields(errors: &[FieldError]) -> Vec<&'static str> {
        errors.iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_sequence_of_edits_becomes_the_config_it_describes() {
        let form = edited(vec![
            Edit::Engine(Engine::Threads),
            Edit::Workload(Workload::Cpu),
            Edit::CpuMs("50".into()),
            Edit::Tasks(" 4 ".into()),
            Edit::Workers("3".into()),
            Edit::Gil(false),
            Edit::SwitchInterval("2.5".into()),
            Edit::BadKind("panic".into()),
            Edit::BadId("2".into()),
            Edit::Timeout("900".into()),
        ]);
        assert_eq!(form.variant(), Variant::ThreadsFree);
        let config = form.config(form.variant(), MS_PER_UNIT, limits()).unwrap();
        assert_eq!(
            config,
            RunConfig {
                engine: Engine::Threads,
                workload: Workload::Cpu,
                tasks: 4,
                duration_ms: 0,
                units: 100,
                workers: 3,
                gil: false,
                switch_interval_ms: 2.5,
                bad_task: Some(BadTask { id: 2, kind: BadKind::Panic }),
                timeout_ms: 900,
            }
        );
        // The same form on another set-up: its engine and GIL, one worker on the main thread.
        let main = form.config(Variant::Main, MS_PER_UNIT, limits()).unwrap();
        assert_eq!((main.engine, main.gil, main.workers), (Engine::Main, true, 1));
        assert_eq!(main, config.on(Variant::Main));
        assert_eq!(form.config(Variant::Processes, MS_PER_UNIT, limits()).unwrap(), config.on(Variant::Processes));
    }

    #[test]
    fn the_preset_edit_puts_the_notebook_back() {
        let form = edited(vec![Edit::Tasks("9".into()), Edit::Engine(Engine::Processes), Edit::Preset]);
        assert_eq!(form, preset());
        let config = form.config(Variant::Main, MS_PER_UNIT, limits()).unwrap();
        assert_eq!((config.workload, config.tasks, config.duration_ms), (Workload::Io, 2, 3000));
    }

    #[test]
    fn every_bad_field_has_its_own_message() {
        let form = edited(vec![
            Edit::Engine(Engine::Threads),
            Edit::Tasks("0".into()),
            Edit::Duration(String::new()),
            Edit::Workers("many".into()),
            Edit::SwitchInterval("0".into()),
            Edit::Timeout("5".into()),
        ]);
        let errors = form.config(form.variant(), MS_PER_UNIT, limits()).unwrap_err();
        assert_eq!(fields(&errors), ["tasks", "duration_ms", "workers", "timeout_ms", "switch_interval_ms"]);
        assert_eq!(errors[0].message, "Tasks must be a whole number from 1 to 64; got \"0\".");
        assert_eq!(errors[1].message, "Duration must be a whole number from 1 to 10000 ms; it is empty.");
        // The main thread ignores the workers field.
        let main = form.config(Variant::Main, MS_PER_UNIT, limits()).unwrap_err();
        assert!(!fields(&main).contains(&"workers"));
    }

    #[test]
    fn a_cpu_size_in_ms_is_checked_and_converted_at_this_device_s_speed() {
        assert_eq!(units_for_ms("50", MS_PER_UNIT), Ok(100));
        assert_eq!(units_for_ms(" 0.1e1 ", MS_PER_UNIT), Ok(2));
        assert_eq!(units_for_ms("1", 7.0), Ok(1), "never below one unit");
        for bad in ["0", "10001", "ten", "", "NaN", "inf"] {
            let error = units_for_ms(bad, MS_PER_UNIT).unwrap_err();
            assert_eq!(error.field, "units", "{bad:?}");
            assert!(error.message.starts_with("Task size must be a number of ms from 1 to 10000; got "), "{bad:?}");
        }
        let form = edited(vec![Edit::Workload(Workload::Cpu), Edit::CpuMs("lots".into())]);
        assert_eq!(fields(&form.config(Variant::Main, MS_PER_UNIT, limits()).unwrap_err()), ["units"]);
    }

    #[test]
    fn a_run_that_would_freeze_the_page_long_is_asked_about_first() {
        // Four 4 s waits on the main thread: 16 s frozen.
        let form = edited(vec![Edit::Tasks("4".into()), Edit::Duration("4000".into())]);
        let ask = form.request(&[Variant::Main], Asked::ByClick, MS_PER_UNIT, limits());
        assert_eq!(ask, Request::Ask(Confirm { variants: vec![Variant::Main], freeze_ms: 16_000.0, from_link: false }));
        let Request::Ask(by_link) = form.request(&[Variant::Main], Asked::ByLink, MS_PER_UNIT, limits()) else {
            panic!("a link asks too")
        };
        assert!(by_link.from_link);
        let Request::Run(configs) = form.request(&[Variant::Main], Asked::Accepted, MS_PER_UNIT, limits()) else {
            panic!("an accepted freeze runs")
        };
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].as_ref().unwrap().tasks, 4);
        // Off the page's thread nothing freezes.
        let Request::Run(configs) = form.request(&[Variant::ThreadsGil], Asked::ByClick, MS_PER_UNIT, limits()) else {
            panic!("threads do not freeze the page")
        };
        assert_eq!(configs[0].as_ref().unwrap().engine, Engine::Threads);
        // Compare all four: the main-thread run alone counts, and every set-up is run in order.
        let all = form.request(&Variant::ALL, Asked::Accepted, MS_PER_UNIT, limits());
        let Request::Run(configs) = all else { panic!("accepted") };
        let variants: Vec<_> = configs.iter().map(|c| c.as_ref().unwrap().variant()).collect();
        assert_eq!(variants, Variant::ALL);
        // A short run is not asked about.
        let short = edited(vec![Edit::Duration("100".into())]);
        assert!(matches!(short.request(&[Variant::Main], Asked::ByClick, MS_PER_UNIT, limits()), Request::Run(_)));
    }

    #[test]
    fn a_request_stops_before_anything_runs_only_for_the_cpu_size() {
        let form = edited(vec![Edit::Workload(Workload::Cpu), Edit::CpuMs("x".into())]);
        let Request::Invalid(errors) = form.request(&Variant::ALL, Asked::ByClick, MS_PER_UNIT, limits()) else {
            panic!("not run")
        };
        assert_eq!(fields(&errors), ["units"]);
        // Other fields are checked run by run: the main thread ignores a bad workers field, the
        // threads run after it reports it.
        let form = edited(vec![Edit::Workers("0".into())]);
        let Request::Run(configs) = form.request(&Variant::ALL, Asked::Accepted, MS_PER_UNIT, limits()) else {
            panic!("runs")
        };
        assert!(configs[0].is_ok());
        assert_eq!(fields(configs[1].as_ref().unwrap_err()), ["workers"]);
    }

    #[test]
    fn only_a_run_from_the_api_rewrites_the_form() {
        let form = edited(vec![Edit::Engine(Engine::Processes), Edit::Tasks(" 3".into()), Edit::Workers("2".into())]);
        let api_run =
            RunConfig { engine: Engine::Threads, tasks: 5, workers: 4, gil: false, ..RunConfig::notebook_preset() };
        let mut page = form.clone();
        page.run_started(&api_run, Origin::Page, MS_PER_UNIT);
        assert_eq!(page, form, "a run from the page leaves what was typed");
        let mut api = form.clone();
        api.run_started(&api_run, Origin::Api, MS_PER_UNIT);
        assert_eq!(api, Form::from_config(&api_run, MS_PER_UNIT));
        assert_eq!((api.engine, api.tasks.as_str(), api.workers.as_str(), api.gil), (Engine::Threads, "5", "4", false));
        // The main thread's one worker does not overwrite the workers typed for the others.
        let mut main = form.clone();
        main.run_started(&RunConfig::notebook_preset().on(Variant::Main), Origin::Api, MS_PER_UNIT);
        assert_eq!((main.engine, main.workers.as_str()), (Engine::Main, "2"));
    }

    #[test]
    fn a_form_survives_its_own_link() {
        let form = edited(vec![
            Edit::Engine(Engine::Processes),
            Edit::Workload(Workload::Cpu),
            Edit::CpuMs("120".into()),
            Edit::Tasks("6".into()),
            Edit::Gil(false),
            Edit::BadKind("hang".into()),
            Edit::BadId("5".into()),
            Edit::Timeout("700".into()),
        ]);
        let pairs: Vec<(String, String)> = form.link_pairs().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let mut opened = preset();
        opened.apply_link(&pairs);
        assert_eq!(opened, form);
        // The default timeout, with no bad task, stays out of the link.
        assert!(!preset().link_pairs().iter().any(|(k, _)| *k == "timeout_ms"));
    }

    #[test]
    fn a_link_s_autorun_says_why_it_asks_after_the_link_s_own_notice() {
        let why = autorun_notice(16_000.0, None);
        assert!(why.starts_with("This link asks to run on the main thread right away, which would freeze the page for about 16 s: a link never starts a freeze of more than 10 s."), "{why}");
        assert_eq!(autorun_notice(16_000.0, Some("Ignored x.")), format!("Ignored x. {why}"));
    }
}
