//! A heartbeat driven by `requestAnimationFrame`: it beats only while the page's main
//! thread is free to draw frames, so a blocking call visibly stops it. CSS animations
//! would not do: they run on the compositor and keep moving while the page is frozen.

use crate::web::clock;
use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use web_sys::HtmlElement;

thread_local! {
    static LAST_FRAME: Cell<f64> = const { Cell::new(0.0) };
    static LONGEST_GAP: Cell<f64> = const { Cell::new(0.0) };
    static DOT: RefCell<Option<HtmlElement>> = const { RefCell::new(None) };
    static STARTED: Cell<bool> = const { Cell::new(false) };
    /// The beat last written, so that an unchanged dot is not restyled (and repainted).
    static SHOWN: Cell<f64> = const { Cell::new(-1.0) };
}

/// Starts the frame loop once; `dot` is the element that beats.
pub fn start(dot: HtmlElement) {
    DOT.with(|d| *d.borrow_mut() = Some(dot));
    if STARTED.with(|s| s.replace(true)) {
        return;
    }
    LAST_FRAME.with(|l| l.set(clock::now_ms()));
    request_frame();
}

fn request_frame() {
    let callback = Closure::once_into_js(frame);
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(callback.unchecked_ref());
    }
}

fn frame() {
    let now = clock::now_ms();
    let gap = now - LAST_FRAME.with(|l| l.replace(now));
    LONGEST_GAP.with(|g| g.set(g.get().max(gap)));
    DOT.with(|d| {
        if let Some(dot) = &*d.borrow() {
            // One beat a second: a quick swell, then rest.
            let phase = (now % 1000.0) / 1000.0;
            // 1 at the beat, fading to 0: the CSS swells the dot, or only fades it under
            // prefers-reduced-motion.
            // Rounded to 1/100, and 0 once the swell has died down: for most of each
            // second nothing changes, and the page does not repaint while workers run.
            let beat = ((-phase * 9.0).exp() * 100.0).round() / 100.0;
            if SHOWN.with(|s| s.replace(beat)) != beat {
                let _ = dot.style().set_property("--beat", &format!("{beat:.2}"));
            }
        }
    });
    request_frame();
}

/// Forgets the longest gap so far (call before the run to watch).
pub fn reset() {
    LAST_FRAME.with(|l| l.set(clock::now_ms()));
    LONGEST_GAP.with(|g| g.set(0.0));
}

/// The longest time between two frames since [`reset`], in ms.
#[must_use]
pub fn longest_gap_ms() -> f64 {
    LONGEST_GAP.with(Cell::get)
}
