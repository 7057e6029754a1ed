// Served by a host that sends no COOP/COEP (as many static hosts): no shared memory, so
// no threads — but the page explains why, and the main thread and processes still work.
import { test } from "node:test";
import assert from "node:assert/strict";
import { expectNoProblems, overlap, panel, useLab } from "./harness.mjs";

const PLAIN = process.env.THREADLAB_PLAIN_URL ?? "http://127.0.0.1:8081/";
const lab = useLab("", PLAIN);

test("the page is not cross-origin isolated, starts anyway, and says why threads are off", async () => {
  const { page } = lab;
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
  const error = await page.evaluate(() =>
    window.threadlab.run({ engine: "threads", workload: "io", tasks: 2, duration_ms: 50 }).then(() => "resolved", (e) => e.message),
  );
  assert.match(error, /Threads are unavailable here: they need shared memory.*Cross-Origin-Opener-Policy: same-origin/);
  assert.match(await panel(page, "threads").textContent(), /Threads are unavailable here/);
});

test("the main thread and processes still run, and processes still overlap", async () => {
  const { page } = lab;
  const run = (config) => page.evaluate((c) => window.threadlab.run(c), config);
  const main = await run({ engine: "main", workload: "io", tasks: 2, duration_ms: 200 });
  assert.ok(!overlap({ start: main.tasks[0].start_ms, end: main.tasks[0].end_ms }, { start: main.tasks[1].start_ms, end: main.tasks[1].end_ms }));
  const processes = await run({ engine: "processes", workload: "io", tasks: 2, duration_ms: 300 });
  const [a, b] = processes.tasks.map((t) => ({ start: t.start_ms, end: t.end_ms }));
  assert.ok(overlap(a, b), JSON.stringify(processes.tasks));
  const cpu = await run({ engine: "processes", workload: "cpu", tasks: 2, units: 2 });
  assert.ok(cpu.tasks.every((t) => t.checked === true));
});

test("Python programs say why they cannot run here, and the VM's module is never fetched", async () => {
  const { page } = lab;
  const error = await page.evaluate(() => window.threadlab.python("print(1)").then(() => "resolved", (e) => e.message));
  assert.match(error, /Python programs need threads, hence shared memory/);
  await page.goto(new URL("?view=code", PLAIN).href);
  await page.waitForFunction(() => typeof window.threadlab?.python === "function");
  const fetched = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.includes("/pkg-vm/")));
  assert.deepEqual(fetched, []);
});

expectNoProblems(lab);
