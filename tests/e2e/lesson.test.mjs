// The Lesson tab (issue 16): the notebook's argument, sections 1-5, walked through the UI. Each
// cell runs in place on the real VM and workers; a wrong prediction and a right one each get
// their explanation; progress survives a reload and Reset clears it; #section links; every width
// and both colour schemes, axe-clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ARTIFACTS, BASE_URL, axe, expectNoProblems, useLab } from "./harness.mjs";

const PROGRAMS = new URL("../fixtures/programs/", import.meta.url);
const KEY = "threadlab.lesson.threads-and-processes";
// A course page on another origin (cargo xtask test serves one, not isolated).
const COURSE = process.env.THREADLAB_COURSE_URL ?? "http://localhost:8097/";
const lab = useLab("?lesson=threads-and-processes");


const cell = (page, id) => page.getByTestId(`experiment-${id}`);
const param = (page, key) => page.evaluate((key) => new URLSearchParams(location.search).get(key), key);

/** Clicks the cell's Run and waits for its verdicts; returns them as {question, verdict, text}. */
async function runCell(page, id) {
  const c = cell(page, id);
  assert.ok(await c.getByTestId("lesson-run").isEnabled(), `${id}: Run is enabled once predicted`);
  await c.getByTestId("lesson-run").click();
  await page.waitForFunction((id) => document.querySelector(`[data-testid=experiment-${id}]`).dataset.state === "done", id, { timeout: 90_000 });
  assert.equal(await c.getByTestId("code-timeline").getAttribute("data-ready"), "true");
  return verdicts(page, id);
}

const verdicts = (page, id) =>
  cell(page, id)
    .getByTestId("lesson-verdict")
    .evaluateAll((vs) => vs.map((v) => ({ question: v.dataset.question, verdict: v.dataset.verdict, text: v.textContent })));

/** The cell's printed lines, as the terminal shows them. */
const printed = (page, id) => cell(page, id).getByTestId("code-line").evaluateAll((ls) => ls.map((l) => l.querySelector(".text").textContent));

test("?lesson=threads-and-processes opens the Lesson tab: seven sections in order, each cell the corpus's, Run waiting for a prediction", async () => {
  const { page } = lab;
  assert.equal(await page.getByTestId("tab-lesson").getAttribute("aria-selected"), "true");
  assert.equal(await param(page, "panel"), "lesson");
  assert.equal(await param(page, "lesson"), "threads-and-processes");
  // The lesson is a module of its own (pkg-lesson/), imported when the tab opens: not in the first load.
  await page.locator("[data-testid=lesson] section#crashes").waitFor();
  const sections = await page.locator("[data-testid=lesson] section").evaluateAll((ss) => ss.map((s) => s.id));
  assert.deepEqual(sections, ["threads-and-the-gil", "io-bound", "cpu-bound", "memory", "crashes", "differences", "since"]);
  // Section 6's table waits for the runs.
  assert.equal(await page.getByTestId("lesson-differences").getByTestId("difference-run").count(), 0);
  assert.match(await page.getByTestId("difference-1-threads").textContent(), /^Run Counting in pure Python.* to fill this in\.$/);
  const cells = [
    ["race-gil", "free_threaded_race"],
    ["race-free", "free_threaded_race"],
    ["io-threads", "notebook_threads"],
    ["io-sequential", "notebook_sequential"],
    ["cpu", "cpu_threads_vs_pool"],
    ["cpu-free", "free_threaded_cpu"],
    ["shared-list", "shared_list_vs_copies"],
    ["crash-thread", "thread_exception"],
    ["crash-process", "process_exception"],
  ];
  for (const [id, file] of cells) {
    assert.equal(await cell(page, id).locator("pre.cell").textContent(), await readFile(new URL(`${file}.py`, PROGRAMS), "utf8"), id);
    assert.ok(await cell(page, id).getByTestId("lesson-run").isDisabled(), `${id}: Run waits for the prediction`);
    assert.equal(await cell(page, id).getByTestId("lesson-verdict").count(), 0);
  }
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "0 of 9 experiments run");
  // Section 1 points at the Refcounts tab's example.
  await page.getByTestId("lesson-link").click();
  assert.equal(await page.getByTestId("tab-refcount").getAttribute("aria-selected"), "true");
  await page.getByTestId("tab-lesson").click();
  assert.equal(await page.getByTestId("tab-lesson").getAttribute("aria-selected"), "true");
});

