//! `run_program`: a whole program on the VM, its main thread and its `threading` threads
//! driven by `core::py::threads` under the process's real GIL.

use super::compile::compile_module;
use super::parser::parse_program;
use super::vm::{Frame, Interp, ThreadState};
use crate::core::program::{
    Host, Lane, LaneKind, LaneSegment, LaneState, ProgramError, ProgramOptions, ProgramResult, Stream,
};
use crate::core::py::PyError;
use std::sync::Arc;

/// The lane id of a process's main thread.
pub const MAIN_LANE: u32 = 0;

/// A syntax error as CPython prints it (`File`, the line, a caret, the message).
fn syntax_report(source: &str, e: &PyError) -> String {
    let mut out = format!("  File \"<cell>\", line {}\n", e.line);
    if let Some(line) = source.lines().nth(e.line.saturating_sub(1) as usize) {
        let indent = line.chars().take_while(|c| c.is_whitespace()).count();
        let stripped = line.trim();
        if !stripped.is_empty() {
            out.push_str(&format!("    {stripped}\n"));
            let col = (e.col as usize).saturating_sub(1).saturating_sub(indent);
            out.push_str(&format!("    {}^\n", " ".repeat(col)));
        }
    }
    out.push_str(&format!("{}: {}\n", e.kind, e.message));
    out
}

/// An interpreter and its main thread, ready to run `source`'s module code.
///
/// # Errors
/// The program's `SyntaxError` (or other compile-time error).
#[allow(clippy::result_large_err)] // Once per program: the interpreter comes back to print the error.
pub fn prepare(source: &str, host: Arc<dyn Host>, timeout_ms: f64) -> Result<(Interp, ThreadState), (Interp, PyError)> {
    prepare_with(source, host, timeout_ms, |_| {})
}

/// [`prepare`], with the interpreter adjusted before the compiler makes anything (the
/// inspector notes which objects the script made).
///
/// # Errors
/// The program's `SyntaxError` (or other compile-time error).
#[allow(clippy::result_large_err)] // As `prepare`.
pub fn prepare_with(
    source: &str,
    host: Arc<dyn Host>,
    timeout_ms: f64,
    before_compile: impl FnOnce(&mut Interp),
) -> Result<(Interp, ThreadState), (Interp, PyError)> {
    let mut interp = Interp::new(host, source, timeout_ms);
    before_compile(&mut interp);
    let body = parse_program(source).and_then(|body| {
        let mut globals = std::mem::take(&mut interp.global_names);
        let code = compile_module(&body, &mut interp.heap, &mut globals, &mut interp.codes);
        interp.global_names = globals;
        code
    });
    let code = match body {
        Ok(code) => code,
        Err(e) => return Err((interp, e)),
    };
    let mut ts = ThreadState::for_thread(MAIN_LANE);
    interp.sync_globals();
    interp.serial += 1;
    ts.frames.push(Frame::top(code, interp.serial));
    Ok((interp, ts))
}

/// Runs `source` as the main program (`__name__ == "__main__"`).
pub fn run_program(source: &str, options: &ProgramOptions, host: Arc<dyn Host>) -> ProgramResult {
    run_program_with(source, options, host, super::vm::MAX_OBJECTS)
}

/// `run_program` with another object budget (tests).
pub fn run_program_with(
    source: &str,
    options: &ProgramOptions,
    host: Arc<dyn Host>,
    max_objects: usize,
) -> ProgramResult {
    run_program_tuned(source, options, host, &|interp: &mut Interp| interp.max_objects = max_objects)
}

/// `run_program` with the interpreter adjusted before it starts (tests: budgets, the
/// collector's stress mode).
pub fn run_program_tuned(
    source: &str,
    options: &ProgramOptions,
    host: Arc<dyn Host>,
    tune: &dyn Fn(&mut Interp),
) -> ProgramResult {
    let (mut interp, ts, compiled) = match prepare(source, host, options.timeout_ms) {
        Ok((interp, ts)) => (interp, ts, Ok(())),
        Err((interp, e)) => (interp, ThreadState::default(), Err(e)),
    };
    interp.switch_interval_ms = options.switch_interval_ms;
    tune(&mut interp);
    let start = interp.start_ms;
    if let Err(e) = compiled {
        interp.write(Stream::Stderr, MAIN_LANE, &syntax_report(source, &e));
        let wall_ms = interp.host.now_ms() - start;
        let segments = vec![LaneSegment { state: LaneState::Running, start_ms: 0.0, end_ms: wall_ms }];
        return ProgramResult {
            stdout: std::mem::take(&mut interp.out.text),
            output: std::mem::take(&mut interp.out.chunks),
            exit_code: 1,
            wall_ms,
            gil_switches: 0,
            lanes: vec![Lane {
                id: MAIN_LANE,
                kind: LaneKind::Main,
                name: "MainThread".into(),
                process: interp.pid,
                segments,
            }],
            error: Some(ProgramError { kind: e.kind.clone(), message: e.message.clone(), line: e.line, col: e.col }),
        };
    }
    // Every thread of the program, the main one included, runs under the real GIL
    // (core::py::threads: the driver, the lanes, the GIL's hand-overs); then CPython's
    // multiprocessing atexit hook joins the children and adds their output and lanes.
    let host = interp.host.clone();
    crate::core::py::threads::vmrun::run_threaded(interp, ts, options, host, &|interp, result| {
        super::mp::finish_program(interp, result);
    })
}
