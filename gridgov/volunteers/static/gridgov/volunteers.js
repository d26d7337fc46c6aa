// Check-in and check-out "by location": the phone's position fills the form, the server measures
// the distance to the activity. Browsers give WGS-84 through navigator.geolocation, hence crs=wgs84.
(function () {
  "use strict";
  const labels = JSON.parse((document.getElementById("geo-labels") || {}).textContent || "{}");
  const status = document.querySelector(".geo-status");
  const say = (text) => { if (status) status.textContent = text; };
  document.querySelectorAll("form.geo-form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.elements.namedItem("lat").value) return;  // position known: send the form
      event.preventDefault();
      if (!navigator.geolocation) { say(labels.no_gps); return; }
      say(labels.locating);
      navigator.geolocation.getCurrentPosition((position) => {
        form.elements.namedItem("lat").value = position.coords.latitude.toFixed(7);
        form.elements.namedItem("lon").value = position.coords.longitude.toFixed(7);
        form.submit();
      }, (error) => { say(`${labels.no_gps} (${error.message})`); },
      { enableHighAccuracy: true, timeout: 15000 });
    });
  });
})();
