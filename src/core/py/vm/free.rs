//! Free-threaded programs (`threadlab.python(source, {gil: false})`, PEP 703's build):
//! a process's threads run Python **at the same time**, on their own cores.
//!
//! The design (docs/python-vm.md §4.1). The GIL stays the lock that guards the
//! interpreter (heap, globals, modules), but a thread no longer holds it for a switch
//! interval: it holds it for **one instruction that touches the heap** at a time. Between
//! those, it runs without any lock the instructions that touch only its own frame (the
//! fast loop's ops on locals, constants and small ints, jumps, and `for` over a `range`,
//! whose iterator it takes into a [`RangeCache`] for the stretch): [`run_local`]. So:
//! - CPU-bound code on locals runs in parallel: two threads, two cores;
//! - each heap operation is atomic, as CPython 3.13t's per-object critical sections make
//!   `list.append` atomic: 4 threads appending keep every item;
//! - `counter += 1` on a global is a load, an add and a store, and other threads run
//!   between them: updates are lost without a `Lock`, as on a free-threaded CPython.
//!
//! The coarse part, said plainly: heap operations of different threads take turns on one
//! lock where CPython's take a lock per object, so threads that do little but touch
//! shared objects do not speed up here (nor much there).
//!
//! **The collector stops the world.** A thread running on its own holds values (its
//! stack) that the collector must see. It counts itself in [`Free::out`] before it lets
//! the lock go, and when its stretch ends it puts its state in [`Free::returned`] and
//! only then stops counting, without needing the lock. A collection (or a census for
//! `sys.getrefcount`) raises [`Free::stw`], waits until no thread is out, and reads the
//! returned states with the parked ones ([`Free::stop_world`]): CPython 3.13t's
//! stop-the-world pause, which its collector takes too. A stretch is short (at most
//! [`STRETCH_TICKS`] backward jumps, and any heap operation ends it), so the wait is too.

use super::code::Code;
use super::fast::{int_cmp, int_op, Op};
use super::heap::{Heap, IterState, Obj, ObjRef, Value};
use super::vm::{Interp, ThreadState};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Backward jumps a thread runs on its own before it comes back for the eval breaker's
/// checks (Stop, the time budget, the collector), as the main loop checks every 1,024.
pub const STRETCH_TICKS: u32 = 8192;

/// A process's free-threading state, shared by its threads (`Interp::free`).
#[derive(Debug, Default)]
pub struct Free {
    /// Threads running on their own now ([`run_local`]), their states out of reach.
    pub out: AtomicU32,
    /// A collection waits: threads out come back at their next backward jump.
    pub stw: AtomicBool,
    /// States of threads back from a stretch that have not taken the lock yet.
    pub returned: Mutex<Vec<ThreadState>>,
    /// Threads started and not ended, the main thread not counted (the process's): with
    /// none, the main thread runs as with the GIL, never letting the lock go.
    pub others: Arc<AtomicU32>,
}

impl Free {
    fn returned(&self) -> std::sync::MutexGuard<'_, Vec<ThreadState>> {
        self.returned.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called by the lock's holder: waits until no thread runs on its own, and moves the
    /// states of those waiting for the lock into `parked`, where the collector and the
    /// census look. Returns how many it moved, for [`Free::start_world`].
    pub fn stop_world(&self, parked: &mut Vec<ThreadState>) -> usize {
        self.stw.store(true, Ordering::SeqCst);
        let mut spins = 0u32;
        while self.out.load(Ordering::SeqCst) > 0 {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let mut back = self.returned();
        let n = back.len();
        parked.append(&mut back);
        n
    }

    /// Undoes [`Free::stop_world`]: the `n` states it moved (the last ones of `parked`)
    /// go back where their threads will look for them.
    pub fn start_world(&self, parked: &mut Vec<ThreadState>, n: usize) {
        let at = parked.len().saturating_sub(n);
        self.returned().extend(parked.drain(at..));
        self.stw.store(false, Ordering::SeqCst);
    }

    /// A thread back from its stretch: its state, reachable for a collection again.
    pub fn give_back(&self, ts: ThreadState) {
        self.returned().push(ts);
        self.out.fetch_sub(1, Ordering::SeqCst);
    }

    /// The state `lane` gave back, once it holds the lock again.
    pub fn take_back(&self, lane: u32) -> Option<ThreadState> {
        let mut back = self.returned();
        let at = back.iter().position(|t| t.lane == lane)?;
        Some(back.swap_remove(at))
    }
}

/// A `range` iterator a thread runs on its own: its position is here for the stretch,
/// and written back to the heap object after it ([`RangeCache::write_back`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeCache {
    pub iter: ObjRef,
    pub cur: i64,
    pub stop: i64,
    pub step: i64,
}

