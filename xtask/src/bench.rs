//! `cargo xtask bench`: the experiments measured in headless Chromium against the
//! release build, as ratios taken within one run, written to `target/bench/report.json`.

use crate::tools::{self, run, CHROMIUM};
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
    let addr = serve::spawn(site)?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    step(&format!("benchmark in headless Chromium against http://{addr}/"));
    let scratch = root.join("target/browser-home");
    let mut cmd = Command::new("node");
    cmd.current_dir(root.join("tests/e2e"))
        .arg("bench.mjs")
        .args(quick.then_some("--quick"))
        .env("THREADLAB_URL", format!("http://{addr}/"))
        .env("CHROMIUM", CHROMIUM)
        .env("ARTIFACTS", &out)
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .env("XDG_CACHE_HOME", scratch.join("cache"));
    run(&mut cmd)
}
