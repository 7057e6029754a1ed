//! The Lesson tab's own wasm module (issue 16; `pkg-lesson/`, built with the `lesson-module`
//! feature, without threads: it runs on the page's thread only). The page imports it when the
//! tab is first looked at and calls [`mount`] with an empty box and its `LessonHost`
//! (`web::app::lesson`), which runs each cell through the page's runner. So none of the lesson
//! is in the page's first load (issue 7's budget).
//!
//! No yew here: two yew apps on one page would both claim the events of the inner one (each
//! numbers its trees from 1), and the lesson is markup anyway. `core::lesson` writes every
//! part (`lesson_html`, `experiment_html`, `cell_html`, `verdicts_html`, `Phase`), tested
//! natively; this draws it once, then updates the parts that change in place (a field keeps its
//! focus), from one click and one input listener, and keeps the progress in localStorage.

use crate::core::lesson::{self, CellNews, Exercise, Experiment, LiveSample, Outcome, Phase, Prediction, Progress};
use crate::core::program::{OutputChunk, ProgramResult};
use crate::core::program_view::{live_timeline_html, summary_as, terminal_html, timeline_html_as, LIVE_SAMPLE_MS};
use gloo_timers::callback::{Interval, Timeout};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement, HtmlTextAreaElement};

#[wasm_bindgen]
extern "C" {
    /// The page's `LessonHost`.
    #[derive(Clone)]
    pub type Host;
    #[wasm_bindgen(method, catch)]
    fn run(this: &Host, source: &str, gil: bool, on_news: &js_sys::Function) -> Result<CellRun, JsValue>;
    #[wasm_bindgen(method)]
    fn open(this: &Host, source: &str);
    #[wasm_bindgen(method)]
    fn refcounts(this: &Host);

    /// The page's `CellRun`: a cell's program while it runs.
    pub type CellRun;
    #[wasm_bindgen(method)]
    fn stop(this: &CellRun);
    #[wasm_bindgen(method)]
    fn live(this: &CellRun) -> JsValue;
    /// Frees the page's side of it (a wasm-bindgen object of the page's module).
    #[wasm_bindgen(method)]
    fn free(this: &CellRun);
}

/// Where a timeline is drawn before its box has a width (the tab hidden).
const FALLBACK_WIDTH: f64 = 720.0;

/// One experiment's box and its run in this page.
struct Cell {
    e: &'static Experiment,
    el: Element,
    running: bool,
    handle: Option<CellRun>,
    output: Vec<OutputChunk>,
    result: Option<ProgramResult>,
    live: LiveSample,
    /// Whether the form was last drawn locked (it is drawn again only when that changes, or
    /// when `None`: after Reset).
    locked: Option<bool>,
    sampler: Option<Interval>,
    // Kept until the next run: the page may still call it.
    on_news: Option<Closure<dyn FnMut(JsValue)>>,
}

/// An exercise's box and its check: its runs so far (the check stops at the first wrong one).
struct Check {
    x: &'static Exercise,
    el: Element,
    /// The code being checked, as it was when Check was pressed.
    code: String,
    results: Vec<ProgramResult>,
    running: bool,
    handle: Option<CellRun>,
    on_news: Option<Closure<dyn FnMut(JsValue)>>,
}

