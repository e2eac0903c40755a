// The Clonebay web panel: it shows what the appliance's live events say
// and sends the operator's requests through the API; the appliance's
// panel model decides, so every answer (started, or refused and why) is
// shown as the appliance gave it.
"use strict";

const $ = (id) => document.getElementById(id);
let csrf = "";
let role = "";
let events = null;
let last = null;
let settingsFilled = false;
let imagesKey = "";
let targetsKey = "";

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function size(n) {
  if (!n) return "0";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)) + " " + u[i];
}

function clock(s) {
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), rr = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${rr}` : `${mm}:${rr}`;
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let data = {};
  try { data = await r.json(); } catch (e) { data = {}; }
  if (r.status === 401 && path !== "/api/login" && !$("app-view").hidden) showLogin("Your session ended: log in again.");
  return { status: r.status, ok: r.ok, data };
}

function say(node, text, good) {
  node.textContent = text || "";
  node.className = "answer " + (text ? (good ? "good" : "bad") : "");
}

function showLogin(why) {
  if (events) { events.close(); events = null; }
  $("app-view").hidden = true;
  $("logout").hidden = true;
  $("login-view").hidden = false;
  $("who").textContent = "";
  $("login-error").textContent = why || "";
  $("conn").textContent = "offline";
  $("conn").className = "conn";
  $("password").focus();
}

function showApp() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = role;
  document.body.classList.toggle("viewer", role !== "operator");
  connect();
  loadRecord();
}

function connect() {
  if (events) events.close();
  events = new EventSource("/api/events");
  events.addEventListener("status", (e) => {
    $("conn").textContent = "live";
    $("conn").className = "conn live";
    render(JSON.parse(e.data));
  });
  events.onerror = async () => {
    $("conn").textContent = "reconnecting";
    $("conn").className = "conn";
    const r = await api("GET", "/api/session");
    if (r.status === 401) showLogin("Your session ended: log in again.");
  };
}

function render(s) {
  const prev = last;
  last = s;
  $("lcd").textContent = (s.lcd || []).join("\n");
  const sum = s.summary;
  let line = `${sum.drives} drives`;
  if (s.job) line = `${s.job.mode} job ${s.job.started ? "running" : "starting"} on ${s.job.targets.length} targets` + (s.job.bytes ? `, ${size(s.job.bytes)} each` : "");
  else if (s.line) line = `Line mode: ${s.line.passed} passed, ${s.line.failed} failed`;
  else if (sum.passed || sum.failed) line += ` · ${sum.passed} PASS · ${sum.failed} FAIL`;
  if (s.busy) line += ` · ${s.busy.what} ${s.busy.total ? Math.floor(100 * s.busy.done / s.busy.total) + "%" : ""}`;
  if (s.message) line += ` · ${s.message.title}: ${s.message.text}`;
  $("summary").textContent = line;
  $("abort").disabled = !(s.job || s.line);
  $("pin-row").hidden = !s.pin_lock;
  $("s-pin-row").hidden = !s.pin_lock;
  $("box").textContent = [s.box.id && "Box " + s.box.id, s.box.sync].filter(Boolean).join(" · ");
  renderLot(s);
  renderTargets(s);
  renderPorts(s);
  renderImages(s);
  renderUpload(s.upload);
  if (!settingsFilled) fillSettings(s.settings);
  if (prev && prev.job && !s.job) loadRecord(); // a job ended: it is in the record now
}

function renderLot(s) {
  const l = s.lot;
  let text = "No lot is running.";
  if (l.name) {
    text = `Lot ${l.name}: ${l.pass}` + (l.goal ? `/${l.goal}` : "") + ` passed, ${l.fail} failed` + (l.done ? " · done" : "");
  }
  $("lot-line").textContent = text;
  $("lot-line").className = "lot-line" + (l.done ? " done" : "");
  const lamp = (on, c) => el("span", { class: "lamp lamp-" + c + (on ? " on" : ""), title: c + (on ? " on" : " off") });
  $("lamps").replaceChildren(lamp(s.lamps.green, "green"), lamp(s.lamps.amber, "amber"), lamp(s.lamps.red, "red"));
  const shown = l.name || l.recent[0] || "";
  $("lot-reports").hidden = !shown;
  if (shown) {
    const base = "/api/lots/" + encodeURIComponent(shown) + "/report.";
    $("lot-pdf").href = base + "pdf";
    $("lot-csv").href = base + "csv";
    $("lot-certs").href = "/api/lots/" + encodeURIComponent(shown) + "/certificates.pdf";
    $("lot-pdf").textContent = `Report of ${shown} (PDF)`;
  }
  $("lot-end").disabled = !l.name || !!(s.job || s.line);
  $("lot-start").disabled = !!(s.job || s.line);
  const name = $("lot-name");
  if (!name.value && document.activeElement !== name) name.value = l.next || "";
  const list = $("lot-recent");
  const key = l.recent.join("\n");
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(...l.recent.map((r) => el("option", { value: r })));
  }
}

async function startLot(ev) {
  ev.preventDefault();
  const r = await api("POST", "/api/lot", { name: $("lot-name").value.trim(), goal: Number($("lot-goal").value) || 0 });
  say($("lot-answer"), r.ok ? r.data.text : "Not started: " + r.data.error, r.ok);
  if (r.ok) $("lot-name").value = "";
}

async function endLot() {
  if (!last || !last.lot.name || !window.confirm(`End lot ${last.lot.name}?`)) return;
  const r = await api("DELETE", "/api/lot");
  say($("lot-answer"), r.ok ? r.data.text : r.data.error, r.ok);
}

function renderTargets(s) {
  const ports = s.ports.filter((p) => !p.master && p.drive);
  const key = ports.map((p) => p.number + ":" + (p.drive.serial || "") + ":" + (p.drive.problem || "")).join(",");
  if (key === targetsKey) return;
  targetsKey = key;
  const box = $("targets");
  const was = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
  const fresh = box.children.length === 0;
  box.replaceChildren(...ports.map((p) => {
    const cb = el("input", { type: "checkbox", value: p.number, disabled: !!p.drive.problem });
    cb.checked = !p.drive.problem && (fresh || was.has(String(p.number)) || !box.querySelector(`input[value="${p.number}"]`));
    return el("label", {}, cb, ` ${p.label}` + (p.drive.has_data ? " (data)" : "") + (p.drive.problem ? ` (${p.drive.problem})` : "") +
      (p.drive.done_in_lot ? " (done in the lot)" : ""));
  }));
  if (ports.length === 0) box.append(el("span", { class: "muted", text: "no targets in the ports" }));
}

function portCard(p, s) {
  const card = el("div", { class: "port" + (p.working ? " working" : ""), "data-port": p.number });
  card.append(el("div", { class: "head" }, el("span", { class: "led led-" + p.led, title: "LED: " + p.led }),
    "Port " + p.label, p.master ? el("span", { class: "tag", text: s.image ? "master port" : "master" }) : null));
  const d = p.drive;
  card.append(el("div", { class: "drive", text: d ? `${d.model || "(no name)"} · ${d.size_text} · S/N ${d.serial || "-"}` + (d.has_data ? " · holds data" : "") + (d.problem ? ` · ${d.problem}` : "") + (d.done_in_lot ? ` · ${d.done_in_lot}` : "") : "empty" }));
  if (p.working) {
    const pr = el("progress", { max: 100, value: p.percent, "aria-label": "progress of port " + p.label });
    card.append(el("div", { class: "phase", text: p.phase + " " + p.percent + "%" }), pr,
      el("div", { class: "nums" }, el("span", { class: "mbps", text: p.mbps ? p.mbps.toFixed(1) + " MB/s" : "" }),
        el("span", { class: "eta", text: p.eta_seconds > 0 ? "ETA " + clock(p.eta_seconds) : "" })));
  }
  if (p.result) {
    const cls = p.result.result === "PASS" ? "pass" : p.result.result === "FAIL" ? "fail" : "aborted";
    card.append(el("div", { class: "result " + cls }, p.result.result + (p.result.cause ? " " + p.result.cause : ""),
      p.result.reason ? el("span", { class: "why", text: p.result.reason }) : null));
  }
  const acts = el("div", { class: "acts" });
  if (p.working && !p.master && (s.job || s.line)) {
    acts.append(el("button", { type: "button", class: "small danger", text: "Abort port", onclick: () => abortPort(p) }));
  }
  if (d && !s.job && !s.line) {
    acts.append(el("button", { type: "button", class: "small plain", text: "Read scan", onclick: () => check(p, "scan") }));
    if (!p.master) acts.append(el("button", { type: "button", class: "small plain", text: "Speed test", onclick: () => check(p, "speed") }));
  }
  card.append(acts);
  return card;
}

// Cards are kept while only a port's numbers move, so a button under the
// pointer is not replaced five times a second.
const cards = new Map();

function renderPorts(s) {
  const box = $("ports");
  const nodes = s.ports.map((p) => {
    const shape = JSON.stringify([p, s.image, !!s.job, !!s.line, role], (k, v) =>
      ["done", "total", "percent", "mbps", "eta_seconds"].includes(k) ? undefined : v);
    const had = cards.get(p.number);
    if (had && had.shape === shape) {
      const pr = had.node.querySelector("progress");
      if (pr) {
        pr.value = p.percent;
        had.node.querySelector(".phase").textContent = p.phase + " " + p.percent + "%";
        had.node.querySelector(".mbps").textContent = p.mbps ? p.mbps.toFixed(1) + " MB/s" : "";
        had.node.querySelector(".eta").textContent = p.eta_seconds > 0 ? "ETA " + clock(p.eta_seconds) : "";
      }
      return had.node;
    }
    const node = portCard(p, s);
    cards.set(p.number, { shape, node });
    return node;
  });
  if (nodes.length !== box.children.length || nodes.some((n, i) => box.children[i] !== n)) box.replaceChildren(...nodes);
}

function renderImages(s) {
  $("master-line").textContent = s.image ? `Jobs copy from image ${s.image}.` : "Jobs copy from the master drive.";
  $("free").textContent = `${size(s.images.free)} free in the library.`;
  const key = JSON.stringify([s.image, s.images.images.map((i) => [i.name, i.error])]);
  if (key === imagesKey) return;
  imagesKey = key;
  const rows = s.images.images.map((im) => {
    const acts = el("td", {});
    acts.append(el("a", { href: "/api/images/" + encodeURIComponent(im.name), download: true, text: "Download" }), " ");
    if (role === "operator") {
      if (!im.error) acts.append(el("button", { type: "button", class: "small plain", text: s.image === im.name ? "Use drive" : "Deploy",
        onclick: () => deploy(s.image === im.name ? "" : im.name) }), " ");
      acts.append(el("button", { type: "button", class: "small danger", text: "Delete", onclick: () => delImage(im.name) }));
    }
    return el("tr", {}, el("td", { text: (im.error ? "⚠ " : "") + im.name + (im.error ? ` (${im.error})` : "") }),
      el("td", { text: size(im.size) }), el("td", { text: size(im.stored) }),
      el("td", { text: im.created ? new Date(im.created).toLocaleString() : "" }), acts);
  });
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 5, text: "The library holds no image yet." })));
  $("images-table").tBodies[0].replaceChildren(...rows);
}

function renderUpload(u) {
  const bar = $("upload-progress");
  if (!u) return;
  if (!u.ended) {
    bar.hidden = false;
    bar.value = u.total ? Math.floor(100 * u.done / u.total) : 0;
  }
}

async function start(ev) {
  ev.preventDefault();
  const mode = $("mode").value;
  const targets = [...$("targets").querySelectorAll("input:checked")].map((i) => Number(i.value));
  const body = { mode, targets, confirm: $("confirm").checked };
  if (mode === "erase") {
    body.erase_mode = $("erase-mode").value;
    body.erase_verify = $("erase-verify").checked;
    body.pin = $("pin").value;
    if (!window.confirm(`Erase ${targets.length} drives? Everything on them is lost.`)) return;
    body.confirm = true;
  }
  let r = await api("POST", "/api/jobs", body);
  if (r.data.code === "confirm" && window.confirm(r.data.error + "\n\nOverwrite them?")) {
    body.confirm = true;
    r = await api("POST", "/api/jobs", body);
  }
  say($("answer"), r.ok ? r.data.text : "Not started: " + r.data.error, r.ok);
}

async function abortJob() {
  if (!window.confirm("Abort the job?")) return;
  const r = await api("DELETE", "/api/jobs/current");
  say($("answer"), r.ok ? r.data.text : r.data.error, r.ok);
}

async function abortPort(p) {
  if (!window.confirm(`Abort port ${p.label}? The other ports go on.`)) return;
  const r = await api("DELETE", "/api/jobs/current/ports/" + p.number);
  say($("answer"), r.ok ? r.data.text : r.data.error, r.ok);
}

async function check(p, kind) {
  const r = await api("POST", `/api/drives/${p.number}/check`, { kind });
  say($("answer"), r.ok ? r.data.text + " (the result shows on the panel)" : r.data.error, r.ok);
}

async function deploy(name) {
  const r = await api("PUT", "/api/master", { image: name });
  say($("upload-answer"), r.ok ? r.data.text : r.data.error, r.ok);
}

async function delImage(name) {
  if (!window.confirm(`Delete image ${name}?`)) return;
  const r = await api("DELETE", "/api/images/" + encodeURIComponent(name));
  say($("upload-answer"), r.ok ? r.data.text : r.data.error, r.ok);
}

function upload(ev) {
  ev.preventDefault();
  const f = $("upload-file").files[0];
  if (!f) { say($("upload-answer"), "Choose a file first.", false); return; }
  const q = new URLSearchParams();
  if ($("upload-name").value) q.set("name", $("upload-name").value.trim());
  if ($("upload-sha").value) q.set("sha256", $("upload-sha").value.trim());
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/images?" + q.toString());
  xhr.setRequestHeader("X-CSRF-Token", csrf);
  xhr.setRequestHeader("X-File-Name", f.name);
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  const bar = $("upload-progress");
  bar.hidden = false;
  bar.value = 0;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.floor(100 * e.loaded / e.total); };
  $("upload-btn").disabled = true;
  say($("upload-answer"), "Uploading " + f.name + "…", true);
  xhr.onloadend = () => {
    $("upload-btn").disabled = false;
    let d = {};
    try { d = JSON.parse(xhr.responseText); } catch (e) { d = { error: "no answer (" + xhr.status + ")" }; }
    if (xhr.status === 201) { bar.value = 100; say($("upload-answer"), `Imported ${d.name}: ${size(d.size)}, stored in ${size(d.stored)}.`, true); }
    else say($("upload-answer"), d.error || "upload failed", false);
  };
  xhr.send(f);
}

function filterQuery() {
  const q = new URLSearchParams();
  for (const [k, id] of [["from", "f-from"], ["to", "f-to"], ["result", "f-result"], ["serial", "f-serial"], ["port", "f-port"], ["lot", "f-lot"]]) {
    const v = $(id).value.trim();
    if (v) q.set(k, v);
  }
  return q.toString();
}

async function loadRecord(ev) {
  if (ev) ev.preventDefault();
  const q = filterQuery();
  $("dl-csv").href = "/api/record.csv" + (q ? "?" + q : "");
  $("dl-json").href = "/api/record.json" + (q ? "?" + q : "");
  const r = await api("GET", "/api/record" + (q ? "?" + q : ""));
  const chain = $("chain");
  if (!r.ok) { chain.textContent = r.data.error || "The record cannot be read."; chain.className = "chain bad"; return; }
  const c = r.data.chain;
  chain.textContent = c.ok ? `The record's chain verifies: ${c.entries} entries.` : `The record does not verify: ${c.problems.join("; ")}`;
  chain.className = "chain " + (c.ok ? "ok" : "bad");
  const rows = r.data.entries.map((e) => {
    const cls = e.result === "PASS" ? "pass" : e.result === "FAIL" ? "fail" : "aborted";
    return el("tr", {}, el("td", { text: e.seq }), el("td", { text: new Date(e.time).toLocaleString() }), el("td", { text: e.label || e.port }),
      el("td", { text: e.lot || "" }), el("td", { text: e.target_model }), el("td", { text: e.target_serial }), el("td", { class: cls, text: e.result + (e.problem ? " ⚠" : "") }),
      el("td", { text: e.reason || e.problem || "" }), el("td", { text: e.mbps ? e.mbps.toFixed(1) : "" }));
  });
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 9, text: "No entries." })));
  $("record-table").tBodies[0].replaceChildren(...rows);
}

