// Cross-origin isolation for static hosts that send no headers (e.g. GitHub Pages): the
// pattern of the npm package coi-serviceworker. Once installed, this worker re-serves
// every same-origin response with COOP/COEP added, so the page becomes cross-origin
// isolated (shared memory, threads). It takes effect after one reload (www/main.js).
//
// It also keeps a copy of every file it served: offline, the playground still opens
// from that copy (network first, so a new version is picked up as soon as it is online).

const CACHE = "threadlab-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function isolated(response) {
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  headers.set("Cross-Origin-Resource-Policy", "cross-origin");
  headers.set("Document-Isolation-Policy", "isolate-and-require-corp");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function respond(request) {
  const cache = await caches.open(CACHE);
  let response;
  try {
    response = await fetch(request);
    if (request.method === "GET" && response.ok) await cache.put(request, response.clone());
  } catch (offline) {
    response = await cache.match(request, { ignoreSearch: true });
    if (!response) throw offline;
  }
  return response.status === 0 ? response : isolated(response);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Only-if-cached requests from other origins cannot be re-fetched here.
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  if (new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(respond(request));
});
