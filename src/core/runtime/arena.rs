//! The channel arena (docs/python-vm.md §5, "Decision"): how the processes of one program pass
//! pickled bytes to each other while blocked in Python. A process blocked in `q.get()` is a
//! worker inside synchronous Rust that cannot take a `message` event; it can wait on a word of
//! shared memory. So every process of a program shares one [`Arena`] (in the browser a
//! `SharedArrayBuffer` the page creates per program; natively, atomics in a `Vec`), and a
//! channel is a bounded byte ring in it.
//!
//! The protocol is here, in plain Rust over the [`Arena`] trait's word operations, so that it
//! is tested natively with `std::thread`s standing for processes.
//!
//! A channel is many-to-many: writers take turns under the channel's writer lock, readers under
//! its reader lock, so between the one writer and the one reader of the moment it is a
//! single-producer single-consumer ring. A message is `[len: u32][bytes]`; one larger than the
//! ring streams through it (the writer waits for room, the reader for bytes), so a channel's
//! capacity bounds memory, not messages.

/// Word-level access to memory shared by every process of a program: `word` is the index of
/// a 32-bit word, `byte` a byte offset, both within [`Arena::len_bytes`]. Every operation is
/// sequentially consistent (as `Atomics.*` on a `SharedArrayBuffer` are).
pub trait Arena: Send + Sync {
    fn load(&self, word: u32) -> u32;
    fn store(&self, word: u32, value: u32);
    /// Compare-and-swap; returns the value found (the swap happened when it is `expected`).
    fn cas(&self, word: u32, expected: u32, new: u32) -> u32;
    /// Adds `value`; returns the value before.
    fn add(&self, word: u32, value: u32) -> u32;
    /// Waits while `word` holds `expected`, for at most `timeout_ms` (spurious wake-ups allowed).
    fn wait(&self, word: u32, expected: u32, timeout_ms: f64);
    /// Wakes every waiter on `word`.
    fn notify(&self, word: u32);
    fn read(&self, byte: u32, out: &mut [u8]);
    fn write(&self, byte: u32, data: &[u8]);
    fn len_bytes(&self) -> u32;
}

/// Header words.
const MAGIC: u32 = 0;
/// Bytes of the arena handed out so far (channels are carved from the end of what is used).
const BUMP: u32 = 1;
/// The program's kill word: Stop and the time budget (every process checks it).
pub const KILL_WORD: u32 = 2;
/// The next output ticket, for the whole program: output of all processes in one order.
pub const TICKET_WORD: u32 = 3;
/// The next child's pid, less 2 (pid 1 is the main program's, as `Interp::pid`).
const NEXT_PID: u32 = 4;
/// Process records from this word: per pid (modulo [`MAX_RECORDS`]) an "ended" word (what
/// `join` waits on), its exit code and its own kill word (`Process.terminate()`).
const RECORDS: u32 = 16;
const RECORD_WORDS: u32 = 3;
/// Records kept at once: a program that has started more processes reuses the oldest.
pub const MAX_RECORDS: u32 = 256;
const HEADER_WORDS: u32 = RECORDS + RECORD_WORDS * MAX_RECORDS;
const MAGIC_VALUE: u32 = 0x544c_4131; // "TLA1"

// A channel's descriptor: these words, from the channel's first word.
const WRITER_LOCK: u32 = 0;
const READER_LOCK: u32 = 1;
/// Bytes written so far (wrapping): the reader waits on it.
const TAIL: u32 = 2;
/// Bytes read so far (wrapping): a writer waiting for room waits on it.
const HEAD: u32 = 3;
const CAPACITY: u32 = 4;
const CLOSED: u32 = 5;
/// Whole messages in the ring (`Queue.qsize()`).
const COUNT: u32 = 6;
const DESCRIPTOR_WORDS: u32 = 8;

/// How long one wait lasts before the stop check (and the caller's deadline) is looked at.
const WAIT_SLICE_MS: f64 = 5.0;

