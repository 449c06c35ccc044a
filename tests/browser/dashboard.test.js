// Browser test of the `nines up` dashboard: starts
// `nines up`, opens the dashboard in headless Chromium (playwright-core),
// checks that the three regions are shown, clicks "kill" on the store leader
// (giving the admin token when the page asks for it),
// waits for a different leader to appear, and saves a screenshot.
// Env: NINES_BIN (the binary), NINES_TEST_OUT (output dir: run dir, logs, dashboard.png).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const BIN = process.env.NINES_BIN;
const OUT = process.env.NINES_TEST_OUT || path.join(__dirname, "out");
const DASHBOARD = "http://127.0.0.1:9900/";
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
  try {
    // Every process running.
    await waitFor("every process running", async () => {
      const s = await state();
      s.nodes.forEach((n) => n.pid > 0 && pids.add(n.pid));
      return s.nodes.every((n) => n.state === "running") && s.store.leader;
    }, 60000);
    // Some traffic, so that the load balancer table has numbers in it.
    for (let i = 0; i < 30; i++) {
      const host = ["127.0.1.1", "127.0.2.1", "127.0.3.1"][i % 3];
      await fetch(`http://${host}:8080/orders`, { method: "POST", body: JSON.stringify({ item: "book", n: i }) })
        .catch(() => {});
    }

    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    // The dashboard asks for the admin token on the first change.
    const token = fs.readFileSync(path.join(OUT, "run", "conf", "admin.token"), "utf8").trim();
    page.on("dialog", (d) => d.accept(token));
    await page.goto(DASHBOARD);
    for (const region of ["us-east", "us-west", "eu-west"]) {
      await page.locator(`section[data-region="${region}"]`).waitFor({ timeout: 10000 });
      const text = await page.locator(`section[data-region="${region}"]`).innerText();
      if (!text.includes(region)) throw new Error(`region ${region} not shown: ${text}`);
      for (const node of [`${region}-lb-1`, `${region}-lb-2`, `${region}-app-1`, `${region}-store`]) {
        await page.locator(`section[data-region="${region}"] .node[data-node="${node}"]`).waitFor({ timeout: 5000 });
      }
    }
    const leader = await waitFor("a store leader on the page", async () => {
      const t = (await page.locator("#leader").innerText()).trim();
      return t && t !== "-" && t !== "none" ? t : null;
    }, 15000);
    console.log(`dashboard shows leader ${leader}; clicking kill`);
    await page.locator(`.node[data-node="${leader}"] button[data-action="kill"]`).click();
    await waitFor(`${leader} shown as stopped`, async () =>
      (await page.locator(`.node[data-node="${leader}"]`).getAttribute("data-state")) === "stopped", 10000);
    const next = await waitFor("a different leader on the page", async () => {
      const t = (await page.locator("#leader").innerText()).trim();
      return t && t !== "-" && t !== "none" && t !== leader ? t : null;
    }, 20000);
    console.log(`new leader ${next}`);
    // The store table has caught up with the new leader before the screenshot.
    await waitFor(`${next} listed as leader in the store table`, async () =>
      (await page.locator(`#store tr[data-member="${next}"] td:nth-child(2)`).innerText()).trim() === "leader", 10000);
    const shot = path.join(OUT, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  } finally {
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
    for (const pid of pids) {
      let alive = true;
      try { process.kill(pid, 0); } catch (e) { alive = false; }
      if (alive) throw new Error(`pid ${pid} still running after nines up exited`);
    }
  }
}

main().then(() => { console.log("dashboard test passed"); process.exit(0); },
  (e) => { console.error("dashboard test FAILED:", e); process.exit(1); });
