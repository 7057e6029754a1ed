//! The Code view: a student's own Python, run on real threads and processes (issue 14). The
//! editor, Run / Stop, the terminal and the program's timeline; what they show is worked out
//! in `core::program_view`, `core::editor` and `core::programs`.

use super::timeline::{axis_label, use_width};
use crate::core::editor::{self, Edit};
use crate::core::layout::axis_ticks;
use crate::core::program::{LaneKind, OutputChunk, ProgramResult};
use crate::core::program_view::{
    coalesce, describe, kind_key, lane_order, short_label, state_key, state_words, summary, terminal_lines, time_in,
    writer, STATES,
};
use crate::core::programs::{self, EXAMPLES};
use crate::core::timeline::format_ms;
use crate::web::runner::{ProgramEvent, ProgramRun, Stopper};
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

/// A line of the editor to mark, and why: a running thread's current line (when the runtime
/// reports lines), or the line an error was raised at.
#[derive(Clone, Debug, PartialEq)]
pub struct LineMark {
    pub line: u32,
    pub label: String,
    pub error: bool,
}

#[function_component(CodeView)]
pub fn code_view(props: &CodeProps) -> Html {
    let source = use_state(|| props.initial.clone());
    {
        let on_change = props.on_change.clone();
        use_effect_with((*source).clone(), move |s| on_change.emit(s.clone()));
    }
    let switch = use_state(|| "5".to_owned());
    let output = use_state(Vec::<OutputChunk>::new);
    let result = use_state(|| None::<Rc<ProgramResult>>);
    let failure = use_state(|| None::<String>);
    let stopper = use_mut_ref(|| None::<Stopper>);
    let running = use_state(|| false);
    // Output arrives in batches between renders: collected here, shown at each batch.
    let collected = use_mut_ref(Vec::<OutputChunk>::new);

    let run = {
        let (source, switch, output, result, failure, running, stopper, collected) = (
            source.clone(),
            switch.clone(),
            output.clone(),
            result.clone(),
            failure.clone(),
            running.clone(),
            stopper.clone(),
            collected.clone(),
        );
        Rc::new(move |code: Option<String>| {
            if *running {
                return;
            }
            let code = code.unwrap_or_else(|| (*source).clone());
            let options = match programs::options(
                &crate::core::config::RawValue::Text((*switch).clone()),
                &crate::core::config::RawValue::Missing,
            ) {
                Ok(options) => options,
                Err(why) => {
                    failure.set(Some(why.replace("switch_interval_ms", "The switch interval")));
                    return;
                }
            };
            result.set(None);
            output.set(Vec::new());
            collected.borrow_mut().clear();
            let mut program = match ProgramRun::start(code, options) {
                Ok(program) => program,
                Err(why) => {
                    failure.set(Some(why));
                    return;
                }
            };
            failure.set(None);
            running.set(true);
            *stopper.borrow_mut() = Some(program.stopper());
            let (output, result, running, stopper, collected) =
                (output.clone(), result.clone(), running.clone(), stopper.clone(), collected.clone());
            wasm_bindgen_futures::spawn_local(async move {
                loop {
                    match program.next().await {
                        ProgramEvent::Output(chunks) => {
                            collected.borrow_mut().extend(chunks);
                            output.set(collected.borrow().clone());
                        }
                        ProgramEvent::Done(done) => {
                            output.set(done.output.clone());
                            result.set(Some(Rc::new(done)));
                            break;
                        }
                    }
                }
                stopper.borrow_mut().take();
                running.set(false);
            });
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
        let stopper = stopper.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(stopper) = &*stopper.borrow() {
                stopper.stop();
            }
        })
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

    let mut marks = Vec::new();
    if let Some(e) = result.as_ref().and_then(|r| r.error.as_ref()).filter(|e| e.line > 0) {
        marks.push(LineMark {
            line: e.line,
            label: format!("{} at line {}: {}", e.kind, e.line, e.message),
            error: true,
        });
    }
    let status = if *running {
        "Running…".to_owned()
    } else if let Some(r) = &*result {
        summary(r)
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
            <Editor source={(*source).clone()} on_input={{
                let source = source.clone();
                Callback::from(move |s: String| source.set(s))
            }} marks={marks} />
            <div class="actions code-actions">
                <button class="primary" onclick={on_run} disabled={*running} data-testid="code-run">{"Run"}</button>
                <button onclick={on_stop} disabled={!*running} data-testid="code-stop">{"Stop"}</button>
                <div class="field inline">
                    <label for="code-switch">{"Switch interval (ms)"}</label>
                    <input id="code-switch" type="text" inputmode="decimal" value={(*switch).clone()} oninput={on_switch}
                        aria-describedby="code-switch-hint" data-testid="code-switch" />
                </div>
                <span id="code-switch-hint" class="hint">{"sys.setswitchinterval in the code works too."}</span>
            </div>
            <p class="status" aria-live="polite" data-testid="code-status" data-running={running.to_string()}>{status}</p>
            if let Some(why) = &*failure {
                <div class="py-error" role="alert" data-testid="code-failed">{why}</div>
            }
            <Terminal output={(*output).clone()} result={(*result).clone()} />
            if let Some(r) = &*result {
                <ProgramTimeline result={r.clone()} />
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct EditorProps {
    source: String,
    on_input: Callback<String>,
    marks: Vec<LineMark>,
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

/// A textarea with a line-number gutter that scrolls with it (the box scrolls, not the
/// textarea, which is as tall as its text). Tab and Shift-Tab indent, Enter keeps the
/// indentation; Escape, then Tab, leaves it: an editor must not trap the keyboard.
#[function_component(Editor)]
fn editor_view(props: &EditorProps) -> Html {
    let escaped = use_mut_ref(|| false);
    let on_keydown = {
        let escaped = escaped.clone();
        Callback::from(move |e: KeyboardEvent| {
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
        })
    };
    let on_input = {
        let cb = props.on_input.clone();
        Callback::from(move |e: InputEvent| cb.emit(e.target_unchecked_into::<HtmlTextAreaElement>().value()))
    };
    let lines = props.source.split('\n').count().max(1);
    let marked = |n: usize| props.marks.iter().find(|m| usize::try_from(m.line).ok() == Some(n));
    html! {
        <div class="editor code-editor" style={format!("--lines: {lines}")} data-testid="code-editor">
            <div class="gutter" aria-hidden="true">
                {for (1..=lines).map(|n| html!{
                    <div class={classes!(marked(n).map(|m| if m.error { "error" } else { "current" }))}>{n}</div>
                })}
            </div>
            <div class="code">
                {for props.marks.iter().map(|m| html!{
                    <div class={classes!("line-mark", m.error.then_some("error-mark"))} data-testid="code-mark" data-line={m.line.to_string()}
                        style={format!("top: {}px", f64::from(m.line.max(1) - 1) * LINE_PX + 8.0)}></div>
                })}
                <textarea aria-label="Python program" aria-describedby="code-keys" spellcheck="false" autocapitalize="off"
                    autocomplete="off" rows={(lines + 1).to_string()} value={props.source.clone()}
                    oninput={on_input} onkeydown={on_keydown} data-testid="code-source" />
            </div>
            <p id="code-keys" class="visually-hidden">{"Tab indents, Shift+Tab outdents; press Escape, then Tab, to leave the editor."}</p>
            if !props.marks.is_empty() {
                <ul class="visually-hidden">{for props.marks.iter().map(|m| html!{ <li>{&m.label}</li> })}</ul>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct TerminalProps {
    output: Vec<OutputChunk>,
    result: Option<Rc<ProgramResult>>,
}

/// The program's output as a terminal shows it, each line tagged with who wrote it.
#[function_component(Terminal)]
fn terminal(props: &TerminalProps) -> Html {
    let lanes = props.result.as_ref().map_or(&[][..], |r| &r.lanes[..]);
    let lines = terminal_lines(&props.output);
    let tag = |lane: u32, pid: u32| writer(lanes, lane, pid);
    html! {
        <div class="terminal-box">
            <h3 class="small-title" id="terminal-title">{"Output"}</h3>
            <div class="terminal" role="log" aria-labelledby="terminal-title" tabindex="0" data-testid="code-output">
                if lines.is_empty() {
                    <span class="muted">{"Nothing printed yet."}</span>
                }
                {for lines.iter().map(|line| {
                    let first = line.first();
                    let who = first.map(|p| tag(p.lane, p.pid)).unwrap_or_default();
                    let stderr = line.iter().any(|p| p.stderr);
                    html! {
                        <div class={classes!("term-line", stderr.then_some("stderr"))} data-testid="code-line"
                            data-lane={first.map(|p| p.lane.to_string())} data-stream={if stderr { "stderr" } else { "stdout" }}>
                            <span class="who" title={who.clone()}>{short_label(&who)}<span class="visually-hidden">{if stderr { " (error output): " } else { ": " }}</span></span>
                            <span class="text">
                                {for line.iter().map(|p| html!{
                                    <span title={format!("{}, process {}, at {}{}", tag(p.lane, p.pid), p.pid, format_ms(p.t_ms), if p.stderr { ", stderr" } else { "" })}>{&p.text}</span>
                                })}
                            </span>
                        </div>
                    }
                })}
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct TimelineProps {
    result: Rc<ProgramResult>,
}

const GUTTER: f64 = 104.0;
const RIGHT: f64 = 14.0;
const LANE: f64 = 26.0;
const GAP: f64 = 8.0;
const AXIS: f64 = 24.0;

/// One lane per thread and per process on the program's clock, as the lab draws its runs.
#[function_component(ProgramTimeline)]
fn program_timeline(props: &TimelineProps) -> Html {
    let (box_ref, width) = use_width();
    let r = &*props.result;
    let order = lane_order(&r.lanes);
    let width = width.max(240.0).round();
    let plot = width - GUTTER - RIGHT;
    let scale = r.wall_ms.max(r.lanes.iter().flat_map(|l| l.segments.last()).map(|s| s.end_ms).fold(1.0, f64::max));
    let x = |ms: f64| GUTTER + (ms / scale).clamp(0.0, 1.0) * plot;
    let rows = u32::try_from(order.len()).unwrap_or(0).max(1);
    let axis_y = f64::from(rows) * (LANE + GAP);
    let height = axis_y + AXIS;
    let grid = axis_ticks(scale, plot).into_iter().map(|t| {
        let anchor = if x(t) > width - RIGHT - 24.0 { "end" } else { "middle" };
        html! {
            <g class="tick">
                <line x1={x(t).to_string()} x2={x(t).to_string()} y1="0" y2={(axis_y + 4.0).to_string()} />
                <text x={x(t).to_string()} y={(axis_y + 17.0).to_string()} text-anchor={anchor}>{axis_label(t, scale)}</text>
            </g>
        }
    });
    let lanes = order.iter().enumerate().map(|(row, &i)| {
        let lane = &r.lanes[i];
        #[allow(clippy::cast_precision_loss)]
        let y = row as f64 * (LANE + GAP) + GAP / 2.0;
        let (start, end) = (lane.segments.first().map_or(0.0, |s| s.start_ms), lane.segments.last().map_or(0.0, |s| s.end_ms));
        let mut title = format!("{}: {} → {}", describe(lane), format_ms(start), format_ms(end));
        for state in STATES {
            let t = time_in(&lane.segments, state);
            if t > 0.0 {
                title.push_str(&format!("\n{}: {}", state_words(state), format_ms(t)));
            }
        }
        let segments = coalesce(&lane.segments, scale / plot).into_iter().map(|s| {
            let (x0, x1) = (x(s.start_ms), x(s.end_ms));
            html! { <rect class={format!("seg seg-{}", state_key(s.state))} data-state={state_key(s.state)} x={x0.to_string()} y={y.to_string()}
                width={(x1 - x0).max(0.5).to_string()} height={LANE.to_string()} /> }
        });
        html! {
            <g class={classes!("lane", format!("engine-{}", kind_key(lane.kind)))} data-testid="code-lane" data-kind={kind_name(lane.kind)}
                data-name={lane.name.clone()} data-process={lane.process.to_string()}
                data-start={format!("{start:.3}")} data-end={format!("{end:.3}")}>
                <title>{title}</title>
                <text class="lane-label" x={(GUTTER - 8.0).to_string()} y={(y + LANE / 2.0 + 4.0).to_string()} text-anchor="end">{short_label(&lane.name)}</text>
                {for segments}
            </g>
        }
    });
    html! {
        <div class="program-timeline" data-testid="code-timeline">
            <div class="card-head">
                <h3 class="small-title">{"Timeline"}</h3>
                <span class="legend" aria-label="Legend">
                    {for STATES.iter().map(|s| html!{
                        <span class="key"><svg width="22" height="12" aria-hidden="true"><rect class={format!("seg-{}", state_key(*s))} width="22" height="12" rx="3"/></svg>{state_words(*s)}</span>
                    })}
                </span>
            </div>
            <span class="stats">
                <span class="stat"><span class="k">{"wall"}</span><span class="v" data-testid="code-wall">{format_ms(r.wall_ms)}</span></span>
                <span class="stat"><span class="k">{"GIL hand-overs"}</span><span class="v" data-testid="code-gil-switches">{r.gil_switches}</span></span>
                <span class="stat"><span class="k">{"exit code"}</span><span class="v" data-testid="code-exit">{r.exit_code}</span></span>
            </span>
            <div ref={box_ref}>
                <svg class="lanes" viewBox={format!("0 0 {width} {height}")} role="img" preserveAspectRatio="none"
                    style={format!("height: {height}px")} aria-label={format!("Timeline of the program: {}", summary(r))}>
                    <defs>
                        <pattern id="hatch-blocked" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                            <line class="hatch" x1="0" y1="0" x2="0" y2="6" />
                        </pattern>
                    </defs>
                    <g class="grid">{for grid}</g>
                    {for lanes}
                </svg>
            </div>
            <details class="as-table" data-testid="code-table">
                <summary>{format!("Table of the {} lanes", order.len())}</summary>
                <div class="table-scroll" tabindex="0" role="region" aria-label="Lanes of the program">
                    <table>
                        <thead><tr>
                            <th scope="col">{"Lane"}</th><th scope="col">{"Kind"}</th><th scope="col">{"Process"}</th>
                            <th scope="col">{"Start"}</th><th scope="col">{"End"}</th>
                            {for STATES.iter().map(|s| html!{ <th scope="col">{state_words(*s)}</th> })}
                        </tr></thead>
                        <tbody>
                            {for order.iter().map(|&i| {
                                let l = &r.lanes[i];
                                html! { <tr>
                                    <th scope="row">{&l.name}</th><td>{kind_name(l.kind)}</td><td>{l.process}</td>
                                    <td>{format_ms(l.segments.first().map_or(0.0, |s| s.start_ms))}</td>
                                    <td>{format_ms(l.segments.last().map_or(0.0, |s| s.end_ms))}</td>
                                    {for STATES.iter().map(|s| html!{ <td>{format_ms(time_in(&l.segments, *s))}</td> })}
                                </tr> }
                            })}
                        </tbody>
                    </table>
                </div>
            </details>
        </div>
    }
}

fn kind_name(kind: LaneKind) -> &'static str {
    match kind {
        LaneKind::Main => "main",
        LaneKind::Thread => "thread",
        LaneKind::Process => "process",
    }
}
