// The main thread freezes the page, on purpose, but never for longer than it says: each task is
// stopped at its timeout, the page says how long a run will freeze it and asks above 10 s, and a
// link's autorun never starts such a run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, BASE_URL, expectNoProblems, openLab, panel, useLab } from "./harness.mjs";

const lab = useLab();
const run = (config) => lab.page.evaluate((c) => window.threadlab.run(c), config);
const statuses = (result) => result.tasks.map((t) => t.status);
const focusedTestId = (page) => page.evaluate(() => document.activeElement?.dataset?.testid ?? null);

test("a main-thread task past its timeout is stopped there as \"timeout\", and the next tasks still run", async () => {
  // Unstopped, this is 3 × 2 s = 6 s with every task "ok" (as it was).
  const io = await run({ engine: "main", workload: "io", tasks: 3, duration_ms: 2000, timeout_ms: 500 });
  assert.deepEqual(statuses(io), ["timeout", "timeout", "timeout"]);
  for (const t of io.tasks) {
    const ms = t.end_ms - t.start_ms;
    assert.ok(ms >= 499 && ms < 2000, `task ${t.id} lasted ${ms} ms: stopped at 500, not at 2000`);
    assert.equal(t.segments.at(-1).state, "io", "stopped in its wait");
  }
  assert.ok(io.wall_ms < 6000, `the run took ${io.wall_ms} ms: about 1.5 s, not 6`);
  assert.equal(io.crashes.length, 3);
  assert.match(io.crashes[0].message, /^task 0 did not return within 500 ms: the page was frozen until then/);
  assert.ok(io.longest_frame_gap_ms < 6000, `the page froze ${io.longest_frame_gap_ms} ms`);

  // CPU work is stopped between its slices, with no result.
  const device = await lab.page.evaluate(() => window.threadlab.device());
  const units = Math.min(device.max_units, Math.ceil(2000 / device.ms_per_unit));
  const cpu = await run({ engine: "main", workload: "cpu", tasks: 2, units, timeout_ms: 300 });
  assert.deepEqual(statuses(cpu), ["timeout", "timeout"]);
  for (const t of cpu.tasks) {
    assert.equal(t.result, null);
    assert.ok(t.end_ms - t.start_ms < 0.9 * units * device.ms_per_unit, `task ${t.id} ran its whole work`);
  }

  // A task that never returns is stopped the same way; the tasks after it run; a task within
  // its timeout is "ok" beside them.
  const hang = await run({ engine: "main", workload: "io", tasks: 3, duration_ms: 100, timeout_ms: 400, bad_task: { id: 1, kind: "hang" } });
  assert.deepEqual(statuses(hang), ["ok", "timeout", "ok"]);
  // The next run is clean.
  assert.deepEqual(statuses(await run({ engine: "main", workload: "io", tasks: 2, duration_ms: 100 })), ["ok", "ok"]);
});

test("the page says how long a run will freeze it, and above 10 s asks first: Cancel does not run, Confirm does", async () => {
  const { page } = lab;
  await page.locator("input[name=workload][value=io]").check();
  await page.getByTestId("engine-main").check();
  await page.getByLabel("Tasks", { exact: true }).fill("2");
  await page.getByLabel("Each task waits (ms)", { exact: true }).fill("3000");
  assert.equal(await page.getByTestId("freeze").textContent(), "The page will freeze for about 6 s.");
  // 64 × 10 s, each stopped at the 5 s timeout: 320 s.
  await page.getByLabel("Tasks", { exact: true }).fill("64");
  await page.getByLabel("Each task waits (ms)", { exact: true }).fill("10000");
  assert.equal(await page.getByTestId("freeze").textContent(), "The page will freeze for about 5 min.");
  await page.getByTestId("engine-threads").check();
  assert.match(await page.getByTestId("freeze").textContent(), /^Compare all four will freeze the page for about 5 min, during its main-thread run\.$/);
  await page.getByTestId("run-all").click();
  assert.equal(await page.getByTestId("confirm-question").textContent(), "Freeze the page for about 5 min?");
  assert.equal(await focusedTestId(page), "confirm-cancel", "focus on the harmless answer");
  await page.getByTestId("confirm-cancel").click();
  assert.equal(await page.getByTestId("confirm").count(), 0);
  assert.equal(await focusedTestId(page), "run", "focus back on Run");
  assert.equal(await panel(page, "threads").getAttribute("data-run"), null, "nothing ran");

  // 11 × 1 s on the main thread: asked, refused with Escape, then confirmed with the keyboard.
  await page.getByTestId("engine-main").check();
  await page.getByLabel("Tasks", { exact: true }).fill("11");
  await page.getByLabel("Each task waits (ms)", { exact: true }).fill("1000");
  const before = await panel(page, "main").getAttribute("data-run");
  await page.getByTestId("run").focus();
  await page.keyboard.press("Enter");
  assert.equal(await page.getByTestId("confirm-question").textContent(), "Freeze the page for about 11 s?");
  await page.keyboard.press("Escape");
  assert.equal(await page.getByTestId("confirm").count(), 0);
  assert.equal(await panel(page, "main").getAttribute("data-run"), before, "Escape cancelled");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Shift+Tab");
  assert.equal(await focusedTestId(page), "confirm-run");
  await page.screenshot({ path: join(ARTIFACTS, "confirm-freeze.png") });
  await page.keyboard.press("Enter");
  await page.waitForFunction(
    (before) => {
      const p = document.querySelector("[data-testid=panel-main]");
      return p && p.dataset.live === "false" && p.dataset.run && p.dataset.run !== before;
    },
    before,
    { timeout: 60_000 },
  );
  assert.equal(await panel(page, "main").locator("[data-testid=bar]").count(), 11);
  // 10 s and under runs at once.
  await page.getByLabel("Tasks", { exact: true }).fill("2");
  await page.getByLabel("Each task waits (ms)", { exact: true }).fill("100");
  await page.getByTestId("run").click();
  assert.equal(await page.getByTestId("confirm").count(), 0);
  await page.waitForFunction(() => document.querySelector(".app").dataset.busy === "false");
});

test("autorun never starts a main-thread run that would freeze the page over 10 s: it says why and asks", async () => {
  const page = await lab.browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  // Before the fix this page froze for 640 s on opening: `ready` never answered.
  await page.goto(new URL("?autorun=1&engine=main&workload=io&tasks=64&duration_ms=10000", BASE_URL).href);
  await page.evaluate(() => window.threadlab.ready);
  await page.getByTestId("confirm-question").waitFor();
  assert.equal(await page.getByTestId("confirm-question").textContent(), "Freeze the page for about 5 min?");
  assert.match(await page.getByTestId("notice").textContent(), /would freeze the page for about 5 min: a link never starts a freeze of more than 10 s/);
  assert.equal(await panel(page, "main").getAttribute("data-run"), null, "nothing ran");
  assert.equal(await page.evaluate(() => document.querySelector(".app").dataset.busy), "false");
  await page.screenshot({ path: join(ARTIFACTS, "autorun-guard.png") });
  await page.getByTestId("confirm-cancel").click();
  // A short main-thread run still autoruns.
  await page.goto(new URL("?autorun=1&engine=main&workload=io&tasks=2&duration_ms=100", BASE_URL).href);
  await page.waitForSelector("[data-testid=panel-main][data-run]");
  assert.equal(await page.getByTestId("confirm").count(), 0);
  assert.deepEqual(problems, []);
  await page.close();
});

expectNoProblems(lab);
