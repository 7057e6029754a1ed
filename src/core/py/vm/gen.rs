//! Generators, as CPython 3.11 runs them.
//!
//! A generator function's code starts with `ReturnGenerator, PopTop, Resume`: the call
//! pushes an ordinary frame, whose first instruction moves it (the frame and its slice of
//! the thread's stack: locals, then values) into a [`Generator`] object and returns that.
//! Resuming pushes the frame back on the resuming thread, its slice copied to the top of
//! that thread's stack, plus the value sent in (`None` for `next`); `YieldValue` moves it
//! out again and hands the value to whoever resumed it; `ReturnValue` or an uncaught
//! exception ends it. Frames hold absolute stack positions, so a saved frame is stored
//! relative to 0 and moved to where it is pushed (`relocate`).
//!
//! Who resumed it decides what a yield and the end mean ([`GenMode`]): a `for` loop
//! (`ForIter`: the end jumps out of the loop), `yield from` (`Send`), `next()`/`send()`/
//! `throw()` called from Python (`Next`: the end raises `StopIteration`, or gives the
//! default), all three without nesting the loop — so the generator's `Resume` is an
//! eval-breaker site where the thread may let the GIL go, as in CPython — or a builtin
//! consuming it (`list(g)`, `sum(g)`: `Nested`, a nested loop as `Vm::call_sync`).
//!
//! While it runs, its values are on the running thread's stack (the collector's roots);
//! while suspended, in the object (`Generator::trace`).

use super::builtins::new_exception;
use super::heap::{IterState, Obj, ObjRef, Value};
use super::instr::Instr;
use super::vm::{Exit, Flow, Frame, OnReturn, Vm, R};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenState {
    Created,
    Suspended,
    Running,
    Done,
}

/// What a yield or the end of the generator does for the code that resumed it.
#[derive(Clone, Copy, Debug)]
pub enum GenMode {
    /// A `for` loop's `ForIter`: the end pops the generator and jumps to the target.
    ForIter(u32),
    /// A `for` loop over `enumerate(generator)` (the enumerate object): each item is
    /// yielded as `(n, item)`; the end as `ForIter`'s.
    ForIterEnumerate(u32, ObjRef),
    /// `yield from`'s `Send`: the end pops the generator, pushes its return value and jumps.
    Send(u32),
    /// `next(g[, default])` (`Value::Null`: no default), `g.send(v)`, `g.throw(e)`: the
    /// end raises `StopIteration(value)` in the caller, or pushes the default.
    Next(Value),
    /// A builtin consuming it: the nested loop returns at the yield or the end.
    Nested,
    /// Drained for a builtin's call (`drain_generators`): each item appended to a list, and
    /// at the end the call made with the list.
    Drain,
}

/// The call a drained generator's items are for.
#[derive(Debug)]
pub struct Drain {
    list: ObjRef,
    pos: usize,
    nargs: usize,
    kwnames: Vec<String>,
}

#[derive(Debug)]
pub struct Generator {
    /// `None` while it runs (its frame is on a thread) and once it is done.
    pub frame: Option<Box<Frame>>,
    /// Its locals and value stack while suspended.
    pub stack: Vec<Value>,
    /// The exceptions it was handling when it yielded (a yield inside an `except`).
    pub handling: Vec<Value>,
    pub state: GenState,
    pub mode: GenMode,
    pub qualname: String,
    pub drain: Option<Box<Drain>>,
    /// In `Heap::watched` (it suspended inside a `try` or a `with` once).
    pub watched: bool,
    /// When it was made (the interpreter's serial): dropped ones close oldest first, as
    /// CPython's collector and finalization reach them.
    pub born: u64,
}

impl Generator {
    /// Suspended inside a `try` or a `with`: closing it runs its `finally`, its `__exit__`
    /// or its handler (one with none would just end).
    #[must_use]
    pub fn needs_close(&self) -> bool {
        self.state == GenState::Suspended && self.frame.as_ref().is_some_and(|f| f.has_blocks())
    }

    pub fn trace(&self, mut f: impl FnMut(&Value)) {
        self.stack.iter().for_each(&mut f);
        self.handling.iter().for_each(&mut f);
        if let GenMode::Next(v) = &self.mode {
            f(v);
        }
        if let Some(fr) = &self.frame {
            for c in fr.cells().iter().chain(fr.ns.iter()).chain(fr.func.iter()) {
                f(&Value::Obj(*c));
            }
        }
    }
}