/** A run's `GIL enabled:` line, as the cell printed it. */
const gilOf = async (page, id) => (await printed(page, id)).find((l) => l.startsWith("GIL enabled:"));

test("the counter race, side by side: no update lost with the GIL (right), updates lost free-threaded (the same answer is wrong), each explained", async () => {
  const { page } = lab;
  const gil = cell(page, "race-gil");
  await gil.getByTestId("predict-race.gil").getByLabel("800000: no update is lost").check();
  const [v] = await runCell(page, "race-gil");
  assert.equal(await gilOf(page, "race-gil"), "GIL enabled: True");
  assert.deepEqual((await printed(page, "race-gil")).slice(1), ["counter = 800000 (expected 800000)", "lost updates: False"]);
  assert.equal(v.verdict, "right", JSON.stringify(v));
  assert.match(v.text, /never your read-then-write/);
  // The same prediction, free-threaded: the runner got gil: false (the program says so).
  const free = cell(page, "race-free");
  await free.getByTestId("predict-race.free").getByLabel("800000: no update is lost").check();
  const [w] = await runCell(page, "race-free");
  const lines = await printed(page, "race-free");
  assert.equal(lines[0], "GIL enabled: False");
  const [, count] = /^counter = (\d+) \(expected 800000\)$/.exec(lines[1]);
  process.stderr.write(`race cell free-threaded: counter = ${count}\n`);
  const lost = Number(count) < 800000;
  assert.equal(lines[2], `lost updates: ${lost ? "True" : "False"}`);
  // Updates are lost on two cores nearly always; the verdict follows what this run printed.
  assert.equal(w.verdict, lost ? "wrong" : "right", JSON.stringify(w));
  assert.match(w.text, lost ? /Not so\..*a read, an add and a write.*never your code.*threading\.Lock/ : /Run it again/);
  assert.match(await free.getByTestId("lesson-evidence").textContent(), /Thread-1 .*Thread-4 .*ran for .* at the same moment \(free-threaded: their running stretches overlap\)/);
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "2 of 9 experiments run");
  await page.setViewportSize({ width: 360, height: 800 });
  await page.emulateMedia({ colorScheme: "dark" });
  await free.screenshot({ path: join(ARTIFACTS, "lesson-race-free-360-dark.png") });
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.emulateMedia({ colorScheme: null });
});

test("I/O-bound, threads: a prediction that is not a number is said so; 6 s is too high, explained with the overlapping waits", async () => {
  const { page } = lab;
  const c = cell(page, "io-threads");
  const input = c.getByTestId("predict-io-threads.total");
  await input.fill("soon");
  assert.match(await c.locator(".field-error").textContent(), /number of seconds/);
  assert.equal(await input.getAttribute("aria-invalid"), "true");
  assert.ok(await c.getByTestId("lesson-run").isDisabled());
  // By keyboard: type, then Tab reaches Run.
  await input.fill("");
  await input.focus();
  await page.keyboard.type("6");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), "lesson-run");
  const [v] = await runCell(page, "io-threads");
  const lines = await printed(page, "io-threads");
  assert.deepEqual(lines.slice(0, 4), ["Start fetching...", "Start fetching...", "Done fetching!", "Done fetching!"]);
  const total = Number(/^Total time: (\d+\.\d\d) seconds$/.exec(lines[4])[1]);
  assert.ok(total >= 3 && total < 4.5, lines[4]);
  assert.equal(v.verdict, "too_high", JSON.stringify(v));
  assert.match(v.text, new RegExp(`You predicted 6 s; it took ${total.toFixed(2)} s: too high\\.`));
  assert.match(v.text, /3 \+ 3/);
  // The evidence is read from the lanes the timeline draws.
  const evidence = await c.getByTestId("lesson-evidence").textContent();
  assert.match(evidence, /Thread-1 \(fetch_data\) and Thread-2 \(fetch_data\) waited on I\/O for 3\.0\d s and 3\.0\d s, and their waits overlapped for [23]\.\d\d s\./);
  assert.equal(await c.getByTestId("code-lane").count(), 3);
  assert.ok(await input.isDisabled(), "a prediction is locked once run");
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "3 of 9 experiments run");
  await c.screenshot({ path: join(ARTIFACTS, "lesson-io-threads.png") });
});

