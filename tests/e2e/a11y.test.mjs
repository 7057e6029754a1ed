// Accessibility and exports: a run done with the keyboard only, focus always visible;
// an axe-core scan of every view in light and dark; the timeline as a table; reduced
// motion; and the downloads (JSON, CSV, SVG, PNG) checked against the run itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { axe, bars, expectNoProblems, launch, openLab, overlap, panel, useLab } from "./harness.mjs";

const lab = useLab();

/** What has the focus: a short description, and whether a focus ring is drawn around it. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    // A radio of a choice card is hidden under the card, which draws the ring (:focus-within).
    const ringed = el.closest(".choice") ?? el;
    const style = getComputedStyle(ringed);
    return {
      tag: el.tagName.toLowerCase(),
      name: el.getAttribute("name"),
      value: el.value,
      id: el.id,
      testid: el.dataset?.testid ?? null,
      text: (el.textContent ?? "").trim().slice(0, 40),
      ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    };
  });

/** Presses Tab until `wanted(focus)` holds; every stop on the way must show a focus ring. */
async function tabTo(page, wanted, what) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const focus = await focused(page);
    assert.ok(focus.ring, `no visible focus on ${JSON.stringify(focus)}`);
    if (wanted(focus)) return focus;
  }
  throw new Error(`Tab never reached ${what}`);
}


test("an experiment set up and run with the keyboard alone, focus visible at every stop", async () => {
  const { page } = lab;
  await page.locator("body").focus();
  // Workload: the radio group is entered with Tab and changed with the arrow keys.
  await tabTo(page, (f) => f.name === "workload", "the workload choice");
  for (let i = 0; i < 2 && (await page.evaluate(() => document.activeElement.value)) !== "io"; i++) await page.keyboard.press("ArrowLeft");
  assert.equal(await page.locator("input[name=workload]:checked").getAttribute("value"), "io");
  await tabTo(page, (f) => f.name === "engine", "the engine choice");
  for (let i = 0; i < 3 && !(await page.getByTestId("engine-threads").isChecked()); i++) await page.keyboard.press("ArrowRight");
  assert.ok(await page.getByTestId("engine-threads").isChecked(), "the arrow keys chose Threads");
  const type = async (id, value) => {
    await tabTo(page, (f) => f.id === id, `the field ${id}`);
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type(value);
  };
  await type("tasks", "3");
  await type("duration", "250");
  await type("workers", "3");
  const before = await panel(page, "threads").getAttribute("data-run");
  await tabTo(page, (f) => f.testid === "run", "the Run button");
  await page.keyboard.press("Enter");
  await page.waitForFunction(
    (before) => {
      const p = document.querySelector("[data-testid=panel-threads]");
      return p && p.dataset.live === "false" && p.dataset.run && p.dataset.run !== before;
    },
    before,
    { timeout: 60_000 },
  );
  const drawn = await bars(page, "threads");
  assert.equal(drawn.length, 3);
  assert.equal(new Set(drawn.map((b) => b.lane)).size, 3, "three threads");
  assert.ok(overlap(drawn[0], drawn[1]) && overlap(drawn[1], drawn[2]), JSON.stringify(drawn));

  // The same run as a table, opened from the keyboard.
  await tabTo(page, (f) => f.tag === "summary" && /Table of the 3 tasks/.test(f.text), "the table of the threads run");
  await page.keyboard.press("Enter");
  const table = page.getByTestId("table-threads");
  assert.equal(await table.getAttribute("open"), "");
  const rows = await table.locator("tbody tr").allTextContents();
  assert.equal(rows.length, 3);
  assert.match(rows[0], /task 0.*thread \d.*ok/);
});

