//! The processes engine: a pool of workers, each with its own wasm instance and
//! memory, sharing nothing and talking only in messages, like `multiprocessing.Pool`.
//! Workers are kept between runs; the module is compiled once by the page, and one
//! spare process is kept started, so that growing the pool takes a ready process
//! instead of waiting ~20–50 ms for a worker to boot (see `start.process_ms_next` in
//! `cargo xtask bench`). The spare is not in the pool: it runs nothing until taken.
//! [`Processes`] is the page half; [`process`] is what each process worker does.

use super::{Collector, Engine, Output, Plan, Sink, START_TIMEOUT_MS};
use crate::core::plan::wait_ms;
use crate::core::protocol::TaskSpec;
use crate::core::protocol::{FromWorker, Role, ToWorker};
use crate::core::timeline::{Crash, TaskStatus};
use crate::web::clock::now_ms;
use crate::web::spawn::{Mailbox, NoAnswer, WorkerHandle};
use futures::future::LocalBoxFuture;
use std::collections::VecDeque;

struct Process {
    id: usize,
    worker: WorkerHandle,
}

#[derive(Default)]
pub struct Processes {
    pool: Vec<Process>,
    /// A process started ahead of need (the mailbox knows whether it has said `Ready`).
    spare: Option<Process>,
    /// ms from the very first spawn to the first process ready (the page's first process).
    pub first_ready_ms: Option<f64>,
    /// The last start of new processes: how long until all were ready, and how many.
    pub last_start: Option<(f64, u32)>,
    mailbox: Mailbox,
}

