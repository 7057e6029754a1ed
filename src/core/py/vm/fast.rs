//! The hot path of the loop (docs/python-vm.md §8.3): the instructions a CPU-bound loop
//! spends its time in, on small ints, run from a compact lowering of the code object
//! with common sequences fused (CPython 3.11's superinstructions and specialisations).
//!
//! **It never changes what a program does.** Each position `ip` of a code object has an
//! [`Op`]: the lowering of `instrs[ip]`, possibly fused with the instructions after it.
//! [`run`] executes ops while their fast case applies; on anything else (an operand that
//! is not a small int, an overflow, an unbound local, an instruction it does not know, an
//! eval-breaker site that is due) it returns `ip` with nothing of `instrs[ip]` done, and
//! vm.rs's loop runs that one instruction as always (its errors, tracebacks, breaker
//! checks and bigints are there). The original instructions stay in place, so jump
//! targets, `locs` and tracebacks are those of the unfused code; a fused op at `ip` only
//! skips ahead over instructions whose effect it has had, none of which is a breaker
//! site or can fail on its fast case.
//!
//! Eval-breaker sites: the fast loop runs a backward jump only when
//! [`breaker_quiet`] says `check_eval_breaker` would have done nothing but count the
//! tick (the one condition, shared with vm.rs); otherwise the main loop runs the jump and
//! checks. Fused conditional jumps are forward only (not breaker sites).

use super::ast::{BinOp, CmpOp};
use super::code::Code;
use super::heap::{Heap, IterState, Obj, Value};
use super::instr::Instr;
use super::vm::{Frame, Interp, OnReturn, ThreadState};
use std::sync::atomic::{AtomicBool, Ordering};

/// One position's lowering. Fused ops take their operands as `u16` (a code object with
/// more locals, constants or instructions than that is not fused there).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// The main loop runs `instrs[ip]`.
    Slow,
    Nop,
    LoadConst(u32),
    LoadFast(u32),
    StoreFast(u32),
    LoadGlobal(u32),
    /// `LoadGlobal s; PushNull` (a call of a global function).
    LoadGlobalNull(u32),
    /// A breaker site: passed here only while the breaker is quiet.
    Resume,
    /// `Call n` of a Python function whose parameters are `n` plain positional ones (no
    /// self, no cells, no defaults needed): the frame is pushed here, as `Vm::call_at` does.
    Call(u32),
    /// `ReturnValue` from a frame that returns to a caller of this loop (`OnReturn::Push`).
    Return,
    PopTop,
    PushNull,
    JumpForward(u32),
    /// A breaker site: taken here only while the breaker is quiet.
    JumpBackward(u32),
    PopJumpIfFalse(u32),
    PopJumpIfTrue(u32),
    /// `ForIter` over a range's iterator (anything else: the main loop).
    ForIter(u32),
    ListAppend(u32),
    /// `BinaryOp` or `InplaceOp` (the same on ints).
    Bin(BinOp),
    /// `CompareOp` on ints (`Eq`, `Ne`, `Lt`, `Le`, `Gt`, `Ge`).
    Cmp(CmpOp),
    /// `UnaryNeg` of an int or a float, `UnaryInvert` of an int, `UnaryNot` of a bool, an
    /// int or None.
    Neg,
    Invert,
    Not,
    /// `LoadFast a; LoadFast b`.
    FastFast(u16, u16),
    /// `LoadFast a; LoadFast b; BinaryOp op`.
    FastFastBin(BinOp, u16, u16),
    /// `LoadFast a; LoadConst c; BinaryOp op`.
    FastConstBin(BinOp, u16, u16),
    /// `LoadFast a; LoadConst c; BinaryOp/InplaceOp op; StoreFast s` (`d += 1`).
    FastConstBinStore(BinOp, u16, u16, u16),
    /// `CompareOp op; PopJumpIfFalse t` (or `PopJumpIfTrue` with `op` negated), forward.
    CmpJump(CmpOp, u32),
    /// `LoadFast a; CompareOp op; PopJump… t`.
    FastCmpJump(CmpOp, u16, u16),
    /// `LoadConst c; CompareOp op; PopJump… t`.
    ConstCmpJump(CmpOp, u16, u16),
    /// `LoadFast a; LoadFast b; CompareOp op; PopJump… t`.
    FastFastCmpJump(CmpOp, u16, u16, u16),
    /// `LoadFast a; LoadConst c; CompareOp op; PopJump… t`.
    FastConstCmpJump(CmpOp, u16, u16, u16),
}

