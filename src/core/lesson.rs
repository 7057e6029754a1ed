//! The lesson (issue 16): the notebook's argument as experiments the student predicts, runs and
//! has explained. Its sections, each experiment's cell (an example of the Code view, so a file of
//! the program corpus) and questions, the comparison of a prediction with what the run measured,
//! and the student's progress as the small JSON the page keeps in localStorage. The page only
//! draws what this works out.

use crate::core::program::{Lane, LaneKind, LaneState, ProgramResult};
use crate::core::program_view::escape;
use crate::core::programs;
use std::fmt::Write;

/// `?lesson=` of the one lesson there is.
pub const LESSON: &str = "threads-and-processes";
/// Where the page keeps the student's progress (localStorage).
pub const STORAGE_KEY: &str = "threadlab.lesson.threads-and-processes";
/// The version of the saved progress' shape: a value of another version is set aside.
pub const VERSION: u32 = 1;

/// A piece of a section, in reading order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Block {
    /// A paragraph; text between backticks is code.
    Para(&'static str),
    /// A link to another tab of the page: its query and its words.
    Link { query: &'static str, label: &'static str },
    /// An experiment, by id (see [`EXPERIMENTS`]).
    Experiment(&'static str),
    /// The Key Differences table, filled from the student's runs ([`differences_html`]).
    Differences,
    /// An exercise, by id (see [`EXERCISES`]).
    Exercise(&'static str),
}

/// One section of the lesson: `#id` links to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub blocks: &'static [Block],
}

/// One answer a choice question offers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    pub key: &'static str,
    pub label: &'static str,
}

/// What the student is asked to predict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ask {
    /// A number of seconds, from `min` to `max`.
    Seconds { min: f64, max: f64 },
    /// One of three answers about a time ratio, from least time to most; the measured ratio picks
    /// one by `bounds` (below `bounds[0]` the first, from `bounds[1]` the last).
    Ratio { choices: [Choice; 3], bounds: [f64; 2] },
    /// One of the answers, each what a line of the output reads when it is what happens (`""`:
    /// the line is not printed at all).
    Printed { choices: &'static [Choice], reads: &'static [&'static str] },
}

impl Ask {
    /// The answers offered, for a choice; none for a number.
    #[must_use]
    pub fn choices(&self) -> &[Choice] {
        match self {
            Ask::Seconds { .. } => &[],
            Ask::Ratio { choices, .. } => choices,
            Ask::Printed { choices, .. } => choices,
        }
    }
}

/// Where a question's measurement comes from: the program's own `print`s of its times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    /// The seconds printed on the line starting with this.
    Seconds(&'static str),
    /// The seconds of the first line over those of the second.
    Ratio(&'static str, &'static str),
    /// Which of the question's `reads` the line starting with this reads (after it, trimmed).
    Printed(&'static str),
}

/// Why the measurement is what it is, picked by the comparison (numbers) or by the measured
/// answer (choices).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// For a number: when the prediction was right, too high, too low.
    Verdict { right: &'static str, too_high: &'static str, too_low: &'static str },
    /// For a choice: by the measured answer, in the order of the choices.
    Measured(&'static [&'static str]),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Question {
    /// Unique in the lesson (the key of its prediction in the saved progress).
    pub id: &'static str,
    pub prompt: &'static str,
    pub ask: Ask,
    pub measure: Measure,
    pub why: Why,
}

/// What the timeline shows as evidence, worked out from the run's lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Threads waiting on I/O at the same time.
    OverlappingWaits,
    /// One thread's waits, one after the other.
    WaitsInARow,
    /// Threads taking turns at the GIL.
    ThreadsTakeTurns,
    /// Processes computing at the same time.
    ProcessesInParallel,
    /// Which lanes are threads of the main program's process, which are processes of their own.
    ThreadsAndProcesses,
    /// Threads running at the same moment (free-threaded), or never (with the GIL): the run says which.
    ThreadsOverlap,
    /// What a count cost on a free-threaded thread against the same count on the main thread
    /// alone (printed as `One after another:`, two counts): the single-thread cost.
    FreeThreadCost,
}

/// An experiment: a cell to run, the predictions asked before it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Experiment {
    pub id: &'static str,
    /// The Code view's example it runs (a file of the program corpus).
    pub example: &'static str,
    pub title: &'static str,
    pub questions: &'static [Question],
    pub evidence: &'static [Evidence],
    /// Whether the cell runs with the GIL (`false`: free-threaded, as python3.14t).
    pub gil: bool,
}

impl Experiment {
    /// The cell's source, as the corpus has it.
    #[must_use]
    pub fn source(&self) -> &'static str {
        programs::example(self.example).map_or("", |e| e.source)
    }
}

const SPEED: [Choice; 3] = [
    Choice { key: "faster", label: "Faster: clearly less time (toward half)" },
    Choice { key: "same", label: "About the same time" },
    Choice { key: "slower", label: "Slower: clearly more time" },
];
/// A ratio below 0.8 is faster, from 1.25 slower.
const SPEED_BOUNDS: [f64; 2] = [0.8, 1.25];

const LOST: [Choice; 2] = [
    Choice { key: "none", label: "800000: no update is lost" },
    Choice { key: "lost", label: "Less than 800000: some updates are lost" },
];
/// What `lost updates:` reads for each of [`LOST`].
const LOST_READS: [&str; 2] = ["False", "True"];

/// The experiments, in the lesson's order.
pub const EXPERIMENTS: [Experiment; 9] = [
    Experiment {
        id: "race-gil",
        example: "free_threaded_race",
        title: "counter += 1 from 4 threads, no Lock, with the GIL",
        questions: &[Question {
            id: "race.gil",
            prompt: "Four threads each add 1 to a global counter 200000 times, without a Lock, with the GIL. \
                     The counter ends at…",
            ask: Ask::Printed { choices: &LOST, reads: &LOST_READS },
            measure: Measure::Printed("lost updates:"),
            why: Why::Measured(&[
                "With the GIL only one thread runs bytecode at a time, and this interpreter, like CPython 3.11, \
                 lets the GIL go only at certain points: in this loop, at the end of each pass, after the store. \
                 So each `counter += 1` ran whole. That is luck of the interpreter, not a promise: the GIL guards the interpreter's own \
                 bookkeeping, never your read-then-write. Section 4's exercise loses updates with the GIL too.",
                "Updates were lost even with the GIL: the GIL was handed over between the read of `counter` and \
                 the write back. The GIL keeps the interpreter's own bookkeeping safe, never your code: a \
                 read-then-write needs a Lock.",
            ]),
        }],
        evidence: &[],
        gil: true,
    },
    Experiment {
        id: "race-free",
        example: "free_threaded_race",
        title: "The same, free-threaded (no GIL)",
        questions: &[Question {
            id: "race.free",
            prompt: "The same cell, free-threaded: the four threads really run at the same moment. The counter \
                     ends at…",
            ask: Ask::Printed { choices: &LOST, reads: &LOST_READS },
            measure: Measure::Printed("lost updates:"),
            why: Why::Measured(&[
                "No update was lost this time: the threads happened not to interleave inside a `counter += 1`. \
                 Run it again: without a Lock nothing prevents it, and on two free cores it usually happens.",
                "Updates were lost: `counter += 1` is a read, an add and a write, and two threads running at the \
                 same moment both read the same value and both wrote back one more, so one of the two additions \
                 vanished. The GIL made the interpreter's own bookkeeping safe (reference counts, lists, \
                 dicts), never your code, and free-threaded Python keeps that bookkeeping safe without it: your \
                 read-then-write needs a `threading.Lock` either way.",
            ]),
        }],
        evidence: &[Evidence::ThreadsOverlap],
        gil: false,
    },
    Experiment {
        id: "io-threads",
        example: "notebook_threads",
        title: "Two waits of 3 s, on two threads",
        questions: &[Question {
            id: "io-threads.total",
            prompt: "Each of the two threads waits 3 s. How many seconds will the whole cell take?",
            ask: Ask::Seconds { min: 0.0, max: 60.0 },
            measure: Measure::Seconds("Total time:"),
            why: Why::Verdict {
                right: "Each thread spent its 3 s asleep, and a sleeping thread lets go of the GIL, so the \
                        second thread began its wait while the first was still waiting. Two waits that overlap \
                        take as long as one.",
                too_high: "Perhaps you added the two waits, 3 + 3: that is what happens without threads. Here both \
                           threads waited at the same time: `time.sleep` releases the GIL, so nothing kept the \
                           second thread from starting its own wait.",
                too_low: "Threads let waits overlap; they cannot make one shorter. Each `fetch_data` sleeps its \
                          full 3 s, so the cell takes at least that, plus a moment to start the threads.",
            },
        }],
        evidence: &[Evidence::OverlappingWaits],
        gil: true,
    },
    Experiment {
        id: "io-sequential",
        example: "notebook_sequential",
        title: "The same two waits, one after the other",
        questions: &[Question {
            id: "io-sequential.total",
            prompt: "Without threads, the same two calls run one after the other. How many seconds now?",
            ask: Ask::Seconds { min: 0.0, max: 60.0 },
            measure: Measure::Seconds("Total time:"),
            why: Why::Verdict {
                right: "With a single thread the second call starts only when the first has returned, so the \
                        waits add up: 3 + 3.",
                too_high: "The waits add up, but to no more than 3 + 3: the prints and the calls themselves take \
                           microseconds.",
                too_low: "Nothing waits in parallel here: one thread runs the calls in turn, and the second \
                          `fetch_data` starts only after the first one's 3 s, so the waits add up to about 6 s.",
            },
        }],
        evidence: &[Evidence::WaitsInARow],
        gil: true,
    },
    Experiment {
        id: "cpu",
        example: "cpu_threads_vs_pool",
        title: "Counting in pure Python: one after another, two threads, a Pool of two",
        questions: &[
            Question {
                id: "cpu.threads",
                prompt: "Compared with the two counts one after another, two threads will be…",
                ask: Ask::Ratio { choices: SPEED, bounds: SPEED_BOUNDS },
                measure: Measure::Ratio("Two threads:", "One after another:"),
                why: Why::Measured(&[
                    "The threads finished sooner this time, yet with the GIL they cannot run Python at the same \
                     moment: look at the evidence below, how long the two ran at once. Timings on a busy machine \
                     are noisy, the timeline is not; run the cell again and compare. Only free-threaded Python \
                     (PEP 703) runs threads on two cores at once.",
                    "A thread must hold the GIL to run Python bytecode, and a process has one GIL: the threads \
                     took turns, one computing while the other waited, so the work still ran one core at a time.",
                    "The threads did the same work taking turns at the GIL, one at a time, and paid for every \
                     hand-over on top.",
                ]),
            },
            Question {
                id: "cpu.pool",
                prompt: "And a Pool of two processes, compared with the counts one after another, will be…",
                ask: Ask::Ratio { choices: SPEED, bounds: SPEED_BOUNDS },
                measure: Measure::Ratio("A Pool of two:", "One after another:"),
                why: Why::Measured(&[
                    "Each process has its own interpreter and its own GIL, so the two counts ran on two cores at \
                     the same moment. Not quite in half the time: starting the processes and sending the work and \
                     the results between them (pickled) costs time.",
                    "Two processes compute at the same moment only when two cores are free; on a busy machine they \
                     take turns too, and starting them costs time. Run it again when the machine is quieter.",
                    "Starting two processes (each loads an interpreter of its own) and sending the work to them \
                     cost more than the counting saved. With bigger tasks the start-up matters less.",
                ]),
            },
        ],
        evidence: &[Evidence::ThreadsTakeTurns, Evidence::ProcessesInParallel],
        gil: true,
    },
    Experiment {
        id: "cpu-free",
        example: "free_threaded_cpu",
        title: "Two counting threads, free-threaded (no GIL)",
        questions: &[Question {
            id: "cpu.free",
            prompt: "Now without the GIL (as python3.14t). Compared with the two counts one after another, two \
                     threads will be…",
            ask: Ask::Ratio { choices: SPEED, bounds: SPEED_BOUNDS },
            measure: Measure::Ratio("Two threads:", "One after another:"),
            why: Why::Measured(&[
                "Without the GIL nothing makes the threads take turns: each counted on a core of its own at the \
                 same moment, as the evidence below shows, so the two counts took about the time of one. Compare \
                 with the threads of the cell above, where the GIL let only one of them run at a time.",
                "The threads did not finish sooner although nothing made them take turns. The evidence below \
                 says why: either they did not run at the same moment (free-threading needs two free cores, and \
                 on a busy machine the threads share one), or they did, but each counted more slowly than the \
                 main thread alone had: running threads without a GIL has a price of its own, and here it ate \
                 the gain.",
                "The threads took longer than the counts one after another: with no free second core they share \
                 one, and pay for the switching. Free-threading speeds up only what can run on two cores at once.",
            ]),
        }],
        evidence: &[Evidence::ThreadsOverlap, Evidence::FreeThreadCost],
        gil: false,
    },
    Experiment {
        id: "shared-list",
        example: "shared_list_vs_copies",
        title: "One list, given to a thread and then to a process",
        questions: &[
            Question {
                id: "memory.thread",
                prompt: "After the thread has appended \"from a thread\", the main program prints its list. It reads…",
                ask: Ask::Printed {
                    choices: &[
                        Choice {
                            key: "changed",
                            label: "['start', 'from a thread']: the thread changed this very list",
                        },
                        Choice { key: "unchanged", label: "['start']: the thread changed a copy" },
                    ],
                    reads: &["['start', 'from a thread']", "['start']"],
                },
                measure: Measure::Printed("After the thread:"),
                why: Why::Measured(&[
                    "A thread runs inside the main program's process, in the same memory: `items` in the thread and \
                     `shared` in the main thread name one and the same list object, so an append through one name \
                     shows through the other. Nothing was copied.",
                    "The main program's list did not change, which is not what threads do: they share their \
                     process's objects. Look at the output above for what went wrong.",
                ]),
            },
            Question {
                id: "memory.process",
                prompt: "Then a process appends \"from a process\". The main program's list now reads…",
                ask: Ask::Printed {
                    choices: &[
                        Choice {
                            key: "changed",
                            label: "['start', 'from a thread', 'from a process']: the process changed this very list",
                        },
                        Choice { key: "unchanged", label: "['start', 'from a thread']: the process changed a copy" },
                    ],
                    reads: &["['start', 'from a thread', 'from a process']", "['start', 'from a thread']"],
                },
                measure: Measure::Printed("After the process:"),
                why: Why::Measured(&[
                    "The main program's list changed, which a process cannot do: it has memory of its own. Look at \
                     the output above for what went wrong.",
                    "The process got a copy: the list was pickled, sent to a new process with its own memory and its \
                     own interpreter, and rebuilt there. Its append changed that copy (it printed all three items), \
                     never the main program's list. To get something back from a process, send it: a `Queue`, a \
                     `Pipe`, or what a `Pool`'s `map` returns.",
                ]),
            },
        ],
        evidence: &[Evidence::ThreadsAndProcesses],
        gil: true,
    },
    Experiment {
        id: "crash-thread",
        example: "thread_exception",
        title: "An exception nobody catches, in a thread",
        questions: &[Question {
            id: "crash.thread",
            prompt: "The thread raises ValueError and nothing catches it. What happens next?",
            ask: Ask::Printed {
                choices: &[
                    Choice { key: "goes-on", label: "The thread ends with a traceback; the main thread goes on" },
                    Choice { key: "stops", label: "The whole program stops at the error" },
                ],
                reads: &["False", ""],
            },
            measure: Measure::Printed("main goes on, alive:"),
            why: Why::Measured(&[
                "An uncaught exception ends only the thread it was raised in: CPython prints \"Exception in thread\" \
                 and the traceback (`threading.excepthook`), and every other thread, the main one too, goes on. The \
                 thread is no longer alive.",
                "The main thread did not go on, which is not what CPython does with an exception in a thread. Look at \
                 the output above for what went wrong.",
            ]),
        }],
        evidence: &[],
        gil: true,
    },
    Experiment {
        id: "crash-process",
        example: "process_exception",
        title: "The same in a child process, and in a Pool",
        questions: &[Question {
            id: "crash.process",
            prompt: "The child process raises ValueError and nothing catches it. What exit code does the parent see?",
            ask: Ask::Printed {
                choices: &[
                    Choice { key: "0", label: "0: the child ended normally" },
                    Choice { key: "1", label: "1: the child ended because of the error" },
                ],
                reads: &["0", "1"],
            },
            measure: Measure::Printed("exit code:"),
            why: Why::Measured(&[
                "An exit code of 0 after an uncaught exception is not what CPython gives. Look at the output above.",
                "The child printed its traceback and ended with exit code 1, as any Python program does after an \
                 uncaught exception; the parent went on and only saw the code. A `Pool` does more: it sends the \
                 exception back, and `map`, `apply` or `get()` raise it in the parent, as the lines after it show.",
            ]),
        }],
        evidence: &[Evidence::ThreadsAndProcesses],
        gil: true,
    },
];

