//! The inspector against real CPython: every fixture's output must match exactly.

use super::*;

/// Every recorded step materialized, as the page's API returns them.
fn run(source: &str) -> Report {
    super::run(source).report()
}
use std::path::Path;

/// A fixture: its name, its source, and per CPython version (`"3.11"`…) what that version
/// printed (`tests/fixtures/refcount/regenerate.sh`).
pub(crate) struct Fixture {
    pub name: String,
    pub source: String,
    pub printed: Vec<(String, String)>,
}

/// The versions every fixture was regenerated with.
pub(crate) const ORACLES: [&str; 4] = ["3.11", "3.12", "3.13", "3.14"];
const MODELLED: [&str; 4] = ORACLES;

pub(crate) fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/refcount");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "py") {
            let source = std::fs::read_to_string(&path).expect("script");
            let printed = ORACLES
                .iter()
                .map(|v| {
                    let file = path.with_extension(format!("{v}.out"));
                    let text = std::fs::read_to_string(&file)
                        .unwrap_or_else(|_| panic!("{}: run regenerate.sh", file.display()));
                    ((*v).to_owned(), text)
                })
                .collect();
            out.push(Fixture { name: path.file_name().unwrap().to_string_lossy().into_owned(), source, printed });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What a 64-bit build of `version` printed: Pyodide (the 3.14 oracle) is a 32-bit build,
/// whose immortal objects print 1879048192 where a 64-bit 3.14 prints 3221225472.
pub(crate) fn as_64_bit(version: &str, printed: &str) -> String {
    if version != "3.14" {
        return printed.to_owned();
    }
    printed
        .split_inclusive(['\n', ' ', ',', '(', ')', '[', ']'])
        .map(|piece| {
            let digits = piece.trim_end_matches(['\n', ' ', ',', '(', ')', '[', ']']);
            if digits == "1879048192" {
                piece.replacen(digits, "3221225472", 1)
            } else {
                piece.to_owned()
            }
        })
        .collect()
}

/// The model that answers for an oracle: 3.11's counts are 3.12's and 3.13's too.
pub(crate) fn model_for(oracle: &str) -> Version {
    if oracle == "3.14" {
        Version::V3_14
    } else {
        Version::V3_11
    }
}

/// 3.11 had no immortal objects: it prints a live count of `None` or `0` that changes
/// from run to run, where the model prints 3.12's immortal value. Only `immortal.py`
/// prints such counts; its 3.11 file is checked to hold live counts instead.
pub(crate) fn compared(name: &str, oracle: &str) -> bool {
    !(name == "immortal.py" && oracle == "3.11")
}

#[test]
fn every_fixture_prints_what_each_cpython_printed() {
    let all = fixtures();
    assert!(all.len() >= 15, "fixtures missing");
    let mut checked = 0;
    for f in &all {
        for (oracle, printed) in &f.printed {
            if !MODELLED.contains(&oracle.as_str()) {
                continue;
            }
            if !compared(&f.name, oracle) {
                assert!(!printed.contains("4294967295"), "{}: 3.11 has no immortal objects", f.name);
                continue;
            }
            let report = run_version(&f.source, model_for(oracle)).report();
            assert_eq!(report.error, None, "{} as {oracle}", f.name);
            let got = report.output.iter().map(|l| format!("{l}\n")).collect::<String>();
            assert_eq!(got, as_64_bit(oracle, printed), "{} as {oracle}: ours (left), CPython's (right)", f.name);
            checked += 1;
        }
    }
    assert_eq!(checked, all.len() * MODELLED.len() - 1);
}

#[test]
fn the_oracles_agree_from_3_11_to_3_13_apart_from_immortals() {
    for f in fixtures() {
        let by = |v: &str| &f.printed.iter().find(|(o, _)| o == v).unwrap().1;
        assert_eq!(by("3.12"), by("3.13"), "{}", f.name);
        if compared(&f.name, "3.11") {
            assert_eq!(by("3.11"), by("3.12"), "{}", f.name);
        }
    }
}

