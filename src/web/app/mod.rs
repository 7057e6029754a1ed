//! The page, in yew: one reducer ([`state`]) and one component per file.

pub mod code;
pub mod controls;
pub mod differences;
pub mod export;
pub mod heartbeat;
pub mod inspector;
pub mod lesson;
pub mod memory;
pub mod python;
pub mod run;
pub mod state;
pub mod timeline;

use crate::core::config::{BadKind, RunConfig, Variant, Workload};
use crate::core::form::{self, Asked, Origin, Request};
use crate::core::live::LiveFeed;
use crate::core::permalink;
use crate::web::engines::Progress;
use crate::web::lab::{Lab, LabEvent};
use state::{Action, State};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[derive(Clone, Properties)]
pub struct AppProps {
    pub lab: Rc<Lab>,
}

impl PartialEq for AppProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.lab, &other.lab)
    }
}

impl AppProps {
    /// Threads and processes started before the first run: the notebook's two.
    pub const DEFAULT_WORKERS: u32 = 2;
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let lab = props.lab.clone();
    // The experiment in the URL: checked parameter by parameter; bad ones are reported.
    let link = use_memo((), |()| {
        let query = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
        permalink::read(&query)
    });
    let link_value = |key: &str| link.get(key).map(str::to_owned);
    let state = use_reducer(|| {
        let mut state = State::new(lab.ms_per_unit);
        // Known before any event: the lab may report it before this component listens.
        if let Some(why) = &lab.threads_unavailable {
            state.engine_errors.insert(crate::core::config::Engine::Threads, why.clone());
        }
        state.form.apply_link(&link.pairs);
        state.notice = link.notice();
        state
    });
    let script = use_state(|| link_value("script").unwrap_or_else(|| crate::core::presets::PRESETS[0].1.to_owned()));
    // ?embed=1: a compact page for an iframe in a course site.
    let embedded = link_value("embed").as_deref() == Some("1");
    let show_embed = use_state(|| false);
    // ?cell=<id>: one cell of the lesson alone (with embed=1, in a course's page).
    let cell = link_value("cell");
    let embed_cell = use_state(|| 0usize);

    // Everything the lab does (for the Run button or the API) reaches the page here. A
    // run's progress goes to the live feed, which only the timeline reads, at its own pace.
    let feed = use_memo((), |()| LiveFeed::default());
    {
        let dispatcher = state.dispatcher();
        let feed = feed.clone();
        use_effect_with(Rc::as_ptr(&lab) as usize, {
            let lab = lab.clone();
            move |_| {
                lab.listen(Rc::new(move |event: LabEvent| match event {
                    LabEvent::Began { run, started_at } => feed.begin(run, started_at),
                    LabEvent::Progress { run, progress: Progress::Started { id, lane, at } } => {
                        feed.started(run, id, lane, at);
                    }
                    LabEvent::Progress { run, progress: Progress::Ended { id, lane, at } } => {
                        feed.ended(run, id, lane, at);
                    }
                    event => dispatcher.dispatch(Action::Lab(event)),
                }));
            }
        });
    }

