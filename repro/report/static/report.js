"use strict";
// The test table: rows are built from the embedded JSON only for the part of the
// table in view, so 60,000 tests cost the page a few dozen rows. Every string from
// the bundle goes into the page through textContent, never as markup.
(function () {
  var data = JSON.parse(document.getElementById("repro-data").textContent);
  var tests = data.tests, outcomes = data.outcomes;
  var ROW = 28, EXTRA = 15;
  var scroller = document.getElementById("tests-scroll");
  var table = document.getElementById("tests");
  var body = table.tBodies[0];
  var search = document.getElementById("search");
  var sort = document.getElementById("sort");
  var shown = document.getElementById("shown");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=outcome]"));
  var lower = null, view = [], drawn = "";

  function where(t) {
    var file = t[3] || t[0].split("::")[0];
    return t[4] === null ? file : file + ":" + t[4];
  }
  function seconds(d) {
    if (d === null) return "";
    if (d < 0.001) return (d * 1e6).toFixed(0) + " \u00b5s";
    if (d < 1) return (d * 1000).toFixed(0) + " ms";
    return d.toFixed(2) + " s";
  }
  function refilter() {
    var q = search.value.trim().toLowerCase();
    var on = {};
    boxes.forEach(function (b) { if (b.checked) on[outcomes.indexOf(b.value)] = true; });
    if (q && lower === null) lower = tests.map(function (t) { return t[0].toLowerCase(); });
    view = [];
    for (var i = 0; i < tests.length; i++) {
      if (on[tests[i][1]] && (!q || lower[i].indexOf(q) >= 0)) view.push(i);
    }
    if (sort.value === "slow") {
      view.sort(function (a, b) { return (tests[b][2] || 0) - (tests[a][2] || 0) || a - b; });
    } else if (sort.value === "name") {
      view.sort(function (a, b) { return tests[a][0] < tests[b][0] ? -1 : tests[a][0] > tests[b][0] ? 1 : 0; });
    }
    shown.textContent = view.length.toLocaleString("en") + " of " +
      tests.length.toLocaleString("en") + " tests shown";
    table.setAttribute("aria-rowcount", String(view.length + 1));
    scroller.scrollTop = 0;
    drawn = "";
    draw();
  }
  function spacer(height) {
    var tr = document.createElement("tr"), td = document.createElement("td");
    tr.className = "spacer";
    tr.setAttribute("aria-hidden", "true");
    td.colSpan = 4;
    td.style.height = height + "px";
    tr.appendChild(td);
    return tr;
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function row(pos) {
    var t = tests[view[pos]], tr = document.createElement("tr");
    tr.setAttribute("aria-rowindex", String(pos + 2));
    var name = outcomes[t[1]];
    cell(tr, name, "o-" + name);
    var td = cell(tr, t[5] >= 0 ? "" : t[0]);
    td.title = t[0];
    if (t[5] >= 0) {
      var a = document.createElement("a");
      a.href = "#fail-" + t[5];
      a.textContent = t[0];
      td.appendChild(a);
    }
    cell(tr, seconds(t[2]), "dur");
    cell(tr, where(t)).title = where(t);
    return tr;
  }
  function draw() {
    var first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - EXTRA);
    // The box grows with its rows up to 70% of the window: size the first draw by the window.
    var height = Math.max(scroller.clientHeight, window.innerHeight);
    var last = Math.min(view.length, first + Math.ceil(height / ROW) + 2 * EXTRA);
    var key = first + ":" + last;
    if (key === drawn) return;
    drawn = key;
    var frag = document.createDocumentFragment();
    if (first > 0) frag.appendChild(spacer(first * ROW));
    for (var i = first; i < last; i++) frag.appendChild(row(i));
    if (last < view.length) frag.appendChild(spacer((view.length - last) * ROW));
    body.replaceChildren(frag);
  }
  function openTarget() {
    var id = window.location.hash.slice(1);
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") el.open = true;
  }
  var pending = false;
  scroller.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  });
  var timer = 0;
  search.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refilter, tests.length > 20000 ? 150 : 30);
  });
  sort.addEventListener("change", refilter);
  boxes.forEach(function (b) { b.addEventListener("change", refilter); });
  document.getElementById("controls").addEventListener("submit", function (e) { e.preventDefault(); });
  window.addEventListener("hashchange", openTarget);
  window.addEventListener("resize", function () { drawn = ""; draw(); });
  refilter();
  openTarget();
  document.documentElement.setAttribute("data-ready", "1");
})();
