// Layout: every view fits from a 360 px phone to a 1920 px beamer without scrolling sideways,
// before and after runs; the timeline is drawn at the width it is shown; Run and the heartbeat
// stay in view on a laptop; an embed shows Run and its result first, settings folded.
// Screenshots (light and dark) land in $ARTIFACTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { ARTIFACTS, BASE_URL, launch } from "./harness.mjs";

const AXE = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
});

async function open(query, { width, height }) {
  await page.setViewportSize({ width, height });
  await page.goto(new URL(`?${query}`, BASE_URL).href);
  await page.evaluate(() => window.threadlab.ready);
  // Let the layout settle: the timeline measures its box and draws again.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** How far the page scrolls sideways (0 when it fits), and what sticks out. */
const sideways = () =>
  page.evaluate(() => {
    const doc = document.scrollingElement;
    const overflow = doc.scrollWidth - doc.clientWidth;
    const culprits = overflow <= 0 ? [] : [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} right=${Math.round(el.getBoundingClientRect().right)}`);
    return { overflow, culprits };
  });

async function assertFits(what) {
  const { overflow, culprits } = await sideways();
  assert.ok(overflow <= 0, `${what}: the page scrolls ${overflow} px sideways; past the edge: ${culprits.join(", ")}`);
}

/** axe-core's serious and critical findings (a box that scrolls must take the focus). */
async function axe() {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** A short I/O run on threads and one on the main thread, through the API (the page shows them). */
async function runBoth() {
  for (const engine of ["threads", "main"]) {
    const before = await page.getAttribute(`[data-testid=panel-${engine}]`, "data-run").catch(() => null);
    await page.evaluate((engine) => window.threadlab.run({ engine, workload: "io", tasks: 2, duration_ms: 200 }), engine);
    await page.waitForFunction(
      ([engine, before]) => {
        const p = document.querySelector(`[data-testid=panel-${engine}]`);
        return p && p.dataset.live === "false" && p.dataset.run && p.dataset.run !== before;
      },
      [engine, before],
    );
  }
}

/** Whether the element's box lies within the viewport, with the box for the message. */
async function inView(locator) {
  const box = await locator.boundingBox();
  const { width, height } = page.viewportSize();
  return { box, shown: !!box && box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height };
}

const WIDTHS = [360, 768, 1280, 1920];

for (const width of WIDTHS) {
  const height = width >= 1920 ? 1080 : 800;
  test(`nothing scrolls sideways at ${width} px: lab, reference counts and embed, before and after runs`, async () => {
    await open("", { width, height });
    await assertFits(`${width} px, lab`);
    await runBoth();
    // The tables of the tasks are the widest thing on the page: open them.
    for (const engine of ["threads", "main"]) await page.getByTestId(`table-${engine}`).locator("summary").click();
    await assertFits(`${width} px, lab after runs, tables open`);
    // Where boxes scroll inside the page, the keyboard must be able to scroll them.
    if (width === 360) assert.deepEqual(await axe(), [], "axe, lab at 360 px");

    await open("panel=refcount", { width, height });
    await assertFits(`${width} px, reference counts`);
    await page.getByTestId("refcount-end").click();
    await page.getByText("The heap as a table").click();
    for (const variant of ["plain", "gil", "atomic"]) {
      await page.evaluate((variant) => window.threadlab.race({ threads: 2, pairs: 20000, variant }), variant);
    }
    await page.waitForFunction(() => !document.querySelector("[data-testid=race-atomic] .muted"));
    await assertFits(`${width} px, reference counts after the script and the race`);
    if (width === 360) assert.deepEqual(await axe(), [], "axe, reference counts at 360 px");

    await open("embed=1", { width, height });
    await assertFits(`${width} px, embed`);
    await runBoth();
    await assertFits(`${width} px, embed after runs`);
  });
}

test("the timeline is drawn at the width it is shown: labels keep their size and do not overlap", async () => {
  for (const width of [360, 1280]) {
    await open("", { width, height: 800 });
    await runBoth();
    const drawing = await page.locator("[data-testid=panel-threads] svg.lanes").evaluate((svg) => {
      const box = svg.getBoundingClientRect();
      const ticks = [...svg.querySelectorAll(".tick text")].map((t) => t.getBoundingClientRect());
      return {
        shown: box.width,
        left: box.left,
        right: box.right,
        drawn: svg.viewBox.baseVal.width,
        ticks: ticks.map((r) => ({ left: r.left, right: r.right, height: r.height })),
        fontSize: parseFloat(getComputedStyle(svg.querySelector(".tick text")).fontSize),
      };
    });
    assert.ok(Math.abs(drawing.shown - drawing.drawn) <= 1, `${width} px: drawn ${drawing.drawn} wide, shown ${drawing.shown}`);
    assert.ok(drawing.fontSize >= 12, `${width} px: axis labels ${drawing.fontSize} px`);
    assert.ok(drawing.ticks.length >= 2, JSON.stringify(drawing.ticks));
    for (let i = 1; i < drawing.ticks.length; i++) {
      assert.ok(drawing.ticks[i - 1].right + 4 <= drawing.ticks[i].left, `${width} px: axis labels overlap ${JSON.stringify(drawing.ticks)}`);
    }
    const last = drawing.ticks.at(-1);
    assert.ok(last.right <= drawing.right + 0.5, `${width} px: the last axis label ends at ${last.right}, past the drawing's ${drawing.right}`);
  }
});

