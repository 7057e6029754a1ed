//! The one message language of the page and its workers, defined once.
//!
//! Messages cross `postMessage` as plain objects (structured clone) through
//! `serde-wasm-bindgen`, externally tagged: `{Variant: {fields}}` (a unit variant is its
//! name alone, `"Peek"`). Not `#[serde(tag = "type")]`: an internally tagged enum's derived
//! `Deserialize` buffers the whole message in serde's `Content` first and then reads every
//! type inside through it, which doubled the reading code (measured in the page's wasm: the
//! two readers 35,186 + 28,501 bytes, as `ProgramLetter`'s, see `core::runtime`). Stamps are absolute
//! milliseconds on the shared clock `performance.timeOrigin + performance.now()`
//! (see `web::clock`), so a stamp taken in any worker means the same instant everywhere.

use crate::core::config::{BadKind, Workload};
use crate::core::gil::Segment;
use crate::core::py;
use crate::core::race::{RaceConfig, RaceResult};
use serde::{Deserialize, Serialize};

/// One task to run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub id: u32,
    pub workload: Workload,
    pub duration_ms: u32,
    pub units: u32,
    /// Set on the one task that fails on purpose.
    pub bad: Option<BadKind>,
}

/// What a task produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskOutcome {
    /// The CPU kernel's answer in hex (64 bits do not fit a JS number); `None` for I/O.
    pub result: Option<String>,
    /// Whether the answer equals the closed-form check; `None` when there is nothing to check.
    pub checked: Option<bool>,
    /// What the task's thread did when: running, waiting for the GIL, in I/O.
    pub segments: Vec<Segment>,
    /// State changes after the first `task::MAX_SEGMENTS` segments, not recorded.
    pub segments_dropped: u32,
}

/// Which kind of worker a bootstrapped worker becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Hosts one wasm instance and its rayon pool: the threads engine's "process".
    Threads,
    /// One process of the processes engine: its own instance, one task at a time.
    Process,
    /// Runs ThreadLab's own Python (the reference-count inspector) off the page's
    /// thread, in an instance of its own: a script that traps it costs this worker only.
    Python,
    /// A Python program's process (issue 14): its main thread runs here; its threads run on
    /// workers the page starts on this instance's memory (see `web::program`).
    Program,
}

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// The first message a worker gets, read by `spawn.js` before any Rust runs there: it
    /// instantiates the page's module (sent beside `Boot` as `module`, a
    /// `WebAssembly.Module`, which is no serde value) and hands the rest to `worker_main`.
    /// Anything else a boot carries (a program's arena) goes among `Boot`'s fields: an
    /// externally tagged enum is an object with one key.
    Boot { role: Role, threads: u32 },
    /// Run these tasks; a process gets one task at a time, a threads host all of them.
    /// `gil`: the process's Python threads share one GIL with this switch interval.
    Run { run: u32, lane: u32, tasks: Vec<TaskSpec>, gil: bool, switch_interval_ms: f64 },
    /// Write `value` into this instance's memory (a test and teaching probe).
    Poke { value: u32 },
    /// Append one result to this worker's list; threads host: `workers` threads each
    /// append one to the process's one shared list. Answered by [`FromWorker::Kept`].
    Keep { workers: u32 },
    /// Send `data` straight back (processes: the copy there and back).
    Echo {
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Threads host: hand `bytes` of data to a pool thread by reference and back.
    HandOff { bytes: u32 },
    /// Ask what this instance's memory holds; answered by [`FromWorker::Peeked`].
    Peek,
    /// Threads host: race incref/decref pairs on one shared count across the pool.
    Race(RaceConfig),
    /// Python worker: run `source` and answer with [`FromWorker::Traced`].
    /// [`CRASH_TEST_SOURCE`] and [`HANG_TEST_SOURCE`] are the tests' way to make it fail.
    Python {
        source: String,
        /// Which CPython's counts (the default: 3.11's).
        #[serde(default)]
        version: py::Version,
    },
    /// Program process: run this program, answering in `core::runtime::ProgramLetter`s.
    Program { source: String, options: crate::core::program::ProgramOptions },
    /// Program process: be `multiprocessing` child `child.pid` of the program `source`.
    ProgramChild { source: String, child: crate::core::runtime::ChildStart },
}

