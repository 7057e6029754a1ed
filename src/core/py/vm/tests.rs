//! The VM's native tests: constructs, errors and tracebacks against CPython's output,
//! the eval-breaker property, and hostile programs.

use super::native::NativeHost;
use super::run_program;
use crate::core::program::{ProgramOptions, ProgramResult};
use std::sync::Arc;

pub(crate) fn run_with(src: &str, timeout_ms: f64) -> ProgramResult {
    let host = Arc::new(NativeHost::default());
    let options = ProgramOptions { timeout_ms, ..ProgramOptions::default() };
    run_program(src, &options, host)
}

pub(crate) fn run(src: &str) -> ProgramResult {
    run_with(src, 20_000.0)
}

/// Runs `$PYFILE` and prints what it printed (a tool while developing).
#[test]
#[ignore = "a tool: PYFILE=prog.py cargo test --lib py::vm::tests::run_file -- --ignored --nocapture"]
fn run_file() {
    let path = std::env::var("PYFILE").expect("PYFILE");
    let src = std::fs::read_to_string(path).expect("source");
    let r = run(&src);
    print!("{}", r.stdout);
    eprintln!("exit={} error={:?}", r.exit_code, r.error);
}
