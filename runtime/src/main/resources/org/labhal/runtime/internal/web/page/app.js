// The LabHAL dashboard: the JSON API at api/ and its server-sent events at api/events. Everything shown
// comes from the runtime; text is set with textContent only, never parsed as HTML (SCPI answers are data).
"use strict";

const API = "api/";
const MAX_TRAFFIC = 300;
let instruments = [];
let shownInstruments = "";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : c == null ? "" : String(c));
  return node;
}

function cell(text, cls) {
  const td = el("td", cls ? { class: cls } : {}, text == null ? "" : text);
  return td;
}

function ms(value) {
  if (value == null) return "";
  if (value < 1) return "<1 ms";
  if (value < 10000) return value + " ms";
  return (value / 1000).toFixed(1) + " s";
}

function us(value) {
  if (value == null) return "";
  if (value < 1000) return value + " µs";
  return (value / 1000).toFixed(value < 10000 ? 2 : 1) + " ms";
}

// ---- instruments and locks (snapshot events) ------------------------------------------------------

function showInstruments(list) {
  instruments = list;
  const text = JSON.stringify(list);
  if (text === shownInstruments) return; // unchanged: keep the rows (and whatever the user selected in them)
  shownInstruments = text;
  const body = document.querySelector("#instruments tbody");
  body.replaceChildren(...list.map(i => {
    const row = el("tr", { "data-instrument": i.id });
    row.append(cell(i.id, "mono"), cell(i.state + (i.detail ? ": " + i.detail : ""), "state-" + i.state),
      cell(i.model), cell(i.policy), cell(i.identity), cell(i.resource, "mono"), cell(i.configuredBy),
      cell(i.trace ? "on" : "off", "trace"));
    return row;
  }));
  for (const id of ["action-instrument", "traffic-instrument"]) {
    const select = document.getElementById(id);
    const chosen = select.value;
    const ids = list.map(i => i.id);
    if (ids.join() !== Array.from(select.options).map(o => o.value).join()) {
      select.replaceChildren(...ids.map(v => el("option", { value: v }, v)));
      if (ids.includes(chosen)) select.value = chosen;
    }
  }
}

function showLocks(list) {
  const body = document.querySelector("#locks tbody");
  body.replaceChildren(...list.map(l => {
    const holder = l.holder ? l.holder.thread + (l.holder.activity ? " (" + l.holder.activity + ")" : "") : "";
    const row = el("tr", { "data-lock": l.name, "data-instruments": l.instruments.join(" "),
      class: l.holder ? "held" : "" });
    row.append(cell(l.name, "mono"), cell(l.policy), cell(holder, "holder"),
      cell(l.holder ? ms(l.holder.heldForMs) : "", "num"),
      cell(l.waiters.length ? l.waiters.length + ": " + l.waiters.map(w => w.thread).join(", ") : "0"),
      cell(l.acquisitions, "num"), cell(l.contended, "num"), cell(ms(l.longestWaitMs), "num"),
      cell(l.instruments.join(", ")));
    return row;
  }));
  if (!list.length) body.append(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "No live locks.")));
}

// ---- traffic (steps events, and the last N of one instrument) --------------------------------------

function stepRow(s) {
  const answer = s.answer != null ? s.answer
    : s.answerBase64 != null ? "(" + s.answerBytes + " bytes, binary)" : "";
  const bad = s.outcome && s.outcome !== "ok";
  const row = el("tr", { "data-seq": s.seq, "data-instrument": s.instrument });
  row.append(cell((s.time || "").replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace("Z", "")), cell(s.instrument, "mono"), cell(s.thread),
    cell(s.kind), cell(s.command, "mono"), cell(answer + (s.truncated ? " …" : ""), "mono"),
    cell(us(s.lockWaitUs), "num"), cell(us(s.ioUs), "num"),
    cell(bad ? s.outcome + (s.error ? ": " + s.error : "") : (s.outcome || ""), bad ? "outcome-bad" : "outcome-ok"));
  return row;
}

function addSteps(steps) {
  const body = document.querySelector("#traffic tbody");
  for (const s of steps) body.prepend(stepRow(s));
  while (body.rows.length > MAX_TRAFFIC) body.deleteRow(body.rows.length - 1);
}

async function loadTrace() {
  const id = document.getElementById("traffic-instrument").value;
  if (!id) return;
  const answer = await call("GET", "instruments/" + encodeURIComponent(id) + "/trace?n=100");
  if (answer.ok) {
    document.querySelector("#traffic tbody").replaceChildren();
    addSteps(answer.body.steps);
    document.getElementById("traffic-note").textContent = id + ": trace " + (answer.body.tracing ? "on" : "off")
      + ", " + answer.body.steps.length + " step(s) loaded";
  }
}

// ---- statistics, drawn as SVG bars ------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

