//! The inspector's benchmark scripts (`core::py::bench_scripts`) as JSON, for
//! `inspector.ms_per_1k_steps` in `cargo xtask bench`: the browser side times them in the
//! Python worker, so both sides use these very scripts.
//!
//! `cargo run --example inspector_scripts`

fn main() {
    let scripts = threadlab::core::py::bench_scripts();
    println!("{}", serde_json::to_string(&scripts).expect("plain data"));
}
