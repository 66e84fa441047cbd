// Passkeys: creating one (the passkeys page) and using one (the second step of signing in). The server sends
// the options as JSON with bytes in base64url; the browser's API wants ArrayBuffers and gives
// them back, so both directions are converted here. Posts are JSON with the CSRF token in the
// X-CSRFToken header.
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function post(form, url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {
        "Accept": "application/json", "Content-Type": "application/json",
        "X-CSRFToken": form.querySelector("input[name=csrf_token]").value
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { var error = new Error("refused"); error.refusal = data.errors || {}; throw error; }
        return data;
      });
    });
  }

  function common(credential) {
    return {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined
    };
  }

  // Runs one ceremony for the form: options, the browser's dialogue, the answer to the server.
  function ceremony(form, askOptions, useAuthenticator, answer) {
    var status = form.querySelector(".passkey-status");
    function said(name) { return form.getAttribute("data-text-" + name) || ""; }
    function showField(name, messages) {
      var input = form.querySelector("[name=" + name + "]");
      var error = document.getElementById(name + "-error");
      if (!input) { return false; }
      if (!error) {
        error = document.createElement("p");
        error.className = "error"; error.id = name + "-error";
        input.parentNode.appendChild(error);
        var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        described.push(error.id);
        input.setAttribute("aria-describedby", described.join(" "));
      }
      error.textContent = messages.join(" ");
      input.setAttribute("aria-invalid", "true");
      input.parentNode.classList.add("has-error");
      input.focus();
      return true;
    }
    function clearFields() {
      form.querySelectorAll("p.error").forEach(function (error) { error.textContent = ""; });
      form.querySelectorAll("[aria-invalid]").forEach(function (input) {
        input.removeAttribute("aria-invalid");
        input.parentNode.classList.remove("has-error");
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearFields();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        status.textContent = said("unsupported");
        return;
      }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      status.textContent = said("waiting");
      askOptions().then(function (data) {
        return useAuthenticator(data.options);
      }).then(function (credential) {
        return answer(credential);
      }).then(function (data) {
        window.location.assign(data.next);
      }).catch(function (error) {
        button.disabled = false;
        if (error.refusal) {
          var rest = [];
          Object.keys(error.refusal).forEach(function (name) {
            if (!showField(name, error.refusal[name])) { rest = rest.concat(error.refusal[name]); }
          });
          status.textContent = rest.join(" ");
        } else if (error.name === "NotAllowedError" || error.name === "AbortError") {
          status.textContent = said("cancelled");
        } else {
          status.textContent = said("failed");
        }
      });
    });
  }

  var add = document.querySelector("form[data-passkey-add]");
  if (add) {
    var nameField = add.querySelector("input[name=name]");
    ceremony(add, function () {
      return post(add, add.getAttribute("data-options-url"), { name: nameField.value });
    }, function (options) {
      return navigator.credentials.create({ publicKey: {
        rp: options.rp,
        user: { id: toBytes(options.user.id), name: options.user.name, displayName: options.user.displayName },
        challenge: toBytes(options.challenge),
        pubKeyCredParams: options.pubKeyCredParams,
        timeout: options.timeout,
        excludeCredentials: descriptors(options.excludeCredentials),
        authenticatorSelection: options.authenticatorSelection,
        attestation: options.attestation
      } });
    }, function (credential) {
      var body = common(credential);
      body.response = {
        clientDataJSON: toText(credential.response.clientDataJSON),
        attestationObject: toText(credential.response.attestationObject),
        transports: credential.response.getTransports ? credential.response.getTransports() : []
      };
      return post(add, add.getAttribute("action"), { name: nameField.value, credential: body });
    });
  }

  var check = document.querySelector("form[data-passkey-check]");
  if (check) {
    ceremony(check, function () {
      return post(check, check.getAttribute("data-options-url"), {});
    }, function (options) {
      return navigator.credentials.get({ publicKey: {
        challenge: toBytes(options.challenge),
        timeout: options.timeout,
        rpId: options.rpId,
        allowCredentials: descriptors(options.allowCredentials),
        userVerification: options.userVerification
      } });
    }, function (credential) {
      var body = common(credential);
      body.response = {
        clientDataJSON: toText(credential.response.clientDataJSON),
        authenticatorData: toText(credential.response.authenticatorData),
        signature: toText(credential.response.signature),
        userHandle: credential.response.userHandle ? toText(credential.response.userHandle) : undefined
      };
      return post(check, check.getAttribute("action"), body);
    });
  }
})();
