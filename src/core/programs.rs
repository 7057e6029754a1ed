//! The Code view's example programs, and the checks on a program's options
//! (`threadlab.python(source, options)`).
//!
//! Each example *is* a file of the program corpus (`tests/fixtures/programs/`), included here
//! as it is: what CPython 3.11 prints for it is committed next to it (`regenerate.py`), so the
//! page offers nothing whose real output is not on record.

use crate::core::config::RawValue;
use crate::core::gil::{DEFAULT_SWITCH_INTERVAL_MS, MAX_SWITCH_INTERVAL_MS, MIN_SWITCH_INTERVAL_MS};
use crate::core::program::{ProgramOptions, DEFAULT_TIMEOUT_MS};

/// One example of the Code view's menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Example {
    /// Its name in the corpus: `tests/fixtures/programs/KEY.py`.
    pub key: &'static str,
    pub name: &'static str,
    /// What to look for when it runs.
    pub about: &'static str,
    pub source: &'static str,
}

macro_rules! example {
    ($key:literal, $name:literal, $about:literal) => {
        Example {
            key: $key,
            name: $name,
            about: $about,
            source: include_str!(concat!("../../tests/fixtures/programs/", $key, ".py")),
        }
    };
}

/// The menu, in order; the first is the view's default. The notebook's two cells are its code
/// cells verbatim (In [3] and In [12] of the seed notebook).
pub const EXAMPLES: [Example; 12] = [
    example!(
        "notebook_threads",
        "The notebook: two threads",
        "The notebook's threaded cell as written: both threads sleep at the same time, about 3 s in all."
    ),
    example!(
        "notebook_sequential",
        "The notebook: one after another",
        "The notebook's cell without threads: the two waits add up, about 6 s."
    ),
    example!(
        "cpu_threads_vs_pool",
        "CPU-bound: threads vs a Pool",
        "Pure Python arithmetic: two threads take turns holding the GIL; a Pool's processes each have their own."
    ),
    example!(
        "sleep0_lost_update",
        "A race: lost updates",
        "v = counter; time.sleep(0); counter = v + 1 — the sleep lets another thread in between the read and the write."
    ),
    example!(
        "lock_race",
        "The race fixed with a Lock",
        "The same read, sleep and write, inside `with lock:`: no update is lost."
    ),
    example!(
        "thread_exception",
        "An exception in a thread",
        "The thread dies with a traceback; the main thread goes on."
    ),
    example!(
        "process_exception",
        "An exception in a process",
        "The child prints its traceback and ends with exit code 1; the parent goes on, and a Pool re-raises the error."
    ),
    example!(
        "spawn_top_level",
        "Spawn runs the top level again",
        "A child process started with spawn runs the module's top level again, as __mp_main__: mind the guard."
    ),
    example!(
        "shared_list_vs_copies",
        "A shared list vs copies",
        "A thread appends to the very list the main thread sees; a process appends to its own copy."
    ),
    example!(
        "free_threaded_cpu",
        "Free-threaded: CPU threads",
        "Run it, then untick GIL and run it again: free-threaded (as python3.14t), the two threads run on two cores at once."
    ),
    example!(
        "free_threaded_race",
        "Free-threaded: lost updates",
        "With the GIL nothing is lost here; untick GIL and updates are lost. The GIL kept the interpreter safe, never your code: use a Lock."
    ),
    example!(
        "refcount_notebook",
        "Reference counts and a cycle",
        "sys.getrefcount as CPython counts: names, a call's parameter, a dict's slots; a cycle only gc.collect() frees."
    ),
];

/// The examples the lab's crash claims link to: what an uncaught exception ends.
pub const THREAD_EXCEPTION: &str = "thread_exception";
pub const PROCESS_EXCEPTION: &str = "process_exception";

/// The example named `key` in the corpus.
#[must_use]
pub fn example(key: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.key == key)
}

/// The longest wall-time budget a caller may ask for.
pub const MAX_TIMEOUT_MS: f64 = 600_000.0;
/// The shortest.
pub const MIN_TIMEOUT_MS: f64 = 100.0;

/// A number of ms from `lo` to `hi`, given as a number or numeric text; `Missing` is `default`.
fn ms_in(what: &str, value: &RawValue, lo: f64, hi: f64, default: f64) -> Result<f64, String> {
    let ms = match value {
        RawValue::Missing => return Ok(default),
        RawValue::Number(n) => Some(*n),
        RawValue::Text(s) => s.trim().parse::<f64>().ok(),
        RawValue::Bool(_) | RawValue::Other(_) => None,
    };
    ms.filter(|ms| ms.is_finite() && (lo..=hi).contains(ms))
        .ok_or_else(|| format!("{what} must be a number of ms from {lo} to {hi}; got {value}."))
}

