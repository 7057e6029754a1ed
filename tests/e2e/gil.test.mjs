// The GIL, end to end: properties of what was recorded (who ran when), not timings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, expectNoProblems, panel, useLab } from "./harness.mjs";

const lab = useLab();
let device;
const deviceInfo = async () => (device ??= await lab.page.evaluate(() => window.threadlab.device()));

/** Runs CPU tasks of about `ms` each through the API. */
async function cpu(page, engine, gil, { tasks = 2, ms = 150, switch_interval_ms = 1 } = {}) {
  await deviceInfo();
  const units = Math.max(1, Math.round(ms / device.ms_per_unit));
  return page.evaluate((c) => window.threadlab.run(c), { engine, gil, workload: "cpu", tasks, units, switch_interval_ms });
}

/** [task, start, end] of every "running" segment. */
const running = (result) =>
  result.tasks.flatMap((t) => t.segments.filter((s) => s.state === "running").map((s) => [t.id, s.start_ms, s.end_ms]));

// Stamps from two workers are comparable to 0.04 ms: each context coarsens its clock (5 µs
// in Chromium, 20 µs in Firefox; see CROSS_CONTEXT_PRECISION_MS in src/web/clock.rs).
// Overlap must exceed that.
const PRECISION_MS = 0.04;
const runningOverlaps = (result) => {
  const segs = running(result);
  return segs.some((a) => segs.some((b) => a[0] !== b[0] && a[1] + PRECISION_MS < b[2] && b[1] + PRECISION_MS < a[2]));
};

test("with the GIL, running segments of different threads never overlap, and the GIL changes hands", async () => {
  const result = await cpu(lab.page, "threads", true);
  assert.equal(result.gil, true);
  assert.ok(result.tasks.every((t) => t.checked === true));
  assert.ok(!runningOverlaps(result), JSON.stringify(running(result)));
  assert.ok(result.gil_switches >= 1, `gil_switches = ${result.gil_switches}`);
  for (const task of result.tasks) {
    const states = new Set(task.segments.map((s) => s.state));
    assert.ok(states.has("running") && states.has("gil_wait"), JSON.stringify([...states]));
    for (const s of task.segments) assert.ok(task.start_ms <= s.start_ms && s.end_ms <= task.end_ms + 1e-6);
  }
});

test("free-threaded threads and processes run Python at the same time", { skip: false }, async () => {
  await deviceInfo();
  assert.ok(device.cores >= 2, "these machines have 2 cores; on one core nothing can overlap");
  const free = await cpu(lab.page, "threads", false);
  assert.equal(free.gil_switches, 0);
  assert.ok(runningOverlaps(free), JSON.stringify(running(free)));
  const processes = await cpu(lab.page, "processes", true);
  assert.ok(runningOverlaps(processes), JSON.stringify(running(processes)));
  assert.ok(processes.tasks.every((t) => t.segments.every((s) => s.state !== "gil_wait")), "each process has its own GIL");
});

test("I/O-bound threads still overlap with the GIL on, and release it while waiting", async () => {
  const result = await lab.page.evaluate(() =>
    window.threadlab.run({ engine: "threads", gil: true, workload: "io", tasks: 2, duration_ms: 200 }),
  );
  const [a, b] = result.tasks;
  assert.ok(a.start_ms < b.end_ms && b.start_ms < a.end_ms, JSON.stringify(result.tasks));
  for (const task of result.tasks) {
    const io = task.segments.filter((s) => s.state === "io");
    assert.equal(io.length, 1);
    assert.ok(io[0].end_ms - io[0].start_ms >= 199.9);
  }
});

test("Compare all four runs the same CPU work on every set-up and fills the table", async () => {
  const { page } = lab;
  await page.locator("input[name=workload][value=cpu]").check();
  await page.getByTestId("engine-threads").check();
  await page.getByLabel("Tasks", { exact: true }).fill("2");
  await page.getByLabel("Each task computes for about (ms)", { exact: true }).fill("120");
  await page.getByLabel("Workers", { exact: true }).fill("2");
  await page.getByTestId("run-all").click();
  await page.getByTestId("cpu-comparison").waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector(".app").dataset.busy === "false");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=cpu-comparison] .row").length === 4);
  for (const key of ["main", "threads", "threads-free", "processes"]) {
    assert.equal(await panel(page, key).locator("[data-testid=bar]").count(), 2, key);
  }
  assert.match(await page.getByTestId("gil-switches").textContent(), /^\d+$/);
  const table = await page.getByTestId("differences").innerText();
  assert.match(table, /CPU-bound tasks\n2 CPU-bound tasks: .* sequentially, .* here: \d+\.\d\d×/);
  assert.match(table, /CPU work: \d+\.\d\d× with the GIL \(\d+ hand-overs\), \d+\.\d\d× free-threaded/);
  await page.screenshot({ path: join(ARTIFACTS, "gil.png"), fullPage: true });
});

test("the GIL settings are checked like every other field", async () => {
  const { page } = lab;
  const bad = [
    [{ engine: "threads", workload: "io", tasks: 2, duration_ms: 10, gil: "maybe" }, /gil must be true or false; got "maybe"/],
    [{ engine: "threads", workload: "io", tasks: 2, duration_ms: 10, switch_interval_ms: 0 }, /Switch interval must be a number of ms from 0.1 to 100; got 0/],
    [{ engine: "threads", workload: "io", tasks: 2, duration_ms: 10, switch_interval_ms: "fast" }, /Switch interval must be/],
  ];
  for (const [config, message] of bad) {
    const error = await page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), config);
    assert.match(error, message);
  }
  await page.getByTestId("engine-threads").check();
  await page.getByTestId("gil").check();
  // The lab's field (the Code view has one of the same name, for its programs).
  await page.locator("#switch-interval").fill("500");
  await page.getByTestId("run").click();
  assert.match(await page.getByTestId("switch-interval-error").textContent(), /Switch interval must be a number of ms from 0.1 to 100/);
});

expectNoProblems(lab);
