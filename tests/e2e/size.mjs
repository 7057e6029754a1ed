// The shipped size alone, measured as bench.mjs measures `size.total_gzip_bytes` (issue 7's
// budget, 350,000 bytes): every file an isolated page loads before its first program, after
// runs on each engine, each gzipped at level 9; then what the Lesson tab adds when it is first
// looked at (pkg-lesson/, not in that budget). Run against a served build:
//   THREADLAB_URL=http://127.0.0.1:8741/ THREADLAB_SITE=../../target/site node size.mjs
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BASE_URL, launch, openLab } from "./harness.mjs";

const SITE = process.env.THREADLAB_SITE;
const browser = await launch();
const loaded = new Set();
const context = await browser.newContext();
context.on("response", (r) => r.url().startsWith(BASE_URL) && loaded.add(new URL(r.url()).pathname));
const { page } = await openLab(context, "");
for (const engine of ["main", "threads", "processes"]) {
  await page.evaluate((c) => window.threadlab.run(c), { engine, workload: "io", tasks: 2, duration_ms: 50, workers: 2 });
  await page.evaluate((c) => window.threadlab.run(c), { engine, workload: "cpu", tasks: 2, units: 1, workers: 2 });
}
const first = new Set(loaded);
await page.getByTestId("tab-lesson").click();
await page.locator("[data-testid=lesson] section#crashes").waitFor();
await browser.close();

const gz = (path) => gzipSync(readFileSync(join(SITE, path)), { level: 9 }).length;
const inSite = (paths) => [...paths].map((p) => (p.endsWith("/") ? `${p}index.html` : p)).filter((p) => existsSync(join(SITE, p)));
const shipped = inSite(first).sort();
const lesson = inSite(loaded).filter((p) => p.startsWith("/pkg-lesson/")).sort();
const total = (files) => files.reduce((t, p) => t + gz(p), 0);
for (const p of shipped) console.log(`${String(gz(p)).padStart(8)}  ${p}`);
console.log(`size.total_gzip_bytes: ${total(shipped)} (${shipped.length} files; budget 350000)`);
for (const p of lesson) console.log(`${String(gz(p)).padStart(8)}  ${p}`);
console.log(`the Lesson tab's first look adds: ${total(lesson)} (${lesson.length} files)`);
