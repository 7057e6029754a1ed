//! Processes and channels on std threads, for native runs (`cargo test`): each child is its
//! own `Interp` (own heap, own GIL) on its own std thread; nothing is shared but the
//! channels' bytes and the process records. The browser's counterpart is the channel arena
//! of docs/python-vm.md §5 (not built yet).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // Native only (see above).

use crate::core::program::{Host, ProcessReport, ProcessStart};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How often a wait looks at Stop (a Condvar is not woken by the host's flag).
const POLL: Duration = Duration::from_millis(5);

/// When a wait of `timeout_ms` ends (`None`: never; a timeout too large for the clock,
/// `q.get(timeout=1e300)`, is never too).
fn until(timeout_ms: Option<f64>) -> Option<Instant> {
    let d = Duration::try_from_secs_f64(timeout_ms?.max(0.0) / 1000.0).ok()?;
    Instant::now().checked_add(d)
}

struct Record {
    exit: Option<i32>,
    kill: Arc<AtomicBool>,
}

/// The program's processes and channels, shared by the hosts of all its processes.
#[derive(Default)]
pub struct ProcTable {
    next_pid: AtomicU32,
    next_channel: AtomicU32,
    records: Mutex<HashMap<u32, Record>>,
    ended: Condvar,
    channels: Mutex<HashMap<u32, VecDeque<Vec<u8>>>>,
    sent: Condvar,
    reports: Mutex<Vec<ProcessReport>>,
}

impl ProcTable {
    /// Starts `start` on a new std thread; `host_for` makes the child's host from its kill
    /// flag (the child shares the program's output and Stop, and this table).
    ///
    /// # Errors
    /// The OS refused a thread.
    pub fn start(
        self: &Arc<Self>,
        start: ProcessStart,
        host_for: impl FnOnce(Arc<AtomicBool>) -> Arc<dyn Host>,
    ) -> Result<u32, String> {
        // pid 1 is the main program's (`Interp::pid`).
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed) + 2;
        let kill = Arc::new(AtomicBool::new(false));
        lock(&self.records).insert(pid, Record { exit: None, kill: kill.clone() });
        let host = host_for(kill);
        let table = self.clone();
        let spawned = std::thread::Builder::new().stack_size(8 << 20).spawn(move || {
            let report = super::child::run_child(&start, pid, host);
            let code = report.exit_code;
            lock(&table.reports).push(report);
            if let Some(r) = lock(&table.records).get_mut(&pid) {
                r.exit = Some(code);
            }
            table.ended.notify_all();
        });
        match spawned {
            Ok(_) => Ok(pid),
            Err(e) => {
                lock(&self.records).remove(&pid);
                Err(e.to_string())
            }
        }
    }

    pub fn wait(&self, pid: u32, timeout_ms: Option<f64>, stop: &dyn Fn() -> bool) -> Option<i32> {
        let until = until(timeout_ms);
        let mut records = lock(&self.records);
        loop {
            let exit = records.get(&pid).map_or(Some(1), |r| r.exit);
            if exit.is_some() {
                return exit;
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) || stop() {
                return None;
            }
            let slice = until.map_or(POLL, |u| (u - now).min(POLL));
            records = self.ended.wait_timeout(records, slice).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    pub fn terminate(&self, pid: u32) {
        if let Some(r) = lock(&self.records).get(&pid) {
            r.kill.store(true, Ordering::Relaxed);
        }
        self.sent.notify_all();
    }

    pub fn channel_new(&self) -> u32 {
        let id = self.next_channel.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.channels).insert(id, VecDeque::new());
        id
    }

    /// # Errors
    /// An unknown channel.
    pub fn send(&self, id: u32, message: Vec<u8>) -> Result<(), String> {
        let mut channels = lock(&self.channels);
        let ch = channels.get_mut(&id).ok_or_else(|| format!("no channel {id}"))?;
        ch.push_back(message);
        drop(channels);
        self.sent.notify_all();
        Ok(())
    }

    pub fn recv(&self, id: u32, timeout_ms: Option<f64>, stop: &dyn Fn() -> bool) -> Option<Vec<u8>> {
        let until = until(timeout_ms);
        let mut channels = lock(&self.channels);
        loop {
            if let Some(m) = channels.get_mut(&id)?.pop_front() {
                return Some(m);
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) || stop() {
                return None;
            }
            let slice = until.map_or(POLL, |u| (u - now).min(POLL));
            channels = self.sent.wait_timeout(channels, slice).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    pub fn len(&self, id: u32) -> usize {
        lock(&self.channels).get(&id).map_or(0, VecDeque::len)
    }

    pub fn take_reports(&self) -> Vec<ProcessReport> {
        std::mem::take(&mut *lock(&self.reports))
    }
}
