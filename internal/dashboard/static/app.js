// Swapwire dashboard. Plain JavaScript, no dependencies, served from the
// binary. It talks to this origin only: the Connect JSON admin API
// (/swapwire.v1.ModelService/*), /api/v1/whoami, /api/v1/status and
// /metrics. The token lives in this tab's sessionStorage (readable by this
// origin only, gone when the tab closes) and travels only in an
// Authorization header, never a cookie, so another site cannot make the
// browser send it.
"use strict";

const roles = { read: 1, deploy: 2, admin: 3 };
const state = { token: sessionStorage.getItem("swapwire.token") || "", who: null, models: [], seen: {}, pending: null, evalSets: loadSets() };
const $ = (sel, root) => (root || document).querySelector(sel);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else if (k === "style") e.style.cssText = v; // CSSOM, which the CSP allows; a style attribute it would not
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
const can = (role) => state.who && roles[state.who.role] >= roles[role];

function say(text, isError) {
  const m = $("#msg");
  m.textContent = text;
  m.className = isError ? "error" : "";
}

function authHeaders() {
  return state.token ? { Authorization: "Bearer " + state.token } : {};
}

// rpc calls a unary ModelService method over the Connect protocol.
async function rpc(method, body) {
  const r = await fetch("/swapwire.v1.ModelService/" + method, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1", ...authHeaders() },
    body: JSON.stringify(body || {}),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((j.code ? j.code + ": " : "") + (j.message || r.statusText));
  return j;
}

// frames builds a Connect streaming request body: each message as a
// 5-byte envelope (flags, big-endian length) and its JSON.
function frames(msgs) {
  const enc = new TextEncoder();
  const parts = [];
  for (const m of msgs) {
    const b = enc.encode(JSON.stringify(m));
    const h = new Uint8Array(5);
    new DataView(h.buffer).setUint32(1, b.length);
    parts.push(h, b);
  }
  return new Blob(parts);
}

// unframe reads a Connect streaming response: the messages, or the error
// of its end-of-stream frame.
function unframe(buf) {
  const dv = new DataView(buf);
  const dec = new TextDecoder();
  const out = [];
  for (let off = 0; off + 5 <= buf.byteLength; ) {
    const flags = dv.getUint8(off), n = dv.getUint32(off + 1);
    const j = JSON.parse(dec.decode(new Uint8Array(buf, off + 5, n)) || "{}");
    off += 5 + n;
    if (flags & 2) {
      if (j.error) throw new Error((j.error.code || "error") + ": " + (j.error.message || ""));
    } else out.push(j);
  }
  return out;
}

// stream sends a client stream; onProgress gets the fraction sent.
function stream(method, msgs, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("POST", "/swapwire.v1.ModelService/" + method);
    x.responseType = "arraybuffer";
    x.setRequestHeader("Content-Type", "application/connect+json");
    x.setRequestHeader("Connect-Protocol-Version", "1");
    for (const [k, v] of Object.entries(authHeaders())) x.setRequestHeader(k, v);
    if (onProgress) x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    x.onerror = () => reject(new Error("network error"));
    x.onload = () => {
      try {
        if (x.status !== 200) {
          let j = {};
          try { j = JSON.parse(new TextDecoder().decode(x.response)); } catch (e) { /* not JSON */ }
          throw new Error((j.code ? j.code + ": " : "") + (j.message || "HTTP " + x.status));
        }
        const msgs = unframe(x.response);
        if (!msgs.length) throw new Error("empty response");
        resolve(msgs[0]);
      } catch (e) { reject(e); }
    };
    x.send(frames(msgs));
  });
}

// ---- sign-in ----