impl Engine for Processes {
    fn prepare(&mut self, workers: u32) -> LocalBoxFuture<'_, Result<f64, String>> {
        Box::pin(Processes::prepare(self, workers))
    }

    fn run<'a>(&'a mut self, plan: &'a Plan, sink: Sink<'a>) -> LocalBoxFuture<'a, Result<Output, String>> {
        Box::pin(Processes::run(self, plan, sink))
    }

    fn start_costs(&self, costs: &mut crate::web::lab::StartCosts) {
        costs.processes = self.last_start;
        costs.process_memory_bytes = self.mailbox.memory_bytes;
    }

    fn idle(&mut self) {
        self.keep_spare();
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
        let mut started = 0;
        while self.pool.len() < size {
            started += 1;
            if let Some(process) = self.spare.take().filter(|p| !self.mailbox.has_failed(p.id)) {
                if !self.mailbox.is_ready(process.id) {
                    waiting.push(process.id);
                }
                self.pool.push(process);
                continue;
            }
            let process = self.spawn()?;
            waiting.push(process.id);
            self.pool.push(process);
        }
        while !waiting.is_empty() {
            match self.mailbox.receive(START_TIMEOUT_MS).await {
                Some((from, Ok(FromWorker::Ready { .. }))) => {
                    waiting.retain(|w| *w != from);
                    self.first_ready_ms.get_or_insert(now_ms() - began);
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

    fn spawn(&mut self) -> Result<Process, String> {
        let (id, worker) = self.mailbox.spawn(Role::Process, 1)?;
        Ok(Process { id, worker })
    }

    /// Starts the spare if there is none (or it died). Call it when no run is about to start:
    /// a booting worker takes a core for some 80 ms, which must not come out of a measured run.
    pub fn keep_spare(&mut self) {
        if self.spare.as_ref().is_some_and(|p| self.mailbox.has_failed(p.id)) {
            self.spare = None;
        }
        if self.spare.is_none() {
            // A spare that cannot start is no loss: the next growth spawns as before.
            self.spare = self.spawn().ok();
        }
    }

    /// Start costs as `cargo xtask bench` reports them: ms for one more process in the
    /// pool (taking the spare), and ms for a brand-new worker to be ready with the module
    /// already compiled (what growing would cost without a spare). The pool is left as it was.
    ///
    /// # Errors
    /// When a process fails to start.
    pub async fn probe_start(&mut self) -> Result<(f64, f64), String> {
        let size = u32::try_from(self.pool.len()).unwrap_or(u32::MAX);
        // Let the spare finish booting first, as it has between a student's runs.
        self.prepare(size).await?;
        self.keep_spare();
        self.await_spare().await;
        let next = self.prepare(size + 1).await?;
        self.pool.truncate(size as usize);
        // Nothing else booting while the cold start is timed.
        self.await_spare().await;
        let began = now_ms();
        let cold = self.spawn()?;
        match self
            .mailbox
            .answer(cold.id, |m| matches!(m, FromWorker::Ready { .. }).then_some(()), Some(START_TIMEOUT_MS))
            .await
        {
            Ok(()) => Ok((next, now_ms() - began)),
            Err(NoAnswer::Failed(message)) => Err(format!("A process could not start: {message}")),
            Err(NoAnswer::Silent) => Err("A process did not start within 30 s.".into()),
        }
    }

    async fn await_spare(&mut self) {
        while let Some(spare) = &self.spare {
            if self.mailbox.is_ready(spare.id) || self.mailbox.has_failed(spare.id) {
                break;
            }
            if self.mailbox.receive(START_TIMEOUT_MS).await.is_none() {
                break;
            }
        }
    }

    /// The median page → process → page round trip of a small message, in µs, over `count` trips.
    ///
    /// # Errors
    /// When the process fails or stops answering.
    pub async fn round_trip(&mut self, count: u32) -> Result<f64, String> {
        if self.pool.is_empty() {
            return Err("The processes engine has no processes.".into());
        }
        let mut trips = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let began = now_ms();
            self.pool[0].worker.post(&ToWorker::Echo { data: Vec::new() })?;
            let from = self.pool[0].id;
            self.answer(from, |m| matches!(m, FromWorker::Echoed { .. }).then_some(())).await?;
            trips.push((now_ms() - began) * 1000.0);
        }
        trips.sort_by(f64::total_cmp);
        Ok(trips.get(trips.len() / 2).copied().unwrap_or(f64::NAN))
    }

    /// Hands tasks to idle processes one at a time until all have ended. A process that
    /// crashes (or runs a task past the timeout, and is terminated) takes only its own
    /// task down: it is replaced, and the other tasks go on, like `multiprocessing`.
    ///
    /// # Errors
    /// When no process can be started or the pool stops answering.
    pub async fn run(&mut self, plan: &Plan, sink: Sink<'_>) -> Result<Output, String> {
        if self.pool.is_empty() {
            return Err("The processes engine has no processes.".into());
        }
        let timeout = f64::from(plan.config.timeout_ms);
        let mut queue: VecDeque<TaskSpec> = plan.tasks.iter().copied().collect();
        // What each lane is running: (task id, when it was handed over).
        let mut busy: Vec<Option<(u32, f64)>> = vec![None; self.pool.len()];
        let mut collector = Collector::default();
        let mut crashes = Vec::new();
        for lane in 0..self.pool.len() {
            self.send_next(plan, lane, &mut queue, &mut busy)?;
        }
        while collector.done.len() < plan.tasks.len() {
            let deadline = busy.iter().flatten().map(|(_, sent)| sent + timeout).fold(f64::INFINITY, f64::min);
            let letter = self.mailbox.receive(wait_ms(deadline, now_ms(), START_TIMEOUT_MS)).await;
            let Some((from, letter)) = letter else {
                if !deadline.is_finite() {
                    return Err("The processes stopped answering.".into());
                }
                let now = now_ms();
                for (lane, slot) in busy.iter_mut().enumerate() {
                    if let Some((id, sent)) = slot.filter(|(_, sent)| now >= sent + timeout) {
                        let _ = sent;
                        collector.fail(id, TaskStatus::Timeout, now, sink);
                        crashes.push(Crash {
                            lane: u32::try_from(lane).unwrap_or(u32::MAX),
                            message: format!(
                                "task {id} did not return within {timeout} ms: process {lane} was terminated"
                            ),
                        });
                        *slot = None;
                        self.replace(lane)?;
                    }
                }
                continue;
            };
            let Some(lane) = self.pool.iter().position(|p| p.id == from) else { continue };
            let lane_no = u32::try_from(lane).unwrap_or(u32::MAX);
            match letter {
                Ok(FromWorker::Ready { .. }) => {
                    if busy[lane].is_none() {
                        self.send_next(plan, lane, &mut queue, &mut busy)?;
                    }
                }
                Ok(FromWorker::Crashed { run, id, at, message, .. }) if run == plan.run => {
                    collector.fail(id, TaskStatus::Crashed, at, sink);
                    crashes.push(Crash {
                        lane: lane_no,
                        message: format!("process {lane} crashed: task {id} panicked: {message}"),
                    });
                    busy[lane] = None;
                    self.replace(lane)?;
                }
                Ok(FromWorker::Failed { message }) | Err(message) => {
                    if let Some((id, _)) = busy[lane] {
                        collector.fail(id, TaskStatus::Crashed, now_ms(), sink);
                    }
                    crashes.push(Crash { lane: lane_no, message: format!("process {lane} failed: {message}") });
                    busy[lane] = None;
                    self.replace(lane)?;
                }
                Ok(message) => {
                    if collector.take(plan.run, message, sink) {
                        busy[lane] = None;
                        self.send_next(plan, lane, &mut queue, &mut busy)?;
                    }
                }
            }
        }
        // The run is over: a spare can boot now without slowing it.
        self.keep_spare();
        // Each process has its own GIL and one thread: no GIL ever changes hands.
        Ok(Output { stamps: collector.done, gil_switches: 0, crashes, froze_page: false })
    }

    /// The memory experiment: each process appends to the list in its own memory (the
    /// page's stays empty), then `bytes` go to process 0 and back, copied each way.
    /// Returns (results sent back as messages, round-trip ms).
    ///
    /// # Errors
    /// When a process fails or stops answering.
    pub async fn memory(&mut self, bytes: u32) -> Result<(u32, f64), String> {
        if self.pool.is_empty() {
            return Err("The processes engine has no processes.".into());
        }
        // One process at a time: an answer awaited from one process passes the others' by.
        let mut returned = 0u32;
        for lane in 0..self.pool.len() {
            self.pool[lane].worker.post(&ToWorker::Keep { workers: 1 })?;
            let from = self.pool[lane].id;
            returned += self.answer(from, |m| if let FromWorker::Kept { len } = m { Some(len) } else { None }).await?;
        }
        let data = vec![7u8; bytes as usize];
        let began = now_ms();
        self.pool[0].worker.post(&ToWorker::Echo { data })?;
        let from = self.pool[0].id;
        self.answer(from, |m| matches!(m, FromWorker::Echoed { data } if data.len() == bytes as usize).then_some(()))
            .await?;
        Ok((returned, now_ms() - began))
    }

    /// The answer of process `from` that `pick` takes (see [`Mailbox::answer`]).
    async fn answer<T>(&mut self, from: usize, pick: impl FnMut(FromWorker) -> Option<T>) -> Result<T, String> {
        self.mailbox.answer(from, pick, Some(START_TIMEOUT_MS)).await.map_err(|e| match e {
            NoAnswer::Failed(message) => format!("A process failed: {message}"),
            NoAnswer::Silent => "The processes stopped answering.".into(),
        })
    }

    fn send_next(
        &self,
        plan: &Plan,
        lane: usize,
        queue: &mut VecDeque<TaskSpec>,
        busy: &mut [Option<(u32, f64)>],
    ) -> Result<(), String> {
        if let Some(task) = queue.pop_front() {
            let lane_no = u32::try_from(lane).unwrap_or(u32::MAX);
            self.pool[lane].worker.post(&plan.message(lane_no, vec![task]))?;
            busy[lane] = Some((task.id, now_ms()));
        }
        Ok(())
    }

    /// Terminates the process on `lane` and starts a fresh one there; it announces
    /// itself with `Ready` and then gets work.
    fn replace(&mut self, lane: usize) -> Result<(), String> {
        self.pool[lane] = self.spawn()?;
        Ok(())
    }
}

/// The worker half: what a process does, on its own (only) thread and in its own memory.
pub mod process {
    use crate::core::gil::Gil;
    use crate::core::protocol::{FromWorker, TaskSpec};
    use crate::core::task::{self, GilSeat};
    use crate::web::clock::{block_ms, now_ms};
    use crate::web::worker::{self, post, RESULTS};
    use std::sync::LazyLock;

    /// A process's own GIL: every process has one, so processes never wait on each other.
    static PROCESS_GIL: LazyLock<Gil> = LazyLock::new(Gil::default);

    /// Runs `tasks` one after another, posting each stamp as it happens.
    pub fn run(run: u32, lane: u32, tasks: &[TaskSpec], gil: bool, switch_interval_ms: f64) {
        PROCESS_GIL.set_switch_interval(switch_interval_ms);
        let seat = gil.then_some(GilSeat { gil: &PROCESS_GIL, me: 0 });
        for spec in tasks {
            post(&FromWorker::Started { run, id: spec.id, lane, at: now_ms() });
            worker::running(Some((run, spec.id, lane)));
            let outcome = task::execute(spec, seat, &now_ms, block_ms);
            worker::running(None);
            post(&FromWorker::Ended { run, id: spec.id, lane, at: now_ms(), outcome });
        }
        // One thread per process: its GIL never changes hands.
        post(&FromWorker::Done { run, gil_switches: 0 });
    }

    /// A process appends to the list in its own memory: the page's, and every other
    /// process's, stays as it was.
    pub fn keep() {
        let mut list = RESULTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        list.clear();
        list.push(0);
        post(&FromWorker::Kept { len: u32::try_from(list.len()).unwrap_or(u32::MAX) });
    }
}