test("I/O-bound, one after the other: 6 s is right, and the explanation says the waits add up", async () => {
  const { page } = lab;
  const c = cell(page, "io-sequential");
  await c.getByTestId("predict-io-sequential.total").fill("6");
  const [v] = await runCell(page, "io-sequential");
  assert.equal(v.verdict, "right", JSON.stringify(v));
  assert.match(v.text, /You predicted 6 s; it took 6\.\d\d s: right\./);
  assert.match(v.text, /waits add up: 3 \+ 3/);
  assert.match(await c.getByTestId("lesson-evidence").textContent(), /MainThread is the only lane: 2 waits on I\/O \(3\.0\d s, 3\.0\d s\), one after the other/);
  assert.equal(await c.getByTestId("code-lane").count(), 1);
});

test("CPU-bound: both predictions before Run; threads with the GIL are no faster, the Pool is; each verdict follows the measured times", async () => {
  const { page } = lab;
  const c = cell(page, "cpu");
  // "Faster" for the threads: the notebook's misconception.
  await c.getByTestId("predict-cpu.threads").getByLabel("Faster: clearly less time (toward half)").check();
  assert.ok(await c.getByTestId("lesson-run").isDisabled(), "the Pool's prediction is still missing");
  // The radio group works with arrow keys, as any.
  const pool = c.getByTestId("predict-cpu.pool");
  await pool.getByLabel("About the same time").focus();
  await page.keyboard.press("ArrowUp");
  assert.ok(await pool.getByLabel("Faster: clearly less time (toward half)").isChecked());
  const vs = await runCell(page, "cpu");
  const lines = await printed(page, "cpu");
  const secs = (prefix) => Number(new RegExp(`^${prefix}\\s+(\\d+\\.\\d\\d) seconds$`).exec(lines.find((l) => l.startsWith(prefix)))[1]);
  const [seq, threads, pooled] = [secs("One after another:"), secs("Two threads:"), secs("A Pool of two:")];
  assert.equal(lines.at(-1), "Same answers: True");
  process.stderr.write(`cpu cell: one after another ${seq} s, two threads ${threads} s, a Pool of two ${pooled} s\n`);
  // The verdicts follow the times the cell printed. Those are noisy on a 2-core machine shared
  // by several builds, so the times themselves are not asserted; the lanes below are the claim.
  const band = (ratio) => (ratio < 0.8 ? 0 : ratio < 1.25 ? 1 : 2);
  const byQuestion = Object.fromEntries(vs.map((v) => [v.question, v]));
  const verdictFor = ["right", "too_low", "too_low"];
  assert.equal(byQuestion["cpu.threads"].verdict, verdictFor[band(threads / seq)], JSON.stringify(byQuestion));
  assert.equal(byQuestion["cpu.pool"].verdict, verdictFor[band(pooled / seq)], JSON.stringify(byQuestion));
  assert.match(byQuestion["cpu.threads"].text, [/free-threaded/, /one GIL/, /every hand-over/][band(threads / seq)]);
  if (band(threads / seq) > 0) assert.match(byQuestion["cpu.threads"].text, /you expected less time than it took/);
  assert.match(byQuestion["cpu.pool"].text, [/its own GIL/, /busy machine/, /start-up/][band(pooled / seq)]);
  // With the GIL the two threads never ran Python at the same moment.
  const evidence = await c.getByTestId("lesson-evidence").textContent();
  assert.match(evidence, /Thread-1 .*and Thread-2 .*ran for .* and waited for the GIL for \d+\.\d\d s; they ran at the same moment for 0\.00 s/);
  assert.match(evidence, /The Pool's processes, .* ran at the same moment for \d+\.\d\d s\./);
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "5 of 9 experiments run");
  await c.screenshot({ path: join(ARTIFACTS, "lesson-cpu.png") });
});

