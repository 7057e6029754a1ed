//! `cargo xtask test`: every test, in a real browser where it matters.
//!
//! 1. `cargo fmt --check` and clippy, on the host and for wasm32 with and without threads
//!    (see [`crate::lint`]): a warning fails the command;
//! 2. native `cargo test` of the core and the xtask (stable toolchain);
//! 3. `wasm-pack test --headless --chrome`: wasm-bindgen tests in Debian's Chromium, then
//!    the same tests with `--firefox` in Debian's Firefox ESR (geckodriver from crates.io);
//! 4. the release build, served by the same code as `cargo xtask serve`, driven
//!    end to end by Playwright (`playwright-core` + `/usr/bin/chromium`).
//!
//! A browser test that cannot run fails the command: nothing is skipped quietly.

use crate::build::{self, BUILD_STD};
use crate::tools::{self, host_cargo, nightly, run, CHROMEDRIVER, CHROMIUM, FIREFOX};
use crate::{lint, root, serve, step, Result};
use std::process::Command;
use std::time::Instant;

pub fn command(args: &[String]) -> Result {
    if let Some(other) = args.first() {
        return Err(format!("test: unknown option {other:?}"));
    }
    let root = root();
    // The suite builds the crate six ways (lint, native tests, wasm tests, three release
    // modules); cargo's incremental caches for those came to 1.2 GB of a clean clone's 5.1 GB,
    // and CI once ran out of disk. A whole-suite run gains nothing from them: every child
    // cargo builds from scratch or from its own finished artifacts.
    std::env::set_var("CARGO_INCREMENTAL", "0");
    let mut times = Vec::new();
    let mut timed = |name: &'static str, f: &mut dyn FnMut() -> Result| -> Result {
        let began = Instant::now();
        f()?;
        times.push((name, began.elapsed().as_secs_f64()));
        Ok(())
    };
    timed("install", &mut || {
        tools::ensure_build_tools()?;
        tools::ensure_lint_tools()?;
        tools::ensure_test_tools()
    })?;
    for (name, lint) in lint::STEPS {
        timed(name, &mut || lint(&root))?;
    }

    // Chromium writes profiles and caches under ~/.config and ~/.cache; keep them in target/.
    // Firefox's too, and geckodriver's fresh profile for each session (--profile-root below).
    let scratch = root.join("target/browser-home");
    std::fs::create_dir_all(scratch.join("config")).map_err(|e| e.to_string())?;
    // Firefox creates the XDG download folder when it starts: ~/Downloads unless this says where.
    let downloads = format!("XDG_DOWNLOAD_DIR=\"{}\"\n", scratch.join("downloads").display());
    std::fs::write(scratch.join("config/user-dirs.dirs"), downloads).map_err(|e| e.to_string())?;
    let browser_env = |cmd: &mut Command| {
        cmd.env("XDG_CONFIG_HOME", scratch.join("config")).env("XDG_CACHE_HOME", scratch.join("cache"));
    };

    timed("native tests", &mut || {
        step("native tests (cargo test --workspace)");
        run(host_cargo().current_dir(&root).args(["test", "--workspace"]))
    })?;

    timed("wasm tests, Chromium", &mut || {
        step("browser tests in headless Chromium (wasm-pack test --headless --chrome)");
        let mut cmd = nightly("wasm-pack");
        cmd.current_dir(&root)
            .args(["test", "--headless", "--chrome", "--chromedriver", CHROMEDRIVER, "--"])
            .args(BUILD_STD)
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
        browser_env(&mut cmd);
        run(&mut cmd)
    })?;

    timed("wasm tests, Firefox", &mut || {
        step("browser tests in headless Firefox ESR (wasm-pack test --headless --firefox)");
        let profiles = scratch.join("firefox-profiles");
        std::fs::create_dir_all(&profiles).map_err(|e| e.to_string())?;
        let geckodriver = tools::geckodriver();
        let mut cmd = nightly("wasm-pack");
        cmd.current_dir(&root)
            .args(["test", "--headless", "--firefox", "--geckodriver"])
            .arg(&geckodriver)
            .arg("--")
            .args(BUILD_STD)
            .env("GECKODRIVER", &geckodriver)
            // wasm-bindgen-test-runner appends these to geckodriver's command line (split
            // like a shell would): Debian's ESR binary itself rather than the first `firefox`
            // on PATH, and the throw-away profiles in target/, not /tmp.
            .env("GECKODRIVER_ARGS", format!("--binary '{FIREFOX}' --profile-root '{}'", profiles.display()))
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
        browser_env(&mut cmd);
        run(&mut cmd)
    })?;

    let mut site = None;
    timed("release build", &mut || {
        site = Some(build::site(&root)?);
        Ok(())
    })?;

    timed("end-to-end tests", &mut || {
        let addr = serve::spawn(site.clone().expect("built above"))?;
        let plain = serve::spawn_with(site.clone().expect("built above"), serve::Headers::NotIsolated)?;
        // A course page on another origin, with no isolation headers, embedding ThreadLab.
        let course = root.join("target/course");
        std::fs::create_dir_all(&course).map_err(|e| e.to_string())?;
        std::fs::write(
            course.join("index.html"),
            format!(
                "<!doctype html><title>A course</title><link rel=\"icon\" href=\"data:,\"><h1>A course page</h1>\
                 <iframe id=\"lab\" src=\"http://{addr}/?embed=1\" width=\"400\" height=\"800\" \
                 allow=\"cross-origin-isolated\"></iframe>"
            ),
        )
        .map_err(|e| e.to_string())?;
        let course = serve::spawn_with(course, serve::Headers::Plain)?;
        // `cargo xtask dist`'s folder under a sub-path of a host that sends no headers at all.
        let host = root.join("target/dist-host");
        build::assemble_dist(&root, site.as_ref().expect("built above"), &host.join("threadlab"))?;
        let host = serve::spawn_with(host, serve::Headers::Plain)?;
        step(&format!("end-to-end tests with Playwright against http://{addr}/"));
        let artifacts = root.join("target/e2e");
        std::fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("node");
        cmd.current_dir(root.join("tests/e2e"))
            .args(["--test", "--test-concurrency=1"])
            .env("THREADLAB_URL", format!("http://{addr}/"))
            .env("THREADLAB_PLAIN_URL", format!("http://{plain}/"))
            // Another origin: localhost, where the app is at 127.0.0.1.
            .env("THREADLAB_COURSE_URL", format!("http://localhost:{}/", course.port()))
            .env("THREADLAB_DIST_URL", format!("http://{host}/threadlab/"))
            .env("CHROMIUM", CHROMIUM)
            .env("ARTIFACTS", &artifacts);
        browser_env(&mut cmd);
        run(&mut cmd)
    })?;

    step("all tests passed");
    for (name, secs) in times {
        eprintln!("    {name:<24} {secs:>6.1} s");
    }
    Ok(())
}
