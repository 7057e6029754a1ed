//! The channel arena of a program in the browser: a `SharedArrayBuffer` the page creates per
//! program and hands to every worker of it (its processes and their thread workers). Each
//! worker keeps its own view of it (a JS object belongs to one worker), so [`SabArena`] is a
//! handle to "this worker's view", usable from any thread of the process.

use crate::core::runtime::arena::Arena;
use js_sys::{Atomics, Int32Array, SharedArrayBuffer, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};

/// The arena's size: fixed, so a view made once stays valid (a `SharedArrayBuffer` cannot
/// grow); a message larger than a channel streams through it.
pub const ARENA_BYTES: u32 = 16 << 20;

/// A `multiprocessing` channel's ring: what may be in flight at once (a put past it waits for
/// a reader, where CPython's `Queue` would buffer without bound).
pub const CHANNEL_BYTES: u32 = 256 << 10;

thread_local! {
    static VIEW: RefCell<Option<(Int32Array, Uint8Array)>> = const { RefCell::new(None) };
}

/// A new arena, formatted (the page makes one per program).
#[must_use]
pub fn create() -> SharedArrayBuffer {
    let buffer = SharedArrayBuffer::new(ARENA_BYTES);
    adopt(&buffer);
    crate::core::runtime::arena::format(&SabArena);
    // The page only lays it out: its workers use it.
    adopt(&JsValue::UNDEFINED);
    buffer
}

/// Makes `buffer` this worker's arena (`undefined`, or anything else: none).
pub fn adopt(buffer: &JsValue) {
    let view = buffer.dyn_ref::<SharedArrayBuffer>().map(|b| (Int32Array::new(b), Uint8Array::new(b)));
    VIEW.with(|v| *v.borrow_mut() = view);
}

/// Whether this worker has an arena.
#[must_use]
pub fn present() -> bool {
    VIEW.with(|v| v.borrow().is_some())
}

/// This worker's view of its program's arena (see [`adopt`]); with none, reads are 0 and
/// writes go nowhere, which `format`'s magic word makes every channel operation refuse.
pub struct SabArena;

fn with<T>(default: T, f: impl FnOnce(&Int32Array, &Uint8Array) -> T) -> T {
    VIEW.with(|v| v.borrow().as_ref().map_or(default, |(words, bytes)| f(words, bytes)))
}

fn signed(value: u32) -> i32 {
    i32::from_ne_bytes(value.to_ne_bytes())
}

fn unsigned(value: i32) -> u32 {
    u32::from_ne_bytes(value.to_ne_bytes())
}

impl Arena for SabArena {
    fn load(&self, word: u32) -> u32 {
        with(0, |w, _| Atomics::load(w, word).map_or(0, unsigned))
    }

    fn store(&self, word: u32, value: u32) {
        with((), |w, _| drop(Atomics::store(w, word, signed(value))));
    }

    fn cas(&self, word: u32, expected: u32, new: u32) -> u32 {
        with(expected.wrapping_add(1), |w, _| {
            Atomics::compare_exchange(w, word, signed(expected), signed(new)).map_or(expected.wrapping_add(1), unsigned)
        })
    }

    fn add(&self, word: u32, value: u32) -> u32 {
        with(0, |w, _| Atomics::add(w, word, signed(value)).map_or(0, unsigned))
    }

    fn wait(&self, word: u32, expected: u32, timeout_ms: f64) {
        // Atomics.wait throws on the page's thread: the page never waits, it only formats,
        // stores (the kill word) and notifies.
        with((), |w, _| drop(Atomics::wait_with_timeout(w, word, signed(expected), timeout_ms.max(0.0))));
    }

    fn notify(&self, word: u32) {
        with((), |w, _| drop(Atomics::notify(w, word)));
    }

    fn read(&self, byte: u32, out: &mut [u8]) {
        let len = u32::try_from(out.len()).unwrap_or(0);
        with((), |_, b| b.subarray(byte, byte + len).copy_to(out));
    }

    fn write(&self, byte: u32, data: &[u8]) {
        let len = u32::try_from(data.len()).unwrap_or(0);
        with((), |_, b| b.subarray(byte, byte + len).copy_from(data));
    }

    fn len_bytes(&self) -> u32 {
        with(0, |w, _| w.length() * 4)
    }
}
