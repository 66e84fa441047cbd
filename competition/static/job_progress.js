// Follow long work (an assignment run, a person's data being gathered): update the section's
// progress bar and status line, reload the page when the work has ended.
(function () {
  var section = document.querySelector("[data-status-url]");
  if (!section) { return; }
  var url = section.getAttribute("data-status-url");
  var bar = section.querySelector("progress");
  var message = section.querySelector("[role=status]");
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.setTimeout(poll, 5000); return; }
        if (bar) { bar.value = status.progress; bar.textContent = status.progress + " %"; }
        if (message) {
          message.textContent = status.label ? status.label + ": " + status.message : status.message;
        }
        if (status.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
