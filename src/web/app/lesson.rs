//! The Lesson tab's place in the page (issue 16). The lesson itself is a wasm module of its own
//! (`pkg-lesson/`, `web::lesson`, built with the `lesson-module` feature), fetched when the tab
//! is first looked at: its text, its cells and its verdicts are not in the page's first load
//! (issue 7's budget). This mounts it into an empty box and lends it what only the page has:
//! [`LessonHost`] runs a cell through the runner (as the Code view's Run does) and reports its
//! output and result as [`CellNews`], opens a cell in the Code view, shows the Refcounts tab.

use super::Panel;
use crate::core::lesson::{CellNews, LiveSample};
use crate::core::program::ProgramOptions;
use crate::core::program_view::LiveLanes;
use crate::web::clock::now_ms;
use crate::web::js::to_js;
use crate::web::runner::{self, Shown, Stopper};
use crate::web::spawn::GLUE_URL;
use js_sys::JsString;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[wasm_bindgen(module = "/src/web/app/lesson.js")]
extern "C" {
    /// Imports the lesson's module (beside the page's glue), instantiates it and mounts it.
    #[wasm_bindgen(js_name = mountLesson, catch)]
    async fn mount_lesson(
        page_glue_url: JsString,
        root: web_sys::Element,
        host: LessonHost,
        cell: Option<String>,
    ) -> Result<(), JsValue>;
}

/// What the page lends the lesson's module (its `Host`).
#[wasm_bindgen]
pub struct LessonHost {
    on_open: Callback<String>,
    on_panel: Callback<Panel>,
}

#[wasm_bindgen]
impl LessonHost {
    /// Starts a cell's program, with the GIL or free-threaded (`gil`); `on_news` is called with each [`CellNews`], the last being
    /// `Done`. Throws why it could not start (another program is running, no worker).
    ///
    /// # Errors
    /// As `runner::start_for`.
    pub fn run(&self, source: String, gil: bool, on_news: js_sys::Function) -> Result<CellRun, JsValue> {
        let stopper = Rc::new(RefCell::new(None));
        let view = {
            let stopper = stopper.clone();
            Callback::from(move |shown: Shown| {
                let news = match shown {
                    Shown::Started { stopper: s, .. } => {
                        *stopper.borrow_mut() = Some(s);
                        return;
                    }
                    Shown::Output(chunks) => CellNews::Output(chunks),
                    Shown::Done(done) => CellNews::Done((*done).clone()),
                };
                if let Ok(news) = to_js(&news) {
                    let _ = on_news.call1(&JsValue::NULL, &news);
                }
            })
        };
        let done = runner::start_for(source, ProgramOptions { gil, ..ProgramOptions::default() }, view)
            .map_err(|why| JsValue::from_str(&why))?;
        wasm_bindgen_futures::spawn_local(async move {
            done.await;
        });
        let stopper = stopper.borrow_mut().take().ok_or_else(|| JsValue::from_str("the program did not start"))?;
        Ok(CellRun { stopper, lanes: RefCell::new(LiveLanes::new(now_ms())) })
    }

    /// Loads `source` into the Code view and shows it there, not run.
    pub fn open(&self, source: String) {
        self.on_open.emit(source);
    }

    /// Shows the Refcounts tab.
    pub fn refcounts(&self) {
        self.on_panel.emit(Panel::Refcount);
    }
}

/// A cell's program while it runs, for the lesson's module.
#[wasm_bindgen]
pub struct CellRun {
    stopper: Stopper,
    lanes: RefCell<LiveLanes>,
}

#[wasm_bindgen]
impl CellRun {
    /// Stop: the program ends at its next check.
    pub fn stop(&self) {
        self.stopper.stop();
    }

    /// The program's lanes so far, as a [`LiveSample`], read from its threads' live boards.
    #[must_use]
    pub fn live(&self) -> JsValue {
        let now = now_ms();
        let mut lanes = self.lanes.borrow_mut();
        lanes.sample(now, &self.stopper.live());
        to_js(&LiveSample { lanes: lanes.lanes().to_vec(), wall_ms: now - lanes.t0_ms() }).unwrap_or(JsValue::NULL)
    }
}

#[derive(Properties, PartialEq)]
pub struct LessonProps {
    /// Opens a cell's code in the Code view, without running it.
    pub on_open: Callback<String>,
    /// Shows another tab.
    pub on_panel: Callback<Panel>,
    /// `?cell=<id>`: that cell alone.
    pub cell: Option<String>,
}

/// An empty box the lesson's module draws into: yew renders no children in it, so it never
/// touches what the module puts there.
#[function_component(Lesson)]
pub fn lesson(props: &LessonProps) -> Html {
    let node = use_node_ref();
    {
        let (node, on_open, on_panel, cell) =
            (node.clone(), props.on_open.clone(), props.on_panel.clone(), props.cell.clone());
        use_effect_with((), move |()| {
            let Some(root) = node.cast::<web_sys::Element>() else { return };
            root.set_text_content(Some("Loading the lesson\u{2026}"));
            let url = GLUE_URL.with(JsString::clone);
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(why) = mount_lesson(url, root.clone(), LessonHost { on_open, on_panel }, cell).await {
                    let why = why.as_string().unwrap_or_else(|| {
                        js_sys::Reflect::get(&why, &"message".into())
                            .ok()
                            .and_then(|m| m.as_string())
                            .unwrap_or_default()
                    });
                    root.set_text_content(Some(&format!(
                        "The lesson could not be loaded ({why}): reload the page to try again."
                    )));
                    let _ = root.set_attribute("role", "alert");
                }
            });
        });
    }
    html! { <div class="lesson-mount" ref={node} data-testid="lesson-mount"></div> }
}
