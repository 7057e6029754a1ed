// `cargo xtask dist` published under a sub-path of a static host that sends no headers at
// all (as GitHub Pages): the service worker adds COOP/COEP, one reload on the first visit,
// then the page is cross-origin isolated and the threads engine runs. Offline, it still opens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, overlap } from "./harness.mjs";

const DIST = process.env.THREADLAB_DIST_URL ?? "http://127.0.0.1:8082/threadlab/";
const lab = { problems: [], requests: [], loads: 0 };

/** Polls `predicate` in the page until it holds, across the service worker's reload. */
async function until(page, predicate, what, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      if (await page.evaluate(predicate)) return;
    } catch {
      // The page was reloading: its context went away under the evaluation.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  lab.browser = await launch();
  lab.context = await lab.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  lab.page = await lab.context.newPage();
  const { page } = lab;
  page.on("console", (m) => m.type() === "error" && lab.problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (e) => lab.problems.push(`page error: ${e.message}`));
  page.on("load", () => lab.loads++);
  lab.context.on("request", (r) => lab.requests.push(r.url()));
  await page.goto(DIST);
  await until(page, () => self.crossOriginIsolated && !!navigator.serviceWorker.controller && !!window.threadlab, "isolation by the service worker");
  await page.evaluate(() => window.threadlab.ready);
});
after(() => lab.browser?.close());

test("the first visit reloads once, then the page is cross-origin isolated by the service worker", async () => {
  assert.equal(lab.loads, 2, "one load, one reload");
  const { page } = lab;
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  assert.match(await page.evaluate(() => navigator.serviceWorker.controller.scriptURL), /\/threadlab\/coi-serviceworker\.js$/);
  // Every file came from under the sub-path: the build has only relative URLs.
  const outside = lab.requests.filter((u) => !u.startsWith(DIST) && !u.startsWith("blob:") && !u.startsWith("data:"));
  assert.deepEqual(outside, []);
});

test("the threads engine runs there, and its I/O tasks overlap", async () => {
  const run = await lab.page.evaluate(() => window.threadlab.run({ engine: "threads", workload: "io", tasks: 2, duration_ms: 300 }));
  const [a, b] = run.tasks.map((t) => ({ start: t.start_ms, end: t.end_ms }));
  assert.ok(overlap(a, b), JSON.stringify(run.tasks));
});

test("offline, the page opens from the service worker's copy, still isolated, and runs", async () => {
  const { page, context } = lab;
  await context.setOffline(true);
  try {
    await page.reload();
    await page.evaluate(() => window.threadlab.ready);
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    const run = await page.evaluate(() => window.threadlab.run({ engine: "threads", workload: "io", tasks: 2, duration_ms: 100 }));
    assert.equal(run.tasks.length, 2);
    const processes = await page.evaluate(() => window.threadlab.run({ engine: "processes", workload: "cpu", tasks: 2, units: 1 }));
    assert.ok(processes.tasks.every((t) => t.checked === true));
  } finally {
    await context.setOffline(false);
  }
});

test("no console error and no page error", () => {
  assert.deepEqual(lab.problems, []);
});
