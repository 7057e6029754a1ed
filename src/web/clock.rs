//! One clock for the page and every worker.
//!
//! `performance.now()` counts from each context's own `timeOrigin` (a worker's is its
//! creation time), so alone it cannot compare stamps across workers. The sum
//! `performance.timeOrigin + performance.now()` is the same instant in every context
//! (High Resolution Time, "timeOrigin"), which puts all stamps on one clock.

use gloo_timers::future::TimeoutFuture;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
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

/// Resolves after `ms` (setTimeout), without blocking. Dropped before then, it clears its
/// timer (gloo's `TimeoutFuture` does): the engines race every wait for a worker's letter
/// against a 30 s timeout, and a timer left behind by each letter would fire later on the
/// page's thread, thousands at a time after a long run.
#[must_use = "a delay does nothing unless awaited"]
pub fn delay(ms: u32) -> TimeoutFuture {
    TimeoutFuture::new(ms)
}

/// Resolves once the page has drawn `frames` more animation frames (page only), or after
/// `at_most_ms`: a hidden tab or an iframe scrolled out of sight draws no frames at all,
/// and a run must not wait for one forever. A frame still asked for then is cancelled.
pub async fn frames(frames: u32, at_most_ms: u32) {
    let drawn = async {
        for _ in 0..frames {
            // Asked for from the previous frame's callback (its wake-up runs in the same
            // frame's microtasks), so each is the next frame the page draws.
            let (drawn, wait) = futures::channel::oneshot::channel();
            let _frame = gloo_render::request_animation_frame(move |_| {
                let _ = drawn.send(());
            });
            let _ = wait.await;
        }
    };
    futures::pin_mut!(drawn);
    let _ = futures::future::select(drawn, delay(at_most_ms)).await;
}
