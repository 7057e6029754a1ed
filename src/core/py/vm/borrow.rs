//! Which of a code object's `LoadFast`s CPython 3.14 compiles to `LOAD_FAST_BORROW`: a
//! stack slot that borrows the local's reference instead of owning one, so
//! `sys.getrefcount` does not count it (docs/python-vm.md §3, "Built: counts per version").
//!
//! The rule is CPython 3.14's own (`Python/flowgraph.c`), replayed on this VM's bytecode,
//! which follows CPython's layout closely enough for it:
//! 1. `add_checks_for_loads_of_uninitialized_variables`: a load of a local that may be
//!    unbound on some path (a loop variable after its loop, a name after `del`) is
//!    `LOAD_FAST_CHECK`, never borrowed;
//! 2. `insert_superinstructions`: two loads on one line pair up (`LOAD_FAST_LOAD_FAST`,
//!    borrowed or not together), and a load right after a store on its line becomes
//!    `STORE_FAST_LOAD_FAST`, never borrowed;
//! 3. `optimize_load_fast`: within each basic block reached from the entry by jumps and
//!    fall-throughs (not a block reached only by an exception: an `except` body), abstract
//!    interpretation of the stack; a load is borrowed unless its value is stored into a
//!    local, is still on the stack when its local is overwritten, or is still on the stack
//!    at the block's end.

use super::code::Code;
use super::instr::Instr;

/// Where `i` may jump besides the next instruction (a `try`'s handler included).
fn target(i: Instr) -> Option<usize> {
    match i {
        Instr::ForIter(t)
        | Instr::JumpForward(t)
        | Instr::JumpBackward(t)
        | Instr::JumpBackwardNoInterrupt(t)
        | Instr::PopJumpIfFalse(t)
        | Instr::PopJumpIfTrue(t)
        | Instr::JumpIfFalseOrPop(t)
        | Instr::JumpIfTrueOrPop(t)
        | Instr::SetupFinally(t)
        | Instr::Send(t) => Some(t as usize),
        _ => None,
    }
}

fn falls_through(i: Instr) -> bool {
    !matches!(
        i,
        Instr::JumpForward(_)
            | Instr::JumpBackward(_)
            | Instr::JumpBackwardNoInterrupt(_)
            | Instr::ReturnValue
            | Instr::RaiseVarargs(_)
            | Instr::Reraise
    )
}

/// Values popped and pushed when `i` falls through (the cases `optimize_load_fast` treats
/// generically: every input consumed, every output new).
fn effect(i: Instr) -> (usize, usize) {
    let n = |x: u32| x as usize;
    match i {
        Instr::Nop
        | Instr::Resume
        | Instr::DeleteFast(_)
        | Instr::DeleteGlobal(_)
        | Instr::DeleteName(_)
        | Instr::JumpForward(_)
        | Instr::JumpBackward(_)
        | Instr::JumpBackwardNoInterrupt(_)
        | Instr::SetupFinally(_)
        | Instr::PopBlock
        | Instr::ReturnGenerator => (0, 0),
        Instr::LoadConst(_)
        | Instr::LoadFast(_)
        | Instr::LoadGlobal(_)
        | Instr::LoadName(_)
        | Instr::LoadDeref(_)
        | Instr::LoadClosure(_)
        | Instr::PushNull
        | Instr::LoadAssertionError
        | Instr::LoadLocals
        | Instr::ForIter(_)
        | Instr::ImportName(_)
        | Instr::ImportFrom(_) => (0, 1),
        Instr::StoreFast(_)
        | Instr::StoreGlobal(_)
        | Instr::StoreName(_)
        | Instr::StoreDeref(_)
        | Instr::DeleteAttr(_)
        | Instr::PopTop
        | Instr::PopIter
        | Instr::PopJumpIfFalse(_)
        | Instr::PopJumpIfTrue(_)
        | Instr::JumpIfFalseOrPop(_)
        | Instr::JumpIfTrueOrPop(_)
        | Instr::ListExtend
        | Instr::ListAppend(_)
        | Instr::SetAdd(_)
        | Instr::DictUpdate
        | Instr::ReturnValue
        | Instr::Reraise
        | Instr::PopExcept => (1, 0),
        Instr::LoadAttr(_)
        | Instr::UnaryNeg
        | Instr::UnaryPos
        | Instr::UnaryNot
        | Instr::UnaryInvert
        | Instr::ListToTuple
        | Instr::GetIter
        | Instr::YieldValue => (1, 1),
        Instr::LoadMethod(_) | Instr::BeforeWith | Instr::PushExcInfo => (1, 2),
        Instr::StoreAttr(_) | Instr::DeleteSubscr | Instr::MapAdd(_) => (2, 0),
        Instr::BinarySubscr | Instr::BinaryOp(_) | Instr::InplaceOp(_) | Instr::CompareOp(_) | Instr::Send(_) => (2, 1),
        Instr::CheckExcMatch => (2, 2),
        Instr::StoreSubscr => (3, 0),
        Instr::BuildClass => (3, 1),
        Instr::DupTop => (1, 2),
        Instr::DupTopTwo => (2, 4),
        Instr::RotTwo => (2, 2),
        Instr::RotThree => (3, 3),
        Instr::RotFour => (4, 4),
        Instr::BuildSlice(k) => (usize::from(k), 1),
        Instr::BuildTuple(k) | Instr::BuildList(k) | Instr::BuildSet(k) | Instr::BuildString(k) => (n(k), 1),
        Instr::BuildMap(k) => (2 * n(k), 1),
        Instr::UnpackSequence(k) => (1, n(k)),
        Instr::UnpackEx(before, after) => (1, usize::from(before) + usize::from(after) + 1),
        Instr::Call(k) | Instr::CallKw(k, _) => (n(k) + 2, 1),
        Instr::CallEx => (4, 1),
        Instr::MakeFunction(arg) => (((arg >> 24) & 0b1011).count_ones() as usize, 1),
        Instr::RaiseVarargs(k) => (usize::from(k), 0),
        Instr::WithExceptStart => (0, 5),
        Instr::FormatValue(flags) => (1 + usize::from(flags & 4 != 0), 1),
    }
}

