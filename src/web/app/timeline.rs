//! The timeline: one panel per engine, one lane per thread or process, one bar per
//! task at its measured start and end, all panels on one time scale.

use super::state::{slot, State};
use crate::core::config::{Engine, Workload};
use crate::core::timeline::{format_ms, max_concurrency, speedup, ticks, TaskRecord};
use yew::prelude::*;

const WIDTH: f64 = 1000.0;
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
}

#[derive(Properties, PartialEq)]
pub struct TimelinesProps {
    pub state: UseReducerHandle<State>,
}

#[function_component(Timelines)]
pub fn timelines(props: &TimelinesProps) -> Html {
    let state = &*props.state;
    let live_elapsed = state
        .live
        .as_ref()
        .map_or(0.0, |l| (state.now - l.started_at).max(0.0));
    let scale = state
        .last
        .iter()
        .flatten()
        .map(|r| r.wall_ms)
        .fold(live_elapsed, f64::max)
        .max(100.0);
    html! {
        <section class="card timeline" aria-labelledby="timeline-title">
            <div class="card-head">
                <h2 id="timeline-title">{"Timeline"}</h2>
                <span class="scale-note">{"All panels share one time axis. Hover a bar for its exact times."}</span>
            </div>
            {for Engine::ALL.into_iter().map(|engine| panel(state, engine, scale))}
        </section>
    }
}

fn panel(state: &State, engine: Engine, scale: f64) -> Html {
    let live = state.live.as_ref().filter(|l| l.config.engine == engine);
    let last = state.last[slot(engine)].as_ref();
    let (bars, lanes, config) = if let Some(live) = live {
        let bars: Vec<Bar> = live
            .tasks
            .iter()
            .map(|(id, t)| Bar {
                id: *id,
                lane: t.lane,
                start: t.start - live.started_at,
                end: t.end.unwrap_or(state.now) - live.started_at,
                running: t.end.is_none(),
                checked: None,
            })
            .collect();
        let used = bars.iter().map(|b| b.lane + 1).max().unwrap_or(0);
        (
            bars,
            used.max(live.config.workers.min(live.config.tasks)).max(1),
            Some(live.config.clone()),
        )
    } else if let Some(result) = last {
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
            })
            .collect();
        (bars, result.lane_count(), Some(result.config()))
    } else {
        (Vec::new(), 1, None)
    };

    let height = f64::from(lanes) * (LANE + GAP) + AXIS;
    let x = |ms: f64| GUTTER + (ms / scale).clamp(0.0, 1.0) * (WIDTH - GUTTER - RIGHT);
    let lane_y = |lane: u32| f64::from(lane) * (LANE + GAP) + GAP / 2.0;
    let axis_y = f64::from(lanes) * (LANE + GAP);

    let lane_labels = (0..lanes).map(|lane| {
        let label = if engine == Engine::Main { "main thread".to_owned() } else { format!("{} {lane}", engine.lane_name()) };
        html! { <text class="lane-label" x={(GUTTER - 8.0).to_string()} y={(lane_y(lane) + LANE / 2.0 + 4.0).to_string()} text-anchor="end">{label}</text> }
    });
    let grid = ticks(scale, 8).into_iter().map(|t| {
        html! {
            <g class="tick">
                <line x1={x(t).to_string()} x2={x(t).to_string()} y1="0" y2={(axis_y + 4.0).to_string()} />
                <text x={x(t).to_string()} y={(axis_y + 17.0).to_string()} text-anchor="middle">{axis_label(t, scale)}</text>
            </g>
        }
    });
    let lane_name = engine.lane_name();
    let bar_views = bars.iter().map(|b| {
        let (x0, x1) = (x(b.start), x(b.end).max(x(b.start) + 2.0));
        let title = format!(
            "task {} on {} {}: {} → {}{} ({})",
            b.id,
            lane_name,
            b.lane,
            format_ms(b.start),
            format_ms(b.end),
            if b.running { " (running)" } else { "" },
            format_ms(b.end - b.start)
        );
        let label_fits = x1 - x0 > 58.0;
        html! {
            <g class={classes!("bar", b.running.then_some("running"), (b.checked == Some(false)).then_some("wrong"))}
                data-testid="bar" data-engine={engine.key()} data-id={b.id.to_string()} data-lane={b.lane.to_string()}
                data-start={format!("{:.3}", b.start)} data-end={format!("{:.3}", b.end)} data-running={b.running.to_string()}>
                <title>{title}</title>
                <rect x={x0.to_string()} y={lane_y(b.lane).to_string()} width={(x1 - x0).to_string()} height={LANE.to_string()} rx="5" />
                if label_fits {
                    <text x={(x0 + 8.0).to_string()} y={(lane_y(b.lane) + LANE / 2.0 + 4.0).to_string()}>
                        {format!("task {}", b.id)}
                    </text>
                }
            </g>
        }
    });

    html! {
        <div class={classes!("panel", format!("engine-{}", engine.key()), live.map(|_| "live"))} data-testid={format!("panel-{}", engine.key())}
            data-run={last.map(|r| r.run.to_string())} data-live={live.is_some().to_string()}>
            <div class="panel-head">
                <h3>{engine.label()}</h3>
                {stats(state, engine, config.as_ref().map(|c| c.workload), live.is_some())}
            </div>
            if bars.is_empty() && live.is_none() {
                <p class="empty">{
                    state.engine_errors[slot(engine)].clone().unwrap_or_else(|| format!("No {} run yet.", engine.label().to_lowercase()))
                }</p>
            } else {
                <svg class="lanes" viewBox={format!("0 0 {WIDTH} {height}")} role="img" preserveAspectRatio="none"
                    style={format!("height: {}px", height)}
                    aria-label={format!("{} timeline: {} tasks on {} lanes", engine.label(), bars.len(), lanes)}>
                    <g class="grid">{for grid}</g>
                    {for lane_labels}
                    {for bar_views}
                </svg>
            }
        </div>
    }
}

