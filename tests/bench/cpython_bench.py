#!/usr/bin/env python3
"""ThreadLab's experiments in real CPython, for `cargo xtask bench`.

Runs the notebook's experiments (sequential vs `threading` vs `multiprocessing`,
on I/O-bound and CPU-bound work) in this interpreter on this machine, and prints
ONE JSON object on stdout with wall times and the ratios taken within this run,
so that they can be set side by side with ThreadLab's browser figures
(tests/e2e/bench.mjs). Progress goes to stderr.

    python3 tests/bench/cpython_bench.py            # d = 3 s, ~0.5 s CPU tasks
    python3 tests/bench/cpython_bench.py --quick    # d = 0.3 s, ~0.15 s CPU tasks

Self-contained: standard library only, Python 3.11+. If multiprocessing is not
available the process figures are null and "notes" says why; the script exits
non-zero only if the benchmark itself breaks (e.g. a CPU result fails its check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import sys
import sysconfig
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# CPU rounds, each keeping its fastest: as many as a full run of the browser side
# (tests/e2e/bench.mjs; its --quick takes 2, this side's CPU work is short enough to keep 5).
# The 2-core VMs here drift by tens of per cent over seconds (one single-threaded call of
# the kernel took 510-715 ms in one minute and 706-970 ms the next), and each round
# costs only a few seconds.
CPU_ROUNDS = 5

# Generous limit for anything we wait on in a child process, so that a stuck
# worker becomes a note instead of a hung benchmark.
WAIT_TIMEOUT_S = 120.0


def log(message: str) -> None:
    """Human progress, on stderr (stdout carries only the JSON)."""
    print(f"[cpython-bench] {message}", file=sys.stderr, flush=True)


def ms_since(began: float) -> float:
    """Milliseconds elapsed since `began` (a time.perf_counter() reading)."""
    return (time.perf_counter() - began) * 1000.0


# ---------------------------------------------------------------------------
# The CPU kernel: a port of src/core/kernel.rs.
#
# A 64-bit linear congruential generator, x <- A*x + C (mod 2**64), with Knuth's
# MMIX constants. Each step depends on the previous one, so the work cannot be
# skipped; the answer has a closed form (`jump`), so every result is checked.
# ---------------------------------------------------------------------------

A = 6_364_136_223_846_793_005
C = 1_442_695_040_888_963_407
MASK = (1 << 64) - 1  # `& MASK` is `% 2**64`, i.e. Rust's wrapping arithmetic


def seed(task_id: int) -> int:
    """Starting value of task `task_id` (SplitMix64's finaliser, as kernel.rs)."""
    z = (task_id + 0x9E37_79B9_7F4A_7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & MASK
    return z ^ (z >> 31)


def run_steps(x: int, steps: int) -> int:
    """Run `steps` steps of the generator from `x`: the actual CPU work."""
    a, c, mask = A, C, MASK  # locals are the fastest names in CPython
    for _ in range(steps):
        x = (x * a + c) & mask
    return x


def jump(x: int, steps: int) -> int:
    """Where the generator is after `steps` steps from `x`, in O(log steps)."""
    acc_a, acc_c = 1, 0
    cur_a, cur_c = A, C
    while steps > 0:
        if steps & 1:
            acc_a = (acc_a * cur_a) & MASK
            acc_c = (acc_c * cur_a + cur_c) & MASK
        cur_c = (cur_c * cur_a + cur_c) & MASK
        cur_a = (cur_a * cur_a) & MASK
        steps >>= 1
    return (acc_a * x + acc_c) & MASK


def cpu_task(task_id: int, iterations: int) -> int:
    """One CPU-bound task: `iterations` steps from the task's own seed."""
    return run_steps(seed(task_id), iterations)


def cpu_task_args(args: tuple[int, int]) -> int:
    """`cpu_task` taking one tuple, for Pool.map."""
    return cpu_task(*args)


def check_cpu_results(results: list[int], iterations: int, label: str) -> None:
    """Raise if any task's result differs from the closed form (the work was not done)."""
    for task_id, got in enumerate(results):
        if got != jump(seed(task_id), iterations):
            raise RuntimeError(f"{label}: CPU task {task_id} failed its check")


def self_test_kernel() -> None:
    """The kernel.rs unit tests, in miniature: stepping agrees with the closed form."""
    for steps in (0, 1, 2, 3, 7, 64, 1000, 4097):
        assert jump(42, steps) == run_steps(42, steps), steps
    assert seed(0) != seed(1)


def calibrate(target_ms: float) -> tuple[int, float]:
    """Iterations for one task to take about `target_ms` here, and ns per step.

    Doubles a short run until it takes >= 50 ms, then keeps the fastest of three
    runs at that size (the least disturbed by other load on the machine).
    """
    steps = 1 << 14
    while True:
        began = time.perf_counter()
        run_steps(seed(0), steps)
        if ms_since(began) >= 50.0:
            break
        steps *= 2
    best_ms = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        run_steps(seed(0), steps)
        best_ms = min(best_ms, ms_since(began))
    ns_per_step = best_ms * 1e6 / steps
    return max(1, round(target_ms * 1e6 / ns_per_step)), ns_per_step


# ---------------------------------------------------------------------------
# Functions run in worker processes. They live at module level so that they can
# be pickled under any start method (spawn/forkserver import this module).
# ---------------------------------------------------------------------------


def io_task(duration_s: float) -> None:
    """The notebook's simulated I/O: fetch_data() is a time.sleep()."""
    time.sleep(duration_s)


def wait_at_barrier(barrier) -> None:
    """Pool initializer: each worker checks in, so the parent knows all are up."""
    barrier.wait(WAIT_TIMEOUT_S)


def report_ready(conn) -> None:
    """A new process's first act: say it is ready, then exit."""
    conn.send("ready")
    conn.close()


def echo(conn) -> None:
    """Send back every message received, until None (the message round trip)."""
    while True:
        message = conn.recv()
        if message is None:
            break
        conn.send(message)
    conn.close()


# ---------------------------------------------------------------------------
# multiprocessing plumbing
# ---------------------------------------------------------------------------


def process_context():
    """A multiprocessing context, or (None, reason) if processes are unavailable.

    On Linux we use 'fork' (the default up to Python 3.13, and what the notebook
    would have used); elsewhere the platform default ('spawn' on macOS/Windows).
    """
    try:
        import multiprocessing

        if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
        else:
            ctx = multiprocessing.get_context()
        ctx.Lock()  # fails where the OS lacks the semaphores multiprocessing needs
        return ctx, None
    except Exception as error:  # ImportError, OSError, NotImplementedError, ...
        return None, f"multiprocessing unavailable: {type(error).__name__}: {error}"


class WarmPool:
    """A multiprocessing.Pool whose `size` workers have all started before timing.

    Why a Pool, created and warmed first: ThreadLab's "same experiment in Python"
    panel writes `multiprocessing.Pool(processes=workers)` + `pool.map`, and the
    browser benchmark starts its workers before the clock starts (worker start-up
    is reported separately, as setup). Each worker runs an initializer that waits
    at a barrier with the parent, so when __enter__ returns every worker process
    exists and is idle; the timed `map` then measures only the work itself (plus
    the small cost of handing tasks to the workers). Process start-up is measured
    on its own in the "start" section.
    """

    def __init__(self, ctx, size: int):
        self.ctx, self.size, self.pool = ctx, size, None

    def __enter__(self):
        barrier = self.ctx.Barrier(self.size + 1)
        self.pool = self.ctx.Pool(self.size, initializer=wait_at_barrier, initargs=(barrier,))
        try:
            barrier.wait(WAIT_TIMEOUT_S)  # returns once all `size` workers are up
        except BaseException:
            self.pool.terminate()  # __exit__ is not called when __enter__ fails
            self.pool.join()
            raise
        return self

    def map(self, fn, items: list) -> list:
        """pool.map with one task per worker hand-out, and a time limit."""
        return self.pool.map_async(fn, items, chunksize=1).get(WAIT_TIMEOUT_S)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.pool.close()  # let the workers finish and exit cleanly
        else:
            self.pool.terminate()
        self.pool.join()
        return False


class Notes:
    """Collects why a figure is null instead of crashing the benchmark."""

    def __init__(self):
        self.items: list[str] = []

    def attempt(self, label: str, fn):
        """Run fn(); on any error, record a note and return None."""
        try:
            return fn()
        except Exception as error:
            self.items.append(f"{label}: {type(error).__name__}: {error}")
            log(f"{label} skipped: {type(error).__name__}: {error}")
            return None


def ratio(numerator, denominator):
    """numerator / denominator, or None if either is missing."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


# ---------------------------------------------------------------------------
# The experiments
# ---------------------------------------------------------------------------


def run_sequential(fn, args_list: list) -> tuple[float, list]:
    """Run fn(*args) for each task one after another in the main thread."""
    began = time.perf_counter()
    results = [fn(*args) for args in args_list]
    return ms_since(began), results


def run_threads(fn, args_list: list) -> tuple[float, list]:
    """One threading.Thread per task, started then joined, as in the notebook.

    Thread creation is inside the timing, exactly as the notebook's code does it;
    it costs tens of microseconds (see start.thread_ms), negligible here.
    """
    results: list = [None] * len(args_list)

    def target(index, args):
        results[index] = fn(*args)

    began = time.perf_counter()
    threads = [threading.Thread(target=target, args=(i, args)) for i, args in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ms_since(began), results


def run_pool(ctx, fn, items: list) -> float:
    """Wall time of pool.map(fn, items) on a warmed pool of len(items) processes."""
    with WarmPool(ctx, len(items)) as pool:
        began = time.perf_counter()
        pool.map(fn, items)
        return ms_since(began)


def io_experiments(ctx, notes: Notes, duration_ms: int) -> dict:
    """The notebook's I/O experiment (2 tasks) and 8 overlapping sleeps."""
    d_s = duration_ms / 1000.0
    out: dict = {"duration_ms": duration_ms}

    def processes(n: int):
        """Wall of n sleeps on n warmed processes, or None (with a note) if that fails."""
        if ctx is None:
            return None
        return notes.attempt(f"io.processes_{n}", lambda: run_pool(ctx, io_task, [d_s] * n))

    log(f"I/O: 2 x sleep({d_s}) sequentially")
    out["seq_2_wall_ms"], _ = run_sequential(io_task, [(d_s,)] * 2)
    log("I/O: 2 threads")
    out["threads_2_wall_ms"], _ = run_threads(io_task, [(d_s,)] * 2)
    log("I/O: 2 processes (warmed Pool)")
    out["processes_2_wall_ms"] = processes(2)
    log("I/O: 8 threads")
    out["threads_8_wall_ms"], _ = run_threads(io_task, [(d_s,)] * 8)
    log("I/O: 8 processes (warmed Pool)")
    out["processes_8_wall_ms"] = processes(8)

    out["threads_overlap"] = ratio(out["threads_8_wall_ms"], duration_ms)
    out["processes_overlap"] = ratio(out["processes_8_wall_ms"], duration_ms)
    out["notebook_speedup_threads"] = ratio(out["seq_2_wall_ms"], out["threads_2_wall_ms"])
    out["notebook_speedup_processes"] = ratio(out["seq_2_wall_ms"], out["processes_2_wall_ms"])
    return out


def gil_status() -> tuple[bool, bool]:
    """(GIL enabled now, free-threaded build). Before 3.13 there is always a GIL."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    enabled = bool(is_enabled()) if is_enabled else True
    free_threaded_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return enabled, free_threaded_build


def cpu_experiments(ctx, notes: Notes, cores: int, task_ms_target: float, rounds: int) -> dict:
    """`cores` CPU tasks: sequential, on threads (GIL), on processes.

    The three runs are repeated `rounds` times, interleaved (seq, threads,
    processes, seq, ...), and each keeps its fastest round: the usual estimator
    of undisturbed time when other programs share the machine. Every ratio still
    comes from this one run of the script.

    Expect threads_gil_ratio near 1.0 (no speed-up: one thread at a time holds
    the GIL). It can sit a few per cent below 1.0: on the 2-core dev VM, CPython
    3.11 ran this kernel ~5 % faster in a worker thread than in the main thread,
    even one thread alone, so that is not parallelism.
    """
    gil_enabled, free_threaded_build = gil_status()
    iterations, ns_per_step = calibrate(task_ms_target)
    log(f"CPU: {cores} tasks x {iterations} steps ({ns_per_step:.1f} ns/step, ~{task_ms_target:.0f} ms each)")
    args_list = [(task_id, iterations) for task_id in range(cores)]
    ideal = min(len(args_list), cores)  # the best speed-up `cores` cores can give

    def processes() -> float:
        with WarmPool(ctx, len(args_list)) as pool:
            began = time.perf_counter()
            results = pool.map(cpu_task_args, args_list)
            wall = ms_since(began)
        check_cpu_results(results, iterations, "cpu.processes")
        return wall

    seq_runs, thread_runs, process_runs = [], [], []
    for round_no in range(1, rounds + 1):
        log(f"CPU round {round_no}/{rounds}: sequential, threads, processes (warmed Pool)")
        wall, results = run_sequential(cpu_task, args_list)
        check_cpu_results(results, iterations, "cpu.seq")
        seq_runs.append(wall)

        wall, results = run_threads(cpu_task, args_list)
        check_cpu_results(results, iterations, "cpu.threads")
        thread_runs.append(wall)

        if ctx and len(process_runs) == round_no - 1:  # stop trying after a failure
            wall = notes.attempt("cpu.processes", processes)
            if wall is not None:
                process_runs.append(wall)

    log("CPU rounds (ms): seq %s, threads %s, processes %s" % tuple(
        ", ".join(f"{ms:.0f}" for ms in runs) or "-" for runs in (seq_runs, thread_runs, process_runs)))
    seq_ms, threads_ms = min(seq_runs), min(thread_runs)
    processes_ms = min(process_runs) if process_runs else None

    out: dict = {
        "tasks": len(args_list),
        "task_ms_target": task_ms_target,
        "iterations": iterations,
        "rounds": rounds,
        "ns_per_step": ns_per_step,
        "switch_interval_ms": sys.getswitchinterval() * 1000.0,
        "seq_wall_ms": seq_ms,
        "processes_wall_ms": processes_ms,
        # Every round, and how noisy the machine was: slowest / fastest sequential round.
        "rounds_ms": {"seq": seq_runs, "threads": thread_runs, "processes": process_runs},
        "seq_spread": max(seq_runs) / seq_ms,
        "processes_efficiency": ratio(seq_ms, processes_ms * ideal if processes_ms else None),
    }
    if gil_enabled:
        # The usual CPython: the threads took turns holding the GIL.
        out["threads_gil_wall_ms"] = threads_ms
        out["threads_gil_ratio"] = threads_ms / seq_ms
        out["threads_nogil_wall_ms"] = None
        out["threads_nogil_efficiency"] = None
        if free_threaded_build:
            out["threads_nogil_note"] = (
                "null: free-threaded build, but the GIL is enabled in this run "
                "(PYTHON_GIL=1 or an extension re-enabled it); threads cannot run bytecode in parallel"
            )
        else:
            out["threads_nogil_note"] = (
                f"null: CPython {platform.python_version()} has a GIL (not a free-threaded build); "
                "only one thread runs Python bytecode at a time. Run with python3.13t to measure it"
            )
    else:
        # Free-threaded CPython (PEP 703) with the GIL off: the threads ran in parallel.
        out["threads_gil_wall_ms"] = None
        out["threads_gil_ratio"] = None
        out["threads_nogil_wall_ms"] = threads_ms
        out["threads_nogil_efficiency"] = seq_ms / (threads_ms * ideal)
        out["threads_nogil_note"] = (
            "the GIL is disabled (free-threaded build), so the threads run measured this; "
            "threads_gil_* are null (rerun with PYTHON_GIL=1 for them)"
        )
    return out


def start_experiments(ctx, notes: Notes, cores: int) -> dict:
    """How long a new process / thread / thread pool takes to be ready to work."""

    def new_process_ms() -> float:
        parent_end, child_end = ctx.Pipe()
        began = time.perf_counter()
        process = ctx.Process(target=report_ready, args=(child_end,))
        process.start()
        if not parent_end.poll(WAIT_TIMEOUT_S):
            process.terminate()
            raise TimeoutError("a new process did not report ready")
        parent_end.recv()
        elapsed = ms_since(began)
        process.join(WAIT_TIMEOUT_S)
        parent_end.close()
        child_end.close()
        return elapsed

    def new_thread_ms() -> float:
        ready = threading.Event()
        began = time.perf_counter()
        thread = threading.Thread(target=ready.set)
        thread.start()
        ready.wait()
        elapsed = ms_since(began)
        thread.join()
        return elapsed

    def thread_pool_ms() -> float:
        # Each task waits at a barrier until all `cores` tasks run at once, which
        # forces the executor to start `cores` threads (it reuses an idle thread
        # otherwise) and proves each thread has run something.
        barrier = threading.Barrier(cores, timeout=WAIT_TIMEOUT_S)
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=cores) as pool:
            futures = [pool.submit(barrier.wait) for _ in range(cores)]
            for future in futures:
                future.result()
            elapsed = ms_since(began)
        return elapsed

    log("start: new processes, a thread, a thread pool")
    out: dict = {}
    # Measured before any other process is started, so "first" is this run's first.
    out["process_ms_first"] = notes.attempt("start.process_ms_first", new_process_ms) if ctx else None
    out["process_ms_next"] = notes.attempt("start.process_ms_next", new_process_ms) if ctx else None
    # A single thread start takes microseconds and is noisy: report the median of 25.
    out["thread_ms"] = statistics.median(new_thread_ms() for _ in range(25))
    out["thread_pool_ms"] = thread_pool_ms()
    out["thread_pool_threads"] = cores
    return out


def message_experiments(ctx, notes: Notes, trips: int, warmup: int) -> dict:
    """Median round trip of a small message: to a process (Pipe), to a thread (Queue)."""
    message = {"kind": "ping", "task": 1, "value": 12345}

    def median_trip_us(send, recv) -> float:
        for _ in range(warmup):
            send(message)
            recv()
        times = []
        for _ in range(trips):
            began = time.perf_counter()
            send(message)
            recv()
            times.append((time.perf_counter() - began) * 1e6)
        return statistics.median(times)

    def process_roundtrip() -> float:
        parent_end, child_end = ctx.Pipe()
        worker = ctx.Process(target=echo, args=(child_end,))
        worker.start()
        try:
            def recv():
                if not parent_end.poll(WAIT_TIMEOUT_S):
                    raise TimeoutError("the echo process did not answer")
                return parent_end.recv()

            return median_trip_us(parent_end.send, recv)
        finally:
            parent_end.send(None)
            worker.join(WAIT_TIMEOUT_S)
            if worker.is_alive():
                worker.terminate()

    def thread_roundtrip() -> float:
        to_thread: queue.Queue = queue.Queue()
        from_thread: queue.Queue = queue.Queue()

        def echo_thread():
            while (item := to_thread.get()) is not None:
                from_thread.put(item)

        worker = threading.Thread(target=echo_thread)
        worker.start()
        try:
            return median_trip_us(to_thread.put, lambda: from_thread.get(timeout=WAIT_TIMEOUT_S))
        finally:
            to_thread.put(None)
            worker.join()

    log(f"messages: {trips} round trips to a process and to a thread")
    return {
        "trips": trips,
        "roundtrip_us": notes.attempt("msg.roundtrip_us", process_roundtrip) if ctx else None,
        "thread_roundtrip_us": thread_roundtrip(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="d = 300 ms and ~150 ms CPU tasks")
    options = parser.parse_args()
    quick: bool = options.quick

    began = time.perf_counter()
    self_test_kernel()
    cores = os.cpu_count() or 1
    gil_enabled, _ = gil_status()
    notes = Notes()
    ctx, unavailable = process_context()
    if unavailable:
        notes.items.append(unavailable)
        log(unavailable)

    # Start-up first, so that process_ms_first is really the first process.
    start = start_experiments(ctx, notes, cores)
    msg = message_experiments(ctx, notes, trips=2000, warmup=200)
    io = io_experiments(ctx, notes, duration_ms=300 if quick else 3000)
    cpu = cpu_experiments(ctx, notes, cores, task_ms_target=150.0 if quick else 500.0, rounds=CPU_ROUNDS)

    report = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cores": cores,
        "gil_enabled": gil_enabled,
        "quick": quick,
        "start_method": ctx.get_start_method() if ctx else None,
        "io": io,
        "cpu": cpu,
        "start": start,
        "msg": msg,
        "notes": notes.items,
        "total_s": (time.perf_counter() - began),
    }
    print(json.dumps(report, indent=2))
    log(f"done in {report['total_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
