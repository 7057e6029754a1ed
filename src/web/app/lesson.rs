//! The Lesson tab (issue 16): the notebook's argument, each claim an experiment to predict, run in
//! place and have explained. What it says and how a prediction compares is `core::lesson`; this
//! draws it, runs the cells through the runner (as the Code view does) and keeps the progress
//! in localStorage.

use super::run::{use_run, RunOutput};
use super::Panel;
use crate::core::lesson::{self, Ask, Block, Experiment, Judgement, Outcome, Prediction, Progress, SECTIONS};
use crate::core::program::ProgramOptions;
use crate::core::program_view::summary;
use crate::web::runner::{self, Shown};
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
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
    // Saved at each change, not at the first render: a value set aside stays until then.
    let first = use_mut_ref(|| true);
    use_effect_with((*progress).clone(), move |p| {
        if !std::mem::replace(&mut *first.borrow_mut(), false) {
            if let Some(s) = storage() {
                // Nothing to keep (after Reset, or every prediction taken back): nothing kept.
                let _ = if *p == Progress::default() {
                    s.remove_item(lesson::STORAGE_KEY)
                } else {
                    s.set_item(lesson::STORAGE_KEY, &p.to_json())
                };
            }
        }
    });
    // `#section` on load: the browser looked for it before the page was drawn.
    use_effect_with((), |()| {
        let Some(window) = web_sys::window() else { return };
        let hash = window.location().hash().unwrap_or_default();
        let id = hash.trim_start_matches('#');
        if !id.is_empty() {
            if let Some(el) = window.document().and_then(|d| d.get_element_by_id(id)) {
                el.scroll_into_view();
            }
        }
    });

    let on_predict = {
        let progress = progress.clone();
        Callback::from(move |(id, p): (&'static str, Option<Prediction>)| {
            let mut next = (*progress).clone();
            match p {
                Some(p) => next.predictions.insert(id.to_owned(), p),
                None => next.predictions.remove(id),
            };
            progress.set(next);
        })
    };
    let on_outcome = {
        let progress = progress.clone();
        Callback::from(move |(id, o): (&'static str, Outcome)| {
            let mut next = (*progress).clone();
            next.outcomes.insert(id.to_owned(), o);
            progress.set(next);
        })
    };
    let on_forget = {
        let progress = progress.clone();
        Callback::from(move |e: &'static Experiment| {
            let mut next = (*progress).clone();
            next.forget(e);
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
    let block = |b: &Block| match *b {
        Block::Para(text) => raw(lesson::para_html(text)),
        Block::Link { query, label } => {
            let on_panel = props.on_panel.clone();
            let onclick = Callback::from(move |e: MouseEvent| {
                e.prevent_default();
                on_panel.emit(Panel::Refcount);
            });
            html! { <p><a href={query} {onclick} data-testid="lesson-link">{label}{" →"}</a></p> }
        }
        Block::Experiment(id) => cell(id),
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
            <nav aria-label="Sections of the lesson">{raw(lesson::toc_html())}</nav>
            {for SECTIONS.iter().map(|s| html!{
                <section class="lesson-section" id={s.id} aria-labelledby={format!("{}-title", s.id)} data-testid={format!("section-{}", s.id)}>
                    <h3 id={format!("{}-title", s.id)}>{s.title}</h3>
                    {for s.blocks.iter().map(block)}
                </section>
            })}
        </article>
    }
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
    // What the student typed, per question (a number is checked as it is typed).
    let typed = use_state(|| {
        props
            .predictions
            .iter()
            .map(|p| match p {
                Some(Prediction::Seconds(n)) => n.to_string(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
    });
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
        let (on_forget, typed) = (props.on_forget.clone(), typed.clone());
        Callback::from(move |_: MouseEvent| {
            typed.set(vec![String::new(); e.questions.len()]);
            on_forget.emit(e);
        })
    };

    let questions = e.questions.iter().enumerate().map(|(i, q)| {
        let field = format!("{}-predict", q.id.replace('.', "-"));
        match &q.ask {
            Ask::Seconds { .. } => {
                let text = typed.get(i).cloned().unwrap_or_default();
                let error = (!text.trim().is_empty()).then(|| Prediction::parse(q, &text).err()).flatten();
                let oninput = {
                    let (typed, on_predict) = (typed.clone(), props.on_predict.clone());
                    Callback::from(move |ev: InputEvent| {
                        let value = ev.target_unchecked_into::<HtmlInputElement>().value();
                        let mut next = (*typed).clone();
                        if let Some(slot) = next.get_mut(i) {
                            slot.clone_from(&value);
                        }
                        typed.set(next);
                        on_predict.emit((q.id, Prediction::parse(q, &value).ok()));
                    })
                };
                let error_id = format!("{field}-error");
                html! {
                    <div class={classes!("field", error.is_some().then_some("invalid"))}>
                        <label for={field.clone()}>{q.prompt}</label>
                        <div class="with-unit">
                            <input id={field.clone()} type="text" inputmode="decimal" autocomplete="off" value={text}
                                {oninput} disabled={locked} aria-invalid={error.is_some().to_string()}
                                aria-describedby={error.is_some().then(|| error_id.clone())} data-testid={format!("predict-{}", q.id)} />
                            <span aria-hidden="true">{"seconds"}</span>
                        </div>
                        if let Some(why) = error {
                            <p class="field-error" id={error_id}>{why}</p>
                        }
                    </div>
                }
            }
            Ask::Ratio { .. } | Ask::Printed { .. } => {
                let choices = q.ask.choices();
                let chosen = match &props.predictions.get(i) {
                    Some(Some(Prediction::Choice(key))) => Some(key.clone()),
                    _ => None,
                };
                html! {
                    <fieldset class="picks" data-testid={format!("predict-{}", q.id)}>
                        <legend>{q.prompt}</legend>
                        {for choices.iter().map(|c| {
                            let onchange = {
                                let on_predict = props.on_predict.clone();
                                Callback::from(move |_: Event| on_predict.emit((q.id, Some(Prediction::Choice(c.key.to_owned())))))
                            };
                            html! {
                                <label class="pick">
                                    <input type="radio" name={field.clone()} value={c.key} checked={chosen.as_deref() == Some(c.key)}
                                        disabled={locked} {onchange} />
                                    {c.label}
                                </label>
                            }
                        })}
                    </fieldset>
                }
            }
        }
    });

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
            <h4>{e.title}</h4>
            <pre class="cell" tabindex="0" aria-label={format!("The cell: {}", e.title)}><code>{e.source()}</code></pre>
            <fieldset class="predict">
                <legend>{if e.questions.len() == 1 { "Your prediction" } else { "Your predictions" }}</legend>
                {for questions}
            </fieldset>
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
