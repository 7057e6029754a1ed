//! The reference-count inspector: step through a script, watch every object's count,
//! see objects freed at zero and cycles leak; and the refcount race, run on real threads.

use super::state::State;
use crate::core::presets::PRESETS;
use crate::core::py::{HeapItem, StepView, Trace, Version};
use crate::core::race::Variant as RaceVariant;
use crate::web::lab::Lab;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub state: UseReducerHandle<State>,
    pub lab: Rc<LabRef>,
    /// The script to start with (from the link, or the first preset).
    pub initial: String,
    /// Told of every edit, so that the page's link carries the script.
    pub on_change: Callback<String>,
}

/// A `Lab` compared by identity, for props.
pub struct LabRef(pub Rc<Lab>);

impl PartialEq for LabRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

const LINE_PX: f64 = 21.0;

#[function_component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let source = use_state(|| props.initial.clone());
    {
        let on_change = props.on_change.clone();
        use_effect_with((*source).clone(), move |s| on_change.emit(s.clone()));
    }
    let report = use_state(|| None::<Rc<Trace>>);
    let index = use_state(|| 0usize);
    // Whose counts: CPython 3.11 (3.12's and 3.13's alike) or 3.14.
    let version = use_state(Version::default);
    // A script runs in ThreadLab's Python worker, off the page's thread: `running` while
    // it does, `failure` when the worker crashed or ran out of time.
    let running = use_state(|| false);
    let failure = use_state(|| None::<String>);
    // Bumped by every edit: the answer for a script edited meanwhile is dropped.
    let generation = use_mut_ref(|| 0u64);

    // `target(current, steps)`: the step to show; `current` is `None` on a fresh run.
    let run_to = {
        let (source, report, index, version) = (source.clone(), report.clone(), index.clone(), *version);
        let (running, failure, generation, lab) =
            (running.clone(), failure.clone(), generation.clone(), props.lab.0.clone());
        move |target: fn(Option<usize>, usize) -> usize| {
            let last = |steps: usize| steps.saturating_sub(1);
            if let Some(r) = &*report {
                index.set(target(Some(*index), r.len()).min(last(r.len())));
                return;
            }
            if *running {
                return;
            }
            running.set(true);
            failure.set(None);
            let asked = *generation.borrow();
            let (source, report, index) = ((*source).clone(), report.clone(), index.clone());
            let (running, failure, generation, lab) =
                (running.clone(), failure.clone(), generation.clone(), lab.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = lab.python(&source, version).await;
                running.set(false);
                if *generation.borrow() != asked {
                    return;
                }
                match outcome {
                    Ok(r) => {
                        index.set(target(None, r.len()).min(last(r.len())));
                        report.set(Some(r));
                    }
                    Err(message) => failure.set(Some(message)),
                }
            });
        }
    };
    let step = {
        let run_to = run_to.clone();
        Callback::from(move |_: MouseEvent| run_to(|current, _| current.map_or(0, |i| i + 1)))
    };
    let to_end = {
        let run_to = run_to.clone();
        Callback::from(move |_: MouseEvent| run_to(|_, n| n))
    };
    let back = {
        let index = index.clone();
        Callback::from(move |_: MouseEvent| index.set(index.saturating_sub(1)))
    };
    // What an edit, a new example or Reset does to a run: drops its trace, and its answer
    // if it is still running.
    let forget = {
        let (report, failure, generation) = (report.clone(), failure.clone(), generation.clone());
        move || {
            *generation.borrow_mut() += 1;
            report.set(None);
            failure.set(None);
        }
    };
    let reset = {
        let (forget, index) = (forget.clone(), index.clone());
        Callback::from(move |_: MouseEvent| {
            forget();
            index.set(0);
        })
    };
    let on_edit = {
        let (source, forget) = (source.clone(), forget.clone());
        Callback::from(move |e: InputEvent| {
            source.set(e.target_unchecked_into::<HtmlTextAreaElement>().value());
            forget();
        })
    };
    let on_version = {
        let (version, forget, index) = (version.clone(), forget.clone(), index.clone());
        Callback::from(move |e: Event| {
            let picked = e.target_unchecked_into::<HtmlSelectElement>().value();
            if let Ok(v) = Version::parse(&picked) {
                version.set(v);
                forget();
                index.set(0);
            }
        })
    };
    let on_preset = {
        let (source, forget, index) = (source.clone(), forget.clone(), index.clone());
        Callback::from(move |e: Event| {
            let Ok(i) = e.target_unchecked_into::<HtmlSelectElement>().value().parse::<usize>() else { return };
            source.set(PRESETS.get(i).map_or("", |p| p.1).to_owned());
            forget();
            index.set(0);
        })
    };

    // The menu shows the example the editor holds, or "Your script" (edited, or from a link).
    // Set on the element after each render too: a select keeps what was last picked (or what
    // the browser restored) whatever its options' `selected` attributes say.
    let chosen = PRESETS.iter().position(|p| p.1 == *source);
    let preset_ref = use_node_ref();
    {
        let preset_ref = preset_ref.clone();
        use_effect(move || {
            if let Some(select) = preset_ref.cast::<HtmlSelectElement>() {
                select.set_value(&chosen.map_or_else(|| "mine".to_owned(), |i| i.to_string()));
            }
        });
    }
    // A trace records what each step changed; the step shown (and the one before, for what
    // changed) is rebuilt from it here, so a run costs what its steps changed, not its heap.
    let current: Option<StepView> = report.as_ref().and_then(|r| r.view(*index));
    let previous: Option<StepView> = report.as_ref().and_then(|r| index.checked_sub(1).and_then(|i| r.view(i)));
    let current = current.as_ref();
    let previous = previous.as_ref();
    let at_end = report.as_ref().is_some_and(|r| *index + 1 >= r.len());
    let error = report.as_ref().and_then(|r| r.error.clone()).filter(|_| at_end);
    let lines = source.lines().count().max(1);
    let highlight = current.map(|s| s.line);
    let output: Vec<String> = match (&*report, current) {
        (Some(r), Some(s)) => r.output[..s.output_len.min(r.output.len())].to_vec(),
        (Some(r), None) => r.output.clone(),
        _ => Vec::new(),
    };
    let status = match (&*report, current) {
        (None, _) if *running => "Running the script in ThreadLab's Python worker…".to_owned(),
        (None, _) if failure.is_some() => "The script did not finish.".to_owned(),
        (None, _) => "Press Step to run the first line.".to_owned(),
        (Some(r), Some(s)) => format!(
            "Step {} of {}{} · line {} · counts as CPython {}",
            *index + 1,
            r.len(),
            if r.truncated { "+ (only the first steps are recorded)" } else { "" },
            s.line,
            version_label(r.version)
        ),
        (Some(_), None) => "Nothing ran.".to_owned(),
    };

    html! {
        <section class="card inspector" aria-labelledby="inspector-title">
            <div class="card-head">
                <h2 id="inspector-title">{"Reference counts, step by step"}</h2>
                <label class="preset">{"Example "}
                    <select onchange={on_preset} data-testid="refcount-preset" ref={preset_ref} autocomplete="off">
                        if chosen.is_none() {
                            <option value="mine" selected=true disabled=true>{"Your script"}</option>
                        }
                        {for PRESETS.iter().enumerate().map(|(i, (name, _))| html!{ <option value={i.to_string()} selected={chosen == Some(i)}>{*name}</option> })}
                    </select>
                </label>
            </div>
            <div class="version-row">
                <label class="preset">{"Counts as CPython "}
                    <select onchange={on_version} data-testid="refcount-version" autocomplete="off"
                        aria-describedby="refcount-version-hint">
                        {for Version::ALL.iter().map(|v| html!{
                            <option value={v.name()} selected={*version == *v}>{version_label(*v)}</option>
                        })}
                    </select>
                </label>
            </div>
            <p class="hint" id="refcount-version-hint" data-testid="refcount-hint">{version_hint(*version)}</p>
            <div class="inspector-grid">
                <div class="editor-col">
                    <div class="editor" style={format!("--lines: {lines}")}>
                        <div class="gutter" aria-hidden="true">
                            {for (1..=lines).map(|n| html!{ <div class={classes!((highlight == Some(u32::try_from(n).unwrap_or(0))).then_some("current"))}>{n}</div> })}
                        </div>
                        <div class="code">
                            if let Some(line) = highlight {
                                <div class="line-mark" style={format!("top: {}px", f64::from(line - 1) * LINE_PX + 8.0)} data-testid="current-line" data-line={line.to_string()}></div>
                            }
                            if let Some(e) = &error {
                                <div class="line-mark error-mark" style={format!("top: {}px", f64::from(e.line.max(1) - 1) * LINE_PX + 8.0)}></div>
                            }
                            <textarea aria-label="Python script" spellcheck="false" rows={(lines + 1).to_string()}
                                value={(*source).clone()} oninput={on_edit} data-testid="refcount-source" />
                        </div>
                    </div>
                    <div class="actions">
                        <button class="primary" onclick={step} disabled={*running || report.as_ref().is_some_and(|_| at_end)} data-testid="refcount-step">{"Step"}</button>
                        <button onclick={back} disabled={*index == 0 || report.is_none()} data-testid="refcount-back">{"Back"}</button>
                        <button onclick={to_end} disabled={*running} data-testid="refcount-end">{"Run to end"}</button>
                        <button class="link" onclick={reset} data-testid="refcount-reset">{"Reset"}</button>
                    </div>
                    <p class="status" aria-live="polite" data-testid="refcount-status">{status}</p>
                    if let Some(message) = &*failure {
                        <div class="py-error" role="alert" data-testid="refcount-failed">{message}</div>
                    }
                    if let Some(e) = &error {
                        <div class="py-error" role="alert" data-testid="refcount-error">
                            {format!("{} (line {}, column {}): {}", e.kind, e.line, e.col, e.message)}
                        </div>
                    }
                    <h3 class="small-title">{"Output"}</h3>
                    <pre class="output" data-testid="refcount-output">{output.join("\n")}</pre>
                </div>
                <div class="heap-col">
                    {match current {
                        Some(step) => heap_view(step, previous),
                        None => html!{ <p class="empty">{"The frames and the heap appear here as the script runs."}</p> },
                    }}
                </div>
            </div>
            <Race state={props.state.clone()} lab={props.lab.clone()} />
        </section>
    }
}

