//! `concurrent.futures`' thread side (`ThreadPoolExecutor`, its `Future`, `as_completed`),
//! written in Python on the VM's own `threading` and `queue`, as CPython's is: the workers
//! are real `threading.Thread`s under the process's GIL, a future is an `Event` and its
//! outcome. The code runs once per process, at the first `import concurrent.futures`; its
//! names are in the program's globals under a `__tl_` prefix (one namespace per process),
//! and its frames are left out of tracebacks, as the corpus leaves CPython's library out.

use super::super::compile::compile_module;
use super::super::heap::{Function, Obj, Value};
use super::super::parser::parse_program;
use super::super::vm::{Vm, R};
use std::collections::HashMap;

/// The prefix of the prelude's names (and of its functions' qualified names).
pub const PREFIX: &str = "__tl_";

/// CPython 3.11's `concurrent/futures/thread.py` and `_base.py`, cut to what ThreadLab
/// runs: a worker is started per `submit` while none is idle, up to `max_workers`, named
/// `ThreadPoolExecutor-N_M`; `map` gathers its results at the call (the same values in the
/// same order: the VM has no generators yet).
const PRELUDE: &str = r#"
import threading as __tl_threading
import queue as __tl_queue
import os as __tl_os


class __tl_Future:
    def __init__(self):
        self._event = __tl_threading.Event()
        self._lock = __tl_threading.Lock()
        self._ok = None
        self._value = None
        self._waiters = []

    def done(self):
        return self._event.is_set()

    def running(self):
        return not self._event.is_set()

    def cancelled(self):
        return False

    def cancel(self):
        return False

    def result(self, timeout=None):
        if not self._event.wait(timeout):
            raise TimeoutError()
        if self._ok:
            return self._value
        raise self._value

    def exception(self, timeout=None):
        if not self._event.wait(timeout):
            raise TimeoutError()
        if self._ok:
            return None
        return self._value

    def _set(self, ok, value):
        with self._lock:
            self._ok = ok
            self._value = value
            self._event.set()
            for q in self._waiters:
                q.put(self)


def __tl_work(q, idle):
    while True:
        item = q.get()
        if item is None:
            return
        f, fn, args, kwargs = item
        try:
            r = fn(*args, **kwargs)
        except BaseException as e:
            f._set(False, e)
        else:
            f._set(True, r)
        item = None
        f = None
        idle.release()


__tl_counter = [0]


class __tl_ThreadPoolExecutor:
    def __init__(self, max_workers=None, thread_name_prefix=""):
        if max_workers is None:
            max_workers = min(32, (__tl_os.cpu_count() or 1) + 4)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._queue = __tl_queue.Queue()
        self._idle = __tl_threading.Semaphore(0)
        self._threads = []
        self._shutdown = False
        self._lock = __tl_threading.Lock()
        if not thread_name_prefix:
            thread_name_prefix = f"ThreadPoolExecutor-{__tl_counter[0]}"
            __tl_counter[0] += 1
        self._thread_name_prefix = thread_name_prefix

    def submit(self, fn, *args, **kwargs):
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            f = __tl_Future()
            self._queue.put((f, fn, args, kwargs))
            if not self._idle.acquire(timeout=0):
                n = len(self._threads)
                if n < self._max_workers:
                    name = f"{self._thread_name_prefix}_{n}"
                    t = __tl_threading.Thread(name=name, target=__tl_work, args=(self._queue, self._idle), daemon=True)
                    t.start()
                    self._threads.append(t)
            return f

    def map(self, fn, *iterables, timeout=None):
        fs = [self.submit(fn, *args) for args in zip(*iterables)]
        return iter([f.result(timeout) for f in fs])

    def shutdown(self, wait=True, cancel_futures=False):
        with self._lock:
            if not self._shutdown:
                self._shutdown = True
                for t in self._threads:
                    self._queue.put(None)
        if wait:
            for t in self._threads:
                t.join()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown(wait=True)
        return False


def __tl_as_completed(fs, timeout=None):
    fs = list(fs)
    if fs and all(type(f) is not __tl_Future for f in fs):
        return __tl_process_as_completed(fs, timeout)
    q = __tl_queue.Queue()
    done = []
    pending = 0
    for f in fs:
        if type(f) is not __tl_Future:
            f.result(timeout)
            done.append(f)
            continue
        with f._lock:
            if f._event.is_set():
                done.append(f)
            else:
                f._waiters.append(q)
                pending += 1
    for _ in range(pending):
        try:
            done.append(q.get(timeout=timeout))
        except __tl_queue.Empty:
            raise TimeoutError(f"{len(fs) - len(done)} (of {len(fs)}) futures unfinished")
    return iter(done)
"#;

/// Runs the prelude in this process (once) and adds its objects to `attrs`, the module
/// `concurrent.futures` being made.
///
/// # Errors
/// What running it raised (`threading` missing in a build without it, …).
pub fn install(vm: &mut Vm<'_>, attrs: &mut HashMap<String, Value>) -> R<()> {
    let process_as_completed = super::native("_mp.as_completed");
    vm.i.set_global("__tl_process_as_completed", process_as_completed);
    let body = match parse_program(PRELUDE) {
        Ok(body) => body,
        Err(e) => {
            return Err(vm.exc("RuntimeError", &format!("concurrent.futures: {} (prelude line {})", e.message, e.line)))
        }
    };
    let mut globals = std::mem::take(&mut vm.i.global_names);
    let code = compile_module(&body, &mut vm.i.heap, &mut globals);
    vm.i.global_names = globals;
    let code = match code {
        Ok(code) => code,
        Err(e) => {
            return Err(vm.exc("RuntimeError", &format!("concurrent.futures: {} (prelude line {})", e.message, e.line)))
        }
    };
    vm.i.sync_globals();
    let f = vm.i.heap.alloc(Obj::Function(Function {
        code,
        defaults: Vec::new(),
        kwdefaults: Vec::new(),
        closure: Vec::new(),
        name: "<module>".into(),
        qualname: format!("{PREFIX}concurrent_futures"),
        attrs: HashMap::new(),
    }));
    vm.call_sync(f, &[], &[])?;
    for (name, global) in [
        ("ThreadPoolExecutor", "__tl_ThreadPoolExecutor"),
        ("Future", "__tl_Future"),
        ("as_completed", "__tl_as_completed"),
    ] {
        let slot = vm.i.global_names.slot(global) as usize;
        let v = vm.i.globals.get(slot).copied().unwrap_or(Value::None);
        if let Value::Obj(r) = v {
            if let Obj::Class(c) = vm.i.heap.get_mut(r) {
                // As CPython names them (`type(f).__name__` is `Future`).
                name.clone_into(&mut c.name);
                name.clone_into(&mut c.qualname);
            }
        }
        attrs.insert(name.to_owned(), v);
    }
    Ok(())
}
