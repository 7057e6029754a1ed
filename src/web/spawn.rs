//! Starting workers and talking to them in [`ToWorker`]/[`FromWorker`] messages: a
//! [`WorkerHandle`] per worker, and one [`Mailbox`] per engine (and for the Python worker)
//! where the letters of all its workers arrive.

use crate::core::protocol::{FromWorker, Role, ToWorker};
use crate::web::clock;
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;
use js_sys::{JsString, Reflect};
use std::collections::HashSet;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

#[wasm_bindgen(module = "/src/web/spawn.js")]
extern "C" {
    #[wasm_bindgen(js_name = spawnWorker, catch)]
    pub(crate) fn spawn_worker(glue_url: &JsString, name: &str, boot: &JsValue) -> Result<Worker, JsValue>;
    pub(crate) fn silence(worker: &Worker);
}

#[wasm_bindgen]
extern "C" {
    /// The URL of the wasm-bindgen glue this code was loaded by (`import.meta.url` there).
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    pub(crate) static GLUE_URL: JsString;
}

/// A message from worker `id`, or why that worker failed.
pub type Letter = (usize, Result<FromWorker, String>);
pub type Inbox = UnboundedReceiver<Letter>;
pub type Outbox = UnboundedSender<Letter>;

/// Where the letters of one engine's workers arrive, each tagged with the id of the worker
/// that sent it: ids are never reused, so a letter from a worker already replaced is known.
///
/// It remembers which workers have said `Ready` and which have failed, whoever was waiting
/// for their letters: a worker started ahead of need (a spare process) is known ready, or
/// dead, when it is wanted, even if its letter went by while another answer was awaited.
pub struct Mailbox {
    outbox: Outbox,
    inbox: Inbox,
    next_id: usize,
    ready: HashSet<usize>,
    failed: HashSet<usize>,
    /// The memory of the last worker that said `Ready`, in bytes.
    pub memory_bytes: Option<f64>,
}

impl Default for Mailbox {
    fn default() -> Self {
        let (outbox, inbox) = mpsc::unbounded();
        Mailbox { outbox, inbox, next_id: 0, ready: HashSet::new(), failed: HashSet::new(), memory_bytes: None }
    }
}

/// Why [`Mailbox::answer`] has no answer.
#[derive(Clone, Debug, PartialEq)]
pub enum NoAnswer {
    /// The worker said it failed, or its error event fired (the message says why).
    Failed(String),
    /// Nothing came in time.
    Silent,
}

impl Mailbox {
    /// Starts a worker of `role` whose letters arrive here; returns its id and handle.
    ///
    /// # Errors
    /// When the browser refuses to create the worker.
    pub fn spawn(&mut self, role: Role, threads: u32) -> Result<(usize, WorkerHandle), String> {
        let id = self.next_id;
        self.next_id += 1;
        Ok((id, WorkerHandle::spawn(role, threads, id, &self.outbox)?))
    }

    /// The next letter, or `None` after `timeout_ms`.
    pub async fn receive(&mut self, timeout_ms: u32) -> Option<Letter> {
        let letter = receive(&mut self.inbox, timeout_ms).await?;
        self.note(&letter);
        Some(letter)
    }

    fn note(&mut self, (id, letter): &Letter) {
        match letter {
            Ok(FromWorker::Ready { memory_bytes, .. }) => {
                self.ready.insert(*id);
                self.memory_bytes = Some(*memory_bytes);
            }
            Ok(FromWorker::Failed { .. }) | Err(_) => {
                self.failed.insert(*id);
            }
            Ok(_) => {}
        }
    }

    /// Whether worker `id` has said `Ready`.
    #[must_use]
    pub fn is_ready(&self, id: usize) -> bool {
        self.ready.contains(&id)
    }

    /// Whether worker `id` has failed (said so, or its error event fired).
    #[must_use]
    pub fn has_failed(&self, id: usize) -> bool {
        self.failed.contains(&id)
    }

