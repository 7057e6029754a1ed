//! Hostile scripts in the inspector: deep nesting in the source and in the data. Each runs
//! on a thread with a worker-sized native stack, so an unbounded recursion fails here
//! instead of passing on a large default stack by luck. Expected kinds and messages are
//! CPython 3.11's (where the VM's parser refuses sooner, its clear error: `prints_or_too_deep`).

#![allow(clippy::disallowed_methods)] // Native only, like every test here: clippy.toml's wasm rules do not apply.

use super::*;

/// The stack every hostile script must fit in: a worker's, with room for a debug build
/// (whose frames are many times a release build's). Unbounded recursion on the hostile
/// inputs here (5,000 to 100,000 levels) would need far more.
const SMALL_STACK: usize = if cfg!(debug_assertions) { 64 << 20 } else { 2 << 20 };

/// The stack the deepest allowed scripts fit in: Python frames are on the VM's heap, so
/// this is the parser's and compiler's depth limits, with a debug build's room.
const RECURSION_STACK: usize = if cfg!(debug_assertions) { 48 << 20 } else { 4 << 20 };

fn on_stack<T: Send + 'static>(bytes: usize, f: impl FnOnce() -> T + Send + 'static) -> std::thread::Result<T> {
    std::thread::Builder::new().stack_size(bytes).spawn(f).expect("a thread").join()
}

fn outcome(source: String) -> (Option<(String, String, u32)>, Vec<String>) {
    let report = on_stack(SMALL_STACK, move || run(&source)).expect("no panic, no stack overflow");
    (report.error.map(|e| (e.kind, e.message, e.line)), report.output)
}

fn fails(source: String, kind: &str, message: &str, line: u32) {
    let shown: String = source.chars().take(40).collect();
    let (error, _) = outcome(source);
    assert_eq!(error, Some((kind.to_owned(), message.to_owned(), line)), "{shown}…");
}

fn prints(source: String, expected: &[&str]) {
    let shown: String = source.chars().take(40).collect();
    let (error, output) = outcome(source);
    assert_eq!(error, None, "{shown}…");
    assert_eq!(output, expected, "{shown}…");
}

/// What CPython runs but the VM's parser refuses as too deep for a worker's native stack
/// (`vm::parser::MAX_DEPTH`, docs/python-vm.md): CPython's output, or that clear error.
fn prints_or_too_deep(source: String, expected: &[&str]) {
    let shown: String = source.chars().take(40).collect();
    match outcome(source) {
        (None, output) => assert_eq!(output, expected, "{shown}…"),
        (Some((kind, message, _)), _) => {
            assert_eq!((kind.as_str(), message.as_str()), ("RecursionError", COMPILE_DEPTH), "{shown}…");
        }
    }
}

const COMPILE_DEPTH: &str = "maximum recursion depth exceeded during compilation";

#[test]
fn brackets_stop_at_cpythons_200_levels() {
    let nested = |open: &str, close: &str, n| format!("x = {}1{}\nprint(x)\n", open.repeat(n), close.repeat(n));
    prints_or_too_deep(nested("(", ")", 200), &["1"]);
    fails(nested("(", ")", 201), "SyntaxError", "too many nested parentheses", 1);
    fails(nested("(", ")", 1000), "SyntaxError", "too many nested parentheses", 1);
    fails(format!("x = {}{}\n", "[".repeat(1000), "]".repeat(1000)), "SyntaxError", "too many nested parentheses", 1);
    fails(nested("{1:", "}", 1000), "SyntaxError", "too many nested parentheses", 1);
    // The line is the one where the 201st bracket opens.
    fails(format!("y = 2\nx = (\n{}", "(".repeat(300)), "SyntaxError", "too many nested parentheses", 3);
    let calls = format!("def f(v):\n    return v\nprint({}1{})\n", "f(".repeat(150), ")".repeat(150));
    prints_or_too_deep(calls, &["1"]);
}