/// Moves a frame's stack positions from (`base`, `hbase`) to (`to`, `hto`).
fn relocate(f: &mut Frame, to: usize, hto: usize) {
    let (base, hbase) = (f.base, f.handling_base);
    for b in f.blocks_mut() {
        b.level = (b.level as usize - base + to) as u32;
        b.handling = (b.handling as usize - hbase + hto) as u32;
    }
    f.base = to;
    f.ret_to = to;
    f.handling_base = hto;
}

/// What the end of a generator leads to in the loop.
pub enum GenEnd {
    /// Push this (the caller goes on).
    Push(Value),
    /// Push this, the result of a builtin's call a drained generator was for: its `CALL`
    /// is a breaker site now.
    Called(Value),
    /// The loop goes on with the frame now on top.
    Continue,
    Exit(Exit),
}

/// The natives `call_at` runs without nesting when their first argument is a generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenOp {
    Next,
    DunderNext,
    Send,
    Throw,
}

/// What `call_at` does first for each native (by id): 0 nothing, 1-4 a `GenOp`, 5 a
/// builtin that consumes a whole iterable (`CONSUMERS`).
static NATIVE_KIND: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    super::builtins::NATIVES
        .iter()
        .map(|(n, _)| match *n {
            "next" => 1,
            "generator.__next__" => 2,
            "generator.send" => 3,
            "generator.throw" => 4,
            n if CONSUMERS.contains(&n) => 5,
            _ => 0,
        })
        .collect()
});

/// Builtins that take every item of an iterable before their own work on them (or whose
/// per-item work nobody sees): a generator argument is drained first on the thread's
/// frames (`drain_generators`), so it may block (a lock, `as_completed`) or let the GIL
/// go, which a nested loop cannot.
const CONSUMERS: [&str; 8] = ["sorted", "sum", "min", "max", "str.join", "list.extend", "set.update", "dict.update"];

#[must_use]
pub fn gen_op(id: u16) -> Option<GenOp> {
    match NATIVE_KIND.get(id as usize).copied().unwrap_or(0) {
        1 => Some(GenOp::Next),
        2 => Some(GenOp::DunderNext),
        3 => Some(GenOp::Send),
        4 => Some(GenOp::Throw),
        _ => None,
    }
}

#[must_use]
pub fn is_consumer(id: u16) -> bool {
    NATIVE_KIND.get(id as usize) == Some(&5)
}