impl RangeCache {
    /// The innermost `range` iterator on the top frame's stack (a `for` loop's, which
    /// sits under the loop body's values), if any.
    #[must_use]
    pub fn find(heap: &Heap, ts: &ThreadState) -> Option<RangeCache> {
        let base = ts.frames.last()?.base;
        ts.stack.get(base..)?.iter().rev().find_map(|v| match v {
            Value::Obj(r) => match heap.get(*r) {
                Obj::Iter(IterState::Range { cur, stop, step }) => {
                    Some(RangeCache { iter: *r, cur: *cur, stop: *stop, step: *step })
                }
                _ => None,
            },
            _ => None,
        })
    }

    pub fn write_back(&self, heap: &mut Heap) {
        if let Obj::Iter(IterState::Range { cur, .. }) = heap.get_mut(self.iter) {
            *cur = self.cur;
        }
    }
}

/// [`run_local`]'s type, for the call that must stay a call (`PyRun::run_local` says why).
pub type Stretch = fn(&Code, &mut ThreadState, &mut Option<RangeCache>, &AtomicBool, &AtomicBool) -> bool;

/// Whether `op` is one [`run_local`] may run (on operands it checks as it goes).
#[must_use]
pub fn local_op(op: Op) -> bool {
    !matches!(
        op,
        Op::Slow
            | Op::Resume
            | Op::LoadGlobal(_)
            | Op::LoadGlobalNull(_)
            | Op::Call(_)
            | Op::Return
            | Op::ListAppend(_)
    )
}

/// Whether the main loop, at `ip` of code `cid`, should hand the thread to its driver to
/// run on its own: free-threaded, not inside a builtin's call back into Python, not
/// recording, and the op is one [`run_local`] runs.
#[must_use]
pub fn wants_local(i: &Interp, cid: usize, ip: usize) -> bool {
    let Some(free) = &i.free else { return false };
    i.nested == 0
        && free.others.load(Ordering::Relaxed) > 0
        && i.inspect.is_none()
        && !free.stw.load(Ordering::Relaxed)
        && i.codes[cid].fast.get(ip).is_some_and(|op| local_op(*op))
}

