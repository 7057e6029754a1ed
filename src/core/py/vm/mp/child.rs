//! A child process's life, as CPython's spawn start method gives it: a fresh interpreter
//! runs the program's top level with `__name__ == "__mp_main__"` (code outside the
//! `if __name__ == "__main__":` guard runs again), then its payload — a `Process`'s target
//! called with its arguments, or a pool worker's loop — all of it having crossed as
//! pickled bytes. An uncaught exception prints `Process NAME:` and its traceback, and the
//! exit code is 1.

use super::super::compile::compile_module;
use super::super::heap::{Obj, Value};
use super::super::parser::parse_program;
use super::super::vm::{program_block, run, Exit, Flow, Frame, Interp, OnReturn, ThreadState, Vm};
use super::pickle;
use crate::core::program::{Host, Lane, LaneKind, ProcessReport, ProcessStart, Stream};
use std::sync::Arc;

/// Lane ids of a process: `pid * LANES_PER_PROCESS + n` (the main program's are `0..`).
pub const LANES_PER_PROCESS: u32 = 1000;

/// The exit code of a process ended by `terminate()` (CPython's `-SIGTERM`).
pub const TERMINATED: i32 = -15;

/// How a run of Python code ended.
enum End {
    Value(Value),
    Raised(Value),
    Fatal(crate::core::program::ProgramError),
}

/// Runs the thread's frames to their end, performing blocking calls in place (a child's
/// main thread is its only thread).
fn drive(interp: &mut Interp, ts: &mut ThreadState) -> End {
    loop {
        match run(interp, ts) {
            Exit::Done(v) => return End::Value(v),
            Exit::Breaker => {}
            Exit::Block(op) => {
                let mut vm = Vm { i: interp, t: ts };
                let v = program_block(&mut vm, &op);
                ts.resume_with(v);
            }
            Exit::Exception(e) => return End::Raised(e),
            Exit::Fatal(p) => return End::Fatal(*p),
        }
    }
}

/// Calls `f(*args, **kwargs)` on a frame of its own, so that the collector runs meanwhile.
fn call(interp: &mut Interp, ts: &mut ThreadState, f: Value, args: &[Value], kw: &[(String, Value)]) -> End {
    let pos = ts.stack.len();
    ts.stack.push(f);
    ts.stack.push(Value::Null);
    ts.stack.extend_from_slice(args);
    let names: Vec<String> = kw.iter().map(|(k, _)| k.clone()).collect();
    ts.stack.extend(kw.iter().map(|(_, v)| *v));
    let mut vm = Vm { i: interp, t: ts };
    let r = vm.call_at(pos, args.len() + kw.len(), &names);
    match r {
        Ok(Some(v)) => {
            ts.stack.truncate(pos);
            End::Value(v)
        }
        Ok(None) => drive(interp, ts),
        Err(flow) => {
            ts.stack.truncate(pos);
            match flow {
                Flow::Exc(e) => End::Raised(e),
                Flow::Fatal(p) => End::Fatal(*p),
                Flow::Block(op) => {
                    // A native target that blocks (`time.sleep` as a target).
                    let mut vm = Vm { i: interp, t: ts };
                    End::Value(program_block(&mut vm, &op))
                }
                Flow::Breaker => End::Value(Value::None),
            }
        }
    }
}

/// The exit code for an uncaught exception (`SystemExit`'s own code), its report printed.
fn report_uncaught(interp: &mut Interp, ts: &mut ThreadState, e: Value, header: &str) -> i32 {
    let lane = ts.lane;
    let mut vm = Vm { i: interp, t: ts };
    if vm.exc_type_name(e) == "SystemExit" {
        let args = vm.exc_data(e).map(|d| d.args.clone()).unwrap_or_default();
        return match args.first() {
            None | Some(Value::None) => 0,
            Some(Value::Int(n)) => *n as i32,
            Some(v) => {
                let s = vm.str_of(*v).unwrap_or_default();
                vm.i.write(Stream::Stderr, lane, &format!("{s}\n"));
                1
            }
        };
    }
    let report = vm.format_exception(e);
    vm.i.write(Stream::Stderr, lane, &format!("{header}{report}"));
    1
}

