// Improves the proposal editor; every form also works without it.
(function () {
  "use strict";

  // Every word the script writes comes from the page, in the reader's language.
  var source = document.getElementById("editor-texts");
  var texts = source ? JSON.parse(source.textContent) : {};
  var language = document.documentElement.lang || "en";

  // Character counters for fields with a limit.
  document.querySelectorAll("[data-maxchars]").forEach(function (field) {
    var counter = document.getElementById(field.getAttribute("aria-describedby").split(" ")[0]);
    var max = parseInt(field.getAttribute("data-maxchars"), 10);
    if (!counter || !counter.hasAttribute("data-text")) { return; }
    function update() {
      var length = field.value.replace(/\r\n/g, "\n").length;
      counter.textContent = counter.getAttribute("data-text").replace("{count}", length.toLocaleString(language));
      counter.classList.toggle("over", length > max);
    }
    field.addEventListener("input", update);
    update();
  });

  // After a save, the checklist and the notes at each part show what is still to do.
  function showProblems(problems, toDo) {
    var byAnchor = {};
    problems.forEach(function (p) { (byAnchor[p.anchor] = byAnchor[p.anchor] || []).push(p.message); });
    document.querySelectorAll("ul.problems[data-for]").forEach(function (list) {
      list.replaceChildren();
      (byAnchor[list.getAttribute("data-for")] || []).forEach(function (message) {
        var item = document.createElement("li"); item.textContent = message; list.appendChild(item);
      });
    });
    var body = document.getElementById("checklist-body");
    if (!body) { return; }
    body.replaceChildren();
    var intro = document.createElement("p");
    intro.textContent = toDo;
    if (!problems.length) {
      intro.className = "ok"; body.appendChild(intro); return;
    }
    var list = document.createElement("ol"); list.className = "checklist";
    problems.forEach(function (p) {
      var item = document.createElement("li"), link = document.createElement("a");
      link.href = "#" + p.anchor; link.textContent = p.message; item.appendChild(link); list.appendChild(item);
    });
    body.appendChild(intro); body.appendChild(list);
  }

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
      status.textContent = texts.saving;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
      }).then(function (result) {
        if (result.ok) {
          revision.value = result.data.revision;
          // The server's time of the save, written by the server: not the browser's clock.
          status.textContent = result.data.saved_note;
          if (result.data.problems) { showProblems(result.data.problems, result.data.to_do); }
        } else if (result.status === 401) {
          status.textContent = texts.session_ended;
        } else {
          status.textContent = result.data.error || texts.not_saved;
          if (result.data.conflict) { form.classList.add("conflict"); return; }
        }
      }).catch(function () {
        status.textContent = texts.offline;
      }).finally(function () {
        saving = false;
        if (dirty) { schedule(); }
      });
    }
    function schedule() { clearTimeout(timer); timer = setTimeout(save, 1500); }
    textarea.addEventListener("input", function () { status.textContent = texts.unsaved; schedule(); });
  });

  // A submit button sends once: a second click while the first is under way does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
})();
