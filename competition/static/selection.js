// Follow a ranking under way: show its state and message, reload the page when it has ended.
(function () {
  var section = document.querySelector("[data-status-url]");
  if (!section) { return; }
  var url = section.getAttribute("data-status-url");
  var state = document.getElementById("ranking-state");
  var message = document.getElementById("ranking-message");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.setTimeout(poll, 5000); return; }
        if (message) {
          message.textContent = status.label + ": " + status.message;
        } else if (state) {
          state.textContent = status.label;
        }
        if (status.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