/// Page → the Python VM module's workers (`web::vm`): the [`ToWorker`] messages they read, and
/// only those, the same on the wire (an externally tagged enum: one key, the variant's name,
/// over the same fields; a test checks each). Reading all of `ToWorker` there put the reader
/// of every engine's task into the VM's wasm (issue 14's size budget).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub enum ToVm {
    /// [`ToWorker::Boot`]: a program's process, or the inspector's Python worker.
    Boot { role: Role, threads: u32 },
    /// [`ToWorker::Python`].
    Python {
        source: String,
        #[serde(default)]
        version: py::Version,
    },
    /// [`ToWorker::Program`].
    Program { source: String, options: crate::core::program::ProgramOptions },
    /// [`ToWorker::ProgramChild`].
    ProgramChild { source: String, child: crate::core::runtime::ChildStart },
}

/// The record of one Python run the worker sends back: the one type to change when the
/// interpreter's output changes shape.
pub type Trace = py::Trace;

/// A script that makes the Python worker panic on purpose (a trap, like any bug that
/// aborts the instance): the end-to-end tests need a crash that no fix to the
/// interpreter can take away. Matched exactly, after trimming white space.
pub const CRASH_TEST_SOURCE: &str = "# threadlab-test: crash the Python worker";

/// A script that makes the Python worker never answer, for the page's timeout.
pub const HANG_TEST_SOURCE: &str = "# threadlab-test: hang the Python worker";

/// What the Python worker does with `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PythonJob {
    Run,
    Crash,
    Hang,
}

