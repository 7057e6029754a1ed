//! Runs a Python file on ThreadLab's VM natively and prints what it printed, then the
//! result's summary on stderr: `cargo run --release --example py -- prog.py`
//! (`-- --nogil prog.py`: free-threaded).
//! For comparing with `python3 prog.py` on the same machine (docs/python-vm.md).
#![allow(clippy::disallowed_methods)]

// The native host runs on std threads: there is nothing to run on wasm32, where
// `cargo test --target wasm32-unknown-unknown` still builds every example.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::sync::Arc;
    use threadlab::core::program::ProgramOptions;
    use threadlab::core::py::vm::{native::NativeHost, run_program};

    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let nogil = args.first().is_some_and(|a| a == "--nogil");
    if nogil {
        args.remove(0);
    }
    let Some(path) = args.first().cloned() else {
        eprintln!("usage: cargo run --release --example py -- [--nogil] FILE.py");
        std::process::exit(2);
    };
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let result = run_program(
        &source,
        &ProgramOptions { gil: !nogil, ..ProgramOptions::default() },
        Arc::new(NativeHost::default()),
    );
    print!("{}", result.stdout);
    eprintln!(
        "[threadlab] exit {} in {:.1} ms, {} lanes, {} GIL hand-overs{}",
        result.exit_code,
        result.wall_ms,
        result.lanes.len(),
        result.gil_switches,
        result.error.map(|e| format!(", {}: {} (line {})", e.kind, e.message, e.line)).unwrap_or_default()
    );
    std::process::exit(result.exit_code);
}
