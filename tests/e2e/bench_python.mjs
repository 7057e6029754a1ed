// The `py` section of `cargo xtask bench` (issue 14): one CPU-bound Python program,
// tests/bench/py_cpu.py, run unchanged by CPython natively, by Pyodide (CPython 3.14
// compiled to WebAssembly, the npm package `pyodide`) in this Chromium, and by ThreadLab's
// VM in this Chromium (`threadlab.python`). The program times itself (best of its rounds,
// with time.perf_counter) and prints `result R best_ms T`, so that each side measures the
// same thing: the function's run, not start-up. Ratios are taken within this one run.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE_URL } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const PY_CPU = readFileSync(join(here, "../bench/py_cpu.py"), "utf8");

/** `{result, best_ms}` from the program's last line, or an Error saying what came instead. */
export function parseBest(stdout) {
  const m = /result (\d+) best_ms ([0-9.e+-]+)\s*$/.exec(stdout);
  if (!m) throw new Error(`py_cpu.py printed no "result R best_ms T" line: ${JSON.stringify(stdout.slice(-300))}`);
  return { result: Number(m[1]), best_ms: Number(m[2]) };
}

function cpython() {
  const out = execFileSync("python3", ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).trim();
  return { version: out, ...parseBest(execFileSync("python3", ["-"], { input: PY_CPU, encoding: "utf8" })) };
}

const TYPES = { mjs: "text/javascript", js: "text/javascript", wasm: "application/wasm", zip: "application/zip", json: "application/json" };

/** Pyodide in a page of its own on the lab's origin (cross-origin isolated like the lab). */
async function pyodide(context) {
  const dir = dirname(createRequire(import.meta.url).resolve("pyodide/package.json"));
  const prefix = new URL("__pyodide/", BASE_URL).href;
  await context.route(`${prefix}**`, (route) => {
    const name = new URL(route.request().url()).pathname.split("/").pop();
    if (name === "bench.html") return route.fulfill({ contentType: "text/html", body: "<!doctype html><title>pyodide</title>" });
    const type = TYPES[name.split(".").pop()] ?? "application/octet-stream";
    return route.fulfill({ contentType: type, body: readFileSync(join(dir, name)) });
  });
  const page = await context.newPage();
  await page.goto(`${prefix}bench.html`);
  const out = await page.evaluate(async ({ prefix, source }) => {
    const { loadPyodide } = await import(`${prefix}pyodide.mjs`);
    const py = await loadPyodide({ indexURL: prefix });
    let text = "";
    py.setStdout({ batched: (s) => (text += s + "\n") });
    await py.runPythonAsync(source);
    return { text, version: py.runPython("import sys; sys.version.split()[0]") };
  }, { prefix, source: PY_CPU });
  await page.close();
  return { version: out.version, ...parseBest(out.text) };
}

/** ThreadLab's VM in the lab's page, or null (with why) while `threadlab.python` is missing. */
async function threadlab(page) {
  const has = await page.evaluate(() => typeof window.threadlab?.python === "function");
  if (!has) return { missing: "window.threadlab.python is not there yet" };
  const r = await page.evaluate((source) => window.threadlab.python(source, { timeout_ms: 120000 }), PY_CPU);
  if (r.error) throw new Error(`py_cpu.py in ThreadLab: ${r.error.kind}: ${r.error.message} (line ${r.error.line})`);
  return parseBest(r.stdout);
}

/** The `py` section of the report: each side's best ms and the ratios (higher: ThreadLab faster). */
export async function benchPython(context, page) {
  const cp = cpython();
  const pd = await pyodide(context);
  const tl = await threadlab(page);
  for (const [who, r] of [["Pyodide", pd], ["ThreadLab", tl]]) {
    if (r.result !== undefined && r.result !== cp.result) throw new Error(`py_cpu.py: ${who} computed ${r.result}, CPython ${cp.result}`);
  }
  return {
    cpu_program: "tests/bench/py_cpu.py",
    cpython_version: cp.version,
    cpython_best_ms: cp.best_ms,
    pyodide_version: pd.version,
    pyodide_best_ms: pd.best_ms,
    vm_best_ms: tl.best_ms ?? null,
    vm_note: tl.missing ?? null,
    vm_vs_cpython: tl.best_ms ? cp.best_ms / tl.best_ms : null,
    vm_vs_pyodide: tl.best_ms ? pd.best_ms / tl.best_ms : null,
    pyodide_vs_cpython: cp.best_ms / pd.best_ms,
  };
}

const PY_PARALLEL = readFileSync(join(here, "../bench/py_parallel.py"), "utf8");
const withMode = (mode) => PY_PARALLEL.replace(/^MODE = "seq"$/m, `MODE = "${mode}"`);

/** `ms` from py_parallel.py's line, or an Error saying what came instead. */
function parseParallel(stdout, mode) {
  const m = /mode (\w+) same True ms ([0-9.e+-]+)\s*$/.exec(stdout);
  if (!m || m[1] !== mode) throw new Error(`py_parallel.py (${mode}) printed no "mode ${mode} same True ms T" line: ${JSON.stringify(stdout.slice(-300))}`);
  return Number(m[2]);
}

/**
 * py.threads_gil_ratio (two threads over one after the other: ~1, as CPython, since the GIL
 * lets one run at a time) and py.processes_efficiency (T_seq / (T_pool × 2)), ThreadLab's
 * VM in Chromium and CPython natively, each the best of `rounds`, the modes taken in turn.
 * Free-threaded (`{gil: false}`, ThreadLab only: no python3.14t here):
 * py.threads_nogil_efficiency (T_seq / (T_threads × 2), 1 = two cores' worth) and
 * py.nogil_single_thread_cost (the same program in turn, free-threaded over with the GIL, - 1).
 */
export async function benchPythonParallel(page, rounds) {
  const best = { seq: Infinity, threads: Infinity, processes: Infinity, nogil_seq: Infinity, nogil_threads: Infinity };
  const cpython = { seq: Infinity, threads: Infinity, processes: Infinity };
  for (let round = 0; round < rounds; round++) {
    for (const mode of Object.keys(best)) {
      const gil = !mode.startsWith("nogil_");
      const base = mode.replace("nogil_", "");
      const r = await page.evaluate(([s, gil]) => window.threadlab.python(s, { timeout_ms: 120000, gil }), [withMode(base), gil]);
      if (r.error) throw new Error(`py_parallel.py (${mode}) in ThreadLab: ${r.error.kind}: ${r.error.message} (line ${r.error.line})`);
      best[mode] = Math.min(best[mode], parseParallel(r.stdout, base));
      if (gil) cpython[mode] = Math.min(cpython[mode], parseParallel(execFileSync("python3", ["-"], { input: withMode(mode), encoding: "utf8" }), mode));
    }
  }
  return {
    parallel_program: "tests/bench/py_parallel.py",
    parallel_ms: best,
    parallel_cpython_ms: cpython,
    threads_gil_ratio: best.threads / best.seq,
    processes_efficiency: best.seq / (best.processes * 2),
    threads_nogil_efficiency: best.nogil_seq / (best.nogil_threads * 2),
    nogil_single_thread_cost: best.nogil_seq / best.seq - 1,
    cpython_threads_gil_ratio: cpython.threads / cpython.seq,
    cpython_processes_efficiency: cpython.seq / (cpython.processes * 2),
  };
}
