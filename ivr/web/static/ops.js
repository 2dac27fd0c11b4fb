/*
 * PLN 123 — the operations page.
 *
 * Reads three JSON APIs (the ops session cookie authenticates them; 401 means "log in
 * again"):
 *   /ops/api/flows                 the user, the server's time zone, the flows;
 *   /ops/api/stats?since&until&flow  aggregate counts (ivr.ops.stats.compute_stats),
 *                                  polled every POLL_MS while the page is open;
 *   /ops/api/graph?flow            a flow's nodes, edges and Graphviz SVG, whose nodes
 *                                  are <g id="opsn<i>"> and edges <g id="opse<i>">,
 *                                  i their index in "nodes" and "edges".
 * The page gets aggregates only: no caller, phone number or customer id ever reaches
 * it. Every percentage is computed here from integer counts (round half up, one
 * decimal), so the page never shows a rounded rate rounded again.
 *
 * Every server string is put on the page as text (textContent), never as markup; the
 * one exception is the SVG Graphviz drew, parsed as XML with scripts removed.
 *
 * Hooks for tests: [data-field=...], #waterfalls tr[data-flow][data-node]
 * td[data-col=...], #graph[data-flow], #graph g[data-count], #ops[data-updates] and
 * window.pln123Ops.updates (stats renders done).
 */
