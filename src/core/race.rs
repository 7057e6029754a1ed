//! Why CPython has a GIL, run for real: N threads each do K incref/decref pairs on one
//! shared reference count.
//!
//! - `Plain`: a load then a store (two separate atomic operations, so no data race in
//!   Rust's sense) — the shape of a non-atomic `ob_refcnt++`: updates get lost;
//! - `Gil`: the same plain updates, but only while holding a GIL: always right;
//! - `Atomic`: read-modify-write (`fetch_add`), what free-threaded CPython must pay
//!   for on shared objects (PEP 703's biased reference counting avoids it for the
//!   owner thread).

use crate::core::gil::Gil;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    Plain,
    Gil,
    Atomic,
}

impl Variant {
    #[must_use]
    pub fn from_key(s: &str) -> Option<Variant> {
        match s {
            "plain" => Some(Variant::Plain),
            "gil" => Some(Variant::Gil),
            "atomic" => Some(Variant::Atomic),
            _ => None,
        }
    }
}

pub const MAX_THREADS: u32 = 16;
pub const MAX_PAIRS: u32 = 10_000_000;

/// A checked request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceConfig {
    pub threads: u32,
    pub pairs: u32,
    pub variant: Variant,
}

/// Checks a race request from the page or the API.
///
/// # Errors
/// One message per bad field, worded like the run config's.
pub fn validate(
    threads: &crate::core::config::RawValue,
    pairs: &crate::core::config::RawValue,
    variant: &crate::core::config::RawValue,
) -> Result<RaceConfig, Vec<crate::core::config::FieldError>> {
    use crate::core::config::{whole_number, FieldError, RawValue};
    let mut errors = Vec::new();
    let threads = whole_number("threads", "Threads", threads, 1, MAX_THREADS, "").map_err(|e| errors.push(e)).ok();
    let pairs = whole_number("pairs", "Pairs", pairs, 1, MAX_PAIRS, "").map_err(|e| errors.push(e)).ok();
    let variant = match variant {
        RawValue::Text(s) => Variant::from_key(s.trim()),
        _ => None,
    };
    if variant.is_none() {
        errors.push(FieldError {
            field: "variant",
            message: "variant must be one of \"plain\", \"gil\", \"atomic\".".into(),
        });
    }
    match (threads, pairs, variant) {
        (Some(threads), Some(pairs), Some(variant)) if errors.is_empty() => Ok(RaceConfig { threads, pairs, variant }),
        _ => Err(errors),
    }
}

/// What the run left behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaceResult {
    pub threads: u32,
    pub pairs: u32,
    pub variant: Variant,
    /// The count at the end; the object began with one owner reference.
    pub final_count: i64,
    pub expected_count: i64,
    /// |final − expected|: increments and decrements that vanished (net).
    pub lost_updates: i64,
    /// The count touched zero while the owner still held it: CPython would have freed it.
    pub freed_while_referenced: bool,
    /// The count ended above what it should: the object would never be freed.
    pub leaked: bool,
    pub ns_per_op: f64,
    pub elapsed_ms: f64,
}

/// The shared state of one race: the count, the lock, and whether zero was seen.
pub struct Shared {
    pub count: AtomicI64,
    pub gil: Gil,
    pub hit_zero: AtomicBool,
    /// A start line: threads begin together, so that they really overlap.
    arrived: AtomicU32,
    threads: u32,
}

impl Shared {
    #[must_use]
    pub fn new(threads: u32) -> Shared {
        Shared {
            count: AtomicI64::new(1),
            gil: Gil::new(5.0),
            hit_zero: AtomicBool::new(false),
            arrived: AtomicU32::new(0),
            threads,
        }
    }

    /// Waits (spinning, briefly) until every thread has arrived.
    fn start_together(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u64;
        while self.arrived.load(Ordering::SeqCst) < self.threads && spins < 500_000_000 {
            std::hint::spin_loop();
            spins += 1;
        }
    }
}