/// The lesson, section by section.
pub const SECTIONS: [Section; 7] = [
    Section {
        id: "threads-and-the-gil",
        title: "1. Threads, processes and the GIL",
        blocks: &[
            Block::Para(
                "A process is a running program with memory of its own: its variables, its objects, its own \
                 interpreter. A thread is one line of execution inside a process. All the threads of a process \
                 see the same memory, so two threads can work on one list without copying it; two processes \
                 cannot.",
            ),
            Block::Para(
                "CPython, the Python most people run, has a Global Interpreter Lock, the GIL: one lock per \
                 process, which a thread must hold to run Python bytecode. However many cores the machine has, \
                 the threads of one process take turns running Python. A thread that waits (for a file, the \
                 network, `time.sleep`) lets go of the lock while it waits.",
            ),
            Block::Para(
                "Why a lock at all? Every object carries a reference count: how many names, lists and frames \
                 refer to it. `b = a` adds one, `del a` takes one away, and at zero the object is freed at once. \
                 Those counts change all the time, on every thread. If two threads updated one count at the same \
                 moment, one update could be lost, and an object freed while still in use, or never freed. The GIL \
                 makes every such update happen one thread at a time, without a lock on each object.",
            ),
            Block::Link {
                query: "?panel=refcount",
                label: "Step through a = [1, 2, 3]; b = a; del a; del b in the Refcounts tab, and see the race on \
                        a shared count below it",
            },
            Block::Para(
                "The same goes for your own variables, or does it? The cell below adds 1 to a global counter \
                 from four threads, without a Lock, first with the GIL, then free-threaded: as CPython 3.14t \
                 runs it, with no GIL, the threads really at the same moment. Predict each.",
            ),
            Block::Experiment("race-gil"),
            Block::Experiment("race-free"),
        ],
    },
    Section {
        id: "io-bound",
        title: "2. I/O-bound work: waiting side by side",
        blocks: &[
            Block::Para(
                "A task is I/O-bound when it spends its time waiting for something outside the processor: a \
                 disk, a server, a database, someone typing. While it waits, the processor has nothing to do \
                 for it.",
            ),
            Block::Para(
                "The cell below is the notebook's, unchanged. `fetch_data` stands for a download, with \
                 `time.sleep(3)` as the wait, and it runs twice, each time on a thread of its own. Predict, then \
                 run it: it runs here, in a worker of this page, on real threads.",
            ),
            Block::Experiment("io-threads"),
            Block::Para("Now the same two calls without threads, one after the other."),
            Block::Experiment("io-sequential"),
        ],
    },
    Section {
        id: "cpu-bound",
        title: "3. CPU-bound work: the GIL in the way",
        blocks: &[
            Block::Para(
                "A task is CPU-bound when the processor is busy the whole time: arithmetic, parsing, \
                 compressing. There is no waiting to overlap, so the only way to finish sooner is to compute on \
                 two cores at once.",
            ),
            Block::Para(
                "This cell counts with pure Python arithmetic three ways: twice in a row, on two threads, and \
                 on a `multiprocessing.Pool` of two processes, and prints the time each took. Make both \
                 predictions, then run it.",
            ),
            Block::Experiment("cpu"),
            Block::Para(
                "Free-threaded Python (section 7) has no GIL. The next cell counts the same way, twice in a row \
                 and on two threads, and runs free-threaded, as python3.14t would: compare its speed-up with the \
                 threads' in the cell above.",
            ),
            Block::Experiment("cpu-free"),
            Block::Para(
                "So: threads help when the tasks wait, processes help when they compute. A process costs more to \
                 start, and shares no memory with the others: the next section is about that.",
            ),
        ],
    },
    Section {
        id: "memory",
        title: "4. Memory: one list, or copies",
        blocks: &[
            Block::Para(
                "The cell gives one list to a thread, then to a process, and each appends to it. After each, the \
                 main program prints its own list. Predict what it prints.",
            ),
            Block::Experiment("shared-list"),
            Block::Para(
                "Sharing is what makes threads cheap to talk to, and also what makes them race: two threads that \
                 read, then write one variable can lose an update. Try it: the code below loses most of its \
                 updates.",
            ),
            Block::Exercise("race-lock"),
        ],
    },
    Section {
        id: "crashes",
        title: "5. Crashes: a thread's, a process's",
        blocks: &[
            Block::Para(
                "The notebook says one bad thread can crash the others, while processes keep their crashes to \
                 themselves. It depends on the kind of crash. First, a Python exception that nothing catches.",
            ),
            Block::Experiment("crash-thread"),
            Block::Experiment("crash-process"),
            Block::Para(
                "A hard crash is another matter: `os._exit()`, a crash inside C code or running out of memory ends \
                 the whole process at once, every thread in it, with no traceback. Then only a process keeps the \
                 damage to itself: the main program and the other processes go on. The lab's Threads & processes \
                 tab can crash a task either way and shows what is lost.",
            ),
        ],
    },
    Section {
        id: "differences",
        title: "6. The differences, from your runs",
        blocks: &[
            Block::Para(
                "The notebook ends with a table of the differences between threads and processes. Here it is \
                 filled in from the cells you ran above, each entry with a link to the run it comes from. An \
                 entry stays empty until you run its cell.",
            ),
            Block::Differences,
        ],
    },
    Section {
        id: "since",
        title: "7. What has changed since",
        blocks: &[
            Block::Para(
                "Notebooks like this one were written for a CPython with one GIL per process, and that is still \
                 the Python most people run. Three things have changed since.",
            ),
            Block::Para(
                "Free-threaded CPython. Since 3.13, CPython can be built without the GIL (PEP 703); in 3.13 that \
                 build was experimental. In 3.14 it is officially supported, though still optional (PEP 779): the \
                 usual build keeps its GIL. This page runs both: its cells run with a GIL, as the usual build \
                 does, and [the counter race](#race-free) of section 1 and [the counting threads](#cpu-free) of section 3 also run free-threaded, \
                 as python3.14t does (the Code view's GIL box does the same for any program). One difference from \
                 CPython's build: there each object has its own lock, here one lock guards every heap operation, \
                 so threads that mostly touch shared objects gain nothing. The speed-ups you measure are this \
                 page's, with and without its GIL, never compared with a real 3.14t (the machine that built this \
                 page has none).",
            ),
            Block::Para(
                "Reference counts. In 3.14 the interpreter skips some reference count changes when it can tell \
                 they are not needed: putting a local variable on its stack may borrow the reference instead of \
                 adding one (the new `LOAD_FAST_BORROW` instruction). So `sys.getrefcount` can give smaller \
                 numbers than earlier versions for the same code. The counts were never a fixed part of the \
                 language: CPython's documentation says they may differ between versions.",
            ),
            Block::Para(
                "How a process starts. On Linux, `multiprocessing` used to start a child by forking the parent \
                 (`fork`): the child began as a copy of the parent's memory, globals and all. Since 3.14 the \
                 default on Unix other than macOS is `forkserver` (Windows and macOS already used `spawn`): a \
                 small server process forks each child, and what the child is given to run must be picklable. \
                 Code that counted on a child seeing the parent's globals can break; pass the child what it \
                 needs, or ask for `multiprocessing.get_context(\"fork\")`. Either way a child works on copies, as \
                 section 4 showed.",
            ),
        ],
    },
];

/// The experiment with this id.
#[must_use]
pub fn experiment(id: &str) -> Option<&'static Experiment> {
    EXPERIMENTS.iter().find(|e| e.id == id)
}

/// The question with this id, and its experiment.
#[must_use]
pub fn question(id: &str) -> Option<(&'static Experiment, &'static Question)> {
    EXPERIMENTS.iter().find_map(|e| e.questions.iter().find(|q| q.id == id).map(|q| (e, q)))
}

/// A paragraph's pieces: (is code, text); code is between backticks.
#[must_use]
pub fn inline(text: &str) -> Vec<(bool, &str)> {
    text.split('`').enumerate().filter(|(_, s)| !s.is_empty()).map(|(i, s)| (i % 2 == 1, s)).collect()
}

// The lesson's prose and verdicts are written as escaped markup, not built as yew nodes: the
// same page for a fraction of the shipped wasm (as `program_view` does), and tested natively.

/// A paragraph as HTML, its backticked parts as `<code>`.
#[must_use]
pub fn para_html(text: &str) -> String {
    let mut html = String::from("<p>");
    for (code, part) in inline(text) {
        if code {
            let _ = write!(html, "<code>{}</code>", escape(part));
        } else {
            links(&mut html, part);
        }
    }
    html.push_str("</p>");
    html
}

/// `text` escaped, with `[words](#id)` a link to that section or cell of the lesson (any other
/// bracket is text).
fn links(html: &mut String, text: &str) {
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let link = rest[open + 1..].split_once("](#").and_then(|(label, tail)| {
            let (id, after) = tail.split_once(')')?;
            (is_anchor(id) && !label.contains('[')).then_some((label, id, after))
        });
        match link {
            Some((label, id, after)) => {
                let _ = write!(html, "{}<a href=\"#{id}\">{}</a>", escape(&rest[..open]), escape(label));
                rest = after;
            }
            None => {
                html.push_str(&escape(&rest[..=open]));
                rest = &rest[open + 1..];
            }
        }
    }
    html.push_str(&escape(rest));
}

/// The ids of [`SECTIONS`], in order: the page knows its anchors without the prose (a test keeps
/// the two the same).
pub const SECTION_IDS: [&str; 7] =
    ["threads-and-the-gil", "io-bound", "cpu-bound", "memory", "crashes", "differences", "since"];

/// The ids and titles of [`EXPERIMENTS`], in order: a link to `#io-threads` opens the lesson,
/// and the Embed dialog offers each cell (`?cell=io-threads&embed=1`), without the experiments
/// themselves in the page (they are in the lesson's module only; a test keeps the two the same).
pub const CELLS: [(&str, &str); 9] = [
    ("race-gil", "counter += 1 from 4 threads, no Lock, with the GIL"),
    ("race-free", "The same, free-threaded (no GIL)"),
    ("io-threads", "Two waits of 3 s, on two threads"),
    ("io-sequential", "The same two waits, one after the other"),
    ("cpu", "Counting in pure Python: one after another, two threads, a Pool of two"),
    ("cpu-free", "Two counting threads, free-threaded (no GIL)"),
    ("shared-list", "One list, given to a thread and then to a process"),
    ("crash-thread", "An exception nobody catches, in a thread"),
    ("crash-process", "The same in a child process, and in a Pool"),
];

/// Whether `id` is one of the lesson's cells, for `?cell=`.
#[must_use]
pub fn is_cell(id: &str) -> bool {
    CELLS.iter().any(|(c, _)| *c == id)
}

/// The markup a course page pastes to embed one cell of the lesson: `page` is this page's
/// address without its query or `#`.
#[must_use]
pub fn cell_embed_html(page: &str, id: &str) -> String {
    format!(
        "<iframe src=\"{}\" width=\"100%\" height=\"900\" style=\"border:0\" allow=\"cross-origin-isolated\" \
         title=\"ThreadLab: {}\"></iframe>",
        escape(&format!("{page}?cell={id}&embed=1")),
        escape(CELLS.iter().find(|(c, _)| *c == id).map_or(id, |(_, title)| title))
    )
}

/// One cell alone, as `?cell=<id>&embed=1` shows it in a course's page: its section's title,
/// a notice (hidden when there is none), the experiment's box ([`experiment_html`]), and a link
/// to the whole lesson at that section.
#[must_use]
pub fn single_html(experiment: &Experiment, progress: &Progress, notice: Option<&str>) -> String {
    let section = SECTIONS.iter().find(|s| s.blocks.contains(&Block::Experiment(experiment.id)));
    format!(
        "<article class=\"card lesson single-cell\" aria-labelledby=\"lesson-title\" data-testid=\"lesson\">\
         <div class=\"card-head\"><h2 id=\"lesson-title\">{title}</h2></div>\
         <div class=\"notice\" role=\"status\" data-testid=\"lesson-notice\"{hidden}><span>{notice}</span>\
         <button class=\"link\" data-action=\"dismiss\">Dismiss</button></div>\
         <div class=\"lesson-cell\">{cell}</div>\
         <p><a href=\"?lesson={LESSON}#{anchor}\" target=\"_blank\" rel=\"noopener\" data-testid=\"lesson-whole\">\
         The whole lesson \u{2197}</a></p></article>",
        title = escape(section.map_or(experiment.title, |s| s.title)),
        hidden = if notice.is_some() { "" } else { " hidden" },
        notice = escape(notice.unwrap_or_default()),
        cell = experiment_html(experiment, progress),
        anchor = section.map_or(experiment.id, |s| s.id),
    )
}

/// Whether `#id` is an anchor of the lesson: a section or an experiment.
#[must_use]
pub fn is_anchor(id: &str) -> bool {
    SECTION_IDS.contains(&id) || is_cell(id)
}