impl Vm<'_> {
    fn gen_mut(&mut self, g: ObjRef) -> &mut Generator {
        match self.i.heap.get_mut(g) {
            Obj::Generator(gen) => gen,
            _ => unreachable!("a generator"),
        }
    }

    #[must_use]
    pub fn gen_state(&self, g: ObjRef) -> Option<GenState> {
        match self.i.heap.get(g) {
            Obj::Generator(gen) => Some(gen.state),
            _ => None,
        }
    }

    /// `ReturnGenerator`: the top frame becomes a new generator, which is returned.
    pub(crate) fn gen_create(&mut self) -> Value {
        let mut f = self.t.frames.pop().expect("a frame");
        let stack = self.t.stack.split_off(f.base);
        self.t.stack.truncate(f.ret_to);
        self.t.handling.truncate(f.handling_base);
        let qualname = f
            .func
            .and_then(|r| match self.i.heap.get(r) {
                Obj::Function(func) => Some(func.qualname.clone()),
                _ => None,
            })
            .unwrap_or_default();
        relocate(&mut f, 0, 0);
        let v = self.i.heap.alloc(Obj::Generator(Box::new(Generator {
            frame: None,
            stack,
            handling: Vec::new(),
            state: GenState::Created,
            mode: GenMode::Nested,
            qualname,
            drain: None,
            watched: false,
            born: f.serial,
        })));
        let Value::Obj(g) = v else { unreachable!() };
        f.on_return = OnReturn::Gen(g);
        self.gen_mut(g).frame = Some(Box::new(f));
        v
    }

    /// Pushes the generator's frame to run on this thread, `sent` pushed as the value of
    /// its `yield` (or `throw` raised there). `false`: it had finished (nothing pushed).
    pub fn gen_resume(&mut self, g: ObjRef, sent: Value, throw: Option<Value>, mode: GenMode) -> R<bool> {
        let state = self.gen_state(g).expect("a generator");
        match state {
            GenState::Running => return Err(self.exc("ValueError", "generator already executing")),
            GenState::Done => {
                return match throw {
                    Some(e) => Err(Flow::Exc(e)),
                    None => Ok(false),
                }
            }
            GenState::Created if throw.is_some() => {
                let gen = self.gen_mut(g);
                gen.state = GenState::Done;
                gen.frame = None;
                gen.stack.clear();
                return Err(Flow::Exc(throw.unwrap_or(Value::None)));
            }
            GenState::Created if sent != Value::None => {
                return Err(self.exc("TypeError", "can't send non-None value to a just-started generator"));
            }
            _ => {}
        }
        if self.t.frames.len() >= self.i.recursion_limit {
            return Err(self.exc("RecursionError", "maximum recursion depth exceeded"));
        }
        if let Some(e) = throw {
            if let Some((send_at, target, inner)) = self.yield_from_delegate(g) {
                return self.throw_through(g, e, send_at, target, inner, mode);
            }
        }
        self.push_gen_frame(g, mode, None);
        match throw {
            // Raised where it is suspended: the loop takes `pending` before anything else.
            Some(e) => self.t.pending = Some(Flow::Exc(e)),
            None => self.t.stack.push(sent),
        }
        Ok(true)
    }

    /// Moves a suspended generator's frame onto this thread (at `ip`, if given).
    fn push_gen_frame(&mut self, g: ObjRef, mode: GenMode, ip: Option<usize>) {
        let (nb, hb) = (self.t.stack.len(), self.t.handling.len());
        let gen = self.gen_mut(g);
        let mut frame = gen.frame.take().expect("a suspended generator's frame");
        let stack = std::mem::take(&mut gen.stack);
        let handling = std::mem::take(&mut gen.handling);
        gen.state = GenState::Running;
        gen.mode = mode;
        relocate(&mut frame, nb, hb);
        if let Some(ip) = ip {
            frame.ip = ip;
        }
        self.t.stack.extend(stack);
        self.t.handling.extend(handling);
        self.t.frames.push(*frame);
    }

    /// A suspended generator inside `yield from it`: (its `Send`'s position, that
    /// `Send`'s target, `it`).
    fn yield_from_delegate(&self, g: ObjRef) -> Option<(usize, u32, Value)> {
        let Obj::Generator(gen) = self.i.heap.get(g) else { return None };
        let f = gen.frame.as_ref()?;
        let code = &self.i.codes[f.code as usize];
        // Suspended at `yield from`'s YieldValue: `Resume`, then the jump back to `Send`.
        let (Some(Instr::Resume), Some(Instr::JumpBackwardNoInterrupt(send))) =
            (code.instrs.get(f.ip), code.instrs.get(f.ip + 1))
        else {
            return None;
        };
        let Some(Instr::Send(target)) = code.instrs.get(*send as usize) else { return None };
        Some((*send as usize, *target, *gen.stack.last()?))
    }

    /// `throw(e)` (or `close()`: `e` a `GeneratorExit`) into generator `g` suspended in
    /// `yield from inner`, as PEP 380 says: `GeneratorExit` closes `inner` first (what that
    /// raises is raised in `g` instead), then is raised in `g`; anything else is thrown into
    /// `inner` (a generator) in `g`'s place, so that what `inner` yields `g` yields, its
    /// return value is the `yield from`'s value, and what it raises is raised in `g` at the
    /// `yield from`. An iterator with no `throw` gets nothing: `e` is raised in `g`.
    fn throw_through(
        &mut self,
        g: ObjRef,
        mut e: Value,
        send_at: usize,
        target: u32,
        inner: Value,
        mode: GenMode,
    ) -> R<bool> {
        let inner_gen = match inner {
            Value::Obj(r) if self.gen_state(r).is_some() => Some(r),
            _ => None,
        };
        let exit = self.i.builtins["GeneratorExit"];
        if self.exc_matches(e, exit)? {
            if let Some(r) = inner_gen {
                match self.gen_close(r) {
                    Ok(_) => {}
                    Err(Flow::Exc(x)) => e = x,
                    Err(f) => return Err(f),
                }
            } else if self.user_method_of(inner, "close").is_some() {
                return Err(self.exc(
                    "RuntimeError",
                    "ThreadLab cannot close an iterator of a class of yours through 'yield from' yet (a generator it can)",
                ));
            }
            self.push_gen_frame(g, mode, None);
            self.t.pending = Some(Flow::Exc(e));
            return Ok(true);
        }
        let Some(r) = inner_gen else {
            if self.user_method_of(inner, "throw").is_some() {
                return Err(self.exc(
                    "RuntimeError",
                    "ThreadLab cannot throw into an iterator of a class of yours through 'yield from' yet (a generator it can)",
                ));
            }
            self.push_gen_frame(g, mode, None);
            self.t.pending = Some(Flow::Exc(e));
            return Ok(true);
        };
        // `g` runs again as if its `Send` had just resumed `inner`.
        self.push_gen_frame(g, mode, Some(send_at + 1));
        match self.gen_resume(r, Value::None, Some(e), GenMode::Send(target)) {
            Ok(_) => {}
            Err(Flow::Exc(x)) => self.t.pending = Some(Flow::Exc(x)),
            Err(f) => return Err(f),
        }
        Ok(true)
    }

    /// `YieldValue` (the value already popped): the top frame goes back into its generator.
    pub(crate) fn gen_suspend(&mut self) -> (ObjRef, GenMode) {
        let mut f = self.t.frames.pop().expect("a frame");
        let OnReturn::Gen(g) = f.on_return else { unreachable!("a generator's frame") };
        let stack = self.t.stack.split_off(f.base);
        let handling = self.t.handling.split_off(f.handling_base.min(self.t.handling.len()));
        relocate(&mut f, 0, 0);
        let gen = self.gen_mut(g);
        gen.frame = Some(Box::new(f));
        gen.stack = stack;
        gen.handling = handling;
        gen.state = GenState::Suspended;
        let mode = gen.mode;
        if !gen.watched && gen.needs_close() {
            gen.watched = true;
            self.i.heap.watched.push(g);
            self.i.heap.watch_count += 1;
        }
        (g, mode)
    }

    fn gen_finish(&mut self, g: ObjRef) -> GenMode {
        let gen = self.gen_mut(g);
        gen.drain = None;
        gen.state = GenState::Done;
        gen.frame = None;
        gen.stack.clear();
        gen.handling.clear();
        gen.mode
    }

    /// `StopIteration(value)` (no args for `None`, as CPython's).
    pub fn stop_iteration(&mut self, value: Value) -> Value {
        let Some(Value::Obj(c)) = self.i.builtins.get("StopIteration").copied() else { unreachable!() };
        let args = if value == Value::None { Vec::new() } else { vec![value] };
        new_exception(self, c, args)
    }

    /// The generator's frame returned `v` (already popped, the stack cut back to it).
    pub(crate) fn gen_returned(&mut self, g: ObjRef, v: Value, stop_depth: usize) -> GenEnd {
        let drain = self.gen_mut(g).drain.take();
        let mode = self.gen_finish(g);
        let jump = |vm: &mut Self, target: u32| {
            vm.t.stack.pop();
            if let Some(f) = vm.t.frames.last_mut() {
                f.ip = target as usize;
            }
        };
        match mode {
            GenMode::ForIter(t) | GenMode::ForIterEnumerate(t, _) => {
                jump(self, t);
                GenEnd::Continue
            }
            GenMode::Send(t) => {
                jump(self, t);
                self.t.stack.push(v);
                GenEnd::Continue
            }
            GenMode::Next(d) if d != Value::Null => GenEnd::Push(d),
            GenMode::Next(_) => {
                let e = self.stop_iteration(v);
                if self.t.frames.len() <= stop_depth {
                    return GenEnd::Exit(Exit::Exception(e));
                }
                match self.unwind(e, stop_depth) {
                    Ok(()) => GenEnd::Continue,
                    Err(x) => GenEnd::Exit(x),
                }
            }
            GenMode::Nested => GenEnd::Push(v),
            GenMode::Drain => {
                let Some(d) = drain else { return GenEnd::Push(Value::None) };
                match self.call_at(d.pos, d.nargs, &d.kwnames) {
                    Ok(Some(r)) => {
                        self.t.stack.truncate(d.pos);
                        GenEnd::Called(r)
                    }
                    Ok(None) => GenEnd::Continue,
                    Err(flow) => match self.flow_exit(flow, stop_depth) {
                        None => GenEnd::Continue,
                        Some(x) => GenEnd::Exit(x),
                    },
                }
            }
        }
    }

    /// An exception left the generator's frame: it is done, and a `StopIteration` becomes
    /// PEP 479's `RuntimeError`.
    pub(crate) fn gen_raised(&mut self, g: ObjRef, e: Value) -> Value {
        self.gen_finish(g);
        let stop = self.i.builtins["StopIteration"];
        let Value::Obj(stop) = stop else { return e };
        let is_stop = matches!(self.class_of(e), Value::Obj(c) if self.is_subclass(c, stop));
        if !is_stop {
            return e;
        }
        let r = self.new_exc("RuntimeError", "generator raised StopIteration");
        if let Some(d) = self.exc_data_mut(r) {
            d.cause = Some(e);
            d.context = Some(e);
            d.suppress_context = true;
        }
        r
    }

    /// One step of a generator for a builtin (`list(g)`, `sum(g)`): a nested loop, as
    /// `call_sync`. `None`: it finished.
    pub fn gen_step_nested(&mut self, g: ObjRef, sent: Value, throw: Option<Value>) -> R<Option<Value>> {
        let depth = self.t.frames.len();
        let pos = self.t.stack.len();
        if !self.gen_resume(g, sent, throw, GenMode::Nested)? {
            return Ok(None);
        }
        self.i.nested += 1;
        let r = loop {
            match self.run_frames(depth) {
                Exit::Done(v) => {
                    break Ok(if self.gen_state(g) == Some(GenState::Done) { None } else { Some(v) });
                }
                Exit::Exception(e) => break Err(Flow::Exc(e)),
                Exit::Fatal(p) => break Err(Flow::Fatal(p)),
                Exit::Breaker => {}
                Exit::Block(op) => {
                    let v =
                        self.nested_block(&op, "a generator a builtin or an unpacking iterates (zip, map, filter, any, all, in, a, b = g()...)");
                    self.t.stack.push(v);
                }
            }
        };
        self.i.nested -= 1;
        self.t.stack.truncate(pos);
        r
    }

    /// `next(g)`, `g.__next__()`, `g.send(v)`, `g.throw(e)` called from Python with the
    /// generator at `stack[pos + 1 or 2]`: pushes its frame (`Ok(Some(None))`), or the
    /// result when it had finished; `Ok(None)`: not a generator call (the native runs).
    pub(crate) fn gen_call(&mut self, op: GenOp, pos: usize, kwnames: &[String]) -> R<Option<Option<Value>>> {
        let first = if self.t.stack[pos + 1] == Value::Null { pos + 2 } else { pos + 1 };
        let args: Vec<Value> = self.t.stack[first..].to_vec();
        if !kwnames.is_empty() || args.is_empty() {
            return Ok(None);
        }
        let Value::Obj(g) = args[0] else { return Ok(None) };
        if self.gen_state(g).is_none() {
            return Ok(None);
        }
        let (sent, throw, default) = match (op, args.len()) {
            (GenOp::Next, 1 | 2) => (Value::None, None, args.get(1).copied().unwrap_or(Value::Null)),
            (GenOp::DunderNext, 1) => (Value::None, None, Value::Null),
            (GenOp::Send, 2) => (args[1], None, Value::Null),
            (GenOp::Throw, 2) => {
                self.t.stack.truncate(pos);
                let e = match self.make_exc(args[1], None) {
                    Flow::Exc(e) => e,
                    other => return Err(other),
                };
                (Value::None, Some(e), Value::Null)
            }
            _ => return Ok(None),
        };
        self.t.stack.truncate(pos);
        if self.gen_resume(g, sent, throw, GenMode::Next(default))? {
            return Ok(Some(None));
        }
        if default != Value::Null {
            return Ok(Some(Some(default)));
        }
        let e = self.stop_iteration(Value::None);
        Err(Flow::Exc(e))
    }

    /// The call at `stack[pos]` (a consumer, see `CONSUMERS`, or `list`/`tuple`/`set`/
    /// `frozenset`/`dict`) with a generator among its positional arguments: the generator
    /// is replaced there by a new list and resumed (`GenMode::Drain`) on this thread's
    /// frames, each item appended, and when it ends the call is made again, with the list
    /// (`gen_returned`). As CPython's C code iterating it, nothing but the generator's own
    /// `Resume` and the call's return are breaker sites, and it may block or let the GIL go.
    /// True: its frame was pushed.
    pub(crate) fn drain_generators(&mut self, pos: usize, nargs: usize, kwnames: &[String]) -> R<bool> {
        let first = if self.t.stack[pos + 1] == Value::Null { pos + 2 } else { pos + 1 };
        let npos = self.t.stack.len() - first - kwnames.len();
        let Some(k) = (first..first + npos)
            .find(|&k| matches!(self.t.stack[k], Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Generator(_))))
        else {
            return Ok(false);
        };
        let Value::Obj(g) = self.t.stack[k] else { unreachable!() };
        let list = self.i.heap.alloc(Obj::List(Vec::new()));
        let Value::Obj(l) = list else { unreachable!() };
        if !self.gen_resume(g, Value::None, None, GenMode::Drain)? {
            // Already finished: no items.
            self.t.stack[k] = list;
            return Ok(false);
        }
        self.t.stack[k] = list;
        self.gen_mut(g).drain = Some(Box::new(Drain { list: l, pos, nargs, kwnames: kwnames.to_vec() }));
        Ok(true)
    }

    /// `(the enumerate object, its generator)` when `it` is `enumerate(generator)`.
    #[must_use]
    pub fn enumerated_generator(&self, it: Value) -> Option<(ObjRef, ObjRef)> {
        let Value::Obj(e) = it else { return None };
        let Obj::Iter(IterState::Enumerate { it: Value::Obj(g), .. }) = self.i.heap.get(e) else {
            return None;
        };
        matches!(self.i.heap.get(*g), Obj::Generator(_)).then_some((e, *g))
    }

    /// `(n, v)` for a `for` loop over `enumerate(generator)`, counting on.
    pub(crate) fn enumerated(&mut self, e: ObjRef, v: Value) -> Value {
        let n = match self.i.heap.get_mut(e) {
            Obj::Iter(IterState::Enumerate { n, .. }) => {
                *n += 1;
                *n - 1
            }
            _ => 0,
        };
        self.i.heap.alloc(Obj::Tuple(vec![Value::Int(n), v]))
    }

    /// A drained generator yielded `v` (its frame popped): append, resume it at once.
    pub(crate) fn gen_drained_item(&mut self, g: ObjRef, v: Value) -> R<()> {
        if let Some(d) = &self.gen_mut(g).drain {
            let l = d.list;
            if let Obj::List(items) = self.i.heap.get_mut(l) {
                items.push(v);
            }
        }
        self.gen_resume(g, Value::None, None, GenMode::Drain)?;
        Ok(())
    }

    /// `flow` raised where the loop is, which may be at `stop_depth` already (a nested
    /// loop's bottom: nothing to unwind there).
    pub(crate) fn flow_exit(&mut self, flow: Flow, stop_depth: usize) -> Option<Exit> {
        if self.t.frames.len() > stop_depth {
            return match flow {
                Flow::Exc(e) => self.unwind(e, stop_depth).err(),
                Flow::Fatal(p) => Some(Exit::Fatal(p)),
                Flow::Block(op) => Some(Exit::Block(op)),
                Flow::Breaker => Some(Exit::Breaker),
            };
        }
        Some(match flow {
            Flow::Exc(e) => Exit::Exception(e),
            Flow::Fatal(p) => Exit::Fatal(p),
            Flow::Block(op) => Exit::Block(op),
            Flow::Breaker => Exit::Breaker,
        })
    }

    /// `g.close()`: `GeneratorExit` raised at its yield; its `finally` blocks run.
    pub fn gen_close(&mut self, g: ObjRef) -> R<Value> {
        match self.gen_state(g) {
            Some(GenState::Suspended) => {}
            Some(GenState::Running) => return Err(self.exc("ValueError", "generator already executing")),
            _ => {
                self.gen_finish(g);
                return Ok(Value::None);
            }
        }
        let exit = self.new_exc("GeneratorExit", "");
        if let Some(d) = self.exc_data_mut(exit) {
            d.args.clear();
        }
        match self.gen_step_nested(g, Value::None, Some(exit)) {
            Ok(None) => Ok(Value::None),
            Ok(Some(_)) => Err(self.exc("RuntimeError", "generator ignored GeneratorExit")),
            Err(Flow::Exc(e)) => {
                let ge = self.i.builtins["GeneratorExit"];
                let si = self.i.builtins["StopIteration"];
                if self.exc_matches(e, ge)? || self.exc_matches(e, si)? {
                    Ok(Value::None)
                } else {
                    Err(Flow::Exc(e))
                }
            }
            Err(f) => Err(f),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Closing dropped generators.
//
// CPython closes a suspended generator when its last reference goes (`gen.close()`:
// `GeneratorExit` raised at its yield, so its `finally` blocks and `with` exits run), or
// at a collection for one in a cycle, or at the interpreter's exit for one still alive.
// This heap is traced, so "the last reference went" is found by marking: only for the
// generators that suspended inside a `try` or a `with` (`Heap::watched`; closing any other
// would run nothing), and only where a reference may just have gone, so that the common
// programs print what CPython prints, in its order:
// - a `for` loop left by `break`, `return` or an exception pops its iterator (`PopIter`,
//   `unwind`): `for x in g(): break`;
// - a frame returns holding one in a local or on its stack;
// - a global is rebound or deleted (`g = None`, `del g`), a local deleted or set to `None`;
// - a builtin's call returns (`any(x for x in g())`: its arguments go) or a loop over `zip`,
//   `map` or `filter` ends;
// - `next(g())`/`send` on a generator nothing else holds (closed before the caller goes
//   on, as CPython's, whose temporary dies when the call returns);
// - an `except` block ends (the exception held the locals of the frames it left);
// - any collection (a cycle, or a reference dropped elsewhere: an attribute, a list);
// - the program's end (`finalize`), in the order they first suspended in a `try`.
// Between two such points a dropped generator waits (a local rebound to another value
// inside a function is found at its return, not at once). Each check marks the heap (O(heap)),
// after a cheap look at the thread's stack and the globals, which finds the usual holder.
// Inside a builtin that called back into Python (`nested`), Rust locals hold values the
// roots miss: the check waits for the next collection at the top level.

impl Vm<'_> {
    /// Closes the watched generators nothing reaches any more (see above). `extra`:
    /// values the caller holds that are not in the roots.
    ///
    /// # Errors
    /// Only what stops the program (the time budget, Stop): an exception in a `finally`
    /// is printed as CPython's "Exception ignored in" and the program goes on.
    pub(crate) fn close_dropped(&mut self, extra: &[Value]) -> R<()> {
        if self.i.heap.watched.is_empty() && self.i.to_close.is_empty() {
            return Ok(());
        }
        if self.i.nested != self.i.close_nested {
            // Found at the next collection at the top level.
            self.i.heap.since_gc = self.i.heap.gc_threshold.saturating_add(1);
            return Ok(());
        }
        // Each round closes the outermost dropped ones (whose `finally` may drop inner
        // ones, closed meanwhile, as in CPython); a generator is closed once.
        for _ in 0..1000 {
            let batch = self.dropped_generators(extra, false);
            if batch.is_empty() {
                break;
            }
            for g in batch {
                self.close_one(g)?;
            }
        }
        Ok(())
    }

    /// The watched generators to close now, outermost first: those no root reaches (all
    /// of them `at_exit`) and no other of them holds.
    fn dropped_generators(&mut self, extra: &[Value], at_exit: bool) -> Vec<ObjRef> {
        let watched = std::mem::take(&mut self.i.heap.watched);
        let mut keep = Vec::with_capacity(watched.len());
        for g in watched {
            if self.i.heap.needs_close(g) {
                keep.push(g);
            } else if let Obj::Generator(gen) = self.i.heap.get_mut(g) {
                gen.watched = false;
            }
        }
        self.i.heap.watched = keep;
        let found = std::mem::take(&mut self.i.to_close);
        let mut dropped: Vec<ObjRef> = found.into_iter().filter(|g| self.i.heap.needs_close(*g)).collect();
        let mut suspects: Vec<ObjRef> = self.i.heap.watched.clone();
        if !at_exit {
            // The usual holder: a local, a value on the stack, a global.
            let near = self.t.stack.iter().chain(&self.i.globals).chain(extra);
            suspects.retain(|g| !near.clone().any(|v| *v == Value::Obj(*g)));
            if !suspects.is_empty() {
                let mut roots = self.roots();
                roots.extend_from_slice(extra);
                self.i.heap.mark_live(&roots);
                suspects.retain(|g| !self.i.heap.marked(*g));
            }
        }
        for g in suspects {
            if !dropped.contains(&g) {
                dropped.push(g);
            }
        }
        if dropped.len() < 2 {
            return dropped;
        }
        dropped.sort_by_key(|g| match self.i.heap.get(*g) {
            Obj::Generator(gen) => gen.born,
            _ => 0,
        });
        // Those another dropped one reaches are closed by it, or in a later round.
        let mut inner = Vec::new();
        for g in &dropped {
            if let Obj::Generator(gen) = self.i.heap.get(*g) {
                gen.trace(|v| inner.push(*v));
            }
        }
        self.i.heap.mark_from(&inner, true);
        let outer: Vec<ObjRef> = dropped.iter().copied().filter(|g| !self.i.heap.marked(*g)).collect();
        if outer.is_empty() {
            dropped
        } else {
            outer
        }
    }

    /// `g.close()` for a generator that was dropped.
    fn close_one(&mut self, g: ObjRef) -> R<()> {
        if !self.i.heap.needs_close(g) {
            return Ok(());
        }
        let saved = self.i.close_nested;
        // Inside the close, the roots are complete again: the generator runs on this
        // thread's frames and nothing else is held natively.
        self.i.close_nested = self.i.nested + 1;
        let r = self.gen_close(g);
        self.i.close_nested = saved;
        match r {
            Ok(_) => Ok(()),
            Err(Flow::Exc(e)) => {
                if self.gen_state(g) != Some(GenState::Done) {
                    // It yielded again (`generator ignored GeneratorExit`): CPython frees
                    // its frame without running it further.
                    self.gen_finish(g);
                }
                let what = self.repr(Value::Obj(g)).unwrap_or_default();
                let frames: Vec<(u32, usize, u64)> =
                    self.t.frames.iter().rev().map(|f| (f.code, f.ip.saturating_sub(1), f.serial)).collect();
                let codes: Vec<_> = frames.iter().map(|(c, ..)| self.i.codes[*c as usize].clone()).collect();
                if let Some(d) = self.exc_data_mut(e) {
                    if d.tb.is_empty() {
                        // Raised by the close itself: where the generator was dropped.
                        d.tb =
                            codes.into_iter().zip(frames).map(|(code, (_, ip, serial))| (code, ip, serial)).collect();
                    }
                }
                // CPython's `sys.unraisablehook` prints the exception alone, no chain.
                let report = self.format_exception_alone(e);
                let lane = self.t.lane;
                self.i.write(
                    crate::core::program::Stream::Stderr,
                    lane,
                    &format!("Exception ignored in: {what}\n{report}"),
                );
                Ok(())
            }
            Err(f) => Err(f),
        }
    }

    /// Whether dropping `vals` may have dropped a generator to close (a cheap look: a
    /// generator among them, while some are watched).
    pub(crate) fn drops_generator(&self, vals: &[Value]) -> bool {
        !self.i.heap.watched.is_empty()
            && vals.iter().any(|v| match v {
                Value::Obj(r) => match self.i.heap.get(*r) {
                    // A generator, or an iterator over others (`zip`, `map`...).
                    Obj::Generator(_)
                    | Obj::Iter(
                        IterState::Zip { .. }
                        | IterState::Map { .. }
                        | IterState::Filter { .. }
                        | IterState::Enumerate { .. },
                    ) => true,
                    // An exception whose traceback kept the locals of frames it left.
                    Obj::Instance(i) => i.exc.as_ref().is_some_and(|d| !d.keep.is_empty()),
                    _ => false,
                },
                _ => false,
            })
    }

    /// At the program's end (its threads done): closes every generator still suspended
    /// inside a `try` or a `with`, as CPython's finalization does, garbage first.
    pub fn finalize_generators(&mut self) -> R<()> {
        self.close_dropped(&[])?;
        if !self.i.parked.is_empty() {
            // A daemon thread still runs: CPython 3.11 then leaves the module's objects as
            // they are at exit (measured: a suspended generator's `finally` does not run).
            return Ok(());
        }
        for _ in 0..1000 {
            let batch = self.dropped_generators(&[], true);
            if batch.is_empty() {
                break;
            }
            for g in batch {
                self.close_one(g)?;
            }
        }
        Ok(())
    }
}