    let on_edit = {
        let dispatcher = state.dispatcher();
        Callback::from(move |edit| dispatcher.dispatch(Action::Edit(edit)))
    };
    // Runs the form on these set-ups, one after another; `Accepted`: the freeze was accepted.
    let start = {
        let (lab, state) = (lab.clone(), state.clone());
        Callback::from(move |(variants, asked): (Vec<Variant>, Asked)| {
            match state.form.request(&variants, asked, lab.ms_per_unit, lab.limits()) {
                Request::Invalid(errors) => state.dispatch(Action::Errors(errors)),
                // Asked on the page (not window.confirm, which would block it too, and which
                // tests and screen readers cannot see into).
                Request::Ask(confirm) => state.dispatch(Action::Confirm(Some(confirm))),
                Request::Run(configs) => {
                    state.dispatch(Action::Confirm(None));
                    let (lab, dispatcher) = (lab.clone(), state.dispatcher());
                    wasm_bindgen_futures::spawn_local(async move {
                        for config in configs {
                            // The lab reports failures to the page itself; stop a sequence at the first.
                            let ran = match config {
                                Ok(config) => lab.run(config, Origin::Page).await.is_ok(),
                                Err(errors) => {
                                    dispatcher.dispatch(Action::Errors(errors));
                                    false
                                }
                            };
                            if !ran {
                                break;
                            }
                        }
                    });
                }
            }
        })
    };
    let on_run = start.reform(|variants: Vec<Variant>| (variants, Asked::ByClick));
    let on_confirm = {
        let (start, state) = (start.clone(), state.clone());
        Callback::from(move |accepted: bool| match (&state.confirm, accepted) {
            (Some(confirm), true) => start.emit((confirm.variants.clone(), Asked::Accepted)),
            _ => state.dispatch(Action::Confirm(None)),
        })
    };
    let on_experiment = {
        let lab = lab.clone();
        Callback::from(move |experiment: differences::Experiment| {
            let lab = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let (variants, config) = experiment_plan(experiment, &lab);
                for variant in variants {
                    if lab.run(config.on(variant), Origin::Page).await.is_err() {
                        break;
                    }
                }
            });
        })
    };
    let on_dismiss = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::DismissNotice))
    };

    let shown_config = state.live.as_ref().map(|l| l.config.clone()).unwrap_or_else(|| preview_config(&state, &lab));
    let panel = use_state(|| match link.panel() {
        Some("refcount") => Panel::Refcount,
        Some("code") => Panel::Code,
        Some("lesson") => Panel::Lesson,
        // A link to a section of the lesson (`#io-bound`) opens the lesson.
        None if lesson_anchor() => Panel::Lesson,
        _ => Panel::Lab,
    });
    // Drawn from its first look on, then kept while hidden: a cell may run on meanwhile.
    let lesson_seen = use_state(|| false);
    if *panel == Panel::Lesson && !*lesson_seen {
        lesson_seen.set(true);
    }
    // The Code view's program: from the link, or the first example.
    let code = use_state(|| link.code().unwrap_or_else(|| crate::core::programs::EXAMPLES[0].source.to_owned()));
    let autorun = link_value("autorun").as_deref() == Some("1");
    // A program to load into the Code view (and run): from the link's autorun, or "Edit and run".
    let load = use_state(|| {
        (autorun && *panel == Panel::Code).then(|| code::Load { serial: 0, code: (*code).clone(), run: true })
    });
    let on_edit_and_run = {
        let (load, panel) = (load.clone(), panel.clone());
        Callback::from(move |source: String| {
            let serial = load.as_ref().map_or(0, |l| l.serial + 1);
            load.set(Some(code::Load { serial, code: source, run: true }));
            panel.set(Panel::Code);
        })
    };
    // "Open in the Code view": a cell of the lesson, loaded there, not run.
    let on_open = {
        let (load, panel) = (load.clone(), panel.clone());
        Callback::from(move |source: String| {
            let serial = load.as_ref().map_or(0, |l| l.serial + 1);
            load.set(Some(code::Load { serial, code: source, run: false }));
            panel.set(Panel::Code);
        })
    };
    let on_panel = {
        let panel = panel.clone();
        Callback::from(move |p: Panel| panel.set(p))
    };
    let on_code = {
        let code = code.clone();
        Callback::from(move |s: String| code.set(s))
    };

    // The Code view's first look starts a program's process and its threads, so that Run finds
    // them ready; not before: a visit to the lab alone should not pay for them.
    // Likewise the Refcounts tab's first look starts the inspector's worker: on an isolated
    // page that fetches and compiles the VM's module it runs on (web::inspector), so the
    // first Step does not wait for it.
    let lab_for_panel = lab.clone();
    use_effect_with(*panel, move |panel| {
        if matches!(*panel, Panel::Code | Panel::Lesson) {
            crate::web::runner::warm_up();
        }
        if *panel == Panel::Refcount {
            wasm_bindgen_futures::spawn_local(async move { lab_for_panel.prepare_python().await });
        }
    });
    // Keep the URL in step with the experiment, so that the address bar is always a permalink.
    let cell_for_url = cell.clone();
    use_effect_with(
        (state.form.clone(), *panel, (*script).clone(), (*code).clone()),
        move |(form, panel, script, code)| {
            let mut pairs = vec![("panel", panel.key().to_owned())];
            if embedded {
                pairs.push(("embed", "1".to_owned()));
            }
            pairs.extend(form.link_pairs());
            if *panel == Panel::Refcount {
                pairs.push(("script", script.clone()));
            }
            if *panel == Panel::Code {
                pairs.push(("code", crate::core::compact::pack(code)));
            }
            if *panel == Panel::Lesson {
                pairs.push(("lesson", crate::core::lesson::LESSON.to_owned()));
                if let Some(cell) = &cell_for_url {
                    pairs.push(("cell", cell.clone()));
                }
            }
            if let Some(window) = web_sys::window() {
                // The lesson's `#section` stays in the address.
                let hash =
                    if *panel == Panel::Lesson { window.location().hash().unwrap_or_default() } else { String::new() };
                if let Ok(history) = window.history() {
                    let _ = history.replace_state_with_url(
                        &JsValue::NULL,
                        "",
                        Some(&format!("?{}{hash}", permalink::encode_query(&pairs))),
                    );
                }
            }
        },
    );
    // autorun=1: run the linked experiment once the page is up — unless it would freeze the
    // page longer than `config::CONFIRM_FREEZE_MS`: a link must not be able to lock up the tab it opens.
    // Then the page says why and asks, as for a click on Run.
    {
        let (start, state, lab) = (start.clone(), state.clone(), lab.clone());
        let autorun = autorun && *panel == Panel::Lab;
        use_effect_with((), move |()| {
            if autorun {
                let variants = vec![state.form.variant()];
                if let Request::Ask(confirm) =
                    state.form.request(&variants, Asked::ByLink, lab.ms_per_unit, lab.limits())
                {
                    state.dispatch(Action::Notice(form::autorun_notice(confirm.freeze_ms, state.notice.as_deref())));
                }
                start.emit((variants, Asked::ByLink));
            }
        });
    }
    let on_copy = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_: MouseEvent| {
            let Some(window) = web_sys::window() else { return };
            let href = window.location().href().unwrap_or_default();
            // navigator.clipboard is missing where the page is not a secure context.
            let clipboard = window.navigator().clipboard();
            let copied = !clipboard.is_undefined() && {
                let _ = clipboard.write_text(&href);
                true
            };
            let message = if copied { "Link copied: it opens this very experiment." } else { "Copy this link:" };
            dispatcher.dispatch(Action::Notice(format!("{message} {href}")));
        })
    };
    let on_script = {
        let script = script.clone();
        Callback::from(move |s: String| script.set(s))
    };
    let lab_ref = use_memo(Rc::as_ptr(&lab) as usize, {
        let lab = lab.clone();
        move |_| inspector::LabRef(lab)
    });
    let tab = |which: Panel, label: &str| {
        let p = panel.clone();
        let selected = *panel == which;
        html! {
            <button role="tab" aria-selected={selected.to_string()} class={classes!("tab", selected.then_some("selected"))}
                data-testid={format!("tab-{}", which.key())} onclick={Callback::from(move |_: MouseEvent| p.set(which))}>{label}</button>
        }
    };

    let heartbeat = html! {
        <heartbeat::Heartbeat last_gap={state.last_of(Variant::Main).and_then(|r| r.longest_frame_gap_ms)} />
    };

    html! {
        <div class={classes!("app", embedded.then_some("embedded"), (*panel == Panel::Lab).then_some("with-side"))} data-busy={state.busy().to_string()}>
            <header class="masthead">
                <div class="brand">
                    <h1>{"ThreadLab"}</h1>
                    <p class="tagline">{"Sequential code, threads and processes — measured in your browser."}</p>
                </div>
                <nav class="tabs" role="tablist" aria-label="Experiments">
                    {tab(Panel::Lab, "Threads & processes")}
                    {tab(Panel::Refcount, "Refcounts")}
                    {tab(Panel::Code, "Code")}
                    // An embed is one experiment in a course's page, which is the lesson there.
                    if !embedded || cell.is_some() {
                        {tab(Panel::Lesson, "Lesson")}
                    }
                </nav>
                <div class="share">
                if embedded {
                    <a class="open-full" href={full_page_url()} target="_blank" rel="noopener" data-testid="open-full">{"Open full playground ↗"}</a>
                } else {
                    <button class="copy-link" onclick={on_copy} data-testid="copy-link" title="Copy a link that opens this experiment">{"Copy link"}</button>
                    <button class="copy-link" data-testid="embed" aria-expanded={show_embed.to_string()} aria-controls="embed-panel" onclick={{
                        let show = show_embed.clone();
                        Callback::from(move |_: MouseEvent| show.set(!*show))
                    }}>{"Embed"}</button>
                }
                </div>
                // On the lab's tab the heartbeat sits under the Run button instead (below).
                if *panel != Panel::Lab {
                    {heartbeat.clone()}
                }
            </header>
            if *show_embed && !embedded {
                <section class="notice embed-dialog" id="embed-panel" aria-label="Embed this experiment">
                    if *panel == Panel::Lesson {
                        // The lesson offers a link to any section and one cell to embed.
                        <div class="embed-lesson">
                            <label for="embed-link">{"A link to the lesson: pick a section in its list first, and the link opens there."}</label>
                            <textarea id="embed-link" readonly=true rows="2" data-testid="embed-link" value={page_href()} />
                            <label for="embed-cell">{"Or embed one cell in your course page:"}</label>
                            <select id="embed-cell" data-testid="embed-cell" onchange={{
                                let embed_cell = embed_cell.clone();
                                Callback::from(move |e: Event| {
                                    let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                                    embed_cell.set(value.parse().unwrap_or(0));
                                })
                            }}>
                                {for crate::core::lesson::CELLS.iter().enumerate().map(|(i, (_, title))| html!{
                                    <option value={i.to_string()} selected={i == *embed_cell}>{*title}</option>
                                })}
                            </select>
                            <textarea id="embed-snippet" readonly=true rows="3" data-testid="embed-snippet" aria-label="The cell's embed code"
                                value={crate::core::lesson::cell_embed_html(&page_address(), crate::core::lesson::CELLS[(*embed_cell).min(crate::core::lesson::CELLS.len() - 1)].0)} />
                        </div>
                    } else {
                        <label for="embed-snippet">{"Paste this into your course page (works in Chromium even if the page is not cross-origin isolated):"}</label>
                        <textarea id="embed-snippet" readonly=true rows="3" data-testid="embed-snippet" value={embed_snippet()} />
                    }
                    <button class="link" onclick={{
                        let show = show_embed.clone();
                        Callback::from(move |_: MouseEvent| show.set(false))
                    }}>{"Close"}</button>
                </section>
            }
            if let Some(notice) = &state.notice {
                <div class="notice" role="alert" data-testid="notice">
                    <span>{notice}</span>
                    <button class="link" onclick={on_dismiss}>{"Dismiss"}</button>
                </div>
            }
            // Kept while hidden: a program may run on while another view is shown.
            <main class="single" hidden={*panel != Panel::Code}>
                <code::CodeView initial={(*code).clone()} load={(*load).clone()} on_change={on_code} />
            </main>
            if *lesson_seen {
                <main class="single" hidden={*panel != Panel::Lesson}>
                    <lesson::Lesson {on_open} {on_panel} cell={cell.clone()} />
                </main>
            }
            if *panel == Panel::Refcount {
                <main class="single">
                    <inspector::Inspector state={state.clone()} lab={lab_ref.clone()} initial={(*script).clone()} on_change={on_script} />
                </main>
            } else if *panel == Panel::Lab {
            // The settings, Run and the heartbeat: at wide widths a column of their own that
            // stays in view while the results scroll (www/style.css).
            <section class="side" aria-label="Run an experiment">
                <controls::Controls
                    form={state.form.clone()}
                    errors={state.errors.clone()}
                    busy={state.busy()}
                    preparing={state.preparing}
                    ms_per_unit={lab.ms_per_unit}
                    max_units={lab.limits().max_units}
                    cores={lab.cores}
                    engine_errors={state.engine_errors.clone()}
                    confirm={state.confirm.clone()}
                    {on_edit}
                    {on_run}
                    {on_confirm}
                    {embedded}
                />
                {heartbeat}
            </section>
            <main class="results">
                <timeline::Timelines state={state.clone()} feed={feed.clone()} />
                <differences::Differences state={state.clone()} {on_experiment} on_edit_and_run={on_edit_and_run.clone()} />
                <memory::Memory state={state.clone()} lab={lab_ref.clone()} />
                <python::PythonCode config={shown_config} {on_edit_and_run} />
            </main>
            }
            <footer class="footnote">
                {"Every bar is a task that really ran: its start and end are stamped where it ran, on one clock \
                  (performance.timeOrigin + performance.now()) shared by the page and every worker."}
            </footer>
        </div>
    }
}

