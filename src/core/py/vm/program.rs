//! `run_program`: a whole program on the VM, single-threaded for now (the main thread's
//! driver below is the model for the threads' drivers: see the top of vm.rs).

use super::compile::compile_module;
use super::parser::parse_program;
use super::vm::{program_block, run, Exit, Frame, Interp, OnReturn, ThreadState, Vm};
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
    let mut interp = Interp::new(host, source, timeout_ms);
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
    let mut ts = ThreadState { lane: MAIN_LANE, ..ThreadState::default() };
    interp.sync_globals();
    interp.serial += 1;
    ts.frames.push(Frame {
        code,
        ip: 0,
        base: 0,
        ret_to: 0,
        cells: Vec::new(),
        blocks: Vec::new(),
        ns: None,
        func: None,
        on_return: OnReturn::Push,
        serial: interp.serial,
        handling_base: 0,
    });
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
    let (mut interp, mut ts, compiled) = match prepare(source, host, options.timeout_ms) {
        Ok((interp, ts)) => (interp, ts, Ok(())),
        Err((interp, e)) => (interp, ThreadState::default(), Err(e)),
    };
    interp.switch_interval_ms = options.switch_interval_ms;
    tune(&mut interp);
    let start = interp.start_ms;
    let mut error = None;
    let mut exit_code = 0;
    match compiled {
        Err(e) => {
            interp.write(Stream::Stderr, MAIN_LANE, &syntax_report(source, &e));
            error = Some(ProgramError { kind: e.kind.clone(), message: e.message.clone(), line: e.line, col: e.col });
            exit_code = 1;
        }
        Ok(()) => loop {
            match run(&mut interp, &mut ts) {
                Exit::Done(_) => break,
                Exit::Breaker => {}
                Exit::Block(op) => {
                    let mut vm = Vm { i: &mut interp, t: &mut ts };
                    let v = program_block(&mut vm, &op);
                    ts.resume_with(v);
                }
                Exit::Exception(e) => {
                    let mut vm = Vm { i: &mut interp, t: &mut ts };
                    let kind = vm.exc_type_name(e);
                    if kind == "SystemExit" {
                        let args = vm.exc_data(e).map(|d| d.args.clone()).unwrap_or_default();
                        exit_code = match args.first() {
                            None | Some(super::heap::Value::None) => 0,
                            Some(super::heap::Value::Int(n)) => *n as i32,
                            Some(v) => {
                                let s = vm.str_of(*v).unwrap_or_default();
                                vm.i.write(Stream::Stderr, MAIN_LANE, &format!("{s}\n"));
                                1
                            }
                        };
                        break;
                    }
                    let report = vm.format_exception(e);
                    let message = vm.exc_message(e);
                    let (line, col) = vm.exc_location(e);
                    vm.i.write(Stream::Stderr, MAIN_LANE, &report);
                    error = Some(ProgramError { kind, message, line, col });
                    exit_code = 1;
                    break;
                }
                Exit::Fatal(p) => {
                    let text = format!("{}: {}\n", p.kind, p.message);
                    interp.write(Stream::Stderr, MAIN_LANE, &text);
                    error = Some(*p);
                    exit_code = 1;
                    break;
                }
            }
        },
    }
    let end = interp.host.now_ms();
    let wall_ms = end - start;
    let mut segments = Vec::new();
    let mut t = 0.0;
    for &(a, b) in &interp.io_segments {
        if a > t {
            segments.push(LaneSegment { state: LaneState::Running, start_ms: t, end_ms: a });
        }
        segments.push(LaneSegment { state: LaneState::Io, start_ms: a, end_ms: b });
        t = b;
    }
    if wall_ms > t || segments.is_empty() {
        segments.push(LaneSegment { state: LaneState::Running, start_ms: t, end_ms: wall_ms.max(t) });
    }
    ProgramResult {
        stdout: std::mem::take(&mut interp.out.text),
        output: std::mem::take(&mut interp.out.chunks),
        exit_code,
        wall_ms,
        gil_switches: 0,
        lanes: vec![Lane {
            id: MAIN_LANE,
            kind: LaneKind::Main,
            name: "MainThread".into(),
            process: interp.pid,
            segments,
        }],
        error,
    }
}
