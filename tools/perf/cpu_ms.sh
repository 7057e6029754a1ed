#!/bin/bash
# CPU time (ms, perf's task-clock, the least of 3 runs) of a command: on the shared, loaded
# machine wall times swing 2-5x with the other builds, CPU time far less (python-vm.md §8).
#   tools/perf/cpu_ms.sh CMD ARGS...
best=""
for _ in 1 2 3; do
  ms=$(perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | grep task-clock | cut -d, -f1)
  ms=${ms%.*}
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
echo "$best"
