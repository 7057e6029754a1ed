// Crashes, end to end: one bad thread takes its process down; one bad process dies
// alone; a hung task is ended at the timeout; the page survives all of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, expectNoProblems, openLab, panel, useLab } from "./harness.mjs";

const lab = useLab();

const run = (config) => lab.page.evaluate((c) => window.threadlab.run(c), config);
const statuses = (result) => result.tasks.map((t) => t.status);
const io = { workload: "io", tasks: 3, duration_ms: 300, workers: 3 };

test("threads: one panicking thread loses every task of its process, and the next run works", async () => {
  const crashed = await run({ engine: "threads", ...io, bad_task: { id: 1, kind: "panic" } });
  assert.deepEqual(statuses(crashed), ["lost", "crashed", "lost"]);
  assert.equal(crashed.crashes.length, 1);
  assert.match(crashed.crashes[0].message, /^process crashed: thread \d+ panicked: task 1 failed halfway/);
  const clean = await run({ engine: "threads", ...io });
  assert.deepEqual(statuses(clean), ["ok", "ok", "ok"]);
  assert.ok(clean.setup_ms > 0, "a fresh process (host and pool) was started");
});

test("processes: only the bad process dies; the others finish and the pool recovers", async () => {
  const crashed = await run({ engine: "processes", ...io, bad_task: { id: 1, kind: "panic" } });
  assert.deepEqual(statuses(crashed), ["ok", "crashed", "ok"]);
  assert.match(crashed.crashes[0].message, /^process \d+ crashed: task 1 panicked/);
  const clean = await run({ engine: "processes", ...io });
  assert.deepEqual(statuses(clean), ["ok", "ok", "ok"]);
});

test("a task that never returns is ended at the timeout: its process alone, or its whole threads process", async () => {
  const processes = await run({ engine: "processes", ...io, bad_task: { id: 2, kind: "hang" }, timeout_ms: 700 });
  assert.deepEqual(statuses(processes), ["ok", "ok", "timeout"]);
  assert.match(processes.crashes[0].message, /did not return within 700 ms: process \d+ was terminated/);
  const threads = await run({ engine: "threads", ...io, tasks: 3, bad_task: { id: 2, kind: "hang" }, timeout_ms: 700 });
  assert.deepEqual(statuses(threads), ["ok", "ok", "timeout"]);
  assert.match(threads.crashes[0].message, /the whole process \(its 3 threads\) was terminated/);
  assert.deepEqual(statuses(await run({ engine: "threads", ...io })), ["ok", "ok", "ok"]);
});

test("on the main thread a failure is contained: the page lives, later tasks never run", async () => {
  const result = await run({ engine: "main", ...io, bad_task: { id: 0, kind: "panic" } });
  assert.deepEqual(statuses(result), ["crashed", "lost", "lost"]);
  assert.match(result.crashes[0].message, /caught as an error/);
  assert.equal(await lab.page.evaluate(() => document.querySelector(".app") !== null), true);
});

test("the crash experiment from the differences table fills the crash-risk row", async () => {
  // A fresh page: the runs above already filled this one's table.
  const { page, problems } = await openLab(lab.browser);
  await page.getByTestId("experiment-crash").first().click();
  await page.waitForFunction(() => document.querySelector(".app").dataset.busy === "false" && document.querySelector("[data-testid=panel-processes] [data-status=crashed]"));
  await page.waitForFunction(() => document.querySelector(".app").dataset.busy === "false");
  assert.equal(await panel(page, "threads").locator("[data-status=lost]").count(), 3);
  assert.equal(await panel(page, "processes").locator("[data-status=ok]").count(), 3);
  const table = await page.getByTestId("differences").innerText();
  assert.match(table, /The bad task's panic ends the whole process, all its threads at once\none bad task of 4: 0 finished, 3 lost, 1 crashed/);
  assert.match(table, /It ends only the bad process; its siblings live on\none bad task of 4: 3 finished, 0 lost, 1 crashed/);
  await page.screenshot({ path: join(ARTIFACTS, "crash.png"), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test("bad failure settings are refused with a clear message", async () => {
  const bad = [
    [{ engine: "threads", ...io, bad_task: { id: 3, kind: "panic" } }, /bad_task\.id must be a whole number from 0 to 2/],
    [{ engine: "threads", ...io, bad_task: { id: 0, kind: "explode" } }, /bad_task\.kind must be "panic" or "hang"/],
    [{ engine: "threads", ...io, timeout_ms: 10 }, /Timeout must be a whole number from 100 to 60000 ms/],
  ];
  for (const [config, message] of bad) {
    const error = await lab.page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), config);
    assert.match(error, message);
  }
});

expectNoProblems(lab);