/// A program's options as a caller gave them, checked: each bad one is named, with what it takes.
///
/// # Errors
/// Every bad option's message, joined.
pub fn options(switch_interval_ms: &RawValue, timeout_ms: &RawValue, gil: &RawValue) -> Result<ProgramOptions, String> {
    let switch = ms_in(
        "switch_interval_ms",
        switch_interval_ms,
        MIN_SWITCH_INTERVAL_MS,
        MAX_SWITCH_INTERVAL_MS,
        DEFAULT_SWITCH_INTERVAL_MS,
    );
    let timeout = ms_in("timeout_ms", timeout_ms, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS);
    let gil = match gil {
        RawValue::Missing => Ok(true),
        RawValue::Bool(b) => Ok(*b),
        other => Err(format!("gil must be true or false (false runs free-threaded); got {other}.")),
    };
    match (switch, timeout, gil) {
        (Ok(switch_interval_ms), Ok(timeout_ms), Ok(gil)) => Ok(ProgramOptions { switch_interval_ms, timeout_ms, gil }),
        (switch, timeout, gil) => {
            Err([switch.err(), timeout.err(), gil.err()].into_iter().flatten().collect::<Vec<_>>().join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_example_is_in_the_corpus_with_cpython_output_on_record() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/programs");
        let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap();
        for e in EXAMPLES {
            assert!(manifest.contains(&format!("\n[{}]\n", e.key)), "{}: no MANIFEST block", e.key);
            let expected = std::fs::read_to_string(dir.join(format!("{}.expected", e.key)))
                .unwrap_or_else(|_| panic!("{}.expected: run regenerate.py", e.key));
            assert!(expected.starts_with("# regenerate.py python=3.11"), "{}", e.key);
            // Every example runs to its end in CPython.
            assert!(expected.lines().next().unwrap().ends_with(" exit=0"), "{}: {}", e.key, expected);
            assert!(expected.lines().count() > 1, "{}: prints nothing", e.key);
        }
    }

    #[test]
    fn the_examples_are_distinct_and_the_notebook_cells_come_first() {
        for (i, a) in EXAMPLES.iter().enumerate() {
            assert!(!a.about.is_empty());
            for b in &EXAMPLES[i + 1..] {
                assert!(a.key != b.key && a.name != b.name && a.source != b.source, "{} / {}", a.key, b.key);
            }
        }
        assert!(EXAMPLES[0].source.contains("t1 = threading.Thread(target=fetch_data)"));
        assert!(EXAMPLES[1]
            .source
            .contains("# Run two fetch operations one after the other\nfetch_data()\nfetch_data()"));
        // The race: the read and the write apart, the sleep between them; the fix holds a lock.
        assert!(EXAMPLES[3].source.contains("v = counter\n        time.sleep(0)\n        counter = v + 1"));
        assert!(EXAMPLES[4].source.contains("with lock:\n            v = counter"));
        // Spawn's lesson needs a line outside the guard.
        let spawn = example("spawn_top_level").unwrap().source;
        assert!(spawn.find("print(").unwrap() < spawn.find("if __name__ == \"__main__\":").unwrap());
    }

    /// The lab says an uncaught exception ends only its thread, or its process with exit code 1,
    /// and the program goes on: the examples it links to show each, as CPython printed them.
    #[test]
    fn the_crash_claims_link_to_examples_that_show_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/programs");
        let printed = |key: &str| {
            assert!(example(key).is_some(), "{key} is not an example");
            std::fs::read_to_string(dir.join(format!("{key}.expected"))).unwrap()
        };
        let thread = printed(THREAD_EXCEPTION);
        let died = thread.find("Exception in thread Thread-1 (worker):\nTraceback").unwrap();
        assert!(thread[died..].contains("ValueError: boom\nmain goes on, alive: False"), "{thread}");
        let process = printed(PROCESS_EXCEPTION);
        let died = process.find("Process Process-1:\nTraceback").unwrap();
        assert!(process[died..].contains("ValueError: bad value 3\nexit code: 1\n"), "{process}");
        assert!(example("no_such_example").is_none());
    }

    #[test]
    fn options_are_checked_one_by_one() {
        assert_eq!(options(&RawValue::Missing, &RawValue::Missing, &RawValue::Missing), Ok(ProgramOptions::default()));
        let o = options(&RawValue::Number(0.5), &RawValue::Text("2000".into()), &RawValue::Missing).unwrap();
        assert_eq!((o.switch_interval_ms, o.timeout_ms), (0.5, 2000.0));
        assert_eq!(
            options(&RawValue::Number(0.0), &RawValue::Missing, &RawValue::Missing),
            Err("switch_interval_ms must be a number of ms from 0.1 to 100; got 0.".to_owned())
        );
        let both = options(&RawValue::Text("fast".into()), &RawValue::Bool(true), &RawValue::Missing).unwrap_err();
        assert_eq!(
            both,
            "switch_interval_ms must be a number of ms from 0.1 to 100; got \"fast\". \
             timeout_ms must be a number of ms from 100 to 600000; got true."
        );
        assert!(options(&RawValue::Missing, &RawValue::Number(f64::INFINITY), &RawValue::Missing).is_err());
        assert!(options(&RawValue::Other("null".into()), &RawValue::Missing, &RawValue::Missing)
            .unwrap_err()
            .contains("got null"));
        assert!(!options(&RawValue::Missing, &RawValue::Missing, &RawValue::Bool(false)).unwrap().gil);
        assert!(options(&RawValue::Missing, &RawValue::Missing, &RawValue::Text("no".into()))
            .unwrap_err()
            .contains("gil must be"));
    }
}
