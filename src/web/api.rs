//! `window.threadlab`: the automation API for tests, benchmarks and course authors.
//! `www/main.js` puts [`start`]'s handle behind `window.threadlab.run`; see README.

use crate::core::config::{self, RawValue};
use crate::core::form::Origin;
use crate::core::program::ProgramOptions;
use crate::core::programs;
use crate::web::app::{App, AppProps};
use crate::web::js::{field, raw_config, raw_value, to_js};
use crate::web::lab::Lab;
use js_sys::Promise;
use serde::Serialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::Element;

/// The handle `start` gives to the page's script.
#[wasm_bindgen]
pub struct Api {
    lab: Rc<Lab>,
}

#[wasm_bindgen]
impl Api {
    /// Runs an experiment; resolves to the result as plain JSON, rejects with an
    /// `Error` whose message says what was wrong with the config or the engine.
    pub fn run(&self, config: JsValue) -> Promise {
        let lab = self.lab.clone();
        // The API's edge: a request is checked here, field by field, before the lab sees it.
        let checked = config::validate(&raw_config(&config), lab.limits());
        wasm_bindgen_futures::future_to_promise(async move {
            let config = checked.map_err(|errors| js_sys::Error::new(&lab.reject(errors).message()))?;
            match lab.run(config, Origin::Api).await {
                Ok(result) => to_js(&*result),
                Err(e) => Err(js_sys::Error::new(&e.message()).into()),
            }
        })
    }

    /// Steps through `source` in ThreadLab's Python worker and resolves to every step's
    /// frames and heap with CPython's reference counts: `{output, steps, error, truncated,
    /// version}`. `options.version` says whose counts: `"3.11"` (the default; also 3.12's
    /// and 3.13's) or `"3.14"`. Errors in the script are in `error`; the promise rejects
    /// when `source` is not a string, an option is bad (`"3.14t"` says why it is not
    /// offered yet), or the worker crashed or ran out of time (it is replaced: the next
    /// call gets a fresh one).
    pub fn refcount(&self, source: JsValue, options: JsValue) -> Promise {
        let lab = self.lab.clone();
        let checked = refcount_request(&source, &options);
        wasm_bindgen_futures::future_to_promise(async move {
            let (source, version) = checked.map_err(|why| js_sys::Error::new(&why))?;
            match lab.python(&source, version).await {
                Ok(trace) => to_js(&trace.report()),
                Err(message) => Err(js_sys::Error::new(&message).into()),
            }
        })
    }

    /// Runs `source`, a Python program, on real threads and processes (issue 14) and resolves
    /// to its `ProgramResult` as plain JSON: `{stdout, output, exit_code, wall_ms,
    /// gil_switches, lanes, error}` (README). Rejects when `source` is not a string, an option
    /// is bad or unknown, or the program could not start; a Python error is in `error`.
    pub fn python(&self, source: JsValue, options: JsValue) -> Promise {
        let checked = python_request(&source, &options);
        wasm_bindgen_futures::future_to_promise(async move {
            let (source, options) = checked.map_err(|why| js_sys::Error::new(&why))?;
            // Through the runner, as the Run button does: the Code view shows this run too.
            let done = crate::web::runner::start(source, options).map_err(|why| js_sys::Error::new(&why))?;
            to_js(&*done.await)
        })
    }

    /// Races incref/decref pairs on one shared count: `{threads, pairs, variant}` →
    /// `{final_count, expected_count, lost_updates, ns_per_op, ...}`.
    pub fn race(&self, config: JsValue) -> Promise {
        let lab = self.lab.clone();
        let config = if config.is_object() { config } else { JsValue::UNDEFINED };
        let get = |name| if config.is_undefined() { RawValue::Missing } else { field(&config, name) };
        let (threads, pairs, variant) = (get("threads"), get("pairs"), get("variant"));
        wasm_bindgen_futures::future_to_promise(async move {
            match lab.race(&threads, &pairs, &variant).await {
                Ok(result) => to_js(&result),
                Err(e) => Err(js_sys::Error::new(&e.message()).into()),
            }
        })
    }

    /// Shared versus separate memory: `{engine: "threads"|"processes", bytes}` →
    /// `{parent_sees_items, returned_items, copy_ms, mb_per_s, ...}`.
    pub fn memory(&self, config: JsValue) -> Promise {
        let lab = self.lab.clone();
        let config = if config.is_object() { config } else { JsValue::UNDEFINED };
        let get = |name| if config.is_undefined() { RawValue::Missing } else { field(&config, name) };
        let (engine, bytes) = (get("engine"), get("bytes"));
        wasm_bindgen_futures::future_to_promise(async move {
            match lab.memory(&engine, &bytes).await {
                Ok(result) => to_js(&result),
                Err(e) => Err(js_sys::Error::new(&e.message()).into()),
            }
        })
    }

