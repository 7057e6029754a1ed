// A sweep of bad input through the API: every field, every kind of bad value, a clear
// message naming the field each time, and never a console error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { expectNoProblems, useLab } from "./harness.mjs";

const lab = useLab();

const good = { engine: "processes", workload: "io", tasks: 2, duration_ms: 20, workers: 2 };
const BAD = [-1, 0.5, 1e12, NaN, "lots", "", null, true, [1], { x: 1 }];
// field -> the words its message starts with
const FIELDS = {
  engine: /^engine must be one of/,
  workload: /^workload must be one of/,
  tasks: /^Tasks must be a whole number from 1 to 64/,
  duration_ms: /^Duration must be a whole number from 1 to 10000 ms/,
  workers: /^Workers must be a whole number from 1 to 32/,
  gil: /^gil must be true or false/,
  switch_interval_ms: /^Switch interval must be a number of ms from 0\.1 to 100/,
  timeout_ms: /^Timeout must be a whole number from 100 to 60000 ms/,
};

test("every bad value of every field is refused with that field's message", async () => {
  for (const [field, message] of Object.entries(FIELDS)) {
    for (const value of BAD) {
      // Two of these are valid for one field each.
      if ((field === "gil" && value === true) || (field === "switch_interval_ms" && value === 0.5)) continue;
      const config = { ...good, [field]: value };
      const error = await lab.page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), config);
      assert.match(error, message, `${field} = ${JSON.stringify(value)}`);
    }
  }
});

test("missing required fields are named, and a config that is not an object is refused", async () => {
  for (const field of ["engine", "workload", "tasks", "duration_ms"]) {
    const config = { ...good };
    delete config[field];
    const error = await lab.page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), config);
    assert.match(error, FIELDS[field], `without ${field}`);
  }
  for (const config of [undefined, null, 42, "threads", [1, 2]]) {
    const error = await lab.page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), config);
    assert.match(error, /^engine must be one of/, JSON.stringify(config));
  }
});

test("values are quoted back short and plain", async () => {
  const message = (c) => lab.page.evaluate((c) => window.threadlab.run(c).then(() => "resolved", (e) => e.message), c);
  // Was `got JsValue("panic")` twice, once as the kind and once as the id.
  assert.equal(
    await message({ ...good, bad_task: "panic" }),
    'bad_task must be null or an object like {id: 1, kind: "panic"}; got "panic".',
  );
  assert.match(await message({ ...good, bad_task: [1, "panic"] }), /^bad_task must be null or an object .*; got a list\.$/);
  // Was 300 digits of 0.000…1.
  assert.equal(await message({ ...good, duration_ms: 1e-300 }), "Duration must be a whole number from 1 to 10000 ms; got 1e-300.");
  assert.match(await message({ ...good, tasks: Infinity }), /; got Infinity\.$/);
  // Was echoed whole: 100,000 characters.
  const huge = await message({ ...good, engine: "x".repeat(100_000) });
  assert.equal(huge, `engine must be one of "main", "threads", "processes"; got "${"x".repeat(40)}"… (100000 characters).`);
  // The page shows the same short text next to its field.
  await lab.page.getByTestId("engine-main").check();
  await lab.page.getByLabel("Each task waits (ms)", { exact: true }).fill("1".repeat(5000));
  await lab.page.getByTestId("run").click();
  const shown = await lab.page.getByTestId("duration-error").textContent();
  assert.ok(shown.length < 160, `${shown.length} characters: ${shown.slice(0, 200)}`);
  assert.match(shown, /… \(5000 characters\)\.$/);
  await lab.page.getByLabel("Each task waits (ms)", { exact: true }).fill("20");
});

test("after all that, a good run still works", async () => {
  const result = await lab.page.evaluate((c) => window.threadlab.run(c), good);
  assert.deepEqual(result.tasks.map((t) => t.status), ["ok", "ok"]);
});

expectNoProblems(lab);
