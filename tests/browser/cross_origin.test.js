// Browser test of the `nines up` admin guard: starts `nines up`, then in
// headless Chromium (playwright-core) a page on another origin tries to kill
// processes through the dashboard's API - an auto-submitted form post, a
// no-cors fetch, a CORS fetch with JSON and a guessed token - and a
// DNS-rebinding page (evil.test mapped to 127.0.0.1) posts "same-origin".
// Every target keeps running (same pid). Then the dashboard itself, given the
// token (asked once, kept in sessionStorage), kills one: the attacks failed
// because of the guard, not because kills cannot work.
// Env: NINES_BIN (the binary), NINES_TEST_OUT (output dir: run dir, logs).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const http = require("http");
const path = require("path");
const { chromium } = require("playwright-core");

const BIN = process.env.NINES_BIN;
const OUT = process.env.NINES_TEST_OUT || path.join(__dirname, "out-cross-origin");
const API = "http://127.0.0.1:9900";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

async function state() {
  const r = await fetch(API + "/api/state");
  return r.json();
}

async function node(name) {
  return (await state()).nodes.find((n) => n.name === name);
}

async function refusedCount() {
  const text = await (await fetch(API + "/metrics")).text();
  const m = text.match(/^nines_up_api_refused_total (\d+)/m);
  return m ? Number(m[1]) : 0;
}

// The attacker's site: one page that fires every attack at the API and
// records when each has finished (window.done).
function evilPage() {
  return `<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" target="sink" action="${API}/api/nodes/us-east-app-1/kill"
      enctype="application/x-www-form-urlencoded"><input name="x" value="1"></form>
<script>
window.done = {};
document.getElementById("f").submit();
window.done.form = "submitted";
fetch("${API}/api/nodes/us-west-app-1/kill", {method: "POST", mode: "no-cors", body: "{}"})
  .then(() => { window.done.noCors = "answered"; }, (e) => { window.done.noCors = "failed: " + e; });
fetch("${API}/api/nodes/eu-west-app-1/freeze", {method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer guess"}, body: "{}"})
  .then((r) => { window.done.cors = "status " + r.status; }, (e) => { window.done.cors = "failed: " + e; });
</script></body></html>`;
}

async function main() {
  if (!BIN) throw new Error("NINES_BIN is not set");
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const log = fs.openSync(path.join(OUT, "up.log"), "w");
  const up = spawn(BIN, ["up", "--fresh", "--dir", path.join(OUT, "run")], {
    stdio: ["ignore", log, log],
  });
  const pids = new Set();
  let browser;
  let evil;
  try {
    await waitFor("every process running", async () => {
      const s = await state();
      s.nodes.forEach((n) => n.pid > 0 && pids.add(n.pid));
      return s.nodes.every((n) => n.state === "running");
    }, 90000);
    const token = fs.readFileSync(path.join(OUT, "run", "conf", "admin.token"), "utf8").trim();
    const targets = ["us-east-app-1", "us-west-app-1", "eu-west-app-1", "us-east-app-2"];
    const before = {};
    for (const t of targets) before[t] = (await node(t)).pid;
    const refusedBefore = await refusedCount();

    evil = http.createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end(evilPage());
    });
    await new Promise((r) => evil.listen(0, "127.0.0.1", r));
    const evilUrl = `http://127.0.0.1:${evil.address().port}/`;

    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--host-resolver-rules=MAP evil.test 127.0.0.1"],
    });
    const context = await browser.newContext();
    // 1. Another origin's page.
    const page = await context.newPage();
    await page.goto(evilUrl);
    const done = await waitFor("every attack finished", async () => {
      const d = await page.evaluate(() => window.done);
      return d.form && d.noCors && d.cors ? d : null;
    }, 15000);
    console.log(`attacks from ${evilUrl}: ${JSON.stringify(done)}`);
    if (String(done.cors).startsWith("status 2")) throw new Error(`the CORS fetch got ${done.cors}`);
    // All three reached the API and were refused: the form post, the no-cors
    // fetch and the CORS preflight (the JSON post itself is never sent).
    await waitFor("the three attacks refused by the API",
      async () => (await refusedCount()) >= refusedBefore + 3, 10000);
    // 2. DNS rebinding: a page of evil.test:9900 whose name now points at the
    // dashboard posts to "its own" origin.
    const rebound = await context.newPage();
    const first = await rebound.goto("http://evil.test:9900/");
    if (first.status() !== 403) throw new Error(`rebound page got ${first.status()}, not 403`);
    const reboundStatus = await rebound.evaluate(async () => {
      const r = await fetch("/api/nodes/us-east-app-2/kill",
        {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
      return r.status;
    });
    console.log(`rebound same-origin POST: ${reboundStatus}`);
    if (reboundStatus !== 403) throw new Error(`rebound POST answered ${reboundStatus}, not 403`);
    // The refusals were counted, and nothing was killed or frozen.
    const refused = await refusedCount();
    if (refused < refusedBefore + 5) throw new Error(`only ${refused - refusedBefore} refusals counted, not 5`);
    for (const t of targets) {
      const n = await node(t);
      if (n.state !== "running" || n.pid !== before[t]) {
        throw new Error(`${t} was changed by an attack: ${JSON.stringify(n)}`);
      }
      process.kill(before[t], 0);  // throws when the process is gone
    }
    console.log(`every target still running with its pid: ${targets.join(", ")}`);

    // 3. The dashboard itself, with the token typed once, kills us-east-app-1.
    const dashboard = await context.newPage();
    const asked = [];
    dashboard.on("dialog", (d) => { asked.push(d.message()); d.accept(token); });
    await dashboard.goto(API + "/");
    await dashboard.locator('.node[data-node="us-east-app-1"] button[data-action="kill"]').click();
    await waitFor("us-east-app-1 stopped by the dashboard", async () =>
      (await node("us-east-app-1")).state === "stopped", 10000);
    await dashboard.locator('.node[data-node="us-east-app-1"] button[data-action="restart"]').click();
    await waitFor("us-east-app-1 running again", async () =>
      (await node("us-east-app-1")).state === "running", 20000);
    if (asked.length !== 1) throw new Error(`the token was asked for ${asked.length} times, not once`);
    const kept = await dashboard.evaluate(() => sessionStorage.getItem("nines-admin-token"));
    if (kept !== token) throw new Error("the token is not kept in sessionStorage");
    console.log("the dashboard with the token killed and restarted us-east-app-1");
  } finally {
    if (evil) evil.close();
    if (browser) await browser.close().catch(() => {});
    up.kill("SIGINT");
    const exited = await Promise.race([
      new Promise((r) => up.once("exit", (code) => r(code === null ? "signal" : code))),
      sleep(20000).then(() => "timeout"),
    ]);
    if (exited !== 0) {
      up.kill("SIGKILL");
      for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch (e) {} }
      throw new Error(`nines up did not exit cleanly on SIGINT: ${exited}`);
    }
  }
}

main().then(() => { console.log("cross-origin test passed"); process.exit(0); },
  (e) => { console.error("cross-origin test FAILED:", e); process.exit(1); });
