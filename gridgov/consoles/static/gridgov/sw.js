// gridgov's service worker: the report forms open with no network; nothing personal is cached.
// Only the report forms (no personal data on them) and the app's own static files are kept;
// pages with household or case data are never stored on the phone (PIPL: minimum necessary).
const CACHE = "gridgov-__VERSION__";
const SHELL = __SHELL__;
const OFFLINE_PAGES = ["/console/report/", "/resident/new/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gridgov-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function page(request) {
  const path = new URL(request.url).pathname;
  try {
    const response = await fetch(request);
    if (OFFLINE_PAGES.includes(path) && response.ok && !response.redirected) {
      const cache = await caches.open(CACHE);
      await cache.put(path, response.clone());
    }
    return response;
  } catch (error) {
    // Offline: the page itself if it is a report form, else whichever report form this phone has.
    const cached = (await caches.match(path)) || (await caches.match(OFFLINE_PAGES[0]))
      || (await caches.match(OFFLINE_PAGES[1]));
    return cached || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
