//! The VM's native tests: constructs, errors and tracebacks against CPython's output,
//! the eval-breaker property, and hostile programs.
// Native tests only: a clock and a thread with a small stack.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use super::native::NativeHost;
use super::run_program;
use crate::core::program::{ProgramOptions, ProgramResult};
use std::sync::Arc;

pub(crate) fn run_with(src: &str, timeout_ms: f64) -> ProgramResult {
    let host = Arc::new(NativeHost::default());
    let options = ProgramOptions { timeout_ms, ..ProgramOptions::default() };
    run_program(src, &options, host)
}

pub(crate) fn run(src: &str) -> ProgramResult {
    run_with(src, 20_000.0)
}

/// Runs `$PYFILE` and prints what it printed (a tool while developing).
#[test]
#[ignore = "a tool: PYFILE=prog.py cargo test --lib py::vm::tests::run_file -- --ignored --nocapture"]
fn run_file() {
    let path = std::env::var("PYFILE").expect("PYFILE");
    let src = std::fs::read_to_string(path).expect("source");
    let r = run(&src);
    print!("{}", r.stdout);
    eprintln!("exit={} error={:?}", r.exit_code, r.error);
}

fn lines(r: &ProgramResult) -> Vec<&str> {
    r.stdout.lines().collect()
}

#[test]
fn a_program_prints_and_reports_its_lane() {
    let r = run("x = 6 * 7\nprint('x is', x, sep=' = ', end='!\\n')\n");
    assert_eq!(r.stdout, "x is = 42!\n");
    assert_eq!(r.exit_code, 0);
    assert!(r.error.is_none());
    assert_eq!(r.output.len(), 1);
    assert_eq!(r.lanes.len(), 1);
    assert_eq!(r.lanes[0].name, "MainThread");
    assert_eq!(r.lanes[0].kind, crate::core::program::LaneKind::Main);
    assert!(r.lanes[0].segments.iter().all(|s| s.state == crate::core::program::LaneState::Running));
    assert!(r.wall_ms >= 0.0);
}

#[test]
fn a_function_falls_off_an_if_that_returns() {
    // Found by the mangled programs: the jump past the `if` had no instruction to land on.
    let r = run("def f(n):\n    if n < 2:\n        return n\n\nprint(f(1), f(5))\n");
    assert_eq!(r.stdout, "1 None\n");
}

#[test]
fn an_uncaught_exception_is_exit_code_1_with_its_kind_and_line() {
    let r = run("def f(d):\n    return d['k']\n\nf({})\n");
    assert_eq!(r.exit_code, 1);
    let e = r.error.expect("an error");
    assert_eq!((e.kind.as_str(), e.message.as_str(), e.line), ("KeyError", "'k'", 2));
    assert!(r.stdout.ends_with("KeyError: 'k'\n"), "{}", r.stdout);
}

#[test]
fn a_syntax_error_is_reported_as_cpython_does_and_nothing_runs() {
    let r = run("print('never')\nx = = 2\n");
    assert_eq!(r.exit_code, 1);
    assert_eq!(lines(&r), ["  File \"<cell>\", line 2", "    x = = 2", "        ^", "SyntaxError: invalid syntax"]);
    let e = r.error.expect("an error");
    assert_eq!((e.kind.as_str(), e.line, e.col), ("SyntaxError", 2, 5));
}

#[test]
fn what_is_not_supported_is_a_clear_error_naming_the_line() {
    for (src, line, what) in [
        ("x = 1\nasync def g():\n    pass\n", 2, "'async' is not supported yet"),
        ("x = b'bytes'\n", 1, "bytes literals (b'') are not supported yet"),
        ("import sys\nsys.set_int_max_str_digits(0)\n", 2, "sys.set_int_max_str_digits() is not supported"),
        ("import multiprocessing\nv = multiprocessing.Value('i', 0)\n", 2, "multiprocessing.Value is not supported"),
        ("def f():\n    return ((yield x) for x in y)\n", 2, "'yield' inside generator expression"),
        ("x = 1\nyield x\n", 2, "'yield' outside function"),
        ("x = 1\nf = open('data.txt')\n", 2, "open() (a program in the page has no files) is not supported"),
    ] {
        let r = run(src);
        let e = r.error.unwrap_or_else(|| panic!("{src}: no error"));
        assert_eq!(e.line, line, "{src}");
        assert!(e.message.contains(what), "{src}: {}", e.message);
        assert_eq!(r.exit_code, 1);
    }
}

