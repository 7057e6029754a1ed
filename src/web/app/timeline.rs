//! The timeline: one panel per set-up, one lane per thread or process, one bar per
//! task at its measured start and end, split into what its thread was doing (running,
//! waiting for the GIL, waiting on I/O), all panels on one time scale.

use super::export::{self, Format};
use super::state::{Action, State};
use crate::core::config::{Engine, RunConfig, Variant, Workload};
use crate::core::gil::{Segment, SegmentState};
use crate::core::layout::{axis_label, axis_ticks};
use crate::core::live::{Feed, LiveFeed};
use crate::core::timeline::{
    coalesce, format_ms, max_concurrency, speedup, time_in, RunResult, TaskRecord, TaskStatus,
};
use crate::web::clock::now_ms;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// The drawing's width until the panels have been measured (the SVG scales to its box meanwhile).
const WIDTH: f64 = 1000.0;
/// Narrower than this, bars would have no room next to the lane labels.
const MIN_WIDTH: f64 = 240.0;
const GUTTER: f64 = 92.0;
const RIGHT: f64 = 14.0;
const LANE: f64 = 26.0;
const GAP: f64 = 8.0;
const AXIS: f64 = 24.0;

/// A bar to draw: times relative to its run's start.
#[derive(Clone, PartialEq)]
struct Bar {
    id: u32,
    lane: u32,
    start: f64,
    end: f64,
    running: bool,
    checked: Option<bool>,
    segments: Vec<Segment>,
    segments_dropped: u32,
    status: TaskStatus,
}

/// How often the live panel is redrawn while a run's tasks wait on I/O: smooth enough to
/// watch the bars grow, and the cores are idle anyway.
const LIVE_TICK_MS: i32 = 100;
/// How often it is redrawn while CPU-bound tasks run in workers. Every redraw costs the page's
/// thread, the compositor and the browser some milliseconds of CPU, taken from the workers
/// being measured: at 100 ms, two workers on two cores lost some 5% of their speed
/// (ARCHITECTURE.md, "Measuring without disturbing").
const LIVE_TICK_CPU_MS: i32 = 500;

/// How often the live panel of a run of `config` is redrawn.
fn live_tick_ms(config: &RunConfig) -> i32 {
    if config.workload == Workload::Cpu && config.engine != Engine::Main {
        LIVE_TICK_CPU_MS
    } else {
        LIVE_TICK_MS
    }
}

#[derive(Properties, PartialEq)]
pub struct TimelinesProps {
    pub state: UseReducerHandle<State>,
    pub feed: Rc<LiveFeed>,
}

#[function_component(Timelines)]
pub fn timelines(props: &TimelinesProps) -> Html {
    let state = &*props.state;
    let (panels_ref, width) = use_width();
    let ticked = use_live_clock(state.live.as_ref().map(|l| live_tick_ms(&l.config)));
    // The run in progress as its tasks have reported so far, and the time now.
    let live = state.live.as_ref().map(|l| {
        let feed = props.feed.read(l.run);
        let now = ticked.max(feed.latest);
        (l, feed, now)
    });
    let live_elapsed = live.as_ref().map_or(0.0, |(_, feed, now)| feed.started_at.map_or(0.0, |s| (now - s).max(0.0)));
    // The axis the finished runs share. A live run that outgrows it stretches its own panel
    // alone: growing the shared axis would redraw every other panel while workers compute
    // (tests/e2e/quiet.test.mjs saw it under load); they join it when the run ends.
    let shared = state.runs.lasts().map(|r| r.wall_ms).fold(100.0, f64::max);
    let on_export = use_callback(props.state.clone(), |(variant, format): (Variant, Format), state| {
        let Some(result) = state.last_of(variant).cloned() else { return };
        let svg = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&format!("[data-testid=panel-{}] svg.lanes", variant.key())).ok())
            .flatten();
        let dispatcher = state.dispatcher();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(why) = export::download(&result, format, svg).await {
                dispatcher.dispatch(Action::Notice(format!("Could not export the {}: {why}", format.extension())));
            }
        });
    });
    html! {
        <section class="card timeline" aria-labelledby="timeline-title">
            <div class="card-head">
                <h2 id="timeline-title">{"Timeline"}</h2>
                <span class="legend" aria-label="Legend">
                    <span class="key"><svg width="22" height="12" aria-hidden="true"><rect class="seg-running" width="22" height="12" rx="3"/></svg>{"running (holds the GIL)"}</span>
                    <span class="key"><svg width="22" height="12" aria-hidden="true"><rect class="seg-gil_wait" width="22" height="12" rx="3"/></svg>{"waiting for the GIL"}</span>
                    <span class="key"><svg width="22" height="12" aria-hidden="true"><rect class="seg-io" width="22" height="12" rx="3"/></svg>{"waiting on I/O"}</span>
                </span>
            </div>
            <p class="scale-note">{"All panels share one time axis (a run in progress stretches its own until it ends). Hover a bar for its exact times."}</p>
            <div class="panels" ref={panels_ref}>
            {for Variant::ALL.into_iter().map(|variant| {
                // Only the live panel changes with the clock.
                let live = live.as_ref().filter(|(l, _, _)| l.config.variant() == variant).map(|(_, feed, now)| LiveView { feed: feed.clone(), now: *now });
                let scale = if live.is_some() { shared.max(live_elapsed) } else { shared };
                html! { <PanelView key={variant.key()} state={props.state.clone()} {variant} {scale} {width} {live} on_export={on_export.clone()} /> }
            })}
            </div>
        </section>
    }
}

