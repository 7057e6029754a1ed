//! The one message language of the page and its workers, defined once.
//!
//! Messages cross `postMessage` as plain objects (structured clone) through
//! `serde-wasm-bindgen`; the `type` field names the variant. Stamps are absolute
//! milliseconds on the shared clock `performance.timeOrigin + performance.now()`
//! (see `web::clock`), so a stamp taken in any worker means the same instant everywhere.

use crate::core::config::{BadKind, Workload};
use crate::core::gil::Segment;
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
}

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToWorker {
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
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
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
    /// Something went wrong in the worker; `message` is for the page to show.
    Failed {
        message: String,
    },
}
