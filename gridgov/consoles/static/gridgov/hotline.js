// The hotline desk: caller history by phone, an address said on the phone located (or a point
// picked, or only the community), category search, duplicates near the place, and the call
// registered (and dispatched) in one request to /api/v1/hotline/calls.
(function () {
  "use strict";
  const form = document.getElementById("hotline-form");
  if (!form) return;
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const labels = read("hotline-labels");
  const categories = read("report-categories");
  const field = (name) => form.elements.namedItem(name);
  const status = document.getElementById("hotline-status");
  const where = document.getElementById("location-status");

  async function api(path, body) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = window.gridgovForms.csrfToken();
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
  }

  const showErrors = (errors) => window.gridgovForms.showErrors(form, errors);

  function item(text, href) {
    const li = document.createElement("li");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      li.append(a);
    } else {
      li.textContent = text;
    }
    return li;
  }

  // --- the caller -------------------------------------------------------------------------------
  document.getElementById("caller-lookup").addEventListener("click", async () => {
    const list = document.getElementById("caller-cases");
    const answer = await api(`/api/v1/hotline/caller?phone=${encodeURIComponent(field("caller_phone").value)}`);
    if (!answer.ok) { showErrors(answer.data.errors || { caller_phone: answer.data.detail }); return; }
    showErrors({});
    list.replaceChildren(...(answer.data.length ? answer.data.map((c) => item(
      `${c.number} · ${c.category} · ${c.state_label} · ${c.address || c.grid}`, `/cases/${c.id}/`))
      : [item(labels.none)]));
  });

  // --- the place: address, map or community ---------------------------------------------------
  const picker = window.gridgovForms.pickMap({
    box: document.getElementById("pick-map"), tiles: read("tile-settings"), area: read("grid-bounds"),
    levels: 2, hasPoint: () => Boolean(field("lat").value),
    onPick: (lat, lon, crs) => setPoint(lat, lon, crs, labels.picked) });

  function setPoint(lat, lon, crs, how) {
    field("lat").value = lat.toFixed(7);
    field("lon").value = lon.toFixed(7);
    field("crs").value = crs;
    field("grid_code").value = "";
    where.textContent = `${how}: ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
    picker.show(lat, lon);
    checkNearby();
  }

  function setArea(code, name) {
    field("lat").value = "";
    field("lon").value = "";
    field("grid_code").value = code;
    where.textContent = `${name} · ${labels.rough}`;
    checkNearby();
  }

  function choosePlace(place) {
    if (place.lat !== null && place.kind !== "grid") setPoint(place.lat, place.lon, "wgs84", place.name);
    else setArea(place.grid.code, place.grid.name);
  }

  document.getElementById("address-locate").addEventListener("click", async () => {
    const box = document.getElementById("address-places");
    const said = document.getElementById("address-status");
    const answer = await api(`/api/v1/hotline/address?text=${encodeURIComponent(field("address").value)}`);
    if (!answer.ok) { showErrors(answer.data.errors || { address: answer.data.detail }); return; }
    showErrors({});
    const found = answer.data;
    said.textContent = [found.province, found.city, found.county].filter(Boolean).join(" ")
      + (found.message ? ` · ${found.message}` : "");
    box.replaceChildren(...found.places.map((place, index) => {
      const li = document.createElement("li");
      const label = document.createElement("label");
      label.className = "inline-choice";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "place";
      radio.dataset.place = index;
      radio.addEventListener("change", () => choosePlace(place));
      label.append(radio, ` ${place.name} · ${place.grid.name}`);
      li.append(label);
      return li;
    }));
    if (found.places.length) {
      box.querySelector("input").checked = true;
      choosePlace(found.places[0]);
    }
  });

  field("grid_code").addEventListener("change", (event) => {
    const option = event.target.selectedOptions[0];
    if (event.target.value) setArea(event.target.value, option.textContent);
  });

  // --- category search ----------------------------------------------------------------------------
  const search = document.getElementById("category-search");
  window.gridgovForms.categorySearch({ search, suggestions: document.getElementById("category-suggestions"),
                                       field: field("category_id"), categories, onChoose: () => checkNearby() });

  // --- duplicates and the proposed department -------------------------------------------------
  async function checkNearby() {
    const place = field("lat").value || field("grid_code").value;
    if (!place || !field("category_id").value) return;
    const query = new URLSearchParams({ category_id: field("category_id").value, crs: field("crs").value,
                                        description: field("description").value });
    if (field("lat").value) { query.set("lat", field("lat").value); query.set("lon", field("lon").value); }
    else query.set("grid_code", field("grid_code").value);
    const answer = await api(`/api/v1/hotline/nearby?${query}`);
    if (!answer.ok) { showErrors(answer.data.errors || { location: answer.data.detail }); return; }
    const found = answer.data;
    where.textContent = where.textContent.split(" ⟶ ")[0] + ` ⟶ ${found.grid.name}`;
    if (found.proposed_department && !field("department_id").dataset.touched) {
      field("department_id").value = String(found.proposed_department.id);
    }
    const box = document.getElementById("nearby");
    box.hidden = !found.duplicates.length;
    document.getElementById("nearby-cases").replaceChildren(...found.duplicates.map((c) => item(
      `${c.number} · ${c.category} · ${c.state === "closed" ? labels.closed : c.state_label} · ${c.distance_m} m · ${c.description}`,
      `/cases/${c.id}/`)));
  }
  field("department_id").addEventListener("change", (event) => { event.target.dataset.touched = "1"; });

  // --- register ------------------------------------------------------------------------------------
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!field("category_id").value) { showErrors({ category_id: labels.pick_category }); search.focus(); return; }
    if (!field("lat").value && !field("grid_code").value) { showErrors({ location: labels.no_place }); return; }
    const body = {};
    for (const name of ["caller_phone", "caller_name", "category_id", "description", "address", "crs",
                        "grid_code", "client_key"]) body[name] = field(name).value;
    body.category_id = Number(body.category_id);
    if (field("lat").value) { body.lat = Number(field("lat").value); body.lon = Number(field("lon").value); }
    if (field("department_id").value) body.department_id = Number(field("department_id").value);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = labels.sending;
    const answer = await api("/api/v1/hotline/calls", body);
    button.disabled = false;
    if (!answer.ok) {
      status.textContent = answer.data.detail || labels.failed;
      showErrors(answer.data.errors || { __all__: answer.data.detail });
      return;
    }
    showErrors({});
    const text = (answer.data.department ? labels.dispatched : labels.done).replace("{number}", answer.data.number);
    status.replaceChildren(item(text + (answer.data.roughly_located ? ` ${labels.rough}` : ""),
                                `/cases/${answer.data.id}/`).firstChild);
    status.dataset.case = answer.data.id;
    // The next call is another case: a fresh key (a resend of this one would reuse the old key).
    field("client_key").value = window.gridgovForms.newKey();
  });
})();
