// While CPU-bound tasks run in workers the page keeps still: every frame it draws costs CPU
// (its own thread, the compositor, the browser) taken from the cores the tasks are measured
// on. So between a run's start and its last task's end, nothing changes but the live panel
// (redrawn twice a second) and the heartbeat (ARCHITECTURE.md, "Measuring without disturbing").
import { test } from "node:test";
import assert from "node:assert/strict";
import { expectNoProblems, useLab } from "./harness.mjs";

const lab = useLab();

/** Runs `config` while recording every change to the page: [{at, where}] on the shared clock. */
async function runWatched(page, config) {
  return page.evaluate(async (config) => {
    const changes = [];
    const observer = new MutationObserver((records) => {
      const at = performance.timeOrigin + performance.now();
      for (const r of records) {
        const el = r.target.nodeType === Node.ELEMENT_NODE ? r.target : r.target.parentElement;
        const where = el.closest("[data-live=true]")
          ? "live panel"
          : el.closest(".heartbeat")
            ? "heartbeat"
            : `${el.tagName.toLowerCase()}.${el.className} in ${el.closest("[data-testid]")?.dataset.testid ?? el.closest("section, header, main")?.className}`;
        changes.push({ at, where });
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    const result = await window.threadlab.run(config);
    // Records are delivered after the changes; let the last ones arrive.
    await new Promise((resolve) => setTimeout(resolve, 0));
    observer.disconnect();
    return { result, changes };
  }, config);
}

test("a run that outgrows the finished runs' time axis redraws only its own panel", async () => {
  const { page } = lab;
  // First in this file, so that the only finished run is the short one: it sets the shared
  // axis, and the watched run goes far past it.
  await page.evaluate(() => window.threadlab.run({ engine: "processes", workload: "io", tasks: 2, workers: 2, duration_ms: 150 }));
  const { result, changes } = await runWatched(page, { engine: "threads", workload: "io", tasks: 2, workers: 2, duration_ms: 1200 });
  const from = result.started_at;
  const to = from + Math.max(...result.tasks.map((t) => t.end_ms));
  const elsewhere = changes.filter((c) => c.at > from && c.at < to && c.where !== "live panel" && c.where !== "heartbeat");
  assert.deepEqual(elsewhere, [], "the finished panels keep their axis until the run ends");
});

for (const engine of ["processes", "threads"]) {
  test(`${engine}: while CPU-bound tasks run, only the live panel and the heartbeat change`, async () => {
    const { page } = lab;
    const device = await page.evaluate(() => window.threadlab.device());
    const units = Math.max(1, Math.round(1500 / device.ms_per_unit));
    const { result, changes } = await runWatched(page, { engine, gil: false, workload: "cpu", tasks: 2, workers: 2, units });
    assert.ok(Number.isFinite(result.started_at), JSON.stringify(Object.keys(result)));
    const from = result.started_at;
    const to = result.started_at + Math.max(...result.tasks.map((t) => t.end_ms));
    const during = changes.filter((c) => c.at > from && c.at < to);
    const elsewhere = during.filter((c) => c.where !== "live panel" && c.where !== "heartbeat");
    assert.deepEqual(elsewhere, [], "the rest of the page is still while the tasks run");
    // One redraw changes many nodes at once: count redraws, not nodes.
    const redraws = during.filter((c) => c.where === "live panel").map((c) => c.at).filter((at, i, all) => i === 0 || at - all[i - 1] > 20);
    const seconds = (to - from) / 1000;
    assert.ok(redraws.length >= 1, `the bars grew while the tasks ran (${seconds.toFixed(2)} s, no redraw)`);
    assert.ok(redraws.length <= Math.ceil(seconds * 2) + 1, `${redraws.length} redraws of the live panel in ${seconds.toFixed(2)} s`);
    // The page still beats: it is free, only quiet.
    assert.ok(during.some((c) => c.where === "heartbeat"), "the heartbeat went on");
  });
}

test("I/O tasks leave the cores idle: the live panel is redrawn often, so the bars grow smoothly", async () => {
  const { page } = lab;
  const { result, changes } = await runWatched(page, { engine: "processes", workload: "io", tasks: 2, workers: 2, duration_ms: 1000 });
  const from = result.started_at;
  const to = from + Math.max(...result.tasks.map((t) => t.end_ms));
  const redraws = changes
    .filter((c) => c.at > from && c.at < to && c.where === "live panel")
    .map((c) => c.at)
    .filter((at, i, all) => i === 0 || at - all[i - 1] > 20);
  // Every 100 ms: far more than the twice a second of a CPU-bound run.
  assert.ok(redraws.length >= 5, `${redraws.length} redraws in ${(to - from).toFixed(0)} ms`);
});

expectNoProblems(lab);
