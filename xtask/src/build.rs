//! Building the release app into `target/site/`: the page, its scripts and the wasm.

use crate::tools::{nightly, run, NIGHTLY};
use crate::{step, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `-Z build-std` rebuilds std with atomics; passed on wasm builds only so that host
/// builds stay on stable (a `[unstable]` table in .cargo/config.toml would apply to both).
pub const BUILD_STD: [&str; 2] = ["-Z", "build-std=panic_abort,std"];

/// Builds the app and assembles the site; returns the site folder.
///
/// # Errors
/// When a build step fails, or the glue came out single-threaded.
pub fn site(root: &Path) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    step(&format!("building the wasm app (release, {NIGHTLY})"));
    // `cargo rustc --crate-type cdylib` applies the release profile's LTO, which cargo
    // ignores for a crate that is both cdylib and rlib.
    run(nightly("cargo")
        .current_dir(root)
        .args(["rustc", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib"])
        .args(BUILD_STD))?;
    let site = root.join("target/site");
    let pkg = site.join("pkg");
    let _ = std::fs::remove_dir_all(&pkg);
    step("generating the JS glue (wasm-bindgen --target web)");
    run(Command::new("wasm-bindgen")
        .current_dir(root)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg)
        .arg("target/wasm32-unknown-unknown/release/threadlab.wasm"))?;
    let glue = std::fs::read_to_string(pkg.join("threadlab.js")).map_err(|e| e.to_string())?;
    if !glue.contains("shared:true") {
        return Err(
            "the wasm memory is not shared: the threaded build flags did not apply (see .cargo/config.toml)".into()
        );
    }
    // The same app without threads, for pages that are not cross-origin isolated (no
    // shared memory there): main thread and processes still work. Its own target dir
    // keeps the two builds from invalidating each other; RUSTFLAGS replaces the atomics
    // flags of .cargo/config.toml, and the stock wasm32 std needs no build-std.
    step("building the app without threads (for pages that are not cross-origin isolated)");
    run(nightly("cargo")
        .current_dir(root)
        .env("RUSTFLAGS", "-Cdebuginfo=0")
        .env("CARGO_TARGET_DIR", root.join("target/st"))
        .args(["rustc", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib"])
        .arg("--no-default-features"))?;
    let pkg_st = site.join("pkg-st");
    let _ = std::fs::remove_dir_all(&pkg_st);
    run(Command::new("wasm-bindgen")
        .current_dir(root)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg_st)
        .arg("target/st/wasm32-unknown-unknown/release/threadlab.wasm"))?;
    copy(&root.join("index.html"), &site.join("index.html"))?;
    copy_dir(&root.join("www"), &site.join("www"))?;
    eprintln!("    site ready in {} ({:.0} s)", site.display(), started.elapsed().as_secs_f64());
    Ok(site)
}

fn copy(from: &Path, to: &Path) -> Result {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::copy(from, to).map(drop).map_err(|e| format!("copying {}: {e}", from.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    let _ = std::fs::remove_dir_all(to);
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            copy(&path, &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
