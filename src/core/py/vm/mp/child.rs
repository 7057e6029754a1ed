//! A child process's life, as CPython's spawn start method gives it: a fresh interpreter
//! runs the program's top level with `__name__ == "__mp_main__"` (code outside the
//! `if __name__ == "__main__":` guard runs again), then its payload — a `Process`'s target
//! called with its arguments, or a pool worker's loop — all of it having crossed as
//! pickled bytes. An uncaught exception prints `Process NAME:` and its traceback, and the
//! exit code is 1.
//!
//! The child runs under the same threads' driver as the main program (its own GIL, its
//! threads, its lanes): its main thread's first frame is a trampoline that calls
//! `__tl_mp_child_main()` once the module's frame, pushed on top of it, has returned. That
//! function and the pool worker's loop are Python ([`BOOTSTRAP`]), as CPython's are; the
//! natives they call unpickle the payload, take a task (a wait, GIL released) and send a
//! result back.

use super::super::code::{Code, Loc};
use super::super::compile::compile_module;
use super::super::heap::{Attrs, Function, Obj, Value};
use super::super::instr::Instr;
use super::super::parser::parse_program;
use super::super::program::prepare;
use super::super::vm::{Frame, ThreadState, Vm, R};
use super::{arg, block, pickle, Then, WaitOn};
use crate::core::program::{Host, LaneKind, ProcessReport, ProcessStart, Stream};
use crate::core::py::threads::vmrun::{run_threaded_as, MainThread};
use std::sync::Arc;

/// Lane ids of a process: `pid * LANES_PER_PROCESS + n` (the main program's are `0..`).
pub const LANES_PER_PROCESS: u32 = 1000;

/// The prefix of the bootstrap's names, and of its functions' qualified names: their
/// frames are left out of tracebacks, as the corpus leaves CPython's library out.
pub const PREFIX: &str = "__tl_";

/// The exit code of a process ended by `terminate()` (CPython's `-SIGTERM`).
pub const TERMINATED: i32 = -15;

/// CPython's `multiprocessing.process.BaseProcess._bootstrap` and `pool.worker`, cut to
/// what ThreadLab runs (their frames are left out of tracebacks: `PREFIX`).
const BOOTSTRAP: &str = r#"
def __tl_mp_child_main():
    kind, a, b, c = __tl_mp_payload()
    if kind == "W":
        __tl_mp_worker(a)
        return
    try:
        if kind == "R":
            a.run()
        else:
            a(*b, **c)
    except SystemExit:
        raise
    except BaseException as e:
        __tl_mp_report(e)
        raise SystemExit(1)


def __tl_mp_worker(tasks):
    while True:
        task = __tl_mp_next_task(tasks)
        if task is None:
            return
        results, index, f, args, kwargs = task
        if f is None:
            __tl_mp_send_result(results, index, False, args)
            continue
        try:
            r = f(*args, **kwargs)
            ok = True
        except BaseException as e:
            r = e
            ok = False
        __tl_mp_send_result(results, index, ok, r)
        r = None
        task = None
"#;

/// Runs child process `pid` to its end on `host` (which shares the program's clock,
/// output, Stop and channels): what a process worker does with a `ProcessStart`.
#[must_use]
pub fn run_child(start: &ProcessStart, pid: u32, host: Arc<dyn Host>) -> ProcessReport {
    let lane = pid * LANES_PER_PROCESS;
    let (mut interp, module_ts) = match prepare(&start.source, host.clone(), start.options.timeout_ms) {
        Ok(ready) => ready,
        Err((mut interp, e)) => {
            interp.pid = pid;
            interp.write(Stream::Stderr, lane, &format!("SyntaxError: {} (line {})\n", e.message, e.line));
            return ProcessReport {
                pid,
                exit_code: 1,
                lanes: Vec::new(),
                output: std::mem::take(&mut interp.out.chunks),
                gil_switches: 0,
            };
        }
    };
    interp.pid = pid;
    interp.switch_interval_ms = start.options.switch_interval_ms;
    // One clock for the whole program: the child's times count from the program's start.
    interp.start_ms = start.t0_ms;
    interp.deadline_ms = start.t0_ms + start.options.timeout_ms;
    interp.mp.name.clone_from(&start.name);
    interp.mp.payload.clone_from(&start.payload);
    if let [b'W', rest @ ..] = start.payload.as_slice() {
        if rest.len() == 8 {
            interp.mp.worker_ready = Some(u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]));
        }
    }
    // Spawn has set the child's start method (a second `set_start_method` raises, as CPython's).
    interp.mp.method_set = true;
    interp.mp.bootstrapping = true;
    let name = interp.heap.alloc(Obj::Str("__mp_main__".into()));
    interp.set_global("__name__", name);
    let child_main = match bootstrap(&mut interp, lane) {
        Ok(f) => f,
        Err(message) => {
            interp.write(Stream::Stderr, lane, &format!("RuntimeError: {message}\n"));
            return ProcessReport { pid, exit_code: 1, lanes: Vec::new(), output: interp.out.chunks, gil_switches: 0 };
        }
    };
    let ts = with_trampoline(&mut interp, module_ts, child_main, lane);
    let options = start.options.clone();
    let main = MainThread { lane, kind: LaneKind::Process, name: "MainThread" };
    let mut result = run_threaded_as(interp, ts, &options, host.clone(), &main, &|interp, _| {
        if let Some(ready) = interp.mp.worker_ready.filter(|_| !interp.mp.ready_sent) {
            // A pool worker whose top level failed (its traceback is out): the pool must know.
            if let Some(p) = interp.host.processes() {
                let _ = p.channel_send(ready, vec![0]);
            }
        }
        super::join_children(interp);
    });
    let mut exit_code = result.exit_code;
    if host.stop_requested() {
        // `terminate()` (or Stop): the process says nothing of it (threads::vmrun writes no
        // "Stopped:" line for a child), the parent does.
        exit_code = TERMINATED;
    }
    for l in &mut result.lanes {
        if l.id == lane {
            // Its main thread's lane is the process's, named as the process.
            l.name.clone_from(&start.name);
        }
    }
    ProcessReport { pid, exit_code, lanes: result.lanes, output: result.output, gil_switches: result.gil_switches }
}

