// cloister dashboard: polls ./state once a second and redraws. Read-only,
// no dependencies; text from the node is only ever set as textContent.
"use strict";
(function () {
  var POLL_MS = 1000;
  var prev = null; // the previous state, for call rates
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "color") e.style.background = attrs[k]; // CSP: no style attributes
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  function color(i) { return "hsl(" + ((i * 137.5) % 360) + ",62%,48%)"; }
  function badge(state) { return el("span", { "class": "badge s-" + state, text: state }); }
  function fill(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function short(id) { return id ? id.slice(0, 8) : "-"; }

  function render(s) {
    $("self").textContent = s.self;
    var st = $("state");
    st.textContent = s.state;
    st.className = "badge s-" + s.state;
    $("quorate").textContent = s.quorate ? "yes" : "no";
    $("term").textContent = s.term;
    $("view").textContent = s.view_id;
    $("epoch").textContent = s.epoch;
    $("member-count").textContent = s.members.length;
    $("consensus").textContent = s.consensus;

    fill($("members"), s.members.map(function (m, i) {
      return el("tr", { "data-state": m.state, "data-name": m.name }, [
        el("td", {}, [el("span", { "class": "swatch", color: color(i) })]),
        el("td", { text: m.name + (m.self ? " (this node)" : "") }),
        el("td", { text: m.addr }),
        el("td", {}, [badge(m.state)]),
        el("td", { text: m.term }),
        el("td", { text: short(m.view_id) + (m.agrees ? " ✓" : " ✗"), title: m.agrees ? "advertises this node's view" : "advertises another view" }),
        el("td", { text: s.ring ? (100 * m.share).toFixed(1) + " %" : "-" })
      ]);
    }));

    drawRing(s);
    renderCalls(s);

    fill($("timeline"), s.timeline.slice().reverse().map(function (e) {
      var t = new Date(e.at);
      var text;
      switch (e.kind) {
        case "state": text = "state " + e.from + " → " + e.to + " (term " + (e.term || 0) + ")"; break;
        case "view": text = "view changed: " + e.text; break;
        case "up": text = "member up: " + e.member; break;
        case "down": text = "member down: " + e.member + " (" + e.text + ")"; break;
        default: text = e.kind + ": " + (e.text || "");
      }
      return el("li", { "class": "k-" + e.kind }, [
        el("time", { datetime: e.at, text: t.toLocaleTimeString() + "." + String(t.getMilliseconds()).padStart(3, "0") }),
        el("span", { text: text })
      ]);
    }));
  }

  function drawRing(s) {
    var svg = $("ring");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var NS = "http://www.w3.org/2000/svg";
    var note = $("ring-note");
    if (!s.ring) {
      $("ring-name").textContent = "";
      note.textContent = "The ring answers only when the node is ready.";
      var c = document.createElementNS(NS, "circle");
      c.setAttribute("r", "80"); c.setAttribute("fill", "none");
      c.setAttribute("stroke", "#ddd"); c.setAttribute("stroke-width", "40");
      svg.appendChild(c);
      return;
    }
    $("ring-name").textContent = s.ring.name;
    note.textContent = "Outer band: each member's share of the key space. Inner band: the " +
      s.ring.slots + " slots in hash order, drawn as " + s.ring.cells.length + " arcs coloured by their main owner.";
    function pt(rad, a) { return (rad * Math.sin(a)).toFixed(2) + " " + (-rad * Math.cos(a)).toFixed(2); }
    function arc(R, r, a0, a1, fill, name) {
      if (a1 - a0 >= 2 * Math.PI) a1 = a0 + 2 * Math.PI - 1e-4; // a full circle
      var large = a1 - a0 > Math.PI ? 1 : 0;
      var p = document.createElementNS(NS, "path");
      p.setAttribute("d", "M" + pt(R, a0) + " A" + R + " " + R + " 0 " + large + " 1 " + pt(R, a1) +
        " L" + pt(r, a1) + " A" + r + " " + r + " 0 " + large + " 0 " + pt(r, a0) + " Z");
      p.setAttribute("fill", fill);
      var title = document.createElementNS(NS, "title");
      title.textContent = name;
      p.appendChild(title);
      svg.appendChild(p);
    }
    var a = 0;
    s.members.forEach(function (m, i) {
      var b = a + 2 * Math.PI * m.share;
      if (m.share > 0) arc(100, 80, a, b, color(i), m.name + ": " + (100 * m.share).toFixed(1) + " %");
      a = b;
    });
    var cells = s.ring.cells, n = cells.length;
    for (var i = 0; i < n;) {
      var j = i;
      while (j < n && cells[j] === cells[i]) j++;
      var m = s.members[cells[i]];
      arc(74, 60, 2 * Math.PI * i / n, 2 * Math.PI * j / n, color(cells[i]), m ? m.name : "?");
      i = j;
    }
    var t = document.createElementNS(NS, "text");
    t.setAttribute("text-anchor", "middle"); t.setAttribute("dy", "0.35em");
    t.setAttribute("font-size", "15");
    t.textContent = "term " + s.term;
    svg.appendChild(t);
  }

  function renderCalls(s) {
    var before = {};
    var dt = prev ? (Date.parse(s.now) - Date.parse(prev.now)) / 1000 : 0;
    (prev ? prev.handlers || [] : []).forEach(function (h) { before[h.name] = h; });
    var keys = ["calls", "call_errors", "casts", "served", "served_errors"];
    var rows = (s.handlers || []).map(function (h) {
      var b = before[h.name];
      return el("tr", { "data-handler": h.name }, [el("td", { text: h.name })].concat(keys.map(function (k) {
        var rate = b && dt > 0 ? (h[k] - b[k]) / dt : null;
        return el("td", { text: rate === null ? "…" : rate.toFixed(1), title: h[k] + " in all" });
      })));
    });
    if (rows.length === 0) rows = [el("tr", {}, [el("td", { colspan: "6", text: "no calls yet" })])];
    fill($("calls"), rows);
  }

  function poll() {
    fetch("state", { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(r.status + " " + r.statusText);
      return r.json();
    }).then(function (s) {
      render(s);
      prev = s;
      var c = $("conn");
      c.className = "conn";
      c.textContent = "updated " + new Date(s.now).toLocaleTimeString();
    }).catch(function (err) {
      var c = $("conn");
      c.className = "conn lost";
      c.textContent = "node unreachable: " + err.message;
    }).finally(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
