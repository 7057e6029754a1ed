//! What the page says about each engine, one [`EngineInfo`] each: its names, what it is, what
//! a crash or a timeout does there, and how its Python is written. The one place to describe
//! an engine; the page and the Python equivalents read it from here.

use crate::core::config::{Engine, RunConfig, MAX_WORKERS};
use crate::core::python::{self, Parts};

/// Everything the page says about one engine.
#[derive(Debug)]
pub struct EngineInfo {
    pub engine: Engine,
    /// Its name in links, the API and CSS classes.
    pub key: &'static str,
    pub label: &'static str,
    /// What one lane of its timeline is.
    pub lane_name: &'static str,
    /// What it is, under the engine choice.
    pub blurb: &'static str,
    /// What its workers are called in the pool ("Threads"), or `None` when it has one lane only.
    pub pool_of: Option<&'static str>,
    /// What a task that panics takes down.
    pub crash_note: &'static str,
    /// What happens to a task past its timeout.
    pub timeout_note: &'static str,
    /// What the GIL is here, under its toggle (`None`: one thread, no GIL to show); the
    /// threads engine's depends on the toggle (see [`EngineInfo::gil_note`]).
    pub gil_note: Option<&'static str>,
    /// How many lanes a run had, said with what they are ("2 threads, 1 process").
    pub workers_word: fn(u32) -> String,
    /// Its part of the Python equivalent: how the tasks are called (see [`python::equivalent`]).
    pub python: fn(&RunConfig, &Parts<'_>) -> String,
    /// Whether its Python runs under `if __name__ == "__main__":` (indented).
    pub python_main_guard: bool,
}

static MAIN: EngineInfo = EngineInfo {
    engine: Engine::Main,
    key: "main",
    label: "Main thread",
    lane_name: "main thread",
    blurb: "One task after another on this page's own thread, like plain function calls. \
            The page freezes while they run: watch the heartbeat.",
    pool_of: None,
    crash_note: "On the page's own thread the failure is caught as an error, so the page survives.",
    timeout_note: "a task running longer is stopped there; the next one runs",
    gil_note: None,
    workers_word: |_| "1 thread".to_owned(),
    python: python::sequential,
    python_main_guard: false,
};

static THREADS: EngineInfo = EngineInfo {
    engine: Engine::Threads,
    key: "threads",
    label: "Threads",
    lane_name: "thread",
    blurb: "A rayon pool of Web Workers sharing one wasm memory: the threads of one process, \
            like threading.Thread.",
    pool_of: Some("Threads"),
    crash_note: "A panic is a hard crash: it ends the whole process, every thread's task with it.",
    timeout_note: "a task running longer is ended, with its worker",
    gil_note: Some("Released during I/O; a waiting thread asks for it after the switch interval."),
    workers_word: |n| format!("{n} threads, 1 process"),
    python: python::threads,
    python_main_guard: false,
};

static PROCESSES: EngineInfo = EngineInfo {
    engine: Engine::Processes,
    key: "processes",
    label: "Processes",
    lane_name: "process",
    blurb: "Separate workers, each with its own wasm instance and memory, passing tasks and \
            results as messages, like multiprocessing.",
    pool_of: Some("Processes"),
    crash_note: "Only the bad process dies; the others finish, and the pool replaces it.",
    timeout_note: "a task running longer is ended, with its worker",
    gil_note: Some("Every process has its own GIL, so processes never wait for each other."),
    workers_word: |n| format!("{n} processes"),
    python: python::processes,
    python_main_guard: true,
};

impl Engine {
    /// Everything the page says about this engine.
    #[must_use]
    pub fn info(self) -> &'static EngineInfo {
        match self {
            Engine::Main => &MAIN,
            Engine::Threads => &THREADS,
            Engine::Processes => &PROCESSES,
        }
    }
}

/// What free-threaded threads do, under the GIL toggle when it is off.
pub const FREE_THREADED_NOTE: &str =
    "Free-threaded Python (PEP 703: python3.13t, PYTHON_GIL=0): threads run bytecode at once.";

impl EngineInfo {
    /// What the GIL is here with the toggle at `gil`: only threads can run without one.
    #[must_use]
    pub fn gil_note(&self, gil: bool) -> Option<&'static str> {
        match (self.engine, gil) {
            (Engine::Threads, false) => Some(FREE_THREADED_NOTE),
            _ => self.gil_note,
        }
    }

    /// The name of lane `lane` of this engine ("thread 2"; the main thread has one lane).
    #[must_use]
    pub fn lane_label(&self, lane: u32) -> String {
        match self.pool_of {
            Some(_) => format!("{} {lane}", self.lane_name),
            None => self.lane_name.to_owned(),
        }
    }

    /// The hint under the workers field, with this device's `cores`.
    #[must_use]
    pub fn workers_hint(&self, cores: u32) -> String {
        match self.pool_of {
            Some(pool) => format!("{pool} in the pool, 1–{MAX_WORKERS} ({cores} cores here)"),
            None => format!("The {} is one thread", self.lane_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_has_its_own_info_and_names() {
        for engine in Engine::ALL {
            let info = engine.info();
            assert_eq!(info.engine, engine);
            assert_eq!(Engine::from_key(info.key), Some(engine));
        }
        let keys: std::collections::BTreeSet<_> = Engine::ALL.iter().map(|e| e.info().key).collect();
        assert_eq!(keys.len(), Engine::ALL.len());
    }

    #[test]
    fn lanes_are_named_by_what_they_are() {
        assert_eq!(Engine::Main.info().lane_label(0), "main thread");
        assert_eq!(Engine::Threads.info().lane_label(2), "thread 2");
        assert_eq!((Engine::Processes.info().workers_word)(3), "3 processes");
        assert_eq!((Engine::Threads.info().workers_word)(2), "2 threads, 1 process");
        assert_eq!(Engine::Threads.info().gil_note(false), Some(FREE_THREADED_NOTE));
        assert_eq!(Engine::Processes.info().gil_note(false), Engine::Processes.info().gil_note(true));
        assert_eq!(Engine::Main.info().gil_note(true), None);
    }

    #[test]
    fn the_workers_hint_says_how_many_lanes_an_engine_has() {
        assert_eq!(Engine::Main.info().workers_hint(8), "The main thread is one thread");
        assert_eq!(Engine::Processes.info().workers_hint(8), "Processes in the pool, 1–32 (8 cores here)");
    }
}
