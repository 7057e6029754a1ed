//! The notebook's "Key Differences" table, each claim next to what this device measured.

use super::state::State;
use crate::core::config::{Engine, Variant, Workload};
use crate::core::programs;
use crate::core::timeline::{format_ms, speedup, RunResult, TaskStatus};
use std::rc::Rc;
use yew::prelude::*;

/// The experiments a cell can ask for when its evidence is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Experiment {
    /// The notebook's I/O experiment (shortened): sequential vs threads.
    Io,
    /// Same CPU work on all four set-ups.
    Cpu,
    /// One task panics, on threads and on processes.
    Crash,
}

#[derive(Properties, PartialEq)]
pub struct DifferencesProps {
    pub state: UseReducerHandle<State>,
    pub on_experiment: Callback<Experiment>,
    /// Opens the Code view with this program and runs it.
    pub on_edit_and_run: Callback<String>,
}

/// `variant`'s last run of `workload`, with its speed-up over the same work sequentially.
fn measured(state: &State, variant: Variant, workload: Workload) -> Option<(Rc<RunResult>, Rc<RunResult>, f64)> {
    let run = state.runs.latest(variant, workload)?;
    let seq = state.runs.sequential_for(&run.config)?;
    let s = speedup(seq.wall_ms, run.wall_ms)?;
    Some((run.clone(), seq.clone(), s))
}

fn evidence(state: &State, variant: Variant, workload: Workload) -> Option<String> {
    measured(state, variant, workload).map(|(run, seq, s)| {
        format!(
            "{} {} tasks: {} sequentially, {} here: {s:.2}×",
            run.config.tasks,
            workload.label(),
            format_ms(seq.wall_ms),
            format_ms(run.wall_ms)
        )
    })
}

