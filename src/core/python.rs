//! The Python a student would write for the current settings, in the notebook's style.

use crate::core::config::{RunConfig, Workload};
use std::fmt::Write as _;

/// What every engine's Python shares: the import, the task's `def`, and its name.
pub struct Parts<'a> {
    pub import: &'a str,
    pub task_def: &'a str,
    pub call: &'a str,
}

/// The main thread's Python: the tasks one after the other.
#[must_use]
pub fn sequential(config: &RunConfig, p: &Parts<'_>) -> String {
    let (import, task_def, call, n) = (p.import, p.task_def, p.call, config.tasks);
    let mut py = String::new();
    let _ = writeln!(py, "{import}\n\n{task_def}");
    let _ = writeln!(py, "start = time.time()\n");
    let _ = writeln!(py, "# Run the tasks one after the other");
    let _ = writeln!(py, "for i in range({n}):\n    {call}(i)");
    py
}

/// The threads engine's Python: `threading`, or a thread pool when there are fewer threads than tasks.
#[must_use]
pub fn threads(config: &RunConfig, p: &Parts<'_>) -> String {
    let (import, task_def, call, n) = (p.import, p.task_def, p.call, config.tasks);
    let mut py = String::new();
    if config.gil {
        let _ = writeln!(py, "{import}\nimport sys\nimport threading\n");
        let _ = writeln!(
            py,
            "sys.setswitchinterval({})  # a waiting thread asks for the GIL after this long\n\n{task_def}",
            config.switch_interval_ms / 1000.0
        );
    } else {
        let _ = writeln!(py, "# Free-threaded CPython (PEP 703): run with python3.13t, or PYTHON_GIL=0");
        let _ = writeln!(py, "{import}\nimport threading\n\n{task_def}");
    }
    let _ = writeln!(py, "start = time.time()\n");
    if config.workers >= n {
        let _ = writeln!(py, "# One thread per task, as threading.Thread");
        let _ = writeln!(py, "threads = [threading.Thread(target={call}, args=(i,)) for i in range({n})]");
        let _ = writeln!(py, "for t in threads:\n    t.start()\nfor t in threads:\n    t.join()");
    } else {
        let _ = writeln!(py, "from concurrent.futures import ThreadPoolExecutor\n");
        let _ = writeln!(py, "with ThreadPoolExecutor(max_workers={}) as pool:", config.workers);
        let _ = writeln!(py, "    list(pool.map({call}, range({n})))");
    }
    py
}

/// The processes engine's Python: a `multiprocessing.Pool`, under the main guard.
#[must_use]
pub fn processes(config: &RunConfig, p: &Parts<'_>) -> String {
    let (import, task_def, call, n) = (p.import, p.task_def, p.call, config.tasks);
    let mut py = String::new();
    let _ = writeln!(py, "{import}\nimport multiprocessing\n\n{task_def}");
    let _ = writeln!(py, "if __name__ == \"__main__\":");
    let _ = writeln!(py, "    start = time.time()");
    let _ = writeln!(py, "    with multiprocessing.Pool(processes={}) as pool:", config.workers);
    let _ = writeln!(py, "        pool.map({call}, range({n}))");
    py
}

/// Python source equivalent to `config`.
#[must_use]
pub fn equivalent(config: &RunConfig) -> String {
    let mut py = String::new();
    let (import, task_def) = match config.workload {
        Workload::Io => (
            "import time",
            format!(
                "def fetch_data(i):\n    print(f\"Start fetching {{i}}...\")\n    time.sleep({})  # Simulate I/O delay\n    print(f\"Done fetching {{i}}!\")\n",
                seconds(config.duration_ms)
            ),
        ),
        Workload::Cpu => (
            "import time",
            format!(
                "def crunch(i, units={units}):\n    # {units} units × 2**20 steps of a 64-bit LCG: pure CPU work\n    x = seed(i)\n    for _ in range(units * 2**20):\n        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64\n    return x\n",
                units = config.units
            ),
        ),
    };
    let call = match config.workload {
        Workload::Io => "fetch_data",
        Workload::Cpu => "crunch",
    };
    let info = config.engine.info();
    py.push_str(&(info.python)(config, &Parts { import, task_def: &task_def, call }));
    let indent = if info.python_main_guard { "    " } else { "" };
    let _ = writeln!(py, "\n{indent}print(f\"Total time: {{time.time() - start:.2f}} seconds\")");
    if config.workload == Workload::Cpu {
        py = py.replace("x = seed(i)", "x = i  # ThreadLab mixes i into a 64-bit seed first");
    }
    py
}

fn seconds(ms: u32) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{}", f64::from(ms) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Engine;

    #[test]
    fn the_notebook_preset_reads_like_the_notebook() {
        let main = equivalent(&RunConfig::notebook_preset());
        assert!(main.contains("time.sleep(3)"));
        assert!(main.contains("for i in range(2):\n    fetch_data(i)"));
        assert!(!main.contains("threading"));
        let threads = equivalent(&RunConfig { engine: Engine::Threads, ..RunConfig::notebook_preset() });
        assert!(threads.contains("threading.Thread(target=fetch_data"));
        assert!(threads.contains("t.join()"));
    }

    #[test]
    fn fewer_workers_than_tasks_use_a_pool() {
        let cfg = RunConfig { engine: Engine::Threads, tasks: 8, workers: 2, ..RunConfig::notebook_preset() };
        assert!(equivalent(&cfg).contains("ThreadPoolExecutor(max_workers=2)"));
        let cfg = RunConfig { engine: Engine::Processes, workload: Workload::Cpu, units: 40, ..cfg };
        let py = equivalent(&cfg);
        assert!(py.contains("multiprocessing.Pool(processes=2)"));
        assert!(py.contains("if __name__ == \"__main__\":"));
        assert!(py.contains("units=40"));
    }

    #[test]
    fn the_gil_settings_show_in_the_python() {
        let cfg = RunConfig { engine: Engine::Threads, switch_interval_ms: 1.0, ..RunConfig::notebook_preset() };
        assert!(equivalent(&cfg).contains("sys.setswitchinterval(0.001)"));
        let free = equivalent(&RunConfig { gil: false, ..cfg });
        assert!(free.contains("python3.13t") && free.contains("PYTHON_GIL=0"));
        assert!(!free.contains("setswitchinterval"));
    }

    #[test]
    fn fractional_seconds_are_kept() {
        let cfg = RunConfig { duration_ms: 300, ..RunConfig::notebook_preset() };
        assert!(equivalent(&cfg).contains("time.sleep(0.3)"));
    }
}
