// Python programs' runtime, end to end (issue 14, docs/python-vm.md §4, §6): a program's
// process worker and the thread workers the page starts on its memory. Until the VM lands,
// the programs are the runtime's test programs (`# threadlab-test: …`, core::runtime::
// test_programs), which use the runtime exactly as the VM does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { expectNoProblems, useLab } from "./harness.mjs";

const lab = useLab();

/** Runs `source` through web::program; `stopAfterMs`: Stop that long after the start. */
const run = (source, stopAfterMs = null) =>
  lab.page.evaluate(
    async ([source, stopAfterMs]) => {
      // The module main.js loaded: the same instance, so the same page-side runtime.
      const m = await import(new URL("pkg/threadlab.js", document.baseURI).href);
      const began = performance.now();
      let stoppedAt = null;
      if (stopAfterMs !== null) {
        setTimeout(() => {
          stoppedAt = performance.now();
          m.programStop();
        }, stopAfterMs);
      }
      const answer = await m.programRun(source);
      const ended = performance.now();
      return { ...answer, ms: ended - began, after_stop_ms: stoppedAt === null ? null : ended - stoppedAt };
    },
    [source, stopAfterMs],
  );

/** How many workers of programs the page has now (the DevTools protocol's targets, by name). */
async function programWorkers() {
  const cdp = await lab.page.context().newCDPSession(lab.page);
  const { targetInfos } = await cdp.send("Target.getTargets");
  await cdp.detach();
  return targetInfos.filter((t) => t.type === "worker" && t.title.startsWith("threadlab program")).length;
}

/** Waits until the page has `n` workers of programs, up to `ms`; returns how long it took. */
async function untilProgramWorkers(n, ms) {
  const began = Date.now();
  while ((await programWorkers()) !== n) {
    if (Date.now() - began > ms) assert.fail(`${await programWorkers()} workers of programs, not ${n}, after ${ms} ms`);
    await lab.page.waitForTimeout(50);
  }
  return Date.now() - began;
}

// The spare process started when a program ends, with its warm pool.
const SPARE_WORKERS = 1 + 4;

/** The page's fetches of the VM's own module (pkg-vm/, docs/python-vm.md §8.4) so far (its
 * glue, imported by each of the program's workers, is not counted). */
const vmFetches = () =>
  lab.page.evaluate(() =>
    performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname).filter((p) => p.includes("/pkg-vm/") && p.endsWith(".wasm")),
  );

test("the VM's own module is fetched by the first program, not with the page, and a spare process follows", async () => {
  assert.deepEqual(await vmFetches(), [], "the page fetched the VM before any program ran");
  assert.equal(await programWorkers(), 0, "a program's process started before any program ran");
  const { result } = await run("print('first')");
  assert.equal(result.error, null);
  assert.equal(result.stdout, "first\n");
  assert.deepEqual(await vmFetches(), ["/pkg-vm/threadlab_vm_bg.wasm"]);
  // Compiled once: the spare process and the next program use it without fetching again.
  await untilProgramWorkers(SPARE_WORKERS, 10_000);
  assert.equal((await run("print('next')")).result.stdout, "next\n");
  assert.deepEqual(await vmFetches(), ["/pkg-vm/threadlab_vm_bg.wasm"]);
});

test("a program's threads run on distinct workers and share its memory", async () => {
  const { result, events } = await run("# threadlab-test: threads 4");
  assert.equal(result.error, null);
  const lines = result.stdout.trimEnd().split("\n");
  // Each thread bumped one count in the process's memory, which the main thread reads.
  assert.ok(lines.includes("started 4 of 4; counter = 4"), result.stdout);
  // All four were alive together (each waits for the others), each on a worker of its own.
  assert.ok(lines.includes("distinct workers = 4"), result.stdout);
  const workersSeen = lines.filter((l) => / runs on worker \d+$/.test(l)).map((l) => l.split(" ").pop());
  assert.equal(new Set(workersSeen).size, 4);
  // Output is collected in the result, chunk by chunk, as it was streamed.
  assert.equal(result.output.length, 6);
  assert.equal(result.output.map((c) => c.text).join(""), result.stdout);
  assert.ok(events >= 1);
});

