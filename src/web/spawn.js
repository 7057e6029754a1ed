// Starts a ThreadLab worker: a module worker that imports the app's own
// wasm-bindgen glue, instantiates the module the page already compiled (so it is
// compiled once) with a brand-new memory, and hands over to Rust's `worker_main`.
//
// The worker's script is a blob so that it can import the glue by absolute URL
// (wherever the app is hosted, also inside wasm-bindgen-test's runner) without a
// separate worker file to keep in step with the glue.

// One script per glue: the page's own, and the Python VM's (pkg-vm/, for a program's process).
const scriptUrls = new Map();

function bootScript(glueUrl) {
  if (!scriptUrls.has(glueUrl)) {
    const source = `import init, { worker_main } from ${JSON.stringify(glueUrl)};
// A threads host starts its pool's workers inside wasm-bindgen-rayon. When one of them
// traps (a panic aborts), an error event fires at its Worker object here; nobody listens
// there, so the browser reports it as an uncaught error of the page. Every Worker made
// in this worker therefore cancels its errors and tells the page in the usual message.
const NativeWorker = self.Worker;
if (NativeWorker) {
  self.Worker = class extends NativeWorker {
    constructor(...args) {
      super(...args);
      this.addEventListener("error", (event) => {
        event.preventDefault();
        // FromWorker::Failed, by hand: protocol.rs's failed_has_the_shape_spawn_js_writes checks it.
        self.postMessage({ Failed: { message: "a thread of this process died: " + event.message } });
      });
    }
  };
}
// The first message is ToWorker::Boot (see protocol.rs), { Boot: {...}, module }: the compiled module beside it.
self.addEventListener("message", async ({ data }) => {
  try {
    const { module, ...boot } = data;
    await init({ module_or_path: module });
    worker_main(boot);
  } catch (e) {
    // FromWorker::Failed, by hand: protocol.rs's failed_has_the_shape_spawn_js_writes checks it.
    self.postMessage({ Failed: { message: "the worker could not start: " + e } });
  }
}, { once: true });
`;
    scriptUrls.set(glueUrl, URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  }
  return scriptUrls.get(glueUrl);
}

// `boot` undefined: the caller posts it later (a program's process, once the VM is compiled).
export function spawnWorker(glueUrl, name, boot) {
  const worker = new Worker(bootScript(glueUrl), { type: "module", name });
  if (boot !== undefined) worker.postMessage(boot);
  return worker;
}

// Whether `value` (what serde-wasm-bindgen makes: plain objects, arrays, Maps, strings,
// numbers, byte arrays) would take more than about `limit` bytes, counting 2 per string
// character and 8 per other value, key or slot; it stops counting past the limit. The
// Python worker asks before it posts a trace, so that no script can make the page take in
// more than it can hold, whatever shape the trace has.
export function largerThan(value, limit) {
  let size = 0;
  const todo = [value];
  while (todo.length > 0) {
    const v = todo.pop();
    if (typeof v === "string") size += 8 + 2 * v.length;
    else if (v === null || typeof v !== "object") size += 8;
    else if (ArrayBuffer.isView(v)) size += 8 + v.byteLength;
    else if (Array.isArray(v)) {
      size += 8 * (1 + v.length);
      for (let i = 0; i < v.length; i++) todo.push(v[i]);
    } else if (v instanceof Map) {
      for (const [k, x] of v) todo.push(k, x);
    } else {
      for (const k of Object.keys(v)) {
        size += 8 + 2 * k.length;
        todo.push(v[k]);
      }
    }
    if (size > limit) return true;
  }
  return false;
}

// Before a worker is terminated its Rust handlers are dropped; an error event of its
// already on its way (a trap racing the terminate) then finds this handler, which keeps
// it from being reported as an uncaught error of the page.
export function silence(worker) {
  worker.onmessage = null;
  worker.onerror = (event) => event.preventDefault();
}

// This module is loaded wherever the glue is, rayon's pool threads included. A pool
// thread runs Rust from a promise callback in wasm-bindgen-rayon's helper, so when a
// panic aborts it, the trap surfaces as an unhandled rejection there, reported as an
// uncaught error of the page. The panic hook has already told the page what happened
// (as a `Crashed` message), so the rejection is handled here.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  self.addEventListener("unhandledrejection", (event) => {
    if (event.reason instanceof WebAssembly.RuntimeError) event.preventDefault();
  });
}