test("the table's figures are the drawn bars' figures", async () => {
  const { page } = lab;
  const run = await page.evaluate(() => window.threadlab.run({ engine: "threads", workload: "cpu", tasks: 2, units: 2, gil: true }));
  const table = page.getByTestId("table-threads");
  await table.locator("summary").click();
  const cells = await table.locator("tbody tr").evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  assert.equal(cells.length, run.tasks.length);
  for (const [i, task] of run.tasks.entries()) {
    assert.equal(cells[i][0], `task ${task.id}`);
    assert.equal(cells[i][1], `thread ${task.lane}`);
    // Running, waiting for the GIL, waiting on I/O: the columns are there for a GIL run.
    assert.equal(cells[i].length, 9);
    assert.match(cells[i][8], /ok, result checked/);
  }
});

test("downloads: JSON is the API's result, CSV has a row per task, SVG draws every bar, PNG is an image", async () => {
  const { page } = lab;
  const run = await page.evaluate(() => window.threadlab.run({ engine: "processes", workload: "io", tasks: 3, duration_ms: 120, workers: 3 }));
  const download = async (format) => {
    const [file] = await Promise.all([page.waitForEvent("download"), page.getByTestId(`export-processes-${format}`).click()]);
    assert.equal(file.suggestedFilename(), `threadlab-run${run.run}-processes-io.${format}`);
    return readFile(await file.path());
  };
  const json = JSON.parse(await download("json"));
  assert.equal(json.run, run.run);
  assert.deepEqual(json.tasks, run.tasks);

  const csv = (await download("csv")).toString().trim().split("\n");
  assert.equal(csv[0].split(",")[0], "run");
  assert.equal(csv.length, 1 + run.tasks.length);
  const header = csv[0].split(",");
  for (const [i, task] of run.tasks.entries()) {
    const row = Object.fromEntries(csv[i + 1].split(",").map((v, k) => [header[k], v]));
    assert.equal(Number(row.task), task.id);
    assert.equal(Number(row.lane), task.lane);
    assert.ok(Math.abs(Number(row.start_ms) - task.start_ms) < 0.001);
    assert.ok(Math.abs(Number(row.io_ms) - task.segments.filter((s) => s.state === "io").reduce((t, s) => t + s.end_ms - s.start_ms, 0)) < 0.002);
  }

  const svg = (await download("svg")).toString();
  assert.match(svg, /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/data-testid="bar"/g) ?? []).length, run.tasks.length);
  assert.match(svg, /ThreadLab · Processes · 3 × I\/O-bound/);
  assert.match(svg, /style="fill: /, "the page's styles are written into the file");

  const png = await download("png");
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 2000, "2,000 px wide, whatever width the timeline was drawn at");
  // A drawn image, not an empty canvas: it compresses to more than a blank one would.
  assert.ok(png.length > 5000, `${png.length} bytes`);
});