function chart(stats) {
  const box = el("div", { class: "chart", "data-instrument": stats.instrument });
  box.append(el("h3", {}, stats.instrument));
  if (!stats.kinds.length) {
    box.append(el("div", { class: "empty" }, "no steps measured (turn its trace on)"));
    return box;
  }
  const rowH = 46, left = 112, width = 460, barW = width - left - 82;
  const max = Math.max(...stats.kinds.map(k => k.maxUs), 1);
  const scale = v => Math.max(1, Math.log10(1 + v) / Math.log10(1 + max) * barW);
  const picture = svg("svg", { width, height: stats.kinds.length * rowH + 18, role: "img",
    "aria-label": "latency of " + stats.instrument });
  stats.kinds.forEach((k, n) => {
    const y = n * rowH + 4;
    picture.append(svg("text", { x: 0, y: y + 10, "font-weight": "bold" }, k.kind),
      svg("text", { x: 0, y: y + 23 }, k.count + " steps" + (k.failures ? ", " + k.failures + " failed" : "")),
      svg("text", { x: 0, y: y + 36 }, Math.round(k.lockWaitShare * 100) + "% lock wait"));
    const bars = [["max", k.maxUs, "#c3ccd9"], ["p99", k.p99Us, "#f0a35e"], ["p50", k.p50Us, "#1f6feb"]];
    bars.forEach(([name, value, color], b) => {
      const bar = svg("rect", { x: left, y: y + b * 13, width: scale(value), height: 10, fill: color });
      bar.append(svg("title", {}, name + " " + us(value)));
      picture.append(bar, svg("text", { x: left + scale(value) + 4, y: y + b * 13 + 9 }, name + " " + us(value)));
    });
  });
  picture.append(svg("text", { x: left, y: stats.kinds.length * rowH + 14 }, "log scale"));
  box.append(picture);
  return box;
}

async function loadStats() {
  const answer = await call("GET", "stats");
  if (answer.ok) document.getElementById("charts").replaceChildren(...answer.body.map(chart));
}

// ---- inbox ------------------------------------------------------------------------------------------

async function loadInbox() {
  const answer = await call("GET", "inbox");
  if (!answer.ok) return;
  const body = document.querySelector("#inbox tbody");
  body.replaceChildren(...answer.body.map(e => {
    const row = el("tr");
    row.append(cell(e.number, "num"), cell(e.resource, "mono"), cell(e.source), cell(e.identity), cell(e.model),
      cell(e.policy), cell(e.configuredAs));
    return row;
  }));
  if (!answer.body.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "Empty.")));
}

// ---- actions, each confirmed ------------------------------------------------------------------------

async function call(method, path, body) {
  const options = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(API + path, options);
    const json = await response.json();
    return { ok: response.ok, status: response.status, body: json };
  } catch (e) {
    return { ok: false, status: 0, body: { error: String(e) } };
  }
}

function show(text, error) {
  const result = document.getElementById("result");
  result.textContent = text;
  result.className = "result" + (error ? " error" : "");
}

async function act(what, action, body, describe) {
  const id = document.getElementById("action-instrument").value;
  if (!id) return;
  if (!window.confirm(what + " on " + id + "?" + (describe ? "\n\n" + describe : ""))) {
    show(what + " on " + id + ": cancelled");
    return;
  }
  show(what + " on " + id + " …");
  const answer = await call("POST", "instruments/" + encodeURIComponent(id) + "/" + action, body);
  if (!answer.ok) {
    show(what + " on " + id + " failed (" + answer.status + "): " + answer.body.error, true);
  } else if (answer.body.answer !== undefined) {
    show(id + " answered " + answer.body.command + "\n" + answer.body.answer);
  } else {
    show(answer.body.result);
  }
}

function command() {
  return document.getElementById("action-command").value;
}

function wire() {
  document.getElementById("do-query").addEventListener("click",
    () => act("Query", "query", { command: command() }, command()));
  document.getElementById("do-write").addEventListener("click",
    () => act("Write", "write", { command: command() }, command()));
  document.getElementById("do-lock").addEventListener("click", () => {
    const timeout = document.getElementById("lock-timeout").value, lease = document.getElementById("lock-lease").value;
    act("Lock", "lock", { timeout, lease }, "wait up to " + timeout + ", hold up to " + lease);
  });
  document.getElementById("do-unlock").addEventListener("click", () => act("Unlock", "unlock", {}));
  document.getElementById("do-trace-on").addEventListener("click", () => act("Trace on", "trace", { on: true }));
  document.getElementById("do-trace-off").addEventListener("click", () => act("Trace off", "trace", { on: false }));
  document.getElementById("load-trace").addEventListener("click", loadTrace);
  document.getElementById("clear-traffic").addEventListener("click",
    () => document.querySelector("#traffic tbody").replaceChildren());
  document.getElementById("load-inbox").addEventListener("click", loadInbox);
}

// ---- live updates -----------------------------------------------------------------------------------

function listen() {
  const live = document.getElementById("live");
  const source = new EventSource(API + "events");
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "status on"; });
  source.addEventListener("error", () => { live.textContent = "reconnecting…"; live.className = "status off"; });
  source.addEventListener("snapshot", e => {
    const data = JSON.parse(e.data);
    showInstruments(data.instruments);
    showLocks(data.locks);
    document.getElementById("clock").textContent = "runtime time " + data.time.replace("T", " ").slice(0, 19);
  });
  source.addEventListener("steps", e => addSteps(JSON.parse(e.data)));
  source.addEventListener("dropped", e => {
    document.getElementById("traffic-note").textContent =
      JSON.parse(e.data).dropped + " event(s) dropped: this page read too slowly";
  });
}

wire();
listen();
loadStats();
loadInbox();
setInterval(loadStats, 3000);