test("CPU-bound, free-threaded: the same threads without the GIL; 'about the same' is judged by the printed speed-up, the running stretches overlap", async () => {
  const { page } = lab;
  const c = cell(page, "cpu-free");
  // The misconception this time: no GIL, yet no gain.
  await c.getByTestId("predict-cpu.free").getByLabel("About the same time").check();
  const [v] = await runCell(page, "cpu-free");
  const lines = await printed(page, "cpu-free");
  assert.equal(lines[0], "GIL enabled: False");
  const secs = (prefix) => Number(new RegExp(`^${prefix}\\s+(\\d+\\.\\d\\d) s$`).exec(lines.find((l) => l.startsWith(prefix)))[1]);
  const [seq, threads] = [secs("One after another:"), secs("Two threads:")];
  process.stderr.write(`cpu-free cell: one after another ${seq} s, two threads ${threads} s (${lines[3]})\n`);
  const band = (ratio) => (ratio < 0.8 ? 0 : ratio < 1.25 ? 1 : 2);
  const got = band(threads / seq);
  assert.equal(v.verdict, ["too_high", "right", "too_low"][got], JSON.stringify(v));
  assert.match(v.text, [/core of its own/, /two free cores/, /no free second core/][got]);
  // The evidence: the two threads ran at the same moment, which with the GIL (the cell above) they never did.
  const evidence = await c.getByTestId("lesson-evidence").textContent();
  const [, overlap] = /Thread-1 \(count\) and Thread-2 \(count\) ran for \d+\.\d\d s in all, (\d+\.\d\d) s of it at the same moment \(free-threaded/.exec(evidence);
  assert.ok(Number(overlap) > 0, evidence);
  // And what a count cost on a thread without the GIL, against the main thread alone (the single-thread cost).
  const [cost] = /a count on a thread, free-threaded, cost \d+\.\d\u00d7 as much/.exec(evidence);
  process.stderr.write(`cpu-free evidence: overlap ${overlap} s; ${cost}\n`);
  assert.match(await cell(page, "cpu").getByTestId("lesson-evidence").textContent(), /they ran at the same moment for 0\.00 s/);
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "6 of 9 experiments run");
  // Section 7 says the page runs free-threaded Python too, and links to this cell.
  const since = page.locator("section#since");
  assert.match(await since.textContent(), /This page runs both/);
  await since.locator("a[href='#cpu-free']").click();
  await page.waitForFunction(() => location.hash === "#cpu-free");
  await page.setViewportSize({ width: 360, height: 800 });
  await page.emulateMedia({ colorScheme: "dark" });
  await c.screenshot({ path: join(ARTIFACTS, "lesson-cpu-free-360-dark.png") });
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.emulateMedia({ colorScheme: null });
});

