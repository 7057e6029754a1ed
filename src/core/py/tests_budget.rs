//! Scripts that used to freeze the page: each step must cost what it changes, output
//! and strings have budgets, and the record is compact. Asserted on work done (ids
//! recorded, characters rendered), which does not depend on the machine; times printed.

#![allow(clippy::disallowed_types)] // Native only, like every test here: clippy.toml's wasm rules do not apply.

use super::render::work;
use super::*;
use std::time::Instant;

struct Measured {
    trace: Trace,
    report: Report,
    recorded: usize,
    rendered_run: usize,
    rendered_report: usize,
}

fn measure(name: &str, source: &str, report: bool) -> Measured {
    work::take();
    let t = Instant::now();
    let trace = run(source);
    let run_ms = t.elapsed().as_secs_f64() * 1e3;
    let rendered_run = work::take();
    let t = Instant::now();
    let report = if report {
        trace.report()
    } else {
        Report { output: vec![], steps: vec![], error: None, truncated: false, run_ms: None, version: Version::V3_11 }
    };
    let report_ms = t.elapsed().as_secs_f64() * 1e3;
    let rendered_report = work::take();
    let recorded = trace.recorded_ids();
    println!(
        "{name}: run {run_ms:.0} ms, report {report_ms:.0} ms; {} steps recorded, {recorded} ids, {rendered_run} + \
         {rendered_report} chars rendered",
        trace.len()
    );
    Measured { trace, report, recorded, rendered_run, rendered_report }
}

#[test]
fn a_500_deep_nest_records_each_step_as_a_small_delta() {
    let m = measure("x = [x] × 500", "x = []\nfor i in range(500):\n    x = [x]\n", false);
    assert_eq!(m.trace.error, None);
    // 1,001 steps ran; the first 1,000 are recorded.
    assert!(m.trace.truncated);
    assert_eq!(m.trace.len(), MAX_SNAPSHOTS);
    // Each step: one new list, a count or two, the loop variable: not the whole heap.
    assert!(m.recorded < 20 * m.trace.len(), "{} ids recorded", m.recorded);
    // Reprs are built at view time, 61 characters at most each.
    assert_eq!(m.rendered_run, 0);
    // The last step still shows the nest, drawn from the rebuilt heap.
    let last = m.trace.view(m.trace.len() - 1).expect("a step");
    assert!(work::take() <= 61 * last.heap.len());
    let x = last.frames[0].vars.iter().find(|v| v.name == "x").expect("x").id;
    let item = last.heap.iter().find(|h| h.id == x).expect("x drawn");
    assert_eq!(item.repr, format!("{}…", "[".repeat(59)));
    assert_eq!(item.refcount, 1);
    assert_eq!(last.heap.iter().filter(|h| h.type_name == "list").count(), 500);
}

#[test]
fn a_growing_string_ends_at_the_time_budget_and_is_recorded_as_a_prefix() {
    let chunk = "a".repeat(1000);
    let host = std::sync::Arc::new(vm::native::NativeHost::default());
    let source = format!("s = ''\nfor i in range(100000):\n    s = s + '{chunk}'\n");
    let e = vm::inspect::run_for(&source, host, 1_000.0, Version::V3_11).error.expect("a budget");
    assert!((2..=3).contains(&e.line) && ["TimeoutError", "StepLimitError"].contains(&e.kind.as_str()), "{e}");
    // Strings are recorded as a bounded prefix.
    let m = measure("s = s + 1000 chars", &format!("s = ''\nfor i in range(300):\n    s = s + '{chunk}'\n"), true);
    assert!(m.recorded < 20 * m.trace.len());
    let view = m.trace.view(m.trace.len() - 1).expect("a step");
    let s = view.heap.iter().find(|h| h.type_name == "str" && h.repr.len() > 10).expect("s");
    assert_eq!(s.repr, format!("'{}…", "a".repeat(58)));
}

#[test]
fn printing_a_huge_list_stops_at_the_output_budget() {
    let m = measure("print(x) × 30,000", "x = [0] * 100000\nfor i in range(30000):\n    print(x)\n", true);
    assert_eq!(m.trace.error, None);
    // 3 whole lines of 300,000 characters, a 4th cut at 1,000,000 in all, then the notice.
    assert_eq!(m.trace.output.len(), 5);
    // (The cap counts the newlines too.)
    let printed = m.trace.output.iter().take(4).map(|l| l.chars().count() + 1).sum::<usize>();
    assert!((vm::vm::OUTPUT_CHARS..=vm::vm::OUTPUT_CHARS + 1).contains(&printed), "{printed}");
    assert!(m.trace.output[4].starts_with("[ThreadLab stopped printing here"));
    // Printing stopped building text as soon as the budget was met.
    assert!(m.rendered_run <= vm::vm::OUTPUT_CHARS + 10, "{} chars rendered", m.rendered_run);
    // The 100,000 slots are recorded once; each later step records counts only.
    assert!(m.recorded < 100_000 + 20 * m.trace.len(), "{} ids recorded", m.recorded);
    assert!(m.report.truncated, "the report stops at its budget of materialized items");
    assert!(m.rendered_report <= 61 * REPORT_ITEMS);
}

#[test]
fn too_many_lines_stop_at_the_line_budget() {
    let trace = run("i = 0\nwhile i < 20000:\n    print(i)\n    i += 1\n");
    assert_eq!(trace.error, None);
    assert_eq!(trace.output.len(), vm::vm::OUTPUT_LINES + 1);
    assert_eq!(trace.output[vm::vm::OUTPUT_LINES - 1], "9999");
}