async function signIn(token) {
  const r = await fetch("/api/v1/whoami", { headers: token ? { Authorization: "Bearer " + token } : {} });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

async function startSession() {
  state.who = null;
  if (state.token) {
    try {
      state.who = await signIn(state.token);
    } catch (e) {
      say("Sign-in failed: " + e.message, true);
      state.token = "";
      sessionStorage.removeItem("swapwire.token");
    }
  } else {
    // Without a token the browser may still be someone: a client
    // certificate listed as an identity (or, in development, loopback).
    state.who = await signIn("").catch(() => null);
  }
  $("#signin-form").hidden = !!state.who;
  $("#signed-in").hidden = !state.who;
  $("#signout").hidden = !state.token; // a certificate cannot be signed out of
  $("#who").textContent = state.who ? state.who.name + " (" + state.who.role + ")" : "";
  $("#models-hint").hidden = !!state.who;
  const slot = $("#upload-slot");
  slot.replaceChildren();
  if (can("deploy")) {
    slot.append($("#upload-tpl").content.cloneNode(true));
    $("#upload-go").addEventListener("click", upload);
  }
  $("#model-list").replaceChildren();
  $("#eval-results").replaceChildren(); // the previous identity's results
  state.seen = {};
  await refresh();
}

$("#signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = $("#token").value.trim();
  $("#token").value = "";
  if (state.token) sessionStorage.setItem("swapwire.token", state.token);
  await startSession();
  if (state.who) say("Signed in as " + state.who.name + " with role " + state.who.role + ".");
});
$("#signout").addEventListener("click", async () => {
  state.token = "";
  sessionStorage.removeItem("swapwire.token");
  await startSession();
  say("Signed out.");
});

// ---- models ----

async function refresh() {
  if (!state.who) return;
  try {
    const r = await fetch("/api/v1/status", { headers: authHeaders() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || r.statusText);
    state.models = j;
    renderModels();
    fillEvalSelects();
    checkPending();
  } catch (e) {
    say("Status: " + e.message, true);
  }
}

function weightOf(m, v) {
  const w = m.split || {};
  return w[v] !== undefined ? w[v] + "%" : "";
}

function labelsOf(m, v) {
  return Object.entries(m.labels || {}).filter(([, n]) => n === v).map(([l]) => el("span", { class: "badge", text: l }));
}

function renderModels() {
  const list = $("#model-list");
  for (const m of state.models) {
    let card = list.querySelector('.model[data-model="' + CSS.escape(m.name) + '"]');
    if (!card) {
      card = modelCard(m);
      list.append(card);
    }
    const key = JSON.stringify(m);
    if (state.seen[m.name] === key) continue;
    state.seen[m.name] = key;
    $(".model-info", card).replaceChildren(el("span", {},
      el("span", { text: m.serving ? "serving v" + m.serving : "serving nothing" }), " · ",
      el("span", { class: "policy", text: m.pinned ? "pinned to v" + m.pinned : "follows the latest version" }),
      m.default ? [" · ", el("span", { class: "badge", text: "default" })] : null,
      m.store_error ? el("pre", { class: "err", text: "store: " + m.store_error }) : null,
      m.health ? el("pre", { class: "err", text: "health: " + m.health }) : null));
    const tbody = $("tbody", card);
    tbody.replaceChildren(...m.versions.slice().reverse().map((v) => versionRow(m, v)));
  }
}

function versionRow(m, v) {
  const workers = (v.workers || []).map((w) => el("div", { text: "#" + w.id + " pid " + (w.pid || "-") + " " + w.state + " · " + w.restarts + " restarts" + (w.error ? " · " + w.error : "") }));
  const acts = el("div", { class: "actions" });
  if (can("deploy") && v.state !== "failed") {
    acts.append(el("button", { class: "mut", "data-act": "switch", "data-version": v.version, type: "button", text: "Switch", onclick: () => switchTo(m.name, v.version) }));
  }
  if (can("admin")) {
    acts.append(el("button", { class: "mut danger", "data-act": "delete", "data-version": v.version, type: "button", text: "Delete", onclick: () => confirmDelete(m.name, v.version) }));
  }
  return el("tr", { "data-version": v.version },
    el("td", { text: "v" + v.version }),
    el("td", {}, el("span", { class: "state " + v.state, text: v.state }), v.error ? el("pre", { class: "err", text: v.error }) : null),
    el("td", { title: v.loaded_at ? "loaded at " + v.loaded_at : "", text: !v.load_seconds ? "" : v.load_seconds < 1 ? (v.load_seconds * 1000).toFixed(1) + " ms" : v.load_seconds.toFixed(2) + " s" }),
    el("td", {}, labelsOf(m, v.version)),
    el("td", { class: "weight", text: weightOf(m, v.version) }),
    el("td", { text: v.in_flight }),
    el("td", { class: "workers" }, workers.length ? workers : "in process"),
    el("td", {}, acts));
}

function modelCard(m) {
  const card = el("div", { class: "card model", "data-model": m.name },
    el("h3", { text: m.name }),
    el("p", { class: "model-info note" }));
  if (can("deploy")) {
    const label = el("input", { class: "label-name", placeholder: "label, e.g. canary", size: 12 });
    const labelV = el("input", { class: "label-version", placeholder: "version", size: 5, inputmode: "numeric" });
    const split = el("input", { class: "split-input", placeholder: "2=90 1=10", size: 12 });
    card.append(el("div", { class: "row" },
      el("button", { class: "mut secondary", "data-act": "follow", type: "button", text: "Follow latest", onclick: () => switchTo(m.name, 0) }),
      el("button", { class: "mut secondary", "data-act": "rollback", type: "button", text: "Roll back", onclick: () => rollback(m.name) }),
      el("label", {}, "Label", label), el("label", {}, "on version", labelV),
      el("button", { class: "mut", "data-act": "label", type: "button", text: "Set label", onclick: () => setLabel(m.name, label.value.trim(), Number(labelV.value)) }),
      el("label", {}, "Split (version=weight)", split),
      el("button", { class: "mut", "data-act": "split", type: "button", text: "Set split", onclick: () => setSplit(m.name, split.value) })));
  }
  card.append(el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, ["Version", "State", "Load", "Labels", "Weight", "In flight", "Workers", ""].map((h) => el("th", { text: h })))),
    el("tbody"))));
  return card;
}

