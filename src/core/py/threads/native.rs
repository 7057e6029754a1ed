//! A [`Host`] on std threads, for native runs (`cargo test`, benchmarks): the browser's is
//! the runtime's (Web Workers on shared memory). Not built for wasm32, where std has
//! neither a clock nor `thread::spawn`.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // Native only (see above).

use crate::core::program::{Host, OutputChunk};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Native threads, a monotonic clock, output kept in order, Stop and a wall-time budget.
pub struct NativeHost {
    start: Instant,
    timeout_ms: f64,
    stop: AtomicBool,
    timed_out: AtomicBool,
    output: Mutex<Vec<OutputChunk>>,
    /// Each thread's stack: Python frames live on the heap, so a small native stack will do.
    stack_bytes: usize,
}

impl NativeHost {
    #[must_use]
    pub fn new(timeout_ms: f64) -> NativeHost {
        NativeHost {
            start: Instant::now(),
            timeout_ms,
            stop: AtomicBool::new(false),
            timed_out: AtomicBool::new(false),
            output: Mutex::new(Vec::new()),
            stack_bytes: 1 << 20,
        }
    }

    /// The Stop button.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the wall-time budget ended the program.
    #[must_use]
    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }

    /// Everything written so far, in order.
    #[must_use]
    pub fn output(&self) -> Vec<OutputChunk> {
        self.output.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The output as one text (stdout and stderr merged, as `python3 -u prog.py 2>&1`).
    #[must_use]
    pub fn text(&self) -> String {
        self.output().into_iter().map(|c| c.text).collect()
    }
}

impl Host for NativeHost {
    fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    fn spawn_thread(&self, job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        std::thread::Builder::new().stack_size(self.stack_bytes).spawn(job).map(drop).map_err(|e| e.to_string())
    }

    fn write(&self, chunk: OutputChunk) {
        self.output.lock().unwrap_or_else(PoisonError::into_inner).push(chunk);
    }

    fn stop_requested(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.now_ms() > self.timeout_ms {
            self.timed_out.store(true, Ordering::Relaxed);
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn sleep_ms(&self, ms: f64) {
        if ms <= 0.0 {
            // What `select(0, …)` gives a waiting thread: a chance to be scheduled.
            std::thread::yield_now();
            return;
        }
        let until = self.now_ms() + ms;
        while !self.stop_requested() {
            let left = until - self.now_ms();
            if left <= 0.0 {
                return;
            }
            std::thread::sleep(Duration::from_secs_f64(left.min(10.0) / 1000.0));
        }
    }
}