for (const [width, height] of [[768, 1024], [1280, 800], [1920, 1080]]) {
  test(`at ${width}×${height} Run and the heartbeat are in view, also scrolled to the end of the page`, async () => {
    await open("", { width, height });
    for (const where of ["top", "bottom"]) {
      if (where === "bottom") await page.evaluate(() => window.scrollTo(0, document.scrollingElement.scrollHeight));
      for (const [name, locator] of [["Run", page.getByTestId("run")], ["the heartbeat", page.locator(".heartbeat")]]) {
        const { box, shown } = await inView(locator);
        assert.ok(shown, `${name} at the ${where} of the page: ${JSON.stringify(box)} in ${width}×${height}`);
      }
    }
    if (width === 1280) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(ARTIFACTS, "layout-1280.png") });
      await runBoth();
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({ path: join(ARTIFACTS, "layout-1280-dark.png") });
      await page.emulateMedia({ colorScheme: "light" });
    }
  });
}

for (const [width, query] of [[360, ""], [360, "panel=refcount"], [375, ""], [360, "embed=1"]]) {
  test(`at ${width} px (${query || "lab"}) each tab's label is one line and every tab is in view`, async () => {
    await open(query, { width, height: 800 });
    const tabs = await page.locator("[role=tab]").evaluateAll((els) =>
      els.map((el) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        // One line box per line of text: distinct tops of the text's rectangles.
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        const style = getComputedStyle(el);
        const text = range.getBoundingClientRect();
        const box = el.getBoundingClientRect();
        return {
          label: el.textContent,
          lines: tops.size,
          textHeight: text.height,
          lineHeight: parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2,
          left: box.left,
          right: box.right,
        };
      }),
    );
    // An embed has no Lesson tab (src/web/app/mod.rs).
    const labels = ["Threads & processes", "Refcounts", "Code", "Lesson"];
    assert.deepEqual(tabs.map((t) => t.label), query === "embed=1" ? labels.slice(0, 3) : labels);
    for (const t of tabs) {
      assert.equal(t.lines, 1, `${JSON.stringify(t)} wraps`);
      assert.ok(t.textHeight <= t.lineHeight * 1.5, `${JSON.stringify(t)}: taller than one line`);
      assert.ok(t.left >= 0 && t.right <= width, `${JSON.stringify(t)} outside the ${width} px viewport`);
    }
    if (!query) await page.screenshot({ path: join(ARTIFACTS, `layout-${width}-tabs.png`), clip: { x: 0, y: 0, width, height: 200 } });
  });
}

test("a phone, light and dark (screenshots)", async () => {
  await open("", { width: 375, height: 800 });
  await runBoth();
  await page.screenshot({ path: join(ARTIFACTS, "layout-375.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(ARTIFACTS, "layout-375-dark.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
  await open("panel=refcount", { width: 375, height: 800 });
  await page.getByTestId("refcount-end").click();
  await page.evaluate(() => window.threadlab.race({ threads: 2, pairs: 20000, variant: "plain" }));
  await page.waitForFunction(() => !document.querySelector("[data-testid=race-plain] .muted"));
  await page.screenshot({ path: join(ARTIFACTS, "layout-375-refcount.png"), fullPage: true });
});

test("an embed at 400×760 shows the experiment folded, Run, then its result, all above the fold", async () => {
  await open("embed=1&engine=threads&workload=io&tasks=2&duration_ms=200&workers=2", { width: 400, height: 760 });
  const settings = page.getByTestId("settings");
  assert.equal(await settings.evaluate((d) => d.open), false, "settings folded");
  assert.equal((await page.getByTestId("settings-summary").textContent()).trim(), "Threads · I/O · 2 tasks × 200 ms");
  const run = await inView(page.getByTestId("run"));
  assert.ok(run.shown, `Run at ${JSON.stringify(run.box)} in 400×760`);
  await page.getByTestId("run").click();
  await page.waitForFunction(() => {
    const p = document.querySelector("[data-testid=panel-threads]");
    return p && p.dataset.live === "false" && p.dataset.run;
  });
  const bars = page.locator("[data-testid=panel-threads] [data-testid=bar]");
  assert.equal(await bars.count(), 2);
  for (const bar of await bars.all()) {
    const { box, shown } = await inView(bar);
    assert.ok(shown, `a bar of the result at ${JSON.stringify(box)} in 400×760`);
  }
  await page.screenshot({ path: join(ARTIFACTS, "embed-400.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(ARTIFACTS, "embed-400-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  // The settings unfold, and the form works as on the page.
  await settings.locator("summary").click();
  assert.equal(await settings.evaluate((d) => d.open), true);
  await page.getByLabel("Tasks", { exact: true }).fill("3");
  assert.equal((await page.getByTestId("settings-summary").textContent()).trim(), "Threads · I/O · 3 tasks × 200 ms");
  await assertFits("embed with its settings open");
  // Folded again, a field that needs fixing unfolds them, and they stay open while it is fixed.
  await settings.locator("summary").click();
  assert.equal(await settings.evaluate((d) => d.open), false);
  await page.evaluate(() => window.threadlab.run({ engine: "threads", workload: "io", tasks: 0, duration_ms: 200 }).catch(() => {}));
  await page.getByTestId("tasks-error").waitFor();
  assert.equal(await settings.evaluate((d) => d.open), true, "unfolded to show the error");
  await page.getByLabel("Tasks", { exact: true }).fill("2");
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  assert.equal(await page.getByTestId("tasks-error").count(), 0);
  assert.equal(await settings.evaluate((d) => d.open), true, "still open once fixed");
});

test("no console error and no page error", () => {
  assert.deepEqual(problems, []);
});