test("Memory and crashes: what the main program's list reads after a thread and a process; an exception in a thread, in a process", async () => {
  const { page } = lab;
  const c = cell(page, "shared-list");
  await c.getByTestId("predict-memory.thread").getByLabel("['start', 'from a thread']: the thread changed this very list").check();
  // The misconception: the process changes the same list.
  await c.getByTestId("predict-memory.process").getByLabel("['start', 'from a thread', 'from a process']: the process changed this very list").check();
  const vs = Object.fromEntries((await runCell(page, "shared-list")).map((v) => [v.question, v]));
  assert.deepEqual(await printed(page, "shared-list"), [
    "Inside, the list is ['start', 'from a thread']",
    "After the thread:  ['start', 'from a thread']",
    "Inside, the list is ['start', 'from a thread', 'from a process']",
    "After the process: ['start', 'from a thread']",
  ]);
  assert.equal(vs["memory.thread"].verdict, "right", JSON.stringify(vs));
  assert.match(vs["memory.thread"].text, /one and the same list object/);
  assert.equal(vs["memory.process"].verdict, "wrong", JSON.stringify(vs));
  assert.match(vs["memory.process"].text, /the output shows .*the process changed a copy.*: not so\./);
  assert.match(vs["memory.process"].text, /pickled/);
  assert.match(await c.getByTestId("lesson-evidence").textContent(), /ran in the main program's process \(pid \d+\); Process-1 \(pid \d+\) is a process of its own/);
  await c.screenshot({ path: join(ARTIFACTS, "lesson-memory.png") });

  await cell(page, "crash-thread").getByLabel("The thread ends with a traceback; the main thread goes on").check();
  const [t] = await runCell(page, "crash-thread");
  assert.equal(t.verdict, "right", JSON.stringify(t));
  assert.match(t.text, /excepthook/);
  assert.deepEqual((await printed(page, "crash-thread")).at(-1), "main goes on, alive: False");

  await cell(page, "crash-process").getByLabel("0: the child ended normally").check();
  const [p] = await runCell(page, "crash-process");
  assert.equal(p.verdict, "wrong", JSON.stringify(p));
  assert.match(p.text, /ended with exit code 1/);
  assert.ok((await printed(page, "crash-process")).includes("exit code: 1"));
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "9 of 9 experiments run");
  await cell(page, "crash-process").screenshot({ path: join(ARTIFACTS, "lesson-crash-process.png") });
});

test("the race exercise: its starting code fails the check, with a Lock it passes in 5 runs out of 5", async () => {
  const { page } = lab;
  const x = page.getByTestId("exercise-race-lock");
  const settled = () => page.waitForFunction(() => ["tried", "solved"].includes(document.querySelector("[data-testid=exercise-race-lock]").dataset.state), null, { timeout: 120_000 });
  const start = await x.getByTestId("exercise-code").inputValue();
  await x.getByTestId("exercise-check").click();
  await settled();
  assert.equal(await x.getAttribute("data-state"), "tried");
  const failed = await x.getByTestId("exercise-result").textContent();
  assert.match(failed, /Not yet\. The count was right in 0 runs of 5 \(the check stops at the first wrong one\)\./);
  assert.match(failed, /Run 1: counter = \d+, expected 8000: \d+ updates lost/);
  const fixed = start.replace(
    "        v = counter\n        time.sleep(0)\n        counter = v + 1\n",
    "        with lock:\n            v = counter\n            time.sleep(0)\n            counter = v + 1\n",
  );
  assert.notEqual(fixed, start);
  await x.getByTestId("exercise-code").fill(fixed);
  await x.getByTestId("exercise-check").click();
  await settled();
  const passed = await x.getByTestId("exercise-result").textContent();
  assert.equal(await x.getAttribute("data-state"), "solved", passed);
  assert.match(passed, /Solved\. The count was right in 5 runs of 5\./);
  assert.equal((passed.match(/counter = 8000, as expected/g) ?? []).length, 5);
  await x.screenshot({ path: join(ARTIFACTS, "lesson-exercise.png") });
  // Kept with the progress: after a reload the code that passed is there, marked solved.
  const saved = await page.evaluate((key) => localStorage.getItem(key), KEY);
  assert.equal(JSON.parse(saved).solved["race-lock"], fixed);
  // (In another page with that saved progress: this one keeps its runs' output for the tests after.)
  const again = await lab.browser.newPage();
  await again.goto(BASE_URL);
  await again.evaluate(([key, saved]) => localStorage.setItem(key, saved), [KEY, saved]);
  await again.goto(page.url());
  await again.evaluate(() => window.threadlab.ready);
  const y = again.getByTestId("exercise-race-lock");
  assert.equal(await y.getByTestId("exercise-code").inputValue(), fixed);
  assert.equal(await y.getAttribute("data-state"), "solved");
  assert.match(await y.getByTestId("exercise-status").textContent(), /Solved earlier/);
  await again.close();
  // Start over: the starting code again, no verdict, no longer kept as solved.
  await x.getByTestId("exercise-restore").click();
  assert.equal(await x.getByTestId("exercise-code").inputValue(), start);
  assert.equal(await x.getByTestId("exercise-result").count(), 0);
  assert.equal(JSON.parse(await page.evaluate((key) => localStorage.getItem(key), KEY)).solved["race-lock"], undefined);
});

