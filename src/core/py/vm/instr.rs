//! The VM's instructions, named after CPython 3.11's `dis` so that a student's `dis` and
//! ours read alike. Operands are indices into the code object's tables.
//!
//! Eval-breaker sites (docs/python-vm.md §1), the only arms that call `check_eval_breaker`:
//! `Resume` (a function's start), `JumpBackward`, `PopJumpBackwardIfFalse/True` when taken,
//! and `Call*` after a call to something that is not a Python function has returned.
//! `BREAKER_SITES` lists them; a test reads vm.rs and checks that no other arm calls it.

use super::ast::{BinOp, CmpOp};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    Nop,
    /// Breaker site: a function's (or the module's) start, and a generator's after each
    /// `YieldValue` (CPython's `RESUME 1`).
    Resume,
    LoadConst(u32),
    LoadFast(u32),
    StoreFast(u32),
    DeleteFast(u32),
    /// A module global by slot (`Interp::global_names`).
    LoadGlobal(u32),
    StoreGlobal(u32),
    DeleteGlobal(u32),
    /// Class bodies: the namespace first, then globals, then builtins (name index).
    LoadName(u32),
    StoreName(u32),
    DeleteName(u32),
    LoadDeref(u32),
    StoreDeref(u32),
    /// Pushes the cell itself (to build a closure).
    LoadClosure(u32),
    LoadAttr(u32),
    StoreAttr(u32),
    DeleteAttr(u32),
    /// Pushes `[callable, self_or_null]` for `CallMethod`.
    LoadMethod(u32),
    BinarySubscr,
    StoreSubscr,
    DeleteSubscr,
    BuildSlice(u8),
    BinaryOp(BinOp),
    /// The in-place form (`+=`): lists extend in place.
    InplaceOp(BinOp),
    UnaryNeg,
    UnaryPos,
    UnaryNot,
    UnaryInvert,
    CompareOp(CmpOp),
    PopTop,
    /// `POP_TOP` of a `for` loop's iterator when `break`, `return` or `continue` of an
    /// outer loop leaves it: the iterator may be the last reference to a generator that
    /// must be closed now (`gen.rs`, "Closing dropped generators").
    PopIter,
    DupTop,
    DupTopTwo,
    RotTwo,
    RotThree,
    RotFour,
    BuildTuple(u32),
    BuildList(u32),
    BuildSet(u32),
    BuildMap(u32),
    /// `[*a, *b]`, `f(*a)`: extend the list below TOS with TOS.
    ListExtend,
    ListAppend(u32),
    SetAdd(u32),
    MapAdd(u32),
    DictUpdate,
    ListToTuple,
    UnpackSequence(u32),
    /// `a, *b, c`: (before, after).
    UnpackEx(u16, u16),
    GetIter,
    /// Next item or jump (popping the iterator) to the target.
    ForIter(u32),
    JumpForward(u32),
    /// Breaker site.
    JumpBackward(u32),
    PopJumpIfFalse(u32),
    PopJumpIfTrue(u32),
    JumpIfFalseOrPop(u32),
    JumpIfTrueOrPop(u32),
    /// Positional call: `[callable, self_or_null, args…]`.
    Call(u32),
    /// Like `Call`, the last `n` of the args named by the tuple constant.
    CallKw(u32, u32),
    /// `f(*args, **kwargs)`: `[callable, self_or_null, args tuple, kwargs dict or Null]`.
    CallEx,
    PushNull,
    /// Breaker site only when it ends a generator drained for a builtin's call
    /// (`gen::GenMode::Drain`): that call returned (CPython's `CALL` check).
    ReturnValue,
    /// The code object's index in `Interp::codes` (low 24 bits); flags (high 8): 1 defaults
    /// tuple, 2 kwdefaults dict, 8 closure tuple, popped in that order from the top.
    MakeFunction(u32),
    /// `[function, name, bases tuple]`: runs the body function, then builds the class.
    BuildClass,
    RaiseVarargs(u8),
    /// Re-raises the exception on TOS with its traceback.
    Reraise,
    SetupFinally(u32),
    PopBlock,
    /// Handler entry: TOS is the exception; it becomes the one being handled.
    PushExcInfo,
    /// Handler exit: pops the exception from the stack and from the handled ones.
    PopExcept,
    /// `[exc, type]` → `[exc, bool]`.
    CheckExcMatch,
    /// `[mgr]` → `[exit bound, enter()]`.
    BeforeWith,
    /// In a `with`'s exception handler: `[exit, exc]` → calls `exit(type, exc, tb)`; a true
    /// result swallows the exception.
    WithExceptStart,
    FormatValue(u8),
    BuildString(u32),
    ImportName(u32),
    ImportFrom(u32),
    LoadAssertionError,
    /// A generator function's first instruction: its frame becomes a generator, returned.
    ReturnGenerator,
    /// Suspends the generator, handing TOS to whoever resumed it; on resume the value sent
    /// in is pushed. Breaker site only when `next()`/`send()` resumed it: CPython checks in
    /// that call once it returned (the next instruction, `Resume`, is the generator's own).
    YieldValue,
    /// `yield from`: `[iter, value]` → sends the value into `iter`; its next item on top,
    /// or (the end) the iterator replaced by its return value and a jump to the target.
    Send(u32),
    /// `yield from`'s loop back to `Send`: deliberately not a breaker site (CPython's).
    JumpBackwardNoInterrupt(u32),
    /// Builds a function's frame-local namespace into a dict (class bodies).
    LoadLocals,
}

/// The instruction arms of vm.rs allowed to call `check_eval_breaker` (the conditional
/// jumps only when they jump backward, as CPython's `POP_JUMP_BACKWARD_IF_*`; the calls
/// only after a callee that is not a Python function returned).
pub const BREAKER_SITES: [&str; 9] = [
    "Resume",
    "JumpBackward",
    "PopJumpIfFalse",
    "PopJumpIfTrue",
    "Call",
    "CallKw",
    "CallEx",
    "YieldValue",
    "ReturnValue",
];