// loadedSettings are the settings the form was filled with: a save sends
// only what the operator changed, so it never puts back a value another
// panel changed since.
let loadedSettings = null;

function fillSettings(s) {
  if (!s) return;
  loadedSettings = s;
  $("s-area").value = s.area;
  $("s-verify").checked = s.verify;
  $("s-clean").checked = s.clean;
  $("s-qualify").checked = s.check_targets;
  $("s-minmbps").value = s.min_write_mbps;
  $("s-zerofill").checked = s.zero_fill_bad_sectors;
  $("s-auto").value = s.auto_start;
  $("s-buzzer").checked = s.buzzer;
  $("s-keyclick").checked = s.key_click;
  $("s-backlight").value = s.backlight_seconds;
  settingsFilled = true;
}

async function saveSettings(ev) {
  ev.preventDefault();
  const form = {
    area: $("s-area").value, verify: $("s-verify").checked, clean: $("s-clean").checked, check_targets: $("s-qualify").checked,
    min_write_mbps: Number($("s-minmbps").value), zero_fill_bad_sectors: $("s-zerofill").checked, auto_start: Number($("s-auto").value),
    buzzer: $("s-buzzer").checked, key_click: $("s-keyclick").checked, backlight_seconds: Number($("s-backlight").value),
  };
  const body = {};
  for (const [k, v] of Object.entries(form)) {
    if (!loadedSettings || loadedSettings[k] !== v) body[k] = v;
  }
  if ($("s-pin").value) body.pin = $("s-pin").value;
  const r = await api("PUT", "/api/settings", body);
  say($("setup-answer"), r.ok ? "Saved." : r.data.error, r.ok);
  if (r.ok) settingsFilled = false;
}

