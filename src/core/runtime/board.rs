//! A process's live board: what each of its threads is doing right now and on which line,
//! in words of the process's own memory that the page reads while the program runs (the
//! Code view marks each thread's line in the editor and grows the timeline from them).
//!
//! Why words in memory and not letters: a process's threads are busy running Python or
//! blocked in `Atomics.wait`; the page can read a `SharedArrayBuffer` at any moment without
//! asking anyone, at its own frame rate, and a thread pays one relaxed store per change.
//! What the page shows from it is sampled (at most once a frame); the timeline drawn
//! after the run is the exact one, from the threads' own logs.
//!
//! Layout (little-endian `u32` words from the board's address, [`BOARD_WORDS`] in all):
//! [`BOARD_SLOTS`] slots of [`SLOT_WORDS`] words each: `lane + 1` (0: a free slot), then
//! `state << 24 | line` (state 0: not known yet; see [`state_code`]), then its kind (0 main,
//! 1 thread, 2 a child process's main thread), then the thread's name, UTF-8, NUL-padded,
//! in [`NAME_WORDS`] words. A writer fills the name before it
//! publishes the lane, so a reader that sees the lane sees its name; a torn read of a slot
//! that is being reused shows one frame of a stale name at worst.

use crate::core::program::{LaneKind, LaneState, Live, MAX_THREADS_PER_PROCESS};
use std::sync::atomic::{AtomicU32, Ordering};

/// A slot per thread a process may have alive at once, plus one for a thread that has
/// ended but not yet left its slot.
pub const BOARD_SLOTS: usize = MAX_THREADS_PER_PROCESS + 1;
/// 32 bytes of a thread's name: the editor's marks need a short label, the full name is in
/// the lanes after the run.
pub const NAME_WORDS: usize = 8;
pub const SLOT_WORDS: usize = 3 + NAME_WORDS;
pub const BOARD_WORDS: usize = BOARD_SLOTS * SLOT_WORDS;

const LINE_MASK: u32 = 0x00ff_ffff;

#[repr(C)]
struct Slot {
    lane: AtomicU32,
    word: AtomicU32,
    kind: AtomicU32,
    name: [AtomicU32; NAME_WORDS],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            lane: AtomicU32::new(0),
            word: AtomicU32::new(0),
            kind: AtomicU32::new(0),
            name: [const { AtomicU32::new(0) }; NAME_WORDS],
        }
    }
}

/// A process's board; one `static` in the browser (its address goes to the page in the
/// process's `Ready` letter), one per native host in tests.
#[repr(C)]
pub struct Board {
    slots: [Slot; BOARD_SLOTS],
}

impl Default for Board {
    fn default() -> Self {
        Board::new()
    }
}

/// One thread as a reader of the board sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveThread {
    pub lane: u32,
    pub kind: LaneKind,
    pub name: String,
    /// `None` before the thread's first state.
    pub state: Option<LaneState>,
    /// 0 before the thread's first line.
    pub line: u32,
}

/// The state's code in a slot's word (0 means "not known yet").
#[must_use]
pub fn state_code(state: LaneState) -> u32 {
    match state {
        LaneState::Running => 1,
        LaneState::GilWait => 2,
        LaneState::Io => 3,
        LaneState::Blocked => 4,
    }
}

fn kind_code(kind: LaneKind) -> u32 {
    match kind {
        LaneKind::Main => 0,
        LaneKind::Thread => 1,
        LaneKind::Process => 2,
    }
}

fn state_of(code: u32) -> Option<LaneState> {
    Some(match code {
        1 => LaneState::Running,
        2 => LaneState::GilWait,
        3 => LaneState::Io,
        4 => LaneState::Blocked,
        _ => return None,
    })
}

impl Board {
    #[must_use]
    pub const fn new() -> Board {
        Board { slots: [const { Slot::new() }; BOARD_SLOTS] }
    }

