// Starts a ThreadLab worker: a module worker that imports the app's own
// wasm-bindgen glue, instantiates the module the page already compiled (so it is
// compiled once) with a brand-new memory, and hands over to Rust's `worker_main`.
//
// The worker's script is a blob so that it can import the glue by absolute URL
// (wherever the app is hosted, also inside wasm-bindgen-test's runner) without a
// separate worker file to keep in step with the glue.

let scriptUrl = null;

function bootScript(glueUrl) {
  if (scriptUrl === null) {
    const source = `import init, { worker_main } from ${JSON.stringify(glueUrl)};
self.addEventListener("message", async ({ data }) => {
  try {
    await init({ module_or_path: data.module });
    worker_main(data.role, data.threads);
  } catch (e) {
    self.postMessage({ type: "Failed", message: "the worker could not start: " + e });
  }
}, { once: true });
`;
    scriptUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  }
  return scriptUrl;
}

export function spawnWorker(glueUrl, name, boot) {
  const worker = new Worker(bootScript(glueUrl), { type: "module", name });
  worker.postMessage(boot);
  return worker;
}
