// convcost report: the page's own script (no library). It reads the JSON data element and
// wires the inline SVG drawn by convcost: metric switch, zoom, click a node -> its row,
// the sortable per-layer table. User strings are only ever set as textContent.
(function () {
  "use strict";
  var started = performance.now();
  var numbers = new Intl.NumberFormat("en-US");
  var data = JSON.parse(document.getElementById("data").textContent);
  var layers = data.layers;
  var nodes = [];
  document.querySelectorAll("#graph .node").forEach(function (g) { nodes[+g.dataset.i] = g; });
  var points = [];
  document.querySelectorAll("#roofline .pt").forEach(function (c) { points[+c.dataset.i] = c; });
  var rows = [];
  var selected = null;

  function exact(v) { return v === null || v === undefined ? "—" : numbers.format(v); }
  function pct(v, total) { return total ? (100 * v / total).toFixed(2) + " %" : "—"; }
  function pair(a) { return a[0] === a[1] ? String(a[0]) : a[0] + "×" + a[1]; }

  var columns = [
    { key: "i", label: "#", num: true, show: function (r) { return String(r.i + 1); } },
    { key: "name", label: "layer", cls: "name" },
    { key: "kind", label: "kind" },
    { key: "cls", label: "class" },
    { key: "shape", label: "output C×H×W" },
    { key: "params", label: "params", num: true },
    { key: "macs", label: "MACs", num: true },
    { key: "macs", label: "% MACs", num: true, id: "share",
      show: function (r) { return pct(r.macs, data.totals.macs); } },
    { key: "memory", label: "bytes moved", num: true },
    { key: "intensity", label: "FLOP/B", num: true },
    { key: "rf", label: "RF", num: true, sortKey: function (r) { return r.rf[0]; },
      show: function (r) { return pair(r.rf) + (r.whole ? " (all)" : ""); } }
  ];
  if (data.latency) {
    columns.push({ key: "latency_us", label: "pred. µs", num: true });
  }
  if (data.removed) {
    columns.push({ key: "status", label: "diff" }, { key: "change", label: "change" });
  }

  function cellText(col, r) {
    if (col.show) { return col.show(r); }
    var v = r[col.key];
    return col.num ? exact(v) : (v === null || v === undefined ? "" : String(v));
  }

  function buildTable() {
    var head = document.createElement("tr");
    columns.forEach(function (col, c) {
      var th = document.createElement("th");
      th.textContent = col.label;
      th.dataset.col = String(c);
      th.id = "col-" + (col.id || col.key);
      if (col.num) { th.className = "num"; }
      th.addEventListener("click", function () { sortBy(c, th); });
      head.appendChild(th);
    });
    document.querySelector("#layers thead").appendChild(head);
    var body = document.querySelector("#layers tbody");
    layers.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.i = String(r.i);
      if (r.status && r.status !== "same") { tr.className = r.status; }
      columns.forEach(function (col) {
        var td = document.createElement("td");
        td.textContent = cellText(col, r);
        if (col.num) { td.className = "num"; } else if (col.cls) { td.className = col.cls; }
        tr.appendChild(td);
      });
      tr.addEventListener("click", function () { select(r.i, true); });
      rows[r.i] = tr;
      body.appendChild(tr);
    });
  }

  function sortBy(c, th) {
    var col = columns[c];
    var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;  // first click: largest first
    if (!col.num && !th.hasAttribute("aria-sort")) { dir = 1; }
    document.querySelectorAll("#layers th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var key = col.sortKey || function (r) { return r[col.key]; };
    var order = layers.slice().sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === y) { return a.i - b.i; }
      if (x === null || x === undefined) { return 1; }
      if (y === null || y === undefined) { return -1; }
      return (x < y ? -1 : 1) * dir;
    });
    var body = document.querySelector("#layers tbody");
    order.forEach(function (r) { body.appendChild(rows[r.i]); });
  }

  function field(dl, label, value) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = value;
    dl.appendChild(dt);
    dl.appendChild(dd);
  }

  function showDetails(r) {
    var box = document.getElementById("details");
    box.textContent = "";
    var name = document.createElement("div");
    name.className = "name";
    name.textContent = "#" + (r.i + 1) + " " + r.name;
    box.appendChild(name);
    var dl = document.createElement("dl");
    field(dl, "kind", r.kind + " (" + r.cls + ")" + (r.counted ? "" : ", MACs not counted"));
    field(dl, "output C×H×W", r.shape);
    field(dl, "MACs", exact(r.macs) + " (" + pct(r.macs, data.totals.macs) + ")");
    field(dl, "params", exact(r.params) + " (" + pct(r.params, data.totals.params) + ")");
    field(dl, "bytes moved", exact(r.memory));
    field(dl, "FLOP/B", r.intensity === null ? "—" : String(r.intensity) + (r.bound ? ", " + r.bound + "-bound" : ""));
    field(dl, "receptive field", pair(r.rf) + (r.whole ? " (all)" : "") + ", jump " + pair(r.jump));
    if (data.latency) { field(dl, "predicted", exact(r.latency_us) + " µs"); }
    if (r.status) { field(dl, "diff", r.status + (r.change ? ": " + r.change : "")); }
    box.appendChild(dl);
  }

  function select(i, scrollGraph) {
    if (selected !== null) {
      [nodes[selected], rows[selected], points[selected]].forEach(function (el) {
        if (el) { el.classList.remove("selected"); }
      });
    }
    selected = i;
    [nodes[i], rows[i], points[i]].forEach(function (el) { if (el) { el.classList.add("selected"); } });
    showDetails(layers[i]);
    rows[i].scrollIntoView({ block: "nearest" });
    if (scrollGraph && nodes[i]) { nodes[i].scrollIntoView({ block: "center", inline: "center" }); }
  }

  function applyMetric(metric) {
    var styles = data.style[metric];
    nodes.forEach(function (g, i) {
      var rect = g.querySelector("rect");
      var centre = +rect.getAttribute("x") + +rect.getAttribute("width") / 2;
      rect.setAttribute("width", String(styles[i][0]));
      rect.setAttribute("x", (centre - styles[i][0] / 2).toFixed(1));
      rect.setAttribute("fill", styles[i][1]);
    });
  }

  var svg = document.getElementById("graph");
  var natural = [+svg.getAttribute("width"), +svg.getAttribute("height")];
  var zoom = 1;
  function setZoom(z) {
    zoom = Math.max(0.05, Math.min(4, z));
    svg.setAttribute("width", (natural[0] * zoom).toFixed(0));
    svg.setAttribute("height", (natural[1] * zoom).toFixed(0));
  }
  function fit() {
    var panel = document.getElementById("graph-panel");
    setZoom(Math.min(1, panel.clientWidth / natural[0], panel.clientHeight / natural[1]));
  }

  function showRemoved() {
    if (!data.removed || !data.removed.length) { return; }
    var box = document.getElementById("removed");
    var head = document.createElement("b");
    head.textContent = "removed (" + data.removed.length + "): ";
    box.appendChild(head);
    box.appendChild(document.createTextNode(data.removed.join(", ")));
  }

  buildTable();
  showRemoved();
  nodes.forEach(function (g, i) { g.addEventListener("click", function () { select(i, false); }); });
  points.forEach(function (c, i) { c.addEventListener("click", function () { select(i, true); }); });
  document.getElementById("metric").addEventListener("change", function (e) { applyMetric(e.target.value); });
  document.getElementById("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { setZoom(zoom / 1.25); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  document.body.dataset.ready = "1";
  document.body.dataset.scriptMs = (performance.now() - started).toFixed(1);
})();
