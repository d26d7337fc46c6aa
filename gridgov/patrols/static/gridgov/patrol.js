// The patrol page. A worker starts and stops a patrol; while it runs the phone's positions are
// collected and sent in batches every 30 seconds (and on stop). Unsent points live in
// localStorage, so a dead network, a closed tab or a reload loses nothing: they go out when the
// network returns, and the server skips points it already has (same timestamp), so sending a
// batch twice is harmless. Leaders click one of today's patrols to draw its track.
(function () {
  "use strict";
  const SEND_EVERY_MS = 30000;
  const MIN_GAP_MS = 5000; // a point every 5 seconds is plenty for a walk
  const MAX_ACCURACY_M = 100; // coarser fixes (indoors, cell towers) only zigzag the track
  const BATCH = 500; // the server takes at most 1,000 points at a time
  const STORE = "gridgov-patrol";

  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("patrol-data").textContent);
  const labels = data.labels;
  const mapElement = $("patrol-map");

  // --- the map ------------------------------------------------------------------------------
  const map = L.map(mapElement, { zoomSnap: 0.25 });
  if (data.tile_url) {
    L.tileLayer(data.tile_url, { attribution: data.tile_attribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([31.3, 120.5], 13);
  const outlines = L.featureGroup().addTo(map);
  const myTrack = L.polyline([], { color: "#c0392b", weight: 4 }).addTo(map);
  const shownTrack = L.featureGroup().addTo(map);
  let placed = false; // the map has been moved to something worth seeing

  function latLngs(feature) {
    const geometry = feature && feature.geometry;
    if (!geometry) return [];
    if (geometry.type === "Point") return [[geometry.coordinates[1], geometry.coordinates[0]]];
    return geometry.coordinates.map(([lon, lat]) => [lat, lon]);
  }

  async function drawOutlines() {
    for (const code of data.outlines) {
      const response = await fetch(`/api/v1/grids/${code}/geojson?depth=0`, { credentials: "same-origin" });
      if (!response.ok) continue;
      L.geoJSON(await response.json(), {
        style: { color: "#1f4e79", weight: 1.5, fillOpacity: 0.03 }, interactive: false,
      }).addTo(outlines);
    }
    if (!placed && outlines.getLayers().length) map.fitBounds(outlines.getBounds());
  }

  function place(bounds) {
    if (bounds.isValid()) {
      map.fitBounds(bounds, { maxZoom: 17, padding: [20, 20] });
      placed = true;
    }
  }

  // --- small helpers ------------------------------------------------------------------------
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
  }

  const metres = (m) => fill(labels.metres, { n: Math.round(m || 0) });

  function hms(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  }

  // In the server's time zone, as the table beside the map shows them.
  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: data.time_zone }) : "");

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16)); // works on plain http too
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Throws when there is no network; otherwise {status, data}.
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = {}; }
    return { status: response.status, data: answer };
  }

  // --- leaders: today's patrols ---------------------------------------------------------------
  const shownNote = $("patrol-shown");

  async function show(id) {
    const response = await fetch(`/api/v1/patrols/${id}`, { credentials: "same-origin" });
    let patrol = {};
    try { patrol = await response.json(); } catch (error) { patrol = {}; }
    if (!response.ok) { shownNote.textContent = patrol.detail || String(response.status); return; }
    shownTrack.clearLayers();
    const points = latLngs(patrol.track);
    if (points.length > 1) L.polyline(points, { color: "#2e86c1", weight: 4 }).addTo(shownTrack);
    if (points.length) {
      L.circleMarker(points[0], { radius: 6, color: "#1e8449", fillOpacity: 1 }).addTo(shownTrack);
      L.circleMarker(points[points.length - 1], { radius: 6, color: "#c0392b", fillOpacity: 1 }).addTo(shownTrack);
      place(L.latLngBounds(points));
    }
    shownNote.textContent = fill(labels.shown, {
      worker: patrol.worker, grid: patrol.grid.name, start: clock(patrol.started_at),
      end: patrol.ended_at ? clock(patrol.ended_at) : labels.running,
    }) + ` · ${metres(patrol.distance_m)}`;
    document.querySelectorAll("#patrol-today tr[data-patrol-id]").forEach((row) => {
      row.classList.toggle("selected", row.dataset.patrolId === String(id));
    });
    mapElement.dataset.shown = String(id);
    mapElement.dataset.shownPoints = String(points.length);
  }

  document.querySelectorAll(".patrol-show").forEach((button) => {
    button.addEventListener("click", () => show(button.dataset.patrolId));
  });

  // --- the worker's own patrol ---------------------------------------------------------------
  const button = $("patrol-toggle");
  const status = $("patrol-status");

  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORE));
      if (saved && Array.isArray(saved.points)) return saved;
    } catch (error) { /* unreadable: start afresh */ }
    return { patrolId: null, points: [], stopping: false, startKey: null };
  }

  let state = loadState(); // {patrolId, points: [unsent], stopping, startKey}
  let running = data.running; // the server's view of my running patrol, or null
  let finished = null; // the patrol just stopped, to keep its figures on screen
  let watchId = null;
  let timer = null;
  let lastKeptAt = 0;
  let sending = null;
  let busy = false;
  let wakeLock = null;

  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (error) { /* full: kept in memory */ }
  }

  function say(text, isError) {
    if (!status) return;
    status.textContent = text || "";
    status.className = isError ? "error" : "hint";
  }

  function tick() {
    if (!button) return;
    const patrol = running || finished;
    if (!patrol) { $("patrol-duration").textContent = "—"; return; }
    const end = patrol.ended_at ? Date.parse(patrol.ended_at) : Date.now();
    $("patrol-duration").textContent = hms(end - Date.parse(patrol.started_at));
  }

  function render() {
    if (!button) return;
    const patrol = running || finished;
    const on = Boolean(running);
    button.textContent = state.stopping ? labels.stopping : on ? labels.stop : labels.start;
    button.dataset.running = on ? "1" : "0";
    button.disabled = busy || state.stopping;
    $("patrol-distance").textContent = patrol ? metres(patrol.distance_m) : "—";
    $("patrol-points").textContent = patrol ? String(patrol.point_count) : "—";
    $("patrol-pending").textContent = String(state.points.length);
    mapElement.dataset.trackPoints = String(myTrack.getLatLngs().length);
    tick();
  }

  async function keepScreenOn() {
    try {
      if ("wakeLock" in navigator && running && !wakeLock) {
        wakeLock = await navigator.wakeLock.request("screen");
        wakeLock.addEventListener("release", () => { wakeLock = null; });
      }
    } catch (error) { /* not allowed now: the page still records while visible */ }
  }

  function watch() {
    if (watchId !== null || !navigator.geolocation) return;
    watchId = navigator.geolocation.watchPosition(onPosition, onGpsError,
                                                  { enableHighAccuracy: true, maximumAge: 0, timeout: 120000 });
    timer = setInterval(flush, SEND_EVERY_MS);
    keepScreenOn();
  }

  function unwatch() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    clearInterval(timer);
    timer = null;
    if (wakeLock) wakeLock.release().catch(() => {});
  }

  function onPosition(position) {
    const c = position.coords;
    if (!running || state.stopping || c.accuracy > MAX_ACCURACY_M) return;
    const at = position.timestamp || Date.now();
    // A fix cached from before the start would only be refused by the server.
    if (at - lastKeptAt < MIN_GAP_MS || at < Date.parse(running.started_at)) return;
    lastKeptAt = at;
    // The Geolocation API gives WGS-84, which is what the server stores.
    state.points.push({ at: new Date(at).toISOString(), lat: c.latitude, lon: c.longitude, crs: "wgs84",
                        accuracy: Math.round(c.accuracy * 10) / 10 });
    save();
    const here = L.latLng(c.latitude, c.longitude);
    myTrack.addLatLng(here);
    if (!placed) { map.setView(here, 17); placed = true; }
    else if (!map.getBounds().contains(here)) map.panTo(here);
    if (status && status.textContent === labels.gpsWaiting) say("");
    render();
  }

  function onGpsError(error) {
    if (error.code === error.PERMISSION_DENIED) say(labels.gpsDenied, true);
    else say(labels.gpsWaiting);
  }

  function refusedIndexes(errors, size) {
    const found = new Set();
    for (const key of Object.keys(errors)) {
      const match = /^points\.(\d+)\./.exec(key);
      if (match) found.add(Number(match[1]));
    }
    if (!found.size) for (let i = 0; i < size; i += 1) found.add(i); // the batch as a whole was refused
    return found;
  }

  // Sends every waiting point; true when none is left.
  async function sendAll() {
    while (state.patrolId && state.points.length) {
      const id = state.patrolId;
      const batch = state.points.slice(0, BATCH);
      let answer;
      try {
        answer = await post(`/api/v1/patrols/${id}/points`, { points: batch });
      } catch (error) {
        say(labels.offline);
        return false;
      }
      if (answer.status < 300) {
        state.points.splice(0, batch.length); // new points were appended behind the batch
        if (running && running.id === id) running = answer.data.patrol;
      } else if (answer.status === 400) {
        // A point the server will never take (e.g. the phone's clock was wrong): drop it, keep the rest.
        const refused = refusedIndexes(answer.data.errors || {}, batch.length);
        state.points = state.points.filter((point, i) => !refused.has(i));
        say(`${labels.refused} ${answer.data.detail || ""}`, true);
      } else if (answer.status === 409 || answer.status === 404) {
        // The patrol has ended (closed after 12 hours, or stopped on another device): nothing to add to.
        state.points = [];
        if (running && running.id === id && !state.stopping) {
          running = null;
          unwatch();
          say(labels.ended, true);
        }
      } else {
        say(answer.status === 401 ? labels.login : labels.trouble, true);
        return false;
      }
      save();
    }
    return true;
  }

  function flush() {
    if (!sending) sending = sendAll().finally(() => { sending = null; render(); });
    return sending;
  }

  async function start() {
    if (!navigator.geolocation) { say(labels.noGps, true); return; }
    busy = true;
    button.textContent = labels.starting;
    button.disabled = true;
    try {
      if (state.points.length) await flush(); // an earlier patrol's last points first
      if (!state.startKey) { state.startKey = newKey(); save(); } // a retry gets the same patrol
      const select = $("patrol-grid");
      let answer;
      try {
        answer = await post("/api/v1/patrols", { grid_code: select ? select.value : "", client_key: state.startKey });
      } catch (error) {
        say(labels.startOffline, true);
        return;
      }
      if (answer.status >= 300) { say(answer.data.detail || String(answer.status), true); return; }
      running = answer.data;
      finished = null;
      state = { patrolId: running.id, points: [], stopping: false, startKey: null };
      save();
      myTrack.setLatLngs([]);
      shownTrack.clearLayers();
      if (!answer.data.created) await drawMyTrack(running.id); // already running: show what it has
      say(labels.gpsWaiting);
      watch();
    } finally {
      busy = false;
      render();
    }
  }

  async function drawMyTrack(id) {
    const response = await fetch(`/api/v1/patrols/${id}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const patrol = await response.json();
    myTrack.setLatLngs(latLngs(patrol.track));
    for (const point of state.points) myTrack.addLatLng([point.lat, point.lon]);
    place(myTrack.getBounds());
  }

  async function stop() {
    unwatch();
    state.stopping = true;
    save();
    render();
    await finishStop();
  }

  let finishing = null;

  function finishStop() {
    // One at a time: the "online" event and a click may both ask for it.
    if (!finishing) finishing = sendStop().finally(() => { finishing = null; });
    return finishing;
  }

  async function sendStop() {
    busy = true;
    render();
    try {
      if (!(await flush())) { say(labels.stopQueued, true); return; }
      let answer;
      try {
        answer = await post(`/api/v1/patrols/${state.patrolId}/stop`, {});
      } catch (error) {
        say(labels.stopQueued, true);
        return;
      }
      if (answer.status >= 300 && answer.status !== 404) {
        say(answer.status === 401 ? labels.login : answer.data.detail || labels.trouble, true);
        return;
      }
      finished = answer.status < 300 ? answer.data : null;
      running = null;
      state = { patrolId: null, points: [], stopping: false, startKey: null };
      save();
      say(labels.finished);
    } finally {
      busy = false;
      render();
    }
  }

  async function resume() {
    if (state.stopping && state.patrolId) {
      // Stopped while offline: send the last points, then the stop.
      if (running && running.id !== state.patrolId) running = null;
      render();
      await finishStop();
    } else if (running) {
      if (state.patrolId !== running.id) {
        if (state.points.length) await flush(); // leftovers of an earlier patrol
        state = { patrolId: running.id, points: [], stopping: false, startKey: null };
        save();
      }
      myTrack.setLatLngs(latLngs(running.track));
      for (const point of state.points) myTrack.addLatLng([point.lat, point.lon]);
      if (state.points.length) lastKeptAt = Date.parse(state.points[state.points.length - 1].at);
      place(myTrack.getBounds());
      say(labels.gpsWaiting);
      watch();
      flush();
    } else if (state.patrolId && state.points.length) {
      await flush(); // points of a patrol that has ended since: sent if it can still take them
      if (!state.points.length) { state = { patrolId: null, points: [], stopping: false, startKey: null }; save(); }
    }
    render();
  }

  if (button) {
    button.addEventListener("click", () => (running ? stop() : start()));
    window.addEventListener("online", () => (state.stopping ? finishStop() : flush()));
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) return;
      keepScreenOn();
      if (navigator.onLine) flush();
    });
    setInterval(tick, 1000);
    resume().finally(() => { button.disabled = busy || state.stopping; });
  }
  drawOutlines().finally(() => { mapElement.dataset.loaded = "1"; });
})();
