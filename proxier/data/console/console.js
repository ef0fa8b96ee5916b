// proxier lab console: plain DOM over the local API (docs/api.md). No framework, no build.
// Everything shown comes from devices on the network: it is set as text, never as HTML.
"use strict";

const token = (() => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("proxier-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);  // keep the token out of the address bar
  }
  return sessionStorage.getItem("proxier-token") || "";
})();

let selected = null;
let selectedUdns = [];  // to follow a device whose id changes (a pending one, once approved)
let missing = 0;
let lastSeq = 0;
let labAcs = false;
let available = [];
let shownDevices = "";
let shownDetail = "";

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  let data = null;
  try { data = await resp.json(); } catch (e) { data = {error: resp.statusText}; }
  if (resp.status === 401) problem("Not authorized: open the console with the URL the proxier printed (…/console/#token=…).");
  return {status: resp.status, data};
}

function problem(text) {
  const p = $("problem");
  p.textContent = text || "";
  p.hidden = !text;
}

function when(t) { return t ? new Date(t * 1000).toLocaleTimeString() : "-"; }

function sessionText(s) {
  if (!s) return "none yet";
  return when(s.time) + " " + (s.ok ? "ok" : "failed: " + s.reason);
}

function stateWord(d) {
  if (d.privacy === "pending") return "pending";  // held back: nothing sent to the ACS
  if (d.held === "limit") return "kept out";  // an admission limit: the reason names the key
  return d.online ? "online" : "offline";
}

function renderDevices(devices) {
  const key = JSON.stringify([selected, devices]);
  if (key === shownDevices) return;  // unchanged: keep the rows (and what the user points at)
  shownDevices = key;
  const body = $("devices").tBodies[0];
  body.replaceChildren();
  $("no-devices").hidden = devices.length > 0;
  for (const d of devices) {
    const row = el("tr");
    row.dataset.id = d.id;
    if (d.id === selected) row.className = "selected";
    row.append(el("td", String(d.instance)), el("td", d.id));
    const word = stateWord(d);
    const state = el("td", word, word);
    if (d.reason) state.title = d.reason;
    row.append(state, el("td", d.security), el("td", sessionText(d.last_session)),
               el("td", d.pending_events.join(", ") || "none"));
    row.addEventListener("click", () => { selected = d.id; selectedUdns = d.udns; refresh(); });
    body.append(row);
  }
}

function fillTable(table, values) {
  const body = table.tBodies[0];
  body.replaceChildren();
  const names = Object.keys(values).sort();
  if (!names.length) {
    const row = el("tr");
    row.append(el("td", "none read yet"));
    body.append(row);
  }
  for (const name of names) {
    const row = el("tr");
    row.append(el("td", name), el("td", values[name]));
    body.append(row);
  }
}

function renderDetail(d) {
  const key = JSON.stringify([labAcs, d]);
  if (key === shownDetail) return;
  shownDetail = key;
  $("detail").hidden = false;
  $("detail-title").textContent = d.id;
  const dl = $("identity");
  dl.replaceChildren();
  const facts = [
    ["Instance", d.instance], ["Manufacturer", d.manufacturer], ["OUI", d.oui],
    ["Product class", d.product_class], ["Serial number", d.serial_number],
    ["State", stateWord(d) + (d.reason ? " (" + d.reason + ")" : "")],
    ["Security", d.security], ["Location", d.location], ["UDNs", d.udns.join(" ")],
    ["Last session", sessionText(d.last_session)],
    ["Next periodic inform", when(d.next_periodic_inform)],
    ["Connection Request URL", d.connection_request_url],
  ];
  const intro = (d.security_detail || {}).introduction;  // WPS (issue 9)
  if (intro) facts.push(["WPS introduction", intro]);
  const refused = (d.security_detail || {}).error;  // a changed certificate (DP, TR-064)
  if (refused) facts.push(["Security error", refused]);
  for (const [k, v] of facts) dl.append(el("dt", k), el("dd", String(v)));
  $("pending").textContent = d.pending_events.join(", ") || "none";
  fillTable($("parameters"), d.parameters);
  const lastRead = {};
  for (const [name, v] of Object.entries(d.parameters_last_read)) {
    lastRead[name] = v.value + " (" + v.type + ", " + when(v.time) + ")";
  }
  fillTable($("last-read"), lastRead);
  fillTable($("values"), d.values_last_read);
  available = d.actions || [];
  for (const b of document.querySelectorAll("button[data-action]")) {
    const ok = available.includes(b.dataset.action);
    b.classList.toggle("unavailable", !ok);
    b.title = ok ? "" : "not provided by this proxier";
  }
  $("lab-acs").hidden = !labAcs;
}