// pend shows an action's result as the store converges: done(m) is
// checked on every refresh until it holds.
function pend(model, text, done) {
  state.pending = { model, text, done, since: Date.now() };
  say(text + " …");
  refresh();
}

function checkPending() {
  const p = state.pending;
  if (!p) return;
  const m = state.models.find((x) => x.name === p.model);
  const result = m && p.done(m);
  if (result) {
    say(p.text + " — " + (typeof result === "string" ? result : "done") + ".");
    state.pending = null;
  } else if (Date.now() - p.since > 120000) {
    say(p.text + " — not converged after 2 minutes; see the version states.", true);
    state.pending = null;
  }
}

async function act(what, fn) {
  try {
    await fn();
  } catch (e) {
    state.pending = null;
    say(what + " failed: " + e.message, true);
  }
}

function switchTo(model, version) {
  return act("Switch", async () => {
    await rpc("SwitchModel", { model, version });
    if (version) pend(model, "Switching " + model + " to v" + version, (m) => m.serving === version && m.pinned === version);
    else pend(model, model + " follows the latest version", (m) => !m.pinned && m.versions.length && m.serving === Math.max(...m.versions.filter((v) => v.state !== "failed").map((v) => v.version)));
  });
}

function rollback(model) {
  return act("Rollback", async () => {
    const r = await rpc("Rollback", { model });
    const to = Number(r.toVersion);
    pend(model, "Rolling " + model + " back from v" + r.fromVersion + " to v" + to, (m) => m.serving === to);
  });
}

