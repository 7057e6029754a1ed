//! `cargo xtask`: the project's own build, serve and test commands.
//!
//! Everything a fresh Debian machine with rustup needs is installed here, by name and
//! version, and skipped when already present (see [`tools`]). Host code (this xtask,
//! native tests) builds with the machine's stable toolchain; the wasm app builds with
//! the pinned nightly, which the xtask installs and selects per child process.

mod bench;
mod build;
mod lint;
mod serve;
mod test;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <command>

  serve [--port N] [--host ADDR]   install what is missing, build, serve at http://127.0.0.1:8080/
  test                             install what is missing, build, run every test
  bench [--quick]                  measure in headless Chromium; writes target/bench/report.json
  lint                             cargo fmt --check and clippy (host, wasm32 with and without threads)
  build                            build the release app into target/site/
  dist                             a self-contained dist/ for static hosts (_headers, service worker)
  setup [--browser]                only install what is missing

";

/// The repository root (the xtask lives in `<root>/xtask`).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask has a parent").to_path_buf()
}

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("serve") => serve::command(&args[1..]),
        Some("test") => test::command(&args[1..]),
        Some("lint") => tools::ensure_lint_tools().and_then(|()| lint::command(&root())),
        Some("bench") => bench::command(&args[1..]),
        Some("build") => tools::ensure_build_tools().and_then(|()| build::site(&root())).map(drop),
        Some("dist") => tools::ensure_build_tools().and_then(|()| build::dist(&root())).map(drop),
        Some("setup") => tools::ensure_build_tools().and_then(|()| {
            if args.iter().any(|a| a == "--browser") {
                tools::ensure_test_tools()
            } else {
                Ok(())
            }
        }),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a step heading, like cargo's own status lines.
fn step(what: &str) {
    eprintln!("\x1b[1;36m==>\x1b[0m {what}");
}
