//! The Lesson tab (issue 16): the notebook's argument, each claim an experiment to predict, run in
//! place and have explained. What it says and how a prediction compares is `core::lesson`; this
//! draws it, runs the cells through the runner (as the Code view does) and keeps the progress
//! in localStorage.

use super::run::{use_run, RunOutput};
use super::Panel;
use crate::core::lesson::{self, Experiment, Judgement, Outcome, Prediction, Progress};
use crate::core::program::ProgramOptions;
use crate::core::program_view::summary;
use crate::web::runner::{self, Shown};
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Keeps the progress at each change (not on the first look: a value set aside stays until then),
/// in the handlers themselves rather than in an effect on it (less shipped wasm).
fn save(p: &Progress) {
    if let Some(s) = storage() {
        // Nothing to keep (after Reset, or every prediction taken back): nothing kept.
        let _ = if *p == Progress::default() {
            s.remove_item(lesson::STORAGE_KEY)
        } else {
            s.set_item(lesson::STORAGE_KEY, &p.to_json())
        };
    }
}

#[derive(Properties, PartialEq)]
pub struct LessonProps {
    /// Opens a cell's code in the Code view, without running it.
    pub on_open: Callback<String>,
    /// Shows another tab.
    pub on_panel: Callback<Panel>,
}

