//! The worker half of the reference-count inspector: what ThreadLab's Python worker does
//! with a script (the page half is `web::python`): the VM runs it and records its steps
//! (`core::py::vm::inspect`). In the threaded page's build it is not here but in the VM's
//! module (`pkg-vm/`, [`super::vm`]): the page boots its Python worker on that module, so
//! the VM is not in the page's first load. Pages that are not cross-origin isolated
//! (`pkg-st`) cannot instantiate that module (its memory is shared), so their build keeps
//! this half and runs the inspector on itself.

use crate::core::program::{Host, OutputChunk};
use crate::core::protocol::{FromWorker, PythonJob};
use crate::web::clock::{block_ms, now_ms};
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

/// The most a trace may take (roughly, see `largerThan` in spawn.js) for the page to be sent it.
const MAX_TRACE_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

#[wasm_bindgen(module = "/src/web/spawn.js")]
extern "C" {
    #[wasm_bindgen(js_name = largerThan)]
    fn larger_than(value: &JsValue, limit: f64) -> bool;
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// What the VM needs from the inspector's worker: a clock. A script never waits (a sleep
/// returns at once), never starts a thread, and its output is in the trace.
struct InspectorHost;

impl Host for InspectorHost {
    fn now_ms(&self) -> f64 {
        now_ms()
    }

    fn spawn_thread(&self, _job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        Err("the inspector runs one thread".into())
    }

    fn write(&self, _chunk: OutputChunk) {}

    fn stop_requested(&self) -> bool {
        false
    }

    fn sleep_ms(&self, _ms: f64) {}
}

/// Posts `message` to the page.
pub fn post(message: &FromWorker) {
    if let Ok(value) = serde_wasm_bindgen::to_value(message) {
        let _ = scope().post_message(&value);
    }
}

/// Runs a script of the reference-count inspector and sends its trace back. Whatever
/// the script does to this instance (a trap, a stack overflow, an endless loop) the
/// page survives: it terminates this worker and starts another.
///
/// # Panics
/// On purpose, for the tests' crash script ([`crate::core::protocol::CRASH_TEST_SOURCE`]).
pub fn serve(source: &str, version: crate::core::py::Version) {
    match PythonJob::of(source) {
        PythonJob::Run => {
            let began = now_ms();
            let mut trace = crate::core::py::inspect(source, Arc::new(InspectorHost), version);
            trace.run_ms = Some(now_ms() - began);
            let traced = FromWorker::Traced { trace: Box::new(trace) };
            match serde_wasm_bindgen::to_value(&traced) {
                // The page would have to hold it all, in its own memory: a script must not
                // be able to make the page run out of it.
                Ok(value) if larger_than(&value, MAX_TRACE_BYTES) => {
                    post(&FromWorker::TooBig { limit_bytes: MAX_TRACE_BYTES });
                }
                Ok(value) => {
                    let _ = scope().post_message(&value);
                }
                Err(e) => post(&FromWorker::Failed { message: format!("its trace could not be sent: {e}") }),
            }
        }
        PythonJob::Crash => panic!("crashed on purpose: the tests' crash script"),
        // Blocks this worker's only thread for good, as an interpreter stuck in a loop
        // would: nothing is posted, and only the page's timeout ends it.
        PythonJob::Hang => loop {
            block_ms(60_000);
        },
    }
}
