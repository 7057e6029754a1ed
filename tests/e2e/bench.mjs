// The benchmark behind `cargo xtask bench`: runs the experiments in headless Chromium and
// writes ratios and counts taken within this one run to $ARTIFACTS/report.json.
// Not a test: it asserts nothing and exits 0 unless the benchmark itself breaks.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, launch, openLab } from "./harness.mjs";

const quick = process.argv.includes("--quick");
const browser = await launch();
const { page, problems } = await openLab(browser);
const run = (config) => page.evaluate((c) => window.threadlab.run(c), config);
const device = await page.evaluate(() => window.threadlab.device());
const cores = device.cores;

// I/O: the notebook's experiment (2 tasks) and 8 tasks of d ms on 8 threads/processes.
const d = quick ? 300 : 3000;
const io = {};
for (const [engine, tasks] of [["main", 2], ["threads", 2], ["processes", 2], ["threads", 8], ["processes", 8]]) {
  const r = await run({ engine, workload: "io", tasks, duration_ms: d, workers: tasks });
  io[`${engine}_${tasks}_wall_ms`] = r.wall_ms;
}

// CPU: tasks = cores, each about 0.5 s (quick: 0.15 s) of the checked kernel.
const units = Math.max(1, Math.round((quick ? 150 : 500) / device.ms_per_unit));
const cpu = {};
for (const [key, engine, gil] of [["seq", "main", true], ["threads_gil", "threads", true], ["threads_nogil", "threads", false], ["processes", "processes", true]]) {
  const r = await run({ engine, gil, workload: "cpu", tasks: cores, units, workers: cores });
  if (!r.tasks.every((t) => t.checked)) throw new Error(`${key}: a CPU result failed its check`);
  cpu[`${key}_wall_ms`] = r.wall_ms;
  if (key === "threads_gil") cpu.gil_switches = r.gil_switches;
}
const ideal = Math.min(cores, cores);
const starts = await page.evaluate(() => window.threadlab.device());
await browser.close();

const report = {
  when: new Date().toISOString(),
  quick,
  cores,
  ms_per_unit: device.ms_per_unit,
  io: {
    ...io,
    duration_ms: d,
    notebook_speedup_threads: io.main_2_wall_ms / io.threads_2_wall_ms,
    notebook_speedup_processes: io.main_2_wall_ms / io.processes_2_wall_ms,
    threads_overlap: io.threads_8_wall_ms / d,
    processes_overlap: io.processes_8_wall_ms / d,
  },
  cpu: {
    ...cpu,
    tasks: cores,
    units,
    threads_gil_ratio: cpu.threads_gil_wall_ms / cpu.seq_wall_ms,
    threads_nogil_efficiency: cpu.seq_wall_ms / (cpu.threads_nogil_wall_ms * ideal),
    processes_efficiency: cpu.seq_wall_ms / (cpu.processes_wall_ms * ideal),
  },
  start: {
    thread_pool_ms: starts.thread_pool_ms,
    thread_pool_threads: starts.thread_pool_threads,
    processes_ms: starts.processes_ms,
    processes_started: starts.processes_started,
  },
  page_problems: problems,
};
writeFileSync(join(ARTIFACTS, "report.json"), JSON.stringify(report, null, 2) + "\n");

const rows = [
  ["I/O, 2 tasks: main / threads / processes (ms)", `${io.main_2_wall_ms.toFixed(0)} / ${io.threads_2_wall_ms.toFixed(0)} / ${io.processes_2_wall_ms.toFixed(0)}`],
  ["io.threads_overlap (wall / d, 8 tasks)", report.io.threads_overlap.toFixed(3)],
  ["io.processes_overlap (wall / d, 8 tasks)", report.io.processes_overlap.toFixed(3)],
  [`CPU, ${cores} tasks: seq / threads+GIL / free-threaded / processes (ms)`, [cpu.seq_wall_ms, cpu.threads_gil_wall_ms, cpu.threads_nogil_wall_ms, cpu.processes_wall_ms].map((x) => x.toFixed(0)).join(" / ")],
  ["cpu.threads_gil_ratio (T_gil / T_seq)", report.cpu.threads_gil_ratio.toFixed(3)],
  ["cpu.threads_nogil_efficiency", report.cpu.threads_nogil_efficiency.toFixed(3)],
  ["cpu.processes_efficiency", report.cpu.processes_efficiency.toFixed(3)],
  ["GIL hand-overs (threads+GIL run)", String(cpu.gil_switches)],
  [`start: pool of ${starts.thread_pool_threads} threads (ms)`, starts.thread_pool_ms?.toFixed(1)],
  [`start: ${starts.processes_started} new processes (ms)`, starts.processes_ms?.toFixed(1)],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`\nThreadLab benchmark (${cores} cores${quick ? ", quick" : ""}) -> ${join(ARTIFACTS, "report.json")}`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
