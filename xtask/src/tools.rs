//! Installing what the build and the tests need, each only when missing.

use crate::{root, step, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The nightly the wasm build uses: threads need `-Z build-std` (see .cargo/config.toml).
pub const NIGHTLY: &str = "nightly-2026-05-20";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const WASM_PACK_VERSION: &str = "0.15.1";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Firefox ESR, named so that geckodriver runs it and not whatever `firefox` comes
/// first on PATH (Debian's `/usr/bin/firefox` is a shell wrapper around this).
pub const FIREFOX: &str = "/usr/bin/firefox-esr";
/// The oldest Firefox geckodriver 0.37 drives (its "Supported platforms" table: 128 ESR);
/// the tests need module workers and nested workers (Firefox 114+).
const FIREFOX_MIN_MAJOR: u32 = 128;
/// The latest geckodriver on crates.io; it builds `--locked` on the stable toolchain.
pub const GECKODRIVER_VERSION: &str = "0.37.1";

/// Runs a command, failing with its name when it does not succeed.
pub fn run(cmd: &mut Command) -> Result {
    let status = cmd.status().map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

/// A command's stdout, or `None` if it cannot run or fails.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A `cargo` for host work on the machine's default toolchain, whatever toolchain
/// the xtask itself was started with.
pub fn host_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

/// A `cargo` (or another rustup proxy) running on the pinned nightly.
pub fn nightly(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("RUSTUP_TOOLCHAIN", NIGHTLY);
    cmd
}

fn ensure_nightly() -> Result {
    let sysroot = output(nightly("rustc").args(["--print", "sysroot"]));
    let ready = sysroot.as_ref().is_some_and(|s| {
        let lib = Path::new(s).join("lib/rustlib");
        lib.join("src/rust/library").exists() && lib.join(WASM_TARGET).exists()
    });
    if !ready {
        // RUSTUP_AUTO_INSTALL=0 on CI: naming a toolchain installs nothing, so install it here.
        step(&format!("installing Rust {NIGHTLY} with rust-src, clippy and {WASM_TARGET}"));
        return run(Command::new("rustup").args([
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
            "-c",
            "rust-src",
            "-c",
            "clippy",
            "-t",
            WASM_TARGET,
        ]));
    }
    // A nightly installed before the lints ran (`cargo xtask test` checks the wasm build
    // with it) has no clippy: add it.
    if sysroot.is_some_and(|s| Path::new(&s).join("bin/cargo-clippy").exists()) {
        return Ok(());
    }
    step(&format!("adding clippy to Rust {NIGHTLY}"));
    run(Command::new("rustup").args(["component", "add", "clippy", "--toolchain", NIGHTLY]))
}

/// `cargo fmt` and `cargo clippy` on the host toolchain: a minimal rustup profile has neither.
fn ensure_host_lints() -> Result {
    let has = |tool: &str| output(host_cargo().args([tool, "--version"])).is_some();
    if has("fmt") && has("clippy") {
        return Ok(());
    }
    step("adding rustfmt and clippy to the host toolchain");
    run(Command::new("rustup").env_remove("RUSTUP_TOOLCHAIN").args(["component", "add", "rustfmt", "clippy"]))
}

/// The wasm-bindgen version in Cargo.lock: the CLI must be exactly the same.
pub fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).ok_or_else(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    Ok(lock[start..].split('"').next().unwrap_or_default().to_owned())
}

fn ensure_wasm_bindgen() -> Result {
    let version = locked_version("wasm-bindgen")?;
    if output(Command::new("wasm-bindgen").arg("--version")).is_some_and(|v| v == format!("wasm-bindgen {version}")) {
        return Ok(());
    }
    step(&format!("installing wasm-bindgen-cli {version} (about 2 minutes, once)"));
    // Not `--locked`: its lockfile pins a webpki-roots release the registry here lacks.
    run(host_cargo().args(["install", "wasm-bindgen-cli", "--version", &version]))
}

fn ensure_wasm_pack() -> Result {
    if output(Command::new("wasm-pack").arg("--version")).is_some_and(|v| v.ends_with(WASM_PACK_VERSION)) {
        return Ok(());
    }
    step(&format!("installing wasm-pack {WASM_PACK_VERSION} (about 2 minutes, once)"));
    run(host_cargo().args(["install", "wasm-pack", "--version", WASM_PACK_VERSION, "--locked"]))
}

fn apt_install(packages: &[&str]) -> Result {
    step(&format!("installing Debian packages: {}", packages.join(" ")));
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|u| u == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root_user { Command::new("apt-get") } else { Command::new("sudo") };
        if !root_user {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    apt(&[&["install", "-y", "-qq", "--no-install-recommends"][..], packages].concat())
}

fn ensure_browser() -> Result {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Firefox ESR from Debian, installed (or upgraded) when missing or older than geckodriver drives.
fn ensure_firefox() -> Result {
    let version = output(Command::new(FIREFOX).arg("--version")); // "Mozilla Firefox 153.7.0esr"
    let major = version.as_deref().and_then(|v| v.rsplit(' ').next()?.split('.').next()?.parse::<u32>().ok());
    if major.is_some_and(|m| m >= FIREFOX_MIN_MAJOR) {
        return Ok(());
    }
    apt_install(&["firefox-esr"])
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"));
    home.join("bin").join(name)
}

/// The geckodriver `ensure_geckodriver` installs.
pub fn geckodriver() -> PathBuf {
    cargo_bin("geckodriver")
}

fn ensure_geckodriver() -> Result {
    // "geckodriver 0.37.1 (<hg revision> <date>)", then copyright lines.
    let version = output(Command::new(geckodriver()).arg("--version"));
    if version.is_some_and(|v| v.split_whitespace().nth(1) == Some(GECKODRIVER_VERSION)) {
        return Ok(());
    }
    step(&format!("installing geckodriver {GECKODRIVER_VERSION} (about 2 minutes, once)"));
    run(host_cargo().args(["install", "geckodriver", "--version", GECKODRIVER_VERSION, "--locked"]))
}

/// `npm ci` in `dir` (relative to the root) when its lockfile changed since the last one.
fn npm_ci(dir: &str) -> Result {
    let path = root().join(dir);
    if output(Command::new("npm").arg("--version")).is_none() {
        apt_install(&["nodejs", "npm"])?;
    }
    let lock = std::fs::read(path.join("package-lock.json")).map_err(|e| format!("{dir}/package-lock.json: {e}"))?;
    let stamp = path.join("node_modules/.threadlab-lock");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    step(&format!("installing npm packages of {dir} (npm ci)"));
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&path))?;
    std::fs::write(&stamp, lock).map_err(|e| e.to_string())
}

/// The binaryen release `tools/package.json` pins (`wasm-opt --version` says "version 132").
const BINARYEN_VERSION: &str = "132";

/// binaryen's `wasm-opt` from npm: Emscripten's build of it, a script that node runs with the
/// optimizer inside as wasm, so nothing native is downloaded. Debian's binaryen 108 cannot
/// parse today's wasm (and wasm-pack would pick `/usr/bin/wasm-opt` up and fail): not that one.
pub fn wasm_opt() -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tools/node_modules/binaryen/bin/wasm-opt"));
    cmd
}

fn ensure_wasm_opt() -> Result {
    npm_ci("tools")?;
    let version = output(wasm_opt().arg("--version")); // "wasm-opt version 132 (version_132)"
    if version.as_deref().and_then(|v| v.split_whitespace().nth(2)) == Some(BINARYEN_VERSION) {
        return Ok(());
    }
    Err(format!("tools/node_modules has no working wasm-opt {BINARYEN_VERSION} (it said {version:?})"))
}

/// What building the app needs: the nightly, wasm-bindgen-cli and wasm-opt.
pub fn ensure_build_tools() -> Result {
    ensure_nightly()?;
    ensure_wasm_bindgen()?;
    ensure_wasm_opt()
}

/// What `cargo xtask lint` needs: rustfmt and clippy on the host, the nightly with clippy.
pub fn ensure_lint_tools() -> Result {
    ensure_host_lints()?;
    ensure_nightly()
}

/// What the browser tests need on top: wasm-pack, Chromium + ChromeDriver, Firefox ESR +
/// geckodriver, npm packages.
pub fn ensure_test_tools() -> Result {
    ensure_wasm_pack()?;
    ensure_browser()?;
    ensure_firefox()?;
    ensure_geckodriver()?;
    npm_ci("tests/e2e")
}
