//! Running one task, the same way in every engine, as a "Python thread" would.

use crate::core::config::{BadKind, Workload};
use crate::core::gil::{Gil, Segment, SegmentState};
use crate::core::kernel;
use crate::core::protocol::{TaskOutcome, TaskSpec};

/// Kernel steps between two looks at the GIL's drop request: about 25 µs of work, the
/// stand-in for CPython's check of its eval breaker between bytecodes.
pub const SLICE_STEPS: u64 = 1 << 14;

/// Records a thread's states as it goes, merging repeats.
struct Recorder<'a> {
    now: &'a dyn Fn() -> f64,
    current: Option<(SegmentState, f64)>,
    segments: Vec<Segment>,
    /// State changes after the cap, not recorded.
    dropped: u32,
}

/// At most this many segments are recorded per task: a 10 s task at a 0.1 ms switch
/// interval would otherwise record some 10⁵ of them, too many to send and draw.
pub const MAX_SEGMENTS: usize = 2_000;

impl Recorder<'_> {
    fn enter(&mut self, state: SegmentState) {
        if self.segments.len() >= MAX_SEGMENTS {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let at = (self.now)();
        if let Some((previous, start)) = self.current.replace((state, at)) {
            if previous == state {
                self.current = Some((previous, start));
                return;
            }
            self.segments.push(Segment { state: previous, start_ms: start, end_ms: at });
        }
    }

    fn finish(mut self) -> (Vec<Segment>, u32) {
        if let Some((state, start)) = self.current.take() {
            if self.segments.len() < MAX_SEGMENTS {
                self.segments.push(Segment { state, start_ms: start, end_ms: (self.now)() });
            }
        }
        (self.segments, self.dropped)
    }
}

/// A blocking wait as `time.sleep` does it: the GIL is released for the wait and taken
/// back afterwards. A wait that would run past `deadline` waits only until then and returns
/// `false` (the GIL not taken back: the task is being stopped).
fn sleep(rec: &mut Recorder<'_>, gil: Option<GilSeat<'_>>, wait_ms: &impl Fn(u32), ms: u32, deadline: f64) -> bool {
    rec.enter(SegmentState::Io);
    if let Some(seat) = gil {
        seat.gil.release(seat.me, false);
    }
    if deadline.is_finite() {
        let left = deadline - (rec.now)();
        if f64::from(ms) > left {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            wait_ms(left.max(0.0).ceil() as u32);
            return false;
        }
    }
    wait_ms(ms);
    match gil {
        Some(seat) => seat.take(rec),
        None => rec.enter(SegmentState::Running),
    }
    true
}

/// The GIL of the process the task runs in, and who is asking.
#[derive(Clone, Copy)]
pub struct GilSeat<'a> {
    pub gil: &'a Gil,
    pub me: u32,
}

impl GilSeat<'_> {
    /// Takes the GIL, recording a wait only if there was one.
    fn take(&self, rec: &mut Recorder<'_>) {
        if !self.gil.try_acquire(self.me) {
            rec.enter(SegmentState::GilWait);
            self.gil.acquire(self.me);
        }
        rec.enter(SegmentState::Running);
    }
}

/// Runs `spec` like a Python thread: holding `gil` (if any) to run, releasing it around
/// I/O and when another thread asks for it. `wait_ms` performs the I/O wait: a real
/// blocking sleep in workers, a spin on the page's main thread (where blocking is
/// forbidden). `now` is the shared clock, for the segments.
pub fn execute(spec: &TaskSpec, gil: Option<GilSeat<'_>>, now: &dyn Fn() -> f64, wait_ms: impl Fn(u32)) -> TaskOutcome {
    execute_until(spec, gil, now, wait_ms, f64::INFINITY).unwrap_or_else(|stopped| stopped)
}

/// CPU slices between two looks at the clock when a task has a deadline: about 0.1 ms of
/// work, so a task is stopped within that of its timeout without reading the clock
/// (a call out to JavaScript on the page) every 25 µs.
const SLICES_PER_CLOCK_LOOK: u32 = 4;