#[function_component(Lesson)]
pub fn lesson(props: &LessonProps) -> Html {
    let loaded = use_memo((), |()| {
        let saved = storage().and_then(|s| s.get_item(lesson::STORAGE_KEY).ok().flatten());
        Progress::load(saved.as_deref())
    });
    let progress = use_state(|| loaded.0.clone());
    let notice = use_state(|| loaded.1.clone());
    // Cells are drawn anew after Reset (their output and timeline go too).
    let resets = use_state(|| 0u32);
    // The lesson's text (core::lesson::page_html, a file of the site) is fetched when the tab first
    // opens, not shipped in the page's wasm; each experiment's cell goes into its box in it.
    let body = use_node_ref();
    let slots = use_state(Vec::<(&'static str, web_sys::Element)>::new);
    let unloaded = use_state(|| None::<String>);
    {
        let (body, slots, unloaded) = (body.clone(), slots.clone(), unloaded.clone());
        use_effect_with((), move |()| {
            wasm_bindgen_futures::spawn_local(async move {
                let Some(el) = body.cast::<web_sys::Element>() else { return };
                match fetch_text(lesson::PAGE_URL).await {
                    Ok(text) => {
                        el.set_inner_html(&text);
                        slots.set(
                            lesson::EXPERIMENTS
                                .iter()
                                .filter_map(|e| {
                                    el.query_selector(&format!("[data-cell=\"{}\"]", e.id))
                                        .ok()
                                        .flatten()
                                        .map(|s| (e.id, s))
                                })
                                .collect(),
                        );
                    }
                    Err(why) => unloaded.set(Some(why)),
                }
            });
        });
    }
    // `#section` on load: the browser looked for it before the lesson's text was there.
    use_effect_with(slots.len(), |n| {
        let Some(window) = web_sys::window().filter(|_| *n > 0) else { return };
        let hash = window.location().hash().unwrap_or_default();
        let id = hash.trim_start_matches('#');
        if !id.is_empty() {
            if let Some(el) = window.document().and_then(|d| d.get_element_by_id(id)) {
                el.scroll_into_view();
            }
        }
    });
    // The text's links to other tabs: one listener for all.
    let on_link = {
        let on_panel = props.on_panel.clone();
        Callback::from(move |e: MouseEvent| {
            let link = e
                .target_dyn_into::<web_sys::Element>()
                .and_then(|t| t.closest("[data-testid=lesson-link]").ok().flatten());
            if link.is_some() {
                e.prevent_default();
                on_panel.emit(Panel::Refcount);
            }
        })
    };

    let on_predict = {
        let progress = progress.clone();
        Callback::from(move |(id, p): (&'static str, Option<Prediction>)| {
            let mut next = (*progress).clone();
            match p {
                Some(p) => next.predictions.insert(id.to_owned(), p),
                None => next.predictions.remove(id),
            };
            save(&next);
            progress.set(next);
        })
    };
    let on_outcome = {
        let progress = progress.clone();
        Callback::from(move |(id, o): (&'static str, Outcome)| {
            let mut next = (*progress).clone();
            next.outcomes.insert(id.to_owned(), o);
            save(&next);
            progress.set(next);
        })
    };
    let on_forget = {
        let progress = progress.clone();
        Callback::from(move |e: &'static Experiment| {
            let mut next = (*progress).clone();
            next.forget(e);
            save(&next);
            progress.set(next);
        })
    };
    let on_reset = {
        let (progress, notice, resets) = (progress.clone(), notice.clone(), resets.clone());
        Callback::from(move |_: MouseEvent| {
            progress.set(Progress::default());
            resets.set(*resets + 1);
            // Also when the progress was empty already: a value set aside goes now.
            if let Some(s) = storage() {
                let _ = s.remove_item(lesson::STORAGE_KEY);
            }
            notice.set(Some("Your predictions and results are cleared: the lesson starts afresh.".to_owned()));
        })
    };
    let (done, all) = progress.done();
    let cell = |id: &str| {
        let Some(e) = lesson::experiment(id) else { return Html::default() };
        html! {
            <Cell key={format!("{id}-{}", *resets)} experiment={e}
                predictions={e.questions.iter().map(|q| progress.predictions.get(q.id).cloned()).collect::<Vec<_>>()}
                outcome={progress.outcomes.get(e.id).cloned()} judgements={progress.judgements(e)}
                on_predict={on_predict.clone()} on_outcome={on_outcome.clone()} on_forget={on_forget.clone()}
                on_open={props.on_open.clone()} />
        }
    };
    html! {
        <article class="card lesson" aria-labelledby="lesson-title" data-testid="lesson">
            <div class="card-head">
                <h2 id="lesson-title">{"Threads and processes: predict, run, explain"}</h2>
                <div class="lesson-progress">
                    <span data-testid="lesson-progress">{format!("{done} of {all} experiments run")}</span>
                    <button class="small" onclick={on_reset} data-testid="lesson-reset">{"Reset"}</button>
                </div>
            </div>
            <p class="lead">{"Every claim of the notebook is an experiment here. Predict what will happen, run the cell \
                (it runs in this page, on real threads and processes), and compare. Your predictions and results stay \
                in this browser."}</p>
            if let Some(text) = &*notice {
                <div class="notice" role="status" data-testid="lesson-notice">
                    <span>{text}</span>
                    <button class="link" onclick={{
                        let notice = notice.clone();
                        Callback::from(move |_: MouseEvent| notice.set(None))
                    }}>{"Dismiss"}</button>
                </div>
            }
            if let Some(why) = &*unloaded {
                <div class="py-error" role="alert" data-testid="lesson-unloaded">
                    {format!("The lesson's text could not be loaded ({why}): reload the page to try again.")}
                </div>
            }
            <div class="lesson-body" ref={body} onclick={on_link}></div>
            // In an element of their own: yew matches unkeyed siblings from the end, so a list
            // growing after the text's box would replace the box (and the text in it).
            <div class="lesson-cells" hidden=true>
                {for slots.iter().map(|(id, slot)| create_portal(cell(id), slot.clone()))}
            </div>
        </article>
    }
}

/// Marks a number field wrong (`why`) or not, as the page's other fields are marked.
fn show_error(input: &HtmlInputElement, why: Option<&String>) {
    let error_id = format!("{}-error", input.id());
    let _ = input.set_attribute("aria-invalid", if why.is_some() { "true" } else { "false" });
    let _ = match why {
        Some(_) => input.set_attribute("aria-describedby", &error_id),
        None => input.remove_attribute("aria-describedby"),
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Some(error) = document.get_element_by_id(&error_id) {
        error.set_text_content(why.map(String::as_str));
        let _ = error.toggle_attribute_with_force("hidden", why.is_none());
    }
    if let Some(field) = input.closest(".field").ok().flatten() {
        let _ = field.class_list().toggle_with_force("invalid", why.is_some());
    }
}

/// A file of the site, as text.
async fn fetch_text(url: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let shown = |e: wasm_bindgen::JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str(url)).await.map_err(shown)?.dyn_into().map_err(shown)?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(shown)?).await.map_err(shown)?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

fn raw(html: String) -> Html {
    Html::from_html_unchecked(html.into())
}

#[derive(Properties, PartialEq)]
struct CellProps {
    experiment: &'static Experiment,
    /// Per question, in order.
    predictions: Vec<Option<Prediction>>,
    outcome: Option<Outcome>,
    judgements: Vec<Option<Judgement>>,
    on_predict: Callback<(&'static str, Option<Prediction>)>,
    on_outcome: Callback<(&'static str, Outcome)>,
    on_forget: Callback<&'static Experiment>,
    on_open: Callback<String>,
}

/// One experiment: its cell, the predictions, Run, the run's output and timeline, the verdicts.
#[function_component(Cell)]
fn cell(props: &CellProps) -> Html {
    let e = props.experiment;
    let program = use_run();
    let failure = use_state(|| None::<String>);
    let running = *program.running;
    let locked = running || props.outcome.is_some();
    let predicted = props.predictions.iter().all(Option::is_some);

    let on_run = {
        let (program, failure, on_outcome) = (program.clone(), failure.clone(), props.on_outcome.clone());
        Callback::from(move |_: MouseEvent| {
            let view = {
                let program = program.clone();
                Callback::from(move |shown: Shown| program.show(shown))
            };
            failure.set(None);
            match runner::start_for(e.source().to_owned(), ProgramOptions::default(), view) {
                Ok(done) => {
                    let on_outcome = on_outcome.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = done.await;
                        on_outcome.emit((e.id, Outcome::of(e, &result)));
                    });
                }
                Err(why) => failure.set(Some(why)),
            }
        })
    };
    let on_stop = {
        let program = program.clone();
        Callback::from(move |_: MouseEvent| program.stop())
    };
    let on_open = {
        let on_open = props.on_open.clone();
        Callback::from(move |_: MouseEvent| on_open.emit(e.source().to_owned()))
    };
    let on_again = {
        let on_forget = props.on_forget.clone();
        Callback::from(move |_: MouseEvent| on_forget.emit(e))
    };
    // The form is markup (core::lesson::cell_html), drawn again only when it locks or unlocks:
    // while the student types it stays as it is, and this one listener reads every field.
    let form = use_mut_ref(|| None::<(bool, AttrValue)>);
    let form = {
        let mut form = form.borrow_mut();
        match &*form {
            Some((was, html)) if *was == locked => html.clone(),
            _ => {
                let html = AttrValue::from(lesson::cell_html(e, &props.predictions, locked));
                *form = Some((locked, html.clone()));
                html
            }
        }
    };
    let on_input = {
        let on_predict = props.on_predict.clone();
        Callback::from(move |ev: InputEvent| {
            let Some(input) = ev.target_dyn_into::<HtmlInputElement>() else { return };
            let id = input.get_attribute("data-q").unwrap_or_default();
            let Some(q) = e.questions.iter().find(|q| q.id == id) else { return };
            let value = input.value();
            let parsed = Prediction::parse(q, &value);
            if input.type_() == "text" {
                show_error(&input, parsed.as_ref().err().filter(|_| !value.trim().is_empty()));
            }
            on_predict.emit((q.id, parsed.ok()));
        })
    };

    let status = if running {
        "Running… the output and the timeline grow below.".to_owned()
    } else if let Some(r) = &*program.result {
        summary(r)
    } else if props.outcome.is_some() {
        "Run earlier; run it again to see its output and timeline.".to_owned()
    } else if predicted {
        "Ready: run the cell.".to_owned()
    } else {
        "Make your prediction first: Run waits for it.".to_owned()
    };
    let hint_id = format!("{}-status", e.id);
    let state = if running {
        "running"
    } else if props.outcome.is_some() {
        "done"
    } else if predicted {
        "predicted"
    } else {
        "new"
    };
    html! {
        <div class="experiment" id={e.id} data-testid={format!("experiment-{}", e.id)} data-state={state}>
            <div class="cell-form" oninput={on_input}>{Html::from_html_unchecked(form)}</div>
            <div class="actions lesson-actions">
                <button class="primary" onclick={on_run} disabled={!predicted || locked} aria-describedby={hint_id.clone()}
                    data-testid="lesson-run">{"Run the cell"}</button>
                <button onclick={on_stop} disabled={!running} data-testid="lesson-stop">{"Stop"}</button>
                <button onclick={on_open} data-testid="lesson-open">{"Open in the Code view"}</button>
                if props.outcome.is_some() && !running {
                    <button onclick={on_again} data-testid="lesson-again">{"Predict again"}</button>
                }
            </div>
            <p class="status" id={hint_id} aria-live="polite" data-testid="lesson-status">{status}</p>
            if let Some(why) = &*failure {
                <div class="py-error" role="alert" data-testid="lesson-failed">{why}</div>
            }
            if running || program.result.is_some() {
                <RunOutput run={program.clone()} title_id={format!("{}-terminal-title", e.id)} />
            }
            <div class="verdicts" aria-live="polite" data-testid="lesson-verdicts">
                if let Some(outcome) = &props.outcome {
                    {raw(lesson::verdicts_html(e, outcome, &props.judgements, program.result.is_some()))}
                }
            </div>
        </div>
    }
}