#[test]
fn pyodides_32_bit_immortal_count_reads_as_a_64_bit_builds() {
    assert_eq!(as_64_bit("3.14", "1879048192 (1879048192, 18790481920)\n"), "3221225472 (3221225472, 18790481920)\n");
    assert_eq!(as_64_bit("3.13", "1879048192\n"), "1879048192\n");
}

fn count_of(step: &StepView, name: &str) -> Option<u64> {
    let id = step.frames.iter().flat_map(|f| &f.vars).find(|v| v.name == name)?.id;
    step.heap.iter().find(|h| h.id == id).map(|h| h.refcount)
}

#[test]
fn the_notebook_example_steps_one_two_one_zero_freed() {
    let report = run("a = [1, 2, 3]\nb = a\ndel a\ndel b\n");
    let list = report.steps[0].frames[0].vars[0].id;
    let counts: Vec<Option<u64>> =
        report.steps.iter().map(|s| s.heap.iter().find(|h| h.id == list).map(|h| h.refcount)).collect();
    assert_eq!(counts, [Some(1), Some(2), Some(1), None]);
    assert_eq!(report.steps[3].freed, [list]);
    assert_eq!(report.steps.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn small_ints_and_none_are_immortal() {
    let report = run("x = 1\ny = None\nz = 1000\n");
    let last = report.steps.last().unwrap();
    let by_name = |n: &str| {
        let id = last.frames[0].vars.iter().find(|v| v.name == n).unwrap().id;
        last.heap.iter().find(|h| h.id == id).unwrap().clone()
    };
    assert!(by_name("x").immortal && by_name("y").immortal);
    assert!(!by_name("z").immortal);
}

#[test]
fn a_self_referencing_list_leaks_until_the_collector_runs() {
    let report = run("import gc\na = []\na.append(a)\ndel a\nn = gc.collect()\nprint(n)\n");
    let after_del = &report.steps[3];
    let leaked: Vec<_> = after_del.heap.iter().filter(|h| !h.reachable).collect();
    assert_eq!(leaked.len(), 1);
    assert_eq!((leaked[0].type_name.as_str(), leaked[0].refcount), ("list", 1));
    assert_eq!(report.steps[4].freed, [leaked[0].id]);
    assert_eq!(report.output, ["1"]);
}

#[test]
fn a_function_frame_shows_its_names_during_the_call() {
    let report = run("def f(x):\n    y = x\n    return y\nv = [1]\nw = f(v)\n");
    let inside = report.steps.iter().find(|s| s.frames.len() == 2).expect("a step inside f");
    assert_eq!(inside.frames[1].name, "f");
    assert_eq!(count_of(inside, "v"), Some(3), "v, x and y");
}

#[test]
fn errors_name_the_line_and_column_like_python() {
    let cases = [
        // CPython 3.11: "'(' was never closed", at the bracket's line.
        ("x = (1,\n", "SyntaxError", 1),
        ("print(y)\n", "NameError", 1),
        ("a = [1]\nb = a[5]\n", "IndexError", 2),
        ("if True:\nx = 1\n", "IndentationError", 2),
        ("x = None\nx.y\n", "AttributeError", 2),
        ("x = 1 / 0\n", "ZeroDivisionError", 1),
        ("d = {}\nd[[1]] = 2\n", "TypeError", 2),
    ];
    for (source, kind, line) in cases {
        let e = run(source).error.unwrap_or_else(|| panic!("{source:?} ran"));
        assert_eq!((e.kind.as_str(), e.line), (kind, line), "{source:?}: {e}");
        assert!(e.col >= 1 && !e.message.is_empty());
    }
    let e = run("print(undefined_name)\n").error.unwrap();
    assert_eq!((e.message.as_str(), e.col), ("name 'undefined_name' is not defined", 7));
}

#[test]
fn runaway_scripts_stop_at_a_budget() {
    let e = run("while True:\n    pass\n").error.unwrap();
    assert_eq!(e.kind, "StepLimitError");
    // Recursion (1,000 frames, a large native stack in debug builds): see tests_deep.
    let e = run("x = [0] * 100000000\n").error.unwrap();
    assert_eq!(e.kind, "MemoryError");
    let report = run("for i in range(5000):\n    x = i\n");
    assert!(report.truncated && report.error.is_none());
    assert_eq!(report.steps.len(), MAX_SNAPSHOTS);
}

#[test]
fn arbitrary_input_never_panics() {
    // A deterministic fuzz: random bytes and random mixes of Python's tokens.
    let pieces = [
        "a",
        "b",
        "=",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        ":",
        ",",
        ".",
        "1",
        "2.5",
        "'s'",
        "\n",
        "    ",
        "def ",
        "for ",
        " in ",
        "if ",
        "else",
        "while ",
        "return ",
        "del ",
        "+",
        "-",
        "*",
        "/",
        "//",
        "%",
        "==",
        "<",
        "not ",
        "and ",
        "or ",
        "print",
        "len",
        "range",
        "append",
        "pop",
        "sys.getrefcount",
        "gc.collect()",
        "import sys\n",
        "import gc\n",
        "#",
        "\t",
        "\"",
        "\\",
        "é",
        "0x",
        "1e999",
        "-",
        "None",
        "True",
        "break",
        "continue",
        "pass",
    ];
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        usize::try_from(x % n as u64).unwrap_or(0)
    };
    for round in 0..3000 {
        let source: String = if round % 3 == 0 {
            (0..next(60)).map(|_| char::from(u8::try_from(next(128)).unwrap_or(b' '))).collect()
        } else {
            (0..next(40)).map(|_| pieces[next(pieces.len())]).collect()
        };
        let report = std::panic::catch_unwind(|| run(&source));
        assert!(report.is_ok(), "panicked on {source:?}");
    }
}

#[test]
fn python_beyond_the_old_subset_runs_and_tabs_are_cpythons_taberror() {
    // What the tree walker refused, the VM runs, with CPython's answers.
    let runs = [
        ("x = f'{1}'\nprint(x)\n", "1"),
        ("x = 1 if 2 else 3\nprint(x)\n", "1"),
        ("x = 3\nx /= 2\nprint(x)\n", "1.5"),
        ("x = [i for i in range(3)]\nprint(x)\n", "[0, 1, 2]"),
        ("n = 10 ** 100\nprint(n % 7)\n", "4"),
        ("n = 123456789012345678901234567890\nprint(n // 10 ** 20)\n", "1234567890"),
    ];
    for (source, printed) in runs {
        let r = run(source);
        assert_eq!((r.error, r.output), (None, vec![printed.to_owned()]), "{source:?}");
    }
    // CPython: TabError when tabs-as-8 and tabs-as-1 disagree about the indentation.
    for source in ["if 1:\n        x = 1\n\ty = 2\n", "if 1:\n\tx = 1\n        y = 2\n"] {
        let e = run(source).error.expect("a TabError");
        assert_eq!(
            (e.kind.as_str(), e.message.as_str(), e.line),
            ("TabError", "inconsistent use of tabs and spaces in indentation", 3)
        );
    }
    // Consistent tabs are fine.
    assert_eq!(run("if 1:\n\tx = 1\n\tprint(x)\n").output, ["1"]);
    // What works now, with CPython's answers.
    let r = run("import sys, gc\nprint(2 ** 10, -2 ** 2, 2 ** 3 ** 2, 2 ** -1)\nx = u'a'\nprint(x)\n");
    assert_eq!((r.error, r.output), (None, vec!["1024 -4 512 0.5".to_owned(), "a".to_owned()]));
    let e = run("x = 0 ** -1\n").error.unwrap();
    assert_eq!(
        (e.kind.as_str(), e.message.as_str()),
        ("ZeroDivisionError", "0.0 cannot be raised to a negative power")
    );
}

#[test]
fn valid_python_is_never_a_bare_syntax_error() {
    let cases = [
        "def f(a=1):\n    pass\n",
        "def f(*a):\n    pass\n",
        "print(*[1])\n",
        "x = [1, 2]\ny = x[0:1]\n",
        "a, *b = [1, 2]\n",
        "x: int = 1\n",
        "x = 0x10\n",
        "x = 1j\n",
        "x = '''a'''\n",
        "@f\ndef g():\n    pass\n",
        "while False:\n    pass\nelse:\n    pass\n",
        "for i in []:\n    pass\nelse:\n    pass\n",
        "print('a', end='')\n",
        "x = None\ny = x is None\n",
        "x = ~1\n",
        "x = 1 << 2\n",
        "x = 1 & 2\n",
        "x = 1 | 2\n",
        "x = 1 ^ 2\n",
        "x = 1; y = 2\n",
        "x = ...\n",
        "x = {1, 2}\n",
        "x = 1 < 2 < 3\n",
        "x = 1\nx //= 2\n",
        "x = (yield)\n",
        "x = 2\nx **= 2\n",
        "x = True\nassert x\n",
        "x = -1 if True else 1\n",
        "x = 3 @ 4\n",
        "x = f'{1}'\n",
        "x = rb'1'\n",
        "x = [i for i in range(3)]\n",
        "x = list(i for i in range(3))\n",
    ];
    for source in cases {
        // It runs, or fails as CPython would or with a clear "not supported": never a bare
        // "invalid syntax" for valid Python.
        if let Some(e) = run(source).error {
            assert!(!(e.kind == "SyntaxError" && e.message == "invalid syntax"), "{source:?}: {e}");
        }
    }
    // Invalid Python is still CPython's SyntaxError.
    for source in ["x = (1,\n", "x = = 1\n", "def (x):\n    pass\n", "x = [1 2]\n"] {
        assert_eq!(run(source).error.map(|e| e.kind), Some("SyntaxError".to_owned()), "{source:?}");
    }
}

#[test]
fn an_argument_counts_one_less_in_3_14_its_borrowed_slot() {
    // The example, and a loop variable read after its loop: CPython 3.14 checks
    // that one (`LOAD_FAST_CHECK`, it may be unbound) and so does not borrow it.
    let source = "import sys\na = [1]\ndef f(x):\n    print(sys.getrefcount(x))\nf(a)\n\
                  def g(items):\n    for last in items:\n        pass\n    print(sys.getrefcount(last))\ng([a])\n";
    let printed = |v| run_version(source, v).report().output;
    assert_eq!(printed(Version::V3_11), ["3", "4"]);
    assert_eq!(printed(Version::V3_14), ["2", "4"]);
}

#[test]
fn the_steps_counts_leave_out_3_14s_borrowed_parameters() {
    // `f` loads `x` borrowed and hands it to `g`: `g`'s `p` holds no reference in 3.14
    // (CPython's `sys.getrefcount(v) - 1` there: 4 in 3.11, 3 in 3.14).
    let source = "def g(p):\n    q = [p]\n    return q\ndef f(x):\n    return g(x)\nv = [1]\nw = f(v)\n";
    let inside_g = |version| {
        let report = run_version(source, version).report();
        let step = report.steps.iter().find(|s| s.frames.len() == 3).cloned().expect("a step inside g");
        count_of(&step, "v")
    };
    // v, f's x, g's p and the list's slot; 3.14: g's p borrows.
    assert_eq!(inside_g(Version::V3_11), Some(4));
    assert_eq!(inside_g(Version::V3_14), Some(3));
}

#[test]
fn versions_are_named_as_the_api_takes_them_and_3_14t_says_why_not() {
    assert_eq!(Version::parse("3.11"), Ok(Version::V3_11));
    assert_eq!(Version::parse("3.14"), Ok(Version::V3_14));
    let e = Version::parse("3.14t").unwrap_err();
    assert!(e.contains("not offered yet") && e.contains("free-threaded"), "{e}");
    let e = Version::parse("2.7").unwrap_err();
    assert!(e.contains("\"3.11\"") && e.contains("\"3.14\""), "{e}");
    assert_eq!(serde_json::to_string(&Version::V3_14).unwrap(), "\"3.14\"");
    let immortal = |v| run_version("import sys\nprint(sys.getrefcount(None))\n", v).report().output;
    assert_eq!(immortal(Version::V3_11), ["4294967295"]);
    assert_eq!(immortal(Version::V3_14), ["3221225472"]);
}