test("section 6: the differences table is filled from the runs above, each entry linking to the run behind it", async () => {
  const { page } = lab;
  const table = page.getByTestId("lesson-differences");
  const text = (row, col) => table.getByTestId(`difference-${row}-${col}`).textContent();
  const total = /^Total time: (\d+\.\d\d) seconds$/.exec((await printed(page, "io-threads"))[4])[1];
  assert.match(await text(0, "threads"), new RegExp(`^Two waits of 3 s took ${total} s on two threads \\(your run\\); one after the other, 6\\.\\d\\d s \\(your run\\)$`));
  assert.match(await text(0, "processes"), /No cell of this lesson measures it/);
  assert.match(await text(1, "threads"), /^Two threads took \d+\.\d\d\u00d7 the time of the counts one after another \(your run\); free-threaded, \d+\.\d\d\u00d7 \(a speed-up of \d+\.\d\u00d7\) \(your run\), where a count on a thread cost \d+\.\d\u00d7 the same count on the main thread alone$/);
  assert.match(await text(1, "processes"), /^A Pool of two took \d+\.\d\d\u00d7 that time \(your run\)$/);
  assert.match(await text(2, "threads"), /^Shared: the main program saw the thread's append/);
  assert.match(await text(2, "processes"), /^Separate: the process appended to a copy/);
  assert.match(await text(3, "threads"), /^Only that thread ended; the main thread went on/);
  assert.match(await text(3, "processes"), /^The child ended with exit code 1; the parent went on/);
  assert.equal(await table.getByTestId("difference-run").count(), 9);
  // Each entry links to the run behind it: that experiment's box, with its output and verdicts.
  await table.getByTestId("difference-2-processes").getByTestId("difference-run").click();
  await page.waitForFunction(() => location.hash === "#shared-list");
  const top = await cell(page, "shared-list").evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(Math.abs(top) < 40, `the run's box is at the top of the screen (${top} px)`);
  await table.screenshot({ path: join(ARTIFACTS, "lesson-differences.png") });
});

test("Open in the Code view loads the cell there, not run", async () => {
  const { page } = lab;
  await cell(page, "io-sequential").getByTestId("lesson-open").click();
  assert.equal(await page.getByTestId("tab-code").getAttribute("aria-selected"), "true");
  assert.equal(await page.getByTestId("code-source").inputValue(), await readFile(new URL("notebook_sequential.py", PROGRAMS), "utf8"));
  assert.equal(await page.getByTestId("code-status").getAttribute("data-running"), "false");
  await page.getByTestId("tab-lesson").click();
});

test("progress survives a reload; Reset clears it; a corrupt saved value is set aside with a notice", async () => {
  const { page } = lab;
  const saved = JSON.parse(await page.evaluate((key) => localStorage.getItem(key), KEY));
  assert.equal(saved.version, 1);
  assert.deepEqual(Object.keys(saved.outcomes).sort(), ["cpu", "cpu-free", "crash-process", "crash-thread", "io-sequential", "io-threads", "race-free", "race-gil", "shared-list"]);
  await page.reload();
  await page.evaluate(() => window.threadlab.ready);
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "9 of 9 experiments run");
  const c = cell(page, "io-threads");
  assert.equal(await c.getByTestId("predict-io-threads.total").inputValue(), "6");
  assert.ok(await c.getByTestId("predict-io-threads.total").isDisabled());
  const [v] = await verdicts(page, "io-threads");
  assert.equal(v.verdict, "too_high");
  assert.match(await c.getByTestId("lesson-evidence").textContent(), /The evidence, from your run:.*overlapped/);
  assert.ok(await cell(page, "cpu").getByTestId("predict-cpu.threads").getByLabel("Faster: clearly less time (toward half)").isChecked());
  // Predict again: that experiment only starts over.
  await c.getByTestId("lesson-again").click();
  assert.equal(await c.getByTestId("predict-io-threads.total").inputValue(), "");
  assert.ok(await c.getByTestId("lesson-run").isDisabled());
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "8 of 9 experiments run");
  // Reset: everything.
  await page.getByTestId("lesson-reset").click();
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "0 of 9 experiments run");
  assert.match(await page.getByTestId("lesson-notice").textContent(), /cleared/);
  assert.equal(await page.getByTestId("lesson-verdict").count(), 0);
  assert.ok(await cell(page, "cpu").getByTestId("predict-cpu.threads").getByLabel("About the same time").isEnabled());
  assert.equal(await page.evaluate((key) => localStorage.getItem(key), KEY), null);
  await page.reload();
  await page.evaluate(() => window.threadlab.ready);
  assert.equal(await page.getByTestId("lesson-progress").textContent(), "0 of 9 experiments run");
  // A damaged value (or one from another version) never breaks the page.
  for (const [value, why] of [["{\"version\":1,", /not readable/], ["{\"version\":7}", /another version of the lesson \(7\)/]]) {
    await page.evaluate(([key, value]) => localStorage.setItem(key, value), [KEY, value]);
    await page.reload();
    await page.evaluate(() => window.threadlab.ready);
    const notice = await page.getByTestId("lesson-notice").textContent();
    assert.match(notice, /Your saved lesson progress was set aside/);
    assert.match(notice, why);
    assert.equal(await page.getByTestId("lesson-progress").textContent(), "0 of 9 experiments run");
  }
  await page.evaluate((key) => localStorage.removeItem(key), KEY);
});