/// Defines the bootstrap's functions in the child's globals; gives `__tl_mp_child_main`.
fn bootstrap(interp: &mut super::super::vm::Interp, lane: u32) -> Result<Value, String> {
    let body = parse_program(BOOTSTRAP).map_err(|e| format!("ThreadLab's bootstrap: {}", e.message))?;
    let mut globals = std::mem::take(&mut interp.global_names);
    let code = compile_module(&body, &mut interp.heap, &mut globals, &mut interp.codes);
    interp.global_names = globals;
    let code = code.map_err(|e| format!("ThreadLab's bootstrap: {}", e.message))?;
    interp.sync_globals();
    for (name, native) in [
        ("__tl_mp_payload", "_mp.child_payload"),
        ("__tl_mp_report", "_mp.child_report"),
        ("__tl_mp_next_task", "_mp.child_next_task"),
        ("__tl_mp_send_result", "_mp.child_send_result"),
    ] {
        interp.set_global(name, super::native(native));
    }
    let f = interp.heap.alloc(Obj::Function(Function {
        code: interp.codes[code as usize].clone(),
        code_id: code,
        defaults: Vec::new(),
        kwdefaults: Vec::new(),
        closure: Vec::new(),
        name: "<module>".into(),
        qualname: format!("{PREFIX}mp_bootstrap"),
        attrs: Attrs::default(),
    }));
    let mut ts = ThreadState { lane, ..ThreadState::default() };
    let mut vm = Vm { i: interp, t: &mut ts };
    vm.call_sync(f, &[], &[]).map_err(|_| "ThreadLab's bootstrap failed".to_owned())?;
    let slot = interp.global_names.slot("__tl_mp_child_main") as usize;
    interp.sync_globals();
    Ok(interp.globals.get(slot).copied().unwrap_or(Value::None))
}

/// The main thread's state: a trampoline frame that calls `child_main()` when the module's
/// frame, on top of it, returns.
fn with_trampoline(
    interp: &mut super::super::vm::Interp,
    mut module: ThreadState,
    child_main: Value,
    lane: u32,
) -> ThreadState {
    let code = Code {
        name: "<bootstrap>".into(),
        qualname: format!("{PREFIX}mp_trampoline"),
        // The module's result is pushed here: dropped, then the call.
        instrs: vec![Instr::PopTop, Instr::Call(0), Instr::ReturnValue],
        locs: vec![Loc::default(); 3],
        ..Code::default()
    };
    interp.codes.push(Arc::new(code));
    let code = (interp.codes.len() - 1) as u32;
    interp.serial += 1;
    let trampoline = Frame::top(code, interp.serial);
    let mut frames = vec![trampoline];
    for mut f in module.frames.drain(..) {
        f.base += 2;
        f.ret_to += 2;
        frames.push(f);
    }
    ThreadState { frames, stack: vec![child_main, Value::Null], lane, ..ThreadState::default() }
}

// The natives of the bootstrap.