#[test]
fn very_deep_expressions_are_cpythons_compile_time_recursion_error() {
    let sum = |n| format!("a = 1\nx = {}\nprint(x)\n", vec!["a"; n].join(" + "));
    prints(sum(500), &["500"]);
    fails(sum(20_000), "RecursionError", COMPILE_DEPTH, 2);
    fails(format!("x = {}a\n", "a * ".repeat(20_000)), "RecursionError", COMPILE_DEPTH, 1);
    fails(format!("x = {}1\n", "-".repeat(100_000)), "RecursionError", COMPILE_DEPTH, 1);
    prints_or_too_deep(format!("x = {}1\nprint(x)\n", "-".repeat(400)), &["1"]);
    fails(format!("x = {}1\n", "not ".repeat(5_000)), "RecursionError", COMPILE_DEPTH, 1);
    prints_or_too_deep(format!("x = {}1\nprint(x)\n", "not ".repeat(401)), &["False"]);
    fails(format!("a = [1]\nx = a{}\n", "[0]".repeat(20_000)), "RecursionError", COMPILE_DEPTH, 2);
    fails(format!("x = f{}\n", "()".repeat(20_000)), "RecursionError", COMPILE_DEPTH, 1);
    fails(format!("x = a{}\n", ".b".repeat(20_000)), "RecursionError", COMPILE_DEPTH, 1);
    let elifs = format!("x = 0\nif x == 1:\n    pass\n{}", "elif x == 1:\n    pass\n".repeat(5_000));
    let (error, _) = outcome(elifs);
    // CPython's RecursionError, or the VM's own clear refusal of so long an if/elif chain.
    let error = error.map(|e| (e.0, e.1)).expect("refused");
    assert!(
        error == ("RecursionError".to_owned(), COMPILE_DEPTH.to_owned())
            || error == ("SyntaxError".to_owned(), "too many elifs".to_owned()),
        "{error:?}"
    );
    let elifs =
        format!("x = 0\nif x == 1:\n    pass\n{}else:\n    print(x)\n", "elif x == 1:\n    pass\n".repeat(1_999));
    prints(elifs, &["0"]);
}

#[test]
fn long_flat_chains_are_fine_as_in_cpython() {
    // CPython's `and`/`or` are one flat node: 100,000 operands compile and run.
    prints(format!("a = 1\nx = {}\nprint(x)\n", vec!["a"; 100_000].join(" and ")), &["1"]);
    prints(format!("a = 0\nx = {}\nprint(x)\n", vec!["a"; 100_000].join(" or ")), &["0"]);
}

#[test]
fn indentation_stops_at_cpythons_100_levels() {
    let nested = |n: usize| {
        let mut s: String = (0..n).map(|i| format!("{}if 1:\n", " ".repeat(i))).collect();
        s.push_str(&format!("{}print(1)\n", " ".repeat(n)));
        s
    };
    prints(nested(99), &["1"]);
    fails(nested(100), "IndentationError", "too many levels of indentation", 101);
}

#[test]
fn deep_data_is_a_recursion_error_in_repr_and_comparison() {
    let deep = "x = []\ny = []\nfor i in range(3000):\n    x = [x]\n    y = [y]\n";
    fails(
        format!("{deep}print(x)\n"),
        "RecursionError",
        "maximum recursion depth exceeded while getting the repr of an object",
        6,
    );
    fails(
        format!("{deep}s = str(x)\n"),
        "RecursionError",
        "maximum recursion depth exceeded while getting the repr of an object",
        6,
    );
    fails(format!("{deep}z = x == y\n"), "RecursionError", "maximum recursion depth exceeded in comparison", 6);
    // Freeing a deep chain, and collecting it, walk it without recursion.
    prints(format!("import gc\n{deep}del x\ndel y\nprint(gc.collect())\n"), &["0"]);
    // Shallow enough, CPython prints it.
    prints("x = []\nfor i in range(3):\n    x = [x]\nprint(x)\n".into(), &["[[[[]]]]"]);
}

