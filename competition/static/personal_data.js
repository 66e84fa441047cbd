// Follow the gathering of a person's data: show its progress and message, reload when it ends.
(function () {
  var section = document.querySelector("[data-status-url]");
  if (!section) { return; }
  var url = section.getAttribute("data-status-url");
  var bar = document.getElementById("export-progress");
  var message = document.getElementById("export-message");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.setTimeout(poll, 5000); return; }
        if (bar) { bar.value = status.progress; bar.textContent = status.progress + " %"; }
        if (message) { message.textContent = status.label + ": " + status.message; }
        if (status.finished) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