/// One thread's part: `pairs` incref/decref pairs in the given way.
pub fn hammer(shared: &Shared, me: u32, pairs: u32, variant: Variant) {
    shared.start_together();
    let c = &shared.count;
    let mut saw_zero = false;
    match variant {
        Variant::Plain => {
            for _ in 0..pairs {
                let v = c.load(Ordering::Relaxed);
                c.store(v + 1, Ordering::Relaxed);
                let v = c.load(Ordering::Relaxed) - 1;
                c.store(v, Ordering::Relaxed);
                saw_zero |= v <= 0;
            }
        }
        Variant::Gil => {
            shared.gil.acquire(me);
            for i in 0..pairs {
                // Give the GIL up when asked, as the interpreter does between bytecodes.
                if i % 1024 == 0 && shared.gil.drop_requested() {
                    shared.gil.release(me, true);
                    shared.gil.acquire(me);
                }
                let v = c.load(Ordering::Relaxed);
                c.store(v + 1, Ordering::Relaxed);
                let v = c.load(Ordering::Relaxed) - 1;
                c.store(v, Ordering::Relaxed);
                saw_zero |= v <= 0;
            }
            shared.gil.release(me, false);
        }
        Variant::Atomic => {
            for _ in 0..pairs {
                c.fetch_add(1, Ordering::Relaxed);
                saw_zero |= c.fetch_sub(1, Ordering::Relaxed) - 1 <= 0;
            }
        }
    }
    if saw_zero {
        shared.hit_zero.store(true, Ordering::Relaxed);
    }
}

/// Sums up a finished race.
#[must_use]
pub fn result(config: RaceConfig, shared: &Shared, elapsed_ms: f64) -> RaceResult {
    let final_count = shared.count.load(Ordering::SeqCst);
    let ops = f64::from(config.threads) * f64::from(config.pairs) * 2.0;
    RaceResult {
        threads: config.threads,
        pairs: config.pairs,
        variant: config.variant,
        final_count,
        expected_count: 1,
        lost_updates: (final_count - 1).abs(),
        freed_while_referenced: shared.hit_zero.load(Ordering::SeqCst) || final_count < 1,
        leaked: final_count > 1,
        ns_per_op: if ops > 0.0 { elapsed_ms * 1e6 / ops } else { 0.0 },
        elapsed_ms,
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // Native only, like every test here: clippy.toml's wasm rules do not apply.
mod tests {
    use super::*;

    fn race(variant: Variant, threads: u32, pairs: u32) -> RaceResult {
        let shared = Shared::new(threads);
        let began = std::time::Instant::now();
        std::thread::scope(|s| {
            for me in 0..threads {
                let shared = &shared;
                s.spawn(move || hammer(shared, me, pairs, variant));
            }
        });
        result(RaceConfig { threads, pairs, variant }, &shared, began.elapsed().as_secs_f64() * 1e3)
    }

    #[test]
    fn the_gil_and_atomics_keep_the_count_right() {
        for variant in [Variant::Gil, Variant::Atomic] {
            let r = race(variant, 4, 200_000);
            assert_eq!(
                (r.final_count, r.lost_updates, r.freed_while_referenced, r.leaked),
                (1, 0, false, false),
                "{variant:?}"
            );
        }
    }

    #[test]
    fn race_requests_are_checked() {
        use crate::core::config::RawValue::{Number, Text};
        let ok = validate(&Number(2.0), &Number(1000.0), &Text("plain".into())).unwrap();
        assert_eq!(ok, RaceConfig { threads: 2, pairs: 1000, variant: Variant::Plain });
        let errors = validate(&Number(0.0), &Number(1e9), &Text("lock".into())).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["threads", "pairs", "variant"]);
    }

    #[test]
    fn one_plain_thread_is_right_too() {
        // Lost updates need two threads at once: alone, plain updates are fine.
        let r = race(Variant::Plain, 1, 100_000);
        assert_eq!(r.final_count, 1);
        assert!(r.ns_per_op > 0.0);
    }
}