    /// Start costs and the message round trip, for `cargo xtask bench`:
    /// `{process_ms_first, process_ms_next, process_ms_cold, roundtrip_us, trips}`.
    pub fn probe(&self) -> Promise {
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            match lab.probe(1000).await {
                Ok(probe) => to_js(&probe),
                Err(message) => Err(js_sys::Error::new(&message).into()),
            }
        })
    }

    /// What this device allows, how fast it is, and what starting workers cost:
    /// `{cores, ms_per_unit, max_units, ..., thread_pool_ms, processes_ms, ...}`.
    ///
    /// # Errors
    /// Only if serde_wasm_bindgen could not convert it.
    pub fn device(&self) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct Device {
            cores: u32,
            ms_per_unit: f64,
            max_units: u32,
            max_tasks: u32,
            max_workers: u32,
            max_duration_ms: u32,
            /// ms for the threads engine's pool to be ready inside its process, and its size.
            thread_pool_ms: Option<f64>,
            thread_pool_threads: Option<u32>,
            /// ms for the last batch of new processes to be ready, and how many there were.
            processes_ms: Option<f64>,
            processes_started: Option<u32>,
            thread_memory_bytes: Option<f64>,
            process_memory_bytes: Option<f64>,
            /// ms for the inspector's Python worker to be ready, and its memory then.
            python_worker_ms: Option<f64>,
            python_worker_memory_bytes: Option<f64>,
        }
        let costs = self.lab.start_costs();
        let (python_worker_ms, python_worker_memory_bytes) = self.lab.python_start();
        use crate::core::config::{MAX_DURATION_MS, MAX_TASKS, MAX_WORKERS};
        to_js(&Device {
            cores: self.lab.cores,
            ms_per_unit: self.lab.ms_per_unit,
            max_units: self.lab.limits().max_units,
            max_tasks: MAX_TASKS,
            max_workers: MAX_WORKERS,
            max_duration_ms: MAX_DURATION_MS,
            thread_pool_ms: costs.thread_pool.map(|c| c.0),
            thread_pool_threads: costs.thread_pool.map(|c| c.1),
            processes_ms: costs.processes.map(|c| c.0),
            processes_started: costs.processes.map(|c| c.1),
            thread_memory_bytes: costs.thread_memory_bytes,
            process_memory_bytes: costs.process_memory_bytes,
            python_worker_ms,
            python_worker_memory_bytes,
        })
    }
}

/// `python(source, options)`'s arguments, checked: what the program is given, or why not.
/// `refcount(source, options)`'s arguments checked: the script and the version.
fn refcount_request(source: &JsValue, options: &JsValue) -> Result<(String, crate::core::py::Version), String> {
    let source = source.as_string().ok_or("refcount(source) takes the script as a string.")?;
    if options.is_undefined() || options.is_null() {
        return Ok((source, crate::core::py::Version::default()));
    }
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(format!(
            "refcount(source, options): options must be an object such as {{version: \"3.14\"}}; got {}.",
            raw_value(options)
        ));
    }
    let unknown: Vec<String> = js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .filter(|k| k != "version")
        .map(|k| config::quote(&k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "refcount(source, options): unknown option {}; the option is version.",
            unknown.join(", ")
        ));
    }
    let version = js_sys::Reflect::get(options, &JsValue::from_str("version")).unwrap_or(JsValue::UNDEFINED);
    if version.is_undefined() {
        return Ok((source, crate::core::py::Version::default()));
    }
    let Some(name) = version.as_string() else {
        return Err(format!(
            "refcount(source, options): version must be a string such as \"3.14\"; got {}.",
            raw_value(&version)
        ));
    };
    let version = crate::core::py::Version::parse(&name).map_err(|why| format!("refcount(source, options): {why}."))?;
    Ok((source, version))
}

fn python_request(source: &JsValue, options: &JsValue) -> Result<(String, ProgramOptions), String> {
    const KNOWN: [&str; 3] = ["switch_interval_ms", "timeout_ms", "gil"];
    let source = source.as_string().ok_or("python(source, options) takes the program as a string.")?;
    if options.is_undefined() || options.is_null() {
        return Ok((source, ProgramOptions::default()));
    }
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(format!(
            "python(source, options): options must be an object such as {{switch_interval_ms: 5, timeout_ms: 60000}}; got {}.",
            raw_value(options)
        ));
    }
    let unknown: Vec<String> = js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .map(|k| config::quote(&k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "python(source, options): unknown option {}; the options are switch_interval_ms, timeout_ms and gil.",
            unknown.join(", ")
        ));
    }
    let options = programs::options(
        &field(options, "switch_interval_ms"),
        &field(options, "timeout_ms"),
        &field(options, "gil"),
    )?;
    Ok((source, options))
}

/// Mounts the playground into `root`, starts the engines, and resolves once runs can start.
///
/// Not `#[wasm_bindgen(start)]`: that would run in every worker's instance too, where
/// there is no document.
#[wasm_bindgen]
pub async fn start(root: Element, isolated: bool) -> Api {
    let lab = Lab::new(isolated);
    yew::Renderer::<App>::with_root_and_props(root, AppProps { lab: lab.clone() }).render();
    lab.warm_up(AppProps::DEFAULT_WORKERS).await;
    // After the lab's own warm-up (it measures this device): a Python program's first
    // threads then find their workers parked and waiting.
    crate::web::program::warm_up();
    Api { lab }
}
