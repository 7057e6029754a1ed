// Measures ThreadLab's VM on tests/bench/py_cpu.py (and a call-heavy fib) in Chromium, for
// docs/python-vm.md §8: through the lab page (`threadlab.python`, as bench_python.mjs) of a
// site built at any opt-level (the VM is its pkg-vm/ module since §8.4). Serves the folder
// itself with the headers threads need.
//
//   node tools/perf/bench_vm_browser.mjs lab  SITE_DIR
//   node tools/perf/bench_vm_browser.mjs pyodide -   (Pyodide from tests/e2e/node_modules, the reference)
//
// Prints one JSON line per program: {mode, program, result, best_ms}.
import { createServer } from "node:http";
import { readFileSync, existsSync, statSync } from "node:fs";
import { dirname, join, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const require = createRequire(join(root, "tests/e2e/package.json"));
const { chromium } = require("playwright-core");

const [mode, dir] = process.argv.slice(2);
if (!["lab", "pyodide"].includes(mode) || !dir) {
  console.error("usage: bench_vm_browser.mjs lab SITE_DIR | pyodide -");
  process.exit(2);
}
const PROGRAMS = {
  py_cpu: readFileSync(join(root, "tests/bench/py_cpu.py"), "utf8"),
  fib27: readFileSync(join(here, "fib.py"), "utf8"),
};
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".css": "text/css", ".svg": "image/svg+xml", ".zip": "application/zip", ".json": "application/json" };

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  let body = null;
  let type = "text/plain";
  if (path === "/bench.html") [body, type] = ["<!doctype html><title>bench</title>", "text/html"];
  else if (path.startsWith("/__pyodide/")) {
    const file = join(dirname(require.resolve("pyodide/package.json")), path.slice("/__pyodide/".length));
    if (existsSync(file)) [body, type] = [readFileSync(file), TYPES[extname(file)] ?? "application/octet-stream"];
  } else {
    const file = join(dir, path === "/" ? "index.html" : path);
    if (!path.includes("..") && existsSync(file) && statSync(file).isFile()) {
      body = readFileSync(file);
      type = TYPES[extname(file)] ?? "application/octet-stream";
    }
  }
  const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Resource-Policy": "cross-origin", "Cache-Control": "no-cache" };
  if (body === null) { res.writeHead(404, headers); res.end("not found"); return; }
  res.writeHead(200, { ...headers, "Content-Type": type });
  res.end(body);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  if (mode === "lab") {
    await page.goto(base);
    await page.waitForFunction(() => typeof window.threadlab?.python === "function", null, { timeout: 120000 });
  } else {
    await page.goto(`${base}bench.html`);
  }
  for (const [program, source] of Object.entries(PROGRAMS)) {
    const out = mode === "pyodide"
      ? await page.evaluate(async (s) => {
          const { loadPyodide } = await import("/__pyodide/pyodide.mjs");
          window.__py ??= await loadPyodide({ indexURL: "/__pyodide/" });
          let text = "";
          window.__py.setStdout({ batched: (t) => (text += t + "\n") });
          await window.__py.runPythonAsync(s);
          return text;
        }, source)
      : await page.evaluate(async (s) => { const r = await window.threadlab.python(s, { timeout_ms: 120000 }); return r.error ? `${r.stdout}\n${r.error.kind}: ${r.error.message}` : r.stdout; }, source);
    const m = /result (\d+) best_ms ([0-9.e+-]+)\s*$/.exec(out);
    console.log(JSON.stringify({ mode, program, result: m ? Number(m[1]) : null, best_ms: m ? Number(m[2]) : null, raw: m ? undefined : out.slice(-300) }));
  }
} finally {
  await browser.close();
  server.close();
}
