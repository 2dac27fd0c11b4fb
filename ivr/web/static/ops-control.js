/*
 * PLN 123 — the ops page's control sections: outage announcements (gangguan meluas)
 * and the audit log (ivr.web.ops_control).
 *
 *   GET  /ops/api/units               unit and posko names, for the form's suggestions;
 *   GET  /ops/api/outages             every outage, newest first, with status and counts;
 *   POST /ops/api/outages             declare one (400 {error, field}: shown at the field);
 *   POST /ops/api/outages/<id>/end    end one now;
 *   GET  /ops/api/audit?limit=        the latest changes, newest first.
 *
 * Both lists are polled every POLL_MS and redrawn only when they changed, so a button
 * keeps its focus. Every server string goes on the page as text (textContent).
 *
 * Hooks for tests: #outages tr[data-outage][data-status] td[data-col],
 * #audit tr[data-audit][data-action], window.pln123Control.updates (polls drawn).
 * window.pln123Control.refresh() redraws both lists now (ops-announcement.js calls it
 * after a change, so the audit log shows it at once).
 */
(function () {
  "use strict";

  var common = window.pln123Ops;
  var $ = common.$;
  var el = common.el;
  var call = common.call;

  var POLL_MS = window.pln123OpsPollMs || 5000; // tests poll faster
  var AUDIT_LIMIT = 50;
  var EVENTS = ["heard", "attached", "cso", "hung_up"];
  var STATUS = {
    active: "Aktif",
    scheduled: "Terjadwal",
    ended: "Diakhiri",
    expired: "Lewat waktu",
  };
  var ACTIONS = {
    "outage.add": "Gangguan diumumkan",
    "outage.end": "Gangguan diakhiri",
    "announcement.set": "Pengumuman dipasang",
    "announcement.end": "Pengumuman diakhiri",
    "hours.set": "Jam layanan diubah",
    "hours.close": "Antrean ditutup",
    "hours.open": "Antrean dibuka",
    "hours.reset": "Jam layanan dikembalikan",
    "holiday.add": "Hari libur ditambah",
    "holiday.remove": "Hari libur dihapus",
  };
  /* Fields of audited records, in the order shown, with their names on the page. */
  var FIELDS = [
    ["units", "Unit"],
    ["area_codes", "Kode area"],
    ["message", "Pesan"],
    ["report_number", "No. laporan"],
    ["starts_at", "Mulai"],
    ["until", "Nyala kembali"],
    ["ended_at", "Diakhiri"],
    ["ended_by", "Diakhiri oleh"],
    ["queue", "Antrean"],
    ["source", "Sumber"],
    ["zone", "Zona"],
    ["always_open", "24 jam"],
    ["senin", "Senin"],
    ["selasa", "Selasa"],
    ["rabu", "Rabu"],
    ["kamis", "Kamis"],
    ["jumat", "Jumat"],
    ["sabtu", "Sabtu"],
    ["minggu", "Minggu"],
    ["closed_on_holidays", "Tutup hari libur"],
    ["holiday_kinds", "Jenis libur"],
    ["callback", "Telepon balik"],
    ["alternative_queue", "Antrean alternatif"],
    ["state", "Status sementara"],
    ["reason", "Alasan"],
    ["date", "Tanggal"],
    ["name", "Nama"],
    ["kind", "Jenis"],
  ];
  /* Names that differ for records of another kind (the subject's prefix). */
  var FIELD_NAMES_OF = { announcement: { until: "Berakhir" }, queue: { until: "Sampai" } };
  /* The form's input for each field the server may name in an error. */
  var INPUTS = {
    units: "outage-unit",
    area_codes: "outage-area-codes",
    message: "outage-message",
    until: "outage-until",
    tz: "outage-tz",
    report: "outage-report",
  };

  var state = { chosen: [], timer: null, seq: 0, outages: "", audit: "" };
  window.pln123Control = {
    updates: 0,
    refresh: function () {
      refresh();
    },
  };

  function list(value) {
    return Array.isArray(value) ? value.join(", ") : value;
  }

  function shown(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (value === true) return "ya";
    if (value === false) return "tidak";
    if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
    return String(value);
  }

  // --- the lists ----------------------------------------------------------------------

  function schedule() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = setTimeout(refresh, POLL_MS);
  }

  function refresh() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    var seq = ++state.seq;
    Promise.all([call("/ops/api/outages"), call("/ops/api/audit?limit=" + AUDIT_LIMIT)])
      .then(function (answers) {
        if (seq !== state.seq) return;
        showAnswer(answers[0], "outages-error", "outages", renderOutages);
        showAnswer(answers[1], "audit-error", "audit", renderAudit);
        window.pln123Control.updates += 1;
        schedule();
      })
      .catch(function (error) {
        if (seq !== state.seq || error.message === "login") return;
        var message = $("outages-error");
        message.textContent = "Gagal memuat: " + error.message;
        message.hidden = false;
        schedule();
      });
  }

  /* Draw one list when its answer changed (or show its error). */
  function showAnswer(answer, errorId, key, render) {
    var error = $(errorId);
    if (answer.status !== 200) {
      error.textContent = "Gagal memuat: " + (answer.body.error || "HTTP " + answer.status);
      error.hidden = false;
      return;
    }
    if (error.dataset.sticky !== "1") error.hidden = true;
    var text = JSON.stringify(answer.body);
    if (text === state[key]) return;
    state[key] = text;
    render(answer.body);
  }

  function renderOutages(body) {
    var rows = $("outages").tBodies[0];
    rows.replaceChildren();
    body.outages.forEach(function (outage) {
      var row = el("tr");
      row.dataset.outage = String(outage.id);
      row.dataset.status = outage.status;
      var units = shown(outage.units);
      if (outage.area_codes.length) units += " (kode area " + list(outage.area_codes) + ")";
      var status = el("td", STATUS[outage.status] || outage.status);
      if (outage.ended_at_wib) {
        status.append(el("br"), el("span", outage.ended_at_wib + " oleh " + outage.ended_by, "muted"));
      }
      var cells = [
        ["id", el("td", outage.id)],
        ["units", el("td", units)],
        ["message", el("td", outage.message, "message")],
        ["until", el("td", outage.until_wib)],
        ["status", status],
      ];
      EVENTS.forEach(function (event) {
        cells.push([event, el("td", outage.counts[event] || 0, "num")]);
      });
      var action = el("td");
      if (outage.status === "active" || outage.status === "scheduled") {
        var button = el("button", "Akhiri", "end-outage");
        button.type = "button";
        button.setAttribute("aria-label", "Akhiri gangguan no. " + outage.id);
        button.addEventListener("click", function () {
          endOutage(outage.id, button);
        });
        action.append(button);
      }
      cells.push(["action", action]);
      cells.forEach(function (pair) {
        pair[1].dataset.col = pair[0];
        row.append(pair[1]);
      });
      rows.append(row);
    });
    $("outages").hidden = body.outages.length === 0;
    $("outages-empty").hidden = body.outages.length !== 0;
  }

  function changeList(entry) {
    var items = el("ul", null, "changes");
    var names = {};
    var own = FIELD_NAMES_OF[String(entry.subject).split(":")[0]] || {};
    FIELDS.forEach(function (f) {
      names[f[0]] = own[f[0]] || f[1];
    });
    if (entry.changes.length) {
      entry.changes.forEach(function (change) {
        var name = names[change.field] || change.field;
        items.append(el("li", name + ": " + shown(change.before) + " → " + shown(change.after)));
      });
    } else if (entry.record && typeof entry.record === "object") {
      FIELDS.forEach(function (f) {
        var value = entry.record[f[0]];
        if (shown(value) !== "—") items.append(el("li", names[f[0]] + ": " + shown(value)));
      });
    }
    return items;
  }

  function renderAudit(body) {
    var rows = $("audit").tBodies[0];
    rows.replaceChildren();
    body.entries.forEach(function (entry) {
      var row = el("tr");
      row.dataset.audit = String(entry.id);
      row.dataset.action = entry.action;
      var changes = el("td");
      changes.append(changeList(entry));
      [
        ["at", el("td", entry.at_wib)],
        ["actor", el("td", entry.actor)],
        ["action", el("td", ACTIONS[entry.action] || entry.action)],
        ["subject", el("td", entry.subject)],
        ["changes", changes],
      ].forEach(function (pair) {
        pair[1].dataset.col = pair[0];
        row.append(pair[1]);
      });
      rows.append(row);
    });
    $("audit").hidden = body.entries.length === 0;
    $("audit-empty").hidden = body.entries.length !== 0;
  }

  function endOutage(id, button) {
    var question = "Akhiri gangguan no. " + id + " sekarang? Penelepon tidak lagi mendengar pengumumannya.";
    if (!window.confirm(question)) return;
    button.disabled = true;
    var error = $("outages-error");
    call("/ops/api/outages/" + id + "/end", {})
      .then(function (answer) {
        if (answer.status === 200) {
          error.dataset.sticky = "";
          error.hidden = true;
        } else {
          error.textContent =
            "Gangguan no. " + id + " tidak dapat diakhiri: " + (answer.body.error || "HTTP " + answer.status);
          error.dataset.sticky = "1";
          error.hidden = false;
          button.disabled = false;
        }
        refresh();
      })
      .catch(function (failure) {
        if (failure.message === "login") return;
        error.textContent = "Gangguan no. " + id + " tidak dapat diakhiri: " + failure.message;
        error.hidden = false;
        button.disabled = false;
      });
  }

  // --- the form -----------------------------------------------------------------------

  function split(text, pattern) {
    return text
      .split(pattern)
      .map(function (part) {
        return part.trim();
      })
      .filter(function (part) {
        return part !== "";
      });
  }

  function renderChosen() {
    var box = $("outage-unit-list");
    box.replaceChildren();
    state.chosen.forEach(function (name, index) {
      var item = el("li", null, "chosen-unit");
      item.dataset.unit = name;
      var remove = el("button", "Hapus");
      remove.type = "button";
      remove.setAttribute("aria-label", "Hapus " + name);
      remove.addEventListener("click", function () {
        state.chosen.splice(index, 1);
        renderChosen();
        $("outage-unit").focus();
      });
      item.append(el("span", name), remove);
      box.append(item);
    });
  }

  /* Move what the unit field holds (one name, or several with commas) to the chosen. */
  function takeUnits() {
    var input = $("outage-unit");
    split(input.value, ",").forEach(function (name) {
      var known = state.chosen.some(function (chosen) {
        return chosen.toLowerCase() === name.toLowerCase();
      });
      if (!known) state.chosen.push(name);
    });
    input.value = "";
    renderChosen();
  }

  var errors = common.fieldErrors("outage-form", INPUTS);
  var clearErrors = errors.clear;
  var showError = errors.show;

  function submit(event) {
    event.preventDefault();
    takeUnits();
    clearErrors();
    $("outage-form-done").textContent = "";
    var button = $("outage-submit");
    button.disabled = true;
    var outage = {
      units: state.chosen.slice(),
      area_codes: split($("outage-area-codes").value, /[\s,;]+/),
      message: $("outage-message").value,
      until: $("outage-until").value,
      tz: $("outage-tz").value,
      report: $("outage-report").value,
    };
    call("/ops/api/outages", outage)
      .then(function (answer) {
        button.disabled = false;
        if (answer.status === 201) {
          $("outage-form").reset();
          state.chosen = [];
          renderChosen();
          $("outage-form-done").textContent =
            "Gangguan no. " + answer.body.id + " diumumkan sampai " + answer.body.until_wib + ".";
          refresh();
          return;
        }
        showError(answer.body.field || "", answer.body.error || "HTTP " + answer.status);
      })
      .catch(function (error) {
        button.disabled = false;
        if (error.message !== "login") showError("", error.message);
      });
  }

  function loadUnits() {
    call("/ops/api/units")
      .then(function (answer) {
        if (answer.status !== 200) return;
        var options = $("known-units");
        options.replaceChildren();
        answer.body.units.forEach(function (name) {
          var option = el("option");
          option.value = name;
          options.append(option);
        });
      })
      .catch(function () {
        /* the field still takes names typed by hand; the server checks them */
      });
  }

  function boot() {
    $("outage-form").addEventListener("submit", submit);
    $("outage-unit-add").addEventListener("click", function () {
      takeUnits();
      $("outage-unit").focus();
    });
    $("outage-unit").addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        takeUnits();
      }
    });
    loadUnits();
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