test("the lesson is not in the page's first load: its module is fetched when the tab is first opened", async () => {
  const page = await lab.browser.newPage();
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto(BASE_URL);
  await page.evaluate(() => window.threadlab.ready);
  await page.evaluate(() => window.threadlab.run({ engine: "threads", workload: "io", tasks: 2, duration_ms: 50, workers: 2 }));
  assert.deepEqual(fetched.filter((p) => p.startsWith("/pkg-lesson/")), [], "nothing of the lesson before its tab");
  await page.getByTestId("tab-lesson").click();
  await page.locator("[data-testid=lesson] section#crashes").waitFor();
  assert.ok(fetched.includes("/pkg-lesson/threadlab_lesson_bg.wasm"), fetched.join(" "));
  await page.close();
});

test("?cell=io-threads&embed=1: the cell alone, in a frame on another origin, runs its threads there", async () => {
  const page = await lab.browser.newPage({ viewport: { width: 800, height: 1000 } });
  await page.goto(COURSE);
  const src = new URL("?cell=io-threads&embed=1", BASE_URL).href;
  await page.evaluate((src) => {
    const frame = Object.assign(document.createElement("iframe"), { id: "cell", src, width: "100%", height: "900", title: "A cell" });
    frame.allow = "cross-origin-isolated";
    document.body.append(frame);
  }, src);
  const frame = page.frameLocator("#cell");
  await frame.getByTestId("experiment-io-threads").waitFor();
  const inner = page.frames().find((f) => f.url().includes("cell=io-threads"));
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false, "the course page is not isolated");
  assert.equal(await inner.evaluate(() => self.crossOriginIsolated), true, "the embedded cell is");
  assert.equal(await frame.locator("[data-testid^=experiment-]").count(), 1, "one cell alone");
  assert.equal(await frame.locator("#lesson-title").textContent(), "2. I/O-bound work: waiting side by side");
  assert.equal(await frame.getByTestId("lesson-whole").getAttribute("href"), "?lesson=threads-and-processes#io-bound");
  // The URL keeps the cell: a reload or a copied link shows it again.
  assert.equal(await inner.evaluate(() => new URLSearchParams(location.search).get("cell")), "io-threads");
  await frame.getByTestId("predict-io-threads.total").fill("3");
  await frame.getByTestId("lesson-run").click();
  await inner.waitForFunction(() => document.querySelector("[data-testid=experiment-io-threads]").dataset.state === "done", null, { timeout: 90_000 });
  const [v] = await frame.getByTestId("lesson-verdict").evaluateAll((vs) => vs.map((v) => v.dataset.verdict));
  assert.equal(v, "right");
  assert.match(await frame.getByTestId("lesson-evidence").textContent(), /waited on I\/O for 3\.0\d s and 3\.0\d s, and their waits overlapped for [23]\.\d\d s/);
  await page.screenshot({ path: join(ARTIFACTS, "lesson-cell-embedded.png") });
  await page.close();
});

