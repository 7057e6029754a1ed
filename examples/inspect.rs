//! Runs a script in the reference-count inspector and prints what the page would get:
//! its output, its error, how many steps were recorded and how long it took.
//! `cargo run --release --example inspect -- FILE.py [VERSION]` (VERSION: "3.11", the
//! default, or "3.14": then every line of the output is printed, to compare with CPython's).

#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // a native tool

fn main() {
    let path = std::env::args().nth(1).expect("a script");
    let source = std::fs::read_to_string(&path).expect("readable");
    let began = std::time::Instant::now();
    let version = std::env::args().nth(2).map(|v| threadlab::core::py::Version::parse(&v).expect("a version"));
    let trace = threadlab::core::py::run_version(&source, version.unwrap_or_default());
    let ms = began.elapsed().as_secs_f64() * 1e3;
    let size = format!("{trace:?}").len();
    for line in trace.output.iter().take(if version.is_some() { usize::MAX } else { 5 }) {
        println!("{}", line.chars().take(120).collect::<String>());
    }
    println!(
        "[inspect] {} steps recorded (truncated: {}), {} ids, ~{} KB as text, {:.1} ms, error: {:?}",
        trace.len(),
        trace.truncated,
        trace.recorded_ids(),
        size / 1024,
        ms,
        trace.error
    );
}
