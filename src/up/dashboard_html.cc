// The dashboard page served at / by `nines up` (see dashboard_html.h).
#include "up/dashboard_html.h"

namespace nines::up {

const char* const kDashboardHtml = R"NINES(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nines up</title>
<style>
:root { --bg:#f5f6f8; --card:#fff; --ink:#1d2330; --muted:#6b7280; --line:#e3e6eb;
  --ok:#16a34a; --warn:#d97706; --bad:#dc2626; --info:#2563eb; --frozen:#0891b2; --off:#9ca3af; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:24px; padding:14px 24px; background:#111827; color:#f9fafb; flex-wrap:wrap; }
header h1 { margin:0; font-size:18px; letter-spacing:.5px; }
header h1 span { color:#9ca3af; font-weight:400; }
.kv { display:flex; flex-direction:column; }
.kv b { font-size:11px; text-transform:uppercase; color:#9ca3af; font-weight:600; letter-spacing:.6px; }
.kv span { font-size:15px; font-variant-numeric:tabular-nums; }
#conn.bad { color:#fca5a5; }
main { padding:18px 24px; display:grid; gap:18px; }
.row { display:grid; gap:18px; }
.regions { grid-template-columns:repeat(auto-fit,minmax(300px,1fr)); }
.panel { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.panel h2 { margin:0 0 10px; font-size:13px; text-transform:uppercase; letter-spacing:.7px; color:var(--muted); display:flex; align-items:center; gap:8px; }
.region-head { display:flex; align-items:center; justify-content:space-between; margin-bottom:10px; }
.region-head h2 { margin:0; font-size:17px; color:var(--ink); text-transform:none; letter-spacing:0; }
.region-head small { color:var(--muted); display:block; }
.node { display:grid; grid-template-columns:12px minmax(0,1fr) auto; gap:2px 10px; align-items:center; padding:8px 0; border-top:1px solid var(--line); }
.node:first-of-type { border-top:none; }
.dot { width:12px; height:12px; border-radius:50%; background:var(--off); }
.s-running .dot { background:var(--ok); } .s-starting .dot { background:var(--warn); }
.s-crashed .dot { background:var(--bad); } .s-stopped .dot { background:var(--off); }
.s-frozen .dot { background:var(--frozen); } .s-isolated .dot { background:#7c3aed; } .s-slow .dot { background:#a16207; }
.name { font-weight:600; }
.meta { grid-column:2; color:var(--muted); font-size:12px; font-variant-numeric:tabular-nums; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.badge { display:inline-block; font-size:11px; padding:1px 7px; border-radius:9px; background:#eef2ff; color:#3730a3; margin-left:6px; font-weight:600; }
.badge.leader { background:#fef3c7; color:#92400e; }
.badge.state { background:#f3f4f6; color:#374151; font-weight:500; }
.actions { grid-row:1 / span 2; grid-column:3; display:flex; gap:4px; }
button { font:inherit; font-size:12px; border:1px solid var(--line); background:#fff; color:var(--ink); border-radius:6px; padding:3px 8px; cursor:pointer; }
button:hover { border-color:#9ca3af; }
button.danger { color:var(--bad); border-color:#fecaca; } button.danger:hover { background:#fef2f2; }
button.primary { background:var(--info); color:#fff; border-color:var(--info); }
header button { background:#1f2937; color:#f9fafb; border-color:#374151; }
header select, header input { font:inherit; font-size:12px; background:#1f2937; color:#f9fafb; border:1px solid #374151; border-radius:6px; padding:4px 6px; }
header input { width:70px; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th { text-align:right; font-size:11px; text-transform:uppercase; color:var(--muted); font-weight:600; padding:4px 8px; border-bottom:1px solid var(--line); }
td { text-align:right; padding:6px 8px; border-bottom:1px solid var(--line); }
th:first-child, td:first-child { text-align:left; }
.avail-good { color:var(--ok); font-weight:600; } .avail-bad { color:var(--bad); font-weight:600; }
.lagbar { display:inline-block; height:6px; background:var(--warn); border-radius:3px; vertical-align:middle; margin-left:6px; }
.two { grid-template-columns:1fr 1fr; }
@media (max-width:900px) { .two { grid-template-columns:1fr; } }
#events { font:12px/1.5 ui-monospace,Menlo,Consolas,monospace; color:#374151; max-height:160px; overflow:auto; white-space:pre-wrap; margin:0; }
#toast { position:fixed; right:18px; bottom:18px; background:#111827; color:#fff; padding:10px 14px; border-radius:8px; opacity:0; transition:opacity .3s; max-width:420px; }
#toast.show { opacity:.95; }
.region-down { opacity:.75; }
#capacity { font-variant-numeric:tabular-nums; }
.headbar { height:8px; background:var(--line); border-radius:4px; margin:8px 0; position:relative; overflow:hidden; }
.headbar i { position:absolute; top:0; bottom:0; left:0; background:var(--ok); }
.headbar i.over { background:var(--bad); }
.headbar b { position:absolute; top:0; bottom:0; width:2px; background:var(--ink); }
#capacity-warning { margin-top:8px; padding:10px 12px; border-radius:8px; background:#fef2f2; color:#991b1b; border:1px solid #fecaca; font-weight:600; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--muted); }
.legend i { display:inline-block; width:10px; height:10px; border-radius:50%; margin-right:4px; vertical-align:-1px; }
</style>
</head>
<body>
<header>
  <h1>nines <span>up</span></h1>
  <div class="kv"><b>store leader</b><span id="leader">-</span></div>
  <div class="kv"><b>term</b><span id="term">-</span></div>
  <div class="kv"><b>processes running</b><span id="running">-</span></div>
  <div class="kv"><b>requests/s</b><span id="rps">-</span></div>
  <div class="kv"><b>availability</b><span id="avail">-</span></div>
  <div class="kv"><b>uptime</b><span id="uptime">-</span></div>
  <div style="flex:1"></div>
  <div>
    <select id="spike-region" aria-label="spike region"></select>
    <input id="spike-rate" type="number" value="1000" min="1" max="5000" aria-label="rate"> /s
    <button id="spike" data-testid="spike">Traffic spike</button>
  </div>
  <div class="kv"><b>dashboard</b><span id="conn">connecting</span></div>
</header>
<main>
  <div class="panel" id="dns-panel"><h2>Global traffic manager (DNS)
    <span class="legend"><span><i style="background:var(--ok)"></i>running</span><span><i style="background:var(--warn)"></i>starting</span><span><i style="background:var(--bad)"></i>crashed</span><span><i style="background:var(--off)"></i>stopped</span><span><i style="background:var(--frozen)"></i>frozen</span><span><i style="background:#7c3aed"></i>isolated</span><span><i style="background:#a16207"></i>slow</span></span></h2>
    <div id="dns" class="row regions"></div></div>
  <div class="panel" id="capacity-panel"><h2>Capacity and N+1</h2>
    <div id="capacity">not measured: run <code>nines drill --capacity</code></div>
    <div id="capacity-warning" role="alert" hidden></div></div>
  <div class="row regions" id="regions"></div>
  <div class="row two">
    <div class="panel"><h2>Load balancers</h2>
      <table id="lbs"><thead><tr><th>lb</th><th>req/s</th><th>requests</th><th>errors</th><th>429</th><th>availability</th></tr></thead><tbody></tbody></table></div>
    <div class="panel"><h2>Store (Raft)</h2>
      <table id="store"><thead><tr><th>member</th><th>role</th><th>term</th><th>commit</th><th>applied</th><th>lag</th></tr></thead><tbody></tbody></table></div>
  </div>
  <div class="panel"><h2>Events <span id="spike-status" style="text-transform:none;letter-spacing:0"></span></h2><pre id="events"></pre></div>
</main>
<div id="toast"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
let last = null;
function toast(text) { const t = $("toast"); t.textContent = text; t.classList.add("show"); clearTimeout(toast.h); toast.h = setTimeout(() => t.classList.remove("show"), 2500); }
// The admin token (printed by `nines up`, in RUN/conf/admin.token): asked for
// once, or taken from the URL's #token=..., and kept in this tab's sessionStorage.
const TOKEN_KEY = "nines-admin-token";
(function takeTokenFromUrl() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) { sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname); }
})();
function adminToken(again) {
  let t = again ? "" : sessionStorage.getItem(TOKEN_KEY);
  if (!t) {
    t = (prompt(again ? "Wrong admin token. Admin token (printed by nines up; RUN/conf/admin.token):" : "Admin token (printed by nines up; RUN/conf/admin.token):") || "").trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  }
  return t;
}
async function post(url, body) {
  try {
    let r;
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = adminToken(attempt > 0);
      if (!token) { toast("no admin token: nothing done"); return; }
      r = await fetch(url, {method:"POST", headers:{"Content-Type":"application/json", "Authorization":"Bearer " + token}, body: body ? JSON.stringify(body) : ""});
      if (r.status !== 401) break;
    }
    const j = await r.json().catch(() => ({}));
    toast(r.ok ? (url.replace("/api/", "") + ": ok") : ("error: " + (j.error || r.status)));
    refresh();
  } catch (e) { toast("error: " + e); }
}
function fmtNum(n) { return n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n)); }
function fmtAvail(a, req) { if (!req) return "-"; const p = a * 100; return (p >= 99.995 ? "100" : p.toFixed(p >= 99.9 ? 3 : 2)) + "%"; }
function nodeHtml(n, leader) {
  const isLeader = n.kind === "store" && n.name === leader;
  const alive = n.pid > 0;
  return `<div class="node s-${esc(n.state)}" data-node="${esc(n.name)}" data-state="${esc(n.state)}">
    <span class="dot" title="${esc(n.state)}"></span>
    <span><span class="name">${esc(n.name)}</span><span class="badge">${esc(n.kind)}</span>${isLeader ? '<span class="badge leader" data-testid="leader-badge">leader</span>' : ""}<span class="badge state">${esc(n.state)}</span></span>
    <span class="actions">
      ${alive ? `<button class="danger" data-action="kill" data-node="${esc(n.name)}">kill</button>` : ""}
      ${n.state === "frozen" ? `<button data-action="thaw" data-node="${esc(n.name)}">thaw</button>` : (alive ? `<button data-action="freeze" data-node="${esc(n.name)}">freeze</button>` : "")}
      <button data-action="restart" data-node="${esc(n.name)}">${alive ? "restart" : "start"}</button>
    </span>
    <span class="meta">${esc(n.address)} · pid ${alive ? n.pid : "-"}${n.restarts ? ` · ${n.restarts} restart${n.restarts > 1 ? "s" : ""}` : ""}</span>
  </div>`;
}
function render(s) {
  last = s;
  const leader = s.store.leader;
  $("leader").textContent = leader || "none";
  $("term").textContent = s.store.term;
  const running = s.nodes.filter((n) => n.state === "running").length;
  $("running").textContent = running + " / " + s.nodes.length;
  let rps = 0, req = 0, err = 0, lim = 0;
  for (const l of s.lbs) { rps += l.rps; req += l.requests; err += l.errors; lim += l.rate_limited; }
  $("rps").textContent = rps.toFixed(0);
  $("avail").textContent = fmtAvail(req - lim > 0 ? 1 - err / (req - lim) : 1, req);
  const up = Math.floor((Date.now() - s.started_ms) / 1000);
  $("uptime").textContent = Math.floor(up / 60) + "m " + (up % 60) + "s";
  $("dns").innerHTML = s.nodes.filter((n) => n.kind === "dns").map((n) => `<div>${nodeHtml(n, leader)}</div>`).join("");
  $("regions").innerHTML = s.regions.map((r) => {
    const nodes = s.nodes.filter((n) => n.region === r.name);
    return `<section class="panel ${r.up ? "" : "region-down"}" data-region="${esc(r.name)}">
      <div class="region-head"><div><h2>${esc(r.name)}</h2><small>${esc(r.prefix)}.x · ${r.location[0]}, ${r.location[1]}</small></div>
      <div>${r.up ? `<button class="danger" data-region-action="stop" data-region="${esc(r.name)}">stop region</button>` : `<button class="primary" data-region-action="start" data-region="${esc(r.name)}">start region</button>`}</div></div>
      ${nodes.map((n) => nodeHtml(n, leader)).join("")}</section>`;
  }).join("");
  $("lbs").tBodies[0].innerHTML = s.lbs.map((l) => `<tr data-lb="${esc(l.name)}"><td>${esc(l.name)}</td><td>${l.rps.toFixed(1)}</td><td>${fmtNum(l.requests)}</td><td>${fmtNum(l.errors)}</td><td>${fmtNum(l.rate_limited)}</td>
    <td class="${l.availability >= 0.999 ? "avail-good" : "avail-bad"}">${fmtAvail(l.availability, l.requests)}</td></tr>`).join("");
  $("store").tBodies[0].innerHTML = s.store.members.map((m) => `<tr data-member="${esc(m.name)}"><td>${esc(m.name)}${m.name === leader ? '<span class="badge leader">leader</span>' : ""}</td><td>${esc(m.role)}</td><td>${m.term}</td><td>${m.commit}</td><td>${m.applied}</td>
    <td>${m.lag < 0 ? "-" : m.lag}${m.lag > 0 ? `<span class="lagbar" style="width:${Math.min(60, 4 + Math.log2(1 + m.lag) * 6)}px"></span>` : ""}</td></tr>`).join("");
  const sel = $("spike-region");
  if (sel.options.length !== s.regions.length) sel.innerHTML = s.regions.map((r) => `<option>${esc(r.name)}</option>`).join("");
  const sp = s.spike;
  $("spike-status").textContent = sp && sp.sent ? `spike ${sp.region}: ${sp.running ? "running" : "done"}, sent ${sp.sent}, ok ${sp.ok}, 429 ${sp.rate_limited}, failed ${sp.failed}` : "";
  $("events").textContent = (s.events || []).slice().reverse().join("\n");
  renderCapacity(s.capacity);
}
// The load now (the lbs' requests/s) against the capacity `nines drill
// --capacity` measured; the warning when the survivors of the worst region's
// loss could not carry it.
function renderCapacity(c) {
  const warn = $("capacity-warning");
  if (!c || !c.measured) { warn.hidden = true; return; }
  const max = Math.max(c.whole_per_s, c.current_rps, 1);
  const regions = c.regions.map((r) => `${esc(r.name)} ${r.per_s.toFixed(0)}`).join(" · ");
  $("capacity").innerHTML = `current load <b id="current-load">${c.current_rps.toFixed(0)}</b> requests/s
    of <b id="capacity-whole">${c.whole_per_s.toFixed(0)}</b> requests/s measured at p99 &le; ${c.latency_objective_ms} ms${c.capped ? " (a lower bound)" : ""}
    · per region: ${regions}
    · without <b>${esc(c.worst_region)}</b> (the worst loss) the rest carry <b id="capacity-survivors">${c.survivors_per_s.toFixed(0)}</b> requests/s
    <div class="headbar" title="current load; the mark is the survivors' capacity"><i class="${c.overload_if_lost ? "over" : ""}" style="width:${(100 * Math.min(c.current_rps, max) / max).toFixed(1)}%"></i><b style="left:${(100 * c.survivors_per_s / max).toFixed(1)}%"></b></div>
    <small>measured ${new Date(c.measured_wall_ms).toLocaleString()}</small>`;
  warn.hidden = !c.overload_if_lost;
  warn.textContent = c.overload_if_lost
    ? `N+1 warning: losing ${c.worst_region} would overload the rest: the current load of ${c.current_rps.toFixed(0)} requests/s is above the ${c.survivors_per_s.toFixed(0)} requests/s the other regions carry.`
    : "";
}
async function refresh() {
  try {
    const r = await fetch("/api/state", {cache:"no-store"});
    render(await r.json());
    $("conn").textContent = "live"; $("conn").className = "";
  } catch (e) { $("conn").textContent = "no connection"; $("conn").className = "bad"; }
}
document.addEventListener("click", (e) => {
  const b = e.target.closest("button");
  if (!b) return;
  if (b.dataset.action) post(`/api/nodes/${encodeURIComponent(b.dataset.node)}/${b.dataset.action}`);
  else if (b.dataset.regionAction) post(`/api/regions/${encodeURIComponent(b.dataset.region)}/${b.dataset.regionAction}`);
  else if (b.id === "spike") post("/api/spike", {region: $("spike-region").value, rate: Number($("spike-rate").value) || 1000, seconds: 10});
});
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
)NINES";

}  // namespace nines::up