#[wasm_bindgen]
extern "C" {
    /// The browser's `ResizeObserver`, bound here rather than through a web-sys feature: the
    /// page needs only its constructor, `observe` and `disconnect`.
    type ResizeObserver;
    #[wasm_bindgen(constructor)]
    fn new(callback: &js_sys::Function) -> ResizeObserver;
    #[wasm_bindgen(method)]
    fn observe(this: &ResizeObserver, target: &web_sys::Element);
    #[wasm_bindgen(method)]
    fn disconnect(this: &ResizeObserver);
}

/// The width in CSS pixels of the element given the returned ref, kept up to date.
///
/// The timeline is drawn at the size it is shown, its viewBox one unit per pixel, so that
/// its labels keep their size on a phone and the axis gets as many ticks as fit. (A fixed
/// viewBox stretched to the box would squeeze 12 px labels to 4 px at 375 px wide.) A
/// `ResizeObserver` rather than the window's resize event: the box also changes when a
/// scrollbar comes or goes, or the layout switches columns, with no resize of the window.
#[hook]
pub(crate) fn use_width() -> (NodeRef, f64) {
    let node = use_node_ref();
    let width = use_state(|| WIDTH);
    {
        let (node, width) = (node.clone(), width.clone());
        use_effect_with((), move |()| {
            let observer = node.cast::<web_sys::Element>().map(|el| {
                let target = el.clone();
                // The handle's value is the one of the render it came from: remember the last set.
                let last = std::cell::Cell::new(WIDTH);
                let measure = Closure::<dyn FnMut()>::new(move || {
                    let now = f64::from(target.client_width());
                    if now > 0.0 && (now - last.get()).abs() >= 1.0 {
                        last.set(now);
                        width.set(now);
                    }
                });
                let observer = ResizeObserver::new(measure.as_ref().unchecked_ref());
                observer.observe(&el);
                (observer, measure)
            });
            move || {
                if let Some((observer, _measure)) = observer {
                    observer.disconnect();
                }
            }
        });
    }
    (node, *width)
}

/// The time now, refreshed every `tick_ms` while there is one (a run is live); 0 otherwise.
#[hook]
fn use_live_clock(tick_ms: Option<i32>) -> f64 {
    let now = use_state(|| 0.0);
    {
        let now = now.clone();
        use_effect_with(tick_ms, move |tick_ms| {
            let handle = tick_ms.map(|ms| {
                let tick = Closure::<dyn FnMut()>::new(move || now.set(now_ms()));
                let window = web_sys::window().expect_throw("no window");
                let id = window
                    .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), ms)
                    .unwrap_or_default();
                (id, tick)
            });
            move || {
                if let (Some((id, _tick)), Some(window)) = (handle, web_sys::window()) {
                    window.clear_interval_with_handle(id);
                }
            }
        });
    }
    if tick_ms.is_some() {
        *now
    } else {
        0.0
    }
}

/// What a live panel draws: its run so far, and the time now.
#[derive(Clone, PartialEq)]
struct LiveView {
    feed: Feed,
    now: f64,
}

#[derive(Properties, PartialEq)]
struct PanelProps {
    state: UseReducerHandle<State>,
    variant: Variant,
    scale: f64,
    /// The drawing's width in CSS pixels.
    width: f64,
    /// Set for the panel of the run in progress.
    live: Option<LiveView>,
    on_export: Callback<(Variant, Format)>,
}

#[function_component(PanelView)]
fn panel_view(props: &PanelProps) -> Html {
    panel(&props.state, props.variant, props.scale, props.width, props.live.as_ref(), &props.on_export)
}