(function () {
  "use strict";

  var POLL_MS = window.pln123OpsPollMs || 5000; // tests poll faster
  var LOSS_EXITS = ["noinput", "nomatch", "hangup", "cso", "error"];
  var DETAIL_EXITS = ["next", "end", "noinput", "nomatch", "hangup", "cso", "error"];
  /* The waterfall's columns and the exits each adds up (as ivr.ops.stats.WATERFALL):
     a call that ended at a node went on as far as it could. */
  var WATERFALL = [
    ["next", ["next", "end"]],
    ["noinput", ["noinput"]],
    ["nomatch", ["nomatch"]],
    ["hangup", ["hangup"]],
    ["cso", ["cso"]],
    ["error", ["error"]],
  ];
  var WATERFALL_HEAD = [
    ["node", "Simpul", false],
    ["entered", "Masuk", true],
    ["next", "% lanjut", true],
    ["noinput", "% noinput", true],
    ["nomatch", "% nomatch", true],
    ["hangup", "% hangup", true],
    ["cso", "% ke CSO", true],
    ["error", "% error", true],
    ["seconds", "Median dtk", true],
  ];
  var REASONS = {
    caller: "Permintaan penelepon",
    flow: "Rute alur (SOP)",
    retries: "Percobaan habis",
    backend: "Gangguan sistem",
    timeout: "Batas waktu",
    error: "Kesalahan IVR",
  };
  var EXIT_NAMES = {
    next: "lanjut",
    end: "selesai",
    noinput: "noinput",
    nomatch: "nomatch",
    hangup: "hangup",
    cso: "ke CSO",
    error: "error",
  };
  var HEAT = [
    [0, [0xd9, 0xf2, 0xe0]],
    [0.25, [0xff, 0xf1, 0xb8]],
    [0.5, [0xf4, 0xb6, 0xb0]],
  ];
  var UNUSED_FILL = "#eceff3";

  var state = {
    timezone: "Asia/Jakarta",
    flows: [],
    stats: null,
    graph: null,
    selected: null,
    timer: null,
    seq: 0,
    graphSeq: 0,
    chart: null,
  };

  window.pln123Ops = { updates: 0 };

  var integer = new Intl.NumberFormat("id-ID", { maximumFractionDigits: 0 });
  var oneDecimal = new Intl.NumberFormat("id-ID", {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function field(name) {
    return document.querySelector('[data-field="' + name + '"]');
  }

  function setField(name, text) {
    var node = field(name);
    if (node) node.textContent = text;
  }

  // --- numbers ------------------------------------------------------------------------

  /* part / whole in percent, one decimal, rounded half up, from integers only. */
  function percent(part, whole) {
    if (!whole) return "—";
    var tenths = Math.floor((2000 * part + whole) / (2 * whole));
    return integer.format(Math.floor(tenths / 10)) + "," + (tenths % 10) + "%";
  }

  /* A rate the server gave (0..1), when no counts are at hand. */
  function percentOfRate(rate) {
    if (rate === null || rate === undefined) return "—";
    return oneDecimal.format(rate * 100) + "%";
  }

  function count(n) {
    return integer.format(n || 0);
  }

  function seconds(value) {
    if (value === null || value === undefined) return "—";
    return oneDecimal.format(value) + " dtk";
  }

  function sumExits(exits, kinds) {
    var total = 0;
    kinds.forEach(function (kind) {
      total += exits[kind] || 0;
    });
    return total;
  }

  function lossOf(node) {
    return sumExits(node.exits || {}, LOSS_EXITS);
  }

  function heatColour(rate) {
    if (rate >= HEAT[HEAT.length - 1][0]) return rgb(HEAT[HEAT.length - 1][1]);
    for (var i = 1; i < HEAT.length; i++) {
      if (rate <= HEAT[i][0]) {
        var lo = HEAT[i - 1];
        var hi = HEAT[i];
        var t = (rate - lo[0]) / (hi[0] - lo[0]);
        return rgb(
          lo[1].map(function (c, k) {
            return Math.round(c + (hi[1][k] - c) * t);
          })
        );
      }
    }
    return rgb(HEAT[0][1]);
  }

  function rgb(c) {
    return "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")";
  }

  // --- dates --------------------------------------------------------------------------

  function todayIn(zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    })
      .formatToParts(new Date())
      .forEach(function (part) {
        parts[part.type] = part.value;
      });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  function addDays(day, days) {
    var date = new Date(day + "T00:00:00Z");
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }

  function hourLabel(iso, multiDay) {
    // "2026-12-04T09:00:00+07:00": the server's local hour, as written.
    var time = iso.slice(11, 16);
    return multiDay ? iso.slice(8, 10) + "/" + iso.slice(5, 7) + " " + time : time;
  }

  // --- fetching -----------------------------------------------------------------------

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) {
        window.location.assign("/ops/login");
        throw new Error("login");
      }
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body && body.error) || "HTTP " + r.status);
        return body;
      });
    });
  }

  function setRefresh(stateName, text) {
    var badge = $("refresh");
    badge.dataset.state = stateName;
    badge.textContent = text;
  }

  function query() {
    var params = new URLSearchParams();
    params.set("since", $("since").value);
    params.set("until", $("until").value);
    if ($("flow").value) params.set("flow", $("flow").value);
    return params.toString();
  }

  function schedule() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = setTimeout(loadStats, POLL_MS);
  }

  function loadStats() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    var seq = ++state.seq;
    if (!$("since").value || !$("until").value) return;
    getJson("/ops/api/stats?" + query())
      .then(function (stats) {
        if (seq !== state.seq) return;
        $("filter-error").hidden = true;
        state.stats = stats;
        render(stats);
        var now = new Date();
        setRefresh("ok", "Diperbarui " + now.toTimeString().slice(0, 8));
        window.pln123Ops.updates += 1;
        $("ops").dataset.updates = String(window.pln123Ops.updates);
        schedule();
      })
      .catch(function (error) {
        if (seq !== state.seq) return;
        if (error.message === "login") return;
        setRefresh("error", "Gagal memuat");
        var message = $("filter-error");
        message.textContent = error.message;
        message.hidden = false;
        schedule();
      });
  }

  // --- rendering ----------------------------------------------------------------------

  function render(stats) {
    var ended = stats.calls - stats.open;
    setField("calls", count(stats.calls));
    setField("open-note", stats.open ? count(stats.open) + " masih berjalan" : "");
    setField("contained", count(stats.contained));
    setField("cso", count(stats.cso));
    setField("abandoned", count(stats.abandoned));
    setField("containment_rate", percent(stats.contained, ended));
    setField(
      "true_containment_rate",
      typeof stats.true_contained === "number"
        ? percent(stats.true_contained, ended)
        : percentOfRate(stats.true_containment_rate)
    );
    setField("abandon_rate", percent(stats.abandoned, ended));
    var aht = stats.aht_seconds || {};
    setField("aht_p50", seconds(aht.p50));
    setField("aht_p90", seconds(aht.p90));
    renderReasons(stats);
    renderQueues(stats.queues || {});
    renderHours(stats.calls_by_hour || []);
    renderWaterfalls(stats.flows || {});
    paintGraph();
  }

  function renderReasons(stats) {
    var body = $("reasons").tBodies[0];
    var reasons = stats.cso_by_reason || {};
    var names = Object.keys(reasons).sort(function (a, b) {
      return reasons[b] - reasons[a] || (a < b ? -1 : 1);
    });
    var total = 0;
    names.forEach(function (name) {
      total += reasons[name];
    });
    body.replaceChildren();
    names.forEach(function (name) {
      var row = el("tr");
      row.dataset.reason = name;
      row.append(
        el("td", REASONS[name] || name),
        el("td", count(reasons[name]), "num"),
        el("td", percent(reasons[name], total), "num")
      );
      body.append(row);
    });
    $("reasons").hidden = names.length === 0;
    $("reasons-empty").hidden = names.length !== 0;
  }

  function renderQueues(queues) {
    var body = $("queues").tBodies[0];
    var names = Object.keys(queues).sort();
    body.replaceChildren();
    names.forEach(function (name) {
      var q = queues[name];
      var row = el("tr");
      row.dataset.queue = name;
      row.append(
        el("td", name),
        el("td", count(q.joined), "num"),
        el("td", count(q.answered), "num"),
        el("td", count(q.abandoned), "num"),
        el("td", percent(q.abandoned, q.joined), "num"),
        el("td", seconds(q.wait_p50), "num"),
        el("td", seconds(q.wait_p90), "num")
      );
      body.append(row);
    });
    $("queues").hidden = names.length === 0;
    $("queues-empty").hidden = names.length !== 0;
  }

  function renderHours(hours) {
    if (typeof window.Chart !== "function") return;
    var days = {};
    hours.forEach(function (h) {
      days[h.hour.slice(0, 10)] = true;
    });
    var multiDay = Object.keys(days).length > 1;
    var labels = hours.map(function (h) {
      return hourLabel(h.hour, multiDay);
    });
    var series = [
      ["Selesai di IVR", "#2e8b57", function (h) { return h.contained; }],
      ["Ke CSO", "#1f6fb2", function (h) { return h.cso; }],
      ["Ditinggalkan", "#c0392b", function (h) { return h.abandoned; }],
      ["Berjalan", "#9aa5b1", function (h) { return h.calls - h.contained - h.cso - h.abandoned; }],
    ];
    var datasets = series.map(function (s) {
      return { label: s[0], backgroundColor: s[1], data: hours.map(s[2]), stack: "calls" };
    });
    if (state.chart === null) {
      state.chart = new window.Chart($("hours-chart"), {
        type: "bar",
        data: { labels: labels, datasets: datasets },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          },
          plugins: { legend: { position: "bottom" } },
        },
      });
      return;
    }
    state.chart.data.labels = labels;
    state.chart.data.datasets.forEach(function (dataset, i) {
      dataset.data = datasets[i].data;
    });
    state.chart.update("none");
  }

  function waterfallRow(flowId, nodeId, node) {
    var row = el("tr");
    row.dataset.flow = flowId;
    row.dataset.node = nodeId;
    var exits = node.exits || {};
    var cells = { node: nodeId, entered: count(node.entered), seconds: seconds(node.seconds_p50) };
    WATERFALL.forEach(function (column) {
      cells[column[0]] = percent(sumExits(exits, column[1]), node.entered);
    });
    WATERFALL_HEAD.forEach(function (head) {
      var cell = el("td", cells[head[0]], head[2] ? "num" : "");
      cell.dataset.col = head[0];
      row.append(cell);
    });
    if (state.selected && state.selected.flow === flowId && state.selected.node === nodeId) {
      row.classList.add("selected");
    }
    row.addEventListener("click", function () {
      selectNode(flowId, nodeId);
    });
    return row;
  }

  function renderWaterfalls(flows) {
    var box = $("waterfalls");
    var chosen = $("flow").value;
    var ids = Object.keys(flows).sort(function (a, b) {
      return (b === chosen) - (a === chosen) || (a < b ? -1 : 1);
    });
    box.replaceChildren();
    ids.forEach(function (flowId) {
      var nodes = flows[flowId].nodes || {};
      var nodeIds = Object.keys(nodes).sort(function (a, b) {
        return nodes[b].entered - nodes[a].entered || (a < b ? -1 : 1);
      });
      var section = el("section");
      section.dataset.flow = flowId;
      section.append(el("h3", flowId));
      var table = el("table", null, "grid waterfall");
      var head = el("tr");
      WATERFALL_HEAD.forEach(function (h) {
        head.append(el("th", h[1], h[2] ? "num" : ""));
      });
      table.append(el("thead"));
      table.tHead.append(head);
      var body = el("tbody");
      nodeIds.forEach(function (nodeId) {
        body.append(waterfallRow(flowId, nodeId, nodes[nodeId]));
      });
      table.append(body);
      section.append(table);
      box.append(section);
    });
    $("waterfalls-empty").hidden = ids.length !== 0;
  }

  // --- the flow graph -----------------------------------------------------------------

  function loadGraph(flowId) {
    var seq = ++state.graphSeq;
    var box = $("graph");
    if (!flowId) {
      box.replaceChildren();
      state.graph = null;
      return;
    }
    getJson("/ops/api/graph?flow=" + encodeURIComponent(flowId))
      .then(function (graph) {
        if (seq !== state.graphSeq) return;
        state.graph = graph;
        drawGraph(graph);
        paintGraph();
        renderDetail();
      })
      .catch(function (error) {
        if (seq !== state.graphSeq || error.message === "login") return;
        box.replaceChildren(el("p", "Peta alur tidak tersedia: " + error.message, "panel-empty"));
      });
  }

  function drawGraph(graph) {
    var box = $("graph");
    box.dataset.flow = graph.flow;
    if (!graph.svg) {
      box.replaceChildren(el("p", "Graphviz (dot) tidak terpasang di server.", "panel-empty"));
      return;
    }
    var doc = new DOMParser().parseFromString(graph.svg, "image/svg+xml");
    var svg = document.importNode(doc.documentElement, true);
    svg.querySelectorAll("script, foreignObject").forEach(function (node) {
      node.remove();
    });
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Peta alur " + graph.flow);
    graph.nodes.forEach(function (node, i) {
      var g = svg.querySelector("#opsn" + i);
      if (!g) return;
      g.dataset.node = node.id;
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.addEventListener("click", function () {
        selectNode(graph.flow, node.id);
      });
      g.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          selectNode(graph.flow, node.id);
        }
      });
    });
    box.replaceChildren(svg);
  }

  function nodeStats(flowId) {
    var flows = (state.stats && state.stats.flows) || {};
    return (flows[flowId] && flows[flowId].nodes) || {};
  }

  /* Colour each node by its loss rate and size each edge by the calls that went
     along it (the source node's exits to that target). */
  function paintGraph() {
    var graph = state.graph;
    var box = $("graph");
    if (!graph || !graph.svg || !box.querySelector("svg")) return;
    var nodes = nodeStats(graph.flow);
    graph.nodes.forEach(function (node, i) {
      var g = box.querySelector("#opsn" + i);
      if (!g) return;
      var numbers = nodes[node.id];
      var entered = numbers ? numbers.entered : 0;
      var fill = entered ? heatColour(lossOf(numbers) / entered) : UNUSED_FILL;
      g.dataset.entered = String(entered);
      g.dataset.loss = entered ? percent(lossOf(numbers), entered) : "";
      g.querySelectorAll("polygon, ellipse, path").forEach(function (shape) {
        if (shape.getAttribute("fill") !== "none") shape.setAttribute("fill", fill);
      });
    });
    var counts = graph.edges.map(function (edge) {
      var source = nodes[edge.source];
      if (!source) return 0;
      if (source.targets) return source.targets[edge.target] || 0;
      return source.entered; // no per-target counts: the source's traffic
    });
    var most = Math.max.apply(null, [1].concat(counts));
    graph.edges.forEach(function (edge, i) {
      var g = box.querySelector("#opse" + i);
      if (!g) return;
      var n = counts[i];
      g.dataset.count = String(n);
      g.style.opacity = n ? "1" : "0.45";
      var width = n ? 1 + (7 * n) / most : 1;
      g.querySelectorAll("path").forEach(function (path) {
        path.setAttribute("stroke-width", width.toFixed(2));
      });
      var title = g.querySelector("title");
      if (title) title.textContent = edge.source + " → " + edge.target + ": " + count(n) + " panggilan";
    });
  }

  function selectNode(flowId, nodeId) {
    state.selected = { flow: flowId, node: nodeId };
    document.querySelectorAll("#waterfalls tr.selected").forEach(function (row) {
      row.classList.remove("selected");
    });
    document
      .querySelectorAll('#waterfalls tr[data-flow="' + CSS.escape(flowId) + '"][data-node="' + CSS.escape(nodeId) + '"]')
      .forEach(function (row) {
        row.classList.add("selected");
      });
    if (!state.graph || state.graph.flow !== flowId) {
      var select = $("graph-flow");
      if (Array.prototype.some.call(select.options, function (o) { return o.value === flowId; })) {
        select.value = flowId;
        loadGraph(flowId);
      }
    }
    renderDetail();
  }

  function renderDetail() {
    var panel = $("node-detail");
    var selected = state.selected;
    var box = $("graph");
    box.querySelectorAll(".opsnode.selected").forEach(function (g) {
      g.classList.remove("selected");
    });
    if (!selected) {
      panel.hidden = true;
      return;
    }
    var g = box.querySelector('[data-node="' + CSS.escape(selected.node) + '"]');
    if (g && state.graph && state.graph.flow === selected.flow) g.classList.add("selected");
    var kind = "";
    if (state.graph && state.graph.flow === selected.flow) {
      state.graph.nodes.forEach(function (node) {
        if (node.id === selected.node) kind = node.kind + (node.label ? " — " + node.label : "");
      });
    }
    var numbers = nodeStats(selected.flow)[selected.node] || { entered: 0, exits: {} };
    panel.dataset.flow = selected.flow;
    panel.dataset.node = selected.node;
    setField("node-id", selected.node);
    setField("node-kind", selected.flow + (kind ? " · " + kind : ""));
    var body = panel.querySelector("tbody");
    body.replaceChildren();
    function line(key, label, value, share) {
      var row = el("tr");
      row.dataset.key = key;
      row.append(el("th", label), el("td", value, "num"), el("td", share || "", "num"));
      body.append(row);
    }
    line("entered", "Masuk", count(numbers.entered));
    DETAIL_EXITS.forEach(function (exit) {
      var n = (numbers.exits || {})[exit] || 0;
      line(exit, EXIT_NAMES[exit], count(n), percent(n, numbers.entered));
    });
    line("loss", "Hilang", count(lossOf(numbers)), percent(lossOf(numbers), numbers.entered));
    line("seconds", "Median", seconds(numbers.seconds_p50));
    panel.hidden = false;
  }

  // --- filters ------------------------------------------------------------------------

  function fillFlows(flows) {
    var filter = $("flow");
    var graphSelect = $("graph-flow");
    flows.forEach(function (flow) {
      var option = el("option", flow.id + (flow.description ? " — " + flow.description : ""));
      option.value = flow.id;
      filter.append(option);
      var graphOption = el("option", flow.id);
      graphOption.value = flow.id;
      graphSelect.append(graphOption);
    });
  }

  function setRange(since, until) {
    $("since").value = since;
    $("until").value = until;
    loadStats();
  }

  function start(info) {
    state.timezone = info.timezone;
    state.flows = info.flows;
    $("user-name").textContent = info.user.name;
    fillFlows(info.flows);
    // The flow callers start in is drawn first (the list is in alphabetical order).
    if (info.flows.some(function (flow) { return flow.id === info.default_flow; })) {
      $("graph-flow").value = info.default_flow;
    }
    var today = todayIn(state.timezone);
    $("since").value = today;
    $("until").value = today;
    $("filters").addEventListener("submit", function (event) {
      event.preventDefault();
      loadStats();
    });
    $("flow").addEventListener("change", function () {
      if ($("flow").value) {
        $("graph-flow").value = $("flow").value;
        loadGraph($("flow").value);
      }
      loadStats();
    });
    $("since").addEventListener("change", loadStats);
    $("until").addEventListener("change", loadStats);
    $("today").addEventListener("click", function () {
      var day = todayIn(state.timezone);
      setRange(day, day);
    });
    $("last7").addEventListener("click", function () {
      var day = todayIn(state.timezone);
      setRange(addDays(day, -6), day);
    });
    $("graph-flow").addEventListener("change", function () {
      loadGraph($("graph-flow").value);
    });
    if (info.flows.length) loadGraph($("graph-flow").value);
    loadStats();
  }

  function boot() {
    getJson("/ops/api/flows")
      .then(start)
      .catch(function (error) {
        if (error.message === "login") return;
        setRefresh("error", "Gagal memuat");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