/// A channel: where its descriptor starts, in words (what a queue pickles as).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Channel(pub u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// The arena has no room for a channel of that size.
    Full { wanted: u32, left: u32 },
    /// Nothing came within the caller's timeout (`queue.Empty` for `get(timeout=…)`).
    Timeout,
    /// The program is being stopped.
    Stopped,
    /// The channel was closed (`Queue.close()`), and is empty.
    Closed,
    /// The arena's header or the channel's descriptor is not what it should be.
    Corrupt,
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelError::Full { wanted, left } => {
                write!(f, "no room for a channel of {wanted} bytes in the program's arena ({left} bytes left)")
            }
            ChannelError::Timeout => write!(f, "timed out"),
            ChannelError::Stopped => write!(f, "the program is being stopped"),
            ChannelError::Closed => write!(f, "the channel is closed"),
            ChannelError::Corrupt => write!(f, "the program's channel arena is corrupt"),
        }
    }
}

/// The arena's owner (the page) lays out a fresh arena with this.
pub fn format(arena: &dyn Arena) {
    for word in 0..HEADER_WORDS {
        arena.store(word, 0);
    }
    arena.store(BUMP, HEADER_WORDS * 4);
    arena.store(KILL_WORD, 0);
    arena.store(TICKET_WORD, 0);
    arena.store(MAGIC, MAGIC_VALUE);
}

/// Carves a channel with a ring of `capacity` bytes out of the arena; any process may, at any
/// time. The capacity is rounded up to a power of two, so that positions, which wrap at 2³²,
/// map onto the ring the same way before and after they wrap.
///
/// # Errors
/// [`ChannelError::Full`] when the arena has no room left; `Corrupt` when it was never formatted.
pub fn create(arena: &dyn Arena, capacity: u32) -> Result<Channel, ChannelError> {
    if arena.load(MAGIC) != MAGIC_VALUE {
        return Err(ChannelError::Corrupt);
    }
    let capacity = capacity.clamp(16, 1 << 30).next_power_of_two();
    let wanted = DESCRIPTOR_WORDS * 4 + capacity;
    let mut at = arena.load(BUMP);
    loop {
        let left = arena.len_bytes().saturating_sub(at);
        if wanted > left {
            return Err(ChannelError::Full { wanted, left });
        }
        match arena.cas(BUMP, at, at + wanted) {
            found if found == at => break,
            found => at = found,
        }
    }
    let channel = Channel(at / 4);
    for word in 0..DESCRIPTOR_WORDS {
        arena.store(channel.0 + word, 0);
    }
    arena.store(channel.0 + CAPACITY, capacity);
    Ok(channel)
}

fn record(pid: u32, field: u32) -> u32 {
    RECORDS + (pid % MAX_RECORDS) * RECORD_WORDS + field
}

/// A new process's pid, its record reset (running, not killed).
pub fn new_pid(arena: &dyn Arena) -> u32 {
    let pid = arena.add(NEXT_PID, 1) + 2;
    for field in 0..RECORD_WORDS {
        arena.store(record(pid, field), 0);
    }
    pid
}

/// The words of process `pid`'s record the page sets when the process dies without saying
/// so (a trap): (ended, exit code).
#[must_use]
pub fn ended_words(pid: u32) -> (u32, u32) {
    (record(pid, 0), record(pid, 1))
}

/// Process `pid` ended with `code`: whoever joins it wakes.
pub fn process_ended(arena: &dyn Arena, pid: u32, code: i32) {
    arena.store(record(pid, 1), u32::from_ne_bytes(code.to_ne_bytes()));
    arena.store(record(pid, 0), 1);
    arena.notify(record(pid, 0));
}

/// Process `pid`'s exit code, waiting up to `timeout_ms` (`None`: until it ends or `stop()`).
pub fn wait_process(
    arena: &dyn Arena,
    pid: u32,
    timeout_ms: Option<f64>,
    now_ms: &dyn Fn() -> f64,
    stop: &dyn Fn() -> bool,
) -> Option<i32> {
    let deadline = timeout_ms.map(|ms| now_ms() + ms);
    loop {
        if arena.load(record(pid, 0)) != 0 {
            return Some(i32::from_ne_bytes(arena.load(record(pid, 1)).to_ne_bytes()));
        }
        let left = deadline.map_or(WAIT_SLICE_MS, |d| d - now_ms());
        if left <= 0.0 || stop() {
            return None;
        }
        arena.wait(record(pid, 0), 0, left.min(WAIT_SLICE_MS));
    }
}

/// `Process.terminate()`: process `pid` ends at its next check of [`killed`].
pub fn terminate(arena: &dyn Arena, pid: u32) {
    arena.store(record(pid, 2), 1);
    arena.notify(record(pid, 2));
}

/// Whether process `pid` was terminated.
#[must_use]
pub fn killed(arena: &dyn Arena, pid: u32) -> bool {
    arena.load(record(pid, 2)) != 0
}