/// The instructions that start a basic block: the first, each jump's target, and each
/// one after a jump or an exit.
fn leaders(code: &Code) -> Vec<bool> {
    let n = code.instrs.len();
    let mut lead = vec![false; n + 1];
    lead[0] = true;
    for (i, &instr) in code.instrs.iter().enumerate() {
        if let Some(t) = target(instr) {
            lead[t.min(n)] = true;
            lead[i + 1] = true;
        }
        if !falls_through(instr) {
            lead[i + 1] = true;
        }
    }
    lead.truncate(n);
    lead
}

/// The `LoadFast`s CPython compiles to `LOAD_FAST_CHECK`: the local may be unbound there.
fn checked_loads(code: &Code, lead: &[bool]) -> Vec<bool> {
    let n = code.instrs.len();
    let mut checked = vec![false; n];
    if n == 0 {
        return checked;
    }
    let starts: Vec<usize> = (0..n).filter(|&i| lead[i]).collect();
    let block_of = |i: usize| starts.partition_point(|&s| s <= i) - 1;
    let end_of = |b: usize| starts.get(b + 1).copied().unwrap_or(n);
    // The handlers protecting each instruction: a `try`'s body lies between its
    // `SetupFinally` and its handler.
    let mut handlers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (s, &instr) in code.instrs.iter().enumerate() {
        if let Instr::SetupFinally(h) = instr {
            for hs in handlers.iter_mut().take((h as usize).min(n)).skip(s + 1) {
                hs.push(block_of(h as usize));
            }
        }
    }
    let params =
        (code.argcount + code.kwonlycount) as usize + usize::from(code.has_varargs) + usize::from(code.has_varkw);
    let bit = |k: u32| if k < 64 { 1u64 << k } else { 0 };
    let mut unsafe_in = vec![0u64; starts.len()];
    unsafe_in[0] = (params..code.varnames.len().min(64)).fold(0, |m, k| m | (1 << k));
    // As CPython: each block scanned once (a `del` inside it), then until nothing changes.
    let mut work: Vec<usize> = (0..starts.len()).rev().collect();
    let mut queued = vec![true; starts.len()];
    while let Some(b) = work.pop() {
        queued[b] = false;
        let mut mask = unsafe_in[b];
        let mut push = |to: usize, mask: u64, work: &mut Vec<usize>, queued: &mut Vec<bool>| {
            let both = unsafe_in[to] | mask;
            if both != unsafe_in[to] {
                unsafe_in[to] = both;
                if !queued[to] {
                    queued[to] = true;
                    work.push(to);
                }
            }
        };
        let end = end_of(b);
        for i in starts[b]..end {
            for &h in &handlers[i] {
                push(h, mask, &mut work, &mut queued);
            }
            match code.instrs[i] {
                Instr::DeleteFast(k) => mask |= bit(k),
                Instr::StoreFast(k) => mask &= !bit(k),
                Instr::LoadFast(k) => {
                    if mask & bit(k) != 0 {
                        checked[i] = true;
                    }
                    mask &= !bit(k);
                }
                _ => {}
            }
        }
        let last = code.instrs[end - 1];
        if falls_through(last) && end < n {
            push(b + 1, mask, &mut work, &mut queued);
        }
        if let Some(t) = target(last) {
            if !matches!(last, Instr::SetupFinally(_)) && t < n {
                push(block_of(t), mask, &mut work, &mut queued);
            }
        }
    }
    checked
}