fn report_fatal(interp: &mut Interp, lane: u32, p: &crate::core::program::ProgramError) -> i32 {
    if p.kind == "Stopped" {
        // Stop, or this process's `terminate()`: the parent says what happened.
        return TERMINATED;
    }
    interp.write(Stream::Stderr, lane, &format!("{}: {}\n", p.kind, p.message));
    1
}

/// Runs child process `pid` to its end on `host` (which shares the program's clock,
/// output, Stop and channels): what a process worker does with a `ProcessStart`.
#[must_use]
pub fn run_child(start: &ProcessStart, pid: u32, host: Arc<dyn Host>) -> ProcessReport {
    let mut interp = Interp::new(host.clone(), &start.source, start.options.timeout_ms);
    interp.pid = pid;
    interp.switch_interval_ms = start.options.switch_interval_ms;
    // One clock for the whole program: the child's times count from the program's start.
    interp.start_ms = start.t0_ms;
    interp.deadline_ms = start.t0_ms + start.options.timeout_ms;
    interp.mp.name.clone_from(&start.name);
    // Spawn has set the child's start method (a second `set_start_method` raises, as CPython's).
    interp.mp.method_set = true;
    let begin = host.now_ms() - start.t0_ms;
    let lane = pid * LANES_PER_PROCESS;
    let name = interp.heap.alloc(Obj::Str("__mp_main__".into()));
    interp.set_global("__name__", name);
    let mut ts = ThreadState { lane, ..ThreadState::default() };
    let exit_code = run_life(&mut interp, &mut ts, start);
    super::join_children(&interp);
    let end = host.now_ms() - start.t0_ms;
    ProcessReport {
        pid,
        exit_code,
        lanes: vec![Lane {
            id: lane,
            kind: LaneKind::Process,
            name: start.name.clone(),
            process: pid,
            segments: super::lane_segments(&interp, begin, end),
        }],
        output: std::mem::take(&mut interp.out.chunks),
        gil_switches: 0,
    }
}

