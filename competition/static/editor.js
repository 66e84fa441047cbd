// Improves the proposal editor; every form also works without it.
(function () {
  "use strict";

  // Character counters for fields with a limit.
  document.querySelectorAll("[data-maxchars]").forEach(function (field) {
    var counter = document.getElementById(field.getAttribute("aria-describedby").split(" ")[0]);
    var max = parseInt(field.getAttribute("data-maxchars"), 10);
    function update() {
      var length = field.value.replace(/\r\n/g, "\n").length;
      counter.textContent = length.toLocaleString("en") + " of " + max.toLocaleString("en") + " characters";
      counter.classList.toggle("over", length > max);
    }
    field.addEventListener("input", update);
    update();
  });

  // Autosave: a section is saved a moment after typing stops; a conflict is shown, not overwritten.
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var textarea = form.querySelector("textarea");
    var status = form.querySelector(".save-status");
    var revision = form.querySelector("input[name=base_revision]");
    if (!textarea || !status || textarea.readOnly) { return; }
    var timer = null, saving = false, dirty = false;
    function save() {
      if (saving) { dirty = true; return; }
      saving = true; dirty = false;
      status.textContent = "Saving…";
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
      }).then(function (result) {
        if (result.ok) {
          revision.value = result.data.revision;
          status.textContent = "Saved at " + new Date(result.data.saved_at).toLocaleTimeString();
        } else if (result.status === 401) {
          status.textContent = "Your session has ended. Your text stays here; press Save to log in and keep it.";
        } else {
          status.textContent = result.data.error || "Not saved.";
          if (result.data.conflict) { form.classList.add("conflict"); return; }
        }
      }).catch(function () {
        status.textContent = "Not saved: no connection. Your text stays here; it is saved when you press Save.";
      }).finally(function () {
        saving = false;
        if (dirty) { schedule(); }
      });
    }
    function schedule() { clearTimeout(timer); timer = setTimeout(save, 1500); }
    textarea.addEventListener("input", function () { status.textContent = "Not saved yet"; schedule(); });
  });

  // A submit button sends once: a second click while the first is under way does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
})();