const _: () = assert!(size_of::<Op>() <= 8);

fn small(i: u32) -> Option<u16> {
    u16::try_from(i).ok()
}

fn int_cmp_op(op: CmpOp) -> bool {
    matches!(op, CmpOp::Eq | CmpOp::Ne | CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
}

/// `not (x op y)` on ints, as one comparison.
fn negate(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
        other => other,
    }
}

/// `CompareOp op` at `at` followed by a forward conditional jump: the comparison whose
/// falseness jumps, and the target.
fn cmp_jump(instrs: &[Instr], at: usize) -> Option<(CmpOp, u32)> {
    let Some(&Instr::CompareOp(op)) = instrs.get(at) else { return None };
    if !int_cmp_op(op) {
        return None;
    }
    let (op, t) = match instrs.get(at + 1)? {
        Instr::PopJumpIfFalse(t) => (op, *t),
        Instr::PopJumpIfTrue(t) => (negate(op), *t),
        _ => return None,
    };
    // Forward only: a backward conditional jump is a breaker site.
    (t as usize > at + 1).then_some((op, t))
}

/// Fills `code.fast` (one op per instruction) and `code.plain_call`.
pub fn lower(code: &mut Code) {
    code.fast = (0..code.instrs.len()).map(|at| lower_at(&code.instrs, at)).collect();
    // `x = None` (the way to let a generator go) stores in vm.rs, which closes a generator
    // it drops (gen.rs); other stores stay here, untouched.
    for at in 1..code.instrs.len() {
        if let (Instr::LoadConst(c), Instr::StoreFast(_)) = (code.instrs[at - 1], code.instrs[at]) {
            if code.consts.get(c as usize) == Some(&Value::None) {
                code.fast[at] = Op::Slow;
            }
        }
    }
    code.plain_call = code.cellvars.is_empty()
        && code.freevars.is_empty()
        && !code.is_class_body
        && !code.has_varargs
        && !code.has_varkw
        && code.kwonlycount == 0;
}

fn lower_at(instrs: &[Instr], at: usize) -> Op {
    let next = |k: usize| instrs.get(at + k).copied();
    let bin = |k: usize| match next(k) {
        Some(Instr::BinaryOp(op) | Instr::InplaceOp(op)) => Some(op),
        _ => None,
    };
    match instrs[at] {
        Instr::LoadFast(a) => {
            let a16 = small(a);
            match next(1) {
                Some(Instr::LoadFast(b)) => {
                    if let (Some(a), Some(b)) = (a16, small(b)) {
                        if let Some((op, t)) = cmp_jump(instrs, at + 2) {
                            if let Some(t) = small(t) {
                                return Op::FastFastCmpJump(op, a, b, t);
                            }
                        }
                        if let Some(op) = bin(2) {
                            return Op::FastFastBin(op, a, b);
                        }
                        return Op::FastFast(a, b);
                    }
                }
                Some(Instr::LoadConst(c)) => {
                    if let (Some(a), Some(c)) = (a16, small(c)) {
                        if let Some((op, t)) = cmp_jump(instrs, at + 2) {
                            if let Some(t) = small(t) {
                                return Op::FastConstCmpJump(op, a, c, t);
                            }
                        }
                        if let Some(op) = bin(2) {
                            if let Some(Instr::StoreFast(s)) = next(3) {
                                if let Some(s) = small(s) {
                                    return Op::FastConstBinStore(op, a, c, s);
                                }
                            }
                            return Op::FastConstBin(op, a, c);
                        }
                    }
                }
                Some(Instr::CompareOp(_)) => {
                    if let (Some(a), Some((op, t))) = (a16, cmp_jump(instrs, at + 1)) {
                        if let Some(t) = small(t) {
                            return Op::FastCmpJump(op, a, t);
                        }
                    }
                }
                _ => {}
            }
            Op::LoadFast(a)
        }
        Instr::LoadConst(c) => {
            if let (Some(c), Some((op, t))) = (small(c), cmp_jump(instrs, at + 1)) {
                if let Some(t) = small(t) {
                    return Op::ConstCmpJump(op, c, t);
                }
            }
            Op::LoadConst(c)
        }
        Instr::CompareOp(op) => match cmp_jump(instrs, at) {
            Some((op, t)) => Op::CmpJump(op, t),
            None if int_cmp_op(op) => Op::Cmp(op),
            None => Op::Slow,
        },
        Instr::Nop => Op::Nop,
        Instr::StoreFast(i) => Op::StoreFast(i),
        Instr::LoadGlobal(s) => match next(1) {
            Some(Instr::PushNull) => Op::LoadGlobalNull(s),
            _ => Op::LoadGlobal(s),
        },
        Instr::Resume => Op::Resume,
        Instr::Call(n) => Op::Call(n),
        Instr::ReturnValue => Op::Return,
        Instr::PopTop => Op::PopTop,
        Instr::PushNull => Op::PushNull,
        Instr::JumpForward(t) => Op::JumpForward(t),
        Instr::JumpBackward(t) => Op::JumpBackward(t),
        Instr::PopJumpIfFalse(t) => Op::PopJumpIfFalse(t),
        Instr::PopJumpIfTrue(t) => Op::PopJumpIfTrue(t),
        Instr::ForIter(t) => Op::ForIter(t),
        Instr::ListAppend(i) => Op::ListAppend(i),
        Instr::BinaryOp(op) | Instr::InplaceOp(op) => Op::Bin(op),
        Instr::UnaryNeg => Op::Neg,
        Instr::UnaryInvert => Op::Invert,
        Instr::UnaryNot => Op::Not,
        _ => Op::Slow,
    }
}