/// How the selector and the status name a version.
fn version_label(v: Version) -> &'static str {
    match v {
        Version::V3_11 => "3.11 – 3.13",
        Version::V3_14 => "3.14",
    }
}

/// What the counts of version `v` include.
fn version_hint(v: Version) -> &'static str {
    match v {
        Version::V3_11 => {
            "The same Python as the Code view, one thread, stepped line by line. Every reference counts, as \
             CPython 3.11, 3.12 and 3.13 count and print them: names, container slots, arguments, values waiting on \
             the stack, and the compiled code's constants. Small ints, None, True and False are shown immortal \
             (4294967295), as 3.12 and 3.13 make them (PEP 683); 3.11 still counted them. An int or a float is drawn \
             as one object per value."
        }
        Version::V3_14 => {
            "The same Python as the Code view, one thread, stepped line by line, counted as CPython 3.14 counts: \
             a function's local loaded onto the stack and used at once borrows the local's reference \
             (LOAD_FAST_BORROW), so that stack slot does not count, nor does a parameter that received such a \
             borrowed argument; a loop variable read after its loop still counts (it might be unbound). Constants \
             folded by the compiler, such as (3, 4), are no longer held by the parser. Immortal objects print \
             3221225472. An int or a float is drawn as one object per value."
        }
    }
}

