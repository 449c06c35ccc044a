// Opens the drill's report.html in headless Chromium (playwright-core, Debian's
// chromium), checks the SVG timeline, its bars and latency lines and every
// fault marker, and saves a screenshot next to the report.
// usage: node report.test.js REPORT_DIR [SAMPLE_BIN]  (SAMPLE_BIN writes the report first)
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exitCode = 1;
}

(async () => {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node report.test.js REPORT_DIR [SAMPLE_BIN]');
    process.exit(2);
  }
  if (process.argv[3]) execFileSync(process.argv[3], [dir], { stdio: 'inherit' });
  const html = path.resolve(dir, 'report.html');
  const report = JSON.parse(fs.readFileSync(path.resolve(dir, 'report.json'), 'utf8'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const external = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('file:')) external.push(req.url());
    });
    await page.goto('file://' + html);
    const svg = await page.$('svg#timeline');
    if (!svg) fail('no svg#timeline');
    const box = svg ? await svg.boundingBox() : null;
    if (!box || box.width < 500 || box.height < 200) fail('timeline too small: ' + JSON.stringify(box));
    const bars = await page.$$eval('svg#timeline rect.ok', (r) => r.length);
    if (bars < report.seconds.length / 2) fail(`only ${bars} success bars for ${report.seconds.length} s`);
    for (const cls of ['p50', 'p99']) {
      const n = await page.$$eval(`svg#timeline polyline.${cls}`, (p) => p.length);
      if (n !== 1) fail(`no ${cls} latency line`);
    }
    const kinds = await page.$$eval('svg#timeline g.fault', (g) => g.map((e) => e.getAttribute('data-kind')));
    const expected = report.faults.map((f) => f.kind);
    if (JSON.stringify(kinds) !== JSON.stringify(expected)) {
      fail(`fault markers ${JSON.stringify(kinds)} != faults ${JSON.stringify(expected)}`);
    }
    for (const k of expected) {
      const w = await page.$eval(`svg#timeline g.fault[data-kind="${k}"] rect.fault-window`,
                                 (r) => r.getBoundingClientRect().width);
      if (!(w > 0)) fail(`fault ${k} window has no width`);
    }
    const rows = await page.$$eval('table#faults tbody tr', (r) => r.length);
    if (rows !== report.faults.length) fail(`table has ${rows} rows, want ${report.faults.length}`);
    const availability = await page.textContent('#availability');
    if (!availability || !availability.includes('%')) fail('no availability figure: ' + availability);
    if (external.length) fail('external requests: ' + external.join(', '));
    const shot = path.resolve(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (!fs.existsSync(shot) || fs.statSync(shot).size < 5000) fail('screenshot missing or empty');
    if (!process.exitCode) console.log(`ok: timeline, ${kinds.length} fault markers, table; screenshot ${shot}`);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
