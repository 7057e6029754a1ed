// threadlab.probe(), behind `cargo xtask bench`: start costs and the message round trip.
// Structure only (numbers are the benchmark's business): every figure is measured, the
// spare process is what a grown pool takes, and the pool still runs afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { expectNoProblems, overlap, useLab } from "./harness.mjs";

const lab = useLab();

test("probe measures process starts and round trips, and leaves the processes engine working", async () => {
  const { page } = lab;
  const probe = await page.evaluate(() => window.threadlab.probe());
  for (const key of ["process_ms_first", "process_ms_next", "process_ms_cold", "roundtrip_us"]) {
    assert.ok(Number.isFinite(probe[key]) && probe[key] >= 0, `${key}: ${probe[key]}`);
  }
  assert.equal(probe.trips, 1000);
  // A new worker boots, loads the glue and instantiates the module: it cannot beat taking
  // the spare, which has done all that already.
  assert.ok(probe.process_ms_cold > probe.process_ms_next, JSON.stringify(probe));
  const run = await page.evaluate(() => window.threadlab.run({ engine: "processes", workload: "io", tasks: 3, duration_ms: 150, workers: 3 }));
  const [a, b, c] = run.tasks.map((t) => ({ start: t.start_ms, end: t.end_ms }));
  assert.ok(overlap(a, b) && overlap(b, c), JSON.stringify(run.tasks));
  assert.equal(new Set(run.tasks.map((t) => t.lane)).size, 3);
});

expectNoProblems(lab);
