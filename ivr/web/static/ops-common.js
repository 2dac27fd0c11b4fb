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

  window.pln123Ops = { $: $, el: el, call: call };
})();