/// The Lesson tab as the lesson's module first draws it: the title, the progress and Reset, a
/// notice (hidden when there is none), the list of sections, then each section with its prose,
/// its links to other tabs (`data-testid="lesson-link"`, one click listener handles them) and
/// each experiment's cell ([`experiment_html`]) where it belongs. Buttons carry `data-action`,
/// read by the module's one click listener.
#[must_use]
pub fn lesson_html(progress: &Progress, notice: Option<&str>) -> String {
    let mut html = format!(
        "<article class=\"card lesson\" aria-labelledby=\"lesson-title\" data-testid=\"lesson\">\
         <div class=\"card-head\"><h2 id=\"lesson-title\">Threads and processes: predict, run, explain</h2>\
         <div class=\"lesson-progress\"><span data-testid=\"lesson-progress\">{}</span>\
         <button class=\"small\" data-action=\"reset\" data-testid=\"lesson-reset\">Reset</button></div></div>\
         <p class=\"lead\">Every claim of the notebook is an experiment here. Predict what will happen, run the cell \
         (it runs in this page, on real threads and processes), and compare. Your predictions and results stay in \
         this browser.</p>\
         <div class=\"notice\" role=\"status\" data-testid=\"lesson-notice\"{}><span>{}</span>\
         <button class=\"link\" data-action=\"dismiss\">Dismiss</button></div>\
         <div class=\"lesson-body\">",
        progress_text(progress),
        if notice.is_some() { "" } else { " hidden" },
        escape(notice.unwrap_or_default()),
    );
    let _ = writeln!(html, "<nav aria-label=\"Sections of the lesson\">{}</nav>", toc_html());
    for s in &SECTIONS {
        let _ = write!(
            html,
            "<section class=\"lesson-section\" id=\"{id}\" aria-labelledby=\"{id}-title\" \
             data-testid=\"section-{id}\">\n<h3 id=\"{id}-title\">{}</h3>\n",
            escape(s.title),
            id = s.id
        );
        for b in s.blocks {
            match *b {
                Block::Para(text) => html.push_str(&para_html(text)),
                Block::Link { query, label } => {
                    let _ = write!(
                        html,
                        "<p><a href=\"{}\" data-testid=\"lesson-link\">{} \u{2192}</a></p>",
                        escape(query),
                        escape(label)
                    );
                }
                Block::Exercise(id) => {
                    if let Some(x) = exercise(id) {
                        html.push_str(&exercise_html(x, progress.solved.get(x.id).map(String::as_str)));
                    }
                }
                Block::Differences => {
                    let _ = write!(
                        html,
                        "<div class=\"lesson-differences\" data-testid=\"lesson-differences\">{}</div>",
                        differences_html(progress)
                    );
                }
                Block::Experiment(id) => {
                    if let Some(e) = experiment(id) {
                        let _ = write!(html, "<div class=\"lesson-cell\">{}</div>", experiment_html(e, progress));
                    }
                }
            }
            html.push('\n');
        }
        html.push_str("</section>\n");
    }
    html.push_str("</div></article>");
    html
}

/// One entry of the differences table: a measurement of a question, in words.
struct Entry {
    question: &'static str,
    /// What the measured value means (seconds, a ratio, the index of what a line read).
    says: fn(f64) -> String,
}

/// The rows of the differences table: what, then the entries for threads and for processes
/// (none: no cell of the lesson measures it).
const DIFFERENCES: [(&str, &[Entry], &[Entry]); 4] = [
    (
        "Waiting on I/O",
        &[
            Entry { question: "io-threads.total", says: |t| format!("Two waits of 3 s took {t:.2} s on two threads") },
            Entry { question: "io-sequential.total", says: |t| format!("one after the other, {t:.2} s") },
        ],
        &[],
    ),
    (
        "Computing in Python",
        &[
            Entry {
                question: "cpu.threads",
                says: |r| format!("Two threads took {r:.2}\u{d7} the time of the counts one after another"),
            },
            Entry {
                question: "cpu.free",
                says: |r| format!("free-threaded, {r:.2}\u{d7} (a speed-up of {:.1}\u{d7})", 1.0 / r),
            },
        ],
        &[Entry { question: "cpu.pool", says: |r| format!("A Pool of two took {r:.2}\u{d7} that time") }],
    ),
    (
        "Memory",
        &[Entry {
            question: "memory.thread",
            says: |i| {
                if i == 0.0 {
                    "Shared: the main program saw the thread's append".to_owned()
                } else {
                    "The main program did not see the thread's append".to_owned()
                }
            },
        }],
        &[Entry {
            question: "memory.process",
            says: |i| {
                if i == 0.0 {
                    "The main program's list changed".to_owned()
                } else {
                    "Separate: the process appended to a copy; the main program's list did not change".to_owned()
                }
            },
        }],
    ),
    (
        "An exception nobody catches",
        &[Entry {
            question: "crash.thread",
            says: |i| {
                if i == 0.0 {
                    "Only that thread ended; the main thread went on".to_owned()
                } else {
                    "The main thread did not go on".to_owned()
                }
            },
        }],
        &[Entry {
            question: "crash.process",
            says: |i| {
                if i == 0.0 {
                    "The parent saw exit code 0".to_owned()
                } else {
                    "The child ended with exit code 1; the parent went on".to_owned()
                }
            },
        }],
    ),
];

/// Section 6: the notebook's table of differences between threads and processes, each entry
/// filled from the student's run of the cell that measures it and linking to that run (its
/// experiment's box), or saying that the cell is still to run.
#[must_use]
pub fn differences_html(progress: &Progress) -> String {
    let mut html = String::from(
        "<div class=\"table-scroll\" tabindex=\"0\" role=\"region\" aria-label=\"The differences, from your runs\">\
         <table class=\"race-table\"><thead><tr><th scope=\"col\">What</th><th scope=\"col\">Threads</th>\
         <th scope=\"col\">Processes</th></tr></thead><tbody>",
    );
    for (row, (what, threads, processes)) in DIFFERENCES.iter().enumerate() {
        let _ = write!(html, "<tr><th scope=\"row\">{}</th>", escape(what));
        for (column, entries) in [("threads", threads), ("processes", processes)] {
            let _ = write!(html, "<td data-testid=\"difference-{row}-{column}\">");
            if entries.is_empty() {
                html.push_str("<span class=\"muted\">No cell of this lesson measures it.</span>");
            }
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    html.push_str("; ");
                }
                let Some((e, q)) = question(entry.question) else { continue };
                let index = e.questions.iter().position(|x| x.id == q.id).unwrap_or(0);
                let outcome = progress.outcomes.get(e.id);
                match outcome.map(|o| o.measured.get(index).copied().flatten()) {
                    Some(Some(value)) => {
                        let _ = write!(
                            html,
                            "{} (<a href=\"#{}\" data-testid=\"difference-run\">your run</a>)",
                            escape(&(entry.says)(value)),
                            e.id
                        );
                        // The single-thread cost, without which the speed-up is not understood.
                        if let Some(cost) = outcome.and_then(|o| o.cost) {
                            let _ = write!(
                                html,
                                ", where a count on a thread cost {cost:.1}\u{d7} the same count on the main thread \
                                 alone"
                            );
                        }
                    }
                    Some(None) => {
                        let _ = write!(
                            html,
                            "<a href=\"#{}\" data-testid=\"difference-run\">Your run</a> printed no measurement",
                            e.id
                        );
                    }
                    None => {
                        let _ = write!(
                            html,
                            "<span class=\"muted\">Run <a href=\"#{}\">{}</a> to fill this in.</span>",
                            e.id,
                            escape(e.title)
                        );
                    }
                }
            }
            html.push_str("</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    html
}

/// A short exercise: the student's own code, checked by running it in the page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exercise {
    pub id: &'static str,
    pub title: &'static str,
    /// What to do, a paragraph (backticks are code).
    pub task: &'static str,
    /// The code the student starts from.
    pub start: &'static str,
    /// How many runs in a row must be right.
    pub runs: usize,
}

/// The lesson's exercises.
pub const EXERCISES: [Exercise; 1] = [Exercise {
    id: "race-lock",
    title: "Exercise: fix the race with a Lock",
    task: "Four threads add 1 to `counter` 2,000 times each, reading it, waiting a moment (`time.sleep(0)` \
           lets another thread run, as a switch of the GIL could), then writing it back. Change the code so that \
           the count is right, 8000, every time: use the `lock` it already makes. Check runs your code 5 times, \
           and passes when the count is right in all 5.",
    start: "import threading\nimport time\n\nN = 2_000\ncounter = 0\nlock = threading.Lock()\n\n\n\
            def work():\n    global counter\n    for _ in range(N):\n        v = counter\n        time.sleep(0)\n\
            \x20       counter = v + 1\n\n\nthreads = [threading.Thread(target=work) for _ in range(4)]\n\
            for t in threads:\n    t.start()\nfor t in threads:\n    t.join()\n\
            print(f\"counter = {counter} (expected {4 * N})\")\n",
    runs: 5,
}];

/// The exercise with this id.
#[must_use]
pub fn exercise(id: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|x| x.id == id)
}

/// The count a run printed and the one it expected, from its line `counter = X (expected Y)`.
#[must_use]
pub fn count_of(stdout: &str) -> Option<(u64, u64)> {
    let line = stdout.lines().rev().find(|l| l.starts_with("counter = "))?;
    let (counted, rest) = line["counter = ".len()..].split_once(" (expected ")?;
    Some((counted.trim().parse().ok()?, rest.strip_suffix(')')?.trim().parse().ok()?))
}

/// What one run of the student's code says: `Ok` when its count was right.
///
/// # Errors
/// Why the run does not pass: an error, no count printed, or updates lost.
pub fn check_run(result: &ProgramResult) -> Result<String, String> {
    if let Some(e) = &result.error {
        return Err(if e.line > 0 {
            format!("{} at line {}: {}", e.kind, e.line, e.message)
        } else {
            format!("{}: {}", e.kind, e.message)
        });
    }
    match count_of(&result.stdout) {
        None => Err("it printed no line `counter = \u{2026} (expected \u{2026})`".to_owned()),
        Some((counted, expected)) if counted == expected => Ok(format!("counter = {counted}, as expected")),
        Some((counted, expected)) => {
            Err(format!("counter = {counted}, expected {expected}: {} updates lost", expected.saturating_sub(counted)))
        }
    }
}

/// The verdict after `results`, the runs so far (a check stops at the first that fails): solved
/// when all `exercise.runs` were right. Each run's line, then what explains it.
#[must_use]
pub fn exercise_verdict_html(exercise: &Exercise, results: &[ProgramResult]) -> (bool, String) {
    let checks: Vec<_> = results.iter().map(check_run).collect();
    let right = checks.iter().filter(|c| c.is_ok()).count();
    let solved = right == exercise.runs && checks.len() == exercise.runs;
    let mut html = format!(
        "<div class=\"verdict {key}\" data-verdict=\"{key}\" data-testid=\"exercise-result\"><p><strong>{mark}</strong> \
         The count was right in {right} run{s} of {runs}{stopped}.</p><ul>",
        key = if solved { "right" } else { "wrong" },
        mark = if solved { "\u{2713} Solved." } else { "\u{2717} Not yet." },
        s = if right == 1 { "" } else { "s" },
        runs = exercise.runs,
        stopped = if solved || checks.len() == exercise.runs { "" } else { " (the check stops at the first wrong one)" },
    );
    for (i, c) in checks.iter().enumerate() {
        let (Ok(text) | Err(text)) = c;
        let _ = write!(html, "<li>Run {}: {}</li>", i + 1, escape(text));
    }
    html.push_str("</ul>");
    html.push_str(&para_html(if solved {
        "Holding `lock` from the read to the write makes the three lines one step: another thread that wants \
         the lock waits until the write is done, so no update is lost, however the threads are switched."
    } else {
        "A thread that reads `counter`, then lets another thread run before it writes, writes back an old value: \
         every update the other threads made meanwhile is lost. Hold the lock around the read, the wait and the \
         write: `with lock:` over the three lines of the loop."
    }));
    html.push_str("</div>");
    (solved, html)
}

/// An exercise's box: its title, the task, the code to edit (a textarea: `solved`, the code that
/// passed before, or the starting code), Check and Start over, a status line and the verdict.
#[must_use]
pub fn exercise_html(exercise: &Exercise, solved: Option<&str>) -> String {
    let x = exercise;
    let code = solved.unwrap_or(x.start);
    let lines = code.lines().count().max(x.start.lines().count()) + 1;
    format!(
        "<div class=\"experiment exercise\" id=\"{id}\" data-testid=\"exercise-{id}\" data-state=\"{state}\">\
         <h4>{title}</h4>{task}<label class=\"small-title\" for=\"{id}-code\">Your code</label>\
         <textarea id=\"{id}-code\" class=\"exercise-code\" rows=\"{lines}\" spellcheck=\"false\" autocapitalize=\"off\" \
         autocomplete=\"off\" data-testid=\"exercise-code\">{code}</textarea>\
         <div class=\"actions lesson-actions\"><button class=\"primary\" data-action=\"check\" \
         aria-describedby=\"{id}-status\" data-testid=\"exercise-check\">Check: run it {runs} times</button>\
         <button data-action=\"restore\" data-testid=\"exercise-restore\">Start over</button></div>\
         <p class=\"status\" id=\"{id}-status\" aria-live=\"polite\" data-testid=\"exercise-status\">{status}</p>\
         <div class=\"py-error\" role=\"alert\" data-testid=\"lesson-failed\" hidden></div>\
         <div class=\"verdicts\" aria-live=\"polite\" data-testid=\"exercise-verdict\"></div></div>",
        id = x.id,
        title = escape(x.title),
        task = para_html(x.task),
        code = escape(code),
        runs = x.runs,
        state = if solved.is_some() { "solved" } else { "new" },
        status = if solved.is_some() {
            "Solved earlier, with the code above: check it again if you like."
        } else {
            "Change the code, then check it."
        },
    )
}

/// The progress as the tab's heading says it.
#[must_use]
pub fn progress_text(progress: &Progress) -> String {
    let (done, all) = progress.done();
    format!("{done} of {all} experiments run")
}

/// Where a cell is: `data-state` on its box, and what its buttons allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a prediction of every question.
    New,
    Predicted,
    Running,
    /// Run, its outcome kept: the predictions are locked until Predict again.
    Done,
}

impl Phase {
    /// `running`: a run of it is under way in the page.
    #[must_use]
    pub fn of(experiment: &Experiment, progress: &Progress, running: bool) -> Phase {
        if running {
            Phase::Running
        } else if progress.outcomes.contains_key(experiment.id) {
            Phase::Done
        } else if progress.predicted(experiment) {
            Phase::Predicted
        } else {
            Phase::New
        }
    }

    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Phase::New => "new",
            Phase::Predicted => "predicted",
            Phase::Running => "running",
            Phase::Done => "done",
        }
    }

    /// The prediction form is locked while the cell runs and once it has run.
    #[must_use]
    pub fn locked(self) -> bool {
        matches!(self, Phase::Running | Phase::Done)
    }

    /// What the line under the buttons says; `summary`: that of the run shown in the cell, if one is.
    #[must_use]
    pub fn status(self, summary: Option<String>) -> String {
        match (self, summary) {
            (Phase::Running, _) => "Running\u{2026} the output and the timeline grow below.".to_owned(),
            (_, Some(summary)) => summary,
            (Phase::Done, None) => "Run earlier; run it again to see its output and timeline.".to_owned(),
            (Phase::Predicted, None) => "Ready: run the cell.".to_owned(),
            (Phase::New, None) => "Make your prediction first: Run waits for it.".to_owned(),
        }
    }
}

