#!/bin/bash
# The VM natively at opt-level 3 against CPython, same minute (docs/python-vm.md §8.5): runs
# py_cpu.py and fib.py on each, alternately, N times (default 5), and prints the least of
# each program's own best round and the ratios (CPython / VM: above 1, the VM is faster).
# Build first: cargo build --profile native-bench --example py
#   N=8 tools/perf/bench_native.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-5}
BIN=${BIN:-$root/target/native-bench/examples/py}
cd "$root"
declare -A best
for ((r = 0; r < N; r++)); do
  for k in vm_cpu py_cpu vm_fib py_fib; do
    case $k in
      vm_cpu) out=$("$BIN" tests/bench/py_cpu.py 2>/dev/null) ;;
      py_cpu) out=$(python3 tests/bench/py_cpu.py) ;;
      vm_fib) out=$("$BIN" tools/perf/fib.py 2>/dev/null) ;;
      py_fib) out=$(python3 tools/perf/fib.py) ;;
    esac
    ms=$(echo "$out" | awk '{print $4}')
    if [ -z "${best[$k]:-}" ] || awk "BEGIN{exit !($ms < ${best[$k]})}"; then best[$k]=$ms; fi
  done
done
printf "py_cpu: VM %.1f CPython %.1f ratio %.2f | fib: VM %.1f CPython %.1f ratio %.2f | load %s\n" \
  "${best[vm_cpu]}" "${best[py_cpu]}" "$(awk "BEGIN{print ${best[py_cpu]}/${best[vm_cpu]}}")" \
  "${best[vm_fib]}" "${best[py_fib]}" "$(awk "BEGIN{print ${best[py_fib]}/${best[vm_fib]}}")" \
  "$(cut -d' ' -f1 /proc/loadavg)"
