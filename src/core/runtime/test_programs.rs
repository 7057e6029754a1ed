//! Programs the tests and the benchmark run through the runtime without the VM: small Rust
//! bodies that exercise a [`Host`] exactly as the VM does (threads, output, stop), reached
//! only by a first line `# threadlab-test: …`, like the inspector's crash script.

use super::arena::{self, Channel};
use super::{current_worker, Spawner};
use crate::core::program::{Host, OutputChunk, ProgramError, ProgramResult, Stream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

const PREFIX: &str = "# threadlab-test:";

/// A test program, named by the source's first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestProgram {
    /// `threads N`: starts N threads; each writes which worker runs it, bumps one shared
    /// count and waits until every start was tried, so that they are alive together; the main
    /// thread prints the count and how many distinct workers ran them. A start that fails
    /// prints the error, as `RuntimeError: can't start new thread`.
    Threads(u32),
    /// `panic in a thread`: a thread panics (a trap in the browser: the process dies).
    PanicInThread,
    /// `busy`: the main thread and 2 threads spin until stop is requested, then it ends as
    /// the VM does, with the line named.
    Busy,
    /// `busy, deaf to stop`: spins forever without looking: only terminating it ends it.
    Deaf,
    /// `thread start N`: N times, starts a thread and waits for it; prints the ms from
    /// `spawn_thread` to the thread's first line (median, p99, max). The two stamps are
    /// taken on two threads: in the browser, two workers whose clocks disagree by up to
    /// `web::clock::CROSS_CONTEXT_PRECISION_MS`, so a warm hand-off can print a small
    /// negative figure.
    ThreadStart(u32),
    /// `processes N`: starts N child processes, sends each a number over one channel and
    /// collects their answers from another, blocked in a receive meanwhile (as a `Queue.get`).
    Processes(u32),
    /// `child TO_CHILD TO_PARENT` (what `processes` starts): takes one number from channel
    /// TO_CHILD, blocked until it comes, and answers its square on TO_PARENT.
    Child(u32, u32),
}

impl TestProgram {
    /// The test program `source` names, if it names one.
    #[must_use]
    pub fn of(source: &str) -> Option<TestProgram> {
        let rest = source.trim().lines().next()?.trim().strip_prefix(PREFIX)?.trim();
        let number = |name: &str| rest.strip_prefix(name).and_then(|n| n.trim().parse::<u32>().ok());
        match rest {
            "panic in a thread" => Some(TestProgram::PanicInThread),
            "busy" => Some(TestProgram::Busy),
            "busy, deaf to stop" => Some(TestProgram::Deaf),
            _ => number("threads")
                .map(TestProgram::Threads)
                .or_else(|| number("thread start").map(|n| TestProgram::ThreadStart(n.clamp(1, 10_000))))
                .or_else(|| number("processes").map(|n| TestProgram::Processes(n.min(8))))
                .or_else(|| {
                    let mut words = rest.strip_prefix("child ")?.split_whitespace().map(str::parse::<u32>);
                    match (words.next(), words.next(), words.next()) {
                        (Some(Ok(to_child)), Some(Ok(to_parent)), None) => {
                            Some(TestProgram::Child(to_child, to_parent))
                        }
                        _ => None,
                    }
                }),
        }
    }

    /// Runs it on `host` (on the process's main thread).
    ///
    /// # Panics
    /// [`TestProgram::PanicInThread`], on purpose, in the thread it starts.
    #[must_use]
    pub fn run(self, host: &Arc<dyn Host>, processes: &dyn Spawner) -> ProgramResult {
        let began = host.now_ms();
        let mut result = ProgramResult::default();
        let out = |stream, text: String| {
            host.write(OutputChunk { stream, pid: 1, lane: 0, text, t_ms: host.now_ms() - began });
        };
        match self {
            TestProgram::Threads(n) => threads(host, n, &out),
            TestProgram::PanicInThread => {
                let job = Box::new(|| panic!("a thread panicked on purpose (the tests' panic script)"));
                if let Err(why) = host.spawn_thread(job) {
                    out(Stream::Stderr, format!("RuntimeError: can't start new thread ({why})\n"));
                }
                // The process dies with the thread; this only waits for that.
                host.sleep_ms(10_000.0);
            }
            TestProgram::Busy => {
                for _ in 0..2 {
                    let h = host.clone();
                    let _ = host.spawn_thread(Box::new(move || spin(&h)));
                }
                spin(host);
                result.error = Some(ProgramError {
                    kind: "Stopped".into(),
                    message: "the program was stopped at line 1".into(),
                    line: 1,
                    col: 1,
                });
                result.exit_code = 1;
            }
            TestProgram::Deaf => loop {
                std::hint::spin_loop();
            },
            TestProgram::ThreadStart(n) => thread_start(host, n, &out),
            TestProgram::Processes(n) => {
                if let Err(why) = parent(host, processes, n, &out) {
                    out(Stream::Stderr, format!("{why}\n"));
                    result.exit_code = 1;
                }
            }
            TestProgram::Child(to_child, to_parent) => {
                if let Err(why) = child(host, processes, Channel(to_child), Channel(to_parent), &out) {
                    out(Stream::Stderr, format!("{why}\n"));
                    result.exit_code = 1;
                }
            }
        }
        result.wall_ms = host.now_ms() - began;
        result
    }
}