/// One experiment's box as first drawn (no run of it shown yet): its cell and prediction form
/// ([`cell_html`]), Run (disabled until every question has a prediction), Stop, Open in the
/// Code view and Predict again (shown once it has run), the status line, an error line and the
/// run's output and timeline (hidden until it runs), and the verdicts of a run kept in
/// `progress`. The module updates the parts in place afterwards, so focus stays where it is.
#[must_use]
pub fn experiment_html(experiment: &Experiment, progress: &Progress) -> String {
    let e = experiment;
    let phase = Phase::of(e, progress, false);
    let predictions: Vec<_> = e.questions.iter().map(|q| progress.predictions.get(q.id).cloned()).collect();
    let verdicts =
        progress.outcomes.get(e.id).map(|o| verdicts_html(e, o, &progress.judgements(e), false)).unwrap_or_default();
    format!(
        "<div class=\"experiment\" id=\"{id}\" data-testid=\"experiment-{id}\" data-state=\"{state}\">\
         <div class=\"cell-form\">{form}</div>\
         <div class=\"actions lesson-actions\">\
         <button class=\"primary\" data-action=\"run\" aria-describedby=\"{id}-status\" data-testid=\"lesson-run\"{run}>\
         Run the cell</button>\
         <button data-action=\"stop\" data-testid=\"lesson-stop\" disabled>Stop</button>\
         <button data-action=\"open\" data-testid=\"lesson-open\">Open in the Code view</button>\
         <button data-action=\"again\" data-testid=\"lesson-again\"{again}>Predict again</button></div>\
         <p class=\"status\" id=\"{id}-status\" aria-live=\"polite\" data-testid=\"lesson-status\">{status}</p>\
         <div class=\"py-error\" role=\"alert\" data-testid=\"lesson-failed\" hidden></div>\
         <div class=\"run-output\" hidden><h3 class=\"small-title\" id=\"{id}-terminal-title\">Output</h3>\
         <div class=\"terminal\" role=\"log\" aria-labelledby=\"{id}-terminal-title\" tabindex=\"0\" \
         data-testid=\"code-output\"></div>\
         <div class=\"program-timeline\" data-testid=\"code-timeline\" data-ready=\"false\"></div></div>\
         <div class=\"verdicts\" aria-live=\"polite\" data-testid=\"lesson-verdicts\">{verdicts}</div></div>",
        id = e.id,
        state = phase.key(),
        form = cell_html(e, &predictions, phase.locked()),
        run = if phase == Phase::Predicted { "" } else { " disabled" },
        again = if phase == Phase::Done { "" } else { " hidden" },
        status = escape(&phase.status(None)),
    )
}

/// What the page tells the lesson's module of a cell's run, as a JS value (serde): its output
/// as it comes, then its result.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CellNews {
    Output(Vec<crate::core::program::OutputChunk>),
    Done(ProgramResult),
}

/// A running cell's lanes so far, sampled by the page (which reads the program's live boards).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveSample {
    pub lanes: Vec<Lane>,
    pub wall_ms: f64,
}

/// The list of the sections, each a link to its `#id`.
#[must_use]
pub fn toc_html() -> String {
    let mut html = String::from("<ol class=\"lesson-toc\">");
    for s in &SECTIONS {
        let _ = write!(html, "<li><a href=\"#{}\">{}</a></li>", s.id, escape(s.title));
    }
    html.push_str("</ol>");
    html
}

/// The still part of an experiment's cell: its title, its code and the prediction form, each
/// question's field showing `predictions` (per question, in order) and disabled when `locked`.
/// Markup rather than yew nodes (a fraction of the wasm); the page rewrites it only when
/// `locked` or the saved predictions change from outside (Run, Predict again), never while the
/// student types, so a field keeps its focus. Each field carries `data-q`, its question's id,
/// for the one listener that reads them all; a number field's error (`…-error`) starts hidden.
#[must_use]
pub fn cell_html(experiment: &Experiment, predictions: &[Option<Prediction>], locked: bool) -> String {
    let e = experiment;
    let disabled = if locked { " disabled" } else { "" };
    let mut html = format!(
        "<h4>{title}</h4><pre class=\"cell\" tabindex=\"0\" aria-label=\"The cell: {title}\"><code>{}</code></pre>\
         <fieldset class=\"predict\"><legend>{}</legend>",
        escape(e.source()),
        if e.questions.len() == 1 { "Your prediction" } else { "Your predictions" },
        title = escape(e.title),
    );
    for (i, q) in e.questions.iter().enumerate() {
        let field = format!("{}-predict", q.id.replace('.', "-"));
        let prediction = predictions.get(i).and_then(Option::as_ref);
        let (id, prompt) = (q.id, escape(q.prompt));
        if let Ask::Seconds { .. } = q.ask {
            let value = match prediction {
                Some(Prediction::Seconds(n)) => n.to_string(),
                _ => String::new(),
            };
            let _ = write!(
                html,
                "<div class=\"field\"><label for=\"{field}\">{prompt}</label><div class=\"with-unit\">\
                 <input id=\"{field}\" type=\"text\" inputmode=\"decimal\" autocomplete=\"off\" value=\"{value}\" \
                 aria-invalid=\"false\" data-q=\"{id}\" data-testid=\"predict-{id}\"{disabled}>\
                 <span aria-hidden=\"true\">seconds</span></div><p class=\"field-error\" id=\"{field}-error\" hidden>\
                 </p></div>"
            );
        } else {
            let _ = write!(html, "<fieldset class=\"picks\" data-testid=\"predict-{id}\"><legend>{prompt}</legend>");
            for c in q.ask.choices() {
                let checked =
                    if matches!(prediction, Some(Prediction::Choice(k)) if k == c.key) { " checked" } else { "" };
                let _ = write!(
                    html,
                    "<label class=\"pick\"><input type=\"radio\" name=\"{field}\" value=\"{}\" data-q=\"{id}\"{checked}\
                     {disabled}>{}</label>",
                    escape(c.key),
                    escape(c.label)
                );
            }
            html.push_str("</fieldset>");
        }
    }
    html.push_str("</fieldset>");
    html
}

/// What the page says after a run of `experiment`: each question's verdict and why, then the
/// evidence (`shown`: the run's timeline is on the page, above).
#[must_use]
pub fn verdicts_html(
    experiment: &Experiment,
    outcome: &Outcome,
    judgements: &[Option<Judgement>],
    shown: bool,
) -> String {
    if let Some(error) = &outcome.error {
        return format!(
            "<p class=\"verdict\" data-verdict=\"none\" data-testid=\"lesson-verdict\">The run ended with {}: there \
             is nothing to compare. Press Predict again, then run it again.</p>",
            escape(error)
        );
    }
    let mut html = String::new();
    for (q, j) in experiment.questions.iter().zip(judgements) {
        match j {
            Some(j) => {
                let (key, mark) = match j.verdict {
                    Verdict::Right => ("right", "\u{2713} Right."),
                    Verdict::TooHigh => ("too_high", "\u{2717} Not quite."),
                    Verdict::TooLow => ("too_low", "\u{2717} Not quite."),
                    Verdict::Wrong => ("wrong", "\u{2717} Not so."),
                };
                let _ = write!(
                    html,
                    "<div class=\"verdict {key}\" data-verdict=\"{key}\" data-question=\"{}\" \
                     data-testid=\"lesson-verdict\"><p><strong>{mark}</strong> {}</p>{}</div>",
                    q.id,
                    escape(&j.headline),
                    para_html(j.why)
                );
            }
            None => {
                let _ = write!(
                    html,
                    "<p class=\"verdict\" data-verdict=\"none\" data-question=\"{}\" data-testid=\"lesson-verdict\">\
                     The cell did not print this measurement: nothing to compare.</p>",
                    q.id
                );
            }
        }
    }
    if !outcome.evidence.is_empty() {
        let _ = write!(
            html,
            "<div class=\"evidence\" data-testid=\"lesson-evidence\"><p><strong>{}</strong></p><ul>",
            if shown { "The evidence, in the timeline above:" } else { "The evidence, from your run:" }
        );
        for e in &outcome.evidence {
            let _ = write!(html, "<li>{}</li>", escape(e));
        }
        html.push_str("</ul></div>");
    }
    html
}

/// A prediction: one of a question's choices, or a number of seconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    Choice(String),
    Seconds(f64),
}

impl Prediction {
    /// What the student typed or picked, checked against the question: `Err` says what it takes.
    ///
    /// # Errors
    /// A choice the question does not offer, or a number out of its range or not a number.
    pub fn parse(question: &Question, input: &str) -> Result<Prediction, String> {
        match question.ask {
            Ask::Seconds { min, max } => {
                let text = input.trim().trim_end_matches('s').trim().replace(',', ".");
                match text.parse::<f64>() {
                    Ok(n) if n.is_finite() && n > min && n <= max => Ok(Prediction::Seconds(n)),
                    _ => Err(format!("Type a number of seconds, more than {min} and at most {max}.")),
                }
            }
            Ask::Ratio { .. } | Ask::Printed { .. } => question
                .ask
                .choices()
                .iter()
                .find(|c| c.key == input)
                .map(|c| Prediction::Choice(c.key.to_owned()))
                .ok_or_else(|| "Pick one of the answers.".to_owned()),
        }
    }
}

fn trim_number(n: f64) -> String {
    let s = format!("{n:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The seconds printed on `stdout`'s first line that starts with `prefix`
/// ("Total time: 3.01 seconds").
#[must_use]
pub fn seconds_after(stdout: &str, prefix: &str) -> Option<f64> {
    let line = stdout.lines().find(|l| l.starts_with(prefix))?;
    let rest = line[prefix.len()..].trim_start();
    let number: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    // "3.01 seconds" (the notebook's cells) or "0.31 s" (the corpus' free-threaded ones).
    let unit = rest[number.len()..].trim_start();
    (unit.starts_with("second") || unit.trim_end() == "s").then_some(())?;
    number.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0)
}

/// What one run of an experiment measured: kept in the progress, so the comparison survives a
/// reload (the output and the timeline do not: they are shown for the run just made).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Per question, in order: seconds, or a ratio of times; `None` when the run did not print it.
    pub measured: Vec<Option<f64>>,
    /// What the timeline shows, in sentences.
    pub evidence: Vec<String>,
    pub wall_ms: f64,
    /// Why there is nothing to compare: the run's error.
    pub error: Option<String>,
    /// For a cell with [`Evidence::FreeThreadCost`]: what a count cost on a thread against the
    /// same count on the main thread alone (section 6 shows it).
    pub cost: Option<f64>,
}

impl Outcome {
    /// What `result`, a run of `experiment`'s cell, measured.
    #[must_use]
    pub fn of(experiment: &Experiment, result: &ProgramResult) -> Outcome {
        let measured = experiment
            .questions
            .iter()
            .map(|q| match q.measure {
                Measure::Seconds(prefix) => seconds_after(&result.stdout, prefix),
                Measure::Ratio(top, bottom) => {
                    let (t, b) = (seconds_after(&result.stdout, top)?, seconds_after(&result.stdout, bottom)?);
                    (b > 0.0).then(|| t / b)
                }
                Measure::Printed(prefix) => {
                    let Ask::Printed { reads, .. } = q.ask else { return None };
                    let line = result.stdout.lines().find(|l| l.starts_with(prefix));
                    let rest = line.map_or("", |l| l[prefix.len()..].trim());
                    reads.iter().position(|r| *r == rest).and_then(|i| u32::try_from(i).ok()).map(f64::from)
                }
            })
            .collect();
        let error = result.error.as_ref().map(|e| {
            if e.line > 0 {
                format!("{} at line {}: {}", e.kind, e.line, e.message)
            } else {
                format!("{}: {}", e.kind, e.message)
            }
        });
        let evidence = experiment.evidence.iter().filter_map(|e| evidence(*e, result)).collect();
        let cost = experiment.evidence.contains(&Evidence::FreeThreadCost).then(|| free_thread_cost(result)).flatten();
        Outcome { measured, evidence, wall_ms: result.wall_ms, error, cost }
    }
}

/// How a prediction compares with the measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Right,
    /// More than was measured (for a choice: it expected more time than it took).
    TooHigh,
    TooLow,
    /// Another outcome than the one that happened.
    Wrong,
}

/// A prediction compared with the measurement, and why the measurement is what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// "You predicted 6 s; it took 3.01 s: too high."
    pub headline: String,
    pub why: &'static str,
}

/// A seconds prediction is right within half a second or 15 % of the measurement, whichever is
/// more: the cell's own overhead and a busy machine's noise are not the lesson.
#[must_use]
pub fn tolerance(measured_s: f64) -> f64 {
    (measured_s * 0.15).max(0.5)
}

/// The answer a measured ratio stands for: the index of the choice.
#[must_use]
pub fn band(ratio: f64, bounds: [f64; 2]) -> usize {
    if ratio < bounds[0] {
        0
    } else if ratio < bounds[1] {
        1
    } else {
        2
    }
}

/// Compares `prediction` with `measured` (see [`Outcome::measured`]).
#[must_use]
pub fn judge(question: &Question, prediction: &Prediction, measured: f64) -> Option<Judgement> {
    match (question.ask, prediction, question.why) {
        (Ask::Seconds { .. }, Prediction::Seconds(p), Why::Verdict { right, too_high, too_low }) => {
            let (verdict, why, word) = if (p - measured).abs() <= tolerance(measured) {
                (Verdict::Right, right, "right")
            } else if *p > measured {
                (Verdict::TooHigh, too_high, "too high")
            } else {
                (Verdict::TooLow, too_low, "too low")
            };
            let headline = format!("You predicted {} s; it took {measured:.2} s: {word}.", trim_number(*p));
            Some(Judgement { verdict, headline, why })
        }
        (Ask::Ratio { choices, bounds }, Prediction::Choice(key), Why::Measured(whys)) => {
            let predicted = choices.iter().position(|c| c.key == key)?;
            let got = band(measured, bounds);
            let (verdict, word) = match predicted.cmp(&got) {
                std::cmp::Ordering::Equal => (Verdict::Right, "right"),
                // The choices go from least time to most.
                std::cmp::Ordering::Less => (Verdict::TooLow, "you expected less time than it took"),
                std::cmp::Ordering::Greater => (Verdict::TooHigh, "you expected more time than it took"),
            };
            let headline = format!(
                "You predicted \u{201c}{}\u{201d}; it took {measured:.2}\u{d7} the time of the counts one after \
                 another (\u{201c}{}\u{201d}): {word}.",
                choices[predicted].label, choices[got].label
            );
            Some(Judgement { verdict, headline, why: whys[got] })
        }
        (Ask::Printed { choices, .. }, Prediction::Choice(key), Why::Measured(whys)) => {
            let predicted = choices.iter().position(|c| c.key == key)?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let got = measured as usize;
            let (happened, why) = (choices.get(got)?, whys.get(got)?);
            let (verdict, word) = if predicted == got { (Verdict::Right, "right") } else { (Verdict::Wrong, "not so") };
            let headline = format!(
                "You predicted \u{201c}{}\u{201d}; the output shows \u{201c}{}\u{201d}: {word}.",
                choices[predicted].label, happened.label
            );
            Some(Judgement { verdict, headline, why })
        }
        _ => None,
    }
}

/// The time during which at least two of `lanes` were in `state` at once, in ms.
#[must_use]
pub fn overlap(lanes: &[&Lane], state: LaneState) -> f64 {
    let mut edges: Vec<(f64, i32)> = Vec::new();
    for lane in lanes {
        for s in lane.segments.iter().filter(|s| s.state == state && s.end_ms > s.start_ms) {
            edges.push((s.start_ms, 1));
            edges.push((s.end_ms, -1));
        }
    }
    // Ends before starts at the same instant: touching segments do not overlap. An insertion
    // sort: a few dozen edges, and a library sort would ship a copy of itself (wasm size).
    for i in 1..edges.len() {
        let mut j = i;
        while j > 0 && edges[j - 1].0.total_cmp(&edges[j].0).then(edges[j - 1].1.cmp(&edges[j].1)).is_gt() {
            edges.swap(j - 1, j);
            j -= 1;
        }
    }
    let (mut depth, mut since, mut total) = (0, 0.0, 0.0);
    for (t, step) in edges {
        if depth >= 2 {
            total += t - since;
        }
        depth += step;
        since = t;
    }
    total
}

