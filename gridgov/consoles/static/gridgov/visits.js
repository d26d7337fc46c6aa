// Quick visit notes on the worker's task list go through the outbox: a visit made in a
// basement with no signal is kept on the phone and sent later with the same client key.
(function () {
  "use strict";
  const labels = JSON.parse(document.getElementById("visit-labels").textContent);
  document.querySelectorAll("form[data-outbox-visit]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = form.querySelector("[data-visit-status]");
      const notes = form.elements.namedItem("notes");
      const fields = { household_id: Number(form.dataset.household), notes: notes.value,
                       visited_on: form.elements.namedItem("visited_on").value,
                       client_key: window.gridgovForms.newKey() };
      const answer = await window.gridgovOutbox.submit({
        key: fields.client_key, url: "/api/v1/registry/visits", json: true, fields,
        label: `${form.closest("li").querySelector("a").textContent} · ${notes.value.slice(0, 20)}`,
      });
      if (answer.sent) { status.textContent = labels.saved; form.querySelector("button").disabled = true; }
      else if (answer.invalid) status.textContent = answer.data.detail;
      else { status.textContent = labels.queued; form.querySelector("button").disabled = true; }
    });
  });
})();