#[test]
fn a_trace_crosses_as_json_and_views_match_the_report() {
    let source = "import gc\na = [1, 'two', (3.0, None)]\nb = {'k': a}\na.append(a)\ndel a\nx = gc.collect()\n";
    let trace = run(source);
    let json = serde_json::to_string(&trace).expect("serializes");
    let back: Trace = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, trace);
    let report = back.report();
    assert_eq!(report.steps.len(), back.len());
    for (i, step) in report.steps.iter().enumerate() {
        assert_eq!(back.view(i).as_ref(), Some(step));
    }
    assert_eq!(back.view(back.len()), None);
    // A container shows its child's change: after a.append(a), a's repr has the cycle.
    let a = report.steps[1].frames[0].vars.iter().find(|v| v.name == "a").expect("a").id;
    let a_after = report.steps[3].heap.iter().find(|h| h.id == a).expect("a");
    assert_eq!(a_after.repr, "[1, 'two', (3.0, None), [...]]");
    let b = report.steps[3].heap.iter().find(|h| h.type_name == "dict").expect("b");
    assert_eq!(b.repr, "{'k': [1, 'two', (3.0, None), [...]]}");
}

#[test]
#[ignore = "a measurement: ms per 1,000 recorded steps on a small and a large heap"]
fn ms_per_1k_steps() {
    let time = |source: &str| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                let trace = run(source);
                (t.elapsed().as_secs_f64() * 1e3, trace)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("runs")
    };
    for b in bench_scripts() {
        let (setup_ms, _) = time(&b.setup);
        let (full_ms, trace) = time(&b.full);
        assert!(trace.len() >= b.steps, "{} steps", trace.len());
        let t = Instant::now();
        let view = trace.view(trace.len() - 1).expect("a step");
        let view_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{}: {:.2} ms per 1,000 steps (setup {setup_ms:.2} ms, full {full_ms:.2} ms); last view {view_ms:.1} ms, {} \
             objects drawn",
            b.name,
            (full_ms - setup_ms) * 1000.0 / b.steps as f64,
            view.heap.len()
        );
    }
}

#[test]
fn loops_over_big_containers_end_at_the_time_budget_naming_the_line() {
    // Each would run 100,000 steps doing up to a million items' work in each: the VM's
    // wall-time budget ends it with a clear error naming the line (in the page the script
    // runs in a worker, which Stop and the page's own timeout can end too).
    let scripts = [
        "x = []\nfor i in range(100000):\n    x = x + [i]\n",
        "x = [0] * 10000\nfor i in range(100000):\n    y = 5 in x\n",
        "x = [0] * 10000\nfor i in range(100000):\n    s = str(x)\n",
    ];
    for source in scripts {
        let t = Instant::now();
        let host = std::sync::Arc::new(vm::native::NativeHost::default());
        let trace = vm::inspect::run_for(source, host, 1_000.0, Version::V3_11);
        let e = trace.error.expect("a budget");
        println!("{:?}: {} in {:.0} ms", source.lines().last(), e.kind, t.elapsed().as_secs_f64() * 1e3);
        assert!(["TimeoutError", "StepLimitError"].contains(&e.kind.as_str()), "{source:?}: {e}");
        assert!((2..=3).contains(&e.line), "{source:?}: {e}");
    }
}

#[test]
fn creating_millions_of_short_lived_objects_frees_them_as_cpython() {
    // Each step makes a 50,000-item list and drops it: the collector frees what CPython's
    // counts freed, so memory stays that of one list while 100 are made.
    let host = std::sync::Arc::new(vm::native::NativeHost::default());
    // (Each of the first steps draws 50,000 ints: slow in a debug build on a busy machine.)
    let trace = vm::inspect::run_for(
        "for i in range(8):\n    n = len(list(range(1000, 51000)))\nprint(n)\n",
        host,
        120_000.0,
        Version::V3_11,
    );
    assert_eq!((trace.error, trace.output), (None, vec!["50000".to_owned()]));
}

#[test]
fn a_dict_of_50000_keys_costs_o1_per_key_and_keeps_pythons_keys() {
    // CPython 3.11 prints these lines for this script.
    let source = "d = {}
for i in range(25000):
    d[i * 7] = i
    d[i * 7 + 1] = -i
print(len(d), d[0], d[7], d[8], d[174993], 174993 in d, 174994 in d)
for i in range(0, 25000, 4):
    del d[i * 7]
    del d[i * 7 + 1]
print(len(d), d[7], 0 in d, d[174994])
e = {1: 'a', 'k': 'b', (1, 'x'): 'c'}
e[1.0] = 'int-float'
print(e[True], e[1], e[1.0], e[(1.0, 'x')], len(e))
e[True] = 'bool'
print(e)
del e[1.0]
e[2] = 'z'
e[None] = 0
print(e, len(e), 1 in e, True in e)
f = {}
for i in range(30):
    f[i] = i
for i in range(25):
    del f[i]
f[0] = 'again'
print(f, len(f))
";
    let m = measure("dict of 50,000 keys", source, true);
    assert_eq!(m.trace.error, None);
    assert_eq!(
        m.trace.output,
        [
            "50000 0 1 -1 24999 True True",
            "37500 1 False -24999",
            "int-float int-float int-float c 3",
            "{1: 'bool', 'k': 'b', (1, 'x'): 'c'}",
            "{'k': 'b', (1, 'x'): 'c', 2: 'z', None: 0} 4 False False",
            "{25: 25, 26: 26, 27: 27, 28: 28, 29: 29, 0: 'again'} 6",
        ]
    );
    // A key anywhere unhashable is CPython's TypeError, in a lookup as in a store.
    for source in ["e = {}\nprint([1] in e)\n", "e = {}\ne[(1, [2])] = 3\n"] {
        let e = run(source).error.expect("unhashable");
        assert_eq!((e.kind.as_str(), e.message.as_str()), ("TypeError", "unhashable type: 'list'"));
    }
}
