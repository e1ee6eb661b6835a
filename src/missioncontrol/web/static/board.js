// Live board: replace the board's rows when the server sends a "board" event (no reload, no framework).
(function () {
  "use strict";
  var live = document.getElementById("board-live");
  var dot = document.getElementById("live");
  if (live && window.EventSource) {
    var source = new EventSource(live.getAttribute("data-stream"));
    source.onopen = function () { if (dot) { dot.classList.add("on"); } };
    source.onerror = function () { if (dot) { dot.classList.remove("on"); } };
    source.addEventListener("board", function (event) {
      live.innerHTML = event.data;  // server-rendered, escaped HTML from our own template
      document.body.setAttribute("data-updated", String(Date.now()));
      if (dot) { dot.classList.add("flash"); setTimeout(function () { dot.classList.remove("flash"); }, 600); }
    });
  }
  // Narrative: post the form in place so the page keeps its scroll position.
  document.querySelectorAll("form[data-target]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var out = document.getElementById(form.getAttribute("data-target"));
      out.textContent = "asking…";
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { out.innerHTML = html; });
    });
  });
})();
