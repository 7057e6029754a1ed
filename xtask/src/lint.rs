//! Formatting and clippy, before any test: `cargo xtask lint`, and the first steps of
//! `cargo xtask test`.
//!
//! The lints are in Cargo.toml (`[workspace.lints]`), what wasm32 cannot do in clippy.toml.
//! The app is linted as it is built: on the host (the core, its tests, the examples, this
//! xtask), then for wasm32 with threads (the nightly and build-std, as `cargo xtask build`;
//! with the browser tests) and without (the build for pages that are not cross-origin
//! isolated), since `cfg(feature = "threads")` and `target_feature = "atomics"` hide code
//! from one build or the other; and the Python VM's module (`--features vm-module`) and the
//! Lesson tab's (`--features lesson-module`), whose browser layers are other sets of files.

use crate::build::{BUILD_STD, SINGLE_THREADED_RUSTFLAGS};
use crate::tools::{host_cargo, nightly, run};
use crate::{step, Result};
use std::path::Path;

/// One lint step, run at the repository root.
type Lint = fn(&Path) -> Result;

/// The lint steps, in order, each with its name for the timings.
pub const STEPS: [(&str, Lint); 6] = [
    ("formatting", formatting),
    ("clippy, host", clippy_host),
    ("clippy, wasm threads", clippy_wasm_threads),
    ("clippy, wasm no threads", clippy_wasm_single),
    ("clippy, wasm VM module", clippy_wasm_vm),
    ("clippy, wasm lesson module", clippy_wasm_lesson),
];

/// `cargo xtask lint`: every step, stopping at the first that fails.
pub fn command(root: &Path) -> Result {
    for (_, lint) in STEPS {
        lint(root)?;
    }
    Ok(())
}

fn formatting(root: &Path) -> Result {
    step("formatting (cargo fmt --all -- --check)");
    run(host_cargo().current_dir(root).args(["fmt", "--all", "--", "--check"]))
}

fn clippy_host(root: &Path) -> Result {
    step("clippy on the host (cargo clippy --workspace --all-targets -- -D warnings)");
    run(host_cargo().current_dir(root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

fn clippy_wasm_threads(root: &Path) -> Result {
    step("clippy for wasm32 with threads, the app and its browser tests");
    run(nightly("cargo")
        .current_dir(root)
        .args(["clippy", "--lib", "--tests", "--target", "wasm32-unknown-unknown"])
        .args(BUILD_STD)
        .args(["--", "-D", "warnings"]))
}

fn clippy_wasm_single(root: &Path) -> Result {
    step("clippy for wasm32 without threads");
    // The target dir and flags of the single-threaded release build (see build.rs).
    run(nightly("cargo")
        .current_dir(root)
        .env("RUSTFLAGS", SINGLE_THREADED_RUSTFLAGS)
        .env("CARGO_TARGET_DIR", root.join("target/st"))
        .args(["clippy", "--lib", "--target", "wasm32-unknown-unknown", "--no-default-features"])
        .args(["--", "-D", "warnings"]))
}

fn clippy_wasm_vm(root: &Path) -> Result {
    step("clippy for wasm32, the Python VM's module (--features vm-module)");
    run(nightly("cargo")
        .current_dir(root)
        .args([
            "clippy",
            "--lib",
            "--target",
            "wasm32-unknown-unknown",
            "--no-default-features",
            "--features",
            "vm-module",
        ])
        .args(BUILD_STD)
        .args(["--", "-D", "warnings"]))
}

fn clippy_wasm_lesson(root: &Path) -> Result {
    step("clippy for wasm32, the Lesson tab's module (--features lesson-module, no threads)");
    // The target dir and flags of its release build (see build.rs).
    run(nightly("cargo")
        .current_dir(root)
        .env("RUSTFLAGS", SINGLE_THREADED_RUSTFLAGS)
        .env("CARGO_TARGET_DIR", root.join("target/st"))
        .args(["clippy", "--lib", "--target", "wasm32-unknown-unknown", "--no-default-features"])
        .args(["--features", "lesson-module", "--", "-D", "warnings"]))
}
