//! The Code view: a student's own Python, run on real threads and processes (issue 14). The
//! editor, Run / Stop, the terminal and the program's timeline; what they show is worked out
//! in `core::program_view`, `core::editor` and `core::programs`.

use super::run::{use_run, RunOutput};
use crate::core::editor::{self, Edit};
use crate::core::program_view::{state_key, state_words, summary_as};
use crate::core::programs::{self, EXAMPLES};
use crate::core::runtime::board::LiveThread;
use crate::web::runner::{self, Shown};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

const LINE_PX: f64 = 21.0;

/// A program to load into the editor (and run at once, when `run`): from "Edit and run".
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    /// Changes with every request, so that the same code can be asked for twice.
    pub serial: u32,
    pub code: String,
    pub run: bool,
}

#[derive(Properties, PartialEq)]
pub struct CodeProps {
    /// The code to start with (from the link, or the first example).
    pub initial: String,
    pub load: Option<Load>,
    /// Told of every edit, so that the page's link carries the code.
    pub on_change: Callback<String>,
}

/// A line of the editor to mark, and why: the line a running thread is on (its state in
/// `state`), or the line an error was raised at.
#[derive(Clone, Debug, PartialEq)]
pub struct LineMark {
    pub line: u32,
    pub label: String,
    pub error: bool,
    /// The threads on this line, for the mark's tag (running ones first).
    pub who: String,
    pub state: Option<&'static str>,
}