test("40 threads: the first 32 run, the other 8 get the error", async () => {
  const { result } = await run("# threadlab-test: threads 40");
  assert.equal(result.error, null);
  assert.match(result.stdout, /^started 32 of 40; counter = 32$/m);
  assert.match(result.stdout, /^distinct workers = 32$/m);
  const refused = result.stdout.match(/^thread \d+: RuntimeError: can't start new thread \(.*\)$/gm) ?? [];
  assert.equal(refused.length, 8, result.stdout);
  assert.match(refused[0], /ThreadLab runs at most 32 threads at once in one process/);
  assert.match(result.stdout, /^thread 39: RuntimeError/m);
});

test("a panic in a thread worker ends the program as Crashed, with the message, and the next run works", async () => {
  const { result } = await run("# threadlab-test: panic in a thread");
  assert.equal(result.error?.kind, "Crashed", JSON.stringify(result));
  assert.match(result.error.message, /thread worker \d+ panicked: a thread panicked on purpose/);
  const next = await run("# threadlab-test: threads 4");
  assert.equal(next.result.error, null);
  assert.match(next.result.stdout, /^distinct workers = 4$/m);
});

test("Stop ends a busy program and its busy threads within 100 ms, naming the line; the next run works", async () => {
  const { result, after_stop_ms } = await run("# threadlab-test: busy", 300);
  assert.equal(result.error?.kind, "Stopped");
  assert.equal(result.error.line, 1, "the VM's own end, not the page's force");
  assert.ok(after_stop_ms < 100, `ended ${after_stop_ms} ms after Stop`);
  // Its workers are gone at once (they saw the kill word, and parked ones closed
  // themselves): only the spare's remain.
  const ms = await untilProgramWorkers(SPARE_WORKERS, 1000);
  process.stderr.write(`the busy program's workers were gone ${ms} ms after it ended\n`);
  const next = await run("# threadlab-test: threads 4");
  assert.match(next.result.stdout, /^distinct workers = 4$/m);
});

test("Stop ends a program that never looks at it, by terminating all its workers", async () => {
  const { result, after_stop_ms } = await run("# threadlab-test: busy, deaf to stop", 300);
  assert.equal(result.error?.kind, "Stopped");
  assert.equal(result.error.line, 0);
  assert.ok(after_stop_ms < 150, `ended ${after_stop_ms} ms after Stop`);
  // Chromium ends a terminated worker that keeps running after up to 2 s.
  const ms = await untilProgramWorkers(SPARE_WORKERS, 3000);
  process.stderr.write(`the deaf program's workers were gone ${ms} ms after it ended\n`);
  const next = await run("# threadlab-test: threads 4");
  assert.match(next.result.stdout, /^distinct workers = 4$/m);
});

test("a thread starts in well under 1 ms: the pool is warm", async () => {
  await run("# threadlab-test: threads 1"); // the next process, warm, is started at its end
  await lab.page.waitForTimeout(500);
  const { result, pool_start_ms } = await run("# threadlab-test: thread start 100");
  // A warm hand-off takes about one step of the clock, and its two stamps are taken in two
  // workers, whose clocks disagree by up to CROSS_CONTEXT_PRECISION_MS (src/web/clock.rs,
  // 0.04 ms): the median can be a little below zero ("median -0.0049", 1 run in 20 here).
  const numbers = /median (-?[\d.]+) p99 (-?[\d.]+)/;
  assert.match(result.stdout, numbers, JSON.stringify(result));
  const [, median, p99] = result.stdout.match(numbers).map(Number);
  process.stderr.write(`thread start: median ${median} ms, p99 ${p99} ms; pool start ${pool_start_ms} ms\n`);
  assert.ok(median >= -0.04 && median <= 1, `median ${median} ms`);
  assert.ok(pool_start_ms > 0);
});

test("processes of a program pass bytes through the channel arena while blocked, and print in one order", async () => {
  const { result } = await run("# threadlab-test: processes 3");
  assert.equal(result.error, null);
  assert.equal(result.exit_code, 0);
  // The parent blocked in its receive while the page started its children; each child
  // blocked in its own until the parent's number came.
  assert.match(result.stdout, /^2 squared is 4\n3 squared is 9\n4 squared is 16\nreceived 3 of 3\n$/m);
  // Every child's line comes before the answers: one ticket counter for the whole program.
  const lines = result.stdout.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 3).sort(), ["a child got 2", "a child got 3", "a child got 4"]);
  // The children are gone with the program: only the next spare's workers remain.
  await untilProgramWorkers(SPARE_WORKERS, 3000);
});

