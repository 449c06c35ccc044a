// Browser test of the dashboard's capacity panel: starts `nines up`, posts
// capacity figures as `nines drill --capacity` does (small ones: 30
// requests/s whole; losing us-east leaves 18), sends traffic through the
// lbs until the current load is above that, and checks in headless Chromium
// that the N+1 warning names us-east; saves a screenshot; then stops the
// traffic and checks that the warning goes away.
// Env: NINES_BIN (the binary), NINES_TEST_OUT (output dir: run dir, logs, capacity-warning.png).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const BIN = process.env.NINES_BIN;
const OUT = process.env.NINES_TEST_OUT || path.join(__dirname, "out-capacity");
const DASHBOARD = "http://127.0.0.1:9900/";
const LBS = ["127.0.1.1", "127.0.2.1", "127.0.3.1"];
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
  const r = await fetch(DASHBOARD + "api/state");
  return r.json();
}

// About `perSecond` GET requests a second spread over the regions' lbs, until stopped.
function startTraffic(perSecond) {
  let running = true;
  let sent = 0;
  const loop = async () => {
    const start = Date.now();
    while (running) {
      const due = Math.floor(((Date.now() - start) / 1000) * perSecond);
      while (sent < due) {
        fetch(`http://${LBS[sent % LBS.length]}:8080/orders?limit=1`).catch(() => {});
        sent++;
      }
      await sleep(20);
    }
  };
  const done = loop();
  return async () => { running = false; await done; return sent; };
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
  let stopTraffic;
  try {
    await waitFor("every process running", async () => {
      const s = await state();
      s.nodes.forEach((n) => n.pid > 0 && pids.add(n.pid));
      return s.nodes.every((n) => n.state === "running") && s.store.leader;
    }, 60000);
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    await page.goto(DASHBOARD);
    await waitFor("the capacity panel saying 'not measured'", async () =>
      (await page.locator("#capacity").innerText()).includes("not measured"), 10000);
    if (await page.locator("#capacity-warning").isVisible()) throw new Error("a warning before any figures");

    // The figures, as the drill posts them (admin token, JSON).
    const token = fs.readFileSync(path.join(OUT, "run", "conf", "admin.token"), "utf8").trim();
    const figures = {
      whole_per_s: 30, latency_objective_ms: 250, max_failed_percent: 0.1,
      measured_wall_ms: Date.now(), capped: false,
      regions: [{ name: "us-east", per_s: 15 }, { name: "us-west", per_s: 10 }, { name: "eu-west", per_s: 8 }],
    };
    const posted = await fetch(DASHBOARD + "api/capacity", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(figures),
    });
    if (posted.status !== 200) throw new Error(`POST /api/capacity: ${posted.status} ${await posted.text()}`);
    await waitFor("the survivors' capacity (18) on the page", async () =>
      (await page.locator("#capacity-survivors").innerText()).trim() === "18", 10000);
    if (await page.locator("#capacity-warning").isVisible()) throw new Error("a warning with no load");

    // 60 requests/s through the lbs: above the 18 the survivors carry.
    stopTraffic = startTraffic(60);
    await page.locator("#capacity-warning").waitFor({ state: "visible", timeout: 20000 });
    const warning = (await page.locator("#capacity-warning").innerText()).trim();
    console.log(`warning: ${warning}`);
    if (!warning.includes("losing us-east would overload the rest")) throw new Error(`wrong warning: ${warning}`);
    if (!warning.includes("18 requests/s the other regions carry")) throw new Error(`no survivors' figure: ${warning}`);
    const load = Number((await page.locator("#current-load").innerText()).trim());
    if (!(load > 18)) throw new Error(`current load shown as ${load}, not above 18`);
    const shot = path.join(OUT, "capacity-warning.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot} (current load ${load} requests/s)`);

    // No traffic: the load falls below the survivors' capacity, the warning goes.
    console.log(`traffic stopped after ${await stopTraffic()} requests`);
    stopTraffic = null;
    await page.locator("#capacity-warning").waitFor({ state: "hidden", timeout: 20000 });
    console.log("warning gone with the load");
  } finally {
    if (stopTraffic) await stopTraffic();
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

main().then(() => { console.log("capacity dashboard test passed"); process.exit(0); },
  (e) => { console.error("capacity dashboard test FAILED:", e); process.exit(1); });