test("downloads at a phone's 360 px: the caption is wrapped whole inside the drawing's width, in the SVG and the PNG", async () => {
  const { page } = lab;
  await page.setViewportSize({ width: 360, height: 800 });
  try {
    const run = await page.evaluate(() => window.threadlab.run({ engine: "processes", workload: "io", tasks: 3, duration_ms: 120, workers: 3 }));
    await page.waitForFunction((n) => document.querySelector("[data-testid=panel-processes]")?.dataset.run === String(n), run.run);
    const download = async (format) => {
      const [file] = await Promise.all([page.waitForEvent("download"), page.getByTestId(`export-processes-${format}`).click()]);
      return readFile(await file.path());
    };
    const svg = (await download("svg")).toString();
    // The file drawn in the page, its caption's lines measured in the page's fonts.
    const caption = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, "image/svg+xml");
      const el = document.importNode(doc.documentElement, true);
      document.body.append(el);
      try {
        const [x, y, width, height] = el.getAttribute("viewBox").split(/\s+/).map(Number);
        const spans = [...el.querySelectorAll("[data-testid=caption] tspan")];
        const lines = spans.map((t) => {
          const box = t.getBBox();
          return { text: t.textContent, left: box.x, right: box.x + box.width, top: box.y, bottom: box.y + box.height };
        });
        return { x, y, width, height, lines, pixels: Number(el.getAttribute("height")) };
      } finally {
        el.remove();
      }
    }, svg);
    assert.ok(caption.width < 360, `drawn ${caption.width} px wide at a 360 px viewport`);
    const whole = `ThreadLab · Processes · 3 × I/O-bound · 120 ms wait`;
    const words = (s) => s.replaceAll(" · ", " ").split(" ");
    assert.deepEqual(words(caption.lines.map((l) => l.text).join(" ")).slice(0, words(whole).length), words(whole), JSON.stringify(caption.lines));
    assert.ok(caption.lines.length >= 2, `a 300 px drawing needs more than one line: ${JSON.stringify(caption.lines)}`);
    for (const l of caption.lines) {
      assert.ok(l.left >= caption.x && l.right <= caption.x + caption.width, `${JSON.stringify(l)} outside 0…${caption.width}`);
      // Above the drawing (which starts at y = 0), inside the image.
      assert.ok(l.top >= caption.y && l.bottom <= 0.5, `${JSON.stringify(l)} not in the caption's ${caption.y}…0`);
    }
    const png = await download("png");
    assert.equal(png.readUInt32BE(16), 2000);
    // The PNG is the SVG scaled to 2,000 px: its height has the caption's extra lines.
    assert.equal(png.readUInt32BE(20), Math.ceil(caption.height * (2000 / caption.width)));
  } finally {
    await page.setViewportSize({ width: 1400, height: 1000 });
  }
});

test("axe-core finds no serious or critical violation in any view, light or dark", async () => {
  const browser = await launch();
  try {
    const found = [];
    for (const colorScheme of ["light", "dark"]) {
      const { page } = await openLab(browser, "?");
      await page.emulateMedia({ colorScheme });
      await page.evaluate(() => window.threadlab.run({ engine: "threads", workload: "cpu", tasks: 2, units: 1, gil: true }));
      await page.getByTestId("table-threads").locator("summary").click();
      found.push(...(await axe(page)).map((v) => `${colorScheme}, lab: ${v}`));
      await page.getByRole("button", { name: "Embed" }).click();
      found.push(...(await axe(page)).map((v) => `${colorScheme}, embed dialog: ${v}`));
      await page.getByRole("button", { name: "Close" }).click();
      await page.getByTestId("tab-refcount").click();
      await page.getByRole("button", { name: "Step", exact: true }).click();
      await page.getByRole("button", { name: "Step", exact: true }).click();
      found.push(...(await axe(page)).map((v) => `${colorScheme}, reference counts: ${v}`));
      await page.close();
      const embedded = await openLab(browser, "?embed=1");
      await embedded.page.emulateMedia({ colorScheme });
      found.push(...(await axe(embedded.page)).map((v) => `${colorScheme}, ?embed=1: ${v}`));
      await embedded.page.close();
    }
    assert.deepEqual(found, []);
  } finally {
    await browser.close();
  }
});

test("reduced motion: the heartbeat fades instead of swelling", async () => {
  const { page } = lab;
  const dot = page.locator(".heartbeat .dot");
  const sample = () => dot.evaluate((d) => ({ transform: getComputedStyle(d).transform, opacity: Number(getComputedStyle(d).opacity) }));
  const over = async () => {
    const seen = [];
    for (let i = 0; i < 12; i++) {
      seen.push(await sample());
      await page.waitForTimeout(90);
    }
    return seen;
  };
  const moving = await over();
  assert.ok(new Set(moving.map((s) => s.transform)).size > 1, "the dot swells and shrinks");
  await page.emulateMedia({ reducedMotion: "reduce" });
  try {
    const calm = await over();
    assert.ok(calm.every((s) => s.transform === "none"), JSON.stringify(calm));
    assert.ok(new Set(calm.map((s) => s.opacity)).size > 1, "it fades in and out instead");
  } finally {
    await page.emulateMedia({ reducedMotion: "no-preference" });
  }
});

expectNoProblems(lab);