fn axis_label(t: f64, scale: f64) -> String {
    if scale >= 2000.0 {
        format!("{} s", t / 1000.0)
    } else {
        format!("{t} ms")
    }
}

fn stats(state: &State, engine: Engine, workload: Option<Workload>, live: bool) -> Html {
    if live {
        return html! { <span class="stats"><span class="pill running-pill">{"running…"}</span></span> };
    }
    let Some(result) = state.last[slot(engine)].as_ref() else {
        return html! {};
    };
    let records: &[TaskRecord] = &result.tasks;
    let baseline = state.sequential_for(&result.config());
    let speed = match (
        engine,
        baseline.and_then(|seq| speedup(seq.wall_ms, result.wall_ms)),
    ) {
        (Engine::Main, _) => {
            html! { <span class="stat"><span class="k">{"speed-up"}</span><span class="v">{"1.00× (baseline)"}</span></span> }
        }
        (_, Some(s)) => html! {
            <span class="stat"><span class="k">{"speed-up vs main thread"}</span><span class="v speedup" data-testid={format!("speedup-{}", engine.key())}>{format!("{s:.2}×")}</span></span>
        },
        (_, None) => {
            html! { <span class="stat muted">{"run the main thread with the same work to see the speed-up"}</span> }
        }
    };
    let checked = records.iter().filter(|t| t.checked == Some(true)).count();
    let lanes_word = match engine {
        Engine::Main => "1 thread".to_owned(),
        Engine::Threads => format!("{} threads, 1 process", result.workers),
        Engine::Processes => format!("{} processes", result.workers),
    };
    html! {
        <span class="stats">
            <span class="stat"><span class="k">{"wall"}</span><span class="v" data-testid={format!("wall-{}", engine.key())}>{format_ms(result.wall_ms)}</span></span>
            <span class="stat"><span class="k">{"tasks summed"}</span><span class="v">{format_ms(result.busy_ms)}</span></span>
            {speed}
            <span class="stat"><span class="k">{"at once"}</span><span class="v">{format!("≤ {}", max_concurrency(records))}</span></span>
            <span class="stat muted">{lanes_word}{format!(" · {} cores", result.cores)}</span>
            if workload == Some(Workload::Cpu) {
                <span class="stat muted">{format!("{checked}/{} results checked", records.len())}</span>
            }
            if let Some(gap) = result.longest_frame_gap_ms {
                <span class="stat warn"><span class="k">{"page frozen for"}</span><span class="v">{format_ms(gap)}</span></span>
            }
            if result.setup_ms > 0.5 {
                <span class="stat muted">{format!("+{} to start workers (not in wall)", format_ms(result.setup_ms))}</span>
            }
        </span>
    }
}
