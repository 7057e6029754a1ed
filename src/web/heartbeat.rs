//! The page's heartbeat: a dot that beats once a second, moved by a timer on the page's main
//! thread, so a blocking call visibly stops it.
//!
//! Each beat is three steps (swell, ease, rest), so the page draws three frames a second for
//! it and nothing in between. The heartbeat is there to show that workers leave the page
//! free, and it must not take the cores it is watching: a `requestAnimationFrame` loop (a
//! frame every 16 ms) cost the page's main thread ~60 ms a second, and a smooth CSS animation
//! kept the compositor drawing half of every second; either one cut the measured efficiency
//! of two CPU-bound workers on two cores by several points (ARCHITECTURE.md, "Measuring
//! without disturbing"). A CSS animation alone would also be wrong: it runs on the
//! compositor and keeps moving while the page is frozen.

use crate::web::clock;
use gloo_timers::callback::Interval;
use std::cell::{Cell, RefCell};
use web_sys::Element;

/// The timer's period: each step of a beat lasts this long.
const STEP_MS: u32 = 125;

thread_local! {
    static DOT: RefCell<Option<Element>> = const { RefCell::new(None) };
    static STARTED: Cell<bool> = const { Cell::new(false) };
    /// The step last shown, so that an unchanged dot is not restyled (and repainted).
    static SHOWN: Cell<u8> = const { Cell::new(u8::MAX) };
}

/// The step of the beat at `now_ms`: 2 (swollen) at the start of each second, then 1, then 0
/// for the rest of it.
#[must_use]
pub fn step_at(now_ms: f64) -> u8 {
    match now_ms.rem_euclid(1000.0) {
        p if p < f64::from(STEP_MS) => 2,
        p if p < 2.0 * f64::from(STEP_MS) => 1,
        _ => 0,
    }
}

/// Starts the beat once; `dot` is the element that beats (a later call moves the beat to
/// its new element).
pub fn start(dot: Element) {
    DOT.with(|d| *d.borrow_mut() = Some(dot));
    if STARTED.with(|s| s.replace(true)) {
        return;
    }
    let beat = Interval::new(STEP_MS, || {
        let step = step_at(clock::now_ms());
        if SHOWN.with(|s| s.replace(step)) == step {
            return;
        }
        DOT.with(|d| {
            if let Some(dot) = &*d.borrow() {
                let _ = dot.set_attribute("data-beat", &step.to_string());
            }
        });
    });
    // The beat lasts as long as the page.
    beat.forget();
}