fn bars_of(state: &State, variant: Variant, live_view: Option<&LiveView>) -> (Vec<Bar>, u32, bool) {
    if let (Some(live), Some(LiveView { feed, now })) =
        (state.live.as_ref().filter(|l| l.config.variant() == variant), live_view)
    {
        let started_at = feed.started_at.unwrap_or(*now);
        let bars: Vec<Bar> = feed
            .tasks
            .iter()
            .map(|(id, t)| Bar {
                id: *id,
                lane: t.lane,
                start: t.start - started_at,
                end: t.end.unwrap_or(*now).max(t.start) - started_at,
                running: t.end.is_none(),
                checked: None,
                segments: Vec::new(),
                segments_dropped: 0,
                status: TaskStatus::Ok,
            })
            .collect();
        let used = bars.iter().map(|b| b.lane + 1).max().unwrap_or(0);
        return (bars, used.max(live.config.workers.min(live.config.tasks)).max(1), true);
    }
    if let Some(result) = state.last_of(variant) {
        let bars = result
            .tasks
            .iter()
            .map(|t| Bar {
                id: t.id,
                lane: t.lane,
                start: t.start_ms,
                end: t.end_ms,
                running: false,
                checked: t.checked,
                segments: t.segments.clone(),
                segments_dropped: t.segments_dropped,
                status: t.status,
            })
            .collect();
        return (bars, result.lane_count(), false);
    }
    (Vec::new(), 1, false)
}

fn state_word(state: SegmentState) -> &'static str {
    match state {
        SegmentState::Running => "running",
        SegmentState::GilWait => "waiting for the GIL",
        SegmentState::Io => "waiting on I/O",
    }
}

