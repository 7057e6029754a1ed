//! One clock for the page and every worker.
//!
//! `performance.now()` counts from each context's own `timeOrigin` (a worker's is its
//! creation time), so alone it cannot compare stamps across workers. The sum
//! `performance.timeOrigin + performance.now()` is the same instant in every context
//! (High Resolution Time, "timeOrigin"), which puts all stamps on one clock.

use js_sys::{Function, Promise, Reflect};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Performance;

/// How far apart two stamps of one instant, taken in two contexts, can be. Compare stamps
/// from different workers only beyond this.
///
/// Each cross-origin isolated context coarsens `performance.now()` and its `timeOrigin`
/// (High Resolution Time, "clock resolution"): Chromium to 5 µs, Firefox to 20 µs, each
/// term floored on its own, without jitter (Gecko's `nsRFPService`, "UnconditionalAKAHighRes").
/// So a stamp is up to two steps early, and two contexts disagree by less than two steps:
/// 0.04 ms in Firefox. Measured with shared-memory ping-pong between a worker and six pool
/// threads (2,000 round trips each, three runs per browser): at most one step plus the
/// rounding of an f64 of ~1.8e12 ms (2⁻¹² ms): 0.0203 ms in Firefox 153 ESR, past the 0.02 ms
/// this was when only Chromium ran the tests, and 0.0051 ms in Chromium 156.
pub const CROSS_CONTEXT_PRECISION_MS: f64 = 0.04;

thread_local! {
    static PERFORMANCE: (Performance, f64) = {
        let perf: Performance = Reflect::get(&js_sys::global(), &"performance".into())
            .expect_throw("no performance object")
            .unchecked_into();
        let origin = perf.time_origin();
        (perf, origin)
    };
}

/// Now on the shared clock, in ms since the Unix epoch (sub-millisecond precision).
#[must_use]
pub fn now_ms() -> f64 {
    PERFORMANCE.with(|(perf, origin)| origin + perf.now())
}

/// Blocks this worker for `ms` without using the CPU, like `time.sleep`.
///
/// std's `sleep` on wasm32 with atomics is `memory.atomic.wait32` with a timeout
/// (`Atomics.wait`), which browsers allow in workers only.
pub fn block_ms(ms: u32) {
    #[cfg(target_feature = "atomics")]
    #[allow(clippy::disallowed_methods)] // The one sleep: in workers, with atomics (see above).
    std::thread::sleep(std::time::Duration::from_millis(u64::from(ms)));
    // Without shared memory (a page that is not cross-origin isolated) there is no
    // Atomics.wait to sleep on: the wait can only spin.
    #[cfg(not(target_feature = "atomics"))]
    spin_ms(ms);
}

/// Busy-waits `ms` on the page's main thread, where `Atomics.wait` throws: the only way
/// to block it. It burns a core, which a real `time.sleep` would not.
pub fn spin_ms(ms: u32) {
    let until = now_ms() + f64::from(ms);
    while now_ms() < until {}
}

fn global_fn(name: &str) -> Function {
    Reflect::get(&js_sys::global(), &name.into()).expect_throw(name).unchecked_into()
}

/// Resolves after `ms` (setTimeout), without blocking. Dropped before then, it clears its
/// timer: the engines race every wait for a worker's letter against a 30 s timeout, and a
/// timer left behind by each letter would fire later on the page's thread, thousands at a
/// time after a long run.
#[must_use = "a delay does nothing unless awaited"]
pub fn delay(ms: u32) -> Delay {
    let mut id = JsValue::UNDEFINED;
    let promise = Promise::new(&mut |resolve, _| {
        id = global_fn("setTimeout").call2(&JsValue::NULL, &resolve, &JsValue::from(ms)).unwrap_or_default();
    });
    Delay { id, fired: JsFuture::from(promise) }
}

/// A pending [`delay`].
pub struct Delay {
    /// The timer's handle, for `clearTimeout`.
    id: JsValue,
    fired: JsFuture,
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().fired).poll(cx).map(|_| ())
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        // After the timer fired this does nothing: clearTimeout ignores a spent handle.
        let _ = global_fn("clearTimeout").call1(&JsValue::NULL, &self.id);
    }
}

/// Resolves once the page has drawn `frames` more animation frames (page only), or after
/// `at_most_ms`: a hidden tab or an iframe scrolled out of sight draws no frames at all,
/// and a run must not wait for one forever.
pub async fn frames(frames: u32, at_most_ms: u32) {
    let raf = global_fn("requestAnimationFrame");
    let drawn = Promise::new(&mut |resolve, _| {
        // Frame n asks for frame n + 1; the last one resolves.
        let mut next: JsValue = resolve.into();
        for _ in 0..frames {
            let (raf, then) = (raf.clone(), next);
            next = Closure::once_into_js(move || {
                let _ = raf.call1(&JsValue::NULL, &then);
            });
        }
        let _ = next.unchecked_into::<Function>().call0(&JsValue::NULL);
    });
    let _ = futures::future::select(JsFuture::from(drawn), delay(at_most_ms)).await;
}