const SUPPORT_KILLED: u8 = 1;
const STORED_AS_LOCAL: u8 = 2;
const REF_UNCONSUMED: u8 = 4;

#[derive(Clone, Copy)]
struct Ref {
    /// The (first) load that pushed it, or none.
    instr: Option<usize>,
    local: Option<u32>,
}

const DUMMY: Ref = Ref { instr: None, local: None };

/// The list, set and dict comprehensions 3.12+ inline into their function (PEP 709); a
/// generator expression stays a function of its own.
fn inlined(code: &Code) -> bool {
    matches!(code.name.as_str(), "<listcomp>" | "<setcomp>" | "<dictcomp>")
}

/// In an inlined comprehension, the enclosing function's locals it reads: this VM reads
/// them from cells (its comprehension is a function), 3.14 with `LOAD_FAST` as any local
/// of the function — unless something that is not inlined captures the name too (a
/// lambda, a `def`, a generator expression), which makes it a real cell in 3.14 as well.
/// `(freevar's cell index, its load key)` for each such name.
fn inlined_reads(code: &Code, codes: &[std::sync::Arc<Code>]) -> Vec<(u32, u32)> {
    if !inlined(code) {
        return Vec::new();
    }
    // The function the comprehension is inlined into: the qualname before the first
    // comprehension in it.
    let root = ["<listcomp>", "<setcomp>", "<dictcomp>"]
        .iter()
        .filter_map(|c| code.qualname.find(&format!(".<locals>.{c}")))
        .min()
        .map(|at| format!("{}.<locals>.", &code.qualname[..at]));
    let Some(root) = root else { return Vec::new() };
    let captured_for_real =
        |name: &String| codes.iter().any(|c| c.qualname.starts_with(&root) && !inlined(c) && c.freevars.contains(name));
    code.freevars
        .iter()
        .enumerate()
        .filter(|(_, name)| !captured_for_real(name))
        .map(|(k, _)| {
            let cell = (code.cellvars.len() + k) as u32;
            (cell, 1_000_000 + cell)
        })
        .collect()
}