fn panel(
    state: &State,
    variant: Variant,
    scale: f64,
    width: f64,
    live: Option<&LiveView>,
    on_export: &Callback<(Variant, Format)>,
) -> Html {
    let engine = variant.engine();
    let width = width.max(MIN_WIDTH).round();
    let plot = width - GUTTER - RIGHT;
    let (bars, lanes, live) = bars_of(state, variant, live);
    let height = f64::from(lanes) * (LANE + GAP) + AXIS;
    let x = |ms: f64| GUTTER + (ms / scale).clamp(0.0, 1.0) * plot;
    let lane_y = |lane: u32| f64::from(lane) * (LANE + GAP) + GAP / 2.0;
    let axis_y = f64::from(lanes) * (LANE + GAP);

    let lane_labels = (0..lanes).map(|lane| {
        let label = engine.info().lane_label(lane);
        html! { <text class="lane-label" x={(GUTTER - 8.0).to_string()} y={(lane_y(lane) + LANE / 2.0 + 4.0).to_string()} text-anchor="end">{label}</text> }
    });
    let grid = axis_ticks(scale, plot).into_iter().map(|t| {
        // A label at the right end would stick out of the drawing: it ends at its tick instead.
        let anchor = if x(t) > width - RIGHT - 24.0 { "end" } else { "middle" };
        html! {
            <g class="tick">
                <line x1={x(t).to_string()} x2={x(t).to_string()} y1="0" y2={(axis_y + 4.0).to_string()} />
                <text x={x(t).to_string()} y={(axis_y + 17.0).to_string()} text-anchor={anchor}>{axis_label(t, scale)}</text>
            </g>
        }
    });
    let lane_name = engine.lane_name();
    let bar_views = bars.iter().map(|b| {
        let (x0, x1) = (x(b.start), x(b.end).max(x(b.start) + 2.0));
        let y = lane_y(b.lane);
        let mut title = format!(
            "task {}{} on {} {}: {} → {}{} ({})",
            b.id,
            match b.status {
                TaskStatus::Ok => "",
                TaskStatus::Crashed => " (crashed)",
                TaskStatus::Lost => " (lost with its process)",
                TaskStatus::Timeout => " (ended at the timeout)",
            },
            lane_name,
            b.lane,
            format_ms(b.start),
            format_ms(b.end),
            if b.running { " (running)" } else { "" },
            format_ms(b.end - b.start)
        );
        for s in [SegmentState::Running, SegmentState::GilWait, SegmentState::Io] {
            let total = time_in(&b.segments, s);
            if total > 0.0 {
                title.push_str(&format!("\n{}: {}", state_word(s), format_ms(total)));
            }
        }
        // Sub-pixel segments are merged for drawing (the data keeps them all).
        let drawn = coalesce(&b.segments, scale / plot);
        if b.segments_dropped > 0 {
            title.push_str(&format!("\n{} later state changes were not recorded", b.segments_dropped));
        }
        let segments = drawn.iter().map(|g| {
            let (s0, s1) = (x(g.start_ms), x(g.end_ms));
            html! { <rect class={format!("seg seg-{}", segment_key(g.state))} x={s0.to_string()} y={y.to_string()}
                width={(s1 - s0).max(0.0).to_string()} height={LANE.to_string()} /> }
        });
        let label_fits = x1 - x0 > 58.0;
        html! {
            <g class={classes!("bar", b.running.then_some("running"), (b.checked == Some(false)).then_some("wrong"), status_class(b.status))}
                data-status={status_class(b.status).trim_start_matches("status-").to_owned()}
                data-testid="bar" data-engine={engine.key()} data-id={b.id.to_string()} data-lane={b.lane.to_string()}
                data-start={format!("{:.3}", b.start)} data-end={format!("{:.3}", b.end)} data-running={b.running.to_string()}>
                <title>{title}</title>
                if b.segments.is_empty() {
                    <rect class="whole" x={x0.to_string()} y={y.to_string()} width={(x1 - x0).to_string()} height={LANE.to_string()} rx="5" />
                } else {
                    <g class="segments">{for segments}</g>
                    <rect class="outline" x={x0.to_string()} y={y.to_string()} width={(x1 - x0).to_string()} height={LANE.to_string()} rx="5" />
                }
                if label_fits {
                    <text x={(x0 + 8.0).to_string()} y={(y + LANE / 2.0 + 4.0).to_string()}>
                        {format!("task {}", b.id)}
                    </text>
                }
            </g>
        }
    });
    let last = state.last_of(variant);

    html! {
        <div class={classes!("panel", format!("engine-{}", engine.key()), live.then_some("live"))} data-testid={format!("panel-{}", variant.key())}
            data-run={last.map(|r| r.run.to_string())} data-live={live.to_string()}
            data-current={(variant == state.form.variant()).then_some("true")}>
            <div class="panel-head">
                <h3>{variant.label()}</h3>
                {stats(state, variant, last.map(|r| r.config.workload), live)}
            </div>
            if bars.is_empty() && !live {
                <p class="empty">{
                    state.engine_errors.get(&engine).cloned().unwrap_or_else(|| format!("No run yet: choose {} and press Run, or Compare all four.", variant.label()))
                }</p>
            } else {
                <svg class="lanes" viewBox={format!("0 0 {width} {height}")} role="img" preserveAspectRatio="none"
                    style={format!("height: {height}px")}
                    aria-label={format!("{} timeline: {} tasks on {} lanes", variant.label(), bars.len(), lanes)}>
                    <g class="grid">{for grid}</g>
                    {for lane_labels}
                    {for bar_views}
                </svg>
            }
            if let (Some(result), false) = (last, live) {
                {table(result, engine)}
                <div class="exports" role="group" aria-label={format!("Download the {} run", variant.label())}>
                    <span class="muted">{"Download"}</span>
                    {for Format::ALL.into_iter().map(|format| {
                        let on_export = on_export.clone();
                        html! {
                            <button class="small" data-testid={format!("export-{}-{}", variant.key(), format.extension())}
                                onclick={Callback::from(move |_: MouseEvent| on_export.emit((variant, format)))}>
                                {format.extension().to_uppercase()}
                            </button>
                        }
                    })}
                </div>
            }
        </div>
    }
}