/// What `Vm::binary` gives for two small ints when that is a small int; `None` when it
/// raises, overflows or is not an int (the main loop decides).
#[inline(always)]
pub(super) fn int_op(op: BinOp, x: i64, y: i64) -> Option<i64> {
    match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        // Python's floor and modulo: the sign of the divisor.
        BinOp::FloorDiv => {
            let q = x.checked_div(y)?;
            Some(if (x % y != 0) && ((x < 0) != (y < 0)) { q - 1 } else { q })
        }
        BinOp::Mod => {
            let m = x.checked_rem(y)?;
            Some(if m != 0 && ((m < 0) != (y < 0)) { m + y } else { m })
        }
        BinOp::LShift if (0..63).contains(&y) => x.checked_mul(1i64 << y),
        BinOp::RShift if y >= 0 => Some(x >> y.min(63)),
        BinOp::BitAnd => Some(x & y),
        BinOp::BitOr => Some(x | y),
        BinOp::BitXor => Some(x ^ y),
        _ => None,
    }
}

#[inline(always)]
pub(super) fn int_cmp(op: CmpOp, x: i64, y: i64) -> bool {
    match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => x < y,
        CmpOp::Le => x <= y,
        CmpOp::Gt => x > y,
        // The lowering makes `Cmp*` of the six int comparisons only.
        _ => x >= y,
    }
}

/// Whether `check_eval_breaker` at the next site would only count the tick: no budget
/// check due, no collection due, no drop request. Shared by vm.rs so the two cannot differ.
#[inline(always)]
pub(super) fn breaker_quiet(ticks: u32, heap: &Heap, drop_request: &AtomicBool) -> bool {
    ticks.wrapping_add(1) & 0x3ff != 0 && heap.since_gc <= heap.gc_threshold && !drop_request.load(Ordering::Relaxed)
}

