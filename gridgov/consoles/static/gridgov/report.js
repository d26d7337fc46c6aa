// The report form (grid worker and resident): category search that works offline, the
// phone's GPS or a point picked on the map, photos, and sending through the outbox.
(function () {
  "use strict";
  const form = document.getElementById("report-form");
  if (!form) return;
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const labels = read("report-labels");
  const categories = read("report-categories");
  const status = document.getElementById("report-status");
  const field = (name) => form.elements.namedItem(name);

  // --- category search with suggestions ---------------------------------------------------
  const search = document.getElementById("category-search");
  const suggestions = document.getElementById("category-suggestions");
  const categorySearch = window.gridgovForms.categorySearch({
    search, suggestions, field: field("category_id"), categories });

  // --- location: GPS (WGS-84 from the browser) or a point picked on the map ---------------
  const where = document.getElementById("location-status");
  let picker = null;

  function setPoint(lat, lon, crs, how) {
    field("lat").value = lat.toFixed(7);
    field("lon").value = lon.toFixed(7);
    field("crs").value = crs;
    where.textContent = `${how}: ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
    if (picker) picker.show(lat, lon);
    if (navigator.onLine) {
      fetch(`/api/v1/locate?lat=${lat}&lon=${lon}&crs=${crs}`, { credentials: "same-origin" })
        .then((r) => r.json()).then((found) => {
          where.textContent += found.inside ? ` · ${found.ancestors.map((a) => a.name).concat(found.grid.name).join(" › ")}`
                                            : ` · ${found.message}`;
        }).catch(() => {});
    }
  }

  document.getElementById("locate-me").addEventListener("click", () => {
    if (!navigator.geolocation) { where.textContent = labels.no_gps; return; }
    where.textContent = labels.locating;
    navigator.geolocation.getCurrentPosition(
      (pos) => setPoint(pos.coords.latitude, pos.coords.longitude, "wgs84",
                        `${labels.gps} ±${Math.round(pos.coords.accuracy)} m`),
      (error) => { where.textContent = `${labels.no_gps} (${error.message})`; },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  });

  picker = window.gridgovForms.pickMap({
    box: document.getElementById("pick-map"), tiles: read("tile-settings"), area: read("grid-bounds"),
    levels: 3, hasPoint: () => Boolean(field("lat").value),
    onPick: (lat, lon, crs) => setPoint(lat, lon, crs, labels.picked) });

  // --- solved on the spot -------------------------------------------------------------------
  const solved = field("self_resolved");
  if (solved) {
    const after = document.getElementById("after-photos");
    const toggle = () => { after.hidden = !solved.checked; };
    solved.addEventListener("change", toggle);
    toggle();
  }

  // --- sending ------------------------------------------------------------------------------
  const showErrors = (errors) => window.gridgovForms.showErrors(form, errors);

  function item() {
    const channel = solved && solved.checked ? "self_resolved" : field("channel").value;
    const fields = { channel };
    for (const name of ["category_id", "description", "lat", "lon", "crs", "address", "client_key",
                        "component_id"]) {
      if (field(name)) fields[name] = field(name).value;
    }
    const files = [];
    for (const [input, name] of [[field("photos"), "photos"], [field("after_photos"), "after_photos"]]) {
      if (!input || (name === "after_photos" && channel !== "self_resolved")) continue;
      for (const file of input.files) files.push({ field: name, blob: file, name: file.name });
    }
    const label = `${search.value || labels.report} · ${fields.description.slice(0, 20)}`;
    return { key: fields.client_key, url: "/api/v1/cases", fields, files, label };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!field("category_id").value) {
      showErrors({ category_id: labels.pick_category });
      search.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = labels.sending;
    const answer = await window.gridgovOutbox.submit(item());
    button.disabled = false;
    if (answer.sent) {
      status.textContent = labels.sent.replace("{number}", answer.data.number);
      window.location.assign(form.dataset.next.replace("/0/", `/${answer.data.id}/`));
    } else if (answer.invalid) {
      status.textContent = answer.data.detail || labels.failed;
      showErrors(answer.data.errors || { __all__: answer.data.detail });
    } else {
      status.textContent = answer.reason === "login" ? labels.queued_login : labels.queued;
      showErrors({});
      form.reset();
      categorySearch.clear();
      if (solved) solved.dispatchEvent(new Event("change"));
      field("client_key").value = window.gridgovForms.newKey();
      where.textContent = "";
    }
  });
})();