    /// Where the board starts in its memory (the browser sends it to the page).
    #[must_use]
    pub fn addr(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    fn slot(&self, lane: u32) -> Option<&Slot> {
        let key = lane.wrapping_add(1);
        self.slots.iter().find(|s| s.lane.load(Ordering::Acquire) == key)
    }

    /// Takes what a thread says. A board with every slot taken ignores a new thread (the
    /// process refuses a 33rd live thread anyway).
    pub fn show(&self, lane: u32, news: Live<'_>) {
        match news {
            Live::Started { name, kind } => self.claim(lane, name, kind),
            Live::State(state) => {
                if let Some(s) = self.slot(lane) {
                    let code = state_code(state) << 24;
                    // The starter writes a new thread's first state, the thread the rest.
                    let _ = s.word.fetch_update(Ordering::Release, Ordering::Relaxed, |w| Some(code | (w & LINE_MASK)));
                }
            }
            Live::Line(line) => {
                if let Some(s) = self.slot(lane) {
                    let line = line.min(LINE_MASK);
                    let _ =
                        s.word.fetch_update(Ordering::Release, Ordering::Relaxed, |w| Some((w & !LINE_MASK) | line));
                }
            }
            Live::Ended => {
                if let Some(s) = self.slot(lane) {
                    s.lane.store(0, Ordering::Release);
                }
            }
        }
    }

    fn claim(&self, lane: u32, name: &str, kind: LaneKind) {
        let key = lane.wrapping_add(1);
        for s in &self.slots {
            if s.lane.compare_exchange(0, u32::MAX, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                s.word.store(0, Ordering::Relaxed);
                s.kind.store(kind_code(kind), Ordering::Relaxed);
                for (word, value) in s.name.iter().zip(name_words(name)) {
                    word.store(value, Ordering::Relaxed);
                }
                s.lane.store(key, Ordering::Release);
                return;
            }
        }
    }

    /// The board's words as the page copies them out of the process's memory.
    #[must_use]
    pub fn words(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(BOARD_WORDS);
        for s in &self.slots {
            out.push(s.lane.load(Ordering::Acquire));
            out.push(s.word.load(Ordering::Acquire));
            out.push(s.kind.load(Ordering::Relaxed));
            out.extend(s.name.iter().map(|w| w.load(Ordering::Relaxed)));
        }
        out
    }
}

/// The name as [`NAME_WORDS`] little-endian words, cut at a character boundary.
fn name_words(name: &str) -> [u32; NAME_WORDS] {
    let mut bytes = [0u8; NAME_WORDS * 4];
    let mut end = name.len().min(bytes.len());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
    let mut words = [0u32; NAME_WORDS];
    for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    words
}

/// Reads a board from its words (what [`Board::words`] gives, or the page's copy of the
/// process's memory): the threads alive, in slot order. Fewer words than a board has (a
/// memory that ended mid-read) give what is complete.
#[must_use]
pub fn read(words: &[u32]) -> Vec<LiveThread> {
    words
        .chunks_exact(SLOT_WORDS)
        .filter(|slot| slot[0] != 0 && slot[0] != u32::MAX)
        .map(|slot| {
            let bytes: Vec<u8> = slot[3..].iter().flat_map(|w| w.to_le_bytes()).take_while(|b| *b != 0).collect();
            LiveThread {
                lane: slot[0] - 1,
                kind: match slot[2] {
                    0 => LaneKind::Main,
                    2 => LaneKind::Process,
                    _ => LaneKind::Thread,
                },
                name: String::from_utf8_lossy(&bytes).into_owned(),
                state: state_of(slot[1] >> 24),
                line: slot[1] & LINE_MASK,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_s_name_state_and_line_read_back_until_it_ends() {
        let b = Board::new();
        b.show(7, Live::Started { name: "Thread-1 (worker)", kind: LaneKind::Thread });
        b.show(3, Live::Started { name: "MainThread", kind: LaneKind::Main });
        assert_eq!(
            read(&b.words()).iter().map(|t| (t.lane, t.state, t.line)).collect::<Vec<_>>(),
            [(7, None, 0), (3, None, 0)]
        );
        b.show(7, Live::State(LaneState::GilWait));
        b.show(7, Live::Line(12));
        b.show(7, Live::State(LaneState::Io));
        b.show(3, Live::Line(4));
        let live = read(&b.words());
        assert_eq!(
            live[0],
            LiveThread {
                lane: 7,
                kind: LaneKind::Thread,
                name: "Thread-1 (worker)".into(),
                state: Some(LaneState::Io),
                line: 12
            }
        );
        assert_eq!((live[1].state, live[1].line), (None, 4));
        b.show(7, Live::Ended);
        assert_eq!(read(&b.words()).iter().map(|t| t.lane).collect::<Vec<_>>(), [3]);
        // The freed slot is the next thread's, with no trace of the old name.
        b.show(9, Live::Started { name: "x", kind: LaneKind::Process });
        assert_eq!(
            read(&b.words())[0],
            LiveThread { lane: 9, kind: LaneKind::Process, name: "x".into(), state: None, line: 0 }
        );
    }

    #[test]
    fn long_names_are_cut_at_a_character_and_a_full_board_ignores_more() {
        let b = Board::new();
        let long = "é".repeat(40);
        b.show(0, Live::Started { name: &long, kind: LaneKind::Main });
        assert_eq!(read(&b.words())[0].name, "é".repeat(16));
        for lane in 1..100 {
            b.show(lane, Live::Started { name: "t", kind: LaneKind::Thread });
        }
        assert_eq!(read(&b.words()).len(), BOARD_SLOTS);
        b.show(99, Live::Line(5)); // no slot: nothing happens
        assert!(read(&b.words()).iter().all(|t| t.line == 0));
        assert_eq!(read(&b.words()[..SLOT_WORDS * 2 + 3]).len(), 2, "a short copy gives its whole slots");
    }
}