fn run_life(interp: &mut Interp, ts: &mut ThreadState, start: &ProcessStart) -> i32 {
    let lane = ts.lane;
    let code = parse_program(&start.source).and_then(|body| {
        let mut globals = std::mem::take(&mut interp.global_names);
        let code = compile_module(&body, &mut interp.heap, &mut globals);
        interp.global_names = globals;
        code
    });
    let code = match code {
        Ok(code) => code,
        Err(e) => {
            interp.write(Stream::Stderr, lane, &format!("SyntaxError: {} (line {})\n", e.message, e.line));
            return 1;
        }
    };
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
    // A pool worker's payload is plain bytes: `W`, its task channel, its ready channel.
    let worker_channels = match start.payload.as_slice() {
        [b'W', rest @ ..] if rest.len() == 8 => Some((
            u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]),
            u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]),
        )),
        _ => None,
    };
    interp.mp.bootstrapping = true;
    let top = drive(interp, ts);
    interp.mp.bootstrapping = false;
    let failed = match top {
        End::Value(_) => None,
        End::Raised(e) => Some(report_uncaught(interp, ts, e, "")),
        End::Fatal(p) => Some(report_fatal(interp, lane, &p)),
    };
    if let Some((_, ready)) = worker_channels {
        // The pool waits for this word from each worker: [1] ready, [0] its top level failed
        // (said after its traceback, which comes first in the output).
        let host = interp.host.clone();
        if let Some(p) = host.processes() {
            let _ = p.channel_send(ready, vec![u8::from(failed.is_none())]);
        }
    }
    if let Some(code) = failed {
        return code;
    }
    if let Some((tasks, _)) = worker_channels {
        return worker(interp, ts, tasks);
    }
    let header = format!("Process {}:\n", start.name);
    let payload = {
        let mut vm = Vm { i: interp, t: ts };
        let bytes = start.payload.strip_prefix(b"T").unwrap_or_default();
        pickle::loads(&mut vm, bytes).map(|t| vm.tuple_items(t))
    };
    let items = match payload {
        Ok(items) => items,
        Err(Flow::Exc(e)) => return report_uncaught(interp, ts, e, &header),
        Err(Flow::Fatal(p)) => return report_fatal(interp, lane, &p),
        Err(_) => return 1,
    };
    match items.as_slice() {
        [target, args, kwargs] => {
            let (args, kw) = {
                let vm = Vm { i: interp, t: ts };
                let args = vm.tuple_items(*args);
                let kw = match kwargs {
                    Value::Obj(r) => match vm.i.heap.get(*r) {
                        Obj::Dict(d) => {
                            d.iter().map(|(k, v)| (vm.as_str(k).unwrap_or("").to_owned(), v)).collect::<Vec<_>>()
                        }
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                (args, kw)
            };
            match call(interp, ts, *target, &args, &kw) {
                End::Value(_) => 0,
                End::Raised(e) => report_uncaught(interp, ts, e, &header),
                End::Fatal(p) => report_fatal(interp, lane, &p),
            }
        }
        _ => 1,
    }
}

/// A pool worker: runs tasks from channel `tasks` until an empty message (the pool's close)
/// or its termination. A task is `[results channel: u32][index: u32][pickled (func, args,
/// kwargs)]`; its result goes back as a pickled `(index, ok, value or exception)`.
fn worker(interp: &mut Interp, ts: &mut ThreadState, tasks: u32) -> i32 {
    let host = interp.host.clone();
    let Some(procs) = host.processes() else { return 1 };
    loop {
        let t0 = host.now_ms();
        let message = procs.channel_recv(tasks, None);
        let t1 = host.now_ms();
        interp.mp.blocked.push((t0 - interp.start_ms, t1 - interp.start_ms));
        let Some(message) = message else {
            return if host.stop_requested() { TERMINATED } else { 0 };
        };
        if message.len() < 8 {
            return 0;
        }
        let results = u32::from_le_bytes([message[0], message[1], message[2], message[3]]);
        let index = u32::from_le_bytes([message[4], message[5], message[6], message[7]]);
        let task = {
            let mut vm = Vm { i: interp, t: ts };
            pickle::loads(&mut vm, &message[8..]).map(|t| vm.tuple_items(t))
        };
        let outcome = match task {
            Ok(items) if items.len() == 3 => {
                let (f, args, kwargs) = (items[0], items[1], items[2]);
                let vm = Vm { i: interp, t: ts };
                let args = vm.tuple_items(args);
                let kw = match kwargs {
                    Value::Obj(r) => match vm.i.heap.get(r) {
                        Obj::Dict(d) => {
                            d.iter().map(|(k, v)| (vm.as_str(k).unwrap_or("").to_owned(), v)).collect::<Vec<_>>()
                        }
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                call(interp, ts, f, &args, &kw)
            }
            Ok(_) => End::Raised({
                let mut vm = Vm { i: interp, t: ts };
                vm.new_exc("RuntimeError", "a task ThreadLab cannot read")
            }),
            Err(Flow::Exc(e)) => End::Raised(e),
            Err(Flow::Fatal(p)) => End::Fatal(*p),
            Err(_) => End::Value(Value::None),
        };
        let (ok, v) = match outcome {
            End::Value(v) => (true, v),
            End::Raised(e) => (false, e),
            End::Fatal(p) => return report_fatal(interp, ts.lane, &p),
        };
        let bytes = {
            let mut vm = Vm { i: interp, t: ts };
            result_bytes(&mut vm, index, ok, v)
        };
        if procs.channel_send(results, bytes).is_err() {
            return 1;
        }
    }
}

/// `(index, ok, value)` pickled; a value that cannot cross becomes the error it raised
/// (CPython's `MaybeEncodingError` says as much), and an exception that cannot either
/// becomes a `RuntimeError` with its text.
fn result_bytes(vm: &mut Vm<'_>, index: u32, ok: bool, v: Value) -> Vec<u8> {
    let idx = Value::Int(i64::from(index));
    let t = vm.i.heap.alloc(Obj::Tuple(vec![idx, Value::Bool(ok), v]));
    match pickle::dumps(vm, t) {
        Ok(b) => b,
        Err(Flow::Exc(e)) => {
            let t = vm.i.heap.alloc(Obj::Tuple(vec![idx, Value::Bool(false), e]));
            pickle::dumps(vm, t).unwrap_or_else(|_| {
                let text = vm.exc_message(e);
                let e = vm.new_exc("RuntimeError", &text);
                let t = vm.i.heap.alloc(Obj::Tuple(vec![idx, Value::Bool(false), e]));
                pickle::dumps(vm, t).unwrap_or_default()
            })
        }
        Err(_) => Vec::new(),
    }
}
