// The organisation fields of the consortium editor and the juror's profile: as a name is typed,
// the registry's search endpoint offers up to 20 matches in a datalist. Without JavaScript the
// field is plain text, matched against the registry when the form is sent.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("input[data-organisation-search]");
  Array.prototype.forEach.call(inputs, function (input) {
    var list = document.createElement("datalist");
    list.id = input.id + "-matches";
    input.parentNode.appendChild(list);
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === asked) {
          return;
        }
        asked = q;
        var url = input.getAttribute("data-organisation-search") + "?q=" + encodeURIComponent(q);
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.json() : { results: [] };
          })
          .then(function (answer) {
            if (asked !== q) {
              return;
            }
            list.textContent = "";
            answer.results.forEach(function (found) {
              var option = document.createElement("option");
              option.value = found.name;
              option.label = [found.kind_name, found.federal_state_name || found.country]
                .filter(Boolean)
                .join(", ");
              list.appendChild(option);
            });
          })
          .catch(function () {
            // The plain field still works: the name is matched when the form is sent.
          });
      }, 200);
    });
  });
})();