    /// The first letter of worker `from` that `pick` takes, within `timeout_ms` in all (`None`:
    /// no limit). Letters of other workers, and those `pick` passes over, are dropped; the
    /// worker failing ends the wait.
    ///
    /// # Errors
    /// [`NoAnswer::Failed`] when the worker fails, [`NoAnswer::Silent`] when time runs out.
    pub async fn answer<T>(
        &mut self,
        from: usize,
        mut pick: impl FnMut(FromWorker) -> Option<T>,
        timeout_ms: Option<u32>,
    ) -> Result<T, NoAnswer> {
        let until = timeout_ms.map(|ms| clock::now_ms() + f64::from(ms));
        loop {
            let letter = match until {
                Some(until) => {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let left = (until - clock::now_ms()).max(0.0).ceil() as u32;
                    self.receive(left).await
                }
                None => {
                    let letter = self.inbox.next().await;
                    if let Some(letter) = &letter {
                        self.note(letter);
                    }
                    letter
                }
            };
            match letter {
                None => return Err(NoAnswer::Silent),
                Some((id, _)) if id != from => {}
                Some((_, Ok(FromWorker::Failed { message }) | Err(message))) => return Err(NoAnswer::Failed(message)),
                Some((_, Ok(message))) => {
                    if let Some(taken) = pick(message) {
                        return Ok(taken);
                    }
                }
            }
        }
    }
}

/// The next letter, or `None` after `timeout_ms`.
pub async fn receive(inbox: &mut Inbox, timeout_ms: u32) -> Option<Letter> {
    let next = inbox.next();
    let timer = clock::delay(timeout_ms);
    futures::pin_mut!(next, timer);
    match futures::future::select(next, timer).await {
        futures::future::Either::Left((letter, _)) => letter,
        futures::future::Either::Right(_) => None,
    }
}

/// A running worker; dropping it terminates the worker.
pub struct WorkerHandle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerHandle {
    /// Starts a worker of `role` whose messages arrive in `outbox` tagged with `id`.
    ///
    /// # Errors
    /// When the browser refuses to create the worker (e.g. a Content-Security-Policy).
    pub fn spawn(role: Role, threads: u32, id: usize, outbox: &Outbox) -> Result<WorkerHandle, String> {
        // The boot message is a `ToWorker::Boot`, plus the compiled module, which spawn.js takes off it.
        let boot = serde_wasm_bindgen::to_value(&ToWorker::Boot { role, threads }).map_err(|e| e.to_string())?;
        Reflect::set(&boot, &"module".into(), &wasm_bindgen::module()).map_err(js_error)?;
        let name = match role {
            Role::Threads => format!("threadlab threads host ({threads} threads)"),
            Role::Process => format!("threadlab process {id}"),
            Role::Python => "threadlab python".to_owned(),
            Role::Program => format!("threadlab program process {id}"),
        };
        // The inspector's Python runs on the VM's module in the threaded build (see
        // web::inspector): compiled on first need, the boot is posted once it is.
        #[cfg(feature = "threads")]
        let on_vm = role == Role::Python;
        #[cfg(not(feature = "threads"))]
        let on_vm = false;
        let worker = GLUE_URL
            .with(|url| {
                if !on_vm {
                    return spawn_worker(url, &name, &boot);
                }
                let worker = spawn_worker(&crate::web::program::vm_glue_url(url), &name, &JsValue::UNDEFINED)?;
                crate::web::program::boot_with_vm(url, &worker, &boot);
                Ok(worker)
            })
            .map_err(js_error)?;

        let tx = outbox.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let letter = serde_wasm_bindgen::from_value::<FromWorker>(event.data())
                .map_err(|e| format!("unreadable message from a worker: {e}"));
            let _ = tx.unbounded_send((id, letter));
        });
        let tx = outbox.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            let message = event.message();
            let message = if message.is_empty() { "the worker failed to load or crashed".to_owned() } else { message };
            let _ = tx.unbounded_send((id, Err(message)));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(WorkerHandle { worker, _on_message: on_message, _on_error: on_error })
    }

    /// Sends `message` to the worker.
    ///
    /// # Errors
    /// When the message cannot be serialised or posted.
    pub fn post(&self, message: &ToWorker) -> Result<(), String> {
        let value = serde_wasm_bindgen::to_value(message).map_err(|e| e.to_string())?;
        self.worker.post_message(&value).map_err(js_error)
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        // Unhook first: events already queued (a crashed worker's error) must not reach
        // the closures dropped with this handle, nor surface as the page's own errors.
        silence(&self.worker);
        self.worker.terminate();
    }
}

/// A JS exception as text for the page.
#[must_use]
pub fn js_error(value: JsValue) -> String {
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
