//! The processes engine: a pool of workers, each with its own wasm instance and
//! memory, sharing nothing and talking only in messages, like `multiprocessing.Pool`.
//! Workers are kept between runs; the module is compiled once by the page.

use super::{receive, Collector, Output, Plan, Sink, START_TIMEOUT_MS};
use crate::core::protocol::{FromWorker, Role};
use crate::web::clock::now_ms;
use crate::web::spawn::{Inbox, Outbox, WorkerHandle};
use futures::channel::mpsc;
use std::collections::VecDeque;

struct Process {
    id: usize,
    worker: WorkerHandle,
}

pub struct Processes {
    pool: Vec<Process>,
    /// The last start of new processes: how long until all were ready, and how many.
    pub last_start: Option<(f64, u32)>,
    /// The memory of each process when it became ready, in bytes.
    pub memory_bytes: Option<f64>,
    next_id: usize,
    outbox: Outbox,
    inbox: Inbox,
}

impl Default for Processes {
    fn default() -> Self {
        let (outbox, inbox) = mpsc::unbounded();
        Processes { pool: Vec::new(), last_start: None, memory_bytes: None, next_id: 0, outbox, inbox }
    }
}

impl Processes {
    /// Grows or shrinks the pool to `size` ready processes; returns the ms spent.
    ///
    /// # Errors
    /// When a new process fails to start or does not answer in time.
    pub async fn prepare(&mut self, size: u32) -> Result<f64, String> {
        let size = size as usize;
        self.pool.truncate(size); // dropping a process terminates its worker
        if self.pool.len() == size {
            return Ok(0.0);
        }
        let began = now_ms();
        let mut waiting = Vec::new();
        while self.pool.len() < size {
            let id = self.next_id;
            self.next_id += 1;
            self.pool.push(Process { id, worker: WorkerHandle::spawn(Role::Process, 1, id, &self.outbox)? });
            waiting.push(id);
        }
        let started = waiting.len();
        while !waiting.is_empty() {
            match receive(&mut self.inbox, START_TIMEOUT_MS).await {
                Some((from, Ok(FromWorker::Ready { memory_bytes, .. }))) => {
                    self.memory_bytes = Some(memory_bytes);
                    waiting.retain(|w| *w != from);
                }
                Some((from, Ok(FromWorker::Failed { message }) | Err(message))) if waiting.contains(&from) => {
                    self.pool.retain(|p| p.id != from);
                    return Err(format!("A process could not start: {message}"));
                }
                Some(_) => {}
                None => {
                    self.pool.retain(|p| !waiting.contains(&p.id));
                    return Err("A process did not start within 30 s.".into());
                }
            }
        }
        let took = now_ms() - began;
        self.last_start = Some((took, u32::try_from(started).unwrap_or(u32::MAX)));
        Ok(took)
    }

    /// Hands tasks to idle processes one at a time until all have ended.
    ///
    /// # Errors
    /// When a process fails during the run (it is then removed from the pool).
    pub async fn run(&mut self, plan: &Plan, sink: Sink<'_>) -> Result<Output, String> {
        if self.pool.is_empty() {
            return Err("The processes engine has no processes.".into());
        }
        let mut queue: VecDeque<_> = plan.tasks.iter().copied().collect();
        let send_next = |lane: usize, queue: &mut VecDeque<_>, pool: &[Process]| -> Result<(), String> {
            match queue.pop_front() {
                Some(task) => {
                    let lane = u32::try_from(lane).unwrap_or(u32::MAX);
                    pool[lane as usize].worker.post(&plan.message(lane, vec![task]))
                }
                None => Ok(()),
            }
        };
        for lane in 0..self.pool.len() {
            send_next(lane, &mut queue, &self.pool)?;
        }
        let mut collector = Collector::default();
        while collector.done.len() < plan.tasks.len() {
            let Some((from, letter)) = futures::StreamExt::next(&mut self.inbox).await else {
                return Err("the process pool went away".into());
            };
            let Some(lane) = self.pool.iter().position(|p| p.id == from) else {
                continue;
            };
            match letter {
                Ok(FromWorker::Failed { message }) | Err(message) => {
                    self.pool.remove(lane);
                    return Err(format!("Process {lane} failed: {message}"));
                }
                Ok(message) => {
                    if collector.take(plan.run, message, sink) {
                        send_next(lane, &mut queue, &self.pool)?;
                    }
                }
            }
        }
        // Each process has its own GIL and one thread: no GIL ever changes hands.
        Ok(Output { stamps: collector.done, gil_switches: 0 })
    }
}