impl Channel {
    /// Whole messages waiting (`Queue.qsize()`).
    #[must_use]
    pub fn len(self, arena: &dyn Arena) -> usize {
        // A reader takes a message from the count as soon as it has begun, which can be before
        // its writer, which counts it once written whole, has added it: for that moment the
        // count is -1 (u32::MAX), and the channel holds nothing. (Read as a count, `poll()` on a
        // Pipe said True after the message was taken: process_pipe.py in Chromium.)
        let count = arena.load(self.word(COUNT));
        if count & (1 << 31) != 0 {
            0
        } else {
            count as usize
        }
    }

    fn word(self, field: u32) -> u32 {
        self.0 + field
    }

    fn data(self) -> u32 {
        (self.0 + DESCRIPTOR_WORDS) * 4
    }

    /// Whether no message is waiting (`Queue.empty()`; a message being written counts).
    #[must_use]
    pub fn is_empty(self, arena: &dyn Arena) -> bool {
        arena.load(self.word(TAIL)) == arena.load(self.word(HEAD))
    }

    /// `Queue.close()`: readers of an empty channel get [`ChannelError::Closed`] from then on.
    pub fn close(self, arena: &dyn Arena) {
        arena.store(self.word(CLOSED), 1);
        arena.notify(self.word(TAIL));
    }

    /// Sends one message, waiting for room as long as it takes (a `put` on a full queue
    /// blocks, as CPython's does), or until `stop()`.
    ///
    /// # Errors
    /// [`ChannelError::Stopped`] when `stop()` turned true; the message may then be cut short,
    /// which only a stopped program sees.
    pub fn send(self, arena: &dyn Arena, message: &[u8], stop: &dyn Fn() -> bool) -> Result<(), ChannelError> {
        let capacity = self.capacity(arena)?;
        lock(arena, self.word(WRITER_LOCK), None, stop)?;
        let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
        let sent = self
            .put_bytes(arena, capacity, &len.to_le_bytes(), stop)
            .and_then(|()| self.put_bytes(arena, capacity, message, stop));
        if sent.is_ok() {
            arena.add(self.word(COUNT), 1);
        }
        unlock(arena, self.word(WRITER_LOCK));
        sent
    }

    /// Receives one message, waiting up to `timeout_ms` for one to begin (`None`: forever),
    /// or until `stop()`.
    ///
    /// # Errors
    /// [`ChannelError::Timeout`] when none began in time, `Closed` when the channel is closed and
    /// empty, `Stopped` when `stop()` turned true.
    pub fn receive(
        self,
        arena: &dyn Arena,
        timeout_ms: Option<f64>,
        now_ms: &dyn Fn() -> f64,
        stop: &dyn Fn() -> bool,
    ) -> Result<Vec<u8>, ChannelError> {
        let capacity = self.capacity(arena)?;
        let deadline = timeout_ms.map(|ms| now_ms() + ms);
        lock(arena, self.word(READER_LOCK), deadline.map(|d| (d, now_ms)), stop)?;
        let received = self.take_message(arena, capacity, deadline.map(|d| (d, now_ms)), stop);
        unlock(arena, self.word(READER_LOCK));
        received
    }

    fn capacity(self, arena: &dyn Arena) -> Result<u32, ChannelError> {
        let capacity = arena.load(self.word(CAPACITY));
        let end = u64::from(self.data()) + u64::from(capacity);
        if capacity == 0 || end > u64::from(arena.len_bytes()) {
            return Err(ChannelError::Corrupt);
        }
        Ok(capacity)
    }

    fn take_message(
        self,
        arena: &dyn Arena,
        capacity: u32,
        deadline: Option<(f64, &dyn Fn() -> f64)>,
        stop: &dyn Fn() -> bool,
    ) -> Result<Vec<u8>, ChannelError> {
        // Until a message begins, the caller's deadline and `close` apply; once its length
        // is read, the writer is streaming it, and the rest is waited for.
        loop {
            let tail = arena.load(self.word(TAIL));
            let head = arena.load(self.word(HEAD));
            if tail.wrapping_sub(head) >= 4 {
                break;
            }
            if tail == head && arena.load(self.word(CLOSED)) != 0 {
                return Err(ChannelError::Closed);
            }
            if stop() {
                return Err(ChannelError::Stopped);
            }
            let slice = match deadline {
                Some((at, now)) => {
                    let left = at - now();
                    if left <= 0.0 {
                        return Err(ChannelError::Timeout);
                    }
                    left.min(WAIT_SLICE_MS)
                }
                None => WAIT_SLICE_MS,
            };
            arena.wait(self.word(TAIL), tail, slice);
        }
        let mut len = [0u8; 4];
        self.take_bytes(arena, capacity, &mut len, stop)?;
        // Taken from the count once begun: a message being streamed is no longer waiting.
        let _ = arena.add(self.word(COUNT), u32::MAX);
        let mut message = vec![0u8; u32::from_le_bytes(len) as usize];
        self.take_bytes(arena, capacity, &mut message, stop)?;
        Ok(message)
    }