/// Whether the address ends in `#id` of one of the lesson's sections or experiments.
fn lesson_anchor() -> bool {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let id = hash.trim_start_matches('#');
    crate::core::lesson::is_anchor(id)
}

/// This page's address without `embed=1`: the full playground, same experiment.
fn full_page_url() -> String {
    let Some(window) = web_sys::window() else { return String::new() };
    let href = window.location().href().unwrap_or_default();
    href.replace("&embed=1", "").replace("?embed=1&", "?").replace("?embed=1", "")
}

/// An iframe that embeds this very experiment in a course page.
/// This page's address as the address bar shows it.
fn page_href() -> String {
    web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default()
}

/// This page's address without its query or `#`.
fn page_address() -> String {
    let Some(location) = web_sys::window().map(|w| w.location()) else { return String::new() };
    format!("{}{}", location.origin().unwrap_or_default(), location.pathname().unwrap_or_default())
}

fn embed_snippet() -> String {
    let Some(window) = web_sys::window() else { return String::new() };
    let href = window.location().href().unwrap_or_default();
    let src = if href.contains('?') { format!("{href}&embed=1") } else { format!("{href}?embed=1") };
    format!(
        "<iframe src=\"{}\" width=\"100%\" height=\"760\" style=\"border:0\" allow=\"cross-origin-isolated\" title=\"ThreadLab\"></iframe>",
        src.replace('&', "&amp;").replace('"', "&quot;")
    )
}

