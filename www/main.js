// Loads ThreadLab and publishes window.threadlab (see README, "Automation API").

const root = document.getElementById("app");

function showFatal(message) {
  root.replaceChildren();
  const box = document.createElement("div");
  box.className = "fatal";
  box.setAttribute("role", "alert");
  const title = document.createElement("h1");
  title.textContent = "ThreadLab could not start";
  const text = document.createElement("p");
  text.textContent = message;
  box.append(title, text);
  root.append(box);
}

/**
 * On a static host that sends no COOP/COEP, a service worker adds them (see
 * coi-serviceworker.js); it needs one reload to take over the page. Returns true when
 * that reload is under way. Tried once per tab: if isolation still fails, the page runs
 * without threads.
 */
async function isolateWithServiceWorker() {
  // Only the static build (cargo xtask dist) asks for it; ThreadLab's own server sends the headers.
  if (!document.querySelector('meta[name="threadlab-coi-serviceworker"]')) return false;
  if (self.crossOriginIsolated || !("serviceWorker" in navigator) || !window.isSecureContext) return false;
  if (sessionStorage.getItem("threadlab-coi-tried")) return false;
  sessionStorage.setItem("threadlab-coi-tried", "1");
  try {
    const script = new URL("../coi-serviceworker.js", import.meta.url);
    const registration = await navigator.serviceWorker.register(script, { scope: new URL("../", import.meta.url).pathname });
    if (registration.active && navigator.serviceWorker.controller) return false; // it is there, and still no isolation
    await navigator.serviceWorker.ready;
    window.location.reload();
    return true;
  } catch {
    return false;
  }
}

const api = (async () => {
  if (await isolateWithServiceWorker()) return new Promise(() => {}); // the page is reloading
  // Threads need shared wasm memory, i.e. SharedArrayBuffer, which browsers give only to
  // cross-origin isolated pages (https://developer.mozilla.org/docs/Web/API/Window/crossOriginIsolated).
  // Elsewhere the build without threads loads: the main thread and processes still work.
  const isolated = self.crossOriginIsolated === true;
  const { default: init, start } = await import(isolated ? "../pkg/threadlab.js" : "../pkg-st/threadlab.js");
  await init();
  return start(root, isolated);
})();

api.catch((error) => showFatal(error && error.message ? error.message : String(error)));

window.threadlab = {
  /** Settles when the app can run (rejects with the reason it cannot). */
  ready: api.then(() => undefined),
  /** Runs an experiment; see README for the config and the result. */
  run: (config) => api.then((handle) => handle.run(config)),
  /** This device's speed and the input bounds. */
  device: () => api.then((handle) => handle.device()),
  /**
   * Steps through a Python script with CPython's reference counts, in ThreadLab's Python
   * worker; `options.version` is whose counts: "3.11" (the default; 3.12's and 3.13's too)
   * or "3.14". Rejects when an option is bad, or the script crashed that worker or ran out
   * of time (it is replaced).
   */
  refcount: (source, options) => api.then((handle) => handle.refcount(source, options)),
  /** Shared vs separate memory: {engine: "threads"|"processes", bytes}. */
  memory: (config) => api.then((handle) => handle.memory(config)),
  /** Start costs and the page ↔ process message round trip (for cargo xtask bench). */
  probe: () => api.then((handle) => handle.probe()),
  /**
   * Runs a Python program on real threads and processes; resolves to
   * {stdout, output, exit_code, wall_ms, gil_switches, lanes, error} (see README).
   */
  python: (source, options) => api.then((handle) => handle.python(source, options)),
  /** Races incref/decref pairs on one shared count: {threads, pairs, variant}. */
  race: (config) => api.then((handle) => handle.race(config)),
};
