//! ThreadLab's own Python (the reference-count inspector's interpreter) runs in a
//! worker of its own: its own wasm instance and memory, like a process of the processes
//! engine. A script that traps the interpreter (a bug nobody found yet, a stack
//! overflow) or never ends costs that worker only: the page terminates it, says what
//! happened, and starts a fresh one; the page's own instance and every engine go on.

use super::engines::START_TIMEOUT_MS;
use crate::core::protocol::{FromWorker, Role, ToWorker, Trace};
use crate::web::clock::now_ms;
use crate::web::spawn::{Mailbox, NoAnswer, WorkerHandle};

/// How long a script may run before its worker is stopped. The interpreter has a step
/// budget far below this; only a bug (or the tests' hang script) reaches it.
pub const PYTHON_TIMEOUT_MS: u32 = 10_000;

struct Current {
    id: usize,
    worker: WorkerHandle,
    spawned_at: f64,
    ready: bool,
}

#[derive(Default)]
pub struct PythonWorker {
    current: Option<Current>,
    /// ms from asking for the last worker to its `Ready` (stamped in the worker).
    pub start_ms: Option<f64>,
    /// The worker's memory when it became ready, in bytes.
    pub memory_bytes: Option<f64>,
    mailbox: Mailbox,
}

impl PythonWorker {
    /// Starts a worker if there is none, without waiting for it: the next script then
    /// finds it ready.
    pub fn keep_started(&mut self) {
        if self.current.is_none() {
            // One that cannot start is no loss here: `run` tries again and says why.
            let _ = self.spawn();
        }
    }

    fn spawn(&mut self) -> Result<(), String> {
        let (id, worker) = self.mailbox.spawn(Role::Python, 1)?;
        self.current = Some(Current { id, worker, spawned_at: now_ms(), ready: false });
        Ok(())
    }

    /// Terminates the worker (dropping it does) and starts the next one at once.
    fn replace(&mut self) {
        self.current = None;
        self.keep_started();
    }

    async fn ready(&mut self) -> Result<(), String> {
        if self.current.is_none() {
            self.spawn().map_err(|e| format!("ThreadLab's Python worker could not start: {e}"))?;
        }
        let Some(Current { id, ready: false, .. }) = self.current else { return Ok(()) };
        let ready =
            |m| if let FromWorker::Ready { at, memory_bytes, .. } = m { Some((at, memory_bytes)) } else { None };
        match self.mailbox.answer(id, ready, Some(START_TIMEOUT_MS)).await {
            Ok((at, memory_bytes)) => {
                if let Some(c) = self.current.as_mut() {
                    c.ready = true;
                    self.start_ms = Some(at - c.spawned_at);
                }
                self.memory_bytes = Some(memory_bytes);
                Ok(())
            }
            Err(NoAnswer::Failed(message)) => {
                self.current = None;
                Err(format!("ThreadLab's Python worker could not start: {message}"))
            }
            Err(NoAnswer::Silent) => {
                self.current = None;
                Err(format!("ThreadLab's Python worker did not start within {} s.", START_TIMEOUT_MS / 1000))
            }
        }
    }

    /// Runs `source` in the worker.
    ///
    /// # Errors
    /// When the worker cannot start, crashes (it is replaced) or takes longer than
    /// [`PYTHON_TIMEOUT_MS`] (it is terminated and replaced): the message says which.
    pub async fn run(&mut self, source: &str, version: crate::core::py::Version) -> Result<Trace, String> {
        self.ready().await?;
        let Some(c) = &self.current else { return Err("ThreadLab's Python worker is not running.".into()) };
        c.worker.post(&ToWorker::Python { source: source.to_owned(), version })?;
        let answer = |m| match m {
            FromWorker::Traced { trace } => Some(Ok(*trace)),
            // The worker is fine: only its answer was too big to take in.
            FromWorker::TooBig { limit_bytes } => Some(Err(format!(
                "The script ran, but its step-by-step record is too big to show (over {:.0} MB): \
                 try fewer steps or smaller objects.",
                limit_bytes / 1_048_576.0
            ))),
            _ => None,
        };
        match self.mailbox.answer(c.id, answer, Some(PYTHON_TIMEOUT_MS)).await {
            Ok(answer) => answer,
            Err(NoAnswer::Failed(message)) => {
                self.replace();
                Err(format!(
                    "The script crashed ThreadLab's Python worker: {}. Only that worker was lost: \
                     a fresh one runs the next script, and the engines are unaffected.",
                    message.trim_end_matches('.')
                ))
            }
            Err(NoAnswer::Silent) => {
                self.replace();
                Err(format!(
                    "The script took longer than {} s, so ThreadLab's Python worker was stopped. \
                     A fresh one runs the next script, and the engines are unaffected.",
                    PYTHON_TIMEOUT_MS / 1000
                ))
            }
        }
    }
}
