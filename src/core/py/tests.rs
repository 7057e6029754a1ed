//! The inspector against real CPython: every fixture's output must match exactly.

use super::*;

/// Every recorded step materialized, as the page's API returns them.
fn run(source: &str) -> Report {
    super::run(source).report()
}
use std::path::Path;

fn fixtures() -> Vec<(String, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/refcount");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "py") {
            let source = std::fs::read_to_string(&path).expect("script");
            let expected =
                std::fs::read_to_string(path.with_extension("out")).expect("expected output: run regenerate.sh");
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), source, expected));
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_prints_what_cpython_printed() {
    let all = fixtures();
    assert!(all.len() >= 8, "fixtures missing");
    for (name, source, expected) in all {
        let report = run(&source);
        assert_eq!(report.error, None, "{name}");
        let got = report.output.iter().map(|l| format!("{l}\n")).collect::<String>();
        assert_eq!(got, expected, "{name}: our output (left) differs from CPython's (right)");
    }
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
