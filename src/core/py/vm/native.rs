//! A `Host` on native threads, for tests and benchmarks (never built for wasm32, where
//! `Instant` and `std::thread` are unavailable: the browser's host is the runtime's).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use crate::core::program::{Host, OutputChunk};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct NativeHost {
    start: Instant,
    epoch_ms: f64,
    pub chunks: Mutex<Vec<OutputChunk>>,
    pub stop: AtomicBool,
}

impl Default for NativeHost {
    fn default() -> Self {
        let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        NativeHost { start: Instant::now(), epoch_ms, chunks: Mutex::new(Vec::new()), stop: AtomicBool::new(false) }
    }
}

impl Host for NativeHost {
    fn now_ms(&self) -> f64 {
        self.epoch_ms + self.start.elapsed().as_secs_f64() * 1000.0
    }

    fn spawn_thread(&self, job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        std::thread::Builder::new().spawn(job).map(|_| ()).map_err(|e| e.to_string())
    }

    fn write(&self, chunk: OutputChunk) {
        self.chunks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(chunk);
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn sleep_ms(&self, ms: f64) {
        let until = self.now_ms() + ms;
        loop {
            let left = until - self.now_ms();
            if left <= 0.0 || self.stop_requested() {
                return;
            }
            std::thread::sleep(Duration::from_secs_f64(left.min(10.0) / 1000.0));
        }
    }
}
