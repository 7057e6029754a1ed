//! A small Python subset with CPython's reference counts, stepped statement by
//! statement: the engine of the reference-count inspector.
//!
//! Counts follow CPython 3.11 (the `python3` of these machines, which produced the
//! fixtures in `tests/fixtures/refcount/`), with one deliberate difference: small ints,
//! `None`, `True` and `False` are shown immortal, as in CPython 3.12+ (PEP 683).
//! What counts: every name in a frame, every container slot, every value on the
//! evaluation stack (arguments, operands, a method's receiver), and the compiled code's
//! constant tables (a constant is held once per code object that uses it, plus once by
//! the compiler's constant cache, as CPython 3.11 measurably does).

mod interp;
mod lexer;
pub mod num;
mod parser;
mod render;
mod trace;
pub mod vm;

pub mod threads;

pub use interp::{run, run_with_stack, Limits, BROWSER_STACK, DEFAULT_STACK, LIMITS};
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
#[cfg(test)]
mod tests_budget;
#[cfg(test)]
mod tests_deep;
#[cfg(test)]
mod tests_programs;

/// The lowest native stack address seen on this thread, for measuring stack use per
/// level of nesting in tests.
#[cfg(test)]
pub(crate) mod stack_probe {
    use std::cell::Cell;

    thread_local!(static LOWEST: Cell<usize> = const { Cell::new(usize::MAX) });

    #[inline(never)]
    pub fn mark() {
        let here = 0u8;
        let addr = std::ptr::addr_of!(here) as usize;
        LOWEST.with(|l| l.set(l.get().min(addr)));
    }

    /// Bytes of stack used below `top` since the last reset.
    pub fn used_below(top: usize) -> usize {
        LOWEST.with(|l| top.saturating_sub(l.get()))
    }

    pub fn reset() {
        LOWEST.with(|l| l.set(usize::MAX));
    }
}
