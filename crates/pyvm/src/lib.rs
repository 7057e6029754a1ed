//! Prototype of the VM's own wasm module (docs/python-vm.md §8): the page's core, included by
//! path (no file moves while the VM is being written), and one export that runs a program in
//! the worker that instantiated this module. The real split moves `src/core` into a crate
//! both cdylibs depend on, and the program's process and thread workers load this module.
#![allow(unsafe_code, clippy::all)]

#[path = "../../../src/core/mod.rs"]
pub mod core;

#[cfg(target_arch = "wasm32")]
mod web {
    use crate::core::program::{Host, OutputChunk, ProgramOptions};
    use std::sync::Arc;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `performance.now()` of the worker (or page) this runs in.
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }

    /// Enough of a host for one thread and no Stop: what the benchmark needs.
    struct WorkerHost;

    impl Host for WorkerHost {
        fn now_ms(&self) -> f64 {
            performance_now()
        }
        fn spawn_thread(&self, _job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
            Err("the prototype module starts no threads".to_owned())
        }
        fn write(&self, _chunk: OutputChunk) {}
        fn stop_requested(&self) -> bool {
            false
        }
        fn sleep_ms(&self, _ms: f64) {}
    }

    /// Runs `source` to its end; returns its stdout, then its error if any.
    #[wasm_bindgen]
    #[must_use]
    pub fn run_python(source: &str) -> String {
        let r = crate::core::py::vm::run_program(source, &ProgramOptions::default(), Arc::new(WorkerHost));
        let err = r.error.map(|e| format!("\n{}: {} (line {})", e.kind, e.message, e.line)).unwrap_or_default();
        format!("{}{err}", r.stdout)
    }
}