struct Lesson {
    root: Element,
    host: Host,
    progress: Progress,
    cells: Vec<Cell>,
    checks: Vec<Check>,
    _listeners: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

thread_local! {
    static LESSON: RefCell<Option<Lesson>> = const { RefCell::new(None) };
}

/// Runs `f` on the lesson, if it is mounted and not in use (an event during a call to the page).
fn with<R>(f: impl FnOnce(&mut Lesson) -> R) -> Option<R> {
    LESSON.with(|l| l.try_borrow_mut().ok()?.as_mut().map(f))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Keeps the progress (nothing kept when there is nothing to keep: after Reset, or every
/// prediction taken back).
fn save(p: &Progress) {
    if let Some(s) = storage() {
        let _ = if *p == Progress::default() {
            s.remove_item(lesson::STORAGE_KEY)
        } else {
            s.set_item(lesson::STORAGE_KEY, &p.to_json())
        };
    }
}

fn find(el: &Element, selector: &str) -> Option<Element> {
    el.query_selector(selector).ok().flatten()
}

fn set_disabled(el: &Element, selector: &str, disabled: bool) {
    if let Some(b) = find(el, selector) {
        let _ = b.toggle_attribute_with_force("disabled", disabled);
    }
}

fn set_hidden(el: &Element, selector: &str, hidden: bool) {
    if let Some(b) = find(el, selector) {
        let _ = b.toggle_attribute_with_force("hidden", hidden);
    }
}

/// Draws the lesson into `root` (the page's box), or only `cell` (`?cell=<id>`, for a course's
/// page), and runs its cells through `host`.
#[wasm_bindgen]
pub fn mount(root: Element, host: Host, cell: Option<String>) {
    let saved = storage().and_then(|s| s.get_item(lesson::STORAGE_KEY).ok().flatten());
    let (progress, notice) = Progress::load(saved.as_deref());
    root.set_inner_html(&match cell.as_deref().and_then(lesson::experiment) {
        Some(e) => lesson::single_html(e, &progress, notice.as_deref()),
        None => lesson::lesson_html(&progress, notice.as_deref()),
    });
    let cells = lesson::EXPERIMENTS
        .iter()
        .filter_map(|e| {
            let el = find(&root, &format!("[data-testid=\"experiment-{}\"]", e.id))?;
            Some(Cell {
                e,
                el,
                running: false,
                handle: None,
                output: Vec::new(),
                result: None,
                live: LiveSample::default(),
                locked: Some(Phase::of(e, &progress, false).locked()),
                sampler: None,
                on_news: None,
            })
        })
        .collect();
    let checks = lesson::EXERCISES
        .iter()
        .filter_map(|x| {
            let el = find(&root, &format!("[data-testid=\"exercise-{}\"]", x.id))?;
            Some(Check { x, el, code: String::new(), results: Vec::new(), running: false, handle: None, on_news: None })
        })
        .collect();
    let mut listeners = Vec::new();
    let mut listen = |target: &web_sys::EventTarget, kind: &str, f: fn(&web_sys::Event)| {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| f(&e));
        let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        listeners.push(closure);
    };
    listen(&root, "click", on_click);
    listen(&root, "input", on_input);
    if let Some(window) = web_sys::window() {
        // Timelines are drawn at their box's width: again when it changes.
        listen(&window, "resize", |_| {
            with(|l| l.cells.iter().for_each(Cell::draw_output));
        });
    }
    LESSON.with(|l| *l.borrow_mut() = Some(Lesson { root, host, progress, cells, checks, _listeners: listeners }));
    // `#section` on load: the browser looked for it before the lesson was there.
    if let Some(window) = web_sys::window() {
        let hash = window.location().hash().unwrap_or_default();
        let id = hash.trim_start_matches('#');
        if !id.is_empty() {
            if let Some(el) = window.document().and_then(|d| d.get_element_by_id(id)) {
                el.scroll_into_view();
            }
        }
    }
}

impl Cell {
    /// Everything that follows the progress and the run: state, form, buttons, status, verdicts.
    fn draw(&mut self, progress: &Progress) {
        let phase = Phase::of(self.e, progress, self.running);
        let _ = self.el.set_attribute("data-state", phase.key());
        if self.locked != Some(phase.locked()) {
            self.locked = Some(phase.locked());
            let predictions: Vec<_> =
                self.e.questions.iter().map(|q| progress.predictions.get(q.id).cloned()).collect();
            if let Some(form) = find(&self.el, ".cell-form") {
                form.set_inner_html(&lesson::cell_html(self.e, &predictions, phase.locked()));
            }
        }
        set_disabled(&self.el, "[data-action=run]", phase != Phase::Predicted);
        set_disabled(&self.el, "[data-action=stop]", !self.running);
        set_hidden(&self.el, "[data-action=again]", phase != Phase::Done);
        if let Some(status) = find(&self.el, "[data-testid=lesson-status]") {
            status.set_text_content(Some(&phase.status(self.result.as_ref().map(|r| summary_as(r, self.e.gil)))));
        }
        if let Some(verdicts) = find(&self.el, "[data-testid=lesson-verdicts]") {
            let html = progress
                .outcomes
                .get(self.e.id)
                .map(|o| lesson::verdicts_html(self.e, o, &progress.judgements(self.e), self.result.is_some()))
                .unwrap_or_default();
            verdicts.set_inner_html(&html);
        }
        self.draw_output();
    }

    /// The run's terminal and timeline, live while it runs.
    fn draw_output(&self) {
        let shown = self.running || self.result.is_some();
        set_hidden(&self.el, ".run-output", !shown);
        if !shown {
            return;
        }
        let lanes = self.result.as_ref().map_or(&[][..], |r| &r.lanes[..]);
        if let Some(terminal) = find(&self.el, "[data-testid=code-output]") {
            terminal.set_inner_html(&terminal_html(&self.output, lanes));
        }
        if let Some(timeline) = find(&self.el, "[data-testid=code-timeline]") {
            let width = f64::from(timeline.client_width());
            let width = if width > 0.0 { width } else { FALLBACK_WIDTH };
            let _ = timeline.set_attribute("data-ready", if self.result.is_some() { "true" } else { "false" });
            timeline.set_inner_html(&match &self.result {
                Some(r) => timeline_html_as(r, width, self.e.gil),
                None => live_timeline_html(&self.live.lanes, self.live.wall_ms, width),
            });
        }
    }

    fn fail(&self, why: &str) {
        if let Some(error) = find(&self.el, "[data-testid=lesson-failed]") {
            error.set_text_content(Some(why));
            let _ = error.toggle_attribute_with_force("hidden", why.is_empty());
        }
    }
}

impl Check {
    fn draw(&self) {
        let solved = !self.running && lesson::exercise_verdict_html(self.x, &self.results).0;
        let state = match (self.running, self.results.is_empty(), solved) {
            (true, ..) => "running",
            (false, true, _) => "new",
            (false, false, true) => "solved",
            (false, false, false) => "tried",
        };
        let _ = self.el.set_attribute("data-state", state);
        set_disabled(&self.el, "[data-action=check]", self.running);
        set_disabled(&self.el, "[data-action=restore]", self.running);
        if let Some(area) = find(&self.el, "textarea") {
            let _ = area.toggle_attribute_with_force("readonly", self.running);
        }
        let status = match state {
            "running" => format!("Run {} of {}\u{2026}", self.results.len() + 1, self.x.runs),
            "new" => "Change the code, then check it.".to_owned(),
            "solved" => format!("Solved: the count was right in {0} runs of {0}.", self.x.runs),
            _ => "Not yet: see why below, change the code and check it again.".to_owned(),
        };
        if let Some(el) = find(&self.el, "[data-testid=exercise-status]") {
            el.set_text_content(Some(&status));
        }
        if let Some(el) = find(&self.el, "[data-testid=exercise-verdict]") {
            let done = !self.running && !self.results.is_empty();
            el.set_inner_html(&if done {
                lesson::exercise_verdict_html(self.x, &self.results).1
            } else {
                String::new()
            });
        }
    }

    fn fail(&self, why: &str) {
        if let Some(error) = find(&self.el, "[data-testid=lesson-failed]") {
            error.set_text_content(Some(why));
            let _ = error.toggle_attribute_with_force("hidden", why.is_empty());
        }
    }

    fn restore(&mut self) {
        if let Some(area) = find(&self.el, "textarea").and_then(|a| a.dyn_into::<HtmlTextAreaElement>().ok()) {
            area.set_value(self.x.start);
        }
        self.results.clear();
        self.fail("");
        self.draw();
    }
}

impl Lesson {
    fn cell(&mut self, id: &str) -> Option<&mut Cell> {
        self.cells.iter_mut().find(|c| c.e.id == id)
    }

    fn check(&mut self, id: &str) -> Option<&mut Check> {
        self.checks.iter_mut().find(|c| c.x.id == id)
    }

    /// The progress changed: keep it, and show it.
    fn changed(&mut self, id: Option<&str>) {
        save(&self.progress);
        if let Some(count) = find(&self.root, "[data-testid=lesson-progress]") {
            count.set_text_content(Some(&lesson::progress_text(&self.progress)));
        }
        if let Some(table) = find(&self.root, "[data-testid=lesson-differences]") {
            table.set_inner_html(&lesson::differences_html(&self.progress));
        }
        let progress = &self.progress;
        for cell in self.cells.iter_mut().filter(|c| id.is_none_or(|id| c.e.id == id)) {
            cell.draw(progress);
        }
    }

    fn notice(&self, text: Option<&str>) {
        if let Some(notice) = find(&self.root, "[data-testid=lesson-notice]") {
            if let Some(span) = find(&notice, "span") {
                span.set_text_content(text);
            }
            let _ = notice.toggle_attribute_with_force("hidden", text.is_none());
        }
    }
}

fn on_click(event: &web_sys::Event) {
    let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
    if target.closest("[data-testid=lesson-link]").ok().flatten().is_some() {
        event.prevent_default();
        let host = with(|l| l.host.clone());
        if let Some(host) = host {
            host.refcounts();
        }
        return;
    }
    let Some(button) = target.closest("[data-action]").ok().flatten() else { return };
    let action = button.get_attribute("data-action").unwrap_or_default();
    let id = button.closest(".experiment").ok().flatten().map(|e| e.id());
    match (action.as_str(), id) {
        ("run", Some(id)) => start(&id),
        ("stop", Some(id)) => {
            with(|l| l.cell(&id).and_then(|c| c.handle.as_ref()).map(CellRun::stop));
        }
        ("open", Some(id)) => {
            let host = with(|l| l.host.clone());
            if let (Some(host), Some(e)) = (host, lesson::experiment(&id)) {
                host.open(e.source());
            }
        }
        ("again", Some(id)) => {
            with(|l| {
                let e = l.cell(&id)?.e;
                l.progress.forget(e);
                l.changed(Some(&id));
                Some(())
            });
        }
        ("reset", _) => {
            with(|l| {
                l.progress = Progress::default();
                for cell in &mut l.cells {
                    if let Some(handle) = &cell.handle {
                        handle.stop();
                    }
                    cell.output.clear();
                    cell.result = None;
                    cell.locked = None;
                    cell.fail("");
                }
                for check in &mut l.checks {
                    if !check.running {
                        check.restore();
                    }
                }
                // Also when the progress was empty already: a value set aside goes now.
                if let Some(s) = storage() {
                    let _ = s.remove_item(lesson::STORAGE_KEY);
                }
                l.changed(None);
                l.notice(Some("Your predictions and results are cleared: the lesson starts afresh."));
            });
        }
        ("check", Some(id)) => start_check(&id),
        ("restore", Some(id)) => {
            with(|l| {
                if l.progress.solved.remove(&id).is_some() {
                    save(&l.progress);
                }
                l.check(&id).map(Check::restore)
            });
        }
        ("dismiss", _) => {
            with(|l| l.notice(None));
        }
        _ => {}
    }
}

/// A prediction typed or picked: kept, and the cell's Run follows it; a number field that does
/// not read as seconds says why, as the page's other fields do.
fn on_input(event: &web_sys::Event) {
    let Some(input) = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
    let Some((e, q)) = input.get_attribute("data-q").and_then(|id| lesson::question(&id)) else { return };
    let value = input.value();
    let parsed = Prediction::parse(q, &value);
    if input.type_() == "text" {
        show_error(&input, parsed.as_ref().err().filter(|_| !value.trim().is_empty()));
    }
    with(|l| {
        match parsed {
            Ok(p) => l.progress.predictions.insert(q.id.to_owned(), p),
            Err(_) => l.progress.predictions.remove(q.id),
        };
        l.changed(Some(e.id));
    });
}

/// Marks a number field wrong (`why`) or not.
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

/// Run: the cell's program through the page's runner; its news arrive in [`on_news`].
fn start(id: &str) {
    let Some(e) = lesson::experiment(id) else { return };
    let Some(host) = with(|l| l.host.clone()) else { return };
    let news = Closure::<dyn FnMut(JsValue)>::new(move |news: JsValue| on_news(e, news));
    // Not inside `with`: the page tells of the start at once (it is not passed on, but safe so).
    let started = host.run(e.source(), e.gil, news.as_ref().unchecked_ref());
    with(|l| {
        let progress = l.progress.clone();
        let cell = l.cell(e.id)?;
        cell.on_news = Some(news);
        match started {
            Ok(handle) => {
                cell.fail("");
                cell.handle = Some(handle);
                cell.running = true;
                cell.output.clear();
                cell.result = None;
                cell.live = LiveSample::default();
                cell.sampler = Some(Interval::new(LIVE_SAMPLE_MS, move || sample(e.id)));
                cell.draw(&progress);
            }
            Err(why) => cell.fail(&why.as_string().unwrap_or_else(|| "the cell could not start".to_owned())),
        }
        Some(())
    });
}

/// The running cell's lanes so far, from the page, drawn as its live timeline.
fn sample(id: &'static str) {
    with(|l| {
        let cell = l.cell(id)?;
        let live = cell.handle.as_ref()?.live();
        cell.live = serde_wasm_bindgen::from_value(live).ok()?;
        cell.draw_output();
        Some(())
    });
}

fn on_news(e: &'static Experiment, news: JsValue) {
    let news = serde_wasm_bindgen::from_value::<CellNews>(news);
    with(|l| {
        let cell = l.cell(e.id)?;
        match news {
            Ok(CellNews::Output(chunks)) => {
                cell.output.extend(chunks);
                cell.draw_output();
            }
            Ok(CellNews::Done(result)) => {
                cell.running = false;
                cell.sampler = None;
                if let Some(handle) = cell.handle.take() {
                    handle.free();
                }
                cell.output.clone_from(&result.output);
                let outcome = Outcome::of(e, &result);
                cell.result = Some(result);
                l.progress.outcomes.insert(e.id.to_owned(), outcome);
                l.changed(Some(e.id));
            }
            Err(why) => cell.fail(&format!("The page sent news of the run that the lesson cannot read: {why}")),
        }
        Some(())
    });
}

/// Check: the exercise's code, as it is now, run up to `runs` times in a row.
fn start_check(id: &str) {
    let Some(x) = lesson::exercise(id) else { return };
    let ready = with(|l| {
        let check = l.check(id).filter(|c| !c.running)?;
        let area = find(&check.el, "textarea")?.dyn_into::<HtmlTextAreaElement>().ok()?;
        check.code = area.value();
        check.results.clear();
        check.fail("");
        Some(())
    })
    .flatten();
    if ready.is_some() {
        run_check(x);
    }
}

/// The exercise's next run.
fn run_check(x: &'static Exercise) {
    let Some((host, code)) = with(|l| Some((l.host.clone(), l.check(x.id)?.code.clone()))).flatten() else { return };
    let news = Closure::<dyn FnMut(JsValue)>::new(move |news: JsValue| on_check_news(x, news));
    let started = host.run(&code, true, news.as_ref().unchecked_ref());
    with(|l| {
        let check = l.check(x.id)?;
        check.on_news = Some(news);
        match started {
            Ok(handle) => {
                check.handle = Some(handle);
                check.running = true;
            }
            Err(why) => {
                check.running = false;
                check.fail(&why.as_string().unwrap_or_else(|| "the code could not start".to_owned()));
            }
        }
        check.draw();
        Some(())
    });
}

/// A run of the exercise ended: the next one, unless it was wrong or the last.
fn on_check_news(x: &'static Exercise, news: JsValue) {
    let Ok(CellNews::Done(result)) = serde_wasm_bindgen::from_value::<CellNews>(news) else { return };
    let next = with(|l| {
        let check = l.check(x.id)?;
        if let Some(handle) = check.handle.take() {
            handle.free();
        }
        let right = lesson::check_run(&result).is_ok();
        check.results.push(result);
        check.running = right && check.results.len() < x.runs;
        check.draw();
        let (next, code) = (check.running, check.code.clone());
        // Solved: the code that passed is kept with the progress.
        if !next && lesson::exercise_verdict_html(x, &check.results).0 {
            l.progress.solved.insert(x.id.to_owned(), code);
            save(&l.progress);
        }
        Some(next)
    })
    .flatten()
    .unwrap_or(false);
    if next {
        // Not from inside the page's news of the last run: that run is still winding down.
        Timeout::new(0, move || run_check(x)).forget();
    }
}
