// The login pages: ?error=1 means the server turned the last attempt down.
// (A file of its own: the pages' Content-Security-Policy allows no inline script.)
(function () {
  "use strict";
  if (new URLSearchParams(window.location.search).get("error") === "1") {
    document.getElementById("login-error").hidden = false;
  }
})();
