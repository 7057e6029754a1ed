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

/// `threading.Timer`, made from the prelude (`None` if it failed, which a test rules out).
pub fn timer_class(vm: &mut Vm<'_>, thread: Value) -> Option<Value> {
    let body = parse_program(PRELUDE).ok()?;
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
        qualname: "__tl_threading_module".into(),
        attrs: Attrs::default(),
    }));
    vm.call_sync(module, &[], &[]).ok()?;
    let slot = vm.i.global_names.slot("__tl_threading_prelude") as usize;
    vm.i.sync_globals();
    let make = vm.i.globals[slot];
    // Not a name of the program's own module.
    vm.i.globals[slot] = Value::Null;
    let event = crate::core::py::vm::mp::native("threading.Event");
    let timer = vm.call_sync(make, &[thread, event], &[]).ok()?;
    if let Value::Obj(r) = timer {
        if let Obj::Class(c) = vm.i.heap.get_mut(r) {
            "Timer".clone_into(&mut c.qualname);
        }
    }
    Some(timer)
}