/// What the latest run with a crash on one of `variants` left standing.
fn crash_evidence(state: &State, variants: &[Variant]) -> Option<String> {
    let run = state.runs.latest_crash(variants)?;
    let count = |s: TaskStatus| run.tasks.iter().filter(|t| t.status == s).count();
    Some(format!(
        "one bad task of {}: {} finished, {} lost, {} crashed{}",
        run.tasks.len(),
        count(TaskStatus::Ok),
        count(TaskStatus::Lost),
        count(TaskStatus::Crashed),
        if count(TaskStatus::Timeout) > 0 {
            format!(", {} timed out", count(TaskStatus::Timeout))
        } else {
            String::new()
        }
    ))
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

#[function_component(Differences)]
pub fn differences(props: &DifferencesProps) -> Html {
    let state = &*props.state;
    let busy = state.busy();
    let ask = |experiment: Experiment, label: &str| {
        let on = props.on_experiment.reform(move |_: MouseEvent| experiment);
        html! { <button class="link" onclick={on} disabled={busy} data-testid={format!("experiment-{experiment:?}").to_lowercase()}>{label}</button> }
    };
    // A claim about Python that the lab's tasks cannot show: its example runs in the Code view.
    let run_example = |key: &str, label: &str| {
        let code = programs::example(key).map_or_else(String::new, |e| e.source.to_owned());
        let on = props.on_edit_and_run.reform(move |_: MouseEvent| code.clone());
        html! { <button class="link" onclick={on} data-testid={format!("run-{key}")}>{label}</button> }
    };
    let cell = |claim: &str, measured: Option<String>, missing: Html| {
        html! {
            <td>
                <span class="claim">{claim}</span>
                <span class="measured">{ match measured { Some(m) => html!{ {m} }, None => missing } }</span>
            </td>
        }
    };
    let costs = &state.start_costs;
    let thread_start = costs
        .thread_pool
        .map(|(ms, n)| format!("a pool of {n} threads ready in {} inside a running process", format_ms(ms)));
    let process_start = costs.processes.map(|(ms, n)| {
        format!(
            "{n} process{} ready in {} (each a new wasm instance and memory)",
            if n == 1 { "" } else { "es" },
            format_ms(ms)
        )
    });
    let measured_memory = |engine: Engine| state.memory.iter().find(|m| m.engine == engine);
    let threads_memory = match measured_memory(Engine::Threads) {
        Some(m) => Some(format!(
            "{} threads appended to one list: the process sees {} results, none copied",
            m.workers, m.parent_sees_items
        )),
        None => costs.thread_memory_bytes.map(|b| format!("all threads share one wasm memory ({})", mb(b))),
    };
    let process_memory = match measured_memory(Engine::Processes) {
        Some(m) => Some(format!(
            "{} processes appended to their own lists: the parent sees {}; {} sent there and back took {}",
            m.workers,
            m.parent_sees_items,
            mb(f64::from(m.bytes)),
            format_ms(m.copy_ms)
        )),
        None => costs.process_memory_bytes.map(|b| format!("each process starts its own wasm memory ({})", mb(b))),
    };
    let gil_cpu = match (
        measured(state, Variant::ThreadsGil, Workload::Cpu),
        measured(state, Variant::ThreadsFree, Workload::Cpu),
    ) {
        (Some((g, _, gs)), Some((_, _, fs))) => {
            Some(format!("CPU work: {gs:.2}× with the GIL ({} hand-overs), {fs:.2}× free-threaded", g.gil_switches))
        }
        (Some((g, _, gs)), None) => Some(format!("CPU work: {gs:.2}× with the GIL ({} hand-overs)", g.gil_switches)),
        _ => None,
    };

    html! {
        <section class="card differences" aria-labelledby="differences-title">
            <h2 id="differences-title">{"Key differences, measured on this device"}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Key differences">
            <table data-testid="differences">
                <thead><tr><th scope="col">{"Feature"}</th><th scope="col">{"threading"}</th><th scope="col">{"multiprocessing"}</th></tr></thead>
                <tbody>
                    <tr>
                        <th scope="row">{"Best for"}</th>
                        {cell("I/O-bound tasks", evidence(state, Variant::ThreadsGil, Workload::Io), ask(Experiment::Io, "Run the I/O experiment"))}
                        {cell("CPU-bound tasks", evidence(state, Variant::Processes, Workload::Cpu), ask(Experiment::Cpu, "Run the CPU experiment"))}
                    </tr>
                    <tr>
                        <th scope="row">{"Memory"}</th>
                        {cell("Shared within a process", threads_memory, html!{"starts with the threads engine"})}
                        {cell("Separate memory for each process", process_memory, html!{"starts with the processes engine"})}
                    </tr>
                    <tr>
                        <th scope="row">{"Performance"}</th>
                        {cell("Limited by the GIL for CPU tasks", gil_cpu, ask(Experiment::Cpu, "Run the CPU experiment"))}
                        {cell("Bypasses the GIL, better for CPU tasks", evidence(state, Variant::Processes, Workload::Cpu), ask(Experiment::Cpu, "Run the CPU experiment"))}
                    </tr>
                    <tr>
                        <th scope="row">{"Start cost"}</th>
                        {cell("A thread joins a running process", thread_start, html!{"measured when the pool starts"})}
                        {cell("A process starts a new interpreter and memory", process_start, html!{"measured when processes start"})}
                    </tr>
                    <tr>
                        <th scope="row">{"Uncaught exception"}</th>
                        {cell("Prints “Exception in thread” and a traceback, and ends that thread only: the program goes on", None,
                            run_example(programs::THREAD_EXCEPTION, "Run an exception in a thread"))}
                        {cell("Prints a traceback and ends that process with exit code 1: the parent goes on", None,
                            run_example(programs::PROCESS_EXCEPTION, "Run an exception in a process"))}
                    </tr>
                    <tr>
                        <th scope="row">{"Hard crash"}</th>
                        {cell("The bad task's panic ends the whole process, all its threads at once", crash_evidence(state, &[Variant::ThreadsGil, Variant::ThreadsFree]), ask(Experiment::Crash, "Run the crash experiment"))}
                        {cell("It ends only the bad process; its siblings live on", crash_evidence(state, &[Variant::Processes]), ask(Experiment::Crash, "Run the crash experiment"))}
                    </tr>
                </tbody>
            </table>
            </div>
            <p class="hint">{"In CPython a thread is much cheaper to start than a process. In a browser both are Web \
                Workers, so here the two start costs are close: what differs is the memory they share."}</p>
            {comparison(state)}
        </section>
    }
}

/// The four set-ups side by side for the same CPU work, once they have all run.
fn comparison(state: &State) -> Html {
    let Some(seq) = state.runs.latest(Variant::Main, Workload::Cpu) else { return html! {} };
    let rows: Vec<_> = Variant::ALL
        .into_iter()
        .filter_map(|v| state.runs.latest_same_work(v, &seq.config).map(|r| (v, r.clone())))
        .collect();
    if rows.len() < 2 {
        return html! {};
    }
    let longest = rows.iter().map(|(_, r)| r.wall_ms).fold(1.0, f64::max);
    html! {
        <div class="comparison" data-testid="cpu-comparison">
            <h3>{format!("CPU-bound: {} tasks of the same work", seq.config.tasks)}</h3>
            {for rows.iter().map(|(v, r)| {
                let s = speedup(seq.wall_ms, r.wall_ms).unwrap_or(1.0);
                html! {
                    <div class={classes!("row", format!("engine-{}", v.engine().key()))}>
                        <span class="name">{v.label()}</span>
                        <span class="track"><span class="fill" style={format!("width: {:.1}%", 100.0 * r.wall_ms / longest)}></span></span>
                        <span class="figure">{format!("{} · {s:.2}×", format_ms(r.wall_ms))}</span>
                    </div>
                }
            })}
            <p class="hint">{format!(
                "Ideal: {}× with {} cores. With the GIL only one thread runs Python at a time, so threads cannot beat sequential code on CPU work.",
                seq.config.tasks.min(seq.cores), seq.cores)}</p>
        </div>
    }
}