function setLabel(model, label, version) {
  return act("Set label", async () => {
    if (!label) throw new Error("give a label");
    await rpc("SetLabel", { model, label, version: version || 0 });
    pend(model, version ? "Label " + label + " → v" + version : "Label " + label + " removed", (m) => (version ? m.labels && m.labels[label] === version : !(m.labels && label in m.labels)));
  });
}

function parseSplit(text) {
  const weights = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const mm = /^v?(\d+)[=:](\d+)$/.exec(part);
    if (!mm) throw new Error("write the split as version=weight pairs, e.g. 2=90 1=10");
    weights.push({ version: Number(mm[1]), weight: Number(mm[2]) });
  }
  return weights;
}

function setSplit(model, text) {
  return act("Split", async () => {
    const weights = parseSplit(text);
    await rpc("SplitTraffic", { model, weights });
    const want = Object.fromEntries(weights.map((w) => [w.version, w.weight]));
    pend(model, weights.length ? "Splitting " + model + " " + weights.map((w) => "v" + w.version + " " + w.weight + "%").join(", ") : "Removing the split of " + model,
      (m) => weights.every((w) => (m.split || {})[w.version] === want[w.version]));
  });
}

function confirmDelete(model, version) {
  const d = el("dialog", { class: "confirm" },
    el("p", { text: "Delete " + model + " v" + version + " from the model store? This cannot be undone." }));
  const close = () => { d.close(); d.remove(); };
  d.append(el("div", { class: "actions" },
    el("button", { class: "mut danger", "data-act": "confirm-delete", type: "button", text: "Delete v" + version, onclick: () => { close(); act("Delete", async () => {
      await rpc("DeleteVersion", { model, version });
      pend(model, "Deleting " + model + " v" + version, (m) => !m.versions.some((v) => v.version === version));
    }); } }),
    el("button", { class: "secondary", type: "button", text: "Cancel", onclick: close })));
  document.body.append(d);
  d.showModal();
}

// ---- upload: a file or a folder as a tar ----

function tarHeader(name, size) {
  const h = new Uint8Array(512);
  const enc = new TextEncoder();
  let nb = enc.encode(name), prefix = new Uint8Array(0);
  if (nb.length > 100) {
    const cut = name.lastIndexOf("/", name.length - 1);
    prefix = enc.encode(name.slice(0, cut));
    nb = enc.encode(name.slice(cut + 1));
    if (prefix.length > 155 || nb.length > 100 || cut < 0) throw new Error("file name too long for tar: " + name);
  }
  const put = (off, s) => h.set(enc.encode(s), off);
  h.set(nb, 0);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, size.toString(8).padStart(11, "0") + "\0");
  put(136, Math.floor(Date.now() / 1000).toString(8).padStart(11, "0") + "\0");
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  h.set(prefix, 345);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

