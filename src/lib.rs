//! ThreadLab: see and measure how sequential code, threads and processes behave.
//!
//! [`core`] is plain Rust (workloads, validation, messages, timeline maths, Python
//! equivalents) with native tests. [`web`] is the thin browser layer: the page, the
//! threads host and the process worker. See ARCHITECTURE.md.

// Since rust-lang/rust#147225 a wasm build without these flags links fine but its
// memory is not shared, and wasm-bindgen then quietly emits single-threaded glue.
// Refuse to build such a ThreadLab: its "threads" would be a lie.
#[cfg(all(target_arch = "wasm32", any(feature = "threads", feature = "vm-module"), not(target_feature = "atomics")))]
compile_error!("ThreadLab's wasm build needs `+atomics,+bulk-memory` and shared memory: build it with `cargo xtask build`, which passes the flags in .cargo/config.toml and -Z build-std.");

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod web;