/// The stretches of `lane` in `state`: (start, end) in ms; segments in a row in that state are one
/// stretch. Two sleeps a fraction of a millisecond apart stay two: a running segment is between.
fn stretches(lane: &Lane, state: LaneState) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut previous = None;
    for s in &lane.segments {
        if s.state == state {
            match out.last_mut() {
                Some(last) if previous == Some(state) => last.1 = s.end_ms,
                _ => out.push((s.start_ms, s.end_ms)),
            }
        }
        previous = Some(s.state);
    }
    out
}

fn secs(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

fn names(lanes: &[&Lane]) -> String {
    let names: Vec<&str> = lanes.iter().map(|l| l.name.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A count's running time on a thread (the mean of the threads' lanes) over one count on the
/// main thread alone (half of what `One after another:` printed): `None` without two threads.
#[must_use]
pub fn free_thread_cost(result: &ProgramResult) -> Option<f64> {
    let threads: Vec<&Lane> = result.lanes.iter().filter(|l| l.kind == LaneKind::Thread).collect();
    let alone = seconds_after(&result.stdout, "One after another:")? * 1000.0 / 2.0;
    if threads.len() < 2 || alone <= 0.0 {
        return None;
    }
    let running: f64 =
        threads.iter().map(|l| crate::core::program_view::time_in(&l.segments, LaneState::Running)).sum();
    #[allow(clippy::cast_precision_loss)]
    Some(running / threads.len() as f64 / alone)
}

/// What the timeline shows for `what`, in a sentence; `None` when the run has no such lanes.
#[must_use]
pub fn evidence(what: Evidence, result: &ProgramResult) -> Option<String> {
    let of = |kind: LaneKind| result.lanes.iter().filter(|l| l.kind == kind).collect::<Vec<_>>();
    let time = |lanes: &[&Lane], state| {
        lanes.iter().map(|l| crate::core::program_view::time_in(&l.segments, state)).sum::<f64>()
    };
    let mut s = String::new();
    match what {
        Evidence::OverlappingWaits => {
            let threads = of(LaneKind::Thread);
            if threads.len() < 2 {
                return None;
            }
            let _ = write!(s, "On the timeline, {} waited on I/O for ", names(&threads));
            let each: Vec<String> =
                threads.iter().map(|l| secs(crate::core::program_view::time_in(&l.segments, LaneState::Io))).collect();
            let _ = write!(
                s,
                "{}, and their waits overlapped for {}.",
                each.join(" and "),
                secs(overlap(&threads, LaneState::Io))
            );
        }
        Evidence::WaitsInARow => {
            let main = of(LaneKind::Main);
            let lane = main.first()?;
            let waits = stretches(lane, LaneState::Io);
            if waits.is_empty() {
                return None;
            }
            let each: Vec<String> = waits.iter().map(|(a, b)| secs(b - a)).collect();
            let _ = write!(
                s,
                "On the timeline, {} is the only lane: {} wait{} on I/O ({}), one after the other, {} in all.",
                lane.name,
                waits.len(),
                if waits.len() == 1 { "" } else { "s" },
                each.join(", "),
                secs(waits.iter().map(|(a, b)| b - a).sum())
            );
        }
        Evidence::ThreadsTakeTurns => {
            let threads = of(LaneKind::Thread);
            if threads.len() < 2 {
                return None;
            }
            let _ = write!(
                s,
                "On the timeline, {} ran for {} in all and waited for the GIL for {}; they ran at the same \
                 moment for {}, with {} GIL hand-overs in the whole run.",
                names(&threads),
                secs(time(&threads, LaneState::Running)),
                secs(time(&threads, LaneState::GilWait)),
                secs(overlap(&threads, LaneState::Running)),
                result.gil_switches
            );
        }
        Evidence::ThreadsAndProcesses => {
            let threads = of(LaneKind::Thread);
            let processes = of(LaneKind::Process);
            if processes.is_empty() {
                return None;
            }
            let main = of(LaneKind::Main).first().map_or(0, |l| l.process);
            s.push_str("On the timeline, ");
            if !threads.is_empty() {
                let _ = write!(s, "{} ran in the main program's process (pid {main}); ", names(&threads));
            }
            let pids: Vec<String> = processes.iter().map(|l| format!("{} (pid {})", l.name, l.process)).collect();
            let _ = if pids.len() == 1 {
                write!(s, "{} is a process of its own, with its own memory.", pids[0])
            } else {
                write!(s, "{} are processes of their own, each with its own memory.", pids.join(", "))
            };
        }
        Evidence::ThreadsOverlap => {
            let threads = of(LaneKind::Thread);
            if threads.len() < 2 {
                return None;
            }
            let _ = write!(
                s,
                "On the timeline, {} ran for {} in all, {} of it at the same moment ({}).",
                names(&threads),
                secs(time(&threads, LaneState::Running)),
                secs(overlap(&threads, LaneState::Running)),
                if result.stdout.contains("GIL enabled: False") {
                    "free-threaded: their running stretches overlap"
                } else {
                    "with the GIL: one runs while the others wait"
                }
            );
        }
        Evidence::FreeThreadCost => {
            let cost = free_thread_cost(result)?;
            let alone = seconds_after(&result.stdout, "One after another:")? * 1000.0 / 2.0;
            let each = cost * alone;
            let _ = write!(
                s,
                "Each thread ran {} on its count; one count took {} on the main thread alone, before any \
                 thread started: a count on a thread, free-threaded, cost {:.1}\u{d7} as much.",
                secs(each),
                secs(alone),
                cost
            );
        }
        Evidence::ProcessesInParallel => {
            let processes = of(LaneKind::Process);
            if processes.len() < 2 {
                return None;
            }
            let _ = write!(
                s,
                "The Pool's processes, {}, each with a GIL of its own, ran at the same moment for {}.",
                names(&processes),
                secs(overlap(&processes, LaneState::Running))
            );
        }
    }
    Some(s)
}

/// A few values by id, in the order they were first set: a `BTreeMap` would ship its code twice
/// over for two maps of a dozen entries (wasm size).
#[derive(Clone, Debug, PartialEq)]
pub struct Map<T>(Vec<(String, T)>);

impl<T> Default for Map<T> {
    fn default() -> Self {
        Map(Vec::new())
    }
}

impl<T> Map<T> {
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, v)| v)
    }

    #[must_use]
    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Sets `id`'s value; the one it had.
    pub fn insert(&mut self, id: String, value: T) -> Option<T> {
        match self.0.iter_mut().find(|(k, _)| *k == id) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.0.push((id, value));
                None
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let i = self.0.iter().position(|(k, _)| k == id)?;
        Some(self.0.remove(i).1)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<T> std::ops::Index<&str> for Map<T> {
    type Output = T;
    fn index(&self, id: &str) -> &T {
        self.get(id).expect("no such id")
    }
}

/// The student's progress: predictions by question, outcomes by experiment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub predictions: Map<Prediction>,
    pub outcomes: Map<Outcome>,
    /// The exercises solved, each with the code that passed the check.
    pub solved: Map<String>,
}

impl Progress {
    /// Whether every question of `experiment` has a prediction: its Run button waits for that.
    #[must_use]
    pub fn predicted(&self, experiment: &Experiment) -> bool {
        experiment.questions.iter().all(|q| self.predictions.contains_key(q.id))
    }

    /// Experiments run so far, of all.
    #[must_use]
    pub fn done(&self) -> (usize, usize) {
        (EXPERIMENTS.iter().filter(|e| self.outcomes.contains_key(e.id)).count(), EXPERIMENTS.len())
    }

    /// The judgements of `experiment`'s questions after its run (`None` for one with no
    /// prediction or no measurement).
    #[must_use]
    pub fn judgements(&self, experiment: &Experiment) -> Vec<Option<Judgement>> {
        let outcome = self.outcomes.get(experiment.id);
        experiment
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let measured = outcome?.measured.get(i).copied().flatten()?;
                judge(q, self.predictions.get(q.id)?, measured)
            })
            .collect()
    }

    /// Forgets `experiment`'s predictions and outcome: to predict it again.
    pub fn forget(&mut self, experiment: &Experiment) {
        for q in experiment.questions {
            self.predictions.remove(q.id);
        }
        self.outcomes.remove(experiment.id);
    }

    /// The progress as the JSON kept in localStorage.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut predictions = Vec::new();
        for (id, p) in self.predictions.iter() {
            let value = match p {
                Prediction::Choice(key) => json::Value::Str(key.clone()),
                Prediction::Seconds(n) => json::Value::Num(*n),
            };
            predictions.push((id.clone(), value));
        }
        let mut outcomes = Vec::new();
        for (id, o) in self.outcomes.iter() {
            let measured = o.measured.iter().map(|m| m.map_or(json::Value::Null, json::Value::Num)).collect();
            let evidence = o.evidence.iter().map(|e| json::Value::Str(e.clone())).collect();
            outcomes.push((
                id.clone(),
                json::Value::Obj(vec![
                    ("measured".into(), json::Value::Arr(measured)),
                    ("evidence".into(), json::Value::Arr(evidence)),
                    ("wall_ms".into(), json::Value::Num(o.wall_ms)),
                    ("error".into(), o.error.clone().map_or(json::Value::Null, json::Value::Str)),
                    ("cost".into(), o.cost.map_or(json::Value::Null, json::Value::Num)),
                ]),
            ));
        }
        json::Value::Obj(vec![
            ("version".into(), json::Value::Num(f64::from(VERSION))),
            ("lesson".into(), json::Value::Str(LESSON.into())),
            ("predictions".into(), json::Value::Obj(predictions)),
            ("outcomes".into(), json::Value::Obj(outcomes)),
            (
                "solved".into(),
                json::Value::Obj(
                    self.solved.iter().map(|(id, code)| (id.clone(), json::Value::Str(code.clone()))).collect(),
                ),
            ),
        ])
        .to_string()
    }

    /// The progress saved as `saved` (`None`: nothing saved). A value that cannot be read, or
    /// of another version, is set aside: an empty progress and a notice saying why. Entries for
    /// questions or experiments the lesson no longer has are dropped.
    #[must_use]
    pub fn load(saved: Option<&str>) -> (Progress, Option<String>) {
        let Some(saved) = saved else { return (Progress::default(), None) };
        match Progress::read(saved) {
            Ok(progress) => (progress, None),
            Err(why) => (
                Progress::default(),
                Some(format!("Your saved lesson progress was set aside: {why}. Starting afresh.")),
            ),
        }
    }

    fn read(saved: &str) -> Result<Progress, String> {
        let value = json::parse(saved).map_err(|e| format!("it is not readable ({e})"))?;
        let version = value.get("version").and_then(json::Value::num);
        if version != Some(f64::from(VERSION)) {
            return Err(match version {
                Some(v) => format!("it was saved by another version of the lesson ({v})"),
                None => "it has no version".to_owned(),
            });
        }
        let mut progress = Progress::default();
        if let Some(json::Value::Obj(predictions)) = value.get("predictions") {
            for (id, p) in predictions {
                let Some((_, q)) = question(id) else { continue };
                let input = match p {
                    json::Value::Str(s) => s.clone(),
                    json::Value::Num(n) => n.to_string(),
                    _ => continue,
                };
                if let Ok(p) = Prediction::parse(q, &input) {
                    progress.predictions.insert(id.clone(), p);
                }
            }
        }
        if let Some(json::Value::Obj(outcomes)) = value.get("outcomes") {
            for (id, o) in outcomes {
                let Some(e) = experiment(id) else { continue };
                let Some(json::Value::Arr(measured)) = o.get("measured") else { continue };
                if measured.len() != e.questions.len() {
                    continue;
                }
                let evidence = match o.get("evidence") {
                    Some(json::Value::Arr(items)) => items.iter().filter_map(|i| i.str().map(str::to_owned)).collect(),
                    _ => Vec::new(),
                };
                progress.outcomes.insert(
                    id.clone(),
                    Outcome {
                        measured: measured.iter().map(|m| m.num().filter(|n| n.is_finite())).collect(),
                        evidence,
                        wall_ms: o.get("wall_ms").and_then(json::Value::num).unwrap_or(0.0),
                        error: o.get("error").and_then(json::Value::str).map(str::to_owned),
                        // Absent before the free-threaded cell.
                        cost: o.get("cost").and_then(json::Value::num).filter(|n| n.is_finite()),
                    },
                );
            }
        }
        // Absent from progress saved before the exercises: nothing solved.
        if let Some(json::Value::Obj(solved)) = value.get("solved") {
            for (id, code) in solved {
                if let (Some(_), Some(code)) = (exercise(id), code.str()) {
                    progress.solved.insert(id.clone(), code.to_owned());
                }
            }
        }
        Ok(progress)
    }
}

/// Just enough JSON for the progress: the page's wasm has no JSON library (its size budget).
mod json {
    use std::fmt::{self, Write};