/// The timeline as a table: what a screen reader reads, and the exact figures for anyone.
fn table(result: &RunResult, engine: Engine) -> Html {
    let segmented = result.tasks.iter().any(|t| !t.segments.is_empty());
    let cell = |t: &TaskRecord, s| if t.segments.is_empty() { "—".to_owned() } else { format_ms(t.time_in(s)) };
    html! {
        <details class="as-table" data-testid={format!("table-{}", result.variant().key())}>
            <summary>{format!("Table of the {} tasks", result.tasks.len())}</summary>
            <div class="table-scroll" tabindex="0" role="region" aria-label={format!("Tasks of the {} run", result.variant().label())}>
                <table>
                    <caption class="visually-hidden">{format!("{}: every task, times from the run's start", result.variant().label())}</caption>
                    <thead><tr>
                        <th scope="col">{"Task"}</th><th scope="col">{"Ran on"}</th><th scope="col">{"Start"}</th>
                        <th scope="col">{"End"}</th><th scope="col">{"Duration"}</th>
                        if segmented {
                            <th scope="col">{"Running"}</th><th scope="col">{"Waiting for the GIL"}</th><th scope="col">{"Waiting on I/O"}</th>
                        }
                        <th scope="col">{"Outcome"}</th>
                    </tr></thead>
                    <tbody>
                        {for result.tasks.iter().map(|t| html! {
                            <tr>
                                <th scope="row">{format!("task {}", t.id)}</th>
                                <td>{engine.info().lane_label(t.lane)}</td>
                                <td>{format_ms(t.start_ms)}</td><td>{format_ms(t.end_ms)}</td><td>{format_ms(t.duration_ms())}</td>
                                if segmented {
                                    <td>{cell(t, SegmentState::Running)}</td><td>{cell(t, SegmentState::GilWait)}</td><td>{cell(t, SegmentState::Io)}</td>
                                }
                                <td>{outcome(t)}</td>
                            </tr>
                        })}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

fn outcome(t: &TaskRecord) -> &'static str {
    match (t.status, t.checked) {
        (TaskStatus::Ok, Some(true)) => "ok, result checked",
        (TaskStatus::Ok, Some(false)) => "wrong result",
        (TaskStatus::Ok, None) => "ok",
        (TaskStatus::Crashed, _) => "crashed",
        (TaskStatus::Lost, _) => "lost with its process",
        (TaskStatus::Timeout, _) => "ended at the timeout",
    }
}

fn status_class(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Ok => "status-ok",
        TaskStatus::Crashed => "status-crashed",
        TaskStatus::Lost => "status-lost",
        TaskStatus::Timeout => "status-timeout",
    }
}

fn segment_key(state: SegmentState) -> &'static str {
    match state {
        SegmentState::Running => "running",
        SegmentState::GilWait => "gil_wait",
        SegmentState::Io => "io",
    }
}

fn stats(state: &State, variant: Variant, workload: Option<Workload>, live: bool) -> Html {
    if live {
        return html! { <span class="stats"><span class="pill running-pill">{"running…"}</span></span> };
    }
    let Some(result) = state.last_of(variant) else { return html! {} };
    let records: &[TaskRecord] = &result.tasks;
    let key = variant.key();
    let baseline = state.runs.sequential_for(&result.config);
    let speed = match (variant, baseline.and_then(|seq| speedup(seq.wall_ms, result.wall_ms))) {
        (Variant::Main, _) => {
            html! { <span class="stat"><span class="k">{"speed-up"}</span><span class="v">{"1.00× (baseline)"}</span></span> }
        }
        (_, Some(s)) => html! {
            <span class="stat"><span class="k">{"speed-up vs main thread"}</span><span class="v speedup" data-testid={format!("speedup-{key}")}>{format!("{s:.2}×")}</span></span>
        },
        (_, None) => {
            html! { <span class="stat muted">{"run the main thread with the same work to see the speed-up"}</span> }
        }
    };
    let checked = records.iter().filter(|t| t.checked == Some(true)).count();
    let lanes_word = (variant.engine().info().workers_word)(result.config.workers);
    html! {
        <span class="stats">
            <span class="stat"><span class="k">{"wall"}</span><span class="v" data-testid={format!("wall-{key}")}>{format_ms(result.wall_ms)}</span></span>
            <span class="stat"><span class="k">{"tasks summed"}</span><span class="v">{format_ms(result.busy_ms)}</span></span>
            {speed}
            <span class="stat"><span class="k">{"at once"}</span><span class="v">{format!("≤ {}", max_concurrency(records))}</span></span>
            if variant == Variant::ThreadsGil {
                <span class="stat"><span class="k">{"GIL hand-overs"}</span><span class="v" data-testid="gil-switches">{result.gil_switches}</span></span>
                <span class="stat muted">{format!("switch interval {} ms", result.config.switch_interval_ms)}</span>
            }
            <span class="stat muted">{lanes_word}{format!(" · {} cores", result.cores)}</span>
            if workload == Some(Workload::Cpu) {
                <span class="stat muted">{format!("{checked}/{} results checked", records.len())}</span>
            }
            {for result.crashes.iter().map(|c| html!{
                <span class="stat crash" role="status" data-testid={format!("crash-{key}")}>{&c.message}</span>
            })}
            if let Some(gap) = result.longest_frame_gap_ms {
                <span class="stat warn"><span class="k">{"page frozen for"}</span><span class="v">{format_ms(gap)}</span></span>
            }
            if result.setup_ms > 0.5 {
                <span class="stat muted">{format!("+{} to start workers (not in wall)", format_ms(result.setup_ms))}</span>
            }
        </span>
    }
}