/// The deepest scripts the limits allow: 1,000 Python frames, the native nesting
/// limit reached through statements and expressions, the parser's deepest brackets.
fn deepest_scripts() -> Vec<String> {
    vec![
        "def f(n):\n    if n == 0:\n        return 0\n    return 1 + f(n - 1)\nprint(f(998))\n".into(),
        "def f(n):\n    return f(n + 1)\nf(0)\n".into(),
        "def f(n):\n    for i in [1]:\n        if n > 0:\n            x = [f(n - 1)]\n    return n\nf(5000)\n".into(),
        format!("a = 1\nx = {}\n", vec!["a"; 500].join(" + ")),
        format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200)),
        format!("def f(v):\n    return v\nx = {}1{}\n", "f(".repeat(199), ")".repeat(199)),
        (0..99).map(|i| format!("{}if 1:\n", " ".repeat(i))).collect::<String>() + &" ".repeat(99) + "x = 1\n",
    ]
}

#[test]
fn the_deepest_allowed_scripts_fit_the_measured_stack() {
    for source in deepest_scripts() {
        let shown: String = source.chars().take(50).collect();
        let report = on_stack(RECURSION_STACK, move || run(&source)).expect("fits");
        if let Some(e) = report.error {
            assert_eq!(e.kind, "RecursionError", "{shown:?}");
            assert!(e.message.starts_with("maximum recursion depth exceeded"), "{shown:?}: {}", e.message);
        }
    }
    // CPython 3.11: 1,000 frames in all, the module's included.
    let depth = |n: usize| {
        let source = format!("def f(n):\n    if n == 0:\n        return 0\n    return 1 + f(n - 1)\nprint(f({n}))\n");
        // The inspector's 5 s budget is not what is tested: a debug build on a busy machine
        // took longer recording 1,000 frames (TimeoutError, no output).
        on_stack(RECURSION_STACK, move || {
            let host = std::sync::Arc::new(vm::native::NativeHost::default());
            vm::inspect::run_for(&source, host, 120_000.0, Version::V3_11)
        })
        .expect("fits")
    };
    assert_eq!(depth(998).output, ["998"]);
    let e = depth(999).error.expect("too deep");
    assert_eq!(
        (e.kind.as_str(), e.message.as_str(), e.line),
        ("RecursionError", "maximum recursion depth exceeded", 4)
    );
}

#[test]
fn on_a_workers_stack_deep_scripts_end_in_recursion_error_not_overflow() {
    // Python frames live on the VM's heap; the parser and compiler stop at their depth
    // limits: on the stack a worker has, the deepest scripts end well.
    for source in deepest_scripts() {
        let shown: String = source.chars().take(50).collect();
        let trace = on_stack(SMALL_STACK, move || run(&source)).expect("no overflow");
        if let Some(e) = trace.error {
            assert_eq!(e.kind, "RecursionError", "{shown:?}");
        }
    }
    let deep = "def f(n):\n    return f(n + 1)\nf(0)\n";
    let e = on_stack(SMALL_STACK, move || run(deep)).expect("no overflow").error.expect("an error");
    assert_eq!(
        (e.kind.as_str(), e.message.as_str(), e.line),
        ("RecursionError", "maximum recursion depth exceeded", 2)
    );
}

#[test]
fn nested_targets_unpack_and_delete_within_the_stack() {
    let n = 150;
    let target = format!("{}a{}", "(".repeat(n), ",)".repeat(n));
    let value = format!("{}1{}", "[".repeat(n), "]".repeat(n));
    prints_or_too_deep(format!("{target} = {value}\nprint(a)\n"), &["1"]);
    prints_or_too_deep(format!("a = 1\ndel {}a{}\nprint(2)\n", "(".repeat(n), ",)".repeat(n)), &["2"]);
}
