//! The threads engine: one "process" (a host worker with one wasm instance) whose
//! tasks run on a `wasm-bindgen-rayon` pool of Web Workers sharing that instance's memory.

use super::{receive, Collector, Output, Plan, Sink, START_TIMEOUT_MS};
use crate::core::protocol::{FromWorker, Role, ToWorker};
use crate::core::race::{RaceConfig, RaceResult};
use crate::core::timeline::{Crash, TaskStatus};
use crate::web::clock::now_ms;
use crate::web::spawn::{Inbox, Outbox, WorkerHandle};
use futures::channel::mpsc;

struct Host {
    id: usize,
    threads: u32,
    worker: WorkerHandle,
}

pub struct Threads {
    host: Option<Host>,
    /// How long the last host took to start its pool, measured inside the host.
    pub pool_ms: Option<(f64, u32)>,
    /// The memory of the host's instance, which its threads share, in bytes.
    pub memory_bytes: Option<f64>,
    next_id: usize,
    outbox: Outbox,
    inbox: Inbox,
}

impl Default for Threads {
    fn default() -> Self {
        let (outbox, inbox) = mpsc::unbounded();
        Threads { host: None, pool_ms: None, memory_bytes: None, next_id: 0, outbox, inbox }
    }
}

impl Threads {
    /// The size of the running pool, if any.
    #[must_use]
    pub fn threads(&self) -> Option<u32> {
        self.host.as_ref().map(|h| h.threads)
    }

    /// Makes sure a host with a pool of exactly `threads` threads is running; returns
    /// the ms spent starting one (0 when the current one fits).
    ///
    /// A rayon global pool cannot be resized, so another size means a new process.
    ///
    /// # Errors
    /// When the host or its pool fails to start, or does not answer in time.
    pub async fn prepare(&mut self, threads: u32) -> Result<f64, String> {
        if self.host.as_ref().is_some_and(|h| h.threads == threads) {
            return Ok(0.0);
        }
        self.host = None; // terminates the old process and its pool
        let began = now_ms();
        let id = self.next_id;
        self.next_id += 1;
        let worker = WorkerHandle::spawn(Role::Threads, threads, id, &self.outbox)?;
        loop {
            match receive(&mut self.inbox, START_TIMEOUT_MS).await {
                Some((from, _)) if from != id => {} // a letter from an old host
                Some((_, Ok(FromWorker::Ready { pool_ms, memory_bytes, threads: started, .. }))) => {
                    self.pool_ms = Some((pool_ms, started));
                    self.memory_bytes = Some(memory_bytes);
                    break;
                }
                Some((_, Ok(FromWorker::Failed { message }) | Err(message))) => {
                    return Err(format!("The threads engine could not start: {message}"))
                }
                Some(_) => {}
                None => return Err("The threads engine did not start within 30 s.".into()),
            }
        }
        self.host = Some(Host { id, threads, worker });
        Ok(now_ms() - began)
    }

    /// Races incref/decref pairs on the running pool (which must have `config.threads`).
    ///
    /// # Errors
    /// When there is no host or it fails.
    pub async fn race(&mut self, config: RaceConfig) -> Result<RaceResult, String> {
        let Some(host) = &self.host else { return Err("The threads engine is not running.".into()) };
        let id = host.id;
        host.worker.post(&ToWorker::Race(config))?;
        loop {
            match futures::StreamExt::next(&mut self.inbox).await {
                Some((from, _)) if from != id => {}
                Some((_, Ok(FromWorker::Raced(result)))) => return Ok(result),
                Some((_, Ok(FromWorker::Failed { message }) | Err(message))) => {
                    self.host = None;
                    return Err(format!("The threads engine failed: {message}"));
                }
                Some(_) => {}
                None => return Err("the threads host went away".into()),
            }
        }
    }

    /// The memory experiment on this process: its threads append to one shared list,
    /// and `bytes` of data are handed to a thread by reference. Returns (items the
    /// process sees, hand-off ms).
    ///
    /// # Errors
    /// When there is no host or it fails.
    pub async fn memory(&mut self, bytes: u32) -> Result<(u32, f64), String> {
        let Some(host) = &self.host else { return Err("The threads engine is not running.".into()) };
        let (id, threads) = (host.id, host.threads);
        host.worker.post(&ToWorker::Keep { workers: threads })?;
        let mut kept = None;
        loop {
            match receive(&mut self.inbox, START_TIMEOUT_MS).await {
                Some((from, _)) if from != id => {}
                Some((_, Ok(FromWorker::Kept { len }))) => {
                    kept = Some(len);
                    if let Some(host) = &self.host {
                        host.worker.post(&ToWorker::HandOff { bytes })?;
                    }
                }
                Some((_, Ok(FromWorker::HandedOff { ms, .. }))) => return Ok((kept.unwrap_or(0), ms)),
                Some((_, Ok(FromWorker::Failed { message }) | Err(message))) => {
                    self.host = None;
                    return Err(format!("The threads engine failed: {message}"));
                }
                Some(_) => {}
                None => return Err("The threads engine stopped answering.".into()),
            }
        }
    }