async function login(ev) {
  ev.preventDefault();
  const r = await api("POST", "/api/login", { password: $("password").value });
  $("password").value = "";
  if (!r.ok) { $("login-error").textContent = r.data.error || "Login failed."; return; }
  csrf = r.data.csrf;
  role = r.data.role;
  showApp();
}

async function logout() {
  await api("POST", "/api/logout");
  csrf = "";
  showLogin("");
}

function tabs() {
  for (const b of document.querySelectorAll(".tabs button")) {
    b.addEventListener("click", () => {
      for (const o of document.querySelectorAll(".tabs button")) o.classList.toggle("active", o === b);
      for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + b.dataset.tab;
      if (b.dataset.tab === "record") loadRecord();
    });
  }
}

async function boot() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("job-form").addEventListener("submit", start);
  $("abort").addEventListener("click", abortJob);
  $("upload-form").addEventListener("submit", upload);
  $("record-form").addEventListener("submit", loadRecord);
  $("setup-form").addEventListener("submit", saveSettings);
  $("lot-form").addEventListener("submit", startLot);
  $("lot-end").addEventListener("click", endLot);
  $("mode").addEventListener("change", () => { $("erase-options").hidden = $("mode").value !== "erase"; });
  tabs();
  const r = await api("GET", "/api/session");
  if (r.ok) {
    csrf = r.data.csrf;
    role = r.data.role;
    showApp();
  } else {
    showLogin("");
  }
}

document.addEventListener("DOMContentLoaded", boot);
