// Shared set-up of the end-to-end tests: Debian's Chromium driven by playwright-core,
// and a page object that fails the test on any console error or uncaught page error.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { tmpdir } from "node:os";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

export const BASE_URL = process.env.THREADLAB_URL ?? "http://127.0.0.1:8080/";
export const ARTIFACTS = process.env.ARTIFACTS ?? tmpdir();

export async function launch() {
  // As root Chromium needs --no-sandbox; the rest keeps it from calling home on a closed
  // network. Playwright gives each launch a fresh, empty profile of its own.
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Opens the playground and waits for `window.threadlab.ready`. */
export async function openLab(browser, path = "", base = BASE_URL) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    // Logged by wasm-bindgen's glue when init is called the old way (each worker start, issue 12).
    else if (m.text().includes("deprecated parameters")) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The server sends a strict Content-Security-Policy: record anything it blocks.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(new URL(path, base).href);
  await page.evaluate(() => window.threadlab.ready);
  return { page, problems };
}

/** The panel of one engine on the timeline. */
export const panel = (page, engine) => page.getByTestId(`panel-${engine}`);

/** Runs the form on `engine` with the Run button and waits for that panel's new result. */
export async function runThroughUi(page, engine, { workload, tasks, size }) {
  await page.locator(`input[name=workload][value=${workload}]`).check();
  await page.getByTestId(`engine-${engine}`).check();
  await page.getByLabel("Tasks", { exact: true }).fill(String(tasks));
  const sizeLabel = workload === "io" ? "Each task waits (ms)" : "Each task computes for about (ms)";
  await page.getByLabel(sizeLabel, { exact: true }).fill(String(size));
  if (engine !== "main") await page.getByLabel("Workers", { exact: true }).fill(String(tasks));
  const before = await panel(page, engine).getAttribute("data-run");
  await page.getByTestId("run").click();
  await page.waitForFunction(
    ([engine, before]) => {
      const p = document.querySelector(`[data-testid=panel-${engine}]`);
      return p && p.dataset.live === "false" && p.dataset.run && p.dataset.run !== before;
    },
    [engine, before],
    { timeout: 60_000 },
  );
  return bars(page, engine);
}

/** The bars drawn for an engine, as numbers. */
export async function bars(page, engine) {
  return panel(page, engine)
    .getByTestId("bar")
    .evaluateAll((nodes) =>
      nodes.map((n) => ({
        id: Number(n.dataset.id),
        lane: Number(n.dataset.lane),
        start: Number(n.dataset.start),
        end: Number(n.dataset.end),
        running: n.dataset.running === "true",
      })),
    );
}

/** Each started before the other ended. */
export const overlap = (a, b) => a.start < b.end && b.start < a.end;

/**
 * One browser and one opened playground for a whole test file: registers the
 * before/after hooks and returns the holder they fill ({browser, page, problems}).
 */
export function useLab(path = "", base = BASE_URL) {
  const lab = {};
  before(async () => {
    lab.browser = await launch();
    Object.assign(lab, await openLab(lab.browser, path, base));
  });
  after(async () => {
    await lab.browser?.close();
  });
  return lab;
}

/** The last test of every file: the page logged no error and the CSP blocked nothing. */
export function expectNoProblems(lab) {
  test("no console error, no page error, and nothing blocked by the strict CSP", async () => {
    assert.deepEqual(lab.problems, []);
    assert.deepEqual(await lab.page.evaluate(() => window.__cspViolations), []);
  });
}

const AXE = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page as it is; returns the serious and critical violations. */
export async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
