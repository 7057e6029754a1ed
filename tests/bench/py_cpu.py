# The CPU-bound Python function of `cargo xtask bench` (keys py.vm_vs_cpython and
# py.vm_vs_pyodide): the same source runs in CPython 3.11 natively, in Pyodide and in
# ThreadLab's VM in Chromium, and prints its own best time. Loops, calls, integer
# arithmetic, comparisons and a list: what a course's CPU-bound cell does.
import time

N = 50000
ROUNDS = 5


def is_prime(k):
    d = 2
    while d * d <= k:
        if k % d == 0:
            return False
        d += 1
    return True


def cpu_work(n):
    primes = []
    for k in range(2, n):
        if is_prime(k):
            primes.append(k)
    return len(primes)


best = None
for _ in range(ROUNDS):
    began = time.perf_counter()
    result = cpu_work(N)
    ms = (time.perf_counter() - began) * 1000
    if best is None or ms < best:
        best = ms
print("result", result, "best_ms", best)
