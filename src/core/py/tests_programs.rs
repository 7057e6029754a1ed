//! The program corpus (`tests/fixtures/programs/`): what CPython 3.11 printed for each
//! program, written by `regenerate.py`, never by hand. Here: the corpus is whole and fresh
//! (a `.py` changed without regenerating fails), its MANIFEST's shapes describe the lines
//! that vary, and every program marked `supported` prints what CPython printed. The others
//! are pending until the VM of issue 14 runs them (docs/python-vm.md); they are counted,
//! never failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/programs")
}

/// FNV-1a, 64 bits: the hash `regenerate.py` writes, small enough to write twice.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[derive(Debug, Default)]
struct Entry {
    supported: bool,
    vary: Vec<String>,
}

fn manifest() -> BTreeMap<String, Entry> {
    let text = std::fs::read_to_string(dir().join("MANIFEST")).expect("MANIFEST");
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            assert!(out.insert(name.to_owned(), Entry::default()).is_none(), "MANIFEST: [{name}] twice");
            current = Some(name.to_owned());
            continue;
        }
        let name = current.as_ref().unwrap_or_else(|| panic!("MANIFEST line {}: outside a [block]", i + 1));
        let entry = out.get_mut(name).expect("current block");
        let (key, value) =
            line.split_once(" = ").unwrap_or_else(|| panic!("MANIFEST line {}: expected `key = value`", i + 1));
        match key {
            "supported" => {
                entry.supported = match value {
                    "yes" => true,
                    "no" => false,
                    other => panic!("MANIFEST line {}: supported = {other}? (yes or no)", i + 1),
                }
            }
            "vary" => entry.vary.push(value.to_owned()),
            other => panic!("MANIFEST line {}: unknown key {other}", i + 1),
        }
    }
    out
}

struct Program {
    name: String,
    source: String,
    /// From the header line.
    python: String,
    hash: u64,
    // Read by the comparison with the VM, which runs natively only.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    exit: i32,
    lines: Vec<String>,
}