fn heap_view(step: &StepView, previous: Option<&StepView>) -> Html {
    const ROW: f64 = 24.0;
    const FRAME_X: f64 = 8.0;
    const FRAME_W: f64 = 170.0;
    const OBJ_X: f64 = 300.0;
    const OBJ_W: f64 = 260.0;
    const OBJ_H: f64 = 46.0;
    const GAP: f64 = 12.0;

    // Freed this step: drawn once more, greyed, from the step before.
    let freed: Vec<HeapItem> = step
        .freed
        .iter()
        .filter_map(|id| previous.and_then(|p| p.heap.iter().find(|h| h.id == *id)).cloned())
        .collect();
    let mut objects: Vec<(&HeapItem, bool)> =
        step.heap.iter().map(|h| (h, false)).chain(freed.iter().map(|h| (h, true))).collect();
    objects.sort_by_key(|(h, _)| h.id);
    let obj_y = |i: usize| 8.0 + i as f64 * (OBJ_H + GAP);
    let pos = |id: usize| objects.iter().position(|(h, _)| h.id == id);

    let mut frame_rows = Vec::new(); // (frame index, var name, id, y)
    let mut y = 8.0;
    let mut frames_svg = Vec::new();
    for (fi, frame) in step.frames.iter().enumerate() {
        let height = ROW * (frame.vars.len() as f64 + 1.0);
        frames_svg.push(html! {
            <g class="frame">
                <rect x={FRAME_X.to_string()} y={y.to_string()} width={FRAME_W.to_string()} height={height.to_string()} rx="6" />
                <text class="frame-name" x={(FRAME_X + 10.0).to_string()} y={(y + 16.0).to_string()}>{
                    if fi == 0 { "module (globals)".to_owned() } else { format!("{}() frame", frame.name) }
                }</text>
            </g>
        });
        for (vi, var) in frame.vars.iter().enumerate() {
            let row_y = y + ROW * (vi as f64 + 1.0);
            frame_rows.push((var.name.clone(), var.id, row_y + ROW / 2.0));
            frames_svg.push(html! {
                <text class="var" x={(FRAME_X + 16.0).to_string()} y={(row_y + 16.0).to_string()}>{&var.name}</text>
            });
        }
        y += height + GAP;
    }
    let height = y.max(obj_y(objects.len())) + 8.0;

    let arrows = frame_rows.iter().filter_map(|(_, id, y0)| {
        let i = pos(*id)?;
        let y1 = obj_y(i) + OBJ_H / 2.0;
        let x0 = FRAME_X + FRAME_W - 6.0;
        Some(html! { <path class="arrow" d={format!("M{x0},{y0} C{},{y0} {},{y1} {},{y1}", x0 + 60.0, OBJ_X - 60.0, OBJ_X - 2.0)} marker-end="url(#arrowhead)" /> })
    });
    let links = objects.iter().enumerate().flat_map(|(i, (h, _))| {
        h.refs.iter().filter_map(move |child| {
            let j = pos(*child)?;
            let (y0, y1) = (obj_y(i) + OBJ_H / 2.0, obj_y(j) + OBJ_H / 2.0);
            let x = OBJ_X + OBJ_W;
            let bulge = 40.0 + 12.0 * (i as f64 - j as f64).abs().min(6.0);
            Some(html! { <path class="arrow link" d={format!("M{x},{y0} C{},{y0} {},{y1} {},{y1}", x + bulge, x + bulge, x + 2.0)} marker-end="url(#arrowhead)" /> })
        })
    });
    let boxes = objects.iter().enumerate().map(|(i, (h, is_freed))| {
        let y = obj_y(i);
        let badge = if *is_freed {
            "freed".to_owned()
        } else if h.immortal {
            "immortal".to_owned()
        } else {
            format!("refcount {}", h.refcount)
        };
        let class = classes!(
            "object",
            is_freed.then_some("freed"),
            h.immortal.then_some("immortal"),
            (!h.reachable && !is_freed && !h.immortal).then_some("leaked")
        );
        html! {
            <g class={class} data-testid="heap-object" data-id={h.id.to_string()} data-type={h.type_name.clone()}
                data-refcount={h.refcount.to_string()} data-freed={is_freed.to_string()} data-reachable={h.reachable.to_string()}>
                <title>{format!("{} object {}: {}", h.type_name, h.repr, badge)}</title>
                <rect x={OBJ_X.to_string()} y={y.to_string()} width={OBJ_W.to_string()} height={OBJ_H.to_string()} rx="7" />
                <text class="obj-type" x={(OBJ_X + 10.0).to_string()} y={(y + 17.0).to_string()}>{&h.type_name}</text>
                <text class="obj-count" x={(OBJ_X + OBJ_W - 10.0).to_string()} y={(y + 17.0).to_string()} text-anchor="end">{badge}</text>
                <text class="obj-repr" x={(OBJ_X + 10.0).to_string()} y={(y + 36.0).to_string()}>{
                    if !h.reachable && !is_freed && !h.immortal { format!("{} · leaked: nothing reaches it", h.repr) } else { h.repr.clone() }
                }</text>
            </g>
        }
    });

    html! {
        <>
            <svg class="heap" viewBox={format!("0 0 {} {height}", OBJ_X + OBJ_W + 130.0)} role="img"
                aria-label={format!("Frames and heap after line {}: {} objects", step.line, step.heap.len())} data-testid="heap">
                <defs>
                    <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
                    </marker>
                </defs>
                {for frames_svg}
                {for arrows}
                {for links}
                {for boxes}
            </svg>
            <details class="heap-table">
                <summary>{"The heap as a table"}</summary>
                <div class="table-scroll" tabindex="0" role="region" aria-label="The heap">
                <table>
                    <thead><tr><th scope="col">{"object"}</th><th scope="col">{"type"}</th><th scope="col">{"references"}</th><th scope="col">{"state"}</th></tr></thead>
                    <tbody>
                        {for objects.iter().map(|(h, is_freed)| html!{
                            <tr>
                                <td>{&h.repr}</td>
                                <td>{&h.type_name}</td>
                                <td>{ if h.immortal { "immortal".to_owned() } else { h.refcount.to_string() } }</td>
                                <td>{ if *is_freed { "freed" } else if !h.reachable && !h.immortal { "leaked" } else { "live" } }</td>
                            </tr>
                        })}
                    </tbody>
                </table>
                </div>
            </details>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct RaceProps {
    state: UseReducerHandle<State>,
    lab: Rc<LabRef>,
}

/// N threads each do K incref/decref pairs on one shared count, three ways.
#[function_component(Race)]
fn race(props: &RaceProps) -> Html {
    let threads = use_state(|| "2".to_owned());
    let pairs = use_state(|| "2000000".to_owned());
    let error = use_state(|| None::<String>);
    let busy = props.state.busy();
    let run = |variant: &'static str| {
        let (lab, threads, pairs, error) = (props.lab.0.clone(), threads.clone(), pairs.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            use crate::core::config::RawValue::Text;
            let (lab, t, p, error) = (lab.clone(), Text((*threads).clone()), Text((*pairs).clone()), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = lab.race(&t, &p, &Text(variant.into())).await;
                error.set(outcome.err().map(|e| e.message()));
            });
        })
    };
    let input = |label: &str, id: &str, value: &UseStateHandle<String>| {
        let v = value.clone();
        let oninput = Callback::from(move |e: InputEvent| v.set(e.target_unchecked_into::<HtmlInputElement>().value()));
        html! {
            <div class="field inline">
                <label for={id.to_owned()}>{label}</label>
                <input id={id.to_owned()} type="text" inputmode="numeric" value={(**value).clone()} {oninput} />
            </div>
        }
    };
    let row = |variant: RaceVariant, name: &str, what: &str| {
        let r = props.state.races.iter().find(|r| r.variant == variant);
        html! {
            <tr data-testid={format!("race-{name}")}>
                <th scope="row">{name}<span class="what">{what}</span></th>
                {match r {
                    Some(r) => html!{ <>
                        <td>{format!("{} (expected {})", r.final_count, r.expected_count)}</td>
                        <td class={classes!((r.lost_updates > 0).then_some("bad"))}>{r.lost_updates}</td>
                        <td>{ if r.freed_while_referenced { "freed while still in use" } else if r.leaked { "leaked" } else { "correct" } }</td>
                        <td>{format!("{:.2} ns", r.ns_per_op)}</td>
                    </> },
                    None => html!{ <td colspan="4" class="muted">{"not run yet"}</td> },
                }}
            </tr>
        }
    };
    html! {
        <div class="race">
            <h3>{"Why the GIL exists: the reference-count race, on real threads"}</h3>
            <p class="hint">{"Each thread does incref/decref pairs on one shared object's count. A plain read-then-write \
                (like a non-atomic ob_refcnt++) loses updates when threads overlap; under the GIL it cannot; atomic \
                read-modify-write is correct but costs more per operation — the price free-threaded Python pays."}</p>
            <div class="race-controls">
                {input("Threads", "race-threads", &threads)}
                {input("Pairs per thread", "race-pairs", &pairs)}
                <button onclick={run("plain")} disabled={busy} data-testid="race-plain-run">{"Plain"}</button>
                <button onclick={run("gil")} disabled={busy} data-testid="race-gil-run">{"Under the GIL"}</button>
                <button onclick={run("atomic")} disabled={busy} data-testid="race-atomic-run">{"Atomic"}</button>
            </div>
            if let Some(e) = &*error {
                <p class="error" role="alert">{e}</p>
            }
            <div class="table-scroll" tabindex="0" role="region" aria-label="Results of the refcount race">
            <table class="race-table">
                <thead><tr><th scope="col">{"variant"}</th><th scope="col">{"final count"}</th><th scope="col">{"lost updates"}</th><th scope="col">{"the object"}</th><th scope="col">{"cost per operation"}</th></tr></thead>
                <tbody>
                    {row(RaceVariant::Plain, "plain", " load, then store")}
                    {row(RaceVariant::Gil, "gil", " same, holding the GIL")}
                    {row(RaceVariant::Atomic, "atomic", " fetch_add / fetch_sub")}
                </tbody>
            </table>
            </div>
        </div>
    }
}