    /// Writes `bytes` into the ring as room frees up.
    fn put_bytes(
        self,
        arena: &dyn Arena,
        capacity: u32,
        bytes: &[u8],
        stop: &dyn Fn() -> bool,
    ) -> Result<(), ChannelError> {
        let mut done = 0usize;
        while done < bytes.len() {
            let head = arena.load(self.word(HEAD));
            let tail = arena.load(self.word(TAIL));
            let room = capacity - tail.wrapping_sub(head);
            if room == 0 {
                if stop() {
                    return Err(ChannelError::Stopped);
                }
                arena.wait(self.word(HEAD), head, WAIT_SLICE_MS);
                continue;
            }
            let at = tail % capacity;
            // Up to the end of the ring, then round from its start on the next turn.
            let n = (room.min(capacity - at) as usize).min(bytes.len() - done);
            arena.write(self.data() + at, &bytes[done..done + n]);
            done += n;
            // The bytes are in before the tail says so (every arena operation is SeqCst).
            arena.store(self.word(TAIL), tail.wrapping_add(u32::try_from(n).unwrap_or(0)));
            arena.notify(self.word(TAIL));
        }
        Ok(())
    }

    /// Reads `out.len()` bytes from the ring as they come.
    fn take_bytes(
        self,
        arena: &dyn Arena,
        capacity: u32,
        out: &mut [u8],
        stop: &dyn Fn() -> bool,
    ) -> Result<(), ChannelError> {
        let mut done = 0usize;
        while done < out.len() {
            let tail = arena.load(self.word(TAIL));
            let head = arena.load(self.word(HEAD));
            let ready = tail.wrapping_sub(head);
            if ready == 0 {
                if stop() {
                    return Err(ChannelError::Stopped);
                }
                arena.wait(self.word(TAIL), tail, WAIT_SLICE_MS);
                continue;
            }
            let at = head % capacity;
            let n = (ready.min(capacity - at) as usize).min(out.len() - done);
            arena.read(self.data() + at, &mut out[done..done + n]);
            done += n;
            arena.store(self.word(HEAD), head.wrapping_add(u32::try_from(n).unwrap_or(0)));
            arena.notify(self.word(HEAD));
        }
        Ok(())
    }
}

fn lock(
    arena: &dyn Arena,
    word: u32,
    deadline: Option<(f64, &dyn Fn() -> f64)>,
    stop: &dyn Fn() -> bool,
) -> Result<(), ChannelError> {
    while arena.cas(word, 0, 1) != 0 {
        if stop() {
            return Err(ChannelError::Stopped);
        }
        if let Some((at, now)) = deadline {
            if now() >= at {
                return Err(ChannelError::Timeout);
            }
        }
        arena.wait(word, 1, WAIT_SLICE_MS);
    }
    Ok(())
}

fn unlock(arena: &dyn Arena, word: u32) {
    arena.store(word, 0);
    arena.notify(word);
}

/// An [`Arena`] over native atomics, for tests with `std::thread`s as the processes.
pub mod native {
    use super::Arena;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::{Condvar, Mutex, PoisonError};
    use std::time::Duration;

    pub struct NativeArena {
        words: Vec<AtomicU32>,
        /// One condition for every word: a notify wakes all waiters, who look again.
        changed: (Mutex<()>, Condvar),
    }

    impl NativeArena {
        #[must_use]
        pub fn new(bytes: u32) -> NativeArena {
            NativeArena {
                words: (0..bytes.div_ceil(4)).map(|_| AtomicU32::new(0)).collect(),
                changed: (Mutex::new(()), Condvar::new()),
            }
        }

        fn at(&self, word: u32) -> &AtomicU32 {
            &self.words[word as usize]
        }
    }

