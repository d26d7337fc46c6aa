// "I am at home": the phone's position fills the form, the server finds the grid.
// Browsers give WGS-84 through navigator.geolocation, hence crs=wgs84.
(function () {
  "use strict";
  const form = document.getElementById("home-grid-form");
  if (!form) return;
  const labels = JSON.parse(document.getElementById("home-labels").textContent);
  const status = document.getElementById("home-status");
  form.addEventListener("submit", (event) => {
    if (form.elements.namedItem("lat").value) return;  // position known: send the form
    event.preventDefault();
    if (!navigator.geolocation) { status.textContent = labels.no_gps; return; }
    status.textContent = labels.locating;
    navigator.geolocation.getCurrentPosition((position) => {
      form.elements.namedItem("lat").value = position.coords.latitude.toFixed(7);
      form.elements.namedItem("lon").value = position.coords.longitude.toFixed(7);
      form.submit();
    }, (error) => { status.textContent = `${labels.no_gps} (${error.message})`; },
    { enableHighAccuracy: true, timeout: 15000 });
  });
})();
