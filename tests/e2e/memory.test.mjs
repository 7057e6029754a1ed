// Shared versus separate memory, end to end: structural facts, not timings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { expectNoProblems, useLab } from "./harness.mjs";

const lab = useLab();

const memory = (config) => lab.page.evaluate((c) => window.threadlab.memory(c), config);

test("threads append to one list their process sees; nothing is copied", async () => {
  const r = await memory({ engine: "threads", bytes: 1 << 20 });
  assert.equal(r.parent_sees_items, r.workers);
  assert.equal(r.returned_items, 0);
  assert.equal(r.mb_per_s, null);
});

test("processes append to their own copies; the parent sees them only when sent back, copied", async () => {
  for (const bytes of [1024, 1 << 20]) {
    const r = await memory({ engine: "processes", bytes });
    assert.equal(r.parent_sees_items, 0);
    assert.equal(r.returned_items, r.workers);
    assert.ok(r.copy_ms > 0 && r.mb_per_s > 0, JSON.stringify(r));
  }
});

test("the page runs both and the differences table reports them", async () => {
  const { page } = lab;
  await page.getByTestId("memory-size").selectOption(String(1 << 20));
  await page.getByTestId("memory-run").click();
  await page.waitForFunction(() => !document.querySelector("[data-testid=memory-processes] .muted") && !document.querySelector("[data-testid=memory-threads] .muted"));
  const table = await page.getByTestId("differences").innerText();
  assert.match(table, /2 threads appended to one list: the process sees 2 results, none copied/);
  assert.match(table, /2 processes appended to their own lists: the parent sees 0; 1\.0 MB sent there and back took/);
});

test("bad memory requests are refused with a clear message", async () => {
  const error = await lab.page.evaluate(() => window.threadlab.memory({ engine: "main", bytes: 5 }).then(() => "resolved", (e) => e.message));
  assert.match(error, /engine must be "threads" or "processes"; got "main"\. bytes must be a whole number from 1024 to 67108864/);
});

expectNoProblems(lab);