fn spin(host: &Arc<dyn Host>) {
    let mut turns = 0u64;
    while !host.stop_requested() {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

fn threads(host: &Arc<dyn Host>, n: u32, out: &dyn Fn(Stream, String)) {
    let count = Arc::new(AtomicU32::new(0));
    let release = Arc::new(AtomicU32::new(0));
    let finished = Arc::new(AtomicU32::new(0));
    let workers = Arc::new(Mutex::new(Vec::new()));
    let mut started = 0;
    for i in 0..n {
        let (h, count, release, finished, workers) =
            (host.clone(), count.clone(), release.clone(), finished.clone(), workers.clone());
        let job = Box::new(move || {
            let worker = current_worker().unwrap_or(usize::MAX);
            workers.lock().unwrap_or_else(PoisonError::into_inner).push(worker);
            let t_ms = h.now_ms();
            h.write(OutputChunk {
                stream: Stream::Stdout,
                pid: 1,
                lane: i + 1,
                text: format!("thread {i} runs on worker {worker}\n"),
                t_ms,
            });
            count.fetch_add(1, Ordering::SeqCst);
            // Alive until every start was tried: they run together, each on its own worker.
            while release.load(Ordering::SeqCst) == 0 && !h.stop_requested() {
                h.sleep_ms(0.5);
            }
            finished.fetch_add(1, Ordering::SeqCst);
        });
        match host.spawn_thread(job) {
            Ok(()) => started += 1,
            Err(why) => out(Stream::Stderr, format!("thread {i}: RuntimeError: can't start new thread ({why})\n")),
        }
    }
    while count.load(Ordering::SeqCst) < started && !host.stop_requested() {
        host.sleep_ms(0.5);
    }
    release.store(1, Ordering::SeqCst);
    while finished.load(Ordering::SeqCst) < started && !host.stop_requested() {
        host.sleep_ms(0.5);
    }
    // A bit per worker slot (32 of them): no sort to ship for a count.
    let distinct =
        workers.lock().unwrap_or_else(PoisonError::into_inner).iter().fold(0u64, |set, w| set | (1 << (w & 63)));
    out(Stream::Stdout, format!("started {started} of {n}; counter = {}\n", count.load(Ordering::SeqCst)));
    out(Stream::Stdout, format!("distinct workers = {}\n", distinct.count_ones()));
}

fn parent(host: &Arc<dyn Host>, processes: &dyn Spawner, n: u32, out: &dyn Fn(Stream, String)) -> Result<(), String> {
    let arena = processes.arena();
    let to_child = arena::create(arena, 64).map_err(|e| e.to_string())?;
    let to_parent = arena::create(arena, 64).map_err(|e| e.to_string())?;
    for _ in 0..n {
        processes.spawn_process(&format!("{PREFIX} child {} {}", to_child.0, to_parent.0))?;
    }
    let stop = || host.stop_requested();
    let now = || host.now_ms();
    for x in 0..n {
        to_child.send(arena, &(x + 2).to_le_bytes(), &stop).map_err(|e| e.to_string())?;
    }
    let mut answers = Vec::new();
    for _ in 0..n {
        let answer = to_parent.receive(arena, Some(20_000.0), &now, &stop).map_err(|e| format!("receive: {e}"))?;
        answers.push(String::from_utf8_lossy(&answer).into_owned());
    }
    answers.sort();
    for answer in &answers {
        out(Stream::Stdout, format!("{answer}\n"));
    }
    out(Stream::Stdout, format!("received {} of {n}\n", answers.len()));
    Ok(())
}

fn child(
    host: &Arc<dyn Host>,
    processes: &dyn Spawner,
    to_child: Channel,
    to_parent: Channel,
    out: &dyn Fn(Stream, String),
) -> Result<(), String> {
    let arena = processes.arena();
    let stop = || host.stop_requested();
    let now = || host.now_ms();
    let x = to_child.receive(arena, Some(20_000.0), &now, &stop).map_err(|e| format!("receive: {e}"))?;
    let x = u32::from_le_bytes(x.try_into().map_err(|_| "not a number".to_owned())?);
    out(Stream::Stdout, format!("a child got {x}\n"));
    to_parent.send(arena, format!("{x} squared is {}", x * x).as_bytes(), &stop).map_err(|e| e.to_string())
}

fn thread_start(host: &Arc<dyn Host>, n: u32, out: &dyn Fn(Stream, String)) {
    let mut samples = Vec::new();
    for _ in 0..n {
        let first_line = Arc::new(Mutex::new(None));
        let (h, seen) = (host.clone(), first_line.clone());
        let asked = host.now_ms();
        let job = Box::new(move || {
            let now = h.now_ms();
            *seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(now);
        });
        if let Err(why) = host.spawn_thread(job) {
            out(Stream::Stderr, format!("RuntimeError: can't start new thread ({why})\n"));
            return;
        }
        let at = loop {
            if let Some(at) = *first_line.lock().unwrap_or_else(PoisonError::into_inner) {
                break at;
            }
            if host.stop_requested() {
                return;
            }
            std::hint::spin_loop();
        };
        samples.push(at - asked);
        // Let the worker park again, as between two `start()`s of a program.
        host.sleep_ms(0.2);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[i]
    };
    out(
        Stream::Stdout,
        format!(
            "thread start ms: median {:.4} p99 {:.4} max {:.4} n {}\n",
            at(0.5),
            at(0.99),
            samples[samples.len() - 1],
            samples.len()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(TestProgram::of("# threadlab-test: threads 40\n"), Some(TestProgram::Threads(40)));
        assert_eq!(TestProgram::of("  # threadlab-test: thread start 100"), Some(TestProgram::ThreadStart(100)));
        assert_eq!(TestProgram::of("# threadlab-test: busy"), Some(TestProgram::Busy));
        assert_eq!(TestProgram::of("# threadlab-test: busy, deaf to stop"), Some(TestProgram::Deaf));
        assert_eq!(TestProgram::of("# threadlab-test: panic in a thread"), Some(TestProgram::PanicInThread));
        assert_eq!(TestProgram::of("print('# threadlab-test: busy')"), None);
        assert_eq!(TestProgram::of("# threadlab-test: threads many"), None);
        assert_eq!(TestProgram::of("# threadlab-test: processes 3"), Some(TestProgram::Processes(3)));
        assert_eq!(TestProgram::of("# threadlab-test: child 7 9"), Some(TestProgram::Child(7, 9)));
        assert_eq!(TestProgram::of("# threadlab-test: child 7"), None);
    }
}

/// A [`Host`] on native threads, built on the same [`super::Process`] as the browser's: the
/// pool's workers are `std::thread`s that join it when asked for.
#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // Native only: clippy.toml's wasm rules do not apply.
pub mod native {
    use super::super::arena::{self, native::NativeArena, Arena};
    use super::super::{Process, Spawner};
    use super::TestProgram;
    use crate::core::program::{Host, OutputChunk};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    pub struct NativeHost {
        pub process: Arc<Process>,
        pub arena: Arc<NativeArena>,
        pub output: Mutex<Vec<(u32, OutputChunk)>>,
        began: Instant,
    }

    impl NativeHost {
        #[must_use]
        pub fn new() -> Arc<NativeHost> {
            let arena = Arc::new(NativeArena::new(64 * 1024));
            arena::format(&*arena);
            NativeHost::with_arena(arena)
        }

        /// A host for another process of the same program: its own pool, the same arena.
        #[must_use]
        pub fn with_arena(arena: Arc<NativeArena>) -> Arc<NativeHost> {
            Arc::new(NativeHost {
                process: Arc::new(Process::new()),
                arena,
                output: Mutex::new(Vec::new()),
                began: Instant::now(),
            })
        }

        /// The output in ticket order, as the page shows it.
        ///
        /// # Panics
        /// When a thread panicked while writing.
        pub fn text(&self) -> String {
            let mut out = self.output.lock().unwrap().clone();
            out.sort_by_key(|(ticket, _)| *ticket);
            out.into_iter().map(|(_, c)| c.text).collect()
        }
    }

    impl Spawner for NativeHost {
        fn arena(&self) -> &dyn Arena {
            &*self.arena
        }

        /// A child on a thread of its own with its own host; its output joins the parent's.
        fn spawn_process(&self, source: &str) -> Result<(), String> {
            let test = TestProgram::of(source).ok_or("not a test program")?;
            let child = NativeHost::with_arena(self.arena.clone());
            std::thread::spawn(move || {
                let host: Arc<dyn Host> = child.clone();
                let _ = test.run(&host, &*child);
            });
            Ok(())
        }
    }

    impl Host for NativeHost {
        fn now_ms(&self) -> f64 {
            self.began.elapsed().as_secs_f64() * 1000.0
        }

        fn spawn_thread(&self, job: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
            let process = self.process.clone();
            let grow = move |n: u32| {
                for _ in 0..n {
                    let process = process.clone();
                    std::thread::spawn(move || {
                        if let Some(slot) = process.pool.join() {
                            process.pool.serve(slot);
                        }
                    });
                }
            };
            self.process.pool.spawn(job, &grow, &|| self.process.stop_requested()).map_err(|e| e.to_string())
        }

        fn write(&self, chunk: OutputChunk) {
            let ticket = self.process.ticket();
            self.output.lock().unwrap().push((ticket, chunk));
        }

        fn stop_requested(&self) -> bool {
            self.process.stop_requested()
        }

        fn budget_spent(&self) -> bool {
            self.process.budget_spent()
        }

        fn sleep_ms(&self, ms: f64) {
            self.process.sleep_ms(ms);
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Native only: clippy.toml's wasm rules do not apply.
mod run_tests {
    use super::native::NativeHost;
    use super::*;
    use crate::core::runtime::KILL_STOP;
    use std::time::Duration;

    #[test]
    fn forty_threads_the_first_32_run_on_distinct_workers_the_rest_fail() {
        let host = NativeHost::new();
        let dyn_host: Arc<dyn Host> = host.clone();
        let result = TestProgram::Threads(40).run(&dyn_host, &*host);
        let text = host.text();
        assert_eq!(result.error, None);
        assert!(text.contains("started 32 of 40; counter = 32\n"), "{text}");
        assert!(text.contains("distinct workers = 32\n"), "{text}");
        assert_eq!(text.matches("can't start new thread (ThreadLab runs at most 32 threads").count(), 8, "{text}");
        assert_eq!(text.matches(" runs on worker ").count(), 32, "{text}");
        host.process.pool.close();
    }

    #[test]
    fn busy_threads_end_on_stop() {
        let host = NativeHost::new();
        let dyn_host: Arc<dyn Host> = host.clone();
        let process = host.process.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            process.kill.store(KILL_STOP, Ordering::SeqCst);
        });
        let result = TestProgram::Busy.run(&dyn_host, &*host);
        stopper.join().unwrap();
        assert_eq!(result.error.map(|e| e.kind), Some("Stopped".into()));
        for _ in 0..1000 {
            if host.process.pool.live() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(host.process.pool.live(), 0, "a busy thread did not see the stop");
        host.process.pool.close();
    }

    #[test]
    fn processes_exchange_bytes_through_the_arena_while_blocked() {
        let host = NativeHost::new();
        let dyn_host: Arc<dyn Host> = host.clone();
        let result = TestProgram::Processes(3).run(&dyn_host, &*host);
        assert_eq!(result.exit_code, 0, "{}", host.text());
        assert_eq!(host.text(), "2 squared is 4\n3 squared is 9\n4 squared is 16\nreceived 3 of 3\n");
    }

    #[test]
    fn thread_start_prints_its_figures() {
        let host = NativeHost::new();
        let dyn_host: Arc<dyn Host> = host.clone();
        let _ = TestProgram::ThreadStart(20).run(&dyn_host, &*host);
        let text = host.text();
        assert!(text.starts_with("thread start ms: median "), "{text}");
        assert!(text.trim_end().ends_with("n 20"), "{text}");
        host.process.pool.close();
    }
}