#[function_component(CodeView)]
pub fn code_view(props: &CodeProps) -> Html {
    let source = use_state(|| props.initial.clone());
    {
        let on_change = props.on_change.clone();
        use_effect_with((*source).clone(), move |s| on_change.emit(s.clone()));
    }
    let switch = use_state(|| "5".to_owned());
    // The GIL box, and whether the run shown had the GIL.
    let gil = use_state(|| true);
    let ran_gil = use_state(|| true);
    let failure = use_state(|| None::<String>);
    let program = use_run();
    let running = program.running.clone();
    let result = program.result.clone();
    // Every run shows here, the Run button's and `threadlab.python`'s alike (not the lesson's
    // cells, which show their own): the runner tells.
    {
        let (source, switch, failure, program) =
            (source.clone(), (switch.clone(), gil.clone(), ran_gil.clone()), failure.clone(), program.clone());
        use_effect_with((), move |()| {
            runner::watch(Some(Callback::from(move |shown: Shown| {
                if let Shown::Started { source: code, options, .. } = &shown {
                    source.set(code.clone());
                    switch.0.set(options.switch_interval_ms.to_string());
                    switch.1.set(options.gil);
                    switch.2.set(options.gil);
                    failure.set(None);
                }
                program.show(shown);
            })));
            || runner::watch(None)
        });
    }
    let run = {
        let (source, switch, failure, running) =
            (source.clone(), (switch.clone(), gil.clone()), failure.clone(), running.clone());
        Rc::new(move |code: Option<String>| {
            if *running {
                return;
            }
            let code = code.unwrap_or_else(|| (*source).clone());
            let options = match programs::options(
                &crate::core::config::RawValue::Text((*switch.0).clone()),
                &crate::core::config::RawValue::Missing,
                &crate::core::config::RawValue::Bool(*switch.1),
            ) {
                Ok(options) => options,
                Err(why) => {
                    failure.set(Some(why.replace("switch_interval_ms", "The switch interval")));
                    return;
                }
            };
            match runner::start(code, options) {
                Ok(done) => wasm_bindgen_futures::spawn_local(async move {
                    done.await;
                }),
                Err(why) => failure.set(Some(why)),
            }
        })
    };
    // "Edit and run": the lab's code, loaded (and run) here.
    {
        let (source, run) = (source.clone(), run.clone());
        use_effect_with(props.load.clone(), move |load| {
            if let Some(load) = load {
                source.set(load.code.clone());
                if load.run {
                    run(Some(load.code.clone()));
                }
            }
        });
    }
    let on_run = {
        let run = run.clone();
        Callback::from(move |_: MouseEvent| run(None))
    };
    let on_stop = {
        let program = program.clone();
        Callback::from(move |_: MouseEvent| program.stop())
    };
    let on_preset = {
        let source = source.clone();
        Callback::from(move |e: Event| {
            let Ok(i) = e.target_unchecked_into::<HtmlSelectElement>().value().parse::<usize>() else { return };
            if let Some(example) = EXAMPLES.get(i) {
                source.set(example.source.to_owned());
            }
        })
    };
    let on_gil = {
        let gil = gil.clone();
        Callback::from(move |e: Event| gil.set(e.target_unchecked_into::<HtmlInputElement>().checked()))
    };
    let on_switch = {
        let switch = switch.clone();
        Callback::from(move |e: InputEvent| switch.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    // The menu shows the example the editor holds, or "Your program"; set on the element
    // after each render too (a select keeps what was last picked, whatever `selected` says).
    let chosen = EXAMPLES.iter().position(|e| e.source == *source);
    let preset_ref = use_node_ref();
    {
        let preset_ref = preset_ref.clone();
        use_effect(move || {
            if let Some(select) = preset_ref.cast::<HtmlSelectElement>() {
                select.set_value(&chosen.map_or_else(|| "mine".to_owned(), |i| i.to_string()));
            }
        });
    }

    let on_input = {
        let source = source.clone();
        Callback::from(move |e: InputEvent| source.set(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
    };
    let escaped = use_mut_ref(|| false);
    let on_keydown = Callback::from(move |e: KeyboardEvent| on_key(&e, &escaped));
    let mut marks = if *running { thread_marks(&program.live.threads) } else { Vec::new() };
    if let Some(e) = result.as_ref().and_then(|r| r.error.as_ref()).filter(|e| e.line > 0) {
        marks.push(LineMark {
            line: e.line,
            label: format!("{} at line {}: {}", e.kind, e.line, e.message),
            error: true,
            who: String::new(),
            state: None,
        });
    }
    let status = if *running {
        "Running…".to_owned()
    } else if let Some(r) = &*result {
        summary_as(r, *ran_gil)
    } else {
        "Press Run: the program runs in a worker, its threads on threads of their own.".to_owned()
    };

    html! {
        <section class="card code-view" aria-labelledby="code-title">
            <div class="card-head">
                <h2 id="code-title">{"Your own Python, on real threads and processes"}</h2>
                <label class="preset">{"Example "}
                    <select onchange={on_preset} data-testid="code-preset" ref={preset_ref} autocomplete="off">
                        if chosen.is_none() {
                            <option value="mine" selected=true disabled=true>{"Your program"}</option>
                        }
                        {for EXAMPLES.iter().enumerate().map(|(i, e)| html!{ <option value={i.to_string()} selected={chosen == Some(i)}>{e.name}</option> })}
                    </select>
                </label>
            </div>
            <p class="hint" data-testid="code-about">{chosen.map_or("Your own program.", |i| EXAMPLES[i].about)}</p>
            {editor_view(&source, &marks, &on_input, &on_keydown)}
            <div class="actions code-actions">
                <button class="primary" onclick={on_run} disabled={*running} data-testid="code-run">{"Run"}</button>
                <button onclick={on_stop} disabled={!*running} data-testid="code-stop">{"Stop"}</button>
                <div class="field inline">
                    <label for="code-switch">{"Switch interval (ms)"}</label>
                    <input id="code-switch" type="text" inputmode="decimal" value={(*switch).clone()} oninput={on_switch}
                        aria-describedby="code-switch-hint" data-testid="code-switch" />
                </div>
                <span id="code-switch-hint" class="hint">{"sys.setswitchinterval in the code works too."}</span>
                <label class="toggle">
                    <input type="checkbox" checked={*gil} onchange={on_gil} aria-describedby="code-gil-hint" data-testid="code-gil" />
                    <span>{"GIL"}</span>
                </label>
                <span id="code-gil-hint" class="hint">{if *gil { "Untick: free-threaded, as python3.14t." } else { "Free-threaded: threads run at the same time." }}</span>
            </div>
            <p class="status" aria-live="polite" data-testid="code-status" data-running={running.to_string()}>{status}</p>
            if let Some(why) = &*failure {
                <div class="py-error" role="alert" data-testid="code-failed">{why}</div>
            }
            if let Some(e) = result.as_ref().and_then(|r| r.error.as_ref()) {
                <div class="py-error" role="alert" data-testid="code-error" data-kind={e.kind.clone()}>
                    {if e.line > 0 { format!("{} (line {}): {}", e.kind, e.line, e.message) } else { format!("{}: {}", e.kind, e.message) }}
                </div>
            }
            <RunOutput run={program.clone()} title_id="terminal-title" gil={*ran_gil} />
        </section>
    }
}

/// A mark per line that a thread of the running program is on, naming the threads there.
fn thread_marks(threads: &[(u32, LiveThread)]) -> Vec<LineMark> {
    let mut marks: Vec<LineMark> = Vec::new();
    for (pid, t) in threads.iter().filter(|(_, t)| t.line > 0) {
        let Some(state) = t.state else { continue };
        let who = if *pid == 0 { t.name.clone() } else { format!("{} (pid {pid})", t.name) };
        let said = format!("{who}: {}", state_words(state));
        match marks.iter_mut().find(|m| m.line == t.line) {
            Some(m) => {
                m.label = format!("{}; {said}", m.label);
                m.who = format!("{}, {}", m.who, t.name);
                // The line is shown as running when any of its threads runs.
                if state == crate::core::program::LaneState::Running {
                    m.state = Some(state_key(state));
                }
            }
            None => marks.push(LineMark {
                line: t.line,
                label: format!("Line {}: {said}", t.line),
                error: false,
                who: t.name.clone(),
                state: Some(state_key(state)),
            }),
        }
    }
    marks
}

/// Asks the browser to replace the selection with `text`, as typing would (so that Undo
/// undoes it); where it cannot, sets the value directly.
fn replace(area: &HtmlTextAreaElement, edit: &Edit) {
    let _ = area.set_selection_range(edit.start, edit.end);
    let inserted = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            let exec = js_sys::Reflect::get(&d, &"execCommand".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
            exec.call3(&d, &"insertText".into(), &false.into(), &edit.insert.as_str().into()).ok()
        })
        .and_then(|done| done.as_bool())
        .unwrap_or(false);
    if !inserted {
        let _ = area.set_range_text(&edit.insert);
        let _ = area.dispatch_event(&Event::new("input").expect("an event"));
    }
    let _ = area.set_selection_range(edit.sel_start, edit.sel_end);
}

/// Tab and Shift-Tab indent, Enter keeps the indentation; Escape, then Tab, leaves the
/// editor: an editor must not trap the keyboard. `escaped`: the last key was Escape.
fn on_key(e: &KeyboardEvent, escaped: &RefCell<bool>) {
    let area: HtmlTextAreaElement = e.target_unchecked_into();
    let key = e.key();
    let was_escaped = std::mem::replace(&mut *escaped.borrow_mut(), key == "Escape");
    if e.ctrl_key() || e.meta_key() || e.alt_key() || e.is_composing() {
        return;
    }
    let (start, end) =
        (area.selection_start().ok().flatten().unwrap_or(0), area.selection_end().ok().flatten().unwrap_or(0));
    let edit = match key.as_str() {
        "Tab" if was_escaped => return,
        "Tab" => editor::indent(&area.value(), start, end, e.shift_key()),
        "Enter" if !e.shift_key() => Some(editor::newline(&area.value(), start, end)),
        _ => return,
    };
    e.prevent_default();
    if let Some(edit) = edit {
        replace(&area, &edit);
    }
}

/// A textarea with a line-number gutter that scrolls with it: the box scrolls, not the
/// textarea, which is as tall as its text.
fn editor_view(
    source: &str,
    marks: &[LineMark],
    on_input: &Callback<InputEvent>,
    on_keydown: &Callback<KeyboardEvent>,
) -> Html {
    let lines = source.split('\n').count().max(1);
    let mut gutter = String::new();
    for n in 1..=lines {
        let class = match marks.iter().find(|m| usize::try_from(m.line).ok() == Some(n)) {
            Some(m) if m.error => " class=\"error\"",
            Some(_) => " class=\"current\"",
            None => "",
        };
        gutter.push_str(&format!("<div{class}>{n}</div>"));
    }
    html! {
        <div class="editor code-editor" style={format!("--lines: {lines}")} data-testid="code-editor">
            <div class="gutter" aria-hidden="true">{Html::from_html_unchecked(gutter.into())}</div>
            <div class="code">
                {for marks.iter().map(|m| html!{
                    <div class={classes!("line-mark", m.error.then_some("error-mark"))} data-testid="code-mark" data-line={m.line.to_string()}
                        data-state={m.state.unwrap_or("error")} title={m.label.clone()}
                        style={format!("top: {}px", f64::from(m.line.max(1) - 1) * LINE_PX + 8.0)}>
                        if !m.who.is_empty() {
                            <span class="who">{&m.who}</span>
                        }
                    </div>
                })}
                <textarea aria-label="Python program" aria-describedby="code-keys" spellcheck="false" autocapitalize="off"
                    autocomplete="off" rows={(lines + 1).to_string()} value={source.to_owned()}
                    oninput={on_input.clone()} onkeydown={on_keydown.clone()} data-testid="code-source" />
            </div>
            <p id="code-keys" class="visually-hidden">{"Tab indents, Shift+Tab outdents; press Escape, then Tab, to leave the editor."}</p>
            if !marks.is_empty() {
                <ul class="visually-hidden">{for marks.iter().map(|m| html!{ <li>{&m.label}</li> })}</ul>
            }
        </div>
    }
}