test("the Embed dialog on the Lesson tab offers a link to the section and any one cell to embed", async () => {
  const page = await lab.browser.newPage();
  await page.goto(new URL("?lesson=threads-and-processes#memory", BASE_URL).href);
  await page.evaluate(() => window.threadlab.ready);
  await page.locator("[data-testid=lesson] section#memory").waitFor();
  await page.getByTestId("embed").click();
  assert.match(await page.getByTestId("embed-link").inputValue(), /\?panel=lesson&.*&lesson=threads-and-processes#memory$/);
  const page_ = new URL("./", BASE_URL).href;
  assert.equal(await page.getByTestId("embed-snippet").inputValue(),
    `<iframe src="${page_}?cell=race-gil&amp;embed=1" width="100%" height="900" style="border:0" allow="cross-origin-isolated" title="ThreadLab: counter += 1 from 4 threads, no Lock, with the GIL"></iframe>`);
  await page.getByTestId("embed-cell").selectOption({ label: "One list, given to a thread and then to a process" });
  assert.match(await page.getByTestId("embed-snippet").inputValue(), /\?cell=shared-list&amp;embed=1" /);
  await page.close();
});

test("a #section link opens the lesson at that section", async () => {
  for (const path of ["?lesson=threads-and-processes#cpu-bound", "#cpu-bound"]) {
    const page = await lab.browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(new URL(path, BASE_URL).href);
    await page.evaluate(() => window.threadlab.ready);
    assert.equal(await page.getByTestId("tab-lesson").getAttribute("aria-selected"), "true", path);
    await page.waitForFunction(() => {
      const section = document.getElementById("cpu-bound");
      return section && Math.abs(section.getBoundingClientRect().top) < 40;
    }, null, { timeout: 5_000 });
    assert.ok(page.url().endsWith("#cpu-bound"), page.url());
    await page.close();
  }
});

test("from 360 px to 1280 px, light and dark: nothing wider than the screen, axe clean", async () => {
  for (const scheme of ["light", "dark"]) {
    const page = await lab.browser.newPage({ colorScheme: scheme });
    await page.goto(new URL("?lesson=threads-and-processes", BASE_URL).href);
    await page.evaluate(() => window.threadlab.ready);
    await cell(page, "io-threads").getByTestId("predict-io-threads.total").fill("3");
    const [v] = await runCell(page, "io-threads");
    assert.equal(v.verdict, "right", JSON.stringify(v));
    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(150);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${scheme} ${width}px: ${overflow}px wider than the screen`);
      await page.screenshot({ path: join(ARTIFACTS, `lesson-${width}-${scheme}.png`), fullPage: true });
      // A full page 360 px wide is too tall to look at: its top and the cell that ran, too.
      if (width === 360) {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.screenshot({ path: join(ARTIFACTS, `lesson-360-${scheme}-top.png`) });
        await cell(page, "io-threads").screenshot({ path: join(ARTIFACTS, `lesson-360-${scheme}-cell.png`) });
      }
      assert.deepEqual(await axe(page), [], `${scheme} ${width}px`);
    }
    await page.close();
  }
});

expectNoProblems(lab);
