//! The Python VM of issue 14 (docs/python-vm.md): source → lexer → parser → compiler →
//! code objects → the loop of `vm.rs`. See the top of `vm.rs` for how threads drive it.

#![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]
// Casts between the VM's u32 operands/indices and usize/i64: every table is far below
// 2^32 entries (the compiler's and the heap's budgets bound them).
#![allow(clippy::missing_errors_doc, clippy::missing_panics_doc)]
// Every `R<T>` of the VM fails the one way: a Python exception (`Flow::Exc`) the loop
// raises, or a budget/Stop/block `Flow` it passes to its driver (vm.rs says which). The
// `expect`s are the compiler's own invariants (a class body has a namespace, a jump a
// patched target).

pub mod ast;
pub mod bigops;
pub mod borrow;
pub mod builtins;
pub mod code;
pub mod compile;
pub mod exc;
pub mod fast;
pub mod format;
pub mod free;
pub mod gen;
pub mod heap;
pub mod inspect;
pub mod instr;
pub mod lexer;
pub mod mp;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod ops;
pub mod parser;
pub mod program;
pub mod random;
#[allow(clippy::module_inception)]
pub mod vm;
pub mod warm;

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod tests;

pub use program::run_program;
pub use vm::{run, Exit, Interp, ThreadState};
