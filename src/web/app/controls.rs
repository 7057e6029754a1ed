//! The experiment's settings and the Run buttons.

use crate::core::config::{describe_freeze, Engine, FieldError, Limits, Variant, Workload, MAX_DURATION_MS, MAX_TASKS};
use crate::core::form::{units_for_ms, Confirm, Edit, Form};
use crate::core::layout::settings_summary;
use crate::core::timeline::format_ms;
use std::collections::HashMap;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub form: Form,
    pub errors: Vec<FieldError>,
    pub busy: bool,
    pub preparing: Option<Engine>,
    pub ms_per_unit: f64,
    pub max_units: u32,
    pub cores: u32,
    /// Why an engine cannot run here, for each engine that cannot.
    pub engine_errors: HashMap<Engine, String>,
    pub on_edit: Callback<Edit>,
    /// A long freeze waiting to be accepted: Run becomes the question.
    pub confirm: Option<Confirm>,
    /// Runs the form on these set-ups, one after another (asking first before a long freeze).
    pub on_run: Callback<Vec<Variant>>,
    /// The answer to `confirm`: `true` runs, `false` cancels.
    pub on_confirm: Callback<bool>,
    /// In an embed the settings start folded, so that Run and the result show first.
    #[prop_or_default]
    pub embedded: bool,
}

fn text_input(
    id: &str,
    label: &str,
    value: &str,
    hint: Html,
    error: Option<&str>,
    disabled: bool,
    on: Callback<String>,
) -> Html {
    let oninput = Callback::from(move |e: InputEvent| on.emit(e.target_unchecked_into::<HtmlInputElement>().value()));
    let error_id = format!("{id}-error");
    html! {
        <div class={classes!("field", error.map(|_| "invalid"))}>
            <label for={id.to_owned()}>{label}</label>
            <input id={id.to_owned()} type="text" inputmode="numeric" value={value.to_owned()} {oninput} {disabled}
                aria-invalid={error.is_some().to_string()}
                aria-describedby={error.map(|_| error_id.clone())} />
            <div class="hint">{hint}</div>
            if let Some(error) = error {
                <div class="error" id={error_id} role="alert" data-testid={format!("{id}-error")}>{error}</div>
            }
        </div>
    }
}

