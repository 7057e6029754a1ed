//! Building the release app into `target/site/`: the page, its scripts and the wasm.

use crate::tools::{nightly, run, wasm_opt, NIGHTLY};
use crate::{step, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `-Z build-std` rebuilds std with atomics; passed on wasm builds only so that host
/// builds stay on stable (a `[unstable]` table in .cargo/config.toml would apply to both).
pub const BUILD_STD: [&str; 2] = ["-Z", "build-std=panic_abort,std"];

/// RUSTFLAGS of the build without threads: they replace the atomics flags of
/// .cargo/config.toml (clippy's check of that build uses them too).
pub const SINGLE_THREADED_RUSTFLAGS: &str = "-Cdebuginfo=0 -Zlocation-detail=none";

/// wasm-bindgen's options for the shipped glue. The name section (function names for
/// stack traces, 387 KB of 1.5 MB) is dropped: panics still print their message.
const GLUE_FLAGS: [&str; 5] =
    ["--target", "web", "--no-typescript", "--remove-name-section", "--remove-producers-section"];

/// wasm-opt's passes, chosen by their gzip size (ARCHITECTURE.md, "The build"): plain `-Oz`
/// makes the wasm 6 % smaller but its gzip 0.7 % bigger; these five passes of it grow the
/// gzip (inlining the most, by 1.5 %), and without them it is 1.6 % smaller than rustc's.
/// The target-features section only tells tools what the module uses.
const WASM_OPT_PASSES: [&str; 7] = [
    "-Oz",
    "--skip-pass=inlining-optimizing",
    "--skip-pass=local-cse",
    "--skip-pass=simplify-locals",
    "--skip-pass=ssa-nomerge",
    "--skip-pass=merge-similar-functions",
    "--strip-target-features",
];

/// The features the threaded build uses beyond wasm-opt's defaults (shared memory,
/// atomics). wasm-opt also reads them from the module's target-features section, which
/// wasm-bindgen keeps today; named here, the build does not depend on that.
const THREAD_FEATURES: [&str; 2] = ["--enable-threads", "--enable-bulk-memory"];

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
        .args(GLUE_FLAGS)
        .arg("--out-dir")
        .arg(&pkg)
        .arg("target/wasm32-unknown-unknown/release/threadlab.wasm"))?;
    let glue = std::fs::read_to_string(pkg.join("threadlab.js")).map_err(|e| e.to_string())?;
    if !glue.contains("shared:true") {
        return Err(
            "the wasm memory is not shared: the threaded build flags did not apply (see .cargo/config.toml)".into()
        );
    }
    modern_rayon_init(&pkg)?;
    optimize(&pkg.join("threadlab_bg.wasm"), &THREAD_FEATURES)?;
    vm_module(root, &site.join("pkg-vm"))?;
    // The same app without threads, for pages that are not cross-origin isolated (no
    // shared memory there): main thread and processes still work. Its own target dir
    // keeps the two builds from invalidating each other; RUSTFLAGS replaces the atomics
    // flags of .cargo/config.toml, and the stock wasm32 std needs no build-std.
    step("building the app without threads (for pages that are not cross-origin isolated)");
    run(nightly("cargo")
        .current_dir(root)
        .env("RUSTFLAGS", SINGLE_THREADED_RUSTFLAGS)
        .env("CARGO_TARGET_DIR", root.join("target/st"))
        .args(["rustc", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib"])
        .arg("--no-default-features"))?;
    let pkg_st = site.join("pkg-st");
    let _ = std::fs::remove_dir_all(&pkg_st);
    run(Command::new("wasm-bindgen")
        .current_dir(root)
        .args(GLUE_FLAGS)
        .arg("--out-dir")
        .arg(&pkg_st)
        .arg("target/st/wasm32-unknown-unknown/release/threadlab.wasm"))?;
    optimize(&pkg_st.join("threadlab_bg.wasm"), &[])?;
    lesson_module(root, &site.join("pkg-lesson"))?;
    copy(&root.join("index.html"), &site.join("index.html"))?;
    copy_dir(&root.join("www"), &site.join("www"))?;
    eprintln!("    site ready in {} ({:.0} s)", site.display(), started.elapsed().as_secs_f64());
    Ok(site)
}

/// LLVM's inlining budget for the VM module: opt-level 3's is 250, "s"'s 75. Passed to the
/// final crate only (`cargo rustc -- …`); with fat LTO that session optimises all of it, std
/// included. Measured in Chromium, best of five, the builds' pages taken in turn
/// (docs/python-vm.md §8.4): at 75 the module is 506 KB gzipped instead of 590, and
/// py_parallel.py's loop (178 ms against 194), py_cpu.py (26.1 against 27.4) and the
/// free-threaded threads (81–95 ms, as at 250) are no slower. Below 75 it shrinks little more
/// (50: 497 KB) and that loop slows down (200–218 ms), as it does with a smaller budget for
/// `#[inline]` functions (`-inlinehint-threshold` 200: 191 ms; 100: 219 ms).
const VM_INLINING: [&str; 2] = ["-C", "llvm-args=-inline-threshold=75"];

/// The Python VM's own module (docs/python-vm.md §8.4), into `pkg`: this crate again, with
/// the `vm-module` feature (a program's workers only, no page) and the `vm` profile
/// (opt-level 3, with [`VM_INLINING`]), then wasm-opt's speed passes. The `vm` profile has
/// its own folder under target/, so the page's build and this one never replace each other's
/// output (a cdylib's file name has no hash); the atomics flags of .cargo/config.toml apply
/// to both.
///
/// # Errors
/// When a build step fails, or the glue came out single-threaded.
fn vm_module(root: &Path, pkg: &Path) -> Result {
    step("building the Python VM's module (profile vm: opt-level 3, feature vm-module)");
    run(nightly("cargo")
        .current_dir(root)
        .args(["rustc", "--lib", "--profile", "vm", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib"])
        .args(["--no-default-features", "--features", "vm-module"])
        .args(BUILD_STD)
        .args(["--"])
        .args(VM_INLINING))?;
    let _ = std::fs::remove_dir_all(pkg);
    run(Command::new("wasm-bindgen")
        .current_dir(root)
        .args(GLUE_FLAGS)
        .args(["--out-name", "threadlab_vm", "--out-dir"])
        .arg(pkg)
        .arg("target/wasm32-unknown-unknown/vm/threadlab.wasm"))?;
    let glue = std::fs::read_to_string(pkg.join("threadlab_vm.js")).map_err(|e| e.to_string())?;
    if !glue.contains("shared:true") {
        return Err("the VM module's memory is not shared: the threaded build flags did not apply".into());
    }
    let wasm = pkg.join("threadlab_vm_bg.wasm");
    let started = std::time::Instant::now();
    step(&format!("optimizing {} (wasm-opt -O3: for speed)", wasm.display()));
    run(wasm_opt().args(THREAD_FEATURES).args(["-O3", "--strip-target-features"]).arg(&wasm).arg("-o").arg(&wasm))?;
    eprintln!("    wasm-opt took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The Lesson tab's own module (src/web/lesson.rs), into `pkg`: this crate again, with the
/// `lesson-module` feature (the lesson, drawn into the page's box, its cells run by the page) and
/// without threads (it runs on the page's thread, and must load on pages without isolation
/// too), with the page's flags and target dir for that, and the `lesson` profile so that its
/// output does not replace the page's (`target/st/wasm32-unknown-unknown/lesson/`). The page
/// imports it when the tab is first looked at: not in the first load (issue 7's budget).
///
/// # Errors
/// When a build step fails.
fn lesson_module(root: &Path, pkg: &Path) -> Result {
    step("building the Lesson tab's module (profile lesson, feature lesson-module, no threads)");
    run(nightly("cargo")
        .current_dir(root)
        .env("RUSTFLAGS", SINGLE_THREADED_RUSTFLAGS)
        .env("CARGO_TARGET_DIR", root.join("target/st"))
        .args(["rustc", "--lib", "--profile", "lesson", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib"])
        .args(["--no-default-features", "--features", "lesson-module"]))?;
    let _ = std::fs::remove_dir_all(pkg);
    run(Command::new("wasm-bindgen")
        .current_dir(root)
        .args(GLUE_FLAGS)
        .args(["--out-name", "threadlab_lesson", "--out-dir"])
        .arg(pkg)
        .arg("target/st/wasm32-unknown-unknown/lesson/threadlab.wasm"))?;
    optimize(&pkg.join("threadlab_lesson_bg.wasm"), &[])
}

/// Runs wasm-opt on a glue's wasm in place, after wasm-bindgen (which rewrites the module).
fn optimize(wasm: &Path, features: &[&str]) -> Result {
    let started = std::time::Instant::now();
    step(&format!("optimizing {} (wasm-opt -Oz, less the passes that grow its gzip)", wasm.display()));
    run(wasm_opt().args(features).args(WASM_OPT_PASSES).arg(wasm).arg("-o").arg(wasm))?;
    eprintln!("    wasm-opt took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `cargo xtask dist`: a self-contained `dist/` for any static host, under any sub-path.
///
/// Beside the site: a `_headers` file for hosts that read one (Netlify, Cloudflare Pages),
/// and, for hosts that set no headers at all, the service worker that adds them (the
/// page asks for it through a meta tag only this build has).
///
/// # Errors
/// When the build or a copy fails.
pub fn dist(root: &Path) -> Result<PathBuf> {
    let site = site(root)?;
    let dist = root.join("dist");
    assemble_dist(root, &site, &dist)?;
    eprintln!("    dist ready in {}: publish the folder as it is", dist.display());
    Ok(dist)
}

/// Copies a built `site` into `dist` and adds what static hosts need (see [`dist`]).
///
/// # Errors
/// When a copy or a write fails.
pub fn assemble_dist(root: &Path, site: &Path, dist: &Path) -> Result {
    let _ = std::fs::remove_dir_all(dist);
    copy_dir(site, dist)?;
    let index = std::fs::read_to_string(dist.join("index.html")).map_err(|e| e.to_string())?;
    let meta = "<meta name=\"threadlab-coi-serviceworker\" content=\"coi-serviceworker.js\">";
    let index = index.replacen("<meta charset=\"utf-8\">", &format!("<meta charset=\"utf-8\">\n  {meta}"), 1);
    std::fs::write(dist.join("index.html"), index).map_err(|e| e.to_string())?;
    copy(&root.join("www/coi-serviceworker.js"), &dist.join("coi-serviceworker.js"))?;
    std::fs::write(
        dist.join("_headers"),
        format!(
            "/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n  \
             Cross-Origin-Resource-Policy: cross-origin\n  Document-Isolation-Policy: isolate-and-require-corp\n  \
             Content-Security-Policy: {}\n",
            crate::serve::CSP
        ),
    )
    .map_err(|e| e.to_string())
}

/// wasm-bindgen-rayon 1.3's helper for pool threads calls the glue's init the old way,
/// `init(module, memory)`, and wasm-bindgen 0.2.130 warns "using deprecated parameters for
/// the initialization function; pass a single object instead" on every pool thread that
/// starts (80 a session). The helper is the crate's JS snippet, copied into the glue's
/// `snippets/` by wasm-bindgen: it is rewritten there to the object form. If a new version
/// of either changes the line, the build fails here, so that the rewrite is looked at again.
///
/// # Errors
/// When the snippet or the call is not found.
pub fn modern_rayon_init(pkg: &Path) -> Result {
    const OLD: &str = "await pkg.default(data.module, data.memory);";
    const NEW: &str = "await pkg.default({ module_or_path: data.module, memory: data.memory });";
    let snippets = pkg.join("snippets");
    let mut helpers = Vec::new();
    for entry in std::fs::read_dir(&snippets).map_err(|e| format!("{}: {e}", snippets.display()))? {
        let helper = entry.map_err(|e| e.to_string())?.path().join("src/workerHelpers.no-bundler.js");
        if entry_is_rayon(&helper) {
            helpers.push(helper);
        }
    }
    if helpers.is_empty() {
        return Err(format!("wasm-bindgen-rayon's workerHelpers.no-bundler.js is not in {}", snippets.display()));
    }
    for helper in helpers {
        let text = std::fs::read_to_string(&helper).map_err(|e| e.to_string())?;
        if text.matches(OLD).count() != 1 {
            return Err(format!(
                "{}: the pool threads' init call `{OLD}` was not found once; see modern_rayon_init in xtask/src/build.rs",
                helper.display()
            ));
        }
        std::fs::write(&helper, text.replace(OLD, NEW)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn entry_is_rayon(helper: &Path) -> bool {
    helper.is_file()
        && helper
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .is_some_and(|name| name.to_string_lossy().starts_with("wasm-bindgen-rayon-"))
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
