// Permalinks: the URL carries the experiment; bad links open a working page with a notice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE_URL, expectNoProblems, useLab } from "./harness.mjs";

const lab = useLab();
const open = async (query) => {
  await lab.page.goto(new URL(`?${query}`, BASE_URL).href);
  await lab.page.evaluate(() => window.threadlab.ready);
};
const value = (label) => lab.page.getByLabel(label, { exact: true }).inputValue();

test("a link restores every field, and the address bar follows edits", async () => {
  await open("engine=processes&workload=cpu&tasks=5&cpu_ms=40&workers=3&gil=false&bad=hang&bad_id=4&timeout_ms=900");
  assert.equal(await value("Tasks"), "5");
  assert.equal(await value("Workers"), "3");
  assert.equal(await value("Each task computes for about (ms)"), "40");
  assert.equal(await value("Bad task number"), "4");
  assert.equal(await value("Timeout (ms)"), "900");
  assert.equal(await lab.page.getByTestId("engine-processes").isChecked(), true);
  assert.equal(await lab.page.getByTestId("gil").isChecked(), false);
  await lab.page.getByLabel("Tasks", { exact: true }).fill("7");
  assert.match(await lab.page.evaluate(() => location.search), /tasks=7/);
});

test("the inspector's script and panel travel in the link", async () => {
  await open(`panel=refcount&script=${encodeURIComponent("x = [1]\ny = x\n")}`);
  assert.equal(await lab.page.getByTestId("refcount-source").inputValue(), "x = [1]\ny = x\n");
});

test("autorun=1 runs the linked experiment", async () => {
  await open("engine=threads&workload=io&tasks=2&duration_ms=100&workers=2&autorun=1");
  await lab.page.waitForSelector("[data-testid=panel-threads][data-run]");
  assert.equal(await lab.page.locator("[data-testid=panel-threads] [data-testid=bar]").count(), 2);
});

test("a run from the page leaves the form as typed; a run from the API shows its settings there", async () => {
  await open("engine=threads&workload=io&tasks=2&duration_ms=50&workers=2&gil=false");
  // Compare all four ends on processes (with the GIL): the form keeps the set-up chosen.
  await lab.page.getByTestId("run-all").click();
  await lab.page.waitForSelector("[data-testid=panel-processes][data-run]");
  await lab.page.waitForFunction(() => document.querySelector(".app").dataset.busy === "false");
  assert.equal(await lab.page.getByTestId("engine-threads").isChecked(), true);
  assert.equal(await lab.page.getByTestId("gil").isChecked(), false);
  assert.match(await lab.page.evaluate(() => location.search), /engine=threads&.*gil=false/);
  // An API run is shown in the form, and so in the link.
  await lab.page.evaluate(() => window.threadlab.run({ engine: "processes", workload: "io", tasks: 3, duration_ms: 20, workers: 3 }));
  assert.equal(await lab.page.getByTestId("engine-processes").isChecked(), true);
  assert.equal(await value("Tasks"), "3");
  assert.equal(await lab.page.getByTestId("gil").isChecked(), true);
  assert.match(await lab.page.evaluate(() => location.search), /engine=processes&.*tasks=3/);
});

test("a corrupted link opens a working page and says what it ignored", async () => {
  const bad = ["engine=gpu", "tasks=-3", "tasks=abc", "workers=1e9", "duration_ms=NaN", "gil=maybe", "switch_interval_ms=0",
    "bad=explode", "timeout_ms=5", "panel=nope", "autorun=yes", "colour=red", "tasks=%zz"];
  for (const q of bad) {
    await open(q);
    const notice = await lab.page.getByTestId("notice").textContent();
    assert.match(notice, /Some settings of this link were ignored \(defaults used\): Ignored /, q);
    assert.equal(await value("Tasks"), "2", "the default stands");
  }
  const result = await lab.page.evaluate(() => window.threadlab.run({ engine: "main", workload: "io", tasks: 1, duration_ms: 10 }));
  assert.equal(result.tasks[0].status, "ok");
});

test("a parameter given twice counts once, the first, for every parameter, and the notice says so", async () => {
  await open("engine=threads&tasks=3&panel=lab&engine=processes&tasks=5&panel=refcount&embed=0&embed=1");
  assert.equal(await lab.page.getByTestId("engine-threads").isChecked(), true);
  assert.equal(await value("Tasks"), "3");
  assert.equal(await lab.page.getByTestId("refcount-source").count(), 0, "the lab panel, the first");
  assert.equal(await lab.page.locator(".app.embedded").count(), 0, "not embedded, the first");
  const notice = await lab.page.getByTestId("notice").textContent();
  assert.match(notice, /engine given twice; using the first, "threads"\./);
  assert.match(notice, /tasks given twice; using the first, "3"\./);
  assert.match(notice, /panel given twice; using the first, "lab"\./);
  assert.match(notice, /embed given twice; using the first, "0"\./);
  assert.match(await lab.page.evaluate(() => location.search), /engine=threads&.*tasks=3/);
});

test("a huge bad value in a link is quoted short in the notice", async () => {
  await open(`tasks=${"9".repeat(100_000)}&engine=${"y".repeat(100_000)}`);
  const notice = await lab.page.getByTestId("notice").textContent();
  assert.ok(notice.length < 400, `${notice.length} characters`);
  assert.match(notice, /Ignored tasks: Tasks must be a whole number from 1 to 64; got "9{40}"… \(100000 characters\)\./);
  assert.match(notice, /Ignored engine: engine must be main, threads or processes; got "y{40}"… \(100000 characters\)\./);
});

test("the inspector's Example menu shows the example the editor holds, or \"Your script\"", async () => {
  const shown = () => lab.page.getByTestId("refcount-preset").evaluate((s) => s.selectedOptions[0].textContent);
  await open(`panel=refcount&script=${encodeURIComponent("x = [1]\n")}`);
  assert.equal(await shown(), "Your script");
  await lab.page.getByTestId("refcount-preset").selectOption("3");
  assert.equal(await shown(), "A reference cycle");
  assert.match(await lab.page.getByTestId("refcount-source").inputValue(), /^import gc/);
  await lab.page.getByTestId("refcount-source").fill("a = [1, 2, 3]\n");
  assert.equal(await shown(), "Your script");
  // The notebook's example, from a link or typed back, is the notebook's example in the menu.
  await lab.page.getByTestId("refcount-preset").selectOption("3");
  await open("panel=refcount");
  assert.equal(await shown(), "The notebook's example");
});

expectNoProblems(lab);
