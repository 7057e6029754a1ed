//! The parts of `threading` written in Python (as CPython's own `threading.py` writes
//! them): `Timer`. Compiled once per process when `threading` is first imported; its
//! functions' qualnames start with `__tl_`, so their frames are left out of tracebacks
//! (CPython's show as `<stdlib>` frames, which the corpus skips).

use crate::core::py::vm::compile::compile_module;
use crate::core::py::vm::heap::{Attrs, Function, Obj, Value};
use crate::core::py::vm::parser::parse_program;
use crate::core::py::vm::vm::Vm;

const PRELUDE: &str = r"
def __tl_threading_prelude(Thread, Event):
    class Timer(Thread):
        def __init__(self, interval, function, args=None, kwargs=None):
            Thread.__init__(self)
            self.interval = interval
            self.function = function
            self.args = args if args is not None else []
            self.kwargs = kwargs if kwargs is not None else {}
            self.finished = Event()

        def cancel(self):
            self.finished.set()

        def run(self):
            self.finished.wait(self.interval)
            if not self.finished.is_set():
                self.function(*self.args, **self.kwargs)
            self.finished.set()

    return Timer
";

/// `as_completed` as CPython's `concurrent/futures/_base.py` writes it: a generator that
/// yields each future as it completes (so the loop body runs meanwhile, and a timeout
/// comes after the futures that made it), waiting with `wait(FIRST_COMPLETED)`.
/// Process futures go to the native one (`mp`), which gathers them all first.
const FUTURES_PRELUDE: &str = r"
def __tl_futures_prelude(wait, done_in_order, is_thread_future, native_as_completed, monotonic):
    def as_completed(fs, timeout=None):
        if timeout is not None:
            end_time = timeout + monotonic()
        fs = list(fs)
        if fs and not is_thread_future(fs[0]):
            yield from native_as_completed(fs, timeout)
            return
        total = len(fs)
        pending = fs
        while pending:
            finished, pending = done_in_order(pending)
            for f in finished:
                yield f
            if not pending:
                return
            if timeout is None:
                wait_timeout = None
            else:
                wait_timeout = end_time - monotonic()
                if wait_timeout < 0:
                    raise TimeoutError('%d (of %d) futures unfinished' % (len(pending), total))
            wait(pending, wait_timeout, 'FIRST_COMPLETED')

    return as_completed
";

/// Compiles `source` (one `def` of `name`) and returns what calling it with `args` returns.
pub(crate) fn from_prelude(vm: &mut Vm<'_>, source: &str, name: &str, args: &[Value]) -> Option<Value> {
    let body = parse_program(source).ok()?;
    let mut globals = std::mem::take(&mut vm.i.global_names);
    let code = compile_module(&body, &mut vm.i.heap, &mut globals, &mut vm.i.codes);
    vm.i.global_names = globals;
    let code = code.ok()?;
    vm.i.sync_globals();
    let module = vm.i.heap.alloc(Obj::Function(Function {
        code: vm.i.codes[code as usize].clone(),
        code_id: code,
        defaults: Vec::new(),
        kwdefaults: Vec::new(),
        closure: Vec::new(),
        name: "<module>".into(),
        qualname: "__tl_prelude".into(),
        attrs: Attrs::default(),
    }));
    vm.call_sync(module, &[], &[]).ok()?;
    let slot = vm.i.global_names.slot(name) as usize;
    vm.i.sync_globals();
    let make = vm.i.globals[slot];
    // Not a name of the program's own module.
    vm.i.globals[slot] = Value::Null;
    vm.call_sync(make, args, &[]).ok()
}

/// `threading.Timer` (`None` if the prelude failed, which the corpus rules out).
pub fn timer_class(vm: &mut Vm<'_>, thread: Value) -> Option<Value> {
    let event = crate::core::py::vm::mp::native("threading.Event");
    let timer = from_prelude(vm, PRELUDE, "__tl_threading_prelude", &[thread, event])?;
    if let Value::Obj(r) = timer {
        if let Obj::Class(c) = vm.i.heap.get_mut(r) {
            "Timer".clone_into(&mut c.qualname);
        }
    }
    Some(timer)
}

/// `concurrent.futures.as_completed`.
pub fn as_completed_fn(vm: &mut Vm<'_>) -> Option<Value> {
    let n = crate::core::py::vm::mp::native;
    let args = [
        n("_futures.wait"),
        n("_futures.done_in_order"),
        n("_futures.is_thread_future"),
        n("_mp.as_completed"),
        n("time.monotonic"),
    ];
    let f = from_prelude(vm, FUTURES_PRELUDE, "__tl_futures_prelude", &args)?;
    if let Value::Obj(r) = f {
        if let Obj::Function(func) = vm.i.heap.get_mut(r) {
            "as_completed".clone_into(&mut func.qualname);
        }
    }
    Some(f)
}