    impl Arena for NativeArena {
        fn load(&self, word: u32) -> u32 {
            self.at(word).load(SeqCst)
        }

        fn store(&self, word: u32, value: u32) {
            self.at(word).store(value, SeqCst);
        }

        fn cas(&self, word: u32, expected: u32, new: u32) -> u32 {
            self.at(word).compare_exchange(expected, new, SeqCst, SeqCst).unwrap_or_else(|found| found)
        }

        fn add(&self, word: u32, value: u32) -> u32 {
            self.at(word).fetch_add(value, SeqCst)
        }

        fn wait(&self, word: u32, expected: u32, timeout_ms: f64) {
            let guard = self.changed.0.lock().unwrap_or_else(PoisonError::into_inner);
            if self.load(word) == expected {
                let timeout = Duration::from_secs_f64(timeout_ms.max(0.0) / 1000.0);
                let _ = self.changed.1.wait_timeout(guard, timeout);
            }
        }

        fn notify(&self, _word: u32) {
            let _guard = self.changed.0.lock().unwrap_or_else(PoisonError::into_inner);
            self.changed.1.notify_all();
        }

        fn read(&self, byte: u32, out: &mut [u8]) {
            for (i, b) in out.iter_mut().enumerate() {
                let at = byte as usize + i;
                *b = self.words[at / 4].load(SeqCst).to_le_bytes()[at % 4];
            }
        }

        fn write(&self, byte: u32, data: &[u8]) {
            for (i, b) in data.iter().enumerate() {
                let at = byte as usize + i;
                let shift = (at % 4) * 8;
                let word = &self.words[at / 4];
                let _ = word.fetch_update(SeqCst, SeqCst, |w| Some((w & !(0xff << shift)) | (u32::from(*b) << shift)));
            }
        }

