//! The loop.
//!
//! # How threads drive it (for the `threading`/`queue` modules)
//!
//! - [`Interp`] is what a process's threads share: the heap, module globals, builtins,
//!   imported modules, code objects (`Arc<Code>`, read-only), the host and the budgets. It
//!   sits behind the process's GIL (`core::gil::Gil`): only the holder touches it.
//! - [`ThreadState`] is one thread's own: its frame stack, its value stack, the exceptions
//!   it is handling. A Python call pushes a [`Frame`]; nothing recurses natively per call
//!   (except a builtin calling back into Python, `Vm::call_sync`, e.g. `sorted(key=f)`).
//! - `run(&mut Interp, &mut ThreadState) -> Exit` runs the thread's top frames until:
//!   `Exit::Done(value)` (its first frame returned), `Exit::Exception(exc)` (uncaught: the
//!   driver prints it; a thread's driver prints `Exception in thread NAME:` first),
//!   `Exit::Fatal(error)` (Stop, the wall-time or object budget: the process ends),
//!   `Exit::Breaker` (the thread was asked to let the GIL go: `Interp::drop_request` was
//!   set, and the loop stopped at an eval-breaker site; the driver releases the GIL,
//!   re-takes it, and calls `run` again), or `Exit::Block(op)`: a builtin must block
//!   (`time.sleep`, later `Lock.acquire`, `Thread.join`, `Queue.get`). The call has already
//!   consumed its arguments; the driver releases the GIL, performs `op` (waiting on the
//!   host, waking for Stop), re-takes the GIL, pushes the op's result with
//!   `ThreadState::resume_with(value)` and calls `run` again. So a blocking call never holds
//!   the GIL and never nests a native call. `program::drive` is the single-threaded driver
//!   (`time.sleep` goes through `Exit::Block(BlockOp::Sleep)`).
//! - The eval-breaker sites are CPython 3.11's (`instr::BREAKER_SITES`): `Resume`,
//!   `JumpBackward`, a backward `PopJumpIfFalse/True` when taken, and `Call*` after a call
//!   to something that is not a Python function returned. `check_eval_breaker` is called
//!   from those arms only (a test reads this file and checks it).
//! - Starting a thread: `ThreadState::for_call(callable, args, kwargs)` makes a state whose
//!   first frame calls the callable (a trampoline code object: `Call`, `ReturnValue`), to
//!   be run by `run` on the new native thread once it holds the GIL. While a thread is not
//!   running (waiting for the GIL or blocked) its `ThreadState` must be reachable from
//!   `Interp::parked` (the collector's roots); the running one is passed to `run`.
//! - A module registers its functions in `builtins::NATIVES` as `"module.name"` (a
//!   `fn(&mut Vm, &[Value], &[(String, Value)]) -> Result<Value, Flow>`) and its name in
//!   `builtins::import`'s known list; `import` builds the module object from them. Objects
//!   with native state (a lock, a thread handle) are `Obj::Native(tag, slots)`: add the tag to
//!   the list in `builtins::install` (it gets a class) and its methods as `"tag.method"`
//!   natives (self is `args[0]`); the collector marks the slots. A builtin that must wait
//!   returns `Err(Flow::Block(op))` with a new `BlockOp` variant the drivers perform.

use super::builtins::{self, Types};
use super::code::Code;
use super::compile::GlobalNames;
use super::heap::{Heap, Obj, ObjRef, Value};
use super::instr::Instr;
use crate::core::program::{outside_end, Host, Live, ProgramError, Stream};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// CPython's default `sys.getrecursionlimit()`.
pub const RECURSION_LIMIT: usize = 1000;
/// Live objects past which a program ends (after a collection).
pub const MAX_OBJECTS: usize = 2_000_000;
/// Output past which printing stops (as the inspector's).
pub const OUTPUT_LINES: usize = 10_000;
pub const OUTPUT_CHARS: usize = 1_000_000;

/// What a builtin that must wait asks the driver to do, GIL released.
#[derive(Debug)]
pub enum BlockOp {
    Sleep(f64),
    /// A `threading`/`queue` wait (`core::py::threads::vmrun` performs it).
    Wait(crate::core::py::threads::threading::Wait),
    /// A wait of `multiprocessing` or `concurrent.futures` (see `mp`'s note).
    Mp(super::mp::Wait),
}

/// Why the loop stopped (see the top of this file).
#[derive(Debug)]
pub enum Exit {
    Done(Value),
    Exception(Value),
    Fatal(Box<ProgramError>),
    Breaker,
    Block(BlockOp),
}

/// Why a step did not complete normally.
#[derive(Debug)]
pub enum Flow {
    Exc(Value),
    /// Boxed: every `R<T>` carries a `Flow`, and the loop moves them often.
    Fatal(Box<ProgramError>),
    Block(BlockOp),
    Breaker,
}

pub type R<T> = Result<T, Flow>;

#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub handler: u32,
    pub level: u32,
    pub handling: u32,
}

/// Object references, not `Value`s: 12 bytes instead of 32 keep `Frame` within the size
/// the compiler copies inline (a call's frame push was a `memmove` call, 29 % of fib(27)).
#[derive(Clone, Copy, Debug)]
pub enum OnReturn {
    Push,
    /// `__init__` returned: push the instance instead (its result must be None).
    Init(ObjRef),
    /// A class body returned its namespace: build the class (its name, a str; its bases,
    /// a tuple).
    BuildClass {
        name: ObjRef,
        bases: ObjRef,
    },
    /// A generator's frame (`gen.rs`): a yield or its end goes back to the generator.
    Gen(ObjRef),
}

#[derive(Debug)]
pub struct Frame {
    /// The code object's index in `Interp::codes` (no reference count to touch per call).
    pub code: u32,
    pub ip: usize,
    /// Where the locals start on the thread's stack.
    pub base: usize,
    /// Where the stack is cut back to on return (the callable's slot).
    pub ret_to: usize,
    /// Cells and `try` blocks: few frames have them (see `FrameExtra`).
    pub extra: Option<Box<FrameExtra>>,
    /// A class body's namespace (a dict).
    pub ns: Option<ObjRef>,
    pub func: Option<ObjRef>,
    pub on_return: OnReturn,
    pub serial: u64,
    pub handling_base: usize,
}

// A call pushes a Frame: small, it is copied inline; past 128 bytes natively (64 on wasm32)
// through a `memmove` call (29 % of fib(27) natively at 144 bytes) or a wasm `memory.copy`,
// which V8 runs out of line (python-vm.md §8.5).
const _: () = assert!(size_of::<Frame>() <= 16 * size_of::<usize>(), "Frame outgrew an inline copy");

/// The parts of a frame few frames have, boxed to keep `Frame` small: the cells of a
/// closure's variables and the `try` blocks entered.
#[derive(Debug, Default)]
pub struct FrameExtra {
    pub cells: Vec<ObjRef>,
    pub blocks: Vec<Block>,
}

impl Frame {
    #[must_use]
    pub fn cells(&self) -> &[ObjRef] {
        self.extra.as_ref().map_or(&[], |x| &x.cells)
    }

    /// The `try` blocks entered, innermost last (none allocated: empty).
    pub fn blocks_mut(&mut self) -> &mut [Block] {
        self.extra.as_mut().map_or(&mut [], |x| &mut x.blocks)
    }

    /// Inside a `try` or a `with` (a block entered).
    #[must_use]
    pub fn has_blocks(&self) -> bool {
        self.extra.as_ref().is_some_and(|x| !x.blocks.is_empty())
    }

    pub fn push_block(&mut self, b: Block) {
        self.extra.get_or_insert_with(Box::default).blocks.push(b);
    }

    pub fn pop_block(&mut self) -> Option<Block> {
        self.extra.as_mut()?.blocks.pop()
    }

    /// A function's frame with no cells, no namespace, returning its value to the caller.
    #[must_use]
    pub fn plain(
        code: u32,
        base: usize,
        ret_to: usize,
        func: Option<ObjRef>,
        serial: u64,
        handling_base: usize,
    ) -> Frame {
        Frame {
            code,
            ip: 0,
            base,
            ret_to,
            extra: None,
            ns: None,
            func,
            on_return: OnReturn::Push,
            serial,
            handling_base,
        }
    }

    /// A thread's bottom frame: `code` (an index into `Interp::codes`) from its start, its
    /// values from the bottom of the stack. `serial` is the interpreter's new serial.
    #[must_use]
    pub fn top(code: u32, serial: u64) -> Frame {
        Frame {
            code,
            ip: 0,
            base: 0,
            ret_to: 0,
            extra: None,
            ns: None,
            func: None,
            on_return: OnReturn::Push,
            serial,
            handling_base: 0,
        }
    }
}

/// The line of the program thread `ts` is on, for the page's live view: its innermost
/// frame that has one (a thread's entry frame and ThreadLab's own Python library have
/// none), at its last instruction; 0 before the first.
#[must_use]
pub fn current_line(interp: &Interp, ts: &ThreadState) -> u32 {
    ts.frames
        .iter()
        .rev()
        .map(|f| &interp.codes[f.code as usize])
        .zip(ts.frames.iter().rev())
        .filter(|(code, _)| !code.qualname.starts_with(super::mp::child::PREFIX))
        .map(|(code, f)| code.locs.get(f.ip.saturating_sub(1)).map_or(0, |l| l.line))
        .find(|line| *line > 0)
        .unwrap_or(0)
}

#[derive(Debug, Default)]
pub struct ThreadState {
    pub frames: Vec<Frame>,
    pub stack: Vec<Value>,
    /// Exceptions being handled (`except` blocks entered), innermost last.
    pub handling: Vec<Value>,
    /// The thread's lane id (`Lane::id`).
    pub lane: u32,
    /// What the blocking call the thread resumes from raises instead of returning (set
    /// by its driver with the call's result; raised where the call was).
    pub pending: Option<Flow>,
    /// Free-threaded: the loop returned (`Exit::Breaker`) for the driver to run the top
    /// frame without the lock (`free::run_local`).
    pub local: bool,
    /// Free-threaded: the loop runs the next instruction itself (the one a stretch on its
    /// own stopped at), so that every stretch makes progress.
    pub local_skip: bool,
}

/// Values a new thread's stack has room for at first (4 KB): see [`ThreadState::for_thread`].
const THREAD_STACK_RESERVE: usize = 256;

impl ThreadState {
    /// A thread's empty state, its stack allocated with room to spare, so that two threads'
    /// stacks, where they write their locals all the time, never share a cache line in wasm's
    /// single-arena allocator. A precaution: it was not what kept free-threaded threads from
    /// running in parallel in Chromium (docs/python-vm.md §4.1 says what was).
    #[must_use]
    pub fn for_thread(lane: u32) -> ThreadState {
        ThreadState { lane, stack: Vec::with_capacity(THREAD_STACK_RESERVE), ..ThreadState::default() }
    }

    /// Pushes the result of the blocking operation the thread waited for.
    pub fn resume_with(&mut self, v: Value) {
        self.stack.push(v);
    }

