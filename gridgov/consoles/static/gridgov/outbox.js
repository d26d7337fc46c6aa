// The outbox: what a phone could not send stays in IndexedDB and goes out when the network
// returns. Each item carries the client key it was made with, and the server answers a key it
// has seen with the record it already made: nothing is lost and nothing is doubled.
window.gridgovOutbox = (function () {
  "use strict";
  const DB = "gridgov-outbox";
  const STORE = "items";
  let flushing = null;

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function run(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(request ? request.result : undefined); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    });
  }

  const all = () => run("readonly", (store) => store.getAll());
  const put = (item) => run("readwrite", (store) => store.put(item)).then(changed);
  const remove = (key) => run("readwrite", (store) => store.delete(key)).then(changed);

  function changed() {
    return all().then((items) => {
      window.dispatchEvent(new CustomEvent("gridgov:outbox", { detail: items }));
      return items;
    });
  }

  function body(item) {
    if (item.json) return JSON.stringify(item.fields);
    const form = new FormData();
    for (const [name, value] of Object.entries(item.fields)) {
      if (value !== null && value !== undefined) form.append(name, value);
    }
    for (const file of item.files || []) form.append(file.field, file.blob, file.name);
    return form;
  }

  async function send(item) {
    const headers = { "X-CSRFToken": window.gridgovForms.csrfToken(), Accept: "application/json" };
    if (item.json) headers["Content-Type"] = "application/json";
    const response = await fetch(item.url, { method: "POST", body: body(item), headers,
                                            credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { status: response.status, data };
  }

  // Send now if possible. {sent, data} | {invalid, data} (400: the user must fix it) |
  // {queued, reason} (no network, server down or logged out: kept for later).
  async function submit(item) {
    let answer;
    try {
      answer = await send(item);
    } catch (error) {
      await put({ ...item, queuedAt: new Date().toISOString() });
      return { queued: true, reason: "offline" };
    }
    if (answer.status < 300) return { sent: true, data: answer.data };
    if (answer.status === 400 || answer.status === 403 || answer.status === 404 || answer.status === 409) {
      return { invalid: true, data: answer.data };
    }
    await put({ ...item, queuedAt: new Date().toISOString() });
    return { queued: true, reason: answer.status === 401 ? "login" : "server" };
  }

  async function flushOnce() {
    const sent = [];
    for (const item of await all()) {
      let answer;
      try { answer = await send(item); } catch (error) { break; }  // still offline
      if (answer.status < 300) {
        await remove(item.key);
        sent.push({ item, data: answer.data });
      } else if (answer.status >= 400 && answer.status < 500 && answer.status !== 401) {
        // The server refused it for good (e.g. the category was retired): keep it, say why.
        await put({ ...item, error: answer.data.detail || String(answer.status) });
      } else {
        break;  // logged out or server trouble: try again later
      }
    }
    window.dispatchEvent(new CustomEvent("gridgov:sent", { detail: sent }));
    return sent;
  }

  function flush() {
    if (!flushing) flushing = flushOnce().finally(() => { flushing = null; });
    return flushing;
  }

  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && navigator.onLine) flush(); });

  return { submit, flush, all, remove, changed };
})();

// The banner that lists what is waiting, on every page that has one.
(function () {
  "use strict";
  const banner = document.getElementById("outbox");
  if (!banner) return;
  const list = banner.querySelector("ul");
  const count = banner.querySelector("[data-outbox-count]");
  const labels = JSON.parse(document.getElementById("outbox-labels").textContent);

  function render(items) {
    banner.hidden = items.length === 0;
    count.textContent = String(items.length);
    list.replaceChildren(...items.map((item) => {
      const li = document.createElement("li");
      li.textContent = `${item.label} · ${new Date(item.queuedAt).toLocaleString()}`;
      if (item.error) {
        const why = document.createElement("span");
        why.className = "field-error";
        why.textContent = ` ${labels.refused}: ${item.error} `;
        const discard = document.createElement("button");
        discard.type = "button";
        discard.className = "link";
        discard.textContent = labels.discard;
        discard.addEventListener("click", () => window.gridgovOutbox.remove(item.key));
        li.append(why, discard);
      }
      return li;
    }));
  }

  window.addEventListener("gridgov:outbox", (event) => render(event.detail));
  banner.querySelector("[data-outbox-send]").addEventListener("click", () => window.gridgovOutbox.flush());
  window.gridgovOutbox.changed().then(() => { if (navigator.onLine) window.gridgovOutbox.flush(); });
})();

// Service worker: the report forms open with no network (registered on the pages that offer it).
if ("serviceWorker" in navigator && document.body.dataset.pwa !== undefined) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