async function tarOf(files) {
  const parts = [];
  for (const { name, file } of files) {
    const data = new Uint8Array(await file.arrayBuffer());
    parts.push(tarHeader(name, data.length), data);
    if (data.length % 512) parts.push(new Uint8Array(512 - (data.length % 512)));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

async function sha256hex(bytes) {
  if (window.crypto && crypto.subtle) {
    const d = await crypto.subtle.digest("SHA-256", bytes);
    return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return sha256Fallback(bytes);
}

// sha256Fallback is FIPS 180-4 SHA-256, for pages served over plain HTTP
// to another host, where crypto.subtle is not available.
function sha256Fallback(msg) {
  const K = new Uint32Array(64), H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  for (let n = 2, i = 0; i < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) K[i++] = frac(Math.cbrt(n));
  }
  const len = msg.length, padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(msg);
  padded[len] = 0x80;
  const dv = new DataView(padded.buffer);
  dv.setUint32(padded.length - 8, Math.floor(len / 2 ** 29));
  dv.setUint32(padded.length - 4, (len * 8) >>> 0);
  const W = new Uint32Array(64), rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let t = 0; t < 16; t++) W[t] = dv.getUint32(off + 4 * t);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(W[t - 15], 7) ^ rotr(W[t - 15], 18) ^ (W[t - 15] >>> 3);
      const s1 = rotr(W[t - 2], 17) ^ rotr(W[t - 2], 19) ^ (W[t - 2] >>> 10);
      W[t] = (W[t - 16] + s0 + W[t - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let t = 0; t < 64; t++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + W[t]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, h].forEach((v, i) => { H[i] = (H[i] + v) >>> 0; });
  }
  return [...H].map((x) => x.toString(16).padStart(8, "0")).join("");
}

function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function upload() {
  const model = $("#upload-model").value.trim();
  const file = $("#upload-file").files[0];
  const dir = [...$("#upload-dir").files];
  const msg = $("#upload-msg"), bar = $("#upload-progress");
  await act("Upload", async () => {
    if (!model) throw new Error("give the model name");
    let tar;
    if (dir.length) tar = await tarOf(dir.map((f) => ({ name: f.webkitRelativePath.split("/").slice(1).join("/") || f.name, file: f })));
    else if (file && /\.tar$/i.test(file.name)) tar = new Uint8Array(await file.arrayBuffer());
    else if (file) tar = await tarOf([{ name: file.name, file }]);
    else throw new Error("choose a file or a folder");
    const sha256 = await sha256hex(tar);
    const msgs = [{ header: { model, version: 0, sha256, size: tar.length } }];
    for (let i = 0; i < tar.length; i += 1 << 20) msgs.push({ chunk: base64(tar.subarray(i, i + (1 << 20))) });
    bar.parentElement.hidden = false;
    bar.style.width = "0%";
    msg.textContent = "Uploading " + tar.length + " bytes …";
    const r = await stream("UploadModel", msgs, (f) => { bar.style.width = Math.round(f * 100) + "%"; });
    bar.style.width = "100%";
    const v = Number(r.version);
    msg.textContent = "Uploaded " + r.model + " v" + v + " (" + r.files + " files, sha256 " + r.sha256.slice(0, 12) + "…).";
    pend(r.model, "Published " + r.model + " v" + v, (m) => {
      const x = m.versions.find((x) => x.version === v);
      if (!x || x.state === "loading") return false;
      // Following the latest version, it is about to take over.
      if (x.state === "standby" && !m.pinned && !Object.keys(m.weights || {}).length) return false;
      return x.state === "failed" ? "its load failed: " + x.error : x.state === "available" ? "in the store, not loaded (the model is pinned to v" + m.pinned + ")" : x.state;
    });
  });
}

// ---- live charts from /metrics ----

const series = {}; // "model|version|metric" -> [[t, v]]
let lastScrape = null;
const palette = ["#2563eb", "#db2777", "#15803d", "#b45309", "#7c3aed", "#0891b2"];

function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const mm = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!mm) continue;
    const labels = {};
    for (const lm of (mm[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    out.push({ name: mm[1], labels, value: Number(mm[3]) });
  }
  return out;
}

function quantile(q, buckets) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!total) return null;
  let prevLe = 0, prevC = 0;
  for (const [le, c] of buckets) {
    if (c >= q * total) {
      if (!isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (q * total - prevC)) / Math.max(c - prevC, 1e-9);
    }
    prevLe = le; prevC = c;
  }
  return prevLe;
}

function summarize(samples) {
  const g = {};
  const key = (s) => s.labels.model + "|" + s.labels.version;
  const at = (k) => (g[k] = g[k] || { req: 0, err: 0, buckets: {}, bsum: 0, bcount: 0 });
  for (const s of samples) {
    if (s.labels.model === undefined || s.labels.version === undefined) continue;
    if (s.name === "swapwire_requests_total") {
      at(key(s)).req += s.value;
      if (s.labels.code !== "OK") at(key(s)).err += s.value;
    } else if (s.name === "swapwire_request_duration_seconds_bucket") {
      at(key(s)).buckets[s.labels.le] = s.value;
    } else if (s.name === "swapwire_batch_size_sum") at(key(s)).bsum = s.value;
    else if (s.name === "swapwire_batch_size_count") at(key(s)).bcount = s.value;
  }
  return g;
}

