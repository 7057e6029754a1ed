import time
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
best = None
for _ in range(3):
    t = time.perf_counter()
    r = fib(27)
    ms = (time.perf_counter() - t) * 1000
    if best is None or ms < best:
        best = ms
print("result", r, "best_ms", best)