/// `__tl_mp_payload()`: the top level has run: `("T", target, args, kwargs)` or
/// `("W", tasks channel, None, None)` (a pool worker, which says it is ready).
pub fn child_payload(vm: &mut Vm<'_>, _args: &[Value], _kw: &[(String, Value)]) -> R<Value> {
    vm.i.mp.bootstrapping = false;
    let payload = std::mem::take(&mut vm.i.mp.payload);
    if let [b'W', rest @ ..] = payload.as_slice() {
        if rest.len() == 8 {
            let tasks = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let ready = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
            vm.i.mp.ready_sent = true;
            if let Some(p) = vm.i.host.processes() {
                let _ = p.channel_send(ready, vec![1]);
            }
            let kind = vm.new_str("W".into());
            return Ok(vm.i.heap.alloc(Obj::Tuple(vec![kind, Value::Int(i64::from(tasks)), Value::None, Value::None])));
        }
    }
    let (kind, bytes) = payload.split_first().map_or((b'T', &[][..]), |(k, rest)| (*k, rest));
    let t = pickle::loads(vm, bytes)?;
    let mut items = vm.tuple_items(t);
    if kind == b'R' && items.len() == 1 {
        // A `Process` subclass's instance, whose `run` the child calls.
        items.extend([Value::None, Value::None]);
    }
    if items.len() != 3 {
        return Err(vm.exc("RuntimeError", "a process payload ThreadLab cannot read"));
    }
    let kind = vm.new_str(char::from(kind).to_string());
    items.insert(0, kind);
    Ok(vm.i.heap.alloc(Obj::Tuple(items)))
}

/// `__tl_mp_report(e)`: CPython's `_bootstrap` prints `Process NAME:` and the traceback.
pub fn child_report(vm: &mut Vm<'_>, args: &[Value], kw: &[(String, Value)]) -> R<Value> {
    let e = arg(args, kw, 0, "e").unwrap_or(Value::None);
    let report = vm.format_exception(e);
    let text = format!("Process {}:\n{report}", vm.i.mp.name);
    let lane = vm.t.lane;
    vm.i.write(Stream::Stderr, lane, &text);
    Ok(Value::None)
}

/// `__tl_mp_next_task(tasks)`: waits (GIL released) for the next task of the pool.
pub fn child_next_task(vm: &mut Vm<'_>, args: &[Value], kw: &[(String, Value)]) -> R<Value> {
    let Some(Value::Int(tasks)) = arg(args, kw, 0, "tasks") else {
        return Err(vm.exc("TypeError", "__tl_mp_next_task(tasks)"));
    };
    block(vm, None, WaitOn::Recv { chan: tasks as u32, n: 1 }, None, Then::Task)
}

/// A task as the worker's loop takes it: `(results, index, f, args, kwargs)`, `f` being
/// `None` (and `args` the exception) when it could not be unpickled; `None` at the end.
pub fn task_of(vm: &mut Vm<'_>, message: Option<&[u8]>) -> R<Value> {
    let Some(m) = message.filter(|m| m.len() >= 8) else { return Ok(Value::None) };
    let results = Value::Int(i64::from(u32::from_le_bytes([m[0], m[1], m[2], m[3]])));
    let index = Value::Int(i64::from(u32::from_le_bytes([m[4], m[5], m[6], m[7]])));
    let mut items = vec![results, index];
    match pickle::loads(vm, &m[8..]) {
        Ok(t) => items.extend(vm.tuple_items(t)),
        Err(super::super::vm::Flow::Exc(e)) => items.extend([Value::None, e, Value::None]),
        Err(f) => return Err(f),
    }
    if items.len() != 5 {
        return Ok(Value::None);
    }
    Ok(vm.i.heap.alloc(Obj::Tuple(items)))
}

/// `__tl_mp_send_result(results, index, ok, value)`.
pub fn child_send_result(vm: &mut Vm<'_>, args: &[Value], _kw: &[(String, Value)]) -> R<Value> {
    let [Value::Int(results), Value::Int(index), Value::Bool(ok), v] = args else {
        return Err(vm.exc("TypeError", "__tl_mp_send_result(results, index, ok, value)"));
    };
    let bytes = result_bytes(vm, *index as u32, *ok, *v);
    let host = vm.i.host.clone();
    if let Some(p) = host.processes() {
        let _ = p.channel_send(*results as u32, bytes);
    }
    Ok(Value::None)
}

/// `(index, ok, value)` pickled; a value that cannot cross becomes the error it raised
/// (CPython's `MaybeEncodingError` says as much), and an exception that cannot either
/// becomes a `RuntimeError` with its text.
fn result_bytes(vm: &mut Vm<'_>, index: u32, ok: bool, v: Value) -> Vec<u8> {
    let idx = Value::Int(i64::from(index));
    let t = vm.i.heap.alloc(Obj::Tuple(vec![idx, Value::Bool(ok), v]));
    match pickle::dumps(vm, t) {
        Ok(b) => b,
        Err(super::super::vm::Flow::Exc(e)) => {
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