/// The eval-breaker sites, read from vm.rs: every arm of the loop that calls
/// `check_eval_breaker` is one of CPython 3.11's sites, and each site calls it.
#[test]
fn only_cpythons_eval_breaker_sites_check_the_eval_breaker() {
    let src = include_str!("vm.rs");
    let loop_start = src.find("match instr {").expect("the loop's match");
    let loop_src = &src[loop_start..];
    let arm_indent = loop_src.lines().nth(1).map(|l| l.len() - l.trim_start().len()).expect("an arm");
    let mut arm: Vec<String> = Vec::new();
    let mut calling: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for line in loop_src.lines().skip(1) {
        let indent = line.len() - line.trim_start().len();
        if indent < arm_indent && line.trim_start().starts_with('}') {
            break;
        }
        if indent == arm_indent && line.trim_start().starts_with("Instr::") {
            arm = line
                .split("Instr::")
                .skip(1)
                .map(|s| s.chars().take_while(char::is_ascii_alphanumeric).collect())
                .collect();
        }
        if line.contains("check_eval_breaker(site)") {
            assert!(!arm.is_empty(), "a check outside any arm: {line}");
            for a in &arm {
                assert!(super::instr::BREAKER_SITES.contains(&a.as_str()), "the arm {a} checks the eval breaker");
                calling.insert(a.clone());
            }
        }
    }
    let sites: std::collections::BTreeSet<String> =
        super::instr::BREAKER_SITES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(calling, sites);
    // Nothing else calls it: one definition, and the calls counted above.
    let total = src.matches("check_eval_breaker(").count() - 1;
    let in_loop =
        loop_src[..loop_src.find("fn handle(").expect("after the loop")].matches("check_eval_breaker(").count();
    assert_eq!(total, in_loop, "check_eval_breaker is called outside the loop's arms");
    for other in [
        include_str!("ops.rs"),
        include_str!("builtins.rs"),
        include_str!("program.rs"),
        include_str!("exc.rs"),
        include_str!("fast.rs"),
    ] {
        assert!(!other.contains("check_eval_breaker("));
    }
    // The fast loop passes a site itself only while the breaker is quiet, and only at the
    // jumps that are sites: the arms that ask `breaker_quiet` are those.
    let fast = include_str!("fast.rs");
    let fast_loop = &fast[fast.find("let Some(&op) = ops.get(ip)").expect("the fast loop")..];
    let mut arm = String::new();
    let mut asking = std::collections::BTreeSet::new();
    for line in fast_loop.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("Op::") && trimmed.contains("=>") {
            arm = trimmed.to_owned();
        }
        if line.contains("breaker_quiet(") {
            asking.insert(arm.split(" =>").next().unwrap_or("").to_owned());
        }
    }
    assert_eq!(
        asking.into_iter().collect::<Vec<_>>(),
        ["Op::JumpBackward(to)", "Op::PopJumpIfFalse(to) | Op::PopJumpIfTrue(to)", "Op::Resume"]
    );
}