    /// A new thread's state whose first frame calls `callable(*args, **kwargs)` (the
    /// body of a `threading.Thread`): `run` on it returns `Exit::Done(result)` when the
    /// call returns, or `Exit::Exception` with what it raised.
    pub fn for_call(
        interp: &mut Interp,
        lane: u32,
        callable: Value,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> ThreadState {
        let n = (args.len() + kwargs.len()) as u32;
        let mut code = Code { name: "<thread>".into(), qualname: "<thread>".into(), ..Code::default() };
        if kwargs.is_empty() {
            code.instrs.push(Instr::Call(n));
        } else {
            let names: Vec<Value> = kwargs.iter().map(|(k, _)| interp.heap.alloc(Obj::Str(k.clone()))).collect();
            code.consts.push(interp.heap.alloc(Obj::Tuple(names)));
            code.instrs.push(Instr::CallKw(n, 0));
        }
        code.instrs.push(Instr::ReturnValue);
        code.locs = vec![super::code::Loc::default(); 2];
        interp.codes.push(Arc::new(code));
        let code = (interp.codes.len() - 1) as u32;
        let mut stack = Vec::with_capacity(THREAD_STACK_RESERVE);
        stack.extend([callable, Value::Null]);
        stack.extend_from_slice(args);
        stack.extend(kwargs.iter().map(|(_, v)| *v));
        interp.serial += 1;
        let frame = Frame::top(code, interp.serial);
        ThreadState { frames: vec![frame], stack, lane, ..ThreadState::default() }
    }
}

/// Output collected while the host is written to.
#[derive(Debug, Default)]
pub struct Output {
    pub chunks: Vec<crate::core::program::OutputChunk>,
    pub text: String,
    pub lines: usize,
    pub stopped: bool,
}

pub struct Interp {
    pub heap: Heap,
    /// Every code object of the process (made by the compiler, never freed).
    pub codes: Vec<Arc<Code>>,
    pub globals: Vec<Value>,
    pub global_names: GlobalNames,
    pub builtin_cache: Vec<Value>,
    pub builtins: HashMap<String, Value>,
    pub types: Types,
    pub modules: HashMap<String, Value>,
    pub host: Arc<dyn Host>,
    pub start_ms: f64,
    pub deadline_ms: f64,
    pub timeout_ms: f64,
    pub switch_interval_ms: f64,
    pub ticks: u32,
    pub out: Output,
    pub source_lines: Vec<String>,
    pub recursion_limit: usize,
    /// Native calls into Python in progress (`call_sync`): no collection meanwhile.
    pub nested: u32,
    pub parked: Vec<ThreadState>,
    pub serial: u64,
    pub drop_request: Arc<AtomicBool>,
    pub pid: u32,
    pub max_objects: usize,
    /// Items past which a dict or a set does not grow (`MemoryError`; tests lower it).
    pub max_items: usize,
    /// Dropped generators found by a collection, to close (`gen.rs`; roots until then).
    pub to_close: Vec<ObjRef>,
    /// The `nested` level at which every live value is in the roots: 0, or one more
    /// while a dropped generator is being closed from such a point (`gen.rs`).
    pub close_nested: u32,
    /// Time spent blocked (sleeping) by the main thread: the lane's Io segments.
    pub io_segments: Vec<(f64, f64)>,
    /// The process whose GIL guards this interpreter (its threads, for `threading`).
    pub process: std::sync::Weak<crate::core::py::threads::Process<Interp>>,
    /// `ThreadPoolExecutor`s made so far (they are numbered, as CPython's).
    pub executors: u32,
    /// This process's `multiprocessing` state.
    pub mp: super::mp::MpState,
    /// `gc.isenabled()`.
    pub gc_enabled: bool,
    /// Containers being compared inside one another (CPython counts them as recursion).
    pub cmp_depth: u32,
    /// The reference-count inspector's recorder: steps are recorded, on the slow loop only.
    pub inspect: Option<Box<super::inspect::Recorder>>,
    /// Free-threaded (`gil: false`): the state its threads share (`free.rs`).
    pub free: Option<Arc<super::free::Free>>,
}

impl Interp {
    #[must_use]
    pub fn new(host: Arc<dyn Host>, source: &str, timeout_ms: f64) -> Interp {
        let start_ms = host.now_ms();
        let mut interp = Interp {
            heap: Heap::default(),
            codes: Vec::new(),
            globals: Vec::new(),
            global_names: GlobalNames::default(),
            builtin_cache: Vec::new(),
            builtins: HashMap::new(),
            types: Types::default(),
            modules: HashMap::new(),
            host,
            start_ms,
            deadline_ms: start_ms + timeout_ms,
            timeout_ms,
            switch_interval_ms: crate::core::gil::DEFAULT_SWITCH_INTERVAL_MS,
            ticks: 0,
            out: Output::default(),
            source_lines: source.lines().map(str::to_owned).collect(),
            recursion_limit: RECURSION_LIMIT,
            nested: 0,
            parked: Vec::new(),
            serial: 0,
            drop_request: Arc::new(AtomicBool::new(false)),
            pid: 1,
            max_objects: MAX_OBJECTS,
            max_items: super::ops::MAX_SEQ,
            to_close: Vec::new(),
            close_nested: 0,
            io_segments: Vec::new(),
            process: std::sync::Weak::new(),
            executors: 0,
            mp: super::mp::MpState::default(),
            gc_enabled: true,
            cmp_depth: 0,
            inspect: None,
            free: None,
        };
        // A program that can see unreachable cycles (`gc.collect()`'s number, the counts
        // they hold) keeps them as CPython does until they are collected; others free
        // them at once.
        if source.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "gc" || w == "getrefcount") {
            interp.heap.keep_cycles = builtins::KEEP_CYCLES;
        }
        builtins::install(&mut interp);
        interp
    }

    pub fn set_global(&mut self, name: &str, v: Value) {
        let slot = self.global_names.slot(name) as usize;
        self.sync_globals();
        self.globals[slot] = v;
    }

    pub fn sync_globals(&mut self) {
        let n = self.global_names.names.len();
        self.globals.resize(n, Value::Null);
        self.builtin_cache.resize(n, Value::Null);
    }

    /// Writes program output (capped), to the host and the collected result.
    pub fn write(&mut self, stream: Stream, lane: u32, text: &str) {
        if self.out.stopped {
            return;
        }
        let mut text = text.to_owned();
        let room = OUTPUT_CHARS.saturating_sub(self.out.text.len());
        let mut cut = false;
        if text.len() > room {
            let mut end = room;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            cut = true;
        }
        self.out.lines += text.matches('\n').count();
        if self.out.lines >= OUTPUT_LINES {
            cut = true;
        }
        if cut {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!(
                "[ThreadLab stopped printing here: output is limited to {OUTPUT_LINES} lines or {OUTPUT_CHARS} characters; the program went on]\n"
            ));
            self.out.stopped = true;
        }
        let chunk = crate::core::program::OutputChunk {
            stream,
            pid: self.pid,
            lane,
            text: text.clone(),
            t_ms: self.host.now_ms() - self.start_ms,
        };
        self.host.write(chunk.clone());
        self.out.text.push_str(&text);
        self.out.chunks.push(chunk);
    }
}

/// The loop's view: the shared interpreter and the running thread.
pub struct Vm<'a> {
    pub i: &'a mut Interp,
    pub t: &'a mut ThreadState,
}

/// Runs the thread until it finishes, blocks, is asked to drop the GIL, or fails.
pub fn run(interp: &mut Interp, ts: &mut ThreadState) -> Exit {
    let mut vm = Vm { i: interp, t: ts };
    vm.run_frames(0)
}

/// Resumes a thread whose blocking call failed (`queue.Empty` after a timeout, a broken
/// barrier): raises `exc` where the call was, then runs on as [`run`].
pub fn run_raising(interp: &mut Interp, ts: &mut ThreadState, exc: Value) -> Exit {
    let mut vm = Vm { i: interp, t: ts };
    match vm.unwind(exc, 0) {
        Ok(()) => vm.run_frames(0),
        Err(exit) => exit,
    }
}

macro_rules! pop {
    ($s:expr) => {
        $s.t.stack.pop().unwrap_or(Value::Null)
    };
}