async function scrape() {
  try {
    const r = await fetch("/metrics");
    if (!r.ok) return;
    const now = Date.now() / 1000, cur = summarize(parseMetrics(await r.text()));
    if (lastScrape) {
      const dt = now - lastScrape.t;
      for (const [k, c] of Object.entries(cur)) {
        // A series that just appeared started from zero.
        const p = lastScrape.g[k] || { req: 0, err: 0, buckets: {}, bsum: 0, bcount: 0 };
        const push = (metric, v) => {
          const s = (series[k + "|" + metric] = series[k + "|" + metric] || []);
          s.push([now, v]);
          while (s.length && s[0][0] < now - 300) s.shift();
        };
        push("rps", Math.max(0, (c.req - p.req) / dt));
        push("errors", Math.max(0, (c.err - p.err) / dt));
        const bk = Object.entries(c.buckets).map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), n - (p.buckets[le] || 0)]).sort((a, b) => a[0] - b[0]);
        const p50 = quantile(0.5, bk), p99 = quantile(0.99, bk);
        if (p50 !== null) { push("p50", p50 * 1000); push("p99", p99 * 1000); }
        if (c.bcount > p.bcount) push("batch", (c.bsum - p.bsum) / (c.bcount - p.bcount));
      }
    }
    lastScrape = { t: now, g: cur };
    drawCharts();
  } catch (e) {
    /* the next scrape tries again */
  }
}

function drawCharts() {
  const box = $("#charts");
  const models = [...new Set(Object.keys(series).map((k) => k.split("|")[0]))].sort();
  for (const model of models) {
    let sec = box.querySelector('[data-model="' + CSS.escape(model) + '"]');
    if (!sec) {
      sec = el("div", { class: "card", "data-model": model }, el("h3", { text: model }), el("div", { class: "charts" },
        [["rps", "requests / s"], ["p50", "p50 latency (ms)"], ["p99", "p99 latency (ms)"], ["errors", "errors / s"], ["batch", "mean batch size"]].map(([m, title]) =>
          el("div", { class: "chart", "data-metric": m }, el("div", { class: "note", text: title }), el("canvas"), el("div", { class: "legend" })))));
      box.append(sec);
    }
    for (const chart of sec.querySelectorAll(".chart")) {
      const metric = chart.dataset.metric;
      const lines = Object.entries(series).filter(([k]) => k.startsWith(model + "|") && k.endsWith("|" + metric)).map(([k, pts]) => ({ name: "v" + k.split("|")[1], pts, color: palette[Number(k.split("|")[1]) % palette.length] }));
      drawChart($("canvas", chart), lines);
      $(".legend", chart).replaceChildren(...lines.map((l) => el("span", { style: "color:" + l.color, text: "■ " + l.name + " " + (l.pts.length ? fmt(l.pts[l.pts.length - 1][1]) : "") })));
    }
  }
}

function fmt(v) {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3);
}

