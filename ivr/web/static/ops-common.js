/*
 * What the ops page's sections share (ops-control.js, ops-announcement.js,
 * ops-hours.js): an element by id, a text-only element (never markup: ops' free text
 * goes on the page as text), and a JSON call that sends a 401 to the login page.
 */
(function () {
  "use strict";

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  /* fetch as JSON (a POST when a body is given): resolves {status, body}. */
  function call(url, body) {
    var init = { credentials: "same-origin", cache: "no-store" };
    if (body) {
      init.method = "POST";
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      if (r.status === 401) {
        window.location.assign("/ops/login");
        throw new Error("login");
      }
      return r
        .json()
        .catch(function () {
          return { error: "HTTP " + r.status };
        })
        .then(function (answer) {
          return { status: r.status, body: answer };
        });
    });
  }

  /* A form's field errors: ``inputs`` maps a field name to its input's id; each field
   * has an element [data-error-for=name] in the form, and #<form>-error takes the rest. */
  function fieldErrors(formId, inputs) {
    return {
      clear: function () {
        document.querySelectorAll("#" + formId + " [data-error-for]").forEach(function (node) {
          node.hidden = true;
          node.textContent = "";
        });
        Object.keys(inputs).forEach(function (name) {
          $(inputs[name]).removeAttribute("aria-invalid");
        });
      },
      show: function (fieldName, message) {
        var node = document.querySelector(
          "#" + formId + ' [data-error-for="' + CSS.escape(fieldName) + '"]'
        );
        if (!node) node = $(formId + "-error");
        node.textContent = message;
        node.hidden = false;
        var input = inputs[fieldName] && $(inputs[fieldName]);
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      },
    };
  }

  window.pln123Ops = { $: $, el: el, call: call, fieldErrors: fieldErrors };
})();
