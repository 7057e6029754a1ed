//! The CPU kernel's speed natively, for `kernel.wasm_vs_native` in `cargo xtask bench`:
//! one work unit, timed the way the page calibrates it in wasm (`web::lab::calibrate`),
//! the fastest of many one-unit calls. Prints `{"ms_per_unit": …, "calls": …}`.
//!
//! `cargo run --profile native-bench --example kernel_speed`

#![allow(clippy::disallowed_types)] // A native example: std's clock works here.

use std::time::Instant;
use threadlab::core::kernel;

fn main() {
    let began = Instant::now();
    let mut best = f64::INFINITY;
    let mut calls = 0u32;
    // As the page does, plus more calls: a native process has no tiering to wait for,
    // but the machine is shared, and the fastest call is the one least disturbed.
    while calls < 8 || (began.elapsed().as_secs_f64() < 0.5 && calls < 1000) {
        let t = Instant::now();
        std::hint::black_box(kernel::cpu_task(calls, 1));
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        calls += 1;
    }
    println!("{{\"ms_per_unit\": {best}, \"calls\": {calls}}}");
}
