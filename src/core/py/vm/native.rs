//! A `Host` on native threads, for tests and benchmarks (never built for wasm32, where
//! `Instant` and `std::thread` are unavailable: the browser's host is the runtime's).
//! Child processes are std threads with their own interpreter ([`super::mp::native`]).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use super::mp::native::ProcTable;
use crate::core::program::{Host, Live, OutputChunk, ProcessReport, ProcessStart, Processes};
use crate::core::runtime::board::Board;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct NativeHost {
    start: Instant,
    epoch_ms: f64,
    /// Every process's output, in the order written.
    pub chunks: Arc<Mutex<Vec<OutputChunk>>>,
    pub stop: Arc<AtomicBool>,
    /// The runtime's time budget, spent: the page's timer in the browser (`Host::budget_spent`).
    pub budget: Arc<AtomicBool>,
    procs: Arc<ProcTable>,
    /// A child's own Stop (`Process.terminate()`); `None` for the main program.
    kill: Option<Arc<AtomicBool>>,
    /// This process's live board (each child has its own, as in the browser).
    pub board: Arc<Board>,
}

impl Default for NativeHost {
    fn default() -> Self {
        let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        NativeHost {
            start: Instant::now(),
            epoch_ms,
            chunks: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            budget: Arc::new(AtomicBool::new(false)),
            procs: Arc::new(ProcTable::default()),
            kill: None,
            board: Arc::new(Board::new()),
        }
    }
}

impl NativeHost {
    /// A child's host: the same clock, output, Stop and process table, its own kill flag.
    fn child(&self, kill: Arc<AtomicBool>) -> NativeHost {
        NativeHost {
            start: self.start,
            epoch_ms: self.epoch_ms,
            chunks: self.chunks.clone(),
            stop: self.stop.clone(),
            budget: self.budget.clone(),
            procs: self.procs.clone(),
            kill: Some(kill),
            board: Arc::new(Board::new()),
        }
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
            || self.budget_spent()
            || self.kill.as_ref().is_some_and(|k| k.load(Ordering::Relaxed))
    }

    fn budget_spent(&self) -> bool {
        self.budget.load(Ordering::Relaxed)
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

    fn processes(&self) -> Option<&dyn Processes> {
        Some(self)
    }

    fn show(&self, lane: u32, news: Live<'_>) {
        self.board.show(lane, news);
    }
}

impl Processes for NativeHost {
    fn start_process(&self, start: ProcessStart) -> Result<u32, String> {
        self.procs.start(start, |kill| Arc::new(self.child(kill)))
    }

    fn wait_process(&self, pid: u32, timeout_ms: Option<f64>) -> Option<i32> {
        self.procs.wait(pid, timeout_ms, &|| self.stop_requested())
    }

    fn terminate_process(&self, pid: u32) {
        self.procs.terminate(pid);
    }

    fn channel_new(&self) -> Result<u32, String> {
        Ok(self.procs.channel_new())
    }

    fn channel_send(&self, id: u32, message: Vec<u8>) -> Result<(), String> {
        self.procs.send(id, message)
    }

    fn channel_recv(&self, id: u32, timeout_ms: Option<f64>) -> Option<Vec<u8>> {
        self.procs.recv(id, timeout_ms, &|| self.stop_requested())
    }

    fn channel_len(&self, id: u32) -> usize {
        self.procs.len(id)
    }

    fn take_reports(&self) -> Vec<ProcessReport> {
        self.procs.take_reports()
    }
}