impl Vm<'_> {
    fn top(&self) -> Value {
        *self.t.stack.last().unwrap_or(&Value::Null)
    }

    /// The wall-time budget, Stop, the collector and the GIL's drop request: called from
    /// the eval-breaker arms only (see the top of this file).
    /// `site` is the index of the instruction checking (for the line a budget names).
    #[inline]
    fn check_eval_breaker(&mut self, site: usize) -> R<()> {
        let quiet = super::fast::breaker_quiet(self.i.ticks, &self.i.heap, &self.i.drop_request);
        self.i.ticks = self.i.ticks.wrapping_add(1);
        if !quiet {
            return self.eval_breaker_slow(site);
        }
        Ok(())
    }

    #[inline(never)]
    fn eval_breaker_slow(&mut self, site: usize) -> R<()> {
        if self.i.ticks & 0x3ff == 0 {
            // The loop keeps the innermost frame's ip to itself: the site says where it is.
            let line =
                self.t.frames.last().map_or(0, |f| self.i.codes[f.code as usize].locs.get(site).map_or(0, |l| l.line));
            let line = if line > 0 { line } else { current_line(self.i, self.t) };
            self.i.host.show(self.t.lane, Live::Line(line));
            if self.i.host.stop_requested() || self.i.host.now_ms() > self.i.deadline_ms {
                let (kind, message) = outside_end(&*self.i.host, self.i.timeout_ms);
                return Err(self.fatal_at(site, kind, message));
            }
        }
        if self.i.heap.since_gc > self.i.heap.gc_threshold && self.i.nested == 0 {
            self.collect();
            self.close_dropped(&[])?;
            if self.i.heap.live > self.i.max_objects {
                return Err(self.fatal_at(
                    site,
                    "MemoryError",
                    format!("the program holds more than {} objects (ThreadLab's object budget)", self.i.max_objects),
                ));
            }
        }
        if self.i.drop_request.load(Ordering::Relaxed) && self.i.nested == 0 {
            return Err(Flow::Breaker);
        }
        // Now and then (every 16,384 sites) the loop returns to its driver, which calls it
        // again at once: V8 replaces a wasm function's baseline code by its optimised code
        // only for new calls (there is no on-stack replacement for wasm), and without this
        // the loop is one call for a thread's whole life, so a program's main thread, which
        // starts first, ran in baseline code to its end while the threads and processes
        // started later ran optimised (py_parallel.py: one call of work() took ~20 ms on the
        // main thread and ~11 ms in a Pool worker).
        if self.i.ticks & 0x3fff == 0 && self.i.nested == 0 {
            return Err(Flow::Breaker);
        }
        Ok(())
    }

    /// `MemoryError` for a list grown past [`super::ops::MAX_SEQ`] items one at a time (a
    /// comprehension over `range(10**9)` would otherwise take the process's memory, and in
    /// the browser a failed allocation is a crash of the whole process).
    pub fn seq_budget(&mut self) -> Flow {
        self.exc(
            "MemoryError",
            &format!("a sequence of more than {} items is past ThreadLab's memory budget", super::ops::MAX_SEQ),
        )
    }

    /// `MemoryError` for a dict or a set grown past `Interp::max_items` (as lists are by
    /// [`Vm::seq_budget`]: a comprehension over `range(10**9)` into a dict or a set would
    /// take the process's memory, and in the browser a failed allocation ends the process).
    pub fn items_budget(&mut self, what: &str) -> Flow {
        let msg = format!("a {what} of more than {} items is past ThreadLab's memory budget", self.i.max_items);
        self.exc("MemoryError", &msg)
    }

    #[must_use]
    pub fn fatal(&self, kind: &str, message: String) -> Flow {
        let site = self.t.frames.last().map_or(0, |f| f.ip.saturating_sub(1));
        self.fatal_at(site, kind, message)
    }

    fn fatal_at(&self, site: usize, kind: &str, message: String) -> Flow {
        let (line, col) = self.t.frames.last().map_or((0, 0), |f| {
            let loc = self.i.codes[f.code as usize].locs.get(site).copied().unwrap_or_default();
            (loc.line, loc.col + 1)
        });
        let message = if line > 0 { format!("{message} (at line {line})") } else { message };
        Flow::Fatal(Box::new(ProgramError { kind: kind.to_owned(), message, line, col }))
    }

    /// `from m import name` where `m` has no attribute `name`: the submodule `m.name`
    /// (imported now, as CPython's `from pkg import sub`), or `ImportError`.
    fn import_submodule(&mut self, m: Value, name: &str) -> R<Value> {
        let mname = self.module_name(m);
        let full = format!("{mname}.{name}");
        if builtins::missing_submodule(&full) {
            let msg = format!("cannot import name '{name}' from '{mname}' (ThreadLab's VM does not have {full} yet)");
            return Err(self.exc("ImportError", &msg));
        }
        match builtins::import(self, &full) {
            Err(Flow::Exc(_)) => {
                Err(self.exc("ImportError", &format!("cannot import name '{name}' from '{mname}' (unknown location)")))
            }
            r => r,
        }
    }

    /// Collects garbage; the roots are every value a thread or the interpreter holds.
    /// Generators it finds dropped inside a `try` or a `with` are kept and closed
    /// (`close_dropped`), as CPython's collector finalizes them.
    pub fn collect(&mut self) {
        let doomed = self.world_stopped(|vm| {
            let roots = vm.roots();
            vm.i.heap.collect(&roots)
        });
        self.i.to_close.extend(doomed);
    }

    /// Runs `f` with every other thread's values in reach: free-threaded, once no thread
    /// runs on its own (`free::Free::stop_world`); with the GIL, at once (they are parked).
    fn world_stopped<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let Some(free) = self.i.free.clone() else { return f(self) };
        let n = free.stop_world(&mut self.i.parked);
        let out = f(self);
        free.start_world(&mut self.i.parked, n);
        out
    }

    /// Every value a thread or the interpreter holds outside the heap (the collector's
    /// roots), with the dropped generators waiting to be closed (`gen.rs`) and an
    /// exception about to be raised.
    #[must_use]
    pub fn roots(&self) -> Vec<Value> {
        let mut roots = self.held_outside_heap(true);
        roots.extend(self.i.builtin_cache.iter().copied());
        roots.extend(self.i.types.all());
        roots.extend(self.i.to_close.iter().map(|g| Value::Obj(*g)));
        if let Some(Flow::Exc(e)) = &self.t.pending {
            roots.push(*e);
        }
        roots
    }

    /// The references a reference-counting Python holds outside its objects, one per slot:
    /// the threads' stacks (locals are there, and a called function's slot), the exceptions
    /// being handled, frames' cells and namespaces, the module's globals, `sys.modules`,
    /// each code object's constants and the compiler's constant cache. `all_funcs`: also a
    /// frame's function where its callable's slot still holds it (the collector's view;
    /// the census counts that slot instead).
    pub(crate) fn held_outside_heap(&self, all_funcs: bool) -> Vec<Value> {
        let mut roots = self.held_by_threads(all_funcs);
        roots.extend(self.i.globals.iter().copied());
        roots.extend(self.i.builtins.values().copied());
        roots.extend(self.i.modules.values().copied());
        if all_funcs {
            for code in &self.i.codes {
                roots.extend(code.consts.iter().copied());
            }
            return roots;
        }
        let version = self.i.inspect.as_ref().map_or(super::inspect::Version::V3_11, |r| r.version);
        roots.extend(self.held_by_constants(version));
        roots
    }

    /// The threads' references and the module's globals: what a step of the inspector
    /// recounts (builtins and modules are immortal there, constants kept).
    pub(crate) fn held_by_frames_and_globals(&self) -> Vec<Value> {
        let mut roots = self.held_by_threads(false);
        roots.extend(self.i.globals.iter().copied());
        roots
    }

    fn held_by_threads(&self, all_funcs: bool) -> Vec<Value> {
        let mut roots: Vec<Value> = Vec::new();
        let codes = &self.i.codes;
        let thread_roots = |t: &ThreadState, roots: &mut Vec<Value>| {
            let stack_at = roots.len();
            roots.extend(t.stack.iter().copied());
            // CPython's thread state holds the exception handled now; each one handled
            // before it is on the stack (`PUSH_EXC_INFO`'s previous), counted there.
            if all_funcs {
                roots.extend(t.handling.iter().copied());
            } else {
                roots.extend(t.handling.last().copied());
            }
            for f in &t.frames {
                // A parameter a closure captures lives in its cell (CPython's `MAKE_CELL`
                // puts the cell in the local's slot): the copy left in the slot is not one.
                for &(vi, _) in &codes[f.code as usize].cell_params {
                    if let Some(slot) = roots.get_mut(stack_at + f.base + vi as usize) {
                        *slot = Value::Null;
                    }
                }
                roots.extend(f.cells().iter().map(|c| Value::Obj(*c)));
                roots.extend(f.ns.iter().map(|c| Value::Obj(*c)));
                // A call that kept the callable's slot has its locals above it.
                if all_funcs || f.base == f.ret_to {
                    roots.extend(f.func.iter().map(|c| Value::Obj(*c)));
                }
                if let OnReturn::Init(v) | OnReturn::BuildClass { name: v, .. } = f.on_return {
                    roots.push(Value::Obj(v));
                }
                if let OnReturn::BuildClass { bases, .. } = f.on_return {
                    roots.push(Value::Obj(bases));
                }
                if all_funcs {
                    if let OnReturn::Gen(g) = f.on_return {
                        roots.push(Value::Obj(g));
                    }
                }
            }
        };
        thread_roots(self.t, &mut roots);
        for t in &self.i.parked {
            thread_roots(t, &mut roots);
        }
        roots
    }

    /// The references to constants held outside the heap, as CPython holds them: what
    /// changes only when code is compiled (the inspector keeps it between steps).
    pub(crate) fn held_by_constants(&self, version: super::inspect::Version) -> Vec<Value> {
        let mut roots = Vec::new();
        // CPython's compiler merges code objects' equal `co_consts` tuples into one (two
        // functions returning `(9, 10)` hold it once), and the parser's arena, alive while
        // a file runs, holds each constant object once more.
        let key = |v: &Value| match v {
            Value::Obj(r) => (0u8, u64::from(r.0)),
            Value::Int(n) => (1, *n as u64),
            Value::Float(f) => (2, f.to_bits()),
            Value::Bool(b) => (3, u64::from(*b)),
            Value::Native(n) => (4, u64::from(*n)),
            Value::None => (5, 0),
            Value::Ellipsis => (6, 0),
            Value::Null => (7, 0),
        };
        let mut tuples = std::collections::HashSet::new();
        let mut arena = HashMap::new();
        for code in &self.i.codes {
            if tuples.insert(code.consts.iter().map(key).collect::<Vec<_>>()) {
                roots.extend(code.consts.iter().copied());
            }
            // (Numbers too: the inspector counts them by value.) 3.14's arena holds
            // only what the source wrote (it folds constants after parsing).
            let arena_holds = if version == super::inspect::Version::V3_14 { &code.literals } else { &code.consts };
            for c in arena_holds {
                if matches!(c, Value::Obj(_) | Value::Float(_) | Value::Int(_)) {
                    arena.insert(key(c), *c);
                }
            }
        }
        roots.extend(arena.into_values());
        roots
    }

    /// The inspector's hook before instruction `ip` of code `cid` (a step is a line done).
    fn inspect_at(&mut self, cid: usize, ip: usize) -> R<()> {
        let code = &self.i.codes[cid];
        // A function's `Resume` carries its `def` line: entering is not a step of it.
        let line = match code.instrs[ip] {
            Instr::Resume => return Ok(()),
            _ => code.locs.get(ip).map_or(0, |l| l.line),
        };
        // A loop's jump back completes its line again (`while True: pass` is steps too), as
        // CPython's line events.
        let again = matches!(code.instrs[ip], Instr::JumpBackward(_));
        let Some(mut rec) = self.i.inspect.take() else { return Ok(()) };
        let depth = self.t.frames.len();
        let r = rec.at(self, depth, line, again);
        self.i.inspect = Some(rec);
        r
    }

    /// CPython's `sys.getrefcount(v)` for a heap object, its argument included: a census
    /// of the references to it (docs/python-vm.md §3).
    pub fn refcount(&mut self, target: ObjRef) -> usize {
        self.world_stopped(|vm| {
            let held = vm.held_outside_heap(false);
            let outside = held.iter().filter(|v| **v == Value::Obj(target)).count();
            let roots = vm.roots();
            outside + vm.i.heap.census(&roots, target) + 1
        })
    }

    /// The inspector's `sys.getrefcount` of a number: one object per value (`vm::inspect`).
    pub fn refcount_of_number(&mut self, v: Value) -> usize {
        let same = move |x: Value| match (x, v) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        };
        self.world_stopped(|vm| {
            let outside = vm.held_outside_heap(false).into_iter().filter(|x| same(*x)).count();
            let roots = vm.roots();
            outside + vm.i.heap.census_of(&roots, same) + 1
        })
    }

    /// `gc.collect()`'s number: the unreachable objects cycles kept (the dropped
    /// generators it found are closed, as CPython's collector finalizes them).
    ///
    /// # Errors
    /// What stops the program while a generator's `finally` runs.
    pub fn collect_cycles(&mut self) -> R<usize> {
        let free = self.i.nested == 0;
        let (n, doomed) = self.world_stopped(|vm| {
            let roots = vm.roots();
            vm.i.heap.collect_cycles(&roots, free)
        });
        self.i.to_close.extend(doomed);
        self.close_dropped(&[])?;
        Ok(n)
    }

    fn push_frame_raw(
        &mut self,
        code_id: u32,
        base: usize,
        ret_to: usize,
        func: Option<ObjRef>,
        on_return: OnReturn,
    ) -> R<()> {
        if self.t.frames.len() >= self.i.recursion_limit {
            return Err(self.exc("RecursionError", "maximum recursion depth exceeded"));
        }
        self.i.serial += 1;
        let mut cells = Vec::new();
        let (has_cells, is_class_body) = {
            let code = &self.i.codes[code_id as usize];
            (!code.cellvars.is_empty() || !code.freevars.is_empty(), code.is_class_body)
        };
        if has_cells {
            let code = self.i.codes[code_id as usize].clone();
            for _ in &code.cellvars {
                let Value::Obj(c) = self.i.heap.alloc(Obj::Cell(Value::Null)) else { unreachable!() };
                cells.push(c);
            }
            for &(vi, ci) in &code.cell_params {
                let v = self.t.stack[base + vi as usize];
                if let Obj::Cell(slot) = self.i.heap.get_mut(cells[ci as usize]) {
                    *slot = v;
                }
            }
            if let Some(f) = func {
                if let Obj::Function(func) = self.i.heap.get(f) {
                    cells.extend(func.closure.iter().copied());
                }
            }
        }
        let ns = if is_class_body {
            let Value::Obj(d) = self.i.heap.alloc(Obj::Dict(super::heap::Dict::default())) else { unreachable!() };
            Some(d)
        } else {
            None
        };
        let extra = (!cells.is_empty()).then(|| Box::new(FrameExtra { cells, blocks: Vec::new() }));
        self.t.frames.push(Frame {
            extra,
            ns,
            on_return,
            ..Frame::plain(code_id, base, ret_to, func, self.i.serial, self.t.handling.len())
        });
        Ok(())
    }

    /// Calls the callable at `stack[pos]` (self-or-null at `pos + 1`, then `nargs`
    /// arguments, the last `kwnames.len()` of them named). Returns the result of a call that
    /// completed, or `None` when a Python frame was pushed.
    pub fn call_at(&mut self, pos: usize, nargs: usize, kwnames: &[String]) -> R<Option<Value>> {
        loop {
            let callable = self.t.stack[pos];
            match callable {
                Value::Obj(r) => match self.i.heap.get(r) {
                    Obj::Bound(recv, func) => {
                        let (recv, func) = (*recv, *func);
                        if self.t.stack[pos + 1] == Value::Null {
                            self.t.stack[pos] = func;
                            self.t.stack[pos + 1] = recv;
                        } else {
                            // Already has a self: shift the arguments (rare).
                            self.t.stack.insert(pos + 2, recv);
                            self.t.stack[pos] = func;
                            return self.call_at(pos, nargs + 1, kwnames);
                        }
                        continue;
                    }
                    Obj::Function(f) => {
                        let code_id = f.code_id;
                        let code = &f.code;
                        let has_self = self.t.stack[pos + 1] != Value::Null;
                        let first = if has_self { pos + 1 } else { pos + 2 };
                        let n = nargs + usize::from(has_self);
                        let simple = kwnames.is_empty()
                            && !code.has_varargs
                            && !code.has_varkw
                            && code.kwonlycount == 0
                            && n == code.argcount as usize;
                        if simple {
                            // The arguments are already where the callee's locals go.
                            let extra = code.varnames.len() - code.argcount as usize;
                            for _ in 0..extra {
                                self.t.stack.push(Value::Null);
                            }
                            self.push_frame_raw(code_id, first, pos, Some(r), OnReturn::Push)?;
                        } else {
                            let code = code.clone();
                            let all: Vec<Value> = self.t.stack[first..].to_vec();
                            self.t.stack.truncate(pos);
                            let (posargs, kw) = split_kw(self, &all, kwnames);
                            let locals = self.bind(r, &code, &posargs, &kw)?;
                            let base = self.t.stack.len();
                            self.t.stack.extend(locals);
                            self.push_frame_raw(code_id, base, pos, Some(r), OnReturn::Push)?;
                        }
                        return Ok(None);
                    }
                    Obj::Class(_) => {
                        let t = &self.i.types;
                        let consumer = [t.list, t.tuple, t.set, t.frozenset, t.dict].contains(&r);
                        if consumer && self.drain_generators(pos, nargs, kwnames)? {
                            return Ok(None);
                        }
                        return self.call_class(r, pos, nargs, kwnames);
                    }
                    _ => {}
                },
                Value::Native(id) => {
                    if let Some(op) = super::gen::gen_op(id) {
                        if let Some(r) = self.gen_call(op, pos, kwnames)? {
                            return Ok(r);
                        }
                    } else if super::gen::is_consumer(id) && self.drain_generators(pos, nargs, kwnames)? {
                        return Ok(None);
                    }
                    let has_self = self.t.stack[pos + 1] != Value::Null;
                    let first = if has_self { pos + 1 } else { pos + 2 };
                    let f = builtins::NATIVES[id as usize].1;
                    if kwnames.is_empty() {
                        // Positional only, most calls: one copy of the arguments, no split.
                        let args: Vec<Value> = self.t.stack[first..].to_vec();
                        self.t.stack.truncate(pos);
                        return f(self, &args, &[]).map(Some);
                    }
                    let all: Vec<Value> = self.t.stack[first..].to_vec();
                    self.t.stack.truncate(pos);
                    let (posargs, kw) = split_kw(self, &all, kwnames);
                    return f(self, &posargs, &kw).map(Some);
                }
                _ => {}
            }
            let t = self.type_name(callable);
            return Err(self.exc("TypeError", &format!("'{t}' object is not callable")));
        }
    }

    fn call_class(&mut self, cls: ObjRef, pos: usize, nargs: usize, kwnames: &[String]) -> R<Option<Value>> {
        let first = if self.t.stack[pos + 1] == Value::Null { pos + 2 } else { pos + 1 };
        let all: Vec<Value> = self.t.stack[first..].to_vec();
        let _ = nargs;
        let (posargs, kw) = split_kw(self, &all, kwnames);
        let (builtin, is_exc) = {
            let Obj::Class(c) = self.i.heap.get(cls) else { unreachable!() };
            (c.builtin, self.is_subclass(cls, self.i.types.base_exception))
        };
        let init = self.class_lookup(cls, "__init__");
        let user_init = matches!(init, Some(Value::Obj(r)) if matches!(self.i.heap.get(r), Obj::Function(_)));
        let instance = if is_exc {
            builtins::new_exception(self, cls, posargs.clone())
        } else if let Some(tag) = builtin {
            if !user_init && tag != builtins::TypeTag::Object {
                self.t.stack.truncate(pos);
                return builtins::construct(self, tag, cls, &posargs, &kw).map(Some);
            }
            if tag == builtins::TypeTag::Object {
                self.i.heap.alloc(Obj::Instance(super::heap::Instance {
                    class: cls,
                    dict: super::heap::Attrs::default(),
                    exc: None,
                }))
            } else {
                return Err(self.exc(
                    "TypeError",
                    "subclassing built-in types other than object and exceptions is not supported yet",
                ));
            }
        } else {
            self.i.heap.alloc(Obj::Instance(super::heap::Instance {
                class: cls,
                dict: super::heap::Attrs::default(),
                exc: None,
            }))
        };
        // `threading.Thread(...)` (or a subclass without its own `__init__`): a native
        // `__init__` sets the instance up.
        if let Some(Value::Native(id)) = init {
            let (name, f) = builtins::NATIVES[id as usize];
            if name == "Thread.__init__" {
                self.t.stack.truncate(pos);
                let mut args = vec![instance];
                args.extend(posargs);
                f(self, &args, &kw)?;
                return Ok(Some(instance));
            }
        }
        if !user_init {
            self.t.stack.truncate(pos);
            if let Some(Value::Native(id)) = init {
                // A class of a module written in Rust (`multiprocessing.Process`): its
                // native `__init__` fills the instance, as a Python one would.
                let (name, f) = builtins::NATIVES[id as usize];
                if !is_exc && name != "object.__init__" && name != "BaseException.__init__" {
                    let mut args = vec![instance];
                    args.extend(posargs);
                    f(self, &args, &kw)?;
                    return Ok(Some(instance));
                }
            }
            if !is_exc && (!posargs.is_empty() || !kw.is_empty()) {
                let name = self.class_name(cls);
                return Err(self.exc("TypeError", &format!("{name}() takes no arguments")));
            }
            return Ok(Some(instance));
        }
        let Some(Value::Obj(init_ref)) = init else { unreachable!() };
        let Obj::Function(f) = self.i.heap.get(init_ref) else { unreachable!() };
        let (code, code_id) = (f.code.clone(), f.code_id);
        self.t.stack.truncate(pos);
        let mut args = vec![instance];
        args.extend(posargs);
        let locals = self.bind(init_ref, &code, &args, &kw)?;
        let base = self.t.stack.len();
        self.t.stack.extend(locals);
        let Value::Obj(inst) = instance else { unreachable!() };
        self.push_frame_raw(code_id, base, pos, Some(init_ref), OnReturn::Init(inst))?;
        Ok(None)
    }

    /// Binds arguments to a function's parameters: its locals, unbound ones `Null`.
    fn bind(&mut self, func: ObjRef, code: &Code, posargs: &[Value], kw: &[(String, Value)]) -> R<Vec<Value>> {
        let (defaults, kwdefaults) = match self.i.heap.get(func) {
            Obj::Function(f) => (f.defaults.clone(), f.kwdefaults.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        let name = code.qualname.clone();
        let argc = code.argcount as usize;
        let kwc = code.kwonlycount as usize;
        let mut locals = vec![Value::Null; code.varnames.len()];
        let mut extra = Vec::new();
        for (i, v) in posargs.iter().enumerate() {
            if i < argc {
                locals[i] = *v;
            } else {
                extra.push(*v);
            }
        }
        if !extra.is_empty() && !code.has_varargs {
            let given = posargs.len();
            let min = argc - defaults.len();
            let takes = if defaults.is_empty() {
                format!("{argc} positional argument{}", if argc == 1 { "" } else { "s" })
            } else {
                format!("from {min} to {argc} positional arguments")
            };
            let was = if given == 1 { "was" } else { "were" };
            return Err(self.exc("TypeError", &format!("{name}() takes {takes} but {given} {was} given")));
        }
        let mut varkw = Vec::new();
        for (k, v) in kw {
            match code.varnames[..argc + kwc].iter().position(|n| n == k) {
                Some(i) => {
                    if locals[i] != Value::Null {
                        return Err(self.exc("TypeError", &format!("{name}() got multiple values for argument '{k}'")));
                    }
                    locals[i] = *v;
                }
                None if code.has_varkw => varkw.push((k.clone(), *v)),
                None => {
                    return Err(self.exc("TypeError", &format!("{name}() got an unexpected keyword argument '{k}'")));
                }
            }
        }
        let first_default = argc - defaults.len();
        let mut missing = Vec::new();
        for i in 0..argc {
            if locals[i] == Value::Null {
                if i >= first_default {
                    locals[i] = defaults[i - first_default];
                } else {
                    missing.push(format!("'{}'", code.varnames[i]));
                }
            }
        }
        if !missing.is_empty() {
            return Err(self.exc(
                "TypeError",
                &format!(
                    "{name}() missing {} required positional argument{}: {}",
                    missing.len(),
                    if missing.len() == 1 { "" } else { "s" },
                    join_and(&missing)
                ),
            ));
        }
        for (slot, name) in locals[argc..argc + kwc].iter_mut().zip(&code.varnames[argc..argc + kwc]) {
            if *slot == Value::Null {
                match kwdefaults.iter().find(|(n, _)| n == name) {
                    Some((_, v)) => *slot = *v,
                    None => missing.push(format!("'{name}'")),
                }
            }
        }
        if !missing.is_empty() {
            return Err(self.exc(
                "TypeError",
                &format!(
                    "{name}() missing {} required keyword-only argument{}: {}",
                    missing.len(),
                    if missing.len() == 1 { "" } else { "s" },
                    join_and(&missing)
                ),
            ));
        }
        let mut next = argc + kwc;
        if code.has_varargs {
            locals[next] = self.i.heap.alloc(Obj::Tuple(extra));
            next += 1;
        }
        if code.has_varkw {
            let mut d = super::heap::Dict::default();
            for (k, v) in varkw {
                let kv = self.i.heap.alloc(Obj::Str(k.clone()));
                d.insert(super::heap::HKey::Str(k), kv, v);
            }
            locals[next] = self.i.heap.alloc(Obj::Dict(d));
        }
        Ok(locals)
    }

    /// Calls `f(args)` to completion from native code (a builtin calling back into
    /// Python): runs a nested loop until that call returns. Blocking calls inside wait in
    /// place (see the top of this file).
    pub fn call_sync(&mut self, f: Value, args: &[Value], kw: &[(String, Value)]) -> R<Value> {
        let pos = self.t.stack.len();
        self.t.stack.push(f);
        self.t.stack.push(Value::Null);
        self.t.stack.extend_from_slice(args);
        let mut names = Vec::new();
        for (k, v) in kw {
            self.t.stack.push(*v);
            names.push(k.clone());
        }
        let depth = self.t.frames.len();
        // Nested from here: the builtin calling holds values in Rust locals (even while it
        // calls another builtin), so nothing may free or close what the roots miss.
        self.i.nested += 1;
        let r = self.call_sync_at(pos, depth, args.len() + kw.len(), &names);
        self.i.nested -= 1;
        r
    }

    fn call_sync_at(&mut self, pos: usize, depth: usize, n: usize, names: &[String]) -> R<Value> {
        match self.call_at(pos, n, names) {
            Ok(Some(v)) => {
                self.t.stack.truncate(pos);
                Ok(v)
            }
            Ok(None) => {
                let r = loop {
                    match self.run_frames(depth) {
                        Exit::Done(v) => break Ok(v),
                        Exit::Exception(e) => break Err(Flow::Exc(e)),
                        Exit::Fatal(p) => break Err(Flow::Fatal(p)),
                        Exit::Breaker => {}
                        Exit::Block(op) => {
                            let v = self.nested_block(&op, "a function a builtin calls (a key=, map, __str__...)");
                            self.t.stack.push(v);
                        }
                    }
                };
                self.t.stack.truncate(pos);
                r
            }
            Err(e) => {
                self.t.stack.truncate(pos);
                Err(e)
            }
        }
    }

    /// Runs frames until the frame count falls to `stop_depth`.
    #[allow(clippy::too_many_lines)]
    pub fn run_frames(&mut self, stop_depth: usize) -> Exit {
        'frames: loop {
            if let Some(flow) = self.t.pending.take() {
                if let Some(exit) = self.handle(flow, stop_depth) {
                    return exit;
                }
                continue;
            }
            let fi = self.t.frames.len() - 1;
            let cid = self.t.frames[fi].code as usize;
            let base = self.t.frames[fi].base;
            let mut ip = self.t.frames[fi].ip;
            let flow: Flow = loop {
                // Free-threaded with other threads alive: each heap operation on its own,
                // the rest without the lock (free.rs). Alone, a thread runs as with the GIL.
                // The fast loop runs the heap operations then, and stops before the rest.
                let free = self.i.free.as_ref().is_some_and(|f| f.others.load(Ordering::Relaxed) > 0);
                if free && !std::mem::take(&mut self.t.local_skip) && super::free::wants_local(self.i, cid, ip) {
                    self.t.frames[fi].ip = ip;
                    self.t.local = true;
                    return Exit::Breaker;
                }
                if self.i.inspect.is_none() {
                    match super::fast::run(self.i, self.t, cid, base, ip, stop_depth, free) {
                        // Free-threaded, it stopped before an op the thread may run on its own.
                        Some(at) if free && at != ip => {
                            ip = at;
                            continue;
                        }
                        Some(at) => ip = at,
                        None => continue 'frames,
                    }
                } else {
                    self.t.frames[fi].ip = ip;
                    if let Err(f) = self.inspect_at(cid, ip) {
                        break f;
                    }
                }
                let instr = self.i.codes[cid].instrs[ip];
                let site = ip;
                ip += 1;
                macro_rules! tri {
                    ($e:expr) => {
                        match $e {
                            Ok(v) => v,
                            Err(f) => break f,
                        }
                    };
                }
                macro_rules! sync_ip {
                    () => {
                        self.t.frames[fi].ip = ip;
                    };
                }
                match instr {
                    Instr::Nop => {}
                    Instr::Resume => {
                        sync_ip!();
                        tri!(self.check_eval_breaker(site));
                    }
                    Instr::LoadConst(i) => self.t.stack.push(self.i.codes[cid].consts[i as usize]),
                    Instr::LoadFast(i) => {
                        let v = self.t.stack[base + i as usize];
                        if v == Value::Null {
                            sync_ip!();
                            let code = self.i.codes[cid].clone();
                            let n = &code.varnames[i as usize];
                            break self.exc(
                                "UnboundLocalError",
                                &format!("cannot access local variable '{n}' where it is not associated with a value"),
                            );
                        }
                        self.t.stack.push(v);
                    }
                    Instr::StoreFast(i) => {
                        // Here only for `x = None` (the fast loop stores the others).
                        let v = pop!(self);
                        let old = std::mem::replace(&mut self.t.stack[base + i as usize], v);
                        if self.drops_generator(&[old]) {
                            sync_ip!();
                            tri!(self.close_dropped(&[]));
                        }
                    }
                    Instr::DeleteFast(i) => {
                        let old = std::mem::replace(&mut self.t.stack[base + i as usize], Value::Null);
                        if self.drops_generator(&[old]) {
                            sync_ip!();
                            tri!(self.close_dropped(&[]));
                        }
                    }
                    Instr::LoadGlobal(slot) => {
                        let s = slot as usize;
                        let v = self.i.globals.get(s).copied().unwrap_or(Value::Null);
                        if v != Value::Null {
                            self.t.stack.push(v);
                        } else {
                            sync_ip!();
                            let v = tri!(self.load_builtin(s));
                            self.t.stack.push(v);
                        }
                    }
                    Instr::StoreGlobal(slot) => {
                        let v = pop!(self);
                        let s = slot as usize;
                        if s >= self.i.globals.len() {
                            self.i.sync_globals();
                        }
                        let old = std::mem::replace(&mut self.i.globals[s], v);
                        if self.drops_generator(&[old]) {
                            sync_ip!();
                            tri!(self.close_dropped(&[]));
                        }
                    }
                    Instr::DeleteGlobal(slot) => {
                        let s = slot as usize;
                        if self.i.globals.get(s).copied().unwrap_or(Value::Null) == Value::Null {
                            sync_ip!();
                            let n = self.i.global_names.names[s].clone();
                            break self.exc("NameError", &format!("name '{n}' is not defined"));
                        }
                        let old = std::mem::replace(&mut self.i.globals[s], Value::Null);
                        if self.drops_generator(&[old]) {
                            sync_ip!();
                            tri!(self.close_dropped(&[]));
                        }
                    }
                    Instr::LoadName(i) => {
                        let code = self.i.codes[cid].clone();
                        sync_ip!();
                        let name = &code.names[i as usize];
                        let v = tri!(self.load_name(fi, name));
                        self.t.stack.push(v);
                    }
                    Instr::StoreName(i) => {
                        let code = self.i.codes[cid].clone();
                        let v = pop!(self);
                        let name = code.names[i as usize].clone();
                        let ns = self.t.frames[fi].ns.expect("a class body's namespace");
                        tri!(self.dict_set_str(ns, &name, v));
                    }
                    Instr::DeleteName(i) => {
                        let code = self.i.codes[cid].clone();
                        let name = code.names[i as usize].clone();
                        if let Some(ns) = self.t.frames[fi].ns {
                            if let Obj::Dict(d) = self.i.heap.get_mut(ns) {
                                d.remove(&super::heap::HKey::Str(name));
                            }
                        }
                    }
                    Instr::LoadDeref(i) => {
                        let cell = self.t.frames[fi].cells()[i as usize];
                        let Obj::Cell(v) = self.i.heap.get(cell) else { unreachable!() };
                        let v = *v;
                        if v == Value::Null {
                            sync_ip!();
                            let code = self.i.codes[cid].clone();
                            let n =
                                code.cellvars.iter().chain(&code.freevars).nth(i as usize).cloned().unwrap_or_default();
                            break self.exc(
                                "NameError",
                                &format!("cannot access free variable '{n}' where it is not associated with a value in enclosing scope"),
                            );
                        }
                        self.t.stack.push(v);
                    }
                    Instr::StoreDeref(i) => {
                        let v = pop!(self);
                        let cell = self.t.frames[fi].cells()[i as usize];
                        *self.i.heap.get_mut(cell) = Obj::Cell(v);
                    }
                    Instr::LoadClosure(i) => {
                        let cell = self.t.frames[fi].cells()[i as usize];
                        self.t.stack.push(Value::Obj(cell));
                    }
                    Instr::LoadAttr(i) => {
                        let code = self.i.codes[cid].clone();
                        sync_ip!();
                        let obj = pop!(self);
                        let v = tri!(self.getattr(obj, &code.names[i as usize]));
                        self.t.stack.push(v);
                    }
                    Instr::LoadMethod(i) => {
                        let code = self.i.codes[cid].clone();
                        sync_ip!();
                        let obj = pop!(self);
                        let (f, recv) = tri!(self.load_method(obj, &code.names[i as usize]));
                        self.t.stack.push(f);
                        self.t.stack.push(recv);
                    }
                    Instr::StoreAttr(i) => {
                        let code = self.i.codes[cid].clone();
                        sync_ip!();
                        let obj = pop!(self);
                        let v = pop!(self);
                        tri!(self.setattr(obj, &code.names[i as usize], v));
                    }
                    Instr::DeleteAttr(i) => {
                        let code = self.i.codes[cid].clone();
                        sync_ip!();
                        let obj = pop!(self);
                        tri!(self.delattr(obj, &code.names[i as usize]));
                    }
                    Instr::BinarySubscr => {
                        sync_ip!();
                        let idx = pop!(self);
                        let obj = pop!(self);
                        let v = tri!(self.getitem(obj, idx));
                        self.t.stack.push(v);
                    }
                    Instr::StoreSubscr => {
                        sync_ip!();
                        let idx = pop!(self);
                        let obj = pop!(self);
                        let v = pop!(self);
                        tri!(self.setitem(obj, idx, v));
                    }
                    Instr::DeleteSubscr => {
                        sync_ip!();
                        let idx = pop!(self);
                        let obj = pop!(self);
                        tri!(self.delitem(obj, idx));
                    }
                    Instr::BuildSlice(n) => {
                        let step = if n == 3 { pop!(self) } else { Value::None };
                        let b = pop!(self);
                        let a = pop!(self);
                        let s = self.i.heap.alloc(Obj::Slice(a, b, step));
                        self.t.stack.push(s);
                    }
                    Instr::BinaryOp(op) => {
                        let b = pop!(self);
                        let a = pop!(self);
                        // Fast path: small ints.
                        if let (Value::Int(x), Value::Int(y)) = (a, b) {
                            let r = match op {
                                super::ast::BinOp::Add => x.checked_add(y),
                                super::ast::BinOp::Sub => x.checked_sub(y),
                                super::ast::BinOp::Mul => x.checked_mul(y),
                                _ => None,
                            };
                            if let Some(r) = r {
                                self.t.stack.push(Value::Int(r));
                                continue;
                            }
                        }
                        sync_ip!();
                        let v = tri!(self.binary(op, a, b, false));
                        self.t.stack.push(v);
                    }
                    Instr::InplaceOp(op) => {
                        let b = pop!(self);
                        let a = pop!(self);
                        if let (Value::Int(x), Value::Int(y), super::ast::BinOp::Add) = (a, b, op) {
                            if let Some(r) = x.checked_add(y) {
                                self.t.stack.push(Value::Int(r));
                                continue;
                            }
                        }
                        sync_ip!();
                        let v = tri!(self.binary(op, a, b, true));
                        self.t.stack.push(v);
                    }
                    Instr::UnaryNeg | Instr::UnaryPos | Instr::UnaryInvert => {
                        sync_ip!();
                        let a = pop!(self);
                        let v = tri!(self.unary(instr, a));
                        self.t.stack.push(v);
                    }
                    Instr::UnaryNot => {
                        sync_ip!();
                        let a = pop!(self);
                        let t = tri!(self.truthy(a));
                        self.t.stack.push(Value::Bool(!t));
                    }
                    Instr::CompareOp(op) => {
                        let b = pop!(self);
                        let a = pop!(self);
                        if let (Value::Int(x), Value::Int(y)) = (a, b) {
                            use super::ast::CmpOp;
                            let r = match op {
                                CmpOp::Lt => Some(x < y),
                                CmpOp::Le => Some(x <= y),
                                CmpOp::Gt => Some(x > y),
                                CmpOp::Ge => Some(x >= y),
                                CmpOp::Eq | CmpOp::Is => Some(x == y),
                                CmpOp::Ne | CmpOp::IsNot => Some(x != y),
                                _ => None,
                            };
                            if let Some(r) = r {
                                self.t.stack.push(Value::Bool(r));
                                continue;
                            }
                        }
                        sync_ip!();
                        let v = tri!(self.compare(op, a, b));
                        self.t.stack.push(v);
                    }
                    Instr::PopIter => {
                        let it = pop!(self);
                        if self.drops_generator(&[it]) {
                            sync_ip!();
                            tri!(self.close_dropped(&[]));
                        }
                    }
                    Instr::PopTop => {
                        self.t.stack.pop();
                    }
                    Instr::PushNull => self.t.stack.push(Value::Null),
                    Instr::DupTop => {
                        let v = self.top();
                        self.t.stack.push(v);
                    }
                    Instr::DupTopTwo => {
                        let n = self.t.stack.len();
                        let (a, b) = (self.t.stack[n - 2], self.t.stack[n - 1]);
                        self.t.stack.push(a);
                        self.t.stack.push(b);
                    }
                    Instr::RotTwo => {
                        let n = self.t.stack.len();
                        self.t.stack.swap(n - 1, n - 2);
                    }
                    Instr::RotThree => {
                        let v = pop!(self);
                        let n = self.t.stack.len();
                        self.t.stack.insert(n - 2, v);
                    }
                    Instr::RotFour => {
                        let v = pop!(self);
                        let n = self.t.stack.len();
                        self.t.stack.insert(n - 3, v);
                    }
                    Instr::BuildTuple(n) | Instr::BuildList(n) => {
                        let at = self.t.stack.len() - n as usize;
                        let items: Vec<Value> = self.t.stack.split_off(at);
                        let o =
                            if matches!(instr, Instr::BuildTuple(_)) { Obj::Tuple(items) } else { Obj::List(items) };
                        let v = self.i.heap.alloc(o);
                        self.t.stack.push(v);
                    }
                    Instr::BuildSet(n) => {
                        sync_ip!();
                        let at = self.t.stack.len() - n as usize;
                        let items: Vec<Value> = self.t.stack.split_off(at);
                        let v = tri!(self.new_set(&items));
                        self.t.stack.push(v);
                    }
                    Instr::BuildMap(n) => {
                        sync_ip!();
                        let at = self.t.stack.len() - 2 * n as usize;
                        let items: Vec<Value> = self.t.stack.split_off(at);
                        let d = self.i.heap.alloc(Obj::Dict(super::heap::Dict::default()));
                        let Value::Obj(dr) = d else { unreachable!() };
                        self.t.stack.push(d);
                        tri!(self.dict_set_pairs(dr, &items));
                    }
                    Instr::ListAppend(i) => {
                        let v = pop!(self);
                        let n = self.t.stack.len();
                        let Value::Obj(l) = self.t.stack[n - i as usize] else { unreachable!() };
                        if let Obj::List(items) = self.i.heap.get_mut(l) {
                            if items.len() < super::ops::MAX_SEQ {
                                items.push(v);
                            } else {
                                sync_ip!();
                                tri!(Err(self.seq_budget()));
                            }
                        }
                    }
                    Instr::SetAdd(i) => {
                        sync_ip!();
                        let v = pop!(self);
                        let n = self.t.stack.len();
                        let s = self.t.stack[n - i as usize];
                        tri!(self.set_add(s, v));
                    }
                    Instr::MapAdd(i) => {
                        sync_ip!();
                        let v = pop!(self);
                        let k = pop!(self);
                        let n = self.t.stack.len();
                        let Value::Obj(d) = self.t.stack[n - i as usize] else { unreachable!() };
                        tri!(self.dict_set(d, k, v));
                    }
                    Instr::ListExtend => {
                        sync_ip!();
                        let it = pop!(self);
                        let items = tri!(self.iterate(it));
                        let target = self.top();
                        let Value::Obj(l) = target else { unreachable!() };
                        match self.i.heap.get_mut(l) {
                            Obj::List(v) => v.extend(items),
                            Obj::Set(..) => tri!(self.set_extend(target, items)),
                            _ => {}
                        }
                    }
                    Instr::DictUpdate => {
                        sync_ip!();
                        let m = pop!(self);
                        let Value::Obj(d) = self.top() else { unreachable!() };
                        tri!(self.dict_update(d, m));
                    }
                    Instr::ListToTuple => {
                        let v = pop!(self);
                        let Value::Obj(l) = v else { unreachable!() };
                        let items = match self.i.heap.get(l) {
                            Obj::List(v) => v.clone(),
                            _ => Vec::new(),
                        };
                        let t = self.i.heap.alloc(Obj::Tuple(items));
                        self.t.stack.push(t);
                    }
                    Instr::UnpackSequence(n) => {
                        sync_ip!();
                        let seq = pop!(self);
                        let items = tri!(self.unpack_items(seq, n as usize + 1));
                        if items.len() != n as usize {
                            let msg = if items.len() > n as usize {
                                format!("too many values to unpack (expected {n})")
                            } else {
                                format!("not enough values to unpack (expected {n}, got {})", items.len())
                            };
                            break self.exc("ValueError", &msg);
                        }
                        self.t.stack.extend(items.into_iter().rev());
                    }
                    Instr::UnpackEx(before, after) => {
                        sync_ip!();
                        let seq = pop!(self);
                        let items = tri!(self.iterate(seq));
                        let (b, a) = (before as usize, after as usize);
                        if items.len() < b + a {
                            break self.exc(
                                "ValueError",
                                &format!(
                                    "not enough values to unpack (expected at least {}, got {})",
                                    b + a,
                                    items.len()
                                ),
                            );
                        }
                        let mid = items[b..items.len() - a].to_vec();
                        let mid = self.i.heap.alloc(Obj::List(mid));
                        for v in items[items.len() - a..].iter().rev() {
                            self.t.stack.push(*v);
                        }
                        self.t.stack.push(mid);
                        for v in items[..b].iter().rev() {
                            self.t.stack.push(*v);
                        }
                    }
                    Instr::GetIter => {
                        sync_ip!();
                        let v = pop!(self);
                        let it = tri!(self.get_iter(v));
                        self.t.stack.push(it);
                    }
                    Instr::ForIter(target) => {
                        let it = self.top();
                        // Fast path: a range's iterator, stepped in place.
                        if let Value::Obj(r) = it {
                            match self.i.heap.get_mut(r) {
                                Obj::Iter(super::heap::IterState::Range { cur, stop, step }) => {
                                    if (*step > 0 && *cur < *stop) || (*step < 0 && *cur > *stop) {
                                        let v = *cur;
                                        *cur += *step;
                                        self.t.stack.push(Value::Int(v));
                                    } else {
                                        self.t.stack.pop();
                                        ip = target as usize;
                                    }
                                    continue;
                                }
                                // A generator runs on this thread's frames (no nested loop).
                                Obj::Generator(_) => {
                                    sync_ip!();
                                    if tri!(self.gen_resume(r, Value::None, None, super::gen::GenMode::ForIter(target)))
                                    {
                                        continue 'frames;
                                    }
                                    self.t.stack.pop();
                                    ip = target as usize;
                                    continue;
                                }
                                _ => {}
                            }
                        }
                        sync_ip!();
                        // `enumerate(generator)`: the generator on this thread's frames too,
                        // each item numbered (a nested loop could not block or let the GIL go).
                        if let Some((e, g)) = self.enumerated_generator(it) {
                            let mode = super::gen::GenMode::ForIterEnumerate(target, e);
                            if tri!(self.gen_resume(g, Value::None, None, mode)) {
                                continue 'frames;
                            }
                            self.t.stack.pop();
                            ip = target as usize;
                            continue;
                        }
                        match tri!(self.next_of(it)) {
                            Some(v) => self.t.stack.push(v),
                            None if !self.i.heap.watched.is_empty() => {
                                // `zip(short, g())` ended: `g()` may be dropped with it.
                                self.t.stack.pop();
                                ip = target as usize;
                                sync_ip!();
                                tri!(self.close_dropped(&[]));
                            }
                            None => {
                                self.t.stack.pop();
                                ip = target as usize;
                            }
                        }
                    }
                    Instr::JumpForward(t) => ip = t as usize,
                    Instr::JumpBackward(t) => {
                        ip = t as usize;
                        sync_ip!();
                        tri!(self.check_eval_breaker(site));
                    }
                    Instr::PopJumpIfFalse(t) => {
                        let v = pop!(self);
                        let truth = match v {
                            Value::Bool(b) => b,
                            _ => {
                                sync_ip!();
                                tri!(self.truthy(v))
                            }
                        };
                        if !truth {
                            let backward = (t as usize) < ip;
                            ip = t as usize;
                            if backward {
                                sync_ip!();
                                tri!(self.check_eval_breaker(site));
                            }
                        }
                    }
                    Instr::PopJumpIfTrue(t) => {
                        let v = pop!(self);
                        sync_ip!();
                        if tri!(self.truthy(v)) {
                            let backward = (t as usize) < ip;
                            ip = t as usize;
                            if backward {
                                sync_ip!();
                                tri!(self.check_eval_breaker(site));
                            }
                        }
                    }
                    Instr::JumpIfFalseOrPop(t) | Instr::JumpIfTrueOrPop(t) => {
                        let v = self.top();
                        sync_ip!();
                        let truth = tri!(self.truthy(v));
                        if truth == matches!(instr, Instr::JumpIfTrueOrPop(_)) {
                            ip = t as usize;
                        } else {
                            self.t.stack.pop();
                        }
                    }
                    Instr::Call(n) | Instr::CallKw(n, _) => {
                        sync_ip!();
                        let pos = self.t.stack.len() - n as usize - 2;
                        let names: Vec<String> = if let Instr::CallKw(_, ci) = instr {
                            self.str_tuple(self.i.codes[cid].consts[ci as usize])
                        } else {
                            Vec::new()
                        };
                        // `any(x for x in g())`: the builtin's arguments go when it returns
                        // (a generator may have started inside a `try` meanwhile).
                        let watched = self.i.heap.watch_count;
                        let dropped = self.drops_generator(&self.t.stack[pos..]);
                        match tri!(self.call_at(pos, n as usize, &names)) {
                            Some(v) => {
                                self.t.stack.truncate(pos);
                                self.t.stack.push(v);
                                if dropped || self.i.heap.watch_count != watched {
                                    tri!(self.close_dropped(&[]));
                                }
                                tri!(self.check_eval_breaker(site));
                            }
                            None => continue 'frames,
                        }
                    }
                    Instr::CallEx => {
                        sync_ip!();
                        let kwargs = pop!(self);
                        let args = pop!(self);
                        let pos = self.t.stack.len() - 2;
                        let items = tri!(self.iterate(args));
                        let n = items.len();
                        self.t.stack.extend(items);
                        let mut names = Vec::new();
                        if let Value::Obj(d) = kwargs {
                            let pairs: Vec<(Value, Value)> = match self.i.heap.get(d) {
                                Obj::Dict(d) => d.iter().collect(),
                                _ => Vec::new(),
                            };
                            for (k, v) in pairs {
                                let Some(s) = self.as_str(k) else {
                                    break;
                                };
                                names.push(s.to_owned());
                                self.t.stack.push(v);
                            }
                        }
                        match tri!(self.call_at(pos, n + names.len(), &names)) {
                            Some(v) => {
                                self.t.stack.truncate(pos);
                                self.t.stack.push(v);
                                tri!(self.check_eval_breaker(site));
                            }
                            None => continue 'frames,
                        }
                    }
                    Instr::ReturnValue => {
                        let v = pop!(self);
                        let f = self.t.frames.pop().expect("a frame");
                        let dropped = self.drops_generator(&self.t.stack[f.ret_to..]);
                        self.t.stack.truncate(f.ret_to);
                        self.t.handling.truncate(f.handling_base);
                        let result = match f.on_return {
                            OnReturn::Push => v,
                            OnReturn::Init(inst) => {
                                if v != Value::None {
                                    let t = self.type_name(v);
                                    let e = self.exc("TypeError", &format!("__init__() should return None, not '{t}'"));
                                    match self.handle(e, stop_depth) {
                                        None => continue 'frames,
                                        Some(exit) => return exit,
                                    }
                                }
                                Value::Obj(inst)
                            }
                            OnReturn::BuildClass { name, bases } => {
                                match self.build_class(Value::Obj(name), Value::Obj(bases), v) {
                                    Ok(c) => c,
                                    Err(e) => match self.handle(e, stop_depth) {
                                        None => continue 'frames,
                                        Some(exit) => return exit,
                                    },
                                }
                            }
                            OnReturn::Gen(g) => match self.gen_returned(g, v, stop_depth) {
                                super::gen::GenEnd::Push(v) => v,
                                super::gen::GenEnd::Called(v) => {
                                    if self.t.frames.len() <= stop_depth {
                                        return Exit::Done(v);
                                    }
                                    self.t.stack.push(v);
                                    // The builtin the generator was drained for returned: CPython
                                    // checks at its CALL (the caller's).
                                    let site = self.t.frames.last().map_or(0, |f| f.ip.saturating_sub(1));
                                    if let Err(flow) = self.check_eval_breaker(site) {
                                        if let Some(exit) = self.handle(flow, stop_depth) {
                                            return exit;
                                        }
                                    }
                                    continue 'frames;
                                }
                                super::gen::GenEnd::Continue => continue 'frames,
                                super::gen::GenEnd::Exit(exit) => return exit,
                            },
                        };
                        if self.t.frames.len() <= stop_depth {
                            return Exit::Done(result);
                        }
                        self.t.stack.push(result);
                        if dropped {
                            if let Err(flow) = self.close_dropped(&[]) {
                                if let Some(exit) = self.handle(flow, stop_depth) {
                                    return exit;
                                }
                            }
                        }
                        continue 'frames;
                    }
                    Instr::MakeFunction(arg) => {
                        let idx = (arg & 0xff_ffff) as usize;
                        let flags = arg >> 24;
                        let child = self.i.codes[idx].clone();
                        let closure = if flags & 8 != 0 {
                            let t = pop!(self);
                            self.tuple_items(t)
                        } else {
                            Vec::new()
                        };
                        let kwdefaults = if flags & 2 != 0 {
                            let d = pop!(self);
                            let pairs: Vec<(Value, Value)> = match d {
                                Value::Obj(r) => match self.i.heap.get(r) {
                                    Obj::Dict(d) => d.iter().collect(),
                                    _ => Vec::new(),
                                },
                                _ => Vec::new(),
                            };
                            pairs.into_iter().map(|(k, v)| (self.as_str(k).unwrap_or("").to_owned(), v)).collect()
                        } else {
                            Vec::new()
                        };
                        let defaults = if flags & 1 != 0 {
                            let t = pop!(self);
                            self.tuple_items(t)
                        } else {
                            Vec::new()
                        };
                        let f = super::heap::Function {
                            code_id: idx as u32,
                            name: child.name.clone(),
                            qualname: child.qualname.clone(),
                            code: child,
                            defaults,
                            kwdefaults,
                            closure: closure
                                .into_iter()
                                .filter_map(|c| if let Value::Obj(r) = c { Some(r) } else { None })
                                .collect(),
                            attrs: super::heap::Attrs::default(),
                        };
                        let v = self.i.heap.alloc(Obj::Function(f));
                        self.t.stack.push(v);
                    }
                    Instr::BuildClass => {
                        sync_ip!();
                        let bases = pop!(self);
                        let name = pop!(self);
                        let func = pop!(self);
                        let (Value::Obj(fr), Value::Obj(name), Value::Obj(bases)) = (func, name, bases) else {
                            unreachable!()
                        };
                        let Obj::Function(f) = self.i.heap.get(fr) else { unreachable!() };
                        let body = f.code_id;
                        let at = self.t.stack.len();
                        tri!(self.push_frame_raw(body, at, at, Some(fr), OnReturn::BuildClass { name, bases }));
                        continue 'frames;
                    }
                    Instr::LoadLocals => {
                        let ns = self.t.frames[fi].ns.expect("a class body's namespace");
                        self.t.stack.push(Value::Obj(ns));
                    }
                    Instr::RaiseVarargs(n) => {
                        sync_ip!();
                        let e = match n {
                            0 => match self.t.handling.last() {
                                Some(e) => {
                                    let e = *e;
                                    // A bare raise keeps the traceback as it was.
                                    break Flow::Exc(e);
                                }
                                None => self.exc("RuntimeError", "No active exception to reraise"),
                            },
                            1 => {
                                let v = pop!(self);
                                self.make_exc(v, None)
                            }
                            _ => {
                                let cause = pop!(self);
                                let v = pop!(self);
                                self.make_exc(v, Some(cause))
                            }
                        };
                        break e;
                    }
                    Instr::Reraise => {
                        sync_ip!();
                        let e = pop!(self);
                        break Flow::Exc(e);
                    }
                    Instr::SetupFinally(h) => {
                        let level = self.t.stack.len() as u32;
                        let handling = self.t.handling.len() as u32;
                        self.t.frames[fi].push_block(Block { handler: h, level, handling });
                    }
                    Instr::PopBlock => {
                        self.t.frames[fi].pop_block();
                    }
                    // [exc] -> [previous exc or None, exc], as CPython 3.11 (the stack's
                    // references are what `sys.getrefcount` counts).
                    Instr::PushExcInfo => {
                        let e = pop!(self);
                        let prev = self.t.handling.last().copied().unwrap_or(Value::None);
                        self.t.stack.extend([prev, e]);
                        self.t.handling.push(e);
                    }
                    Instr::PopExcept => {
                        self.t.stack.pop();
                        let e = self.t.handling.pop().unwrap_or(Value::None);
                        if self.drops_generator(&[e]) {
                            // The locals its traceback kept are dropped with it.
                            sync_ip!();
                            tri!(self.close_dropped(&[]));
                        }
                    }
                    Instr::CheckExcMatch => {
                        sync_ip!();
                        let kind = pop!(self);
                        let e = self.top();
                        let m = tri!(self.exc_matches(e, kind));
                        self.t.stack.push(Value::Bool(m));
                    }
                    Instr::BeforeWith => {
                        sync_ip!();
                        let mgr = pop!(self);
                        let exit = tri!(self.getattr_or(mgr, "__exit__", "the context manager protocol"));
                        let enter = tri!(self.getattr_or(mgr, "__enter__", "the context manager protocol"));
                        self.t.stack.push(exit);
                        let r = tri!(self.call_sync(enter, &[], &[]));
                        self.t.stack.push(r);
                    }
                    Instr::WithExceptStart => {
                        let n = self.t.stack.len();
                        let (exit, e) = (self.t.stack[n - 3], self.t.stack[n - 1]);
                        let t = self.class_of(e);
                        self.t.stack.extend([exit, Value::Null, t, e, Value::None]);
                    }
                    Instr::FormatValue(flags) => {
                        sync_ip!();
                        let spec = if flags & 4 != 0 { pop!(self) } else { Value::Null };
                        let v = pop!(self);
                        let v = match flags & 3 {
                            1 => {
                                let s = tri!(self.str_of(v));
                                self.new_str(s)
                            }
                            2 | 3 => {
                                let s = tri!(self.repr(v));
                                self.new_str(s)
                            }
                            _ => v,
                        };
                        let spec = if spec == Value::Null {
                            String::new()
                        } else {
                            self.as_str(spec).unwrap_or("").to_owned()
                        };
                        let s = tri!(self.format(v, &spec));
                        let s = self.new_str(s);
                        self.t.stack.push(s);
                    }
                    Instr::BuildString(n) => {
                        let at = self.t.stack.len() - n as usize;
                        let parts = self.t.stack.split_off(at);
                        let mut s = String::new();
                        for p in parts {
                            s.push_str(self.as_str(p).unwrap_or(""));
                        }
                        let v = self.new_str(s);
                        self.t.stack.push(v);
                    }
                    Instr::ImportName(i) => {
                        sync_ip!();
                        let name = self.as_str(self.i.codes[cid].consts[i as usize]).unwrap_or("").to_owned();
                        let m = tri!(builtins::import(self, &name));
                        self.t.stack.push(m);
                    }
                    Instr::ImportFrom(i) => {
                        let code = self.i.codes[cid].clone();
                        sync_ip!();
                        let m = self.top();
                        let name = &code.names[i as usize];
                        let v = match self.getattr(m, name) {
                            Ok(v) => v,
                            Err(Flow::Exc(_)) => match self.import_submodule(m, name) {
                                Ok(v) => v,
                                Err(f) => break f,
                            },
                            Err(f) => break f,
                        };
                        self.t.stack.push(v);
                    }
                    Instr::ReturnGenerator => {
                        sync_ip!();
                        let g = self.gen_create();
                        if self.t.frames.len() <= stop_depth {
                            return Exit::Done(g);
                        }
                        self.t.stack.push(g);
                        continue 'frames;
                    }
                    Instr::YieldValue => {
                        let v = pop!(self);
                        sync_ip!();
                        let (g, mode) = self.gen_suspend();
                        let v = match mode {
                            super::gen::GenMode::ForIterEnumerate(_, e) => self.enumerated(e, v),
                            _ => v,
                        };
                        if let super::gen::GenMode::Drain = mode {
                            if let Err(flow) = self.gen_drained_item(g, v) {
                                if let Some(exit) = self.flow_exit(flow, stop_depth) {
                                    return exit;
                                }
                            }
                            continue 'frames;
                        }
                        if self.t.frames.len() <= stop_depth {
                            return Exit::Done(v);
                        }
                        self.t.stack.push(v);
                        if let super::gen::GenMode::Next(_) = mode {
                            // `next(g())`: the caller may have held the last reference.
                            if self.i.heap.needs_close(g) {
                                if let Err(flow) = self.close_dropped(&[]) {
                                    if let Some(exit) = self.handle(flow, stop_depth) {
                                        return exit;
                                    }
                                    continue 'frames;
                                }
                            }
                            // next()/send() returned: CPython checks at that CALL (the caller's).
                            let site = self.t.frames.last().map_or(0, |f| f.ip.saturating_sub(1));
                            if let Err(flow) = self.check_eval_breaker(site) {
                                if let Some(exit) = self.handle(flow, stop_depth) {
                                    return exit;
                                }
                            }
                        }
                        continue 'frames;
                    }
                    Instr::Send(target) => {
                        sync_ip!();
                        let v = pop!(self);
                        let it = self.top();
                        if let Value::Obj(r) = it {
                            if self.gen_state(r).is_some() {
                                if tri!(self.gen_resume(r, v, None, super::gen::GenMode::Send(target))) {
                                    continue 'frames;
                                }
                                self.t.stack.pop();
                                self.t.stack.push(Value::None);
                                ip = target as usize;
                                continue;
                            }
                        }
                        if v != Value::None {
                            let t = self.type_name(it);
                            break self.exc("AttributeError", &format!("'{t}' object has no attribute 'send'"));
                        }
                        match tri!(self.next_of(it)) {
                            Some(x) => self.t.stack.push(x),
                            None => {
                                self.t.stack.pop();
                                self.t.stack.push(Value::None);
                                ip = target as usize;
                            }
                        }
                    }
                    Instr::JumpBackwardNoInterrupt(t) => ip = t as usize,
                    Instr::LoadAssertionError => {
                        let v = self.i.builtins["AssertionError"];
                        self.t.stack.push(v);
                    }
                }
            };
            self.t.frames[fi].ip = ip;
            if let Some(exit) = self.handle(flow, stop_depth) {
                return exit;
            }
        }
    }

    /// What a failed step leads to: `None` to go on (a handler was found), or the exit.
    fn handle(&mut self, flow: Flow, stop_depth: usize) -> Option<Exit> {
        match flow {
            Flow::Exc(e) => self.unwind(e, stop_depth).err(),
            Flow::Fatal(p) => Some(Exit::Fatal(p)),
            Flow::Block(op) => Some(Exit::Block(op)),
            Flow::Breaker => Some(Exit::Breaker),
        }
    }

    fn dict_set_pairs(&mut self, d: ObjRef, items: &[Value]) -> R<()> {
        for pair in items.chunks(2) {
            self.dict_set(d, pair[0], pair[1])?;
        }
        Ok(())
    }

    fn set_extend(&mut self, s: Value, items: Vec<Value>) -> R<()> {
        for x in items {
            self.set_add(s, x)?;
        }
        Ok(())
    }

    /// Finds a handler for `e` in the frames above `stop_depth`, recording the traceback.
    pub(crate) fn unwind(&mut self, mut e: Value, stop_depth: usize) -> Result<(), Exit> {
        // A generator dropped from a frame's value stack on the way (a `for` loop's).
        let mut dropped_any = false;
        if let Some(ctx) = self.t.handling.last().copied() {
            if ctx != e {
                if let Some(data) = self.exc_data_mut(e) {
                    if data.context.is_none() && data.tb.is_empty() {
                        data.context = Some(ctx);
                    }
                }
            }
        }
        loop {
            let Some(frame) = self.t.frames.last_mut() else { return Err(Exit::Exception(e)) };
            let (code, lasti, serial) =
                (self.i.codes[frame.code as usize].clone(), frame.ip.saturating_sub(1), frame.serial);
            if let Some(data) = self.exc_data_mut(e) {
                if data.tb.last().is_none_or(|(_, _, s)| *s != serial) {
                    data.tb.push((code, lasti, serial));
                }
            }
            let frame = self.t.frames.last_mut().expect("a frame");
            if let Some(b) = frame.pop_block() {
                frame.ip = b.handler as usize;
                let dropped = self.drops_generator(&self.t.stack[(b.level as usize).min(self.t.stack.len())..]);
                self.t.stack.truncate(b.level as usize);
                self.t.handling.truncate(b.handling as usize);
                self.t.stack.push(e);
                if dropped || dropped_any {
                    // A `for` loop's generator left by the exception: closed before the
                    // handler runs, as CPython's unwinding drops it.
                    if let Err(flow) = self.close_dropped(&[]) {
                        return match flow {
                            Flow::Fatal(p) => Err(Exit::Fatal(p)),
                            _ => Ok(()),
                        };
                    }
                }
                return Ok(());
            }
            let f = self.t.frames.pop().expect("a frame");
            if self.drops_generator(&self.t.stack[f.ret_to.min(self.t.stack.len())..]) {
                // Its traceback keeps the frame's locals alive in CPython (until the
                // exception goes); its value stack is dropped now.
                let n = self.t.stack.len();
                let nlocals = self.i.codes[f.code as usize].varnames.len();
                let end = (f.base + nlocals).min(n);
                let locals: Vec<Value> = self.t.stack[f.base.min(n)..end].to_vec();
                dropped_any |= self.drops_generator(&self.t.stack[end..]);
                if let Some(d) = self.exc_data_mut(e) {
                    d.keep.extend(locals);
                }
            }
            self.t.stack.truncate(f.ret_to);
            self.t.handling.truncate(f.handling_base);
            if let OnReturn::Gen(g) = f.on_return {
                e = self.gen_raised(g, e);
            }
            if self.t.frames.len() <= stop_depth {
                if dropped_any {
                    // Closed before the traceback is printed, as CPython's unwinding does.
                    if let Err(Flow::Fatal(p)) = self.close_dropped(&[e]) {
                        return Err(Exit::Fatal(p));
                    }
                }
                return Err(Exit::Exception(e));
            }
        }
    }

    fn load_builtin(&mut self, slot: usize) -> R<Value> {
        if slot >= self.i.builtin_cache.len() {
            self.i.sync_globals();
        }
        let cached = self.i.builtin_cache[slot];
        if cached != Value::Null {
            return Ok(cached);
        }
        let name = &self.i.global_names.names[slot];
        match self.i.builtins.get(name) {
            Some(v) => {
                let v = *v;
                self.i.builtin_cache[slot] = v;
                Ok(v)
            }
            None => {
                let msg = format!("name '{name}' is not defined");
                Err(self.exc("NameError", &msg))
            }
        }
    }

    fn load_name(&mut self, fi: usize, name: &str) -> R<Value> {
        if let Some(ns) = self.t.frames[fi].ns {
            if let Obj::Dict(d) = self.i.heap.get(ns) {
                if let Some(v) = d.get(&super::heap::HKey::Str(name.to_owned())) {
                    return Ok(v);
                }
            }
        }
        if let Some(&slot) = self.i.global_names.index.get(name) {
            let v = self.i.globals.get(slot as usize).copied().unwrap_or(Value::Null);
            if v != Value::Null {
                return Ok(v);
            }
        }
        match self.i.builtins.get(name) {
            Some(v) => Ok(*v),
            None => Err(self.exc("NameError", &format!("name '{name}' is not defined"))),
        }
    }

    fn str_tuple(&self, t: Value) -> Vec<String> {
        self.tuple_items(t).into_iter().map(|v| self.as_str(v).unwrap_or("").to_owned()).collect()
    }

    #[must_use]
    pub fn tuple_items(&self, t: Value) -> Vec<Value> {
        match t {
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Tuple(v) | Obj::List(v) => v.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

fn split_kw(vm: &Vm<'_>, all: &[Value], kwnames: &[String]) -> (Vec<Value>, Vec<(String, Value)>) {
    let _ = vm;
    let npos = all.len() - kwnames.len();
    let kw = kwnames.iter().cloned().zip(all[npos..].iter().copied()).collect();
    (all[..npos].to_vec(), kw)
}

fn join_and(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        2 => format!("{} and {}", items[0], items[1]),
        n => format!("{}, and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

impl Vm<'_> {
    /// A blocking call (`op`) made inside `inside`, Python code a builtin runs in a nested
    /// loop on the Rust stack: that loop holds the GIL and cannot give the thread's stack
    /// back to its driver. A sleep or a wait on another process is done in place when no
    /// other thread of the process runs (nobody could tell); anything else raises a
    /// `RuntimeError` at the blocking call (its line in the traceback) saying what is not
    /// supported, instead of a hang (a lock held by a thread that needs the GIL) or other
    /// threads frozen for the wait. Returns the value to push as the call's result.
    pub(crate) fn nested_block(&mut self, op: &BlockOp, inside: &str) -> Value {
        let alone = self.i.process.upgrade().is_none_or(|p| p.active_count() <= 1);
        let what = match op {
            BlockOp::Sleep(_) if alone => return program_block(self, op),
            BlockOp::Mp(_) if alone => return program_block(self, op),
            BlockOp::Sleep(_) => "time.sleep() while other threads run",
            BlockOp::Mp(_) => "a wait on another process while other threads run",
            BlockOp::Wait(w) => {
                use crate::core::py::threads::threading::Wait as W;
                match w {
                    W::Start { .. } => "Thread.start(), which waits for the new thread",
                    W::StartWorkers { .. } => "an executor starting its threads",
                    W::Lock { .. } | W::RLock { .. } | W::Semaphore { .. } => "a wait on a lock",
                    W::Condition { .. } => "a wait on a condition",
                    W::Event { .. } => "a wait on an event",
                    W::Barrier { .. } => "a wait on a barrier",
                    W::QueueGet { .. } | W::QueuePut { .. } | W::QueueJoin { .. } => "a wait on a queue",
                    W::Join { .. } | W::JoinAll { .. } => "a wait for a thread",
                    W::Futures { .. } => "a wait on a future",
                }
            }
        };
        let msg = format!(
            "ThreadLab cannot block ({what}) inside {inside}: that runs it on its own stack, holding the GIL; iterate it with a for loop instead"
        );
        let e = self.exc("RuntimeError", &msg);
        self.t.pending = Some(e);
        Value::None
    }
}

/// A blocking operation performed in place (inside a nested call, the GIL held).
pub fn program_block(vm: &mut Vm<'_>, op: &BlockOp) -> Value {
    match op {
        // The threaded driver (core::py::threads::vmrun) performs these; this loop is a
        // child process's, which has no threads yet.
        BlockOp::Wait(_) => {
            let e = vm.exc("RuntimeError", "ThreadLab cannot run threading's waits in a child process yet");
            vm.t.pending = Some(e);
            Value::None
        }
        BlockOp::Sleep(s) => {
            let t0 = vm.i.host.now_ms();
            vm.i.host.sleep_ms(s * 1000.0);
            let t1 = vm.i.host.now_ms();
            vm.i.io_segments.push((t0 - vm.i.start_ms, t1 - vm.i.start_ms));
            Value::None
        }
        BlockOp::Mp(wait) => super::mp::perform(vm, wait),
    }
}