        fn len_bytes(&self) -> u32 {
            u32::try_from(self.words.len() * 4).unwrap_or(u32::MAX)
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // Native only: clippy.toml's wasm rules do not apply.
#[allow(clippy::cast_possible_truncation)] // Test data: bytes made from counters, small counts.
mod tests {
    use super::native::NativeArena;
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    fn message(from: u32, n: u32) -> Vec<u8> {
        // Sizes from 0 to well past the ring, contents that say who sent which.
        let len = (n * 37 + from * 11) % 700;
        (0..len).map(|i| (i ^ n ^ (from << 4)) as u8).collect()
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn a_message_taken_before_its_writer_counted_it_leaves_the_channel_empty() {
        let arena = NativeArena::new(4096);
        format(&arena);
        let channel = create(&arena, 64).unwrap();
        // A writer's two steps, the count not yet added: the reader may take it already.
        let capacity = channel.capacity(&arena).unwrap();
        channel.put_bytes(&arena, capacity, &3u32.to_le_bytes(), &never).unwrap();
        channel.put_bytes(&arena, capacity, b"abc", &never).unwrap();
        assert_eq!(channel.receive(&arena, Some(0.0), &|| 0.0, &never).unwrap(), b"abc");
        assert_eq!(channel.len(&arena), 0);
        // The writer's count lands: still nothing waiting.
        arena.add(channel.word(COUNT), 1);
        assert_eq!(channel.len(&arena), 0);
        assert!(channel.is_empty(&arena));
    }

    #[test]
    fn many_writers_and_readers_pass_every_message_whole_through_a_small_ring() {
        let arena = Arc::new(NativeArena::new(4096));
        format(&*arena);
        let channel = create(&*arena, 64).unwrap();
        let (writers, readers, each) = (3u32, 2u32, 200u32);
        let began = Instant::now();
        let now = move || began.elapsed().as_secs_f64() * 1000.0;
        let sent: Vec<_> = (0..writers)
            .map(|from| {
                let arena = arena.clone();
                std::thread::spawn(move || {
                    for n in 0..each {
                        let mut m = from.to_le_bytes().to_vec();
                        m.extend(n.to_le_bytes());
                        m.extend(message(from, n));
                        channel.send(&*arena, &m, &never).unwrap();
                    }
                })
            })
            .collect();
        let got: Vec<_> = (0..readers)
            .map(|_| {
                let arena = arena.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match channel.receive(&*arena, Some(500.0), &now, &never) {
                            Ok(m) => got.push(m),
                            Err(ChannelError::Timeout) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        for h in sent {
            h.join().unwrap();
        }
        let mut all: Vec<Vec<u8>> = got.into_iter().flat_map(|h| h.join().unwrap()).collect();
        assert_eq!(all.len() as u32, writers * each);
        // Each message arrived whole, once.
        all.sort();
        for m in &all {
            let from = u32::from_le_bytes(m[0..4].try_into().unwrap());
            let n = u32::from_le_bytes(m[4..8].try_into().unwrap());
            assert_eq!(&m[8..], &message(from, n)[..], "message {n} of {from} was damaged");
        }
        all.dedup();
        assert_eq!(all.len() as u32, writers * each, "a message was duplicated");
        assert!(channel.is_empty(&*arena));
    }

    #[test]
    fn a_blocked_receive_ends_on_timeout_close_and_stop() {
        let arena = NativeArena::new(8192);
        format(&arena);
        let channel = create(&arena, 32).unwrap();
        let began = Instant::now();
        let now = || began.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(channel.receive(&arena, Some(20.0), &now, &never), Err(ChannelError::Timeout));
        assert!(now() >= 20.0);
        let stop = || now() > 40.0;
        assert_eq!(channel.receive(&arena, None, &now, &stop), Err(ChannelError::Stopped));
        channel.send(&arena, b"last", &never).unwrap();
        channel.close(&arena);
        assert_eq!(channel.receive(&arena, None, &now, &never).unwrap(), b"last");
        assert_eq!(channel.receive(&arena, None, &now, &never), Err(ChannelError::Closed));
    }

    #[test]
    fn positions_wrap_at_2_to_the_32_without_a_seam() {
        let arena = NativeArena::new(8192);
        format(&arena);
        let channel = create(&arena, 48).unwrap(); // a ring of 64
                                                   // As if 2^32 - 5 bytes had gone through already.
        arena.store(channel.word(TAIL), u32::MAX - 4);
        arena.store(channel.word(HEAD), u32::MAX - 4);
        let now = || 0.0;
        let full = arena.load(channel.word(CAPACITY)) - 4; // a message that fills the ring
        for n in 0..50u32 {
            let len = if n % 2 == 0 { full } else { n };
            let m: Vec<u8> = (0..len).map(|i| (i * 7 + n) as u8).collect();
            channel.send(&arena, &m, &never).unwrap();
            assert_eq!(channel.receive(&arena, Some(0.0), &now, &never).unwrap(), m);
        }
    }

    #[test]
    fn a_join_waits_for_the_record_and_counts_show_what_waits() {
        let arena = Arc::new(NativeArena::new(16 * 1024));
        format(&*arena);
        let (a, b) = (new_pid(&*arena), new_pid(&*arena));
        assert_eq!((a, b), (2, 3));
        let began = Instant::now();
        let now = move || began.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(wait_process(&*arena, a, Some(10.0), &now, &never), None);
        let ender = {
            let arena = arena.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                process_ended(&*arena, 2, -15);
            })
        };
        assert_eq!(wait_process(&*arena, a, None, &now, &never), Some(-15));
        ender.join().unwrap();
        assert!(!killed(&*arena, b));
        terminate(&*arena, b);
        assert!(killed(&*arena, b));
        let channel = create(&*arena, 64).unwrap();
        channel.send(&*arena, b"x", &never).unwrap();
        channel.send(&*arena, b"yy", &never).unwrap();
        assert_eq!(channel.len(&*arena), 2);
        assert_eq!(channel.receive(&*arena, Some(0.0), &now, &never).unwrap(), b"x");
        assert_eq!(channel.len(&*arena), 1);
    }

    #[test]
    fn channels_are_carved_until_the_arena_is_full() {
        let arena = NativeArena::new(HEADER_WORDS * 4 + 512);
        assert_eq!(create(&arena, 64), Err(ChannelError::Corrupt), "not formatted");
        format(&arena);
        let a = create(&arena, 100).unwrap();
        let b = create(&arena, 100).unwrap();
        assert_ne!(a, b);
        assert!(matches!(create(&arena, 400), Err(ChannelError::Full { .. })));
        // Two channels do not mix.
        a.send(&arena, b"to a", &never).unwrap();
        b.send(&arena, b"to b", &never).unwrap();
        let now = || 0.0;
        assert_eq!(b.receive(&arena, Some(0.0), &now, &never).unwrap(), b"to b");
        assert_eq!(a.receive(&arena, Some(0.0), &now, &never).unwrap(), b"to a");
    }
}
