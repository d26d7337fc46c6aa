(function () {
  // The phone's location, when it will tell: fills the form's point and asks again.
  const button = document.getElementById("use-location");
  if (!navigator.geolocation) return;
  button.hidden = false;
  button.addEventListener("click", () => navigator.geolocation.getCurrentPosition((where) => {
    document.getElementById("n-lat").value = where.coords.latitude.toFixed(6);
    document.getElementById("n-lon").value = where.coords.longitude.toFixed(6);
    document.getElementById("near-form").submit();
  }));
})();