    #[derive(Clone, Debug, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>),
    }

    impl Value {
        pub fn get(&self, key: &str) -> Option<&Value> {
            match self {
                Value::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn num(&self) -> Option<f64> {
            match self {
                Value::Num(n) => Some(*n),
                _ => None,
            }
        }
        pub fn str(&self) -> Option<&str> {
            match self {
                Value::Str(s) => Some(s),
                _ => None,
            }
        }
    }

    fn string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
        f.write_char('"')?;
        for c in s.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }

    impl fmt::Display for Value {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Value::Null => f.write_str("null"),
                Value::Bool(b) => write!(f, "{b}"),
                Value::Num(n) if n.is_finite() => write!(f, "{n}"),
                Value::Num(_) => f.write_str("null"),
                Value::Str(s) => string(f, s),
                Value::Arr(items) => {
                    f.write_char('[')?;
                    for (i, v) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_char(',')?;
                        }
                        write!(f, "{v}")?;
                    }
                    f.write_char(']')
                }
                Value::Obj(pairs) => {
                    f.write_char('{')?;
                    for (i, (k, v)) in pairs.iter().enumerate() {
                        if i > 0 {
                            f.write_char(',')?;
                        }
                        string(f, k)?;
                        write!(f, ":{v}")?;
                    }
                    f.write_char('}')
                }
            }
        }
    }

    /// Parses one JSON value (and nothing after it but white space).
    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0 };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("unexpected text at {}", p.i));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
        depth: u32,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
                self.i += 1;
            }
        }
        fn err<T>(&self, what: &str) -> Result<T, String> {
            Err(format!("{what} at {}", self.i))
        }
        fn eat(&mut self, b: u8) -> bool {
            self.ws();
            let hit = self.s.get(self.i) == Some(&b);
            if hit {
                self.i += 1;
            }
            hit
        }
        fn value(&mut self) -> Result<Value, String> {
            self.ws();
            self.depth += 1;
            if self.depth > 32 {
                return self.err("nested too deep");
            }
            let v = match self.s.get(self.i) {
                Some(b'{') => {
                    self.i += 1;
                    let mut pairs = Vec::new();
                    if !self.eat(b'}') {
                        loop {
                            self.ws();
                            let k = self.string()?;
                            if !self.eat(b':') {
                                return self.err("a colon expected");
                            }
                            pairs.push((k, self.value()?));
                            if self.eat(b'}') {
                                break;
                            }
                            if !self.eat(b',') {
                                return self.err("a comma expected");
                            }
                        }
                    }
                    Value::Obj(pairs)
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut items = Vec::new();
                    if !self.eat(b']') {
                        loop {
                            items.push(self.value()?);
                            if self.eat(b']') {
                                break;
                            }
                            if !self.eat(b',') {
                                return self.err("a comma expected");
                            }
                        }
                    }
                    Value::Arr(items)
                }
                Some(b'"') => Value::Str(self.string()?),
                Some(_) if self.word("null") => Value::Null,
                Some(_) if self.word("true") => Value::Bool(true),
                Some(_) if self.word("false") => Value::Bool(false),
                Some(b) if *b == b'-' || b.is_ascii_digit() => {
                    let start = self.i;
                    while self.s.get(self.i).is_some_and(|b| b"+-.eE".contains(b) || b.is_ascii_digit()) {
                        self.i += 1;
                    }
                    let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                    match text.parse::<f64>() {
                        Ok(n) => Value::Num(n),
                        Err(_) => return self.err("a bad number"),
                    }
                }
                _ => return self.err("a value expected"),
            };
            self.depth -= 1;
            Ok(v)
        }
        fn word(&mut self, w: &str) -> bool {
            let hit = self.s[self.i..].starts_with(w.as_bytes());
            if hit {
                self.i += w.len();
            }
            hit
        }
        fn string(&mut self) -> Result<String, String> {
            if self.s.get(self.i) != Some(&b'"') {
                return self.err("a string expected");
            }
            self.i += 1;
            let mut out: Vec<u8> = Vec::new();
            loop {
                match self.s.get(self.i) {
                    None => return self.err("an unterminated string"),
                    Some(b'"') => {
                        self.i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let c = match self.s.get(self.i + 1) {
                            Some(b'n') => '\n',
                            Some(b't') => '\t',
                            Some(b'r') => '\r',
                            Some(b'b') => '\u{8}',
                            Some(b'f') => '\u{c}',
                            Some(b'/') => '/',
                            Some(b'\\') => '\\',
                            Some(b'"') => '"',
                            Some(b'u') => {
                                let hex = self.s.get(self.i + 2..self.i + 6).and_then(|h| std::str::from_utf8(h).ok());
                                let code = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                                // Lone surrogates (never written by `Display`) become U+FFFD.
                                let c = code.map(|c| char::from_u32(c).unwrap_or('\u{fffd}'));
                                let Some(c) = c else { return self.err("a bad \\u escape") };
                                self.i += 4;
                                c
                            }
                            _ => return self.err("a bad escape"),
                        };
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        self.i += 2;
                    }
                    Some(b) => {
                        out.push(*b);
                        self.i += 1;
                    }
                }
            }
            String::from_utf8(out).or_else(|_| self.err("a string that is not UTF-8"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::program::{LaneSegment, ProgramError};

    fn seg(state: LaneState, start_ms: f64, end_ms: f64) -> LaneSegment {
        LaneSegment { state, start_ms, end_ms }
    }

    fn lane(id: u32, kind: LaneKind, name: &str, process: u32, segments: Vec<LaneSegment>) -> Lane {
        Lane { id, kind, name: name.into(), process, segments }
    }

    /// The notebook's threaded cell as the Code view's runs give it back.
    fn threaded_run() -> ProgramResult {
        ProgramResult {
            stdout: "Start fetching...\nStart fetching...\nDone fetching!\nDone fetching!\nTotal time: 3.01 seconds\n"
                .into(),
            wall_ms: 3012.0,
            lanes: vec![
                lane(
                    0,
                    LaneKind::Main,
                    "MainThread",
                    1,
                    vec![seg(LaneState::Running, 0.0, 2.0), seg(LaneState::Blocked, 2.0, 3010.0)],
                ),
                lane(1, LaneKind::Thread, "Thread-1 (fetch_data)", 1, vec![seg(LaneState::Io, 1.0, 3001.0)]),
                lane(2, LaneKind::Thread, "Thread-2 (fetch_data)", 1, vec![seg(LaneState::Io, 101.0, 3101.0)]),
            ],
            ..ProgramResult::default()
        }
    }

    #[test]
    fn every_section_has_a_unique_id_and_every_experiment_is_placed_once_with_its_cell() {
        let mut ids: Vec<&str> = SECTIONS.iter().map(|s| s.id).collect();
        ids.extend(EXPERIMENTS.iter().map(|e| e.id));
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "{ids:?}");
        for id in &ids {
            assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{id} is not a fragment");
        }
        for e in EXPERIMENTS {
            let placed = SECTIONS.iter().flat_map(|s| s.blocks).filter(|b| **b == Block::Experiment(e.id)).count();
            assert_eq!(placed, 1, "{}", e.id);
            assert!(!e.source().is_empty(), "{}: no such example", e.example);
            assert!(!e.questions.is_empty());
        }
        // The notebook's two cells, verbatim, in the I/O section.
        assert!(experiment("io-threads").unwrap().source().contains("t1 = threading.Thread(target=fetch_data)"));
        assert!(experiment("io-sequential").unwrap().source().contains("fetch_data()\nfetch_data()"));
        assert!(experiment("cpu").unwrap().source().contains("multiprocessing.Pool(2)"));
    }

    /// Every question measures something its cell prints, as CPython printed it.
    #[test]
    fn every_question_measures_a_line_its_cell_prints_in_cpython() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/programs");
        for e in EXPERIMENTS {
            let expected = std::fs::read_to_string(dir.join(format!("{}.expected", e.example))).unwrap();
            let result = ProgramResult { stdout: expected, ..ProgramResult::default() };
            let outcome = Outcome::of(&e, &result);
            for (q, m) in e.questions.iter().zip(&outcome.measured) {
                match q.ask {
                    Ask::Printed { .. } => assert!(m.is_some(), "{}: {m:?}", q.id),
                    _ => assert!(m.is_some_and(|m| m > 0.0), "{}: {m:?}", q.id),
                }
            }
            // What CPython printed is the answer each cell's text explains.
            let answers: Vec<Option<f64>> = match e.id {
                "shared-list" => vec![Some(0.0), Some(1.0)],
                "crash-thread" => vec![Some(0.0)],
                "crash-process" => vec![Some(1.0)],
                _ => outcome.measured.clone(),
            };
            assert_eq!(outcome.measured, answers, "{}", e.id);
            let seq = experiment("io-sequential").unwrap();
            if e.id == seq.id {
                assert_eq!(outcome.measured, vec![Some(6.0)]);
            }
        }
    }

    #[test]
    fn seconds_are_read_from_the_line_the_cell_prints() {
        assert_eq!(seconds_after("a\nTotal time: 3.01 seconds\n", "Total time:"), Some(3.01));
        assert_eq!(seconds_after("Two threads:       0.13 seconds", "Two threads:"), Some(0.13));
        assert_eq!(seconds_after("Total time: 3.01 minutes", "Total time:"), None);
        assert_eq!(seconds_after("Total time: soon seconds", "Total time:"), None);
        assert_eq!(seconds_after("nothing", "Total time:"), None);
    }

    #[test]
    fn a_number_prediction_is_right_within_the_tolerance_else_too_high_or_too_low() {
        let (_, q) = question("io-threads.total").unwrap();
        let p = |s: &str| Prediction::parse(q, s).unwrap();
        let right = judge(q, &p("3"), 3.01).unwrap();
        assert_eq!(right.verdict, Verdict::Right);
        assert_eq!(right.headline, "You predicted 3 s; it took 3.01 s: right.");
        let high = judge(q, &p("6"), 3.01).unwrap();
        assert_eq!(high.verdict, Verdict::TooHigh);
        assert!(high.why.contains("3 + 3"), "{}", high.why);
        let low = judge(q, &p("1.5 s"), 3.01).unwrap();
        assert_eq!(low.verdict, Verdict::TooLow);
        assert!(low.why.contains("cannot make one shorter"));
        // Half a second either way, or 15 %.
        assert_eq!(judge(q, &p("3.5"), 3.01).unwrap().verdict, Verdict::Right);
        assert_eq!(judge(q, &p("3.6"), 3.01).unwrap().verdict, Verdict::TooHigh);
        assert_eq!(judge(q, &p("5.2"), 6.01).unwrap().verdict, Verdict::Right);
        assert_eq!(judge(q, &p("5"), 6.01).unwrap().verdict, Verdict::TooLow);
        assert_eq!(p("2,5"), Prediction::Seconds(2.5));
        for bad in ["", "soon", "0", "-3", "61", "NaN", "inf"] {
            assert!(Prediction::parse(q, bad).is_err(), "{bad}");
        }
        assert!(Prediction::parse(q, "same").is_err());
    }

    #[test]
    fn a_choice_is_judged_by_the_measured_ratio_and_the_why_follows_the_measurement() {
        let (_, threads) = question("cpu.threads").unwrap();
        let (_, pool) = question("cpu.pool").unwrap();
        let pick = |q, key: &str| Prediction::parse(q, key).unwrap();
        // Two threads took 1.1x the time: "about the same".
        let j = judge(threads, &pick(threads, "same"), 1.1).unwrap();
        assert_eq!(j.verdict, Verdict::Right);
        assert!(j.why.contains("took turns"));
        let j = judge(threads, &pick(threads, "faster"), 1.1).unwrap();
        assert_eq!(j.verdict, Verdict::TooLow);
        assert!(j.headline.contains("you expected less time than it took"), "{}", j.headline);
        assert!(j.why.contains("took turns"));
        let j = judge(pool, &pick(pool, "slower"), 0.6).unwrap();
        assert_eq!(j.verdict, Verdict::TooHigh);
        assert!(j.why.contains("own GIL"));
        assert_eq!(judge(pool, &pick(pool, "faster"), 0.6).unwrap().verdict, Verdict::Right);
        assert_eq!(band(0.79, SPEED_BOUNDS), 0);
        assert_eq!(band(0.8, SPEED_BOUNDS), 1);
        assert_eq!(band(1.25, SPEED_BOUNDS), 2);
        assert!(Prediction::parse(pool, "quick").is_err());
        assert!(Prediction::parse(pool, "3").is_err());
        // A prediction of the wrong kind is not judged.
        assert!(judge(pool, &Prediction::Seconds(3.0), 0.6).is_none());
    }

    #[test]
    fn an_outcome_prediction_is_right_or_not_so_and_the_why_follows_what_happened() {
        let (e, q) = question("memory.process").unwrap();
        let copy = Prediction::parse(q, "unchanged").unwrap();
        let shared = Prediction::parse(q, "changed").unwrap();
        let run = |stdout: &str| Outcome::of(e, &ProgramResult { stdout: stdout.into(), ..ProgramResult::default() });
        let printed =
            run("After the thread:  ['start', 'from a thread']\nAfter the process: ['start', 'from a thread']\n");
        assert_eq!(printed.measured, vec![Some(0.0), Some(1.0)]);
        let j = judge(q, &shared, 1.0).unwrap();
        assert_eq!(j.verdict, Verdict::Wrong);
        assert!(j.headline.ends_with("the process changed a copy\u{201d}: not so."), "{}", j.headline);
        assert!(j.why.contains("pickled"));
        assert_eq!(judge(q, &copy, 1.0).unwrap().verdict, Verdict::Right);
        // A line that reads neither answer measures nothing.
        assert_eq!(run("After the process: ['x']\n").measured[1], None);
        // A line not printed at all is an answer where the question says so.
        let (e, q) = question("crash.thread").unwrap();
        let stopped = Outcome::of(e, &ProgramResult { stdout: "worker starts\n".into(), ..ProgramResult::default() });
        assert_eq!(stopped.measured, vec![Some(1.0)]);
        let j = judge(q, &Prediction::parse(q, "goes-on").unwrap(), 1.0).unwrap();
        assert_eq!(j.verdict, Verdict::Wrong);
        assert!(Prediction::parse(q, "maybe").is_err());
    }

    #[test]
    fn the_outcome_of_a_run_measures_and_cites_the_timeline() {
        let e = experiment("io-threads").unwrap();
        let o = Outcome::of(e, &threaded_run());
        assert_eq!(o.measured, vec![Some(3.01)]);
        assert_eq!(o.error, None);
        assert_eq!(
            o.evidence,
            vec!["On the timeline, Thread-1 (fetch_data) and Thread-2 (fetch_data) waited on I/O for 3.00 s and \
                 3.00 s, and their waits overlapped for 2.90 s."
                .to_owned()]
        );
        // A run that failed measures nothing, and says why.
        let failed = ProgramResult {
            stdout: "Start fetching...\n".into(),
            error: Some(ProgramError { kind: "Stopped".into(), message: "stopped".into(), line: 6, col: 5 }),
            ..threaded_run()
        };
        let o = Outcome::of(e, &failed);
        assert_eq!(o.measured, vec![None]);
        assert_eq!(o.error.as_deref(), Some("Stopped at line 6: stopped"));
        let mut progress = Progress::default();
        progress.predictions.insert("io-threads.total".into(), Prediction::Seconds(3.0));
        progress.outcomes.insert(e.id.into(), o);
        assert_eq!(progress.judgements(e), vec![None]);
    }

    #[test]
    fn the_evidence_of_waits_in_a_row_and_of_threads_and_processes_computing() {
        let seq = ProgramResult {
            lanes: vec![lane(
                0,
                LaneKind::Main,
                "MainThread",
                1,
                // As a browser's run gave them: the calls between the sleeps take a fraction of a ms.
                vec![
                    seg(LaneState::Running, 0.0, 1.0),
                    seg(LaneState::Io, 1.0, 3001.0),
                    seg(LaneState::GilWait, 3001.0, 3001.05),
                    seg(LaneState::Running, 3001.05, 3001.3),
                    seg(LaneState::Io, 3001.3, 6001.3),
                    seg(LaneState::Io, 6001.3, 6001.4),
                ],
            )],
            ..ProgramResult::default()
        };
        assert_eq!(
            evidence(Evidence::WaitsInARow, &seq).unwrap(),
            "On the timeline, MainThread is the only lane: 2 waits on I/O (3.00 s, 3.00 s), one after the other, 6.00 s in all."
        );
        let cpu = ProgramResult {
            gil_switches: 40,
            lanes: vec![
                lane(0, LaneKind::Main, "MainThread", 1, vec![seg(LaneState::Running, 0.0, 100.0)]),
                lane(
                    1,
                    LaneKind::Thread,
                    "Thread-1",
                    1,
                    vec![
                        seg(LaneState::Running, 100.0, 105.0),
                        seg(LaneState::GilWait, 105.0, 110.0),
                        seg(LaneState::Running, 110.0, 115.0),
                    ],
                ),
                lane(
                    2,
                    LaneKind::Thread,
                    "Thread-2",
                    1,
                    vec![
                        seg(LaneState::GilWait, 100.0, 105.0),
                        seg(LaneState::Running, 105.0, 110.0),
                        seg(LaneState::Running, 115.0, 120.0),
                    ],
                ),
                lane(3, LaneKind::Process, "SpawnPoolWorker-1", 2, vec![seg(LaneState::Running, 200.0, 300.0)]),
                lane(4, LaneKind::Process, "SpawnPoolWorker-2", 3, vec![seg(LaneState::Running, 210.0, 320.0)]),
            ],
            ..ProgramResult::default()
        };
        assert_eq!(
            evidence(Evidence::ThreadsTakeTurns, &cpu).unwrap(),
            "On the timeline, Thread-1 and Thread-2 ran for 0.02 s in all and waited for the GIL for 0.01 s; they \
             ran at the same moment for 0.00 s, with 40 GIL hand-overs in the whole run."
        );
        assert_eq!(
            evidence(Evidence::ProcessesInParallel, &cpu).unwrap(),
            "The Pool's processes, SpawnPoolWorker-1 and SpawnPoolWorker-2, each with a GIL of its own, ran at the \
             same moment for 0.09 s."
        );
        assert_eq!(
            evidence(Evidence::ThreadsAndProcesses, &cpu).unwrap(),
            "On the timeline, Thread-1 and Thread-2 ran in the main program's process (pid 1); SpawnPoolWorker-1 \
             (pid 2), SpawnPoolWorker-2 (pid 3) are processes of their own, each with its own memory."
        );
        // No such lanes, no sentence.
        assert_eq!(evidence(Evidence::OverlappingWaits, &seq), None);
        assert_eq!(evidence(Evidence::ProcessesInParallel, &seq), None);
    }

    #[test]
    fn overlap_counts_only_time_two_lanes_share() {
        let a = lane(1, LaneKind::Thread, "a", 1, vec![seg(LaneState::Io, 0.0, 10.0), seg(LaneState::Io, 20.0, 30.0)]);
        let b = lane(2, LaneKind::Thread, "b", 1, vec![seg(LaneState::Io, 5.0, 25.0)]);
        let c = lane(3, LaneKind::Thread, "c", 1, vec![seg(LaneState::Io, 10.0, 20.0)]);
        assert_eq!(overlap(&[&a, &b], LaneState::Io), 10.0);
        assert_eq!(overlap(&[&a, &c], LaneState::Io), 0.0, "touching is not overlapping");
        assert_eq!(overlap(&[&a, &b, &c], LaneState::Io), 20.0);
        assert_eq!(overlap(&[&a, &b], LaneState::Running), 0.0);
    }

    #[test]
    fn progress_round_trips_through_its_json() {
        let mut progress = Progress::default();
        progress.predictions.insert("io-threads.total".into(), Prediction::Seconds(2.5));
        progress.predictions.insert("cpu.threads".into(), Prediction::Choice("same".into()));
        progress.outcomes.insert("io-threads".into(), Outcome::of(experiment("io-threads").unwrap(), &threaded_run()));
        progress.outcomes.insert(
            "cpu".into(),
            Outcome {
                measured: vec![Some(1.1), None],
                evidence: vec!["a \"quoted\" \\ line\nand a tab\t, \u{e9}".into()],
                wall_ms: 812.5,
                error: Some("ValueError at line 3: bad".into()),
                cost: None,
            },
        );
        // The free-threaded cell keeps its single-thread cost with it.
        progress.outcomes.insert("cpu-free".into(), Outcome::of(experiment("cpu-free").unwrap(), &counting_run(true)));
        progress.solved.insert("race-lock".into(), "with lock:\n\tcounter = v + 1 # \"quoted\" \\".into());
        progress.solved.insert("no-such-exercise".into(), "x".into());
        let json = progress.to_json();
        assert!(json.starts_with("{\"version\":1,\"lesson\":\"threads-and-processes\","), "{json}");
        // An exercise the lesson no longer has is dropped on reading.
        progress.solved.remove("no-such-exercise");
        assert_eq!(Progress::load(Some(&json)), (progress.clone(), None));
        assert_eq!(progress.done(), (3, 9));
        assert!(progress.predicted(experiment("io-threads").unwrap()));
        assert!(!progress.predicted(experiment("cpu").unwrap()), "cpu.pool has no prediction yet");
        progress.forget(experiment("io-threads").unwrap());
        assert_eq!(progress.done(), (2, 9));
        assert!(!progress.predictions.contains_key("io-threads.total"));
        assert_eq!(Progress::load(None), (Progress::default(), None));
        // Saved before the exercises (no "solved"): read as it is.
        let before = "{\"version\":1,\"lesson\":\"threads-and-processes\",\"predictions\":{\"io-threads.total\":3},\"outcomes\":{}}";
        let (read, notice) = Progress::load(Some(before));
        assert_eq!((read.predictions.len(), read.solved.len(), notice), (1, 0, None));
    }

    #[test]
    fn a_corrupt_or_old_saved_progress_is_set_aside_with_a_notice() {
        for (saved, why) in [
            ("{\"version\":1,", "it is not readable"),
            ("not json", "it is not readable"),
            ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "nested too deep"),
            ("{\"version\":0,\"predictions\":{}}", "another version of the lesson (0)"),
            ("{\"predictions\":{}}", "it has no version"),
            ("\"\\ud800\"", "no version"),
            ("", "it is not readable"),
        ] {
            let (progress, notice) = Progress::load(Some(saved));
            assert_eq!(progress, Progress::default(), "{saved}");
            let notice = notice.unwrap_or_default();
            assert!(
                notice.contains(why) && notice.starts_with("Your saved lesson progress was set aside"),
                "{saved}: {notice}"
            );
        }
        // Readable but partly wrong: what fits is kept, the rest dropped.
        let saved = "{\"version\":1,\"predictions\":{\"io-threads.total\":\"6\",\"cpu.pool\":\"quick\",\"gone\":3,\
                     \"cpu.threads\":\"slower\"},\"outcomes\":{\"cpu\":{\"measured\":[1.0]},\"io-sequential\":\
                     {\"measured\":[6.01],\"evidence\":[\"x\",2],\"wall_ms\":\"fast\"}}}";
        let (progress, notice) = Progress::load(Some(saved));
        assert_eq!(notice, None);
        assert_eq!(progress.predictions.len(), 2);
        assert_eq!(progress.predictions["io-threads.total"], Prediction::Seconds(6.0));
        assert_eq!(progress.predictions["cpu.threads"], Prediction::Choice("slower".into()));
        assert_eq!(progress.outcomes.len(), 1, "cpu's measured has one value for two questions");
        assert_eq!(
            progress.outcomes["io-sequential"],
            Outcome { measured: vec![Some(6.01)], evidence: vec!["x".into()], wall_ms: 0.0, error: None, cost: None }
        );
    }

    #[test]
    fn prose_and_verdicts_are_escaped_markup() {
        assert_eq!(para_html("a `<b>` & c"), "<p>a <code>&lt;b&gt;</code> &amp; c</p>");
        let toc = toc_html();
        assert_eq!(toc.matches("<li><a href=\"#").count(), SECTIONS.len());
        assert!(toc.contains("<a href=\"#io-bound\">2. I/O-bound work: waiting side by side</a>"));
        let e = experiment("io-threads").unwrap();
        let mut o = Outcome::of(e, &threaded_run());
        o.evidence.push("Thread <1>".into());
        let j = judge(&e.questions[0], &Prediction::Seconds(6.0), 3.01);
        let html = verdicts_html(e, &o, &[j], true);
        assert!(
            html.starts_with(
                "<div class=\"verdict too_high\" data-verdict=\"too_high\" data-question=\"io-threads.total\""
            ),
            "{html}"
        );
        assert!(html.contains(
            "<strong>\u{2717} Not quite.</strong> You predicted 6 s; it took 3.01 s: too high.</p><p>Perhaps"
        ));
        assert!(html.contains("<code>time.sleep</code>"));
        assert!(html.contains("The evidence, in the timeline above:") && html.contains("<li>Thread &lt;1&gt;</li>"));
        assert!(verdicts_html(e, &o, &[j_none()], false).contains("did not print this measurement"));
        o.error = Some("Stopped: <stop>".into());
        assert_eq!(
            verdicts_html(e, &o, &[None], false),
            "<p class=\"verdict\" data-verdict=\"none\" data-testid=\"lesson-verdict\">The run ended with Stopped: \
             &lt;stop&gt;: there is nothing to compare. Press Predict again, then run it again.</p>"
        );
    }

    #[test]
    fn section_ids_are_the_sections() {
        assert_eq!(SECTIONS.map(|s| s.id), SECTION_IDS);
    }

    #[test]
    fn experiment_ids_are_the_experiments_and_anchors_are_sections_or_experiments() {
        assert_eq!(EXPERIMENTS.map(|e| (e.id, e.title)), CELLS);
        assert!(is_cell("cpu") && !is_cell("cpu-bound") && !is_cell(""));
        assert!(is_anchor("cpu-bound") && is_anchor("io-threads"));
        assert!(!is_anchor("") && !is_anchor("lesson-title") && !is_anchor("io-threads.total"));
    }

    #[test]
    fn the_tab_is_drawn_whole_with_every_cell_in_its_section_and_the_saved_progress() {
        let fresh = lesson_html(&Progress::default(), None);
        assert!(fresh.starts_with("<article class=\"card lesson\""), "{fresh}");
        assert!(fresh.contains("<span data-testid=\"lesson-progress\">0 of 9 experiments run</span>"));
        assert!(fresh.contains("data-testid=\"lesson-notice\" hidden><span></span>"), "no notice: hidden");
        assert!(fresh.ends_with("</div></article>"));
        // Each experiment's box once, inside its own section, after the section's heading.
        for s in &SECTIONS {
            let start = fresh.find(&format!("<section class=\"lesson-section\" id=\"{}\"", s.id)).unwrap();
            let end = start + fresh[start..].find("</section>").unwrap();
            for b in s.blocks {
                if let Block::Experiment(id) = b {
                    let at = fresh.find(&format!("data-testid=\"experiment-{id}\"")).unwrap();
                    assert!(start < at && at < end, "{id} is in section {}", s.id);
                    assert_eq!(fresh.matches(&format!("data-testid=\"experiment-{id}\"")).count(), 1);
                }
            }
        }
        assert!(fresh.contains(
            "<p><a href=\"?panel=refcount\" data-testid=\"lesson-link\">Step through a = [1, 2, 3]; b = a; del a; \
             del b in the Refcounts tab"
        ));
        // A notice is shown, escaped; a saved run shows its verdicts and locks its form.
        let mut progress = Progress::default();
        progress.predictions.insert("io-threads.total".into(), Prediction::Seconds(6.0));
        progress.outcomes.insert("io-threads".into(), Outcome::of(experiment("io-threads").unwrap(), &threaded_run()));
        let html = lesson_html(&progress, Some("set <aside>"));
        assert!(html.contains("data-testid=\"lesson-notice\"><span>set &lt;aside&gt;</span>"), "{html}");
        assert!(html.contains("1 of 9 experiments run"));
        let cell = experiment_html(experiment("io-threads").unwrap(), &progress);
        assert!(html.contains(&cell));
        assert!(cell.contains("data-state=\"done\""), "{cell}");
        assert!(cell.contains("value=\"6\" aria-invalid=\"false\" data-q=\"io-threads.total\" data-testid=\"predict-io-threads.total\" disabled>"), "{cell}");
        assert!(cell.contains("data-testid=\"lesson-run\" disabled>"), "run once: Run waits for Predict again");
        assert!(cell.contains("data-testid=\"lesson-again\">Predict again"), "Predict again is shown");
        assert!(cell.contains("data-testid=\"lesson-verdict\""), "{cell}");
        assert!(cell.contains("The evidence, from your run:"), "the timeline is not on the page after a reload");
        assert!(cell.contains("Run earlier; run it again to see its output and timeline."));
    }

    #[test]
    fn a_cell_waits_for_every_prediction_then_runs_then_is_done() {
        let e = experiment("cpu").unwrap();
        let mut progress = Progress::default();
        assert_eq!(Phase::of(e, &progress, false), Phase::New);
        let cell = experiment_html(e, &progress);
        assert!(cell.contains("data-state=\"new\""));
        assert!(cell.contains("data-testid=\"lesson-run\" disabled>"), "{cell}");
        assert!(cell.contains("data-testid=\"lesson-again\" hidden>"));
        assert!(cell.contains("Make your prediction first: Run waits for it."));
        progress.predictions.insert("cpu.threads".into(), Prediction::Choice("same".into()));
        assert_eq!(Phase::of(e, &progress, false), Phase::New, "one of two questions");
        progress.predictions.insert("cpu.pool".into(), Prediction::Choice("faster".into()));
        assert_eq!(Phase::of(e, &progress, false), Phase::Predicted);
        let cell = experiment_html(e, &progress);
        assert!(cell.contains("data-testid=\"lesson-run\">Run the cell"), "{cell}");
        assert!(cell.contains("Ready: run the cell."));
        assert!(!Phase::Predicted.locked());
        let running = Phase::of(e, &progress, true);
        assert_eq!((running.key(), running.locked()), ("running", true));
        assert!(running.status(Some("done".into())).starts_with("Running"), "no summary while it runs");
        assert_eq!(Phase::Done.status(Some("Ran in 1.2 s".into())), "Ran in 1.2 s");
    }

    #[test]
    fn the_differences_are_filled_from_the_runs_each_entry_linking_to_its_run() {
        let empty = differences_html(&Progress::default());
        assert_eq!(empty.matches("to fill this in.").count(), 9, "{empty}");
        assert!(empty.contains("Run <a href=\"#io-threads\">Two waits of 3 s, on two threads</a> to fill this in."));
        assert!(!empty.contains("difference-run"));
        assert!(empty.contains(
            "<td data-testid=\"difference-0-processes\"><span class=\"muted\">No cell of this lesson measures it."
        ));
        let mut progress = Progress::default();
        let io = Outcome::of(experiment("io-threads").unwrap(), &threaded_run());
        let total = io.measured[0].unwrap();
        progress.outcomes.insert("io-threads".into(), io);
        let memory = |thread, process| Outcome {
            measured: vec![Some(thread), Some(process)],
            evidence: vec![],
            wall_ms: 100.0,
            error: None,
            cost: None,
        };
        progress.outcomes.insert("shared-list".into(), memory(0.0, 1.0));
        progress.outcomes.insert(
            "crash-process".into(),
            Outcome {
                measured: vec![None],
                evidence: vec![],
                wall_ms: 1.0,
                error: Some("ValueError: x".into()),
                cost: None,
            },
        );
        progress.outcomes.insert(
            "cpu".into(),
            Outcome {
                measured: vec![Some(1.04), Some(0.625)],
                evidence: vec![],
                wall_ms: 1.0,
                error: None,
                cost: None,
            },
        );
        let html = differences_html(&progress);
        assert!(html.contains(&format!(
            "Two waits of 3 s took {total:.2} s on two threads (<a href=\"#io-threads\" data-testid=\"difference-run\">your run</a>); \
             <span class=\"muted\">Run <a href=\"#io-sequential\">"
        )), "{html}");
        assert!(html.contains("Two threads took 1.04\u{d7} the time of the counts one after another (<a href=\"#cpu\""));
        assert!(html.contains("A Pool of two took 0.62\u{d7} that time (<a href=\"#cpu\""), "{html}");
        assert!(
            html.contains("Shared: the main program saw the thread&#39;s append (<a href=\"#shared-list\""),
            "{html}"
        );
        assert!(html.contains("Separate: the process appended to a copy"));
        assert!(html
            .contains("<a href=\"#crash-process\" data-testid=\"difference-run\">Your run</a> printed no measurement"));
        // What a wrong run printed is said as it happened, not as the notebook says it.
        progress.outcomes.insert("shared-list".into(), memory(1.0, 0.0));
        let html = differences_html(&progress);
        assert!(html.contains("did not see the thread") && html.contains("The main program&#"), "{html}");
        // And the tab carries the table in section 6, redrawn by the module under this testid.
        let tab = lesson_html(&progress, None);
        assert!(
            tab.contains(&format!("<div class=\"lesson-differences\" data-testid=\"lesson-differences\">{html}</div>"))
        );
        let six = tab.find("id=\"differences\"").unwrap();
        assert!(six < tab.find("data-testid=\"lesson-differences\"").unwrap());
        assert!(tab.find("id=\"since\"").unwrap() > six);
    }

    #[test]
    fn one_cell_alone_for_a_course_page_and_its_embed_markup() {
        let e = experiment("cpu").unwrap();
        let html = single_html(e, &Progress::default(), None);
        assert!(html.contains("<h2 id=\"lesson-title\">3. CPU-bound work: the GIL in the way</h2>"), "{html}");
        assert!(html.contains(&experiment_html(e, &Progress::default())));
        assert_eq!(html.matches("data-testid=\"experiment-").count(), 1);
        assert!(html.contains("href=\"?lesson=threads-and-processes#cpu-bound\" target=\"_blank\""));
        assert!(html.contains("data-testid=\"lesson-notice\" hidden>"));
        assert!(!html.contains("lesson-reset"), "Reset would clear the whole lesson's progress");
        assert_eq!(
            cell_embed_html("https://example.org/lab/", "io-threads"),
            "<iframe src=\"https://example.org/lab/?cell=io-threads&amp;embed=1\" width=\"100%\" height=\"900\" \
             style=\"border:0\" allow=\"cross-origin-isolated\" title=\"ThreadLab: Two waits of 3 s, on two threads\"></iframe>"
        );
    }

    fn printed(stdout: &str) -> ProgramResult {
        ProgramResult { stdout: stdout.into(), ..threaded_run() }
    }

    #[test]
    fn the_race_exercise_passes_only_with_the_count_right_in_five_runs_out_of_five() {
        let x = exercise("race-lock").unwrap();
        // Its starting code is the corpus' lock_race.py without the lock (which CPython runs right).
        let fixed = include_str!("../../tests/fixtures/programs/lock_race.py");
        let unlocked = fixed.replace(
            "        with lock:\n            v = counter\n            time.sleep(0)\n            counter = v + 1\n",
            "        v = counter\n        time.sleep(0)\n        counter = v + 1\n",
        );
        assert_eq!(x.start, unlocked.split("print(\"locked:\"").next().unwrap());
        assert_eq!(count_of("x\ncounter = 2001 (expected 8000)\n"), Some((2001, 8000)));
        assert_eq!(count_of("counter = lots (expected 8000)"), None);
        let right = printed("counter = 8000 (expected 8000)\n");
        let lost = printed("counter = 2072 (expected 8000)\n");
        let (solved, html) = exercise_verdict_html(x, &vec![right.clone(); 5]);
        assert!(solved, "{html}");
        assert!(html.contains("\u{2713} Solved.</strong> The count was right in 5 runs of 5.</p>"), "{html}");
        assert_eq!(html.matches("counter = 8000, as expected").count(), 5);
        // Four right are not enough; a run that loses updates stops the check and says how many.
        assert!(!exercise_verdict_html(x, &vec![right.clone(); 4]).0);
        let (solved, html) = exercise_verdict_html(x, &[right.clone(), right.clone(), lost]);
        assert!(!solved);
        assert!(html.contains("right in 2 runs of 5 (the check stops at the first wrong one)"), "{html}");
        assert!(html.contains("<li>Run 3: counter = 2072, expected 8000: 5928 updates lost</li>"), "{html}");
        assert!(html.contains("<code>with lock:</code>"));
        // An error, or no count at all, is no pass either.
        let mut broken = printed("");
        broken.error = Some(ProgramError {
            kind: "NameError".into(),
            message: "name 'lok' is not defined".into(),
            line: 12,
            col: 0,
        });
        assert_eq!(check_run(&broken), Err("NameError at line 12: name 'lok' is not defined".into()));
        assert!(check_run(&printed("done\n")).unwrap_err().contains("printed no line"));
        let tab = lesson_html(&Progress::default(), None);
        assert!(tab.contains(&exercise_html(x, None)));
        let fresh = exercise_html(x, None);
        assert!(fresh.contains("        v = counter\n        time.sleep(0)"), "the code as it is");
        assert!(fresh.contains("data-state=\"new\"") && fresh.contains("Change the code, then check it."));
        // Solved before: the code that passed comes back, escaped, and says so.
        let mut progress = Progress::default();
        progress.solved.insert("race-lock".into(), "with lock:\n    print(\"<ok>\")\n".into());
        let again = lesson_html(&progress, None);
        assert!(again.contains("data-state=\"solved\""), "{again}");
        assert!(again.contains(">with lock:\n    print(&quot;&lt;ok&gt;&quot;)\n</textarea>"), "{again}");
        assert!(again.contains("Solved earlier, with the code above"));
    }

    #[test]
    fn news_of_a_cell_round_trips_through_serde() {
        let news = CellNews::Done(threaded_run());
        let json = serde_json::to_string(&news).unwrap();
        assert!(json.starts_with("{\"Done\":{"), "{json}");
        assert_eq!(serde_json::from_str::<CellNews>(&json).unwrap(), news);
        let sample = LiveSample { lanes: threaded_run().lanes, wall_ms: 12.5 };
        assert_eq!(serde_json::from_str::<LiveSample>(&serde_json::to_string(&sample).unwrap()).unwrap(), sample);
    }

    #[test]
    fn a_cell_is_markup_showing_the_predictions_and_locked_after_its_run() {
        let e = experiment("io-threads").unwrap();
        let html = cell_html(e, &[None], false);
        assert!(html.starts_with("<h4>Two waits of 3 s, on two threads</h4><pre class=\"cell\""), "{html}");
        assert!(html.contains("t1 = threading.Thread(target=fetch_data)"));
        assert!(html.contains(
            "<input id=\"io-threads-total-predict\" type=\"text\" inputmode=\"decimal\" autocomplete=\"off\" \
             value=\"\" aria-invalid=\"false\" data-q=\"io-threads.total\" data-testid=\"predict-io-threads.total\">"
        ));
        assert!(html.contains("<legend>Your prediction</legend>") && !html.contains("disabled"));
        let locked = cell_html(e, &[Some(Prediction::Seconds(6.5))], true);
        assert!(locked.contains("value=\"6.5\"") && locked.contains(" disabled>"), "{locked}");
        let cpu = experiment("cpu").unwrap();
        let html = cell_html(cpu, &[Some(Prediction::Choice("faster".into())), None], false);
        assert_eq!(html.matches("type=\"radio\"").count(), 6);
        assert_eq!(html.matches(" checked").count(), 1);
        assert!(html.contains(
            "<input type=\"radio\" name=\"cpu-threads-predict\" value=\"faster\" data-q=\"cpu.threads\" checked>"
        ));
        assert!(html.contains("<legend>Your predictions</legend>"));
        // The list's quotes are escaped in labels.
        let memory = cell_html(experiment("shared-list").unwrap(), &[None, None], false);
        assert!(memory.contains("&#39;start&#39;") && !memory.contains("['start'"));
    }

    fn j_none() -> Option<Judgement> {
        None
    }

    #[test]
    fn inline_code_is_split_at_backticks() {
        assert_eq!(inline("a `b` c"), vec![(false, "a "), (true, "b"), (false, " c")]);
        assert_eq!(inline("`x`"), vec![(true, "x")]);
        // A link to a cell of the lesson; any other bracket is text.
        assert_eq!(
            para_html("see [the race](#race-free) and [a](b) or [x](#nowhere) `[c](#cpu)` <"),
            "<p>see <a href=\"#race-free\">the race</a> and [a](b) or [x](#nowhere) <code>[c](#cpu)</code> &lt;</p>"
        );
        for s in SECTIONS {
            for b in s.blocks {
                if let Block::Para(p) = b {
                    assert_eq!(p.matches('`').count() % 2, 0, "{p}");
                }
            }
        }
    }

    /// Two counting threads as a run gives them back: free-threaded their running stretches
    /// overlap; with the GIL they take turns.
    fn counting_run(free: bool) -> ProgramResult {
        let (stdout, second) = if free {
            (
                "GIL enabled: False\nOne after another: 0.40 s\nTwo threads:       0.22 s\nSpeed-up:          1.8x\n",
                10.0,
            )
        } else {
            (
                "GIL enabled: True\nOne after another: 0.40 s\nTwo threads:       0.41 s\nSpeed-up:          1.0x\n",
                200.0,
            )
        };
        ProgramResult {
            stdout: stdout.into(),
            lanes: vec![
                lane(1, LaneKind::Thread, "Thread-1 (count)", 1, vec![seg(LaneState::Running, 0.0, 200.0)]),
                lane(2, LaneKind::Thread, "Thread-2 (count)", 1, vec![seg(LaneState::Running, second, second + 200.0)]),
            ],
            ..ProgramResult::default()
        }
    }

    #[test]
    fn the_free_threaded_cells_run_without_the_gil_the_others_with_it() {
        let free: Vec<&str> = EXPERIMENTS.iter().filter(|e| !e.gil).map(|e| e.id).collect();
        assert_eq!(free, ["race-free", "cpu-free"]);
        // Side by side: the race twice, the same program, with the GIL, then without.
        let (with, without) = (experiment("race-gil").unwrap(), experiment("race-free").unwrap());
        assert_eq!(with.source(), without.source());
        assert!(with.gil);
        assert!(experiment("cpu-free").unwrap().source().contains("threading.Thread(target=count"));
        let html = lesson_html(&Progress::default(), None);
        let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap();
        assert!(at("threads-and-the-gil") < at("race-gil") && at("race-gil") < at("race-free"));
        assert!(at("race-free") < at("io-bound"));
        assert!(at("cpu") < at("cpu-free") && at("cpu-free") < at("memory"));
        // Section 7 no longer says the page has only a GIL.
        assert!(!html.contains("The Python of this page has a GIL"), "{html}");
        assert!(html.contains("This page runs both"));
        assert!(html.contains("one lock guards every heap operation"));
        assert!(html.contains("<a href=\"#race-free\">the counter race</a> of section 1 and <a href=\"#cpu-free\">"));
    }

    #[test]
    fn free_threaded_counting_is_judged_by_its_own_printed_times_with_the_overlap_as_evidence() {
        assert_eq!(seconds_after("One after another: 0.31 s\n", "One after another:"), Some(0.31));
        assert_eq!(seconds_after("One after another: 0.31 sheep", "One after another:"), None);
        let e = experiment("cpu-free").unwrap();
        let outcome = Outcome::of(e, &counting_run(true));
        let ratio = outcome.measured[0].unwrap();
        assert!((ratio - 0.55).abs() < 1e-9, "{ratio}");
        let q = &e.questions[0];
        let right = judge(q, &Prediction::Choice("faster".into()), ratio).unwrap();
        assert_eq!(right.verdict, Verdict::Right);
        assert!(right.why.contains("core of its own"), "{}", right.why);
        assert!(right.headline.contains("0.55\u{d7}"), "{}", right.headline);
        // The misconception: no GIL, yet the same time.
        let wrong = judge(q, &Prediction::Choice("same".into()), ratio).unwrap();
        assert_eq!(wrong.verdict, Verdict::TooHigh);
        assert_eq!(wrong.why, right.why, "the explanation follows what was measured");
        assert_eq!(
            outcome.evidence,
            [
                "On the timeline, Thread-1 (count) and Thread-2 (count) ran for 0.40 s in all, 0.19 s of it at the \
                 same moment (free-threaded: their running stretches overlap).",
                "Each thread ran 0.20 s on its count; one count took 0.20 s on the main thread alone, before any \
                 thread started: a count on a thread, free-threaded, cost 1.0\u{d7} as much."
            ]
        );
        assert_eq!(outcome.cost, Some(1.0));
        assert_eq!(Outcome::of(experiment("cpu").unwrap(), &counting_run(true)).cost, None);
        let mut progress = Progress::default();
        let table = differences_html(&progress);
        assert!(table
            .contains("Run <a href=\"#cpu-free\">Two counting threads, free-threaded (no GIL)</a> to fill this in."));
        progress.outcomes.insert("cpu-free".into(), outcome.clone());
        let table = differences_html(&progress);
        assert!(
            table.contains(
                "free-threaded, 0.55\u{d7} (a speed-up of 1.8\u{d7}) (<a href=\"#cpu-free\" data-testid=\"difference-run\">\
                 your run</a>), where a count on a thread cost 1.0\u{d7} the same count on the main thread alone"
            ),
            "{table}"
        );
        // Parallel, yet no faster: the price per thread is the evidence.
        let mut slow = counting_run(true);
        slow.stdout = slow.stdout.replace("0.40 s\n", "0.20 s\n");
        let cost = evidence(Evidence::FreeThreadCost, &slow).unwrap();
        assert!(cost.ends_with("cost 2.0\u{d7} as much."), "{cost}");
        let gil = evidence(Evidence::ThreadsOverlap, &counting_run(false)).unwrap();
        assert!(gil.contains("0.00 s of it at the same moment (with the GIL: one runs"), "{gil}");
        // A busy machine: no speed-up, and the page says why rather than calling it right.
        let busy = judge(q, &Prediction::Choice("faster".into()), 1.02).unwrap();
        assert_eq!(busy.verdict, Verdict::TooLow);
        assert!(busy.why.contains("two free cores") && busy.why.contains("price"), "{}", busy.why);
    }

    #[test]
    fn the_race_loses_updates_free_threaded_and_the_gil_never_protected_your_code() {
        let run = |lost: bool| ProgramResult {
            stdout: format!(
                "GIL enabled: {}\ncounter = {} (expected 800000)\nlost updates: {}\n",
                if lost { "False" } else { "True" },
                if lost { 431_207 } else { 800_000 },
                if lost { "True" } else { "False" }
            ),
            ..ProgramResult::default()
        };
        for (id, lost) in [("race-gil", false), ("race-free", true)] {
            let e = experiment(id).unwrap();
            let q = &e.questions[0];
            let measured = Outcome::of(e, &run(lost)).measured[0].unwrap();
            assert_eq!(measured, if lost { 1.0 } else { 0.0 });
            let happened = if lost { "lost" } else { "none" };
            let other = if lost { "none" } else { "lost" };
            let right = judge(q, &Prediction::Choice(happened.into()), measured).unwrap();
            let wrong = judge(q, &Prediction::Choice(other.into()), measured).unwrap();
            assert_eq!((right.verdict, wrong.verdict), (Verdict::Right, Verdict::Wrong), "{id}");
            assert_eq!(right.why, wrong.why);
            assert!(right.why.contains("never your"), "{id}: {}", right.why);
        }
        let free = experiment("race-free").unwrap();
        assert!(judge(&free.questions[0], &Prediction::Choice("lost".into()), 1.0).unwrap().why.contains("Lock"));
    }
}