impl PythonJob {
    #[must_use]
    pub fn of(source: &str) -> PythonJob {
        match source.trim() {
            CRASH_TEST_SOURCE => PythonJob::Crash,
            HANG_TEST_SOURCE => PythonJob::Hang,
            _ => PythonJob::Run,
        }
    }
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The instance is up (and, for a threads host, its pool of `threads` is running,
    /// which took `pool_ms` inside the host). `memory_bytes`: the instance's memory now.
    Ready {
        threads: u32,
        at: f64,
        pool_ms: f64,
        memory_bytes: f64,
    },
    Started {
        run: u32,
        id: u32,
        lane: u32,
        at: f64,
    },
    Ended {
        run: u32,
        id: u32,
        lane: u32,
        at: f64,
        outcome: TaskOutcome,
    },
    /// Every task of `run` handed to this worker has ended; a GIL changed hands
    /// `gil_switches` times in this worker meanwhile.
    Done {
        run: u32,
        gil_switches: u64,
    },
    Peeked {
        value: u32,
    },
    Raced(RaceResult),
    /// The list the worker's own memory holds now has `len` results.
    Kept {
        len: u32,
    },
    Echoed {
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// The hand-off took `ms`; the thread saw `bytes` bytes.
    HandedOff {
        ms: f64,
        bytes: u32,
    },
    /// Task `id` panicked on `lane` (posted by the panic hook, just before the abort).
    Crashed {
        run: u32,
        id: u32,
        lane: u32,
        at: f64,
        message: String,
    },
    /// The Python worker ran a script: what it did, step by step.
    Traced {
        trace: Box<Trace>,
    },
    /// The Python worker ran a script, but its trace would take more than about
    /// `limit_bytes` to send: the page is not asked to take it in.
    TooBig {
        limit_bytes: f64,
    },
    /// Something went wrong in the worker; `message` is for the page to show.
    Failed {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page writes `ToWorker`s; the VM module reads them as `ToVm`s.
    #[test]
    fn the_vm_module_reads_the_messages_the_page_writes_to_it() {
        use crate::core::program::ProgramOptions;
        use crate::core::runtime::ChildStart;
        let read = |m: &ToWorker| serde_json::from_value::<ToVm>(serde_json::to_value(m).unwrap());
        let options = ProgramOptions { timeout_ms: 1234.0, gil: false, ..ProgramOptions::default() };
        let child =
            ChildStart { pid: 7, name: "Process-1".into(), payload: vec![1, 2], options: options.clone(), t0_ms: 5.0 };
        let pairs = [
            (ToWorker::Boot { role: Role::Program, threads: 3 }, ToVm::Boot { role: Role::Program, threads: 3 }),
            (ToWorker::Boot { role: Role::Python, threads: 1 }, ToVm::Boot { role: Role::Python, threads: 1 }),
            (
                ToWorker::Python { source: "x = 1".into(), version: py::Version::V3_14 },
                ToVm::Python { source: "x = 1".into(), version: py::Version::V3_14 },
            ),
            (
                ToWorker::Program { source: "print(1)".into(), options: options.clone() },
                ToVm::Program { source: "print(1)".into(), options },
            ),
            (
                ToWorker::ProgramChild { source: "s".into(), child: child.clone() },
                ToVm::ProgramChild { source: "s".into(), child },
            ),
        ];
        for (page, vm) in pairs {
            assert_eq!(read(&page).unwrap(), vm, "{page:?}");
        }
        let other = read(&ToWorker::Poke { value: 1 }).unwrap_err().to_string();
        assert!(other.contains("unknown variant `Poke`"), "{other}");
    }

    #[test]
    fn only_the_exact_test_scripts_crash_or_hang_the_worker() {
        assert_eq!(PythonJob::of(CRASH_TEST_SOURCE), PythonJob::Crash);
        assert_eq!(PythonJob::of(&format!("  {HANG_TEST_SOURCE}\n")), PythonJob::Hang);
        assert_eq!(PythonJob::of(&format!("{CRASH_TEST_SOURCE}\nx = 1\n")), PythonJob::Run);
        assert_eq!(PythonJob::of("# threadlab-test: crash"), PythonJob::Run);
        assert_eq!(PythonJob::of(""), PythonJob::Run);
    }

    /// spawn.js writes `Failed` letters by hand (the worker's Rust is not running yet, or a
    /// pool thread died under it): this is the shape it must write.
    #[test]
    fn failed_has_the_shape_spawn_js_writes() {
        let json = serde_json::to_value(FromWorker::Failed { message: "m".into() }).expect("serialises");
        assert_eq!(json, serde_json::json!({ "Failed": { "message": "m" } }));
        let read: FromWorker = serde_json::from_str(r#"{"Failed": {"message": "m"}}"#).expect("reads");
        assert_eq!(read, FromWorker::Failed { message: "m".into() });
    }

    /// spawn.js takes `module` from the boot message and passes the rest to `worker_main`;
    /// a program's boot carries its arena among `Boot`'s fields (web::program), which the
    /// reader passes over.
    #[test]
    fn the_boot_message_has_the_shape_spawn_js_reads() {
        let json = serde_json::to_value(ToWorker::Boot { role: Role::Threads, threads: 4 }).expect("serialises");
        assert_eq!(json, serde_json::json!({ "Boot": { "role": "threads", "threads": 4 } }));
        let read: ToWorker =
            serde_json::from_str(r#"{"Boot": {"role": "program", "threads": 1, "arena": null, "pool_start": 4}}"#)
                .expect("reads");
        assert_eq!(read, ToWorker::Boot { role: Role::Program, threads: 1 });
    }

    /// A unit variant is its name alone, and a newtype's fields sit under its name.
    #[test]
    fn messages_are_externally_tagged() {
        assert_eq!(serde_json::to_value(ToWorker::Peek).expect("serialises"), serde_json::json!("Peek"));
        let json = serde_json::to_value(FromWorker::Peeked { value: 3 }).expect("serialises");
        assert_eq!(json, serde_json::json!({ "Peeked": { "value": 3 } }));
        let read: FromWorker = serde_json::from_value(json).expect("reads");
        assert_eq!(read, FromWorker::Peeked { value: 3 });
    }

    #[test]
    fn a_trace_survives_the_trip_from_the_worker() {
        let trace = py::run("a = [1]\nb = a\ndel a\nprint(b)\nx = (\n");
        let letter = FromWorker::Traced { trace: Box::new(py::run("a = [1]\nb = a\nprint(len(b))\n")) };
        let json = serde_json::to_string(&letter).expect("serialises");
        assert_eq!(serde_json::from_str::<FromWorker>(&json).expect("deserialises"), letter);
        // An error report too (the `type` field of heap items is renamed).
        let letter = FromWorker::Traced { trace: Box::new(trace) };
        let json = serde_json::to_string(&letter).expect("serialises");
        assert_eq!(serde_json::from_str::<FromWorker>(&json).expect("deserialises"), letter);
        let message = ToWorker::Python { source: "x = 1".into(), version: py::Version::V3_14 };
        let json = serde_json::to_string(&message).expect("serialises");
        assert_eq!(serde_json::from_str::<ToWorker>(&json).expect("deserialises"), message);
    }
}
