/*
 * PLN 123 — the ops page's "Pengumuman" section: the global announcement every caller
 * hears after the greeting and before the main menu (ivr.web.ops_announcement).
 *
 *   GET  /ops/api/announcement        the one in force (or null) and the latest ones;
 *   POST /ops/api/announcement        set one (400 {error, field}: shown at the field);
 *   POST /ops/api/announcement/end    end the one in force now.
 *
 * The section is polled every POLL_MS (a change made with `pln123 announcement` shows
 * without a reload) and redrawn only when it changed. After a change the audit log is
 * redrawn at once (window.pln123Control.refresh). Server strings go in as text.
 *
 * Hooks for tests: #announcement-current[data-announcement] [data-field],
 * window.pln123Announcement.updates (polls drawn).
 */
(function () {
  "use strict";

  var common = window.pln123Ops;
  var $ = common.$;
  var call = common.call;

  var POLL_MS = window.pln123OpsPollMs || 5000; // tests poll faster
  var INPUTS = {
    message: "announcement-message",
    until: "announcement-until",
    tz: "announcement-tz",
  };
  var state = { timer: null, seq: 0, shown: "", active: null };
  window.pln123Announcement = { updates: 0 };

  function auditNow() {
    if (window.pln123Control && window.pln123Control.refresh) window.pln123Control.refresh();
  }

  function showProblem(text) {
    var error = $("announcement-error");
    error.textContent = text;
    error.hidden = !text;
  }

  // --- the one in force -------------------------------------------------------------

  function schedule() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = setTimeout(refresh, POLL_MS);
  }

  function refresh() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    var seq = ++state.seq;
    call("/ops/api/announcement")
      .then(function (answer) {
        if (seq !== state.seq) return;
        if (answer.status !== 200) {
          showProblem("Gagal memuat: " + (answer.body.error || "HTTP " + answer.status));
        } else {
          render(answer.body.active);
        }
        window.pln123Announcement.updates += 1;
        schedule();
      })
      .catch(function (error) {
        if (seq !== state.seq || error.message === "login") return;
        showProblem("Gagal memuat: " + error.message);
        schedule();
      });
  }

  function render(active) {
    var text = JSON.stringify(active);
    if (text === state.shown) return;
    state.shown = text;
    state.active = active;
    var box = $("announcement-current");
    $("announcement-none").hidden = active !== null;
    box.hidden = active === null;
    if (active === null) {
      delete box.dataset.announcement;
      return;
    }
    box.dataset.announcement = String(active.id);
    box.querySelector('[data-field="until"]').textContent = active.until_wib;
    box.querySelector('[data-field="created_by"]').textContent = active.created_by;
    box.querySelector('[data-field="message"]').textContent = active.message;
    $("announcement-end").disabled = false;
  }

  function end() {
    if (state.active === null) return;
    var question = "Akhiri pengumuman sekarang? Penelepon tidak lagi mendengarnya.";
    if (!window.confirm(question)) return;
    var button = $("announcement-end");
    button.disabled = true;
    call("/ops/api/announcement/end", {})
      .then(function (answer) {
        if (answer.status === 200) {
          showProblem("");
        } else {
          showProblem(
            "Pengumuman tidak dapat diakhiri: " + (answer.body.error || "HTTP " + answer.status)
          );
          button.disabled = false;
        }
        refresh();
        auditNow();
      })
      .catch(function (failure) {
        if (failure.message === "login") return;
        showProblem("Pengumuman tidak dapat diakhiri: " + failure.message);
        button.disabled = false;
      });
  }

  // --- the form -----------------------------------------------------------------------

  var errors = common.fieldErrors("announcement-form", INPUTS);
  var clearErrors = errors.clear;
  var showError = errors.show;

  function submit(event) {
    event.preventDefault();
    clearErrors();
    $("announcement-form-done").textContent = "";
    var button = $("announcement-submit");
    button.disabled = true;
    var announcement = {
      message: $("announcement-message").value,
      until: $("announcement-until").value,
      tz: $("announcement-tz").value,
    };
    call("/ops/api/announcement", announcement)
      .then(function (answer) {
        button.disabled = false;
        if (answer.status === 201) {
          $("announcement-form").reset();
          $("announcement-form-done").textContent =
            "Pengumuman dipasang sampai " + answer.body.until_wib + ".";
          refresh();
          auditNow();
          return;
        }
        showError(answer.body.field || "", answer.body.error || "HTTP " + answer.status);
      })
      .catch(function (error) {
        button.disabled = false;
        if (error.message !== "login") showError("", error.message);
      });
  }

  function boot() {
    $("announcement-form").addEventListener("submit", submit);
    $("announcement-end").addEventListener("click", end);
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
