/*
 * PLN 123 — the ops page's "Jam layanan & hari libur" section: ops' live changes to the
 * CSO queues' opening hours and the holidays (ivr.web.ops_hours).
 *
 *   GET  /ops/api/hours                        queues now, holidays of this and next year;
 *   POST /ops/api/hours/<queue>                set its hours (what is left out stays);
 *   POST /ops/api/hours/<queue>/close          close it until a time (until, tz, reason);
 *   POST /ops/api/hours/<queue>/reset          back to jam_layanan.yaml;
 *   POST /ops/api/holidays                     add one (date, name, kind);
 *   POST /ops/api/holidays/<date>/remove       remove one.
 *
 * Every change answers with the whole view, drawn at once; the audit log is redrawn too
 * (window.pln123Control.refresh). Polled every POLL_MS, redrawn only when it changed, so
 * a half-typed input survives. Server strings go in as text.
 *
 * Hooks for tests: #hours-queues tr[data-queue][data-open] td[data-col],
 * #holidays tr[data-date][data-source], window.pln123Hours.updates (polls drawn).
 */
(function () {
  "use strict";

  var common = window.pln123Ops;
  var $ = common.$;
  var el = common.el;
  var call = common.call;

  var POLL_MS = window.pln123OpsPollMs || 5000;
  var REASONS = {
    jam: "di luar jam",
    libur: "hari libur",
    cuti_bersama: "cuti bersama",
    ditutup: "ditutup sementara",
  };
  var KINDS = { libur_nasional: "Libur nasional", cuti_bersama: "Cuti bersama" };
  var state = { timer: null, seq: 0, shown: "", view: null, editing: null };
  window.pln123Hours = { updates: 0 };

  function problem(id, text) {
    var node = $(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function schedule() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = setTimeout(refresh, POLL_MS);
  }

  function refresh() {
    var seq = ++state.seq;
    call("/ops/api/hours")
      .then(function (answer) {
        if (seq !== state.seq) return; // a change drew a newer view and polls on
        if (answer.status === 200) {
          problem("hours-error", "");
          render(answer.body);
        } else {
          problem("hours-error", "Gagal memuat: " + (answer.body.error || "HTTP " + answer.status));
        }
        window.pln123Hours.updates += 1;
        schedule();
      })
      .catch(function (error) {
        if (seq !== state.seq || error.message === "login") return;
        problem("hours-error", "Gagal memuat: " + error.message);
        schedule();
      });
  }

  /* A change: POST, then draw the answer's view (or show its error at `errorId`). */
  function change(url, body, errorId, done) {
    problem(errorId, "");
    return call(url, body)
      .then(function (answer) {
        if (answer.status === 200 || answer.status === 201) {
          state.seq += 1; // a poll under way must not draw an older view
          render(answer.body);
          schedule(); // the dropped poll's turn
          if (window.pln123Control && window.pln123Control.refresh) window.pln123Control.refresh();
          if (done) done();
        } else {
          problem(errorId, answer.body.error || "HTTP " + answer.status);
        }
      })
      .catch(function (error) {
        if (error.message !== "login") problem(errorId, error.message);
      });
  }

  function statusText(queue) {
    if (queue.open) {
      return queue.closure ? "Buka (dibuka ops sampai " + queue.closure.until_wib + ")" : "Buka";
    }
    if (queue.closure) {
      var text = "Tutup (ditutup ops sampai " + queue.closure.until_wib;
      return text + (queue.closure.reason ? ": " + queue.closure.reason : "") + ")";
    }
    return "Tutup (" + (REASONS[queue.reason] || queue.reason) + ")";
  }

  function hoursText(view, record) {
    if (record.always_open) return record.zone + " 24 jam";
    return (
      record.zone +
      " " +
      view.days
        .map(function (day) {
          return day + " " + record[day];
        })
        .join(", ")
    );
  }

  function button(text, label, onClick) {
    var node = el("button", text);
    node.type = "button";
    node.setAttribute("aria-label", label);
    node.addEventListener("click", onClick);
    return node;
  }

  function queueRow(view, queue) {
    var row = el("tr");
    var record = queue.record;
    row.dataset.queue = queue.queue;
    row.dataset.open = String(queue.open);
    var source = record.source === "ops" ? " (diubah ops: " + queue.schedule_set_by + ")" : "";
    var actions = el("td");
    var until = el("input");
    until.type = "text";
    until.placeholder = "HH:MM";
    until.dataset.role = "until";
    until.setAttribute("aria-label", "Tutup " + queue.queue + " sampai");
    var reason = el("input");
    reason.type = "text";
    reason.placeholder = "alasan";
    reason.dataset.role = "reason";
    reason.setAttribute("aria-label", "Alasan tutup " + queue.queue);
    var errorId = "hours-row-error-" + queue.queue;
    var error = el("p");
    error.id = errorId;
    error.className = "field-error";
    error.hidden = true;
    error.setAttribute("role", "alert");
    actions.append(
      button("Ubah jam", "Ubah jam " + queue.queue, function () {
        edit(view, queue);
      }),
      until,
      reason,
      button("Tutup sampai", "Tutup " + queue.queue + " sekarang", function () {
        change(
          "/ops/api/hours/" + encodeURIComponent(queue.queue) + "/close",
          { until: until.value, tz: "WIB", reason: reason.value },
          errorId,
          function () {
            var row = document.querySelector(
              '#hours-queues tr[data-queue="' + CSS.escape(queue.queue) + '"]'
            );
            if (row) row.querySelectorAll("input[data-role]").forEach(function (input) {
              input.value = "";
            });
          }
        );
      })
    );
    if (record.source === "ops" || queue.closure) {
      actions.append(
        button("Kembalikan ke bawaan", "Kembalikan " + queue.queue + " ke bawaan", function () {
          if (!window.confirm("Kembalikan jam layanan " + queue.queue + " ke jam_layanan.yaml?")) return;
          change("/ops/api/hours/" + encodeURIComponent(queue.queue) + "/reset", {}, errorId);
        })
      );
    }
    actions.append(error);
    [
      ["queue", el("td", queue.queue)],
      ["status", el("td", statusText(queue))],
      ["next", el("td", queue.open ? "—" : queue.next_opening_wib || "lebih dari 2 minggu")],
      ["hours", el("td", hoursText(view, record) + source)],
      ["actions", actions],
    ].forEach(function (pair) {
      pair[1].dataset.col = pair[0];
      row.append(pair[1]);
    });
    return row;
  }

  function holidayRow(holiday) {
    var row = el("tr");
    row.dataset.date = holiday.date;
    row.dataset.source = holiday.source;
    var actions = el("td");
    actions.append(
      button("Hapus", "Hapus hari libur " + holiday.date, function () {
        if (!window.confirm("Hapus hari libur " + holiday.date + " (" + holiday.name + ")?")) return;
        change("/ops/api/holidays/" + holiday.date + "/remove", {}, "hours-error");
      })
    );
    [
      ["date", el("td", holiday.date)],
      ["name", el("td", holiday.name)],
      ["kind", el("td", KINDS[holiday.kind] || holiday.kind)],
      ["source", el("td", holiday.source === "ops" ? "ops" : "hari_libur.yaml")],
      ["actions", actions],
    ].forEach(function (pair) {
      pair[1].dataset.col = pair[0];
      row.append(pair[1]);
    });
    return row;
  }

  function render(view) {
    var text = JSON.stringify([view.queues, view.holidays, view.removed]);
    if (text === state.shown) return;
    state.shown = text;
    state.view = view;
    // What ops were typing in a row survives the redraw.
    var typed = {};
    document.querySelectorAll("#hours-queues input[data-role]").forEach(function (input) {
      typed[input.closest("tr").dataset.queue + "/" + input.dataset.role] = input.value;
    });
    $("hours-queues").tBodies[0].replaceChildren.apply(
      $("hours-queues").tBodies[0],
      view.queues.map(function (queue) {
        return queueRow(view, queue);
      })
    );
    $("holidays").tBodies[0].replaceChildren.apply(
      $("holidays").tBodies[0],
      view.holidays.map(holidayRow)
    );
    document.querySelectorAll("#hours-queues input[data-role]").forEach(function (input) {
      var key = input.closest("tr").dataset.queue + "/" + input.dataset.role;
      if (typed[key]) input.value = typed[key];
    });
    var years = view.holidays.map(function (h) {
      return h.date.slice(0, 4);
    });
    $("holiday-years").textContent = years.length ? years[0] + "–" + years[years.length - 1] : "";
  }

  // --- the hours form -------------------------------------------------------------------

  function edit(view, queue) {
    var record = queue.record;
    state.editing = queue.queue;
    var form = $("hours-form");
    form.querySelector('[data-field="queue"]').textContent = queue.queue;
    $("hours-zone").value = record.zone;
    $("hours-alternative").value = record.alternative_queue || "";
    $("hours-holidays").checked = record.closed_on_holidays;
    $("hours-callback").checked = record.callback;
    var days = $("hours-days");
    days.replaceChildren();
    view.days.forEach(function (day) {
      var box = el("div");
      box.className = "form-field";
      var label = el("label", day);
      label.htmlFor = "hours-day-" + day;
      var input = el("input");
      input.type = "text";
      input.id = "hours-day-" + day;
      input.dataset.day = day;
      input.value = record[day];
      box.append(label, input);
      days.append(box);
    });
    problem("hours-form-error", "");
    form.hidden = false;
    $("hours-day-" + view.days[0]).focus();
  }

  function submitHours(event) {
    event.preventDefault();
    if (!state.editing) return;
    var hours = {};
    document.querySelectorAll("#hours-days input[data-day]").forEach(function (input) {
      hours[input.dataset.day] = input.value;
    });
    var alternative = $("hours-alternative").value.trim();
    change(
      "/ops/api/hours/" + encodeURIComponent(state.editing),
      {
        zone: $("hours-zone").value,
        hours: hours,
        closed_on_holidays: $("hours-holidays").checked,
        callback: $("hours-callback").checked,
        alternative_queue: alternative || null,
      },
      "hours-form-error",
      function () {
        $("hours-form").hidden = true;
        state.editing = null;
      }
    );
  }

  function submitHoliday(event) {
    event.preventDefault();
    change(
      "/ops/api/holidays",
      { date: $("holiday-date").value, name: $("holiday-name").value, kind: $("holiday-kind").value },
      "holiday-form-error",
      function () {
        $("holiday-form").reset();
      }
    );
  }

  function boot() {
    $("hours-form").addEventListener("submit", submitHours);
    $("hours-cancel").addEventListener("click", function () {
      $("hours-form").hidden = true;
      state.editing = null;
    });
    $("holiday-form").addEventListener("submit", submitHoliday);
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