/// For each instruction of `code`: whether it is a `LoadFast` CPython 3.14 borrows, or (in
/// a comprehension 3.14 inlines) a `LoadDeref` of the enclosing function's local that
/// 3.14 loads as `LOAD_FAST` and borrows. `codes`: the process's code objects.
#[must_use]
pub fn borrowed_loads(code: &Code, codes: &[std::sync::Arc<Code>]) -> Vec<bool> {
    let outer = inlined_reads(code, codes);
    let outer_key = |i: Instr| match i {
        Instr::LoadDeref(c) => outer.iter().find(|(cell, _)| *cell == c).map(|(_, key)| *key),
        _ => None,
    };
    let n = code.instrs.len();
    let lead = leaders(code);
    let checked = checked_loads(code, &lead);
    let line = |i: usize| code.locs.get(i).map(|l| l.line);
    // Superinstructions: `id[i]` is the load whose flags decide (the pair's first); a load
    // fused after a store is never borrowed.
    let mut id: Vec<usize> = (0..n).collect();
    let mut after_store = vec![false; n];
    let plain = |i: usize| {
        (matches!(code.instrs[i], Instr::LoadFast(k) if k < 16) && !checked[i]) || outer_key(code.instrs[i]).is_some()
    };
    let mut i = 0;
    while i + 1 < n {
        let same_block_and_line = !lead[i + 1] && line(i) == line(i + 1);
        if same_block_and_line && plain(i) && plain(i + 1) {
            id[i + 1] = i;
            i += 2;
            continue;
        }
        if same_block_and_line && matches!(code.instrs[i], Instr::StoreFast(k) if k < 16) && plain(i + 1) {
            after_store[i + 1] = true;
            i += 2;
            continue;
        }
        i += 1;
    }
    // CPython walks the blocks from the entry along jumps and fall-throughs only: a block
    // reached only by an exception (an `except` body, a `finally` run by one) keeps its
    // loads strong.
    let starts: Vec<usize> = (0..n).filter(|&i| lead[i]).collect();
    let end_of = |b: usize| starts.get(b + 1).copied().unwrap_or(n);
    let block_of = |i: usize| starts.partition_point(|&s| s <= i) - 1;
    let mut reached = vec![false; starts.len()];
    let mut work = vec![0usize];
    while let Some(b) = work.pop() {
        if n == 0 || std::mem::replace(&mut reached[b], true) {
            continue;
        }
        let last = code.instrs[end_of(b) - 1];
        if falls_through(last) && b + 1 < starts.len() {
            work.push(b + 1);
        }
        if let Some(t) = target(last).filter(|&t| t < n && !matches!(last, Instr::SetupFinally(_))) {
            work.push(block_of(t));
        }
    }
    let mut flags = vec![0u8; n];
    let mut refs: Vec<Ref> = Vec::new();
    for (b, &start) in starts.iter().enumerate() {
        let end = end_of(b);
        if !reached[b] {
            for f in &mut flags[start..end] {
                *f |= REF_UNCONSUMED;
            }
            continue;
        }
        refs.clear();
        let pop = |refs: &mut Vec<Ref>| refs.pop().unwrap_or(DUMMY);
        let kill = |refs: &[Ref], flags: &mut [u8], local: u32| {
            for r in refs.iter().filter(|r| r.local == Some(local)) {
                if let Some(at) = r.instr {
                    flags[at] |= SUPPORT_KILLED;
                }
            }
        };
        for (i, &instr) in code.instrs.iter().enumerate().take(end).skip(start) {
            match instr {
                Instr::LoadFast(k) => refs.push(Ref { instr: Some(id[i]), local: Some(k) }),
                Instr::LoadDeref(_) if outer_key(instr).is_some() => {
                    refs.push(Ref { instr: Some(id[i]), local: outer_key(instr) });
                }
                Instr::StoreFast(k) => {
                    let r = pop(&mut refs);
                    kill(&refs, &mut flags, k);
                    if let Some(at) = r.instr {
                        flags[at] |= STORED_AS_LOCAL;
                    }
                }
                Instr::DupTop => {
                    let r = refs.last().copied().unwrap_or(DUMMY);
                    refs.push(r);
                }
                Instr::DupTopTwo => {
                    let k = refs.len();
                    let (a, b) = if k >= 2 { (refs[k - 2], refs[k - 1]) } else { (DUMMY, DUMMY) };
                    refs.extend([a, b]);
                }
                Instr::RotTwo | Instr::RotThree | Instr::RotFour => {
                    let depth = match instr {
                        Instr::RotTwo => 2,
                        Instr::RotThree => 3,
                        _ => 4,
                    };
                    while refs.len() < depth {
                        refs.insert(0, DUMMY);
                    }
                    let v = pop(&mut refs);
                    let at = refs.len() + 1 - depth;
                    refs.insert(at, v);
                }
                // `[obj]` -> `[method, self]`: the receiver stays on the stack.
                Instr::LoadMethod(_) => {
                    let obj = pop(&mut refs);
                    refs.push(Ref { instr: Some(i), local: None });
                    refs.push(obj);
                }
                // The value stays on the stack for the jump (CPython's COPY, TO_BOOL,
                // POP_JUMP_IF), so at the block's end it is still there.
                Instr::JumpIfFalseOrPop(_) | Instr::JumpIfTrueOrPop(_) => {}
                _ => {
                    let (pops, pushes) = effect(instr);
                    for _ in 0..pops {
                        pop(&mut refs);
                    }
                    for _ in 0..pushes {
                        refs.push(Ref { instr: Some(i), local: None });
                    }
                }
            }
        }
        for r in &refs {
            if let Some(at) = r.instr {
                flags[at] |= REF_UNCONSUMED;
            }
        }
    }
    (0..n)
        .map(|i| match code.instrs[i] {
            Instr::LoadFast(_) => !checked[i] && !after_store[i] && flags[id[i]] == 0,
            instr => outer_key(instr).is_some() && !after_store[i] && flags[id[i]] == 0,
        })
        .collect()
}
