/*
 * PLN 123 — the CSO's screen-pop page.
 *
 * One WebSocket to /ws (the session cookie authenticates it). The server sends:
 *   {"type": "hello", "agent": {...}, "pops": [PopView, ...newest first], "callbacks": [...]}
 *       on every (re)connect; it replaces the whole state;
 *   {"type": "pop", "pop": PopView}
 *       a new pop (shown at once, added on top of the recent list) or an update of one
 *       already known (same id);
 *   {"type": "callbacks", "callbacks": [CallbackView, ...]}
 *       the new callback task list.
 * The page sends {"type": "callback_done", "id": <int>} when the CSO clicks "Selesai".
 *
 * Every server string is put on the page as text (textContent, createElement), never as
 * markup.
 *
 * Hooks for tests and the benchmark: #current-pop[data-pop-id][data-state],
 * [data-field=...] (the outage block is [data-field="outage"], its values "outage_<row>"),
 * window.pln123Rendered[popId] (Date.now() at the first frame after a
 * "pop" message for that id was rendered) and window.pln123Messages (messages handled).
 */
(function () {
  "use strict";

  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 5000;
  var MAX_RECENT = 50;
  var COPIED_MS = 1500;
  var CLOSE_UNAUTHORIZED = 4401;
  var TITLE = "PLN 123 — CSO";

  var TEXT = {
    connecting: "Menyambung…",
    open: "Tersambung",
    closed: "Terputus — menyambung ulang…",
    copy: "Salin untuk APKT",
    copied: "Tersalin",
    copyFailed: "Gagal menyalin",
    verified: "terverifikasi",
    differs: "berbeda menurut penelepon",
    noCustomer:
      "Pelanggan tidak teridentifikasi (IDPEL / no. meter tidak diberikan atau tidak ditemukan).",
    noApkt: "Tidak ada form laporan untuk panggilan ini.",
    noAnswers: "Belum ada jawaban.",
    noIdpel: "Tanpa IDPEL",
    outage: "Gangguan meluas diketahui",
    done: "Selesai",
    show: "Lihat",
  };

  window.pln123Rendered = {};
  window.pln123Messages = 0;

  var state = {
    agent: null,
    pops: [], // newest first
    byId: new Map(),
    shownId: null,
    callbacks: [],
    pendingCallbacks: new Set(),
  };

  var socket = null;
  var backoffMs = BACKOFF_MIN_MS;

  // --- small DOM helpers (text only) ----------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var value = attrs[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "className") node.className = value;
        else node.setAttribute(name, value === true ? "" : String(value));
      });
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    });
  }

  function str(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  /** The text to show: the value, or a dash for nothing. */
  function shown(value) {
    var text = str(value);
    return text === "" ? "—" : text;
  }

  function field(name, value, className) {
    var text = str(value);
    return el(
      "span",
      { "data-field": name, className: (className || "") + (text === "" ? " none" : "") },
      shown(text)
    );
  }

  /** A label/value row of a <dl>. */
  function row(label, valueNodes) {
    return el("div", { className: "row" }, [el("dt", null, label), el("dd", null, valueNodes)]);
  }

  function section(title, className, children) {
    return el("section", { className: "block " + (className || "") }, [
      el("h3", null, title),
    ].concat(children));
  }

  function groupDigits(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  function byId(id) {
    return document.getElementById(id);
  }

  // --- the shown pop ----------------------------------------------------------------

  function renderCurrent() {
    var main = byId("main");
    var pop = state.shownId === null ? null : state.byId.get(state.shownId);
    if (!pop) {
      state.shownId = null;
      main.replaceChildren(el("p", { id: "empty", className: "empty" }, "Belum ada panggilan."));
      document.title = TITLE;
      return;
    }
    main.replaceChildren(popCard(pop));
    document.title = (pop.state === "ringing" ? "(" + str(pop.state_label) + ") " : "") + TITLE;
  }

  function popCard(pop) {
    var card = el("article", {
      id: "current-pop",
      className: "pop state-" + safeClass(pop.state),
      "data-pop-id": str(pop.id),
      "data-state": str(pop.state),
    });
    append(card, [
      cardHeader(pop),
      outageBlock(pop.outage),
      reportNotice(pop),
      el("div", { className: "columns" }, [
        el("div", { className: "column" }, [
          callerBlock(pop.caller || {}),
          notesBlock(pop),
          customerBlock(pop.customer),
          powerBlock(pop),
          apktBlock(pop),
        ]),
        el("div", { className: "column" }, [diagnosisBlock(pop), answersBlock(pop)]),
      ]),
    ]);
    return card;
  }

  function safeClass(value) {
    return str(value).replace(/[^a-z_-]/gi, "") || "unknown";
  }

  function cardHeader(pop) {
    var copy = el(
      "button",
      {
        type: "button",
        id: "copy-apkt",
        className: "copy",
        disabled: str(pop.apkt_block) === "",
        title: "Salin teks laporan lalu tempel di APKT",
      },
      TEXT.copy
    );
    var popId = str(pop.id);
    copy.addEventListener("click", function () {
      copyApkt(copy, popId);
    });
    return el("header", { className: "pop-head" }, [
      el("span", { className: "badge state-" + safeClass(pop.state), "data-field": "state" },
        shown(pop.state_label)),
      el("span", { className: "queue", "data-field": "queue" }, shown(pop.queue_label)),
      el("span", { className: "time" }, [
        el("span", { className: "label" }, "Waktu "),
        el("span", { "data-field": "rang_at" }, shown(pop.rang_at_text)),
      ]),
      copy,
    ]);
  }

  function reportNotice(pop) {
    var parts = [];
    if (str(pop.note) !== "") {
      // e.g. "Panggilan tidak melalui IVR": the IVR was down, only the number is known.
      parts.push(el("div", { className: "notice" }, [
        el("span", { "data-field": "note" }, str(pop.note)),
      ]));
    }
    if (str(pop.report_number) !== "") {
      parts.push(el("div", { className: "notice report" }, [
        el("span", { className: "label" }, "No. laporan"),
        el("span", { className: "big mono selectable", "data-field": "report_number" },
          str(pop.report_number)),
      ]));
    }
    var open = pop.open_report;
    if (open && typeof open === "object") {
      parts.push(el("div", { className: "notice open-report" }, [
        el("span", { className: "label" }, "Laporan sebelumnya"),
        el("span", { className: "big mono selectable", "data-field": "open_report_number" },
          shown(open.number)),
        str(open.status) === "" ? null :
          el("span", { className: "status", "data-field": "open_report_status" }, str(open.status)),
      ]));
    }
    return parts.length ? el("div", { className: "notices" }, parts) : null;
  }

  // The outage announcement (gangguan meluas) the caller heard before choosing a CSO,
  // first on the card; absent when none. The message is ops' free text: text only.
  function outageBlock(outage) {
    if (!outage || typeof outage !== "object") return null;
    var rows = Array.isArray(outage.rows) ? outage.rows : [];
    var title = str(outage.title) || TEXT.outage;
    return el("section", {
      className: "block outage",
      "data-field": "outage",
      "data-outage-id": str(outage.id),
      role: "region",
      "aria-label": title,
    }, [
      el("h3", null, [
        el("span", { className: "outage-icon", "aria-hidden": "true" }, "⚠"), " ", title,
      ]),
      el("p", { className: "outage-message" }, field("outage_message", outage.message)),
      el("dl", null, rows.map(function (r) {
        r = r || {};
        var name = safeClass(r.field);
        var className = name === "report_number" ? "big mono selectable" : "";
        return row(shown(r.label), field("outage_" + name, r.value, className));
      })),
    ]);
  }

  function callerBlock(caller) {
    var name = [];
    if (str(caller.salutation) !== "") {
      name.push(el("span", { "data-field": "salutation" }, str(caller.salutation)), " ");
    }
    name.push(field("caller_name", caller.name));
    return section("Penelepon", "caller", [
      el("dl", null, [
        row("Nama", name),
        row("Nomor", field("caller_number", caller.number, "big mono selectable")),
        row("Saluran", field("caller_line", caller.line_label)),
      ]),
    ]);
  }

  function customerBlock(customer) {
    if (!customer || typeof customer !== "object") {
      return section("Pelanggan", "customer", [
        el("p", { className: "note", "data-field": "customer_missing" }, TEXT.noCustomer),
      ]);
    }
    var address = [field("address", customer.address)];
    if (customer.address_verified === true) {
      address.push(" ", el("span", { className: "mark ok", "data-field": "address_verified" },
        "✓ " + TEXT.verified));
    } else if (customer.address_verified === false) {
      address.push(" ", el("span", { className: "mark warn", "data-field": "address_verified" },
        "⚠ " + TEXT.differs));
    }
    var power = customer.power_va;
    var powerText = power === null || power === undefined || power === "" ? "" :
      (typeof power === "number" ? groupDigits(power) : str(power)) + " VA";
    return section("Pelanggan", "customer", [
      el("dl", null, [
        row("IDPEL", field("idpel", customer.idpel, "big mono selectable")),
        row("No. meter", field("meter_number", customer.meter_number, "mono selectable")),
        row("Nama", field("customer_name", customer.name)),
        row("Alamat", address),
        row("Unit / Posko", [field("unit", customer.unit), " / ", field("posko", customer.posko)]),
        row("Tarif / Daya", [field("tariff", customer.tariff), " / ", field("power_va", powerText)]),
      ]),
    ]);
  }

  function powerBlock(pop) {
    return section("Kondisi listrik", "power", [
      el("p", null, field("power_state", pop.power_state_label,
        "power power-" + safeClass(pop.power_state))),
    ]);
  }

  function diagnosisBlock(pop) {
    var rows = Array.isArray(pop.self_diagnosis) ? pop.self_diagnosis : [];
    var body = el("tbody", null, rows.map(function (r) {
      r = r || {};
      var value = str(r.value);
      return el("tr", { "data-code": str(r.code) }, [
        el("td", { className: "code" }, str(r.code)),
        el("td", null, str(r.meaning)),
        el("td", {
          className: "value" + (value === "" ? " none" : "") + (value === "Null" ? " null" : ""),
          "data-field": "value",
        }, shown(value)),
      ]);
    }));
    return section("Self diagnosis kWh meter", "diagnosis", [
      el("table", null, [
        el("thead", null, el("tr", null, [
          el("th", { scope: "col" }, "Kode"),
          el("th", { scope: "col" }, "Keterangan"),
          el("th", { scope: "col" }, "Nilai"),
        ])),
        body,
      ]),
    ]);
  }

  // The flow's own lines for the CSO (tambah daya, PLN Mobile ...), absent when none.
  function notesBlock(pop) {
    var notes = Array.isArray(pop.notes) ? pop.notes : [];
    if (notes.length === 0) {
      return null;
    }
    return section("Catatan IVR", "notes", [
      el("dl", { "data-field": "notes" }, notes.map(function (n) {
        n = n || {};
        return row(shown(n.label), el("span", { className: "selectable" }, shown(n.value)));
      })),
    ]);
  }

  function answersBlock(pop) {
    var answers = Array.isArray(pop.answers) ? pop.answers : [];
    var content = answers.length === 0 ?
      el("p", { className: "note" }, TEXT.noAnswers) :
      el("ol", { className: "answers" }, answers.map(function (a) {
        a = a || {};
        return el("li", { "data-ask": str(a.ask) }, [
          el("span", { className: "label" }, shown(a.label || a.ask)),
          el("span", { className: "value" }, shown(a.value)),
        ]);
      }));
    return section("Jawaban penelepon", "answers-block", [content]);
  }

  function apktBlock(pop) {
    var apkt = pop.apkt;
    if (!apkt || typeof apkt !== "object") {
      return section("Form APKT", "apkt", [
        el("p", { className: "note", "data-field": "apkt_missing" }, TEXT.noApkt),
      ]);
    }
    var fields = Array.isArray(apkt.fields) ? apkt.fields : [];
    return section("Form APKT", "apkt", [
      el("dl", { className: "apkt-main" }, [
        row("Permasalahan", field("problem_text", apkt.problem_text, "big")),
        row("Tipe WO", field("wo_type", apkt.wo_type, "big")),
      ]),
      el("dl", { className: "apkt-fields" }, fields.map(function (pair) {
        pair = Array.isArray(pair) ? pair : [];
        return row(shown(pair[0]), el("span", { className: "selectable" }, shown(pair[1])));
      })),
    ]);
  }

  // --- copy -------------------------------------------------------------------------

  function copyApkt(button, popId) {
    var pop = state.byId.get(popId);
    var text = pop ? str(pop.apkt_block) : "";
    if (text === "") return;
    copyText(text).then(function (ok) {
      button.textContent = ok ? TEXT.copied : TEXT.copyFailed;
      button.classList.toggle("copied", ok);
      window.setTimeout(function () {
        button.textContent = TEXT.copy;
        button.classList.remove("copied");
      }, COPIED_MS);
    });
  }

  function copyText(text) {
    if (navigator.clipboard && typeof navigator.clipboard.writeText === "function") {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyWithTextarea(text); }
      );
    }
    return Promise.resolve(copyWithTextarea(text));
  }

  function copyWithTextarea(text) {
    var area = el("textarea", { readonly: true, "aria-hidden": "true", className: "offscreen" });
    area.value = text;
    var focused = document.activeElement;
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    area.remove();
    if (focused && typeof focused.focus === "function") focused.focus();
    return ok;
  }

  // --- the side panels --------------------------------------------------------------

  function renderRecent() {
    var list = byId("recent-pops");
    list.replaceChildren.apply(list, state.pops.map(recentItem));
    byId("recent-empty").hidden = state.pops.length > 0;
  }

  function recentItem(pop) {
    var id = str(pop.id);
    var current = id === state.shownId;
    var customer = pop.customer && typeof pop.customer === "object" ? pop.customer : null;
    var idpel = customer ? str(customer.idpel) : "";
    var button = el("button", { type: "button", "aria-current": current ? "true" : null }, [
      el("span", { className: "line1" }, [
        el("span", { className: "badge small state-" + safeClass(pop.state) }, shown(pop.state_label)),
        el("span", { className: "time" }, shown(pop.rang_at_text)),
      ]),
      el("span", { className: "line2 number" }, shown(pop.caller && pop.caller.number)),
      el("span", { className: "line3" }, idpel === "" ? TEXT.noIdpel : "IDPEL " + idpel),
    ]);
    button.addEventListener("click", function () {
      showPop(id);
    });
    return el("li", { "data-pop-id": id, className: current ? "current" : null }, button);
  }

  function showPop(id) {
    if (!state.byId.has(id)) return;
    state.shownId = id;
    renderCurrent();
    renderRecent();
  }

  function renderCallbacks() {
    var list = byId("callbacks");
    list.replaceChildren.apply(list, state.callbacks.map(callbackItem));
    byId("callbacks-empty").hidden = state.callbacks.length > 0;
  }

  function callbackItem(task) {
    var id = task.id;
    var open = str(task.state) === "" || task.state === "open";
    var pending = state.pendingCallbacks.has(id);
    var connected = socket !== null && socket.readyState === WebSocket.OPEN;
    var actions = [];
    var popId = str(task.pop_id);
    if (popId !== "" && state.byId.has(popId)) {
      var view = el("button", { type: "button", className: "secondary" }, TEXT.show);
      view.addEventListener("click", function () {
        showPop(popId);
      });
      actions.push(view);
    }
    if (open) {
      var done = el("button", {
        type: "button",
        className: "done",
        "data-action": "callback-done",
        disabled: pending || !connected,
        "aria-busy": pending ? "true" : null,
      }, TEXT.done);
      done.addEventListener("click", function () {
        if (send({ type: "callback_done", id: id })) {
          state.pendingCallbacks.add(id);
          done.disabled = true;
          done.setAttribute("aria-busy", "true");
        }
      });
      actions.push(done);
    }
    return el("li", {
      "data-callback-id": str(id),
      className: open ? null : "closed",
    }, [
      el("span", { className: "number big mono selectable" }, shown(task.number)),
      field("callback_name", task.caller_name, "name"),
      el("span", { className: "meta" }, [
        el("span", null, shown(task.queue_label)),
        el("span", { className: "time" }, "Diminta " + shown(task.requested_at_text)),
      ]),
      el("span", { className: "actions" }, actions),
    ]);
  }

  function renderAgent() {
    var agent = state.agent || {};
    var name = str(agent.name);
    var id = str(agent.id);
    byId("agent-name").textContent = name !== "" && id !== "" ? name + " (" + id + ")" : name || id;
  }

  // --- messages ---------------------------------------------------------------------

  function isPop(pop) {
    return pop !== null && typeof pop === "object" && str(pop.id) !== "";
  }

  function onHello(msg) {
    var previousNewest = state.pops.length ? str(state.pops[0].id) : null;
    var previousShown = state.shownId;
    var pops = [];
    var index = new Map();
    (Array.isArray(msg.pops) ? msg.pops : []).forEach(function (pop) {
      if (!isPop(pop) || index.has(str(pop.id))) return;
      index.set(str(pop.id), pop);
      pops.push(pop);
    });
    state.agent = msg.agent || null;
    state.pops = pops;
    state.byId = index;
    // After a reconnect keep the pop the CSO was looking at, unless a call came in
    // meanwhile: then the newest is shown, as a "pop" message would have done.
    var newest = pops.length ? str(pops[0].id) : null;
    state.shownId =
      previousShown !== null && index.has(previousShown) && newest === previousNewest ?
        previousShown : newest;
    state.callbacks = Array.isArray(msg.callbacks) ? msg.callbacks : [];
    state.pendingCallbacks.clear();
    backoffMs = BACKOFF_MIN_MS;
    renderAgent();
    renderCurrent();
    renderRecent();
    renderCallbacks();
  }

  function onPop(pop) {
    if (!isPop(pop)) return;
    var id = str(pop.id);
    if (state.byId.has(id)) {
      state.pops = state.pops.map(function (p) { return str(p.id) === id ? pop : p; });
      state.byId.set(id, pop);
    } else {
      state.pops.unshift(pop);
      state.byId.set(id, pop);
      state.shownId = id;
      while (state.pops.length > MAX_RECENT) state.byId.delete(str(state.pops.pop().id));
    }
    if (state.shownId === id) renderCurrent();
    renderRecent();
    renderCallbacks(); // a "Lihat" button may now have its pop
    if (!Object.prototype.hasOwnProperty.call(window.pln123Rendered, id)) {
      window.requestAnimationFrame(function () {
        if (!Object.prototype.hasOwnProperty.call(window.pln123Rendered, id)) {
          window.pln123Rendered[id] = Date.now();
        }
      });
    }
  }

  function onCallbacks(callbacks) {
    state.callbacks = Array.isArray(callbacks) ? callbacks : [];
    var ids = new Set(state.callbacks.map(function (t) { return t.id; }));
    state.pendingCallbacks.forEach(function (id) {
      if (!ids.has(id)) state.pendingCallbacks.delete(id);
    });
    renderCallbacks();
  }

  function onMessage(data) {
    var msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      console.warn("pln123: not JSON", e);
      return;
    }
    if (msg === null || typeof msg !== "object") return;
    try {
      if (msg.type === "hello") onHello(msg);
      else if (msg.type === "pop") onPop(msg.pop);
      else if (msg.type === "callbacks") onCallbacks(msg.callbacks);
    } finally {
      window.pln123Messages += 1;
    }
  }

  // --- connection -------------------------------------------------------------------

  function setConnection(open) {
    var node = byId("connection");
    node.dataset.state = open ? "open" : "closed";
    node.textContent = open ? TEXT.open : TEXT.closed;
    renderCallbacks(); // "Selesai" works only while connected
  }

  function send(message) {
    if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function socketUrl() {
    return (window.location.protocol === "https:" ? "wss://" : "ws://") +
      window.location.host + "/ws";
  }

  function scheduleReconnect() {
    var delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
    window.setTimeout(connect, delay);
  }

  function connect() {
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      console.warn("pln123: cannot open the socket", e);
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", function () {
      if (socket === ws) setConnection(true);
    });
    ws.addEventListener("message", function (event) {
      if (socket === ws) onMessage(event.data);
    });
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code === CLOSE_UNAUTHORIZED) {
        window.location.assign("/login");
        return;
      }
      setConnection(false);
      scheduleReconnect();
    });
  }

  function start() {
    renderCurrent();
    renderRecent();
    renderCallbacks();
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