#[function_component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    let form = &props.form;
    let error = |field: &str| props.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str());
    let edit = |make: fn(String) -> Edit| props.on_edit.reform(make);

    let workload_choice = |workload: Workload, title: &str, sub: &str| {
        let on_edit = props.on_edit.clone();
        html! {
            <label class={classes!("choice", (form.workload == workload).then_some("chosen"))}>
                <input type="radio" name="workload" value={workload.key()} checked={form.workload == workload}
                    onchange={Callback::from(move |_| on_edit.emit(Edit::Workload(workload)))} />
                <span class="choice-title">{title}</span>
                <span class="choice-sub">{sub}</span>
            </label>
        }
    };
    let engine_choice = |engine: Engine| {
        let on_edit = props.on_edit.clone();
        let unavailable = props.engine_errors.contains_key(&engine);
        html! {
            <label class={classes!("choice", format!("engine-{}", engine.key()), (form.engine == engine).then_some("chosen"))}>
                <input type="radio" name="engine" value={engine.key()} checked={form.engine == engine}
                    data-testid={format!("engine-{}", engine.key())}
                    onchange={Callback::from(move |_| on_edit.emit(Edit::Engine(engine)))} />
                <span class="choice-title">{engine.label()}{unavailable.then_some(" ⚠")}</span>
            </label>
        }
    };

    let size_field = match form.workload {
        Workload::Io => text_input(
            "duration",
            "Each task waits (ms)",
            &form.duration_ms,
            html! { {format!("1–{MAX_DURATION_MS} ms of blocking wait, like time.sleep")} },
            error("duration_ms"),
            false,
            edit(Edit::Duration),
        ),
        Workload::Cpu => {
            let hint = match units_for_ms(&form.cpu_ms, props.ms_per_unit) {
                Ok(units) => format!(
                    "= {units} work unit{} of 2²⁰ steps; one unit takes {} on this device (max {})",
                    if units == 1 { "" } else { "s" },
                    format_ms(props.ms_per_unit),
                    props.max_units
                ),
                Err(_) => format!("one work unit takes {} on this device", format_ms(props.ms_per_unit)),
            };
            text_input(
                "cpu-ms",
                "Each task computes for about (ms)",
                &form.cpu_ms,
                html! {{hint}},
                error("units"),
                false,
                edit(Edit::CpuMs),
            )
        }
    };
    let lanes = form.engine.info().workers_hint(props.cores);
    let variant = form.variant();
    let run_one = props.on_run.reform(move |_: MouseEvent| vec![variant]);
    let run_all = props.on_run.reform(|_: MouseEvent| Variant::ALL.to_vec());
    let on_gil = {
        let on_edit = props.on_edit.clone();
        Callback::from(move |e: Event| on_edit.emit(Edit::Gil(e.target_unchecked_into::<HtmlInputElement>().checked())))
    };
    let preset = props.on_edit.reform(|_: MouseEvent| Edit::Preset);
    let limits = Limits { max_units: props.max_units };
    // What the page will go through, said before it happens: on the main thread it freezes.
    let freeze = match form.engine {
        Engine::Main => form
            .freeze_ms(&[variant], props.ms_per_unit, limits)
            .map(|ms| format!("The page will freeze for {}.", describe_freeze(ms))),
        _ => form.freeze_ms(&Variant::ALL, props.ms_per_unit, limits).map(|ms| {
            format!("Compare all four will freeze the page for {}, during its main-thread run.", describe_freeze(ms))
        }),
    };
    let cancel_ref = use_node_ref();
    let run_ref = use_node_ref();
    // Focus follows the question: to Cancel (the harmless answer) when it appears, back to Run
    // when it is answered, so a keyboard user is never left on a button that vanished.
    {
        let (cancel_ref, run_ref) = (cancel_ref.clone(), run_ref.clone());
        let asked = use_mut_ref(|| false);
        let asking = props.confirm.as_ref().map(|c| c.from_link);
        use_effect_with(asking, move |asking| {
            let target = match (asking.is_some(), *asked.borrow()) {
                (true, _) if *asking == Some(true) => None,
                (true, _) => Some(cancel_ref),
                (false, true) => Some(run_ref),
                (false, false) => None,
            };
            if let Some(el) = target.and_then(|r| r.cast::<web_sys::HtmlElement>()) {
                let _ = el.focus();
            }
            *asked.borrow_mut() = asking.is_some();
        });
    }
    let on_escape = {
        let on_confirm = props.on_confirm.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                on_confirm.emit(false);
            }
        })
    };
    let status = match (props.preparing, props.busy) {
        (Some(Engine::Main), _) => "Running on the main thread: the page freezes until it ends…".to_owned(),
        (Some(engine), _) => format!("Starting the {} engine…", engine.label().to_lowercase()),
        (None, true) => "Running…".to_owned(),
        (None, false) => String::new(),
    };

    // A field that needs fixing is shown, even in a folded embed.
    let settings = use_node_ref();
    {
        let settings = settings.clone();
        use_effect_with(props.errors.clone(), move |errors| {
            if let (false, Some(details)) = (errors.is_empty(), settings.cast::<web_sys::Element>()) {
                let _ = details.set_attribute("open", "");
            }
        });
    }

    html! {
        <section class="card controls" aria-labelledby="controls-title">
            <h2 id="controls-title">{"Experiment"}</h2>
            // Folded in an embed; at wide widths it scrolls on its own, so that Run below it stays
            // in view. (`open` never changes here: yew would fold it again under the user's hands.)
            <details class="settings" ref={settings} open={!props.embedded} data-testid="settings">
            <summary><span class="summary-title">{"Settings"}</span>
                <span class="summary-line" data-testid="settings-summary">{settings_summary(form.engine, form.gil, form.workload, &form.tasks,
                    if form.workload == Workload::Io { &form.duration_ms } else { &form.cpu_ms }, &form.bad_kind)}</span></summary>
            <fieldset>
                <legend>{"Workload"}</legend>
                <div class="choices two">
                    {workload_choice(Workload::Io, "I/O-bound", "waits, like a download")}
                    {workload_choice(Workload::Cpu, "CPU-bound", "computes, checked result")}
                </div>
            </fieldset>
            <fieldset>
                <legend>{"Engine"}</legend>
                <div class="choices three">
                    {for Engine::ALL.into_iter().map(engine_choice)}
                </div>
                <p class="blurb">{form.engine.info().blurb}</p>
                if form.engine == Engine::Main && form.workload == Workload::Io {
                    <p class="caveat">{"Browsers forbid blocking waits on the page's thread, so here the wait spins \
                        (it keeps a core busy, which time.sleep would not). In workers it is a real sleep."}</p>
                }
                if let Some(why) = props.engine_errors.get(&form.engine) {
                    <p class="error" role="alert">{why}</p>
                }
            </fieldset>
            if let Some(note) = form.engine.info().gil_note(form.gil) {
                <fieldset class="gil">
                    <legend>{"Global Interpreter Lock"}</legend>
                    <label class="toggle">
                        <input type="checkbox" checked={form.gil} onchange={on_gil} data-testid="gil" />
                        <span>{"A thread must hold the GIL to run Python code, as in CPython"}</span>
                    </label>
                    <p class="hint">{note}</p>
                    if form.gil {
                        {text_input("switch-interval", "Switch interval (ms)", &form.switch_interval_ms,
                            html!{{"0.1–100 ms; CPython's default is 5 (sys.getswitchinterval())"}},
                            error("switch_interval_ms"), false, edit(Edit::SwitchInterval))}
                    }
                </fieldset>
            }
            <fieldset class="failure">
                <legend>{"Make one task fail"}</legend>
                <select aria-label="How the bad task fails" data-testid="bad-kind"
                    onchange={props.on_edit.reform(|e: Event| Edit::BadKind(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                    <option value="" selected={form.bad_kind.is_empty()}>{"No: every task is fine"}</option>
                    <option value="panic" selected={form.bad_kind == "panic"}>{"One task panics halfway"}</option>
                    <option value="hang" selected={form.bad_kind == "hang"}>{"One task never returns"}</option>
                </select>
                if !form.bad_kind.is_empty() {
                    {text_input("bad-id", "Bad task number", &form.bad_id, html!{{"counted from 0"}}, error("bad_task"), false, edit(Edit::BadId))}
                    {text_input("timeout", "Timeout (ms)", &form.timeout_ms, html!{{form.engine.info().timeout_note}}, error("timeout_ms"), false, edit(Edit::Timeout))}
                    <p class="hint">{form.engine.info().crash_note}</p>
                }
            </fieldset>
            <div class="fields">
                {text_input("tasks", "Tasks", &form.tasks, html!{{format!("1–{MAX_TASKS}")}}, error("tasks"), false, edit(Edit::Tasks))}
                {size_field}
                {text_input("workers", "Workers", if form.engine == Engine::Main { "1" } else { &form.workers },
                    html!{{lanes}}, error("workers"), form.engine == Engine::Main, edit(Edit::Workers))}
                // Every main-thread task is bounded by it, so it is always at hand there.
                if form.engine == Engine::Main && form.bad_kind.is_empty() {
                    {text_input("timeout", "Timeout (ms)", &form.timeout_ms,
                        html!{{"a task running longer is stopped there; the next one runs"}},
                        error("timeout_ms"), false, edit(Edit::Timeout))}
                }
            </div>
            </details>
            if let Some(message) = error("engine").or(error("workload")) {
                <p class="error" role="alert">{message}</p>
            }
            if let Some(confirm) = &props.confirm {
                <div class="actions confirm" role="group" aria-labelledby="confirm-question" data-testid="confirm"
                    onkeydown={on_escape}>
                    <p class="confirm-question" id="confirm-question" data-testid="confirm-question">
                        {format!("Freeze the page for {}?", describe_freeze(confirm.freeze_ms))}</p>
                    <button class="primary" onclick={props.on_confirm.reform(|_: MouseEvent| true)} disabled={props.busy}
                        data-testid="confirm-run">{"Confirm"}</button>
                    <button ref={cancel_ref} onclick={props.on_confirm.reform(|_: MouseEvent| false)}
                        data-testid="confirm-cancel">{"Cancel"}</button>
                </div>
            } else {
                <div class="actions">
                    <button class="primary" ref={run_ref} onclick={run_one} disabled={props.busy} data-testid="run">
                        {format!("Run on {}", form.engine.label().to_lowercase())}
                    </button>
                    <button onclick={run_all} disabled={props.busy} data-testid="run-all"
                        title="Sequential, threads with the GIL, free-threaded threads and processes, one after another">
                        {"Compare all four"}</button>
                    <button class="link" onclick={preset} disabled={props.busy}>{"Notebook preset"}</button>
                </div>
            }
            if let (Some(freeze), None) = (freeze, &props.confirm) {
                <p class="hint freeze" data-testid="freeze">{freeze}</p>
            }
            <p class="status" aria-live="polite" data-testid="status">{status}</p>
        </section>
    }
}