/// How often a program reaches an eval-breaker site: with the drop request always set,
/// `run` returns `Exit::Breaker` at each site, so the count is exact.
fn breaker_stops(src: &str) -> usize {
    let host = Arc::new(NativeHost::default());
    let (mut interp, mut ts) = super::program::prepare(src, host, 10_000.0).map_err(|(_, e)| e).expect("compiles");
    interp.drop_request.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut stops = 0;
    loop {
        match super::run(&mut interp, &mut ts) {
            super::Exit::Breaker => stops += 1,
            super::Exit::Done(_) => return stops,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_breaker_is_checked_where_cpython_checks_it_and_nowhere_else() {
    // RESUME of the module, then one JUMP_BACKWARD per turn.
    assert_eq!(breaker_stops("i = 0\nwhile i < 10:\n    i += 1\n"), 1 + 10);
    // `counter += 1` has no site between its load and its store: only the backward jumps
    // and the call of range().
    assert_eq!(breaker_stops("c = 0\nfor _ in range(5):\n    c += 1\n"), 1 + 1 + 5);
    // A builtin's call is a site after it returns; a Python call is one at its RESUME.
    assert_eq!(breaker_stops("def f(x):\n    return x\nfor s in ['a', 'b']:\n    f(len(s))\n"), 1 + 2 * (1 + 1) + 2);
    // A comprehension is a function: its RESUME, its backward jumps, the call's own return
    // is not a site (a Python callee).
    assert_eq!(breaker_stops("xs = [x for x in (1, 2, 3)]\n"), 1 + 1 + 3);
    // A generator: its RESUME when first resumed and after each yield (`RESUME 1`); the
    // call making it is not a site (a Python function), nor `ForIter` resuming it.
    assert_eq!(breaker_stops("def g():\n    yield 1\n    yield 2\nfor x in g():\n    pass\n"), 1 + 3 + 2);
    // `next(g)` is a builtin's call: a site once it returned, after the generator's RESUME.
    assert_eq!(breaker_stops("def g():\n    yield 1\nit = g()\nnext(it)\n"), 1 + 1 + 1);
    // A generator drained by a builtin: the module's RESUME, the genexpr's 3 (first, after
    // each of its 2 yields) and its 2 JUMP_BACKWARDs, sum's CALL once it returned.
    assert_eq!(breaker_stops("s = sum(x for x in (1, 2))\n"), 1 + 3 + 2 + 1);
}

/// The fast loop (fast.rs) takes backward jumps itself while the breaker is quiet: it
/// counts each as `check_eval_breaker` would, so the time budget, Stop, collections and
/// GIL switches come after as many sites as before. A quiet run's tick count equals the
/// number of sites a run stopping at every one of them (all in the main loop) passes.
#[test]
fn the_fast_loop_counts_every_breaker_site_it_passes() {
    for src in [
        "i = 0\nwhile i < 3000:\n    i += 1\n",
        "def f(n):\n    t = 0\n    for i in range(n):\n        if i % 3 == 0:\n            t += i\n    return t\nprint(f(2500))\n",
        "xs = [x * x for x in range(1500) if x & 1]\nn = 0\nwhile n < len(xs) and xs[n] < 1000:\n    n += 1\n",
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nprint(fib(15))\n",
    ] {
        let host = Arc::new(NativeHost::default());
        let (mut interp, mut ts) = super::program::prepare(src, host, 10_000.0).map_err(|(_, e)| e).expect("compiles");
        assert!(matches!(super::run(&mut interp, &mut ts), super::Exit::Done(_)), "{src}");
        assert_eq!(interp.ticks as usize, breaker_stops(src), "{src}");
    }
}

#[test]
fn time_sleep_blocks_through_the_driver_and_shows_as_io() {
    let src = "import time\nt = time.time()\ntime.sleep(0.05)\nprint(round(time.time() - t, 1))\n";
    let host = Arc::new(NativeHost::default());
    let (mut interp, mut ts) = super::program::prepare(src, host, 10_000.0).map_err(|(_, e)| e).expect("compiles");
    match super::run(&mut interp, &mut ts) {
        super::Exit::Block(super::vm::BlockOp::Sleep(s)) => assert!((s - 0.05).abs() < 1e-9),
        other => panic!("expected a block, got {other:?}"),
    }
    let r = run(src);
    assert_eq!(r.stdout, "0.1\n");
    let io: Vec<_> = r.lanes[0].segments.iter().filter(|s| s.state == crate::core::program::LaneState::Io).collect();
    assert_eq!(io.len(), 1);
    assert!(io[0].end_ms - io[0].start_ms >= 49.0, "{io:?}");
}

#[test]
fn an_endless_loop_ends_at_the_deadline_naming_its_line() {
    let t0 = std::time::Instant::now();
    let r = run_with("x = 0\nwhile True:\n    pass\n", 300.0);
    let e = r.error.expect("a timeout");
    assert_eq!(e.kind, "TimeoutError");
    assert_eq!(e.line, 2, "{e:?}");
    assert!(t0.elapsed().as_secs_f64() < 3.0);
    assert_eq!(r.exit_code, 1);
}

#[test]
fn stop_ends_a_program() {
    let host = Arc::new(NativeHost::default());
    host.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let r = run_program("while True:\n    pass\n", &ProgramOptions::default(), host);
    assert_eq!(r.error.expect("stopped").kind, "Stopped");
}

#[test]
fn deep_recursion_is_a_recursion_error_on_a_small_native_stack() {
    // Frames live on the heap: 1,000 Python frames fit in a 256 KB native stack.
    let src = "def down(n):\n    return down(n + 1)\n\ntry:\n    down(0)\nexcept RecursionError as e:\n    print('caught', e)\ndef count(n):\n    return 0 if n == 0 else 1 + count(n - 1)\nprint(count(990))\ndown(0)\n";
    let r = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || run(src))
        .expect("a thread")
        .join()
        .expect("no stack overflow");
    let out = lines(&r);
    assert_eq!(out[..2], ["caught maximum recursion depth exceeded", "990"]);
    assert_eq!(r.error.as_ref().expect("uncaught").kind, "RecursionError");
}

#[test]
fn a_very_long_operator_chain_is_a_compile_time_recursion_error() {
    // `1 + 1 + …` is a tree as deep as it is long, and the compiler recurses once per level:
    // 20,000 terms overflowed the native stack (CPython says what this test expects). A chain
    // within the limit compiles and runs, on a thread with a worker-sized stack.
    let long = format!("x = 1{}\nprint(x)\n", " + 1".repeat(20_000));
    let within = format!("x = 1{}\nprint(x)\n", " + 1".repeat(super::parser::MAX_CHAIN as usize));
    let (long, within) = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(move || (run(&long), run(&within)))
        .expect("a thread")
        .join()
        .expect("no stack overflow");
    let e = long.error.expect("an error");
    assert_eq!(
        (e.kind.as_str(), e.message.as_str(), e.line),
        ("RecursionError", "maximum recursion depth exceeded during compilation", 1)
    );
    assert_eq!(lines(&within), [(super::parser::MAX_CHAIN + 1).to_string()]);
}

#[test]
fn huge_output_is_capped_with_a_notice_and_the_program_goes_on() {
    let r = run("for i in range(30000):\n    print('x' * 60)\nprint('end')\n");
    assert!(r.stdout.len() <= super::vm::OUTPUT_CHARS + 200, "{}", r.stdout.len());
    assert!(r.stdout.contains("[ThreadLab stopped printing here"));
    assert!(!r.stdout.contains("end\n"));
    assert_eq!(r.exit_code, 0);
}

#[test]
fn objects_past_the_budget_end_the_program_and_garbage_does_not_count() {
    let host = Arc::new(NativeHost::default());
    let r = super::program::run_program_with(
        "x = []\nwhile True:\n    x = [x]\n",
        &ProgramOptions { timeout_ms: 20_000.0, ..ProgramOptions::default() },
        host,
        150_000,
    );
    let e = r.error.expect("the object budget");
    assert_eq!((e.kind.as_str(), e.line), ("MemoryError", 2));
    // The same number of objects made and dropped: collected, never over budget.
    let host = Arc::new(NativeHost::default());
    let r = super::program::run_program_with(
        "for i in range(400000):\n    x = [i]\nprint('ok')\n",
        &ProgramOptions { timeout_ms: 20_000.0, ..ProgramOptions::default() },
        host,
        150_000,
    );
    assert_eq!(r.stdout, "ok\n", "{:?}", r.error);
}

#[test]
#[ignore = "a tool"]
fn dis_file() {
    let path = std::env::var("PYFILE").expect("PYFILE");
    let src = std::fs::read_to_string(path).expect("source");
    let host = Arc::new(NativeHost::default());
    let (interp, ts) = super::program::prepare(&src, host, 1000.0).map_err(|(_, e)| e).expect("compiles");
    let _ = ts;
    for code in &interp.codes {
        println!("{}:", code.qualname);
        for (i, (ins, loc)) in code.instrs.iter().zip(&code.locs).enumerate() {
            let op = code.fast.get(i).map(|o| format!("{o:?}")).unwrap_or_default();
            println!("{i:4} {:3}:{:<3} {:<24} {op}", loc.line, loc.col, format!("{ins:?}"));
        }
    }
}

/// The threads interface: a second `ThreadState` on the same interpreter calls a
/// function of the program with arguments and keywords, blocks in `time.sleep` through
/// `Exit::Block`, and returns its result; an exception ends that thread only.
#[test]
fn a_thread_state_calls_a_function_on_the_shared_interpreter() {
    let src = "import time\nlog = []\ndef work(a, b=2, *, c):\n    log.append(a)\n    time.sleep(0.01)\n    print('working', a, b, c)\n    return a + b + c\ndef bad():\n    return 1 / 0\n";
    let host = Arc::new(NativeHost::default());
    let (mut interp, mut main) = super::program::prepare(src, host, 10_000.0).map_err(|(_, e)| e).expect("compiles");
    assert!(matches!(super::run(&mut interp, &mut main), super::Exit::Done(_)));
    let work = interp.globals[interp.global_names.index["work"] as usize];
    let mut t = super::ThreadState::for_call(
        &mut interp,
        1,
        work,
        &[super::heap::Value::Int(10)],
        &[("c".into(), super::heap::Value::Int(5))],
    );
    let mut blocks = 0;
    let result = loop {
        match super::run(&mut interp, &mut t) {
            super::Exit::Block(super::vm::BlockOp::Sleep(_)) => {
                blocks += 1;
                t.resume_with(super::heap::Value::None);
            }
            super::Exit::Done(v) => break v,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((result, blocks), (super::heap::Value::Int(17), 1));
    assert_eq!(interp.out.text, "working 10 2 5\n");
    assert_eq!(interp.out.chunks[0].lane, 1);
    let bad = interp.globals[interp.global_names.index["bad"] as usize];
    let mut t2 = super::ThreadState::for_call(&mut interp, 2, bad, &[], &[]);
    let super::Exit::Exception(e) = super::run(&mut interp, &mut t2) else { panic!("an exception") };
    let mut vm = super::vm::Vm { i: &mut interp, t: &mut t2 };
    let report = vm.format_exception(e);
    assert!(report.ends_with("  File \"<cell>\", line 9, in bad\n    return 1 / 0\n           ~~^~~\nZeroDivisionError: division by zero\n"), "{report}");
}

/// CPU-bound speed against CPython: the best of 7 runs of each program of
/// `tests/fixtures/bench/`, to compare with `python3` on the same file:
/// `cargo test --profile native-bench --lib py::vm::tests::bench -- --ignored --nocapture`
/// and `python3 tests/fixtures/bench/fib.py`.
#[test]
#[ignore = "a measurement, in release"]
fn bench() {
    for (name, src) in [
        ("fib.py", include_str!("../../../../tests/fixtures/bench/fib.py")),
        ("loop.py", include_str!("../../../../tests/fixtures/bench/loop.py")),
        ("method.py (output: the total)", include_str!("../../../../tests/fixtures/bench/method.py")),
    ] {
        let r = run_with(src, 120_000.0);
        println!("{name}: {}", r.stdout.trim());
    }
}

/// Never a panic: the corpus's programs cut, shuffled and spliced at pseudo-random places
/// (a fixed seed) compile to a clear error or run to an answer or an exception.
#[test]
fn mangled_programs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/programs");
    let mut sources: Vec<String> = std::fs::read_dir(dir)
        .expect("corpus")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_owned();
            (name.ends_with(".py") && name != "regenerate.py" && !name.starts_with("notebook"))
                .then(|| std::fs::read_to_string(p).ok())?
        })
        .collect();
    sources.sort();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let mut ran = 0;
    for round in 0..240 {
        let src = &sources[round % sources.len()];
        let lines: Vec<&str> = src.lines().collect();
        let mangled = match round % 4 {
            // Drop a line.
            0 => {
                let k = next(lines.len());
                lines.iter().enumerate().filter(|(i, _)| *i != k).map(|(_, l)| *l).collect::<Vec<_>>().join("\n")
            }
            // Cut the program at a character.
            1 => src.chars().take(next(src.chars().count())).collect(),
            // Swap two lines.
            2 => {
                let mut l = lines.clone();
                let (a, b) = (next(l.len()), next(l.len()));
                l.swap(a, b);
                l.join("\n")
            }
            // Delete a run of characters in the middle of a line.
            _ => {
                let chars: Vec<char> = src.chars().collect();
                let at = next(chars.len());
                let len = 1 + next(4);
                chars.iter().enumerate().filter(|(i, _)| *i < at || *i >= at + len).map(|(_, c)| *c).collect()
            }
        };
        let r = std::panic::catch_unwind(|| run_with(&mangled, 2_000.0));
        assert!(r.is_ok(), "round {round} panicked on:\n{mangled}");
        ran += 1;
    }
    assert_eq!(ran, 240);
}

#[test]
fn the_live_board_shows_each_thread_s_state_and_line_while_it_runs() {
    use crate::core::program::LaneState;
    use crate::core::runtime::board::read;
    let src = "import threading, time\n\
               def nap():\n    time.sleep(30)\n\
               def spin():\n    while True:\n        pass\n\
               threading.Thread(target=nap, name='napper', daemon=True).start()\n\
               threading.Thread(target=spin, name='spinner', daemon=True).start()\n\
               time.sleep(30)\n";
    let host = Arc::new(NativeHost::default());
    let (board, stop) = (host.board.clone(), host.stop.clone());
    let run = std::thread::spawn(move || run_program(src, &ProgramOptions::default(), host));
    let want = |t: &crate::core::runtime::board::LiveThread| match t.name.as_str() {
        "MainThread" => t.line == 9 && t.state == Some(LaneState::Io),
        "napper" => t.line == 3 && t.state == Some(LaneState::Io),
        // The spinner is seen at its loop (the breaker's periodic news) holding the GIL.
        "spinner" => (5..=6).contains(&t.line) && t.state == Some(LaneState::Running),
        _ => false,
    };
    let t0 = std::time::Instant::now();
    let mut seen = Vec::new();
    while t0.elapsed().as_secs() < 10 {
        seen = read(&board.words());
        if seen.len() == 3 && seen.iter().all(want) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(seen.len() == 3 && seen.iter().all(want), "{seen:?}");
    let r = run.join().expect("the program thread");
    assert_eq!(r.error.map(|e| e.kind).as_deref(), Some("Stopped"));
    // Every thread leaves the board when it ends (the daemon ones at their next check of
    // Stop, which may come after the program's result).
    let t1 = std::time::Instant::now();
    while !read(&board.words()).is_empty() && t1.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(read(&board.words()), []);
}

#[test]
fn a_bracket_closing_on_a_continuation_line_ends_its_statement_there() {
    // The closing bracket's line was taken for a blank one: its newline was lost and the
    // next statement joined this one (a SyntaxError on every multi-line list or call).
    let r = run("x = [1,\n  2]\ny = {\n 'k': (3,\n 4),\n}\nprint(x, y)\n");
    assert_eq!(r.exit_code, 0, "{}", r.stdout);
    assert_eq!(r.stdout, "[1, 2] {'k': (3, 4)}\n");
}

#[test]
fn a_decimal_literal_past_4300_digits_is_cpythons_syntax_error_and_hex_has_no_limit() {
    let src = format!("print('never')\nx = 1{}\n", "0".repeat(4300));
    let r = run(&src);
    let e = r.error.expect("an error");
    assert_eq!((e.kind.as_str(), e.line), ("SyntaxError", 2));
    assert_eq!(
        e.message,
        "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use \
         sys.set_int_max_str_digits() to increase the limit - Consider hexadecimal for huge integer literals \
         to avoid decimal conversion limits."
    );
    assert!(!r.stdout.contains("never"));
    // The same size in hex is fine (CPython's limit is on decimal conversion only).
    let r = run(&format!("x = 0x1{}\nprint(x.bit_length(), x == 16 ** 4300)\n", "0".repeat(4300)));
    assert_eq!(r.stdout, "17201 True\n");
}

#[test]
fn an_import_of_a_submodule_the_vm_lacks_is_a_clear_error_naming_the_line() {
    for (src, kind, what) in [
        (
            "x = 1\nimport os.path\n",
            "ModuleNotFoundError",
            "No module named 'os.path' (ThreadLab's VM does not have it yet)",
        ),
        (
            "x = 1\nfrom multiprocessing.pool import ThreadPool\n",
            "ModuleNotFoundError",
            "No module named 'multiprocessing.pool' (ThreadLab's VM does not have it yet)",
        ),
        (
            "x = 1\nfrom os import path\n",
            "ImportError",
            "cannot import name 'path' from 'os' (ThreadLab's VM does not have os.path yet)",
        ),
    ] {
        let r = run(src);
        let e = r.error.unwrap_or_else(|| panic!("{src}: no error"));
        assert_eq!((e.kind.as_str(), e.message.as_str(), e.line), (kind, what, 2), "{src}");
    }
}

#[test]
fn import_lists_in_parentheses_span_lines_and_only_they_take_a_trailing_comma() {
    let r = run("from math import (\n    sqrt,  # a comment\n    pi\n    ,\n)\nfrom time import (sleep,)\nprint(sqrt(4), pi > 3)\n");
    assert_eq!(r.stdout, "2.0 True\n", "{:?}", r.error);
    // CPython 3.11's messages and carets.
    for (src, out) in [
        (
            "from math import sqrt,\n",
            "  File \"<cell>\", line 1\n    from math import sqrt,\n                          ^\nSyntaxError: trailing comma not allowed without surrounding parentheses\n",
        ),
        ("from math import (sqrt,\n", "  File \"<cell>\", line 1\n    from math import (sqrt,\n                     ^\nSyntaxError: '(' was never closed\n"),
    ] {
        let r = run(src);
        assert_eq!(r.stdout, out, "{src}");
    }
}

#[test]
fn dicts_and_sets_stop_at_the_item_budget_with_a_memory_error() {
    let src =
        "d = {}\ntry:\n    for i in range(10**9):\n        d[i] = i\nexcept MemoryError as e:\n    print(len(d), e)\n\
s = set()\ntry:\n    for i in range(10**9):\n        s.add(i)\nexcept MemoryError as e:\n    print(len(s), e)\n\
try:\n    c = {i: i for i in range(10**9)}\nexcept MemoryError as e:\n    print('dictcomp', e)\n\
try:\n    c = {i for i in range(10**9)}\nexcept MemoryError as e:\n    print('setcomp', e)\n\
d[5] = 'replaced'\ns.add(5)\nprint(d[5], len(d), len(s))\n\
x = {}\nx.update((i, i) for i in range(2000))\n";
    let host = Arc::new(NativeHost::default());
    let r = super::program::run_program_tuned(
        src,
        &ProgramOptions { timeout_ms: 20_000.0, ..ProgramOptions::default() },
        host,
        &|i| i.max_items = 1000,
    );
    assert_eq!(
        r.stdout.lines().take(5).collect::<Vec<_>>(),
        [
            "1000 a dict of more than 1000 items is past ThreadLab's memory budget",
            "1000 a set of more than 1000 items is past ThreadLab's memory budget",
            "dictcomp a dict of more than 1000 items is past ThreadLab's memory budget",
            "setcomp a set of more than 1000 items is past ThreadLab's memory budget",
            "replaced 1000 1000",
        ],
        "{}",
        r.stdout
    );
    let e = r.error.expect("the budget, uncaught");
    assert_eq!((e.kind.as_str(), e.line), ("MemoryError", 25));
}

#[test]
fn a_generator_that_would_block_inside_a_builtin_is_a_clear_error_at_its_line() {
    // Thread `holder` keeps the lock while the main thread's `any` runs the generator on
    // the Rust stack (holding the GIL): waiting there would freeze `holder` or hang.
    let src = "import threading, time, queue
lock = threading.Lock()
started = threading.Event()
def holder():
    with lock:
        started.set()
        time.sleep(0.3)
t = threading.Thread(target=holder)
t.start()
started.wait()
def guarded(n):
    for i in range(n):
        with lock:
            yield i
try:
    print(any(x > 5 for x in guarded(3)))
except RuntimeError as e:
    print('caught', str(e)[:30])
t.join()
print(any(x > 1 for x in guarded(3)))
def sleepy(n):
    for i in range(n):
        time.sleep(0.01)
        yield i
print(list(zip('ab', sleepy(2))))
t2 = threading.Thread(target=time.sleep, args=(0.2,))
t2.start()
try:
    print(list(zip('ab', sleepy(2))))
except RuntimeError as e:
    print('caught', str(e)[:30])
t2.join()
q = queue.Queue()
def getter():
    while True:
        yield q.get()
print(sorted(map(str, getter())))
";
    let r = run(src);
    assert_eq!(
        r.stdout.lines().take(5).collect::<Vec<_>>(),
        [
            "caught ThreadLab cannot block (a wait",
            "True",
            "[('a', 0), ('b', 1)]",
            "caught ThreadLab cannot block (time.s",
            "Traceback (most recent call last):",
        ],
        "{}",
        r.stdout
    );
    let e = r.error.expect("the queue's wait, uncaught");
    // Raised at the generator's blocking call, under the builtin's line in the traceback.
    assert_eq!((e.kind.as_str(), e.line), ("RuntimeError", 36), "{e:?}");
    assert!(e.message.contains("(a wait on a queue)") && e.message.contains("iterate it with a for loop"));
    assert!(r.stdout.contains("line 37, in <module>\n    print(sorted(map(str, getter())))"), "{}", r.stdout);
}

/// The inspector's fixtures (`tests/fixtures/refcount/`, as CPython 3.11 printed them) as
/// programs: `sys.getrefcount` and `gc.collect()` are a census of the references
/// (docs/python-vm.md §3), and print what CPython printed — also with the collector run at
/// every breaker site, which must keep unreachable cycles as CPython does until
/// `gc.collect()`. Numbers are values in this VM: counting one is a clear error, so
/// `constants.py` matches up to its first float and stops there naming the line.
#[test]
fn the_inspectors_fixtures_print_cpythons_counts_on_the_vm() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/refcount");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "py") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("script");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // 3.11 printed live counts for what 3.12 made immortal; programs print 3.12's value.
        let oracle = if name == "immortal.py" { "3.12.out" } else { "3.11.out" };
        let expected = std::fs::read_to_string(path.with_extension(oracle)).expect("expected output");
        for stress in [false, true] {
            let host = Arc::new(NativeHost::default());
            let options = ProgramOptions { timeout_ms: 20_000.0, ..ProgramOptions::default() };
            let r = super::program::run_program_tuned(&src, &options, host, &|interp| {
                interp.heap.gc_stress = stress;
                if stress {
                    interp.heap.gc_threshold = 0;
                }
            });
            if name == "constants.py" {
                let printed: Vec<&str> = r.stdout.lines().take_while(|l| !l.starts_with("Traceback")).collect();
                let want: Vec<&str> = expected.lines().take(printed.len()).collect();
                assert_eq!(printed, want, "{name} (stress {stress})");
                assert_eq!(printed.len(), 4, "{name}: the strings and tuples before `ratio`");
                let e = r.error.as_ref().expect("the float's count is an error");
                assert_eq!((e.kind.as_str(), e.line), ("NotImplementedError", 14), "{e:?}");
            } else {
                assert_eq!(r.stdout, expected, "{name} (stress {stress}): {:?}", r.error);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 30, "15 fixtures, twice");
}

#[test]
fn future_imports_are_checked_as_cpythons_compiler_does() {
    // CPython 3.11's messages (its caret for the first spans the statement).
    for (src, line, msg) in [
        (
            "x = 1\nfrom __future__ import annotations\n",
            2,
            "from __future__ imports must occur at the beginning of the file",
        ),
        ("from __future__ import braces\n", 1, "not a chance"),
        ("'''doc'''\nfrom __future__ import annotations, nonsense\n", 2, "future feature nonsense is not defined"),
    ] {
        let r = run(src);
        let e = r.error.unwrap_or_else(|| panic!("{src}: no error"));
        assert_eq!((e.kind.as_str(), e.line, e.message.as_str()), ("SyntaxError", line, msg), "{src}");
    }
    let r =
        run("'''doc'''\nfrom __future__ import annotations\ndef f(x: Later) -> Later:\n    return x\nprint(f(2))\n");
    assert_eq!(r.stdout, "2\n", "{:?}", r.error);
    // A module CPython has and this VM does not is named as such, one that does not exist is not.
    let r = run("import itertools\n");
    assert_eq!(r.error.expect("an error").message, "No module named 'itertools' (ThreadLab's VM does not have it yet)");
    let r = run("import no_such_module\n");
    assert_eq!(r.error.expect("an error").message, "No module named 'no_such_module'");
}