/// Runs the top frame of `ts` (code `code`) from its `ip`, without the interpreter's lock,
/// while its ops touch only the frame: locals, constants, small ints, bools, jumps, and
/// the `range` iterator in `cache`. Stops (the frame's `ip` stored) at the first op it
/// cannot run, after [`STRETCH_TICKS`] backward jumps, or at a backward jump once `halt`
/// (a drop request: Stop, the process's end) or `stw` is set. The main loop runs the op
/// it stopped at, which is how every stretch makes progress. Returns whether the stretch
/// ended for the eval breaker's checks (its backward jumps used up, or a request).
///
/// Values on the stack are copied, never followed: an object stays alive because the
/// collector does not run while the thread is out ([`Free`]).
#[allow(clippy::too_many_lines)]
pub fn run_local(
    code: &Code,
    ts: &mut ThreadState,
    cache: &mut Option<RangeCache>,
    halt: &AtomicBool,
    stw: &AtomicBool,
) -> bool {
    let Some(frame) = ts.frames.last() else { return false };
    let base = frame.base;
    let mut ip = frame.ip;
    let ops = &code.fast[..];
    let consts = &code.consts[..];
    let stack = &mut ts.stack;
    let mut ticks = 0u32;
    let mut breaker = false;
    // The iterator's position in a local of this function (a register), written back once
    // when the stretch ends, not stored to the caller's memory at every turn.
    let mut range = *cache;
    macro_rules! out {
        () => {{
            if let Some(f) = ts.frames.last_mut() {
                f.ip = ip;
            }
            *cache = range;
            return breaker;
        }};
    }
    macro_rules! local {
        ($a:expr) => {
            stack[base + $a as usize]
        };
    }
    macro_rules! int_local {
        ($a:expr) => {
            match local!($a) {
                Value::Int(x) => x,
                _ => out!(),
            }
        };
    }
    macro_rules! int_const {
        ($c:expr) => {
            match consts[$c as usize] {
                Value::Int(x) => x,
                _ => out!(),
            }
        };
    }
    macro_rules! int_top {
        ($k:expr) => {
            match stack[stack.len() - $k] {
                Value::Int(x) => x,
                _ => out!(),
            }
        };
    }
    macro_rules! backward {
        () => {{
            ticks += 1;
            if ticks >= STRETCH_TICKS || halt.load(Ordering::Relaxed) || stw.load(Ordering::Relaxed) {
                breaker = true;
                out!();
            }
        }};
    }
    loop {
        let Some(&op) = ops.get(ip) else { out!() };
        match op {
            Op::Nop => ip += 1,
            Op::LoadConst(c) => {
                stack.push(consts[c as usize]);
                ip += 1;
            }
            Op::LoadFast(a) => {
                let v = local!(a);
                if v == Value::Null {
                    out!();
                }
                stack.push(v);
                ip += 1;
            }
            Op::StoreFast(a) => {
                let v = stack.pop().unwrap_or(Value::Null);
                local!(a) = v;
                ip += 1;
            }
            Op::PopTop => {
                stack.pop();
                ip += 1;
            }
            Op::PushNull => {
                stack.push(Value::Null);
                ip += 1;
            }
            Op::JumpForward(to) => ip = to as usize,
            Op::JumpBackward(to) => {
                backward!();
                ip = to as usize;
            }
            Op::PopJumpIfFalse(to) | Op::PopJumpIfTrue(to) => {
                let truth = match stack.last() {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::Int(x)) => *x != 0,
                    Some(Value::None) => false,
                    _ => out!(),
                };
                let jump = truth == matches!(op, Op::PopJumpIfTrue(_));
                if jump && (to as usize) <= ip {
                    backward!();
                }
                stack.pop();
                ip = if jump { to as usize } else { ip + 1 };
            }
            Op::ForIter(to) => {
                let Some(&Value::Obj(r)) = stack.last() else { out!() };
                let Some(c) = range.as_mut().filter(|c| c.iter == r) else { out!() };
                if (c.step > 0 && c.cur < c.stop) || (c.step < 0 && c.cur > c.stop) {
                    let v = c.cur;
                    c.cur += c.step;
                    stack.push(Value::Int(v));
                    ip += 1;
                } else {
                    stack.pop();
                    ip = to as usize;
                }
            }
            Op::Bin(op) => {
                let (x, y) = (int_top!(2), int_top!(1));
                let Some(r) = int_op(op, x, y) else { out!() };
                stack.pop();
                let n = stack.len();
                stack[n - 1] = Value::Int(r);
                ip += 1;
            }
            Op::Neg | Op::Invert | Op::Not => {
                let n = stack.len();
                let r = match (op, stack.last()) {
                    (Op::Neg, Some(Value::Int(x))) => match x.checked_neg() {
                        Some(r) => Value::Int(r),
                        None => out!(),
                    },
                    (Op::Neg, Some(Value::Float(f))) => Value::Float(-f),
                    (Op::Invert, Some(Value::Int(x))) => Value::Int(!x),
                    (Op::Not, Some(Value::Bool(b))) => Value::Bool(!b),
                    (Op::Not, Some(Value::Int(x))) => Value::Bool(*x == 0),
                    (Op::Not, Some(Value::None)) => Value::Bool(true),
                    _ => out!(),
                };
                stack[n - 1] = r;
                ip += 1;
            }
            Op::Cmp(op) => {
                let (x, y) = (int_top!(2), int_top!(1));
                stack.pop();
                let n = stack.len();
                stack[n - 1] = Value::Bool(int_cmp(op, x, y));
                ip += 1;
            }
            Op::FastFast(a, b) => {
                let (x, y) = (local!(a), local!(b));
                if x == Value::Null || y == Value::Null {
                    out!();
                }
                stack.push(x);
                stack.push(y);
                ip += 2;
            }
            Op::FastFastBin(op, a, b) => {
                let Some(r) = int_op(op, int_local!(a), int_local!(b)) else { out!() };
                stack.push(Value::Int(r));
                ip += 3;
            }
            Op::FastConstBin(op, a, c) => {
                let Some(r) = int_op(op, int_local!(a), int_const!(c)) else { out!() };
                stack.push(Value::Int(r));
                ip += 3;
            }
            Op::FastConstBinStore(op, a, c, s) => {
                let Some(r) = int_op(op, int_local!(a), int_const!(c)) else { out!() };
                local!(s) = Value::Int(r);
                ip += 4;
            }
            Op::CmpJump(op, to) => {
                let (x, y) = (int_top!(2), int_top!(1));
                stack.pop();
                stack.pop();
                ip = if int_cmp(op, x, y) { ip + 2 } else { to as usize };
            }
            Op::FastCmpJump(op, a, to) => {
                let (x, y) = (int_top!(1), int_local!(a));
                stack.pop();
                ip = if int_cmp(op, x, y) { ip + 3 } else { to as usize };
            }
            Op::ConstCmpJump(op, c, to) => {
                let (x, y) = (int_top!(1), int_const!(c));
                stack.pop();
                ip = if int_cmp(op, x, y) { ip + 3 } else { to as usize };
            }
            Op::FastFastCmpJump(op, a, b, to) => {
                let (x, y) = (int_local!(a), int_local!(b));
                ip = if int_cmp(op, x, y) { ip + 4 } else { to as usize };
            }
            Op::FastConstCmpJump(op, a, c, to) => {
                let (x, y) = (int_local!(a), int_const!(c));
                ip = if int_cmp(op, x, y) { ip + 4 } else { to as usize };
            }
            Op::Slow
            | Op::Resume
            | Op::LoadGlobal(_)
            | Op::LoadGlobalNull(_)
            | Op::Call(_)
            | Op::Return
            | Op::ListAppend(_) => out!(),
        }
    }
}