/// Runs ops from `ip` of the top frame (code `cid`, locals at `base`) while their fast
/// case applies. Returns `Some(ip)`: the position in that frame of the first instruction
/// it did not run; or `None`: it called or returned, the top frame is another one, its
/// `ip` is stored in it (see the top of this file). Frames at or below `stop_depth` are
/// the caller's: a return into them is the main loop's. `free`: free-threaded with other
/// threads running, it stops before each op `free::run_local` runs without the lock.
#[inline(always)]
#[allow(clippy::too_many_lines)]
pub(super) fn run(
    i: &mut Interp,
    t: &mut ThreadState,
    mut cid: usize,
    mut base: usize,
    mut ip: usize,
    stop_depth: usize,
    free: bool,
) -> Option<usize> {
    let codes = &i.codes[..];
    let mut code: &Code = &codes[cid];
    let mut ops = &code.fast[..];
    let mut consts = &code.consts[..];
    let globals = &i.globals[..];
    let heap = &mut i.heap;
    let ticks = &mut i.ticks;
    let serial = &mut i.serial;
    let recursion_limit = i.recursion_limit;
    let drop_request = &*i.drop_request;
    let stack = &mut t.stack;
    let frames = &mut t.frames;
    let handling = &mut t.handling;
    let mut switched = false;
    // What the fast loop gives back: where it stopped, in the frame it stopped in.
    macro_rules! out {
        () => {{
            if switched {
                if let Some(f) = frames.last_mut() {
                    f.ip = ip;
                }
                return None;
            }
            return Some(ip);
        }};
    }
    macro_rules! enter {
        ($cid:expr, $base:expr, $ip:expr) => {{
            cid = $cid;
            code = &codes[cid];
            ops = &code.fast[..];
            consts = &code.consts[..];
            base = $base;
            ip = $ip;
            switched = true;
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
    loop {
        let Some(&op) = ops.get(ip) else { out!() };
        // Free-threaded (`free.rs`): only the ops that need the interpreter's lock run here.
        if free && super::free::local_op(op) {
            out!();
        }
        match op {
            Op::Slow => out!(),
            Op::Resume => {
                if !breaker_quiet(*ticks, heap, drop_request) {
                    out!();
                }
                *ticks = ticks.wrapping_add(1);
                ip += 1;
            }
            Op::Call(n) => {
                let n = n as usize;
                let pos = stack.len() - n - 2;
                let Value::Obj(r) = stack[pos] else { out!() };
                if stack[pos + 1] != Value::Null {
                    out!();
                }
                let Obj::Function(f) = heap.get(r) else { out!() };
                let callee = f.code_id as usize;
                let c = &codes[callee];
                if !c.plain_call || c.argcount as usize != n || frames.len() >= recursion_limit {
                    out!();
                }
                if let Some(f) = frames.last_mut() {
                    f.ip = ip + 1;
                }
                for _ in n..c.varnames.len() {
                    stack.push(Value::Null);
                }
                *serial += 1;
                frames.push(Frame::plain(callee as u32, pos + 2, pos, Some(r), *serial, handling.len()));
                enter!(callee, pos + 2, 0);
            }
            Op::Return => {
                let depth = frames.len();
                if depth <= stop_depth + 1 || !matches!(frames[depth - 1].on_return, OnReturn::Push) {
                    out!();
                }
                // With a generator waiting to be closed when dropped (gen.rs), a frame
                // holding objects returns in vm.rs: it may hold the last reference.
                if !heap.watched.is_empty()
                    && stack[frames[depth - 1].base..].iter().any(|v| matches!(v, Value::Obj(_)))
                {
                    out!();
                }
                let v = stack.pop().unwrap_or(Value::Null);
                // Dropped in place: `pop` would move the whole frame out first.
                let (ret_to, handling_base) = (frames[depth - 1].ret_to, frames[depth - 1].handling_base);
                frames.truncate(depth - 1);
                stack.truncate(ret_to);
                handling.truncate(handling_base);
                stack.push(v);
                let caller = &frames[depth - 2];
                enter!(caller.code as usize, caller.base, caller.ip);
            }
            Op::LoadGlobalNull(g) => {
                let v = globals.get(g as usize).copied().unwrap_or(Value::Null);
                if v == Value::Null {
                    out!();
                }
                stack.push(v);
                stack.push(Value::Null);
                ip += 2;
            }
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
            Op::LoadGlobal(s) => {
                let v = globals.get(s as usize).copied().unwrap_or(Value::Null);
                if v == Value::Null {
                    out!();
                }
                stack.push(v);
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
                if !breaker_quiet(*ticks, heap, drop_request) {
                    out!();
                }
                *ticks = ticks.wrapping_add(1);
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
                    if !breaker_quiet(*ticks, heap, drop_request) {
                        out!();
                    }
                    *ticks = ticks.wrapping_add(1);
                }
                stack.pop();
                ip = if jump { to as usize } else { ip + 1 };
            }
            Op::ForIter(to) => {
                let Some(&Value::Obj(r)) = stack.last() else { out!() };
                let Obj::Iter(IterState::Range { cur, stop, step }) = heap.get_mut(r) else { out!() };
                if (*step > 0 && *cur < *stop) || (*step < 0 && *cur > *stop) {
                    let v = *cur;
                    *cur += *step;
                    stack.push(Value::Int(v));
                    ip += 1;
                } else {
                    stack.pop();
                    ip = to as usize;
                }
            }
            Op::ListAppend(k) => {
                let n = stack.len();
                let Value::Obj(l) = stack[n - 1 - k as usize] else { out!() };
                let Obj::List(items) = heap.get_mut(l) else { out!() };
                // At the budget the main loop raises its MemoryError.
                if items.len() >= super::ops::MAX_SEQ {
                    out!();
                }
                items.push(stack[n - 1]);
                stack.pop();
                ip += 1;
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
        }
    }
}