function drawChart(canvas, lines) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, w, h);
  const now = Date.now() / 1000, t0 = now - 300;
  let max = 0;
  for (const l of lines) for (const [, v] of l.pts) max = Math.max(max, v);
  max = max > 0 ? max * 1.1 : 1;
  ctx.strokeStyle = "#d9e2ec";
  ctx.fillStyle = "#616e7c";
  ctx.font = "10px sans-serif";
  for (let i = 0; i <= 2; i++) {
    const y = h - 12 - ((h - 20) * i) / 2;
    ctx.beginPath(); ctx.moveTo(30, y); ctx.lineTo(w, y); ctx.stroke();
    ctx.fillText(fmt((max * i) / 2), 0, y + 3);
  }
  ctx.fillText("-5 min", 30, h - 1);
  ctx.fillText("now", w - 20, h - 1);
  for (const l of lines) {
    ctx.strokeStyle = l.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    l.pts.forEach(([t, v], i) => {
      const x = 30 + ((w - 30) * (t - t0)) / 300, y = h - 12 - ((h - 20) * v) / max;
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

// ---- evaluation ----

function loadSets() {
  try { return JSON.parse(localStorage.getItem("swapwire.evalsets") || "[]"); } catch (e) { return []; }
}

// Evaluation sets (examples, never tokens) are kept in this origin's
// localStorage so that a later visit can pick them again.
function saveSet(name, text) {
  state.evalSets = state.evalSets.filter((s) => s.name !== name);
  state.evalSets.unshift({ name, text });
  state.evalSets = state.evalSets.slice(0, 5);
  try { localStorage.setItem("swapwire.evalsets", JSON.stringify(state.evalSets)); } catch (e) { state.evalSets = state.evalSets.slice(0, 1); }
}

function fillEvalSelects() {
  const ms = $("#eval-model"), cur = ms.value;
  const names = state.models.map((m) => m.name);
  if ([...ms.options].map((o) => o.value).join() !== names.join()) ms.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
  if (names.includes(cur)) ms.value = cur;
  const m = state.models.find((x) => x.name === ms.value);
  const vs = m ? m.versions.filter((v) => v.state === "serving" || v.state === "standby").map((v) => v.version) : [];
  for (const [id, none] of [["#eval-a", "serving version"], ["#eval-b", "— none —"]]) {
    const s = $(id), keep = s.value;
    const want = ["", ...vs.map(String)];
    if ([...s.options].map((o) => o.value).join() !== want.join()) {
      s.replaceChildren(el("option", { value: "", text: none }), ...vs.map((v) => el("option", { value: v, text: "v" + v })));
      if (want.includes(keep)) s.value = keep;
    }
  }
  const sets = $("#eval-set");
  const want = state.evalSets.map((s) => s.name);
  if ([...sets.options].slice(1).map((o) => o.value).join() !== want.join()) {
    sets.replaceChildren(el("option", { value: "", text: "—" }), ...want.map((n) => el("option", { value: n, text: n })));
  }
}
$("#eval-model").addEventListener("change", fillEvalSelects);

function toValue(o) {
  if (typeof o.text === "string") return { text: o.text };
  if (typeof o.bytes === "string") return { data: o.bytes };
  if (Array.isArray(o.ints)) return { ints: { values: o.ints } };
  if (Array.isArray(o.floats)) return { floats: { values: o.floats } };
  if (Array.isArray(o.strings)) return { strings: { values: o.strings } };
  throw new Error("no text, bytes, ints, floats or strings");
}

function toLabel(l) {
  if (typeof l === "string") return { text: l };
  if (typeof l === "number") return Number.isInteger(l) ? { ints: { values: [l] } } : { floats: { values: [l] } };
  if (l && typeof l === "object") return toValue(l);
  throw new Error("no label");
}

function examplesOf(text) {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.map((line, i) => {
    try {
      const o = JSON.parse(line);
      const ex = { input: toValue(o), label: toLabel(o.label) };
      if (o.option) ex.option = o.option;
      return { line, ex };
    } catch (e) {
      throw new Error("line " + (i + 1) + ": " + e.message);
    }
  });
}

async function evaluate() {
  const model = $("#eval-model").value;
  const a = Number($("#eval-a").value || 0), b = $("#eval-b").value ? Number($("#eval-b").value) : null;
  const out = $("#eval-results");
  await act("Evaluation", async () => {
    let text, name;
    const f = $("#eval-file").files[0];
    if (f) {
      text = await f.text();
      name = f.name;
      saveSet(name, text);
      fillEvalSelects();
    } else {
      const s = state.evalSets.find((x) => x.name === $("#eval-set").value);
      if (!s) throw new Error("choose a JSONL file or a previous set");
      ({ text, name } = s);
    }
    const exs = examplesOf(text);
    say("Evaluating " + model + " on " + exs.length + " examples of " + name + " …");
    const runs = [];
    for (const version of b === null ? [a] : [a, b]) {
      const msgs = [{ header: { model, version, details: true } }, ...exs.map((e) => ({ example: e.ex }))];
      runs.push(await stream("EvaluateModel", msgs));
    }
    out.replaceChildren(el("div", { class: "compare" }, runs.map((r) => report(r, exs))));
    say("Evaluated " + model + " on " + exs.length + " examples of " + name + ".");
  });
}
$("#eval-go").addEventListener("click", evaluate);

function report(r, exs) {
  const n = (x) => Number(x || 0);
  const labels = (r.confusion && r.confusion.labels) || [];
  const rows = ((r.confusion && r.confusion.rows) || []).map((row) => (row.counts || []).map(n));
  const max = Math.max(1, ...rows.flat());
  const heat = el("table", { class: "confusion" },
    el("thead", {}, el("tr", {}, el("th", { text: "expected ↓ / predicted →" }), labels.map((l) => el("th", { text: l })))),
    el("tbody", {}, rows.map((row, i) => el("tr", {}, el("th", { text: labels[i] }),
      labels.map((_, j) => {
        const c = row[j] || 0;
        return el("td", { class: i === j ? "diag" : "", style: "background: rgba(37,99,235," + (c / max).toFixed(3) + "); color: " + (c / max > 0.55 ? "#fff" : "inherit"), title: labels[i] + " → " + labels[j] + ": " + c, text: c });
      })))));
  const wrong = (r.details || []).filter((d) => !d.correct);
  const miss = el("tbody");
  let shown = 0;
  const more = el("button", { class: "secondary", type: "button", text: "Show more" });
  const showMore = () => {
    for (const d of wrong.slice(shown, shown + 20)) {
      const i = n(d.index), src = exs[i] ? exs[i].line : "";
      miss.append(el("tr", {}, el("td", { text: i + 1 }), el("td", { text: d.expected || "" }), el("td", { text: d.error ? "error: " + d.error : d.predicted || "" }), el("td", { class: "note", text: src.length > 120 ? src.slice(0, 120) + "…" : src })));
    }
    shown += 20;
    more.hidden = shown >= wrong.length;
  };
  more.addEventListener("click", showMore);
  showMore();
  return el("div", { class: "card eval-report", "data-version": r.version },
    el("h3", { text: r.model + " v" + r.version }),
    el("div", { class: "big accuracy", text: (100 * (r.accuracy || 0)).toFixed(1) + "%" }),
    el("p", { class: "note", text: n(r.examples) + " examples, " + n(r.errors) + " errors, " + wrong.length + " misclassified" }),
    el("div", { class: "scroll" }, el("table", { class: "per-label" },
      el("thead", {}, el("tr", {}, ["Label", "Precision", "Recall", "F1", "Support"].map((h) => el("th", { text: h })))),
      el("tbody", {}, (r.labels || []).map((l) => el("tr", {}, el("td", { text: l.label }), el("td", { text: (l.precision || 0).toFixed(3) }), el("td", { text: (l.recall || 0).toFixed(3) }), el("td", { text: (l.f1 || 0).toFixed(3) }), el("td", { text: n(l.support) })))))),
    el("h3", { text: "Confusion matrix" }),
    el("div", { class: "scroll" }, heat),
    el("h3", { text: "Misclassified" }),
    el("div", { class: "scroll" }, el("table", { class: "misclassified" },
      el("thead", {}, el("tr", {}, ["Line", "Expected", "Predicted", "Input"].map((h) => el("th", { text: h })))), miss)),
    more);
}

// ---- start ----

startSession();
setInterval(refresh, 2000);
scrape();
setInterval(scrape, 2000);
