// Embedded in a course page on another origin that is not cross-origin isolated: with
// Document-Isolation-Policy the frame is isolated on its own, and threads run there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, launch, overlap } from "./harness.mjs";

const COURSE = process.env.THREADLAB_COURSE_URL ?? "http://localhost:8097/";
let browser;
let page;
const problems = [];

before(async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(COURSE);
});

after(async () => {
  await browser?.close();
});

const labFrame = async () => {
  await page.waitForFunction(() => document.querySelector("#lab"));
  for (let i = 0; i < 100; i++) {
    const frame = page.frames().find((f) => f !== page.mainFrame() && f.url().includes("embed=1"));
    if (frame) return frame;
    await page.waitForTimeout(50);
  }
  throw new Error("the ThreadLab frame did not load");
};

test("the course page is not isolated, the embedded playground is, and its threads overlap", async () => {
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
  const frame = await labFrame();
  await frame.evaluate(() => window.threadlab.ready);
  assert.equal(await frame.evaluate(() => self.crossOriginIsolated), true);
  const result = await frame.evaluate(() => window.threadlab.run({ engine: "threads", workload: "io", tasks: 2, duration_ms: 200 }));
  const [a, b] = result.tasks.map((t) => ({ start: t.start_ms, end: t.end_ms }));
  assert.ok(overlap(a, b), JSON.stringify(result.tasks));
  assert.ok(await frame.locator(".app.embedded").count() === 1, "the compact layout");
  assert.match(await frame.getByTestId("open-full").getAttribute("href"), /^http:\/\/127\.0\.0\.1:\d+\/\?(?!.*embed=1)/);
  await page.screenshot({ path: join(ARTIFACTS, "embed.png") });
});

test("the Embed dialog gives a snippet for this experiment", async () => {
  const frame = await labFrame();
  const url = new URL(frame.url());
  url.searchParams.delete("embed");
  const full = await browser.newPage();
  await full.goto(url.href);
  await full.evaluate(() => window.threadlab.ready);
  await full.getByTestId("embed").click();
  const snippet = await full.getByTestId("embed-snippet").inputValue();
  assert.match(snippet, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/\?.*&amp;embed=1" .*allow="cross-origin-isolated"/);
  await full.close();
});

test("no console error and no page error", () => {
  assert.deepEqual(problems, []);
});