    /// Runs the plan on the pool.
    ///
    /// # Errors
    /// When there is no host, or it fails during the run (the host is then dropped).
    pub async fn run(&mut self, plan: &Plan, sink: Sink<'_>) -> Result<Output, String> {
        let Some(host) = &self.host else {
            return Err("The threads engine is not running.".into());
        };
        let id = host.id;
        let threads = host.threads;
        host.worker.post(&plan.message(0, plan.tasks.clone()))?;
        let timeout = f64::from(plan.config.timeout_ms);
        let mut collector = Collector::default();
        let mut crashes = Vec::new();
        let ended = loop {
            let deadline = plan
                .tasks
                .iter()
                .filter(|t| collector.running(t.id))
                .filter_map(|t| collector.started_at(t.id))
                .map(|start| start + timeout)
                .fold(f64::INFINITY, f64::min);
            let wait =
                if deadline.is_finite() { (deadline - now_ms()).max(0.0) + 1.0 } else { f64::from(START_TIMEOUT_MS) };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            match receive(&mut self.inbox, wait.ceil() as u32).await {
                None if deadline.is_finite() => {
                    // A thread cannot be stopped alone: ending a hung task ends its process.
                    let now = now_ms();
                    for t in &plan.tasks {
                        if collector.running(t.id) && collector.started_at(t.id).is_some_and(|s| now >= s + timeout) {
                            collector.fail(t.id, TaskStatus::Timeout, now, sink);
                            crashes.push(Crash {
                                lane: 0,
                                message: format!(
                                    "task {} did not return within {timeout} ms: the whole process (its {threads} threads) was terminated",
                                    t.id
                                ),
                            });
                        }
                    }
                    collector.fail_rest(plan, TaskStatus::Lost, now, sink);
                    break None;
                }
                None => break Some(Err("The threads engine stopped answering.".to_owned())),
                Some((from, _)) if from != id => {}
                Some((_, Ok(FromWorker::Done { run, gil_switches }))) if run == plan.run => {
                    break Some(Ok(gil_switches))
                }
                Some((_, Ok(FromWorker::Crashed { run, id: task, lane, at, message }))) if run == plan.run => {
                    Self::crashed(plan, &mut collector, &mut crashes, (task, lane, at, message), sink);
                    break None;
                }
                Some((_, Ok(FromWorker::Failed { message }) | Err(message))) => {
                    // A pool thread's trap can reach the page before its panic message,
                    // which the host forwards within a few ms: wait for it briefly.
                    let mut detail = None;
                    while let Some((from, letter)) = receive(&mut self.inbox, 200).await {
                        if let (true, Ok(FromWorker::Crashed { run, id: task, lane, at, message })) =
                            (from == id, letter)
                        {
                            if run == plan.run {
                                detail = Some((task, lane, at, message));
                                break;
                            }
                        }
                    }
                    match detail {
                        Some(d) => Self::crashed(plan, &mut collector, &mut crashes, d, sink),
                        None => {
                            crashes.push(Crash { lane: 0, message: format!("process crashed: {message}") });
                            collector.fail_rest(plan, TaskStatus::Lost, now_ms(), sink);
                        }
                    }
                    break None;
                }
                Some((_, Ok(message))) => {
                    collector.take(plan.run, message, sink);
                }
            }
        };
        match ended {
            Some(Ok(gil_switches)) => Ok(Output { stamps: collector.done, gil_switches, crashes }),
            Some(Err(message)) => {
                self.host = None;
                Err(message)
            }
            // Crashed or timed out: the process is gone with all its threads.
            None => {
                self.host = None;
                Ok(Output { stamps: collector.done, gil_switches: 0, crashes })
            }
        }
    }

    /// One thread panicked: the whole wasm instance aborts, so every unfinished task is lost.
    fn crashed(
        plan: &Plan,
        collector: &mut Collector,
        crashes: &mut Vec<Crash>,
        (task, lane, at, message): (u32, u32, f64, String),
        sink: Sink<'_>,
    ) {
        collector.fail(task, TaskStatus::Crashed, at, sink);
        crashes.push(Crash { lane, message: format!("process crashed: thread {lane} panicked: {message}") });
        collector.fail_rest(plan, TaskStatus::Lost, at, sink);
    }
}
