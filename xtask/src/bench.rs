//! `cargo xtask bench`: the experiments measured in headless Chromium against the
//! release build, as ratios taken within one run, written to `target/bench/report.json`,
//! with the same experiments in CPython (tests/bench/cpython_bench.py) and the CPU
//! kernel natively (examples/kernel_speed.rs), in the same command on the same machine.

use crate::tools::{self, host_cargo, run, CHROMIUM};
use crate::{build, root, serve, step, Result};
use std::process::Command;

pub fn command(args: &[String]) -> Result {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        _ => return Err(format!("bench: unknown options {args:?} (only --quick)")),
    };
    let root = root();
    tools::ensure_build_tools()?;
    tools::ensure_test_tools()?;
    let site = build::site(&root)?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;

    step("the CPU kernel natively (cargo run --profile native-bench --example kernel_speed)");
    let native = capture(host_cargo().current_dir(&root).args([
        "run",
        "--quiet",
        "--profile",
        "native-bench",
        "--example",
        "kernel_speed",
    ]))?;
    std::fs::write(out.join("native.json"), native).map_err(|e| e.to_string())?;
    let scripts = capture(host_cargo().current_dir(&root).args(["run", "--quiet", "--example", "inspector_scripts"]))?;
    std::fs::write(out.join("inspector_scripts.json"), scripts).map_err(|e| e.to_string())?;

    step("the same experiments in CPython (python3 tests/bench/cpython_bench.py)");
    let mut python = Command::new("python3");
    python.current_dir(&root).arg("tests/bench/cpython_bench.py").args(quick.then_some("--quick"));
    std::fs::write(out.join("cpython.json"), capture(&mut python)?).map_err(|e| e.to_string())?;

    let addr = serve::spawn(site.clone())?;
    step(&format!("benchmark in headless Chromium against http://{addr}/"));
    let scratch = root.join("target/browser-home");
    let mut cmd = Command::new("node");
    cmd.current_dir(root.join("tests/e2e"))
        .arg("bench.mjs")
        .args(quick.then_some("--quick"))
        .env("THREADLAB_URL", format!("http://{addr}/"))
        .env("THREADLAB_SITE", &site)
        .env("CHROMIUM", CHROMIUM)
        .env("ARTIFACTS", &out)
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .env("XDG_CACHE_HOME", scratch.join("cache"));
    run(&mut cmd)
}

/// A command's stdout; fails (with its stderr shown) when the command does.
fn capture(cmd: &mut Command) -> Result<Vec<u8>> {
    let out =
        cmd.stderr(std::process::Stdio::inherit()).output().map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!("{cmd:?} failed ({})", out.status))
    }
}