/// Runs `spec` as [`execute`] does, but stops it at `deadline` (on the `now` clock), as the
/// page stops a task past its timeout when it cannot terminate a worker: on its own thread.
///
/// # Errors
/// `Err` when the task was stopped at the deadline, with the segments recorded until then
/// (and no result).
///
/// # Panics
/// When `spec` is a bad task of kind [`BadKind::Panic`]: on purpose, halfway.
pub fn execute_until(
    spec: &TaskSpec,
    gil: Option<GilSeat<'_>>,
    now: &dyn Fn() -> f64,
    wait_ms: impl Fn(u32),
    deadline: f64,
) -> Result<TaskOutcome, TaskOutcome> {
    // A bad task does half its work, then fails (see `fail`).
    let half = |n: u32| if spec.bad.is_some() { n / 2 } else { n };
    let mut rec = Recorder { now, current: None, segments: Vec::new(), dropped: 0 };
    // Stopped at the deadline: what ran so far, no result; `holding` says whether the GIL is held.
    let stopped = |rec: Recorder<'_>, holding: bool| {
        let (segments, segments_dropped) = rec.finish();
        if let Some(seat) = gil.filter(|_| holding) {
            seat.gil.release(seat.me, false);
        }
        Err(TaskOutcome { result: None, checked: None, segments, segments_dropped })
    };
    match gil {
        Some(seat) => seat.take(&mut rec),
        None => rec.enter(SegmentState::Running),
    }
    let (result, checked) = match spec.workload {
        Workload::Io => {
            if !sleep(&mut rec, gil, &wait_ms, half(spec.duration_ms), deadline) {
                return stopped(rec, false);
            }
            (None, None)
        }
        Workload::Cpu => {
            let mut x = kernel::seed(spec.id);
            let mut left = u64::from(half(spec.units)) * kernel::STEPS_PER_UNIT;
            let mut slices = 0u32;
            while left > 0 {
                if let Some(seat) = gil.filter(|s| s.gil.drop_requested()) {
                    // Stamp first: a segment must end before another thread can run.
                    rec.enter(SegmentState::GilWait);
                    seat.gil.release(seat.me, true);
                    seat.gil.acquire(seat.me);
                    rec.enter(SegmentState::Running);
                }
                if deadline.is_finite() {
                    slices = (slices + 1) % SLICES_PER_CLOCK_LOOK;
                    if slices == 0 && now() >= deadline {
                        return stopped(rec, true);
                    }
                }
                let n = left.min(SLICE_STEPS);
                x = kernel::run_steps(x, n);
                left -= n;
            }
            (Some(format!("{x:016x}")), Some(x == kernel::expected(spec.id, spec.units)))
        }
    };
    // What a bad task does halfway: panic (which aborts its whole wasm instance, since
    // wasm has `panic = abort`), or never return — like `while True: time.sleep(0.1)`,
    // which lets the other threads have the GIL.
    match spec.bad {
        Some(BadKind::Panic) => panic!("task {} failed halfway (a bad task, on purpose)", spec.id),
        Some(BadKind::Hang) => loop {
            if !sleep(&mut rec, gil, &wait_ms, 100, deadline) {
                return stopped(rec, false);
            }
        },
        None => {}
    }
    let (segments, segments_dropped) = rec.finish();
    if let Some(seat) = gil {
        seat.gil.release(seat.me, false);
    }
    Ok(TaskOutcome { result, checked, segments, segments_dropped })
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Native only, like every test here: clippy.toml's wasm rules do not apply.
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    fn fake_clock() -> impl Fn() -> f64 {
        let t = Cell::new(0.0);
        move || {
            t.set(t.get() + 1.0);
            t.get()
        }
    }

    #[test]
    fn io_tasks_wait_outside_the_gil_and_queue_for_it_afterwards() {
        let gil = Gil::default();
        let waited = Cell::new(0);
        let spec = TaskSpec { id: 0, workload: Workload::Io, duration_ms: 30, units: 0, bad: None };
        std::thread::scope(|scope| {
            let out = execute(&spec, Some(GilSeat { gil: &gil, me: 0 }), &fake_clock(), |ms| {
                waited.set(ms);
                // During the wait another thread takes the GIL and keeps it a while.
                let (tx, rx) = std::sync::mpsc::channel();
                let gil = &gil;
                scope.spawn(move || {
                    gil.acquire(1);
                    tx.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    gil.release(1, false);
                });
                rx.recv().unwrap();
            });
            assert_eq!(waited.get(), 30);
            assert_eq!(out.checked, None);
            let states: Vec<_> = out.segments.iter().map(|s| s.state).collect();
            assert_eq!(states, [SegmentState::Running, SegmentState::Io, SegmentState::GilWait, SegmentState::Running]);
            assert!(out.segments.windows(2).all(|w| w[0].end_ms == w[1].start_ms), "segments tile the task");
        });
        assert_eq!(gil.handovers(), 2, "0 → 1 during the wait, 1 → 0 after it");
    }

    #[test]
    fn segments_stop_at_the_cap_and_say_how_many_were_dropped() {
        let mut rec = Recorder { now: &|| 1.0, current: None, segments: Vec::new(), dropped: 0 };
        // The first change opens a segment; each later one closes one: MAX + 1 fill the cap.
        for i in 0..(MAX_SEGMENTS + 1 + 500) {
            rec.enter(if i % 2 == 0 { SegmentState::Running } else { SegmentState::GilWait });
        }
        let (segments, dropped) = rec.finish();
        assert_eq!(segments.len(), MAX_SEGMENTS);
        assert_eq!(dropped, 500);
    }

    #[test]
    fn a_bad_task_panics_halfway_or_never_returns() {
        let spec = TaskSpec { id: 3, workload: Workload::Io, duration_ms: 40, units: 0, bad: Some(BadKind::Panic) };
        let waited = Cell::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            execute(&spec, None, &fake_clock(), |ms| waited.set(waited.get() + ms))
        }));
        let message = *outcome.unwrap_err().downcast::<String>().unwrap();
        assert_eq!(message, "task 3 failed halfway (a bad task, on purpose)");
        assert_eq!(waited.get(), 20, "half its work first");
        // A hanging task waits forever: the test's wait gives up after 50 rounds.
        let spec = TaskSpec { bad: Some(BadKind::Hang), ..spec };
        let rounds = Cell::new(0);
        let hung = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            execute(&spec, None, &fake_clock(), |_| {
                rounds.set(rounds.get() + 1);
                assert!(rounds.get() < 50, "still waiting");
            })
        }));
        assert!(hung.is_err());
        assert_eq!(rounds.get(), 50);
    }

    /// A clock that moves only when the task waits, as a spin on the page's thread does.
    fn waited_clock() -> (Rc<Cell<f64>>, impl Fn() -> f64, impl Fn(u32)) {
        let t = Rc::new(Cell::new(0.0));
        let (a, b) = (t.clone(), t.clone());
        (t, move || a.get(), move |ms| b.set(b.get() + f64::from(ms)))
    }

    #[test]
    fn a_deadline_stops_an_io_wait_at_the_deadline_and_not_before() {
        let spec = TaskSpec { id: 0, workload: Workload::Io, duration_ms: 2000, units: 0, bad: None };
        let (t, now, wait) = waited_clock();
        let stopped = execute_until(&spec, None, &now, wait, 500.0).unwrap_err();
        assert_eq!(t.get(), 500.0, "waited until the deadline, not the whole 2 s");
        assert_eq!((stopped.result, stopped.checked), (None, None));
        let states: Vec<_> = stopped.segments.iter().map(|s| (s.state, s.start_ms, s.end_ms)).collect();
        assert_eq!(states, [(SegmentState::Running, 0.0, 0.0), (SegmentState::Io, 0.0, 500.0)]);
        // A wait that ends by the deadline is a task that finished.
        let (t, now, wait) = waited_clock();
        let spec = TaskSpec { duration_ms: 500, ..spec };
        assert!(execute_until(&spec, None, &now, wait, 500.0).is_ok());
        assert_eq!(t.get(), 500.0);
    }

    #[test]
    fn a_deadline_stops_cpu_work_between_slices_and_a_hang_at_the_deadline() {
        // One unit is 64 slices; the clock moves 1 ms at each look, every few slices.
        let spec = TaskSpec { id: 1, workload: Workload::Cpu, duration_ms: 0, units: 1, bad: None };
        let looks = Cell::new(0);
        let now = || {
            looks.set(looks.get() + 1);
            f64::from(looks.get())
        };
        let stopped = execute_until(&spec, None, &now, |_| (), 6.0).unwrap_err();
        assert_eq!((stopped.result, stopped.checked), (None, None));
        assert!(looks.get() < 10, "stopped soon after the deadline: {} looks", looks.get());
        // Without a deadline the same task never looks at the clock between slices.
        looks.set(0);
        assert_eq!(execute(&spec, None, &now, |_| ()).checked, Some(true));
        assert_eq!(looks.get(), 2, "the start and the end of its one segment");
        // A task that never returns is stopped at the deadline too, on the page's thread.
        let spec = TaskSpec { workload: Workload::Io, duration_ms: 40, bad: Some(BadKind::Hang), ..spec };
        let (t, now, wait) = waited_clock();
        assert!(execute_until(&spec, None, &now, wait, 1000.0).is_err());
        assert_eq!(t.get(), 1000.0);
    }

    #[test]
    fn cpu_tasks_in_slices_give_the_checked_answer() {
        let spec = TaskSpec { id: 4, workload: Workload::Cpu, duration_ms: 0, units: 1, bad: None };
        let gil = Gil::default();
        let out =
            execute(&spec, Some(GilSeat { gil: &gil, me: 0 }), &fake_clock(), |_| panic!("CPU tasks do not wait"));
        assert_eq!(out.checked, Some(true));
        assert_eq!(out.result.unwrap(), format!("{:016x}", kernel::expected(4, 1)));
        let free = execute(&spec, None, &fake_clock(), |_| ());
        assert_eq!(free.segments.len(), 1);
        assert_eq!(free.segments[0].state, SegmentState::Running);
    }
}
