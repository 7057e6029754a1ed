// The foundation, end to end: the notebook's experiment through the UI on every
// engine, checked by the structure of what was recorded, never by time limits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, bars, expectNoProblems, overlap, panel, runThroughUi, useLab } from "./harness.mjs";

const lab = useLab();

test("the page is cross-origin isolated, under a strict CSP, and reports this device", async () => {
  const { page } = lab;
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  const response = await page.request.get(page.url());
  assert.match(response.headers()["content-security-policy"], /script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:/);
  const device = await page.evaluate(() => window.threadlab.device());
  assert.ok(device.cores >= 1);
  assert.ok(device.ms_per_unit > 0 && device.max_units >= 1, JSON.stringify(device));
});

test("main thread: I/O tasks run one after another and freeze the page", async () => {
  const { page } = lab;
  const drawn = await runThroughUi(page, "main", { workload: "io", tasks: 2, size: 300 });
  assert.equal(drawn.length, 2);
  const [a, b] = drawn.sort((x, y) => x.start - y.start);
  assert.ok(!overlap(a, b), `sequential bars overlap: ${JSON.stringify(drawn)}`);
  assert.ok(b.start >= a.end);
  assert.ok(b.end >= 600, `two 300 ms waits in a row end at ${b.end} ms`);
  assert.ok(drawn.every((t) => t.lane === 0));
  // No frame could be drawn while the page's thread was blocked.
  const gap = await page.getByTestId("frame-gap").textContent();
  assert.match(gap, /longest freeze in the last main-thread run: (\d{3,}|\d+\.\d+ s)/);
});

for (const engine of ["threads", "processes"]) {
  test(`${engine}: two I/O tasks overlap on two lanes`, async () => {
    const { page } = lab;
    const drawn = await runThroughUi(page, engine, { workload: "io", tasks: 2, size: 300 });
    assert.equal(drawn.length, 2);
    const [a, b] = drawn;
    assert.ok(overlap(a, b), `bars do not overlap: ${JSON.stringify(drawn)}`);
    assert.notEqual(a.lane, b.lane);
    assert.ok(drawn.every((t) => t.end - t.start >= 299.9), JSON.stringify(drawn));
    // The same work ran sequentially above: the speed-up is shown.
    await assert.doesNotReject(panel(page, engine).getByTestId(`speedup-${engine}`).waitFor());
  });
}

test("the API runs what the page shows, and CPU results are checked", async () => {
  const { page } = lab;
  for (const engine of ["main", "threads", "processes"]) {
    const result = await page.evaluate((engine) => window.threadlab.run({ engine, workload: "cpu", tasks: 2, units: 3 }), engine);
    assert.equal(result.engine, engine);
    assert.equal(result.tasks.length, 2);
    for (const task of result.tasks) {
      assert.equal(task.checked, true, JSON.stringify(task));
      assert.match(task.result, /^[0-9a-f]{16}$/);
      assert.ok(task.start_ms >= 0 && task.end_ms >= task.start_ms);
    }
    assert.notEqual(result.tasks[0].result, result.tasks[1].result);
    assert.ok(result.wall_ms >= Math.max(...result.tasks.map((t) => t.end_ms)) - 1e-9);
    // The page drew this very run.
    assert.equal(await panel(page, engine).getAttribute("data-run"), String(result.run));
    const drawn = await bars(page, engine);
    assert.deepEqual(drawn.map((b) => b.id).sort(), [0, 1]);
  }
});

test("bad input gets a clear message next to the field, and the API rejects with it", async () => {
  const { page } = lab;
  await page.getByTestId("engine-threads").check();
  await page.locator("input[name=workload][value=io]").check();
  await page.getByLabel("Tasks", { exact: true }).fill("0");
  await page.getByTestId("run").click();
  const shown = await page.getByTestId("tasks-error").textContent();
  assert.match(shown, /Tasks must be a whole number from 1 to 64; got/);

  const bad = [
    [{ engine: "threads", workload: "io", tasks: 65, duration_ms: 10 }, /Tasks must be a whole number from 1 to 64; got 65/],
    [{ engine: "threads", workload: "io", tasks: 2, duration_ms: -1 }, /Duration must be a whole number from 1 to 10000 ms/],
    [{ engine: "threads", workload: "io", tasks: "two", duration_ms: 10 }, /got "two"/],
    [{ engine: "processes", workload: "io", tasks: 2, duration_ms: 10, workers: 33 }, /Workers must be a whole number from 1 to 32/],
    [{ engine: "gpu", workload: "io", tasks: 2, duration_ms: 10 }, /engine must be one of/],
    [{ engine: "main", workload: "cpu", tasks: 1, units: 1e12 }, /Work units must be a whole number/],
    [{ engine: "main", workload: "io", tasks: 1 }, /Duration .* it is missing/],
    [null, /engine must be one of/],
  ];
  for (const [config, message] of bad) {
    const error = await page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), config);
    assert.match(error, message, JSON.stringify(config));
  }
  // And the page still runs afterwards.
  await page.getByLabel("Tasks", { exact: true }).fill("2");
  const drawn = await runThroughUi(page, "threads", { workload: "io", tasks: 2, size: 50 });
  assert.equal(drawn.length, 2);
});

test("the notebook preset is the default and a screenshot is kept", async () => {
  const { page } = lab;
  await page.getByRole("button", { name: "Notebook preset" }).click();
  assert.equal(await page.getByLabel("Tasks", { exact: true }).inputValue(), "2");
  assert.equal(await page.getByLabel("Each task waits (ms)", { exact: true }).inputValue(), "3000");
  assert.match(await page.getByTestId("python").textContent(), /time\.sleep\(3\)/);
  await page.screenshot({ path: join(ARTIFACTS, "foundation.png"), fullPage: true });
});

expectNoProblems(lab);
