//! Starting workers and talking to them in [`ToWorker`]/[`FromWorker`] messages.

use crate::core::protocol::{FromWorker, Role, ToWorker};
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use js_sys::{JsString, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

#[wasm_bindgen(module = "/src/web/spawn.js")]
extern "C" {
    #[wasm_bindgen(js_name = spawnWorker, catch)]
    fn spawn_worker(glue_url: &JsString, name: &str, boot: &JsValue) -> Result<Worker, JsValue>;
    fn silence(worker: &Worker);
}

#[wasm_bindgen]
extern "C" {
    /// The URL of the wasm-bindgen glue this code was loaded by (`import.meta.url` there).
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    static GLUE_URL: JsString;
}

/// A message from worker `id`, or why that worker failed.
pub type Letter = (usize, Result<FromWorker, String>);
pub type Inbox = UnboundedReceiver<Letter>;
pub type Outbox = UnboundedSender<Letter>;

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
        let boot = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&boot, &k.into(), v).map(drop);
        set("module", &wasm_bindgen::module()).map_err(js_error)?;
        set("role", &serde_wasm_bindgen::to_value(&role).map_err(|e| e.to_string())?).map_err(js_error)?;
        set("threads", &threads.into()).map_err(js_error)?;
        let name = match role {
            Role::Threads => format!("threadlab threads host ({threads} threads)"),
            Role::Process => format!("threadlab process {id}"),
            Role::Python => "threadlab python".to_owned(),
        };
        let worker = GLUE_URL.with(|url| spawn_worker(url, &name, &boot)).map_err(js_error)?;

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