test("a real program runs on the VM in the process worker, and prints what CPython prints", async () => {
  const source = "import time\nt0 = time.perf_counter()\nfor i in range(3):\n    print(f'step {i}: {i ** 20}')\nprint(sum(x * x for x in range(10)))\n";
  const { result } = await run(source);
  assert.equal(result.error, null, JSON.stringify(result.error));
  assert.equal(result.stdout, "step 0: 0\nstep 1: 1\nstep 2: 1048576\n285\n");
  assert.equal(result.exit_code, 0);
});

test("Stop ends `while True: pass` on the VM, naming the line, and the next run works", async () => {
  const { result, after_stop_ms } = await run("x = 0\nwhile True:\n    pass\n", 300);
  assert.equal(result.error?.kind, "Stopped");
  assert.equal(result.error.line, 2, JSON.stringify(result.error));
  assert.ok(after_stop_ms < 100, `ended ${after_stop_ms} ms after Stop`);
  const next = await run("print('again')\n");
  assert.equal(next.result.stdout, "again\n");
});

test("an uncaught exception prints CPython's traceback and exits 1", async () => {
  const { result } = await run("def f():\n    raise ValueError('boom')\nf()\n");
  assert.equal(result.exit_code, 1);
  assert.match(result.stdout, /^Traceback \(most recent call last\):\n/);
  assert.match(result.stdout, /ValueError: boom\n$/);
});

/** The corpus's programs the VM supports whose output does not vary (MANIFEST), with what CPython printed. */
function corpus() {
  const dir = new URL("../fixtures/programs/", import.meta.url);
  const manifest = readFileSync(new URL("MANIFEST", dir), "utf8");
  const blocks = [...manifest.matchAll(/^\[(\w+)\]\n((?:(?!\[).*\n?)*)/gm)];
  return blocks
    .filter(([, , body]) => /supported = yes/.test(body) && !/vary =/.test(body))
    .map(([, name]) => {
      const recorded = readFileSync(new URL(`${name}.expected`, dir), "utf8").split("\n");
      return {
        name,
        source: readFileSync(new URL(`${name}.py`, dir), "utf8"),
        // The first line is regenerate.py's header, with CPython's exit code.
        exit: Number(recorded[0].match(/ exit=(-?\d+)$/)[1]),
        expected: recorded.slice(1).join("\n"),
      };
    });
}

/** CPython's own frames in a traceback (`File "<stdlib>/…`, the line under it and its carets)
 * are not compared (MANIFEST), as tests_programs.rs's `without_stdlib_frames`. */
const withoutStdlib = (text) => {
  const lines = text.split("\n");
  const kept = [];
  const carets = (line) => /^\s*[\^~]+\s*$/.test(line);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('  File "<stdlib>')) {
      i++;
      if (carets(lines[i + 1] ?? "")) i++;
    } else kept.push(lines[i]);
  }
  return kept.join("\n");
};

test("the corpus's supported programs print in the browser what CPython printed (multiprocessing included)", async () => {
  const programs = corpus();
  assert.ok(programs.some((p) => p.name === "pool_map"), "pool_map is in the corpus and supported");
  assert.ok(programs.some((p) => p.exit === 7), "os_exit_thread (exit 7) is in the corpus and supported");
  for (const { name, source, exit, expected } of programs) {
    const { result } = await run(source);
    assert.equal(withoutStdlib(result.stdout), withoutStdlib(expected), `${name}.py`);
    assert.equal(result.exit_code, exit, `${name}.py's exit code`);
  }
});

test("a Pool's workers are processes of their own, with lanes of their own in the result", async () => {
  const { result } = await run(readFileSync(new URL("../fixtures/programs/pool_map.py", import.meta.url), "utf8"));
  const processes = result.lanes.filter((l) => l.kind === "process");
  assert.equal(processes.length, 2, JSON.stringify([result.lanes.map((l) => l.name), result.stdout]));
  assert.equal(new Set(processes.map((l) => l.process)).size, 2);
  await untilProgramWorkers(SPARE_WORKERS, 3000);
});

expectNoProblems(lab);