fn programs() -> Vec<Program> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir()).expect("programs folder") {
        let path = entry.expect("entry").path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(name) = file.strip_suffix(".py") else { continue };
        if name == "regenerate" {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("program");
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{name}.expected is missing: run tests/fixtures/programs/regenerate.py"));
        let (header, body) = expected.split_once('\n').unwrap_or((&expected, ""));
        let field = |key: &str| {
            header
                .split(' ')
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("{name}.expected: header without {key}: {header}"))
                .to_owned()
        };
        assert!(header.starts_with("# regenerate.py "), "{name}.expected: not written by regenerate.py");
        let hash = u64::from_str_radix(&field("source=fnv1a64:"), 16).expect("hash");
        out.push(Program {
            name: name.to_owned(),
            source,
            python: field("python="),
            hash,
            exit: field("exit=").parse().expect("exit code"),
            lines: body.lines().map(str::to_owned).collect(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A number at the start of `s` (`-`, digits, and with `float` one optional fraction):
/// its length, or `None`.
fn number_len(s: &str, float: bool) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if float && bytes.get(i) == Some(&b'.') {
        let mut j = i + 1;
        if digits(&mut j) {
            i = j;
        }
    }
    Some(i)
}

/// Whether `line` has the shape `shape` (tokens in MANIFEST's header).
fn matches(shape: &str, line: &str) -> bool {
    let Some(open) = shape.find('{') else { return shape == line };
    let close = open + shape[open..].find('}').expect("a { without }");
    let (literal, token, rest) = (&shape[..open], &shape[open + 1..close], &shape[close + 1..]);
    let Some(line) = line.strip_prefix(literal) else { return false };
    let (kind, range) = token.split_once(':').map_or((token, None), |(k, r)| (k, Some(r)));
    let len = match kind {
        "*" => return (0..=line.len()).filter(|&i| line.is_char_boundary(i)).any(|i| matches(rest, &line[i..])),
        "hex" => line.bytes().take_while(u8::is_ascii_hexdigit).count(),
        "int" => number_len(line, false).unwrap_or(0),
        "float" => number_len(line, true).unwrap_or(0),
        other => panic!("unknown token {{{other}}} in shape {shape}"),
    };
    if len == 0 {
        return false;
    }
    if let Some(range) = range {
        let (lo, hi) = range.split_once("..").expect("a range is LO..HI");
        let n: f64 = line[..len].parse().expect("number");
        let bound = |b: &str| (!b.is_empty()).then(|| b.parse::<f64>().expect("a bound is a number"));
        if bound(lo).is_some_and(|lo| n < lo) || bound(hi).is_some_and(|hi| n >= hi) {
            return false;
        }
    }
    matches(rest, &line[len..])
}

/// CPython's own frames (`File "<stdlib>/…` and the source line under it) left out.
fn without_stdlib_frames(lines: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip_next = false;
    let mut in_stdlib = false;
    for line in lines {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        // The carets under a skipped frame's source line go with it.
        let carets = !line.trim().is_empty() && line.trim().chars().all(|c| c == '^' || c == '~');
        if std::mem::take(&mut in_stdlib) && carets {
            continue;
        }
        if line.starts_with("  File \"<stdlib>/") {
            skip_next = true;
            in_stdlib = true;
            continue;
        }
        out.push(line.as_str());
    }
    out
}

/// Where `got` differs from `expected` under the program's shapes, or `None`.
fn difference(expected: &[String], got: &[String], vary: &[String]) -> Option<String> {
    let (expected, got) = (without_stdlib_frames(expected), without_stdlib_frames(got));
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        let same = match vary.iter().find(|shape| matches(shape, e)) {
            Some(shape) => matches(shape, g),
            None => e == g,
        };
        if !same {
            return Some(format!("line {}: expected {e:?}, got {g:?}", i + 1));
        }
    }
    (expected.len() != got.len()).then(|| format!("{} lines expected, {} printed", expected.len(), got.len()))
}

#[test]
fn shapes_compare_as_the_manifest_says() {
    assert!(matches("Total time: {float:3.0..3.5} seconds", "Total time: 3.01 seconds"));
    assert!(!matches("Total time: {float:3.0..3.5} seconds", "Total time: 6.01 seconds"));
    assert!(!matches("Total time: {float} seconds", "Total time: soon seconds"));
    assert!(matches("counter = {int:..8000} (expected 8000)", "counter = 2001 (expected 8000)"));
    assert!(!matches("counter = {int:..8000} (expected 8000)", "counter = 8000 (expected 8000)"));
    assert!(matches("<function <lambda> at 0x{hex}>", "<function <lambda> at 0x7f9bdef85620>"));
    assert!(!matches("<function <lambda> at 0x{hex}>", "<function <lambda> at 0x>"));
    assert!(matches("a {*} z", "a b c z"));
    assert!(!matches("a {*} z", "a b c y"));
    assert!(matches("exact", "exact") && !matches("exact", "exact!"));
    let lines = |s: &str| s.lines().map(str::to_owned).collect::<Vec<_>>();
    let cpython = lines("Traceback (most recent call last):\n  File \"<stdlib>/threading.py\", line 1045, in _bootstrap_inner\n    self.run()\n  File \"<cell>\", line 6, in worker\nValueError: boom");
    let ours = lines("Traceback (most recent call last):\n  File \"<cell>\", line 6, in worker\nValueError: boom");
    assert_eq!(difference(&cpython, &ours, &[]), None);
    assert!(difference(&cpython, &lines("Traceback (most recent call last):\nValueError: boom"), &[]).is_some());
}

#[test]
fn every_program_has_a_fresh_expected_output_and_a_manifest_entry() {
    let programs = programs();
    let manifest = manifest();
    assert!(programs.len() >= 15, "the corpus has {} programs", programs.len());
    let names: Vec<&String> = programs.iter().map(|p| &p.name).collect();
    assert_eq!(names, manifest.keys().collect::<Vec<_>>(), "MANIFEST and the .py files differ");
    for p in &programs {
        assert!(p.python.starts_with("3.11."), "{}: generated by Python {}", p.name, p.python);
        assert_eq!(
            p.hash,
            fnv1a64(p.source.as_bytes()),
            "{}.py changed since {0}.expected was written: run tests/fixtures/programs/regenerate.py",
            p.name
        );
        assert!(!p.lines.is_empty(), "{}: CPython printed nothing", p.name);
        for shape in &manifest[&p.name].vary {
            assert!(
                p.lines.iter().any(|l| matches(shape, l)),
                "{}: no line of the expected output has the shape {shape:?}",
                p.name
            );
        }
    }
}

/// ThreadLab's VM against CPython, for the programs it runs today (`run_program` on a
/// native host; the inspector's tree walker keeps its own tests). The line
/// `pending: N of M` in the test's output says how far issue 14 has come.
#[test]
#[cfg(not(target_arch = "wasm32"))]
fn supported_programs_print_what_cpython_printed() {
    // The budget only catches a hang: a debug build on a loaded machine needed more than
    // 20 s for cpu_threads_vs_pool's 24 million loop turns (CI failed so once).
    let pending = compare_supported(&|src: &str| super::vm::tests::run_with(src, 180_000.0));
    println!("pending: {} of {} programs ({})", pending.len(), programs().len(), pending.join(", "));
}

/// The same with the collector run at every eval-breaker site: a value the collector's
/// roots miss is freed at once and the program fails (or panics) instead of printing
/// CPython's output.
#[test]
#[cfg(not(target_arch = "wasm32"))]
fn supported_programs_survive_a_collection_at_every_breaker_site() {
    // A collection per site makes a long program slower, not wrong: one that runs out of
    // time here proves nothing about the roots and is left out (its result is replaced by
    // what CPython printed).
    compare_supported(&|src: &str| {
        let host = std::sync::Arc::new(super::vm::native::NativeHost::default());
        let options = crate::core::program::ProgramOptions { timeout_ms: 30_000.0, ..Default::default() };
        let r = super::vm::program::run_program_tuned(src, &options, host, &|interp| {
            interp.heap.gc_stress = true;
            interp.heap.gc_threshold = 0;
        });
        if r.error.as_ref().is_some_and(|e| e.kind == "TimeoutError") {
            return super::vm::tests::run_with(src, 180_000.0);
        }
        r
    });
}

/// Runs every program through `run`; panics where a supported one differs from CPython.
/// Returns the pending programs.
#[cfg(not(target_arch = "wasm32"))]
fn compare_supported(run: &dyn Fn(&str) -> crate::core::program::ProgramResult) -> Vec<String> {
    let manifest = manifest();
    let mut pending = Vec::new();
    for p in &programs() {
        let entry = &manifest[&p.name];
        let result = run(&p.source);
        let got: Vec<String> = result.stdout.lines().map(str::to_owned).collect();
        let verdict = if result.exit_code == p.exit {
            difference(&p.lines, &got, &entry.vary)
        } else {
            Some(format!("exit code {} where CPython's was {} ({:?})", result.exit_code, p.exit, result.error))
        };
        match (entry.supported, verdict) {
            (true, Some(why)) => panic!("{}: ThreadLab differs from CPython: {why}", p.name),
            (true, None) => {}
            (false, None) => println!("{}: now prints what CPython printed: mark it supported", p.name),
            (false, Some(_)) => pending.push(p.name.clone()),
        }
    }
    pending
}
