// Behaviour every page shares. Kept out of the HTML: the Content-Security-Policy allows no
// inline script.
document.getElementById("lang-select")?.addEventListener("change", (event) => {
  event.target.form.submit();
});
