//! ThreadLab's Python: the VM (`vm`, docs/python-vm.md), and the reference-count
//! inspector's record of a script run on it (`inspect`, `trace`, `render`).
//!
//! Counts follow the CPython version asked for ([`Version`]): 3.11 (also 3.12's and 3.13's
//! counts; small ints, `None`, `True` and `False` shown immortal as in 3.12+, PEP 683) or
//! 3.14 (borrowed stack references not counted), checked against each version's output of
//! the fixtures in `tests/fixtures/refcount/`.
//! What counts: every name in a frame, every container slot, every value on the
//! evaluation stack (arguments, operands, a method's receiver), and the code objects'
//! constants (once per distinct `co_consts`, plus once by the parser's arena, which
//! CPython keeps while a file runs).

pub mod num;
mod render;
pub(crate) mod trace;
pub mod vm;

pub mod threads;

pub use vm::inspect::{Version, MAX_SNAPSHOTS, MAX_STEPS};

/// The reference-count inspector: `source` run on the VM, its steps recorded
/// (`vm::inspect`), counted as CPython `version` counts. `host` gives it a clock (a script
/// never waits: a sleep returns at once).
#[must_use]
pub fn inspect(source: &str, host: std::sync::Arc<dyn crate::core::program::Host>, version: Version) -> Trace {
    vm::inspect::run(source, host, version)
}

/// [`inspect`] with the native host (tests, tools), as 3.11 counts.
#[cfg(not(target_arch = "wasm32"))]
#[must_use]
pub fn run(source: &str) -> Trace {
    run_version(source, Version::V3_11)
}

/// [`inspect`] with the native host, as `version` counts.
#[cfg(not(target_arch = "wasm32"))]
#[must_use]
pub fn run_version(source: &str, version: Version) -> Trace {
    inspect(source, std::sync::Arc::new(vm::native::NativeHost::default()), version)
}

/// [`inspect`] without a clock (core's tests built for wasm): the step budget still ends
/// any loop.
#[cfg(target_arch = "wasm32")]
#[must_use]
pub fn run(source: &str) -> Trace {
    run_version(source, Version::V3_11)
}

/// [`inspect`] without a clock, as `version` counts.
#[cfg(target_arch = "wasm32")]
#[must_use]
pub fn run_version(source: &str, version: Version) -> Trace {
    struct NoClock;
    impl crate::core::program::Host for NoClock {
        fn now_ms(&self) -> f64 {
            0.0
        }
        fn spawn_thread(&self, _job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
            Err("one thread".into())
        }
        fn write(&self, _chunk: crate::core::program::OutputChunk) {}
        fn stop_requested(&self) -> bool {
            false
        }
        fn sleep_ms(&self, _ms: f64) {}
    }
    inspect(source, std::sync::Arc::new(NoClock), version)
}
pub use trace::{bench_scripts, BenchScript, FrameView, HeapItem, Report, StepView, Trace, VarView, REPORT_ITEMS};

use serde::{Deserialize, Serialize};

/// An error as Python would report it, with where it happened (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyError {
    pub kind: String,
    pub message: String,
    pub line: u32,
    pub col: u32,
}

impl PyError {
    #[must_use]
    pub fn at(kind: &str, message: &str, line: u32, col: u32) -> PyError {
        PyError { kind: kind.to_owned(), message: message.to_owned(), line, col }
    }
}

impl std::fmt::Display for PyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}: {}", self.line, self.col, self.kind, self.message)
    }
}

#[cfg(test)]
mod tests;
// Native only: a clock, and threads with a chosen stack.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests_budget;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests_deep;
#[cfg(test)]
mod tests_programs;