/// The page's four views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Lab,
    Refcount,
    Code,
    Lesson,
}

impl Panel {
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Panel::Lab => "lab",
            Panel::Refcount => "refcount",
            Panel::Code => "code",
            Panel::Lesson => "lesson",
        }
    }
}

/// The config the form describes now (for the Python panel), or the preset if it does not parse.
fn preview_config(state: &State, lab: &Lab) -> RunConfig {
    state
        .form
        .config(state.form.variant(), lab.ms_per_unit, lab.limits())
        .unwrap_or_else(|_| RunConfig { engine: state.form.engine, ..RunConfig::notebook_preset() })
}

/// The runs behind a "Run the … experiment" link of the differences table.
fn experiment_plan(experiment: differences::Experiment, lab: &Lab) -> (Vec<Variant>, RunConfig) {
    let base = RunConfig::notebook_preset();
    match experiment {
        // The notebook's experiment, shortened to 1 s waits so it does not take 12 s.
        differences::Experiment::Io => (
            vec![Variant::Main, Variant::ThreadsGil, Variant::Processes],
            RunConfig { tasks: 2, duration_ms: 1000, ..base },
        ),
        // Tasks = cores, about half a second each on this device.
        differences::Experiment::Cpu => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let units = ((500.0 / lab.ms_per_unit).round() as u32).clamp(1, lab.limits().max_units);
            let tasks = lab.cores.clamp(2, 8);
            (Variant::ALL.to_vec(), RunConfig { workload: Workload::Cpu, tasks, units, workers: tasks, ..base })
        }
        // Four I/O tasks of 1 s, task 1 panics halfway: on threads, then on processes.
        differences::Experiment::Crash => (
            vec![Variant::ThreadsGil, Variant::Processes],
            RunConfig {
                tasks: 4,
                duration_ms: 1000,
                workers: 4,
                bad_task: Some(crate::core::config::BadTask { id: 1, kind: BadKind::Panic }),
                ..base
            },
        ),
    }
}
