// vetsync pages: the one script of ours (no inline scripts: the Content-Security-Policy allows none).
// htmx requests carry the CSRF token of the page (Flask-WTF reads the X-CSRFToken header).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});
// An answer the server refused (4xx with a message) is shown where the request meant to put it.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 400 || status === 409 || status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
});
// "/" focuses the search box of a page that has one (keyboard-only work).
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
  var target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) { return; }
  var box = document.querySelector("[data-search]");
  if (box) { event.preventDefault(); box.focus(); box.select(); }
});
// A button or form with data-confirm asks once before it goes.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
}, true);
// A print button.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-print]");
  if (button) { event.preventDefault(); window.print(); }
});
