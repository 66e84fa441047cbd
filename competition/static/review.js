// Improves the review page; the form also works without it (Save draft and Submit post it).
(function () {
  "use strict";

  var form = document.querySelector("form[data-review-autosave]");
  if (!form) { return; }

  // Every text this script writes comes from the page, in the reader's language; numbers are
  // written the page language's way.
  var language = document.documentElement.lang || "en";
  function said(name, values) {
    var text = form.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }

  // Character counters: how much is written, and the minimum the call asks for.
  var plural = new Intl.PluralRules(language);
  form.querySelectorAll("textarea[data-minchars]").forEach(function (field) {
    var counter = document.getElementById(field.getAttribute("aria-describedby").split(" ")[0]);
    function update() {
      var length = field.value.replace(/\r\n/g, "\n").trim().length;
      var which = plural.select(length) === "one" ? "data-count-one" : "data-count-other";
      var text = field.getAttribute(which) || "";
      counter.textContent = text.split("{count}").join(length.toLocaleString(language));
    }
    field.addEventListener("input", update);
    update();
  });

  var status = form.querySelector(".save-status");
  var revision = form.querySelector("input[name=base_revision]");
  var badge = document.getElementById("review-state");
  var fieldset = form.querySelector("fieldset");
  if (!status || !revision || (fieldset && fieldset.disabled)) { return; }

  var timer = null, saving = false, dirty = false, stopped = false, pendingSubmit = null;

  function problemText(problems) {
    var messages = [];
    Object.keys(problems || {}).forEach(function (key) { messages = messages.concat(problems[key]); });
    return messages.join(" ");
  }

  // Autosave: the whole form a moment after typing stops; a conflict is shown, not overwritten.
  function save() {
    if (stopped) { return; }
    if (saving) { dirty = true; return; }
    saving = true; dirty = false;
    status.textContent = said("saving");
    var data = new FormData(form);
    data.set("action", "save");
    // Not form.action: the buttons are named "action", and would shadow the attribute.
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, status: response.status, data: body }; });
    }).then(function (result) {
      if (result.ok) {
        revision.value = result.data.revision;
        // The time as the server wrote it: 24-hour, Europe/Berlin, whatever the browser's zone.
        var text = said("saved", { time: result.data.saved_at_shown });
        var problems = problemText(result.data.problems);
        status.textContent = problems ? text + ". " + problems : text;
        if (badge && result.data.status) {
          badge.textContent = result.data.status_label;
          badge.className = "badge badge-review-" + result.data.status;
        }
      } else if (result.status === 401) {
        status.textContent = said("session-ended");
      } else {
        status.textContent = result.data.error || said("not-saved");
        if (result.data.conflict || result.status === 403) { stopped = true; form.classList.add("conflict"); }
      }
    }).catch(function () {
      status.textContent = said("offline");
    }).finally(function () {
      saving = false;
      if (pendingSubmit) {
        var submitter = pendingSubmit; pendingSubmit = null;
        if (!stopped) { form.requestSubmit(submitter); }
        return;
      }
      if (dirty) { schedule(); }
    });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(save, 1500); }
  function changed() { if (!stopped) { status.textContent = said("unsaved"); schedule(); } }

  // Typing, choosing a score and choosing a confidence all fire "input".
  form.addEventListener("input", changed);

  // Pressing a button while an autosave is under way waits for it, so the post carries the
  // revision that save produced instead of being refused as a conflict.
  form.addEventListener("submit", function (event) {
    clearTimeout(timer);
    if (saving) {
      event.preventDefault();
      pendingSubmit = event.submitter || form.querySelector("button[value=save]");
    }
  });
})();