function timelineText(a) {
  const t = when(a.time) + " " + a.device + " ";
  switch (a.kind) {
    case "session":
      return t + "session " + (a.ok ? "ok" : "failed: " + a.reason) +
        " (events " + (a.events.join(", ") || "none") + "; " + a.rpcs + " RPCs)";
    case "event": return t + "event " + a.code + (a.command_key ? " [" + a.command_key + "]" : "");
    case "online": case "offline": return t + a.kind + (a.reason ? " (" + a.reason + ")" : "");
    case "device_added": return t + "added (instance " + a.instance + ")";
    case "device_removed": return t + "removed";
    default: return t + a.kind;
  }
}

async function pollTimeline() {
  const {status, data} = await api("GET", "/api/events?since=" + lastSeq);
  if (status !== 200) return;
  const list = $("timeline");
  for (const a of data) {
    lastSeq = Math.max(lastSeq, a.seq);
    const item = el("li", timelineText(a), "kind-" + a.kind);
    list.prepend(item);
  }
  while (list.children.length > 300) list.lastChild.remove();
}

// Is the selected device listed? An approved pending device comes back under its DeviceId
// (same UDN): the selection follows it. Gone for a few refreshes (denied, forgotten): closed.
function follow(devices) {
  if (!selected || devices.some(d => d.id === selected)) return true;
  const same = devices.find(d => d.udns.some(u => selectedUdns.includes(u)));
  if (same) selected = same.id;
  return Boolean(same);
}

async function refresh() {
  try {
    const {status, data} = await api("GET", "/api/devices");
    if (status !== 200) return;
    problem("");
    const present = follow(data);
    renderDevices(data);
    if (selected && !present && ++missing > 5) { selected = null; $("detail").hidden = true; }
    if (selected && present) {
      missing = 0;
      const r = await api("GET", "/api/devices/" + encodeURIComponent(selected));
      if (r.status === 200) { renderDetail(r.data); selectedUdns = r.data.udns; }
      else { selected = null; $("detail").hidden = true; }
    }
    await pollTimeline();
  } catch (e) {
    problem("The proxier does not answer (" + e.message + "). Is it still running?");
  }
}

async function action(name) {
  if (!selected) return;
  const out = $("action-result");
  out.textContent = name + "…";
  const path = "/api/devices/" + encodeURIComponent(selected) + "/" + name;
  const {status, data} = await api("POST", path, {});
  out.textContent = status < 300 ? name + ": done" : name + ": " + (data.error || "HTTP " + status);
  refresh();
}

async function informNow() {
  if (!selected) return;
  const out = $("action-result");
  const {status, data} = await api("POST", "/api/devices/" + encodeURIComponent(selected) + "/inform", {});
  out.textContent = status < 300 ? "inform: session requested (" + data.event + ")" : "inform: " + (data.error || "HTTP " + status);
}

function rpcTask() {
  const name = $("rpc-name").value;
  const param = $("rpc-param").value.trim();
  if (name === "GetParameterValues") return {name, parameterNames: [param]};
  if (name === "SetParameterValues") {
    return {name, parameterList: [[param, $("rpc-value").value, $("rpc-type").value]],
            parameterKey: "console-" + Date.now()};
  }
  return {name, commandKey: "console-" + Date.now()};
}

async function queueRpc(ev) {
  ev.preventDefault();
  if (!selected) return;
  const dev = encodeURIComponent(selected);
  const st = $("rpc-status");
  const answer = $("rpc-answer");
  answer.textContent = "";
  st.textContent = "queueing…";
  const q = await api("POST", "/api/lab-acs/devices/" + dev + "/tasks", rpcTask());
  if (q.status >= 300) { st.textContent = "refused: " + (q.data.error || "HTTP " + q.status); return; }
  st.textContent = "task " + q.data.id + " queued, waiting for the device's session…";
  for (let i = 0; i < 10; i++) {
    const t = await api("GET", "/api/lab-acs/devices/" + dev + "/tasks/" + q.data.id + "?wait=10");
    if (t.status !== 200) { st.textContent = "error: " + (t.data.error || t.status); return; }
    if (t.data.status !== "pending" && t.data.status !== "sent") {
      st.textContent = "task " + q.data.id + " " + t.data.status;
      answer.textContent = JSON.stringify(t.data.result || t.data.fault || t.data, null, 2);
      return;
    }
  }
  st.textContent = "task " + q.data.id + " still waiting for the device";
}

async function health() {
  const h = await api("GET", "/api/health");
  if (h.status === 200) {
    labAcs = h.data.lab_acs;
    $("health").textContent = "proxier " + h.data.version + ", " + h.data.online + " of " + h.data.devices + " device(s) online";
  }
}

async function start() {
  await health();
  for (const b of document.querySelectorAll("button[data-action]")) {
    b.addEventListener("click", () => action(b.dataset.action));
  }
  $("inform-now").addEventListener("click", informNow);
  $("rpc-form").addEventListener("submit", queueRpc);
  await refresh();
  setInterval(() => health().then(refresh).catch(() => {}), 1000);
}

start();
