//! A program's run as a view shows it, from the runner's news ([`Shown`]): the terminal and the
//! timeline, both growing while it runs. The Code view and each cell of the lesson have one.

use super::timeline::use_width;
use crate::core::program::{OutputChunk, ProgramResult};
use crate::core::program_view::{live_timeline_html, terminal_html, timeline_html_as, LiveLanes, LIVE_SAMPLE_MS};
use crate::core::runtime::board::LiveThread;
use crate::web::clock::now_ms;
use crate::web::runner::{Shown, Stopper};
use gloo_timers::callback::Interval;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// What the program's threads do now, sampled from their processes' live boards.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveView {
    pub threads: Vec<(u32, LiveThread)>,
    pub lanes: Vec<crate::core::program::Lane>,
    pub wall_ms: f64,
}

/// One view's run: what it printed so far, its result once it ended, its live state.
#[derive(Clone)]
pub struct RunState {
    pub output: UseStateHandle<Vec<OutputChunk>>,
    pub result: UseStateHandle<Option<Rc<ProgramResult>>>,
    pub running: UseStateHandle<bool>,
    pub live: UseStateHandle<LiveView>,
    stopper: Rc<RefCell<Option<Stopper>>>,
    // Output arrives in batches between renders: collected here, shown at each batch.
    collected: Rc<RefCell<Vec<OutputChunk>>>,
    live_lanes: Rc<RefCell<LiveLanes>>,
}

impl PartialEq for RunState {
    fn eq(&self, other: &Self) -> bool {
        self.output == other.output
            && self.result == other.result
            && self.running == other.running
            && self.live == other.live
    }
}

/// A run's state, with its sampler: while the program runs, its threads' lines and states are
/// read every [`LIVE_SAMPLE_MS`] and its timeline grows (docs/python-vm.md §6).
#[hook]
pub fn use_run() -> RunState {
    let run = RunState {
        output: use_state(Vec::new),
        result: use_state(|| None),
        running: use_state(|| false),
        live: use_state(LiveView::default),
        stopper: use_mut_ref(|| None),
        collected: use_mut_ref(Vec::new),
        live_lanes: use_mut_ref(LiveLanes::default),
    };
    {
        let (live, live_lanes, stopper) = (run.live.clone(), run.live_lanes.clone(), run.stopper.clone());
        use_effect_with(*run.running, move |running| {
            let sampler = running.then(|| {
                Interval::new(LIVE_SAMPLE_MS, move || {
                    let threads = stopper.borrow().as_ref().map(Stopper::live).unwrap_or_default();
                    let now = now_ms();
                    let mut lanes = live_lanes.borrow_mut();
                    lanes.sample(now, &threads);
                    live.set(LiveView { threads, lanes: lanes.lanes().to_vec(), wall_ms: now - lanes.t0_ms() });
                })
            });
            move || drop(sampler)
        });
    }
    run
}

impl RunState {
    /// The runner's news of this view's run.
    pub fn show(&self, shown: Shown) {
        match shown {
            Shown::Started { stopper, .. } => {
                self.result.set(None);
                self.collected.borrow_mut().clear();
                self.output.set(Vec::new());
                *self.live_lanes.borrow_mut() = LiveLanes::new(now_ms());
                self.live.set(LiveView::default());
                *self.stopper.borrow_mut() = Some(stopper);
                self.running.set(true);
            }
            Shown::Output(chunks) => {
                self.collected.borrow_mut().extend(chunks);
                self.output.set(self.collected.borrow().clone());
            }
            Shown::Done(done) => {
                self.output.set(done.output.clone());
                self.result.set(Some(done));
                self.stopper.borrow_mut().take();
                self.running.set(false);
            }
        }
    }

    /// Stop: the program ends at its next check.
    pub fn stop(&self) {
        if let Some(stopper) = &*self.stopper.borrow() {
            stopper.stop();
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct RunOutputProps {
    pub run: RunState,
    /// The id of the terminal's title: unique on the page.
    pub title_id: AttrValue,
    /// Whether the run had the GIL (false: free-threaded, drawn without one).
    #[prop_or(true)]
    pub gil: bool,
}

/// The run's terminal (each line tagged with who wrote it) and its timeline.
#[function_component(RunOutput)]
pub fn run_output(props: &RunOutputProps) -> Html {
    let run = &props.run;
    let (timeline_ref, width) = use_width();
    let title = props.title_id.clone();
    html! {
        <>
            <h3 class="small-title" id={title.clone()}>{"Output"}</h3>
            <div class="terminal" role="log" aria-labelledby={title} tabindex="0" data-testid="code-output">
                {Html::from_html_unchecked(terminal_html(&run.output, run.result.as_ref().map_or(&[][..], |r| &r.lanes[..])).into())}
            </div>
            <div class="program-timeline" ref={timeline_ref} data-testid="code-timeline" data-ready={run.result.is_some().to_string()}>
                if let Some(r) = &*run.result {
                    {Html::from_html_unchecked(timeline_html_as(r, width, props.gil).into())}
                } else if *run.running {
                    {Html::from_html_unchecked(live_timeline_html(&run.live.lanes, run.live.wall_ms, width).into())}
                }
            </div>
        </>
    }
}
