// The whole stack in headless Debian Chromium: PostgreSQL (fixture, logical replication) →
// rt-ingest → redis-server → rt-edge, which serves the dashboard itself (RT_EDGE_DASHBOARD_DIR),
// and rt-health, whose health-check the page calls cross-origin on load. Issue 7's browser test:
//   - a row inserted in the calls table shows on the board within a second, changes state, and
//     leaves when its end_time is set;
//   - the health indicator is filled by /api/calls/health-check on load (CORS) and by the
//     health channel;
//   - an import_progress event of the publish API shows in the Activity card;
//   - rt-edge killed: Reconnecting; rows inserted and ended meanwhile are all on the board after
//     it restarts and the badge is Live again.
// Screenshots are kept under <build>/test-artifacts/client-browser-stack/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { load, srcDir } from './lib/deps.mjs';
import { stateDir, startRedis, stopRedis, EdgeProcess, binDir } from './lib/edge.mjs';
import { ServerProcess } from './lib/server.mjs';
import { demoToken } from './lib/jwt.mjs';

const { chromium } = load('playwright-core');
const CHROMIUM = process.env.RT_CHROMIUM || '/usr/bin/chromium';
const SECRET = 'browser-stack-secret-0123456789abcdef';
const TENANT = `bs${process.pid}`;
const SLOT = `bs_slot_${process.pid}`;
const shots = path.join(binDir, 'test-artifacts', 'client-browser-stack');
const conninfo = fs.readFileSync(path.join(process.env.RT_TEST_STATE || '', 'pg/conninfo'), 'utf8').trim();
const apiKey = crypto.randomBytes(32).toString('hex');

let dir, edge, ingest, health, browser, page;
let expectWsFailures = false;
const pageErrors = [];

const sql = (q) => execFileSync('psql', [conninfo, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', q], { encoding: 'utf8' }).trim();

before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (deploy/install-deps.sh --with-tests)`);
    fs.mkdirSync(shots, { recursive: true });
    dir = stateDir('client-browser-stack');
    const redisPort = startRedis(dir);
    const redisUrl = `redis://127.0.0.1:${redisPort}/0`;
    fs.writeFileSync(`${dir}/keys.json`, JSON.stringify({
        tenants: { [TENANT]: ['sha256:' + crypto.createHash('sha256').update(apiKey).digest('hex')] },
    }));
    edge = new EdgeProcess({
        redisPort, secret: SECRET, logFile: `${dir}/edge.log`,
        env: { RT_EDGE_DASHBOARD_DIR: path.join(srcDir, 'dashboard') },
    });
    await edge.start();
    const edgeOrigin = `http://127.0.0.1:${edge.port}`;
    ingest = await new ServerProcess('ingest/rt-ingest', `${dir}/ingest.log`, {
        RT_REDIS_URL: redisUrl, RT_INGEST_LISTEN: '127.0.0.1:0', RT_API_KEYS: `${dir}/keys.json`,
        RT_PG_CONNINFO: conninfo, RT_PG_SLOT: SLOT, RT_INGEST_ROUTES: path.join(srcDir, 'deploy/routes.example.json'),
    }).start();
    health = await new ServerProcess('broker/rt-health', `${dir}/health.log`, {
        RT_REDIS_URL: redisUrl, RT_HEALTH_LISTEN: '127.0.0.1:0', RT_JWT_SECRET: SECRET,
        RT_HEALTH_CORS_ORIGINS: edgeOrigin, RT_HEALTH_TICK_MS: '100',
    }).start();
    await ingest.waitReady();
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run'],
        timeout: 60000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        if (expectWsFailures && (/WebSocket connection to .* failed/.test(m.text()) || m.text().startsWith('Failed to load resource'))) return;
        pageErrors.push('console: ' + m.text());
    });
    page.on('response', (r) => {
        if (r.status() >= 400 && !expectWsFailures) pageErrors.push(`HTTP ${r.status()} ${r.url()}`);
    });
});

after(async () => {
    await browser?.close().catch(() => {});
    await edge?.kill('SIGKILL').catch(() => {});
    await ingest?.stop().catch(() => {});
    await health?.stop().catch(() => {});
    try {
        sql(`SELECT pg_drop_replication_slot('${SLOT}') FROM pg_replication_slots WHERE slot_name = '${SLOT}'`);
        sql(`DELETE FROM calls WHERE organization_id = '${TENANT}'`);
    } catch { /* best effort */ }
    if (dir) stopRedis(dir);
});

async function shot(name) {
    const file = path.join(shots, name + '.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 5000, `${file} has content`);
}

const insertCall = (from) => sql(`INSERT INTO calls (organization_id, user_id, direction, from_number, to_number, provider)
    VALUES ('${TENANT}', 'u-dash', 'inbound', '${from}', '+18005550100', 'app') RETURNING id`);
const activeRow = (id) => `#active-calls tr[data-call-id="${id}"]`;

test('dashboard on the real stack: PostgreSQL rows live on the board, health, activity, edge restart', async () => {
    const token = demoToken(SECRET, { tenant: TENANT, sub: 'u-dash' });
    const healthUrl = `http://127.0.0.1:${health.port}/api/calls/health-check`;
    const before = insertCall('+14155550001'); // before the page opened: rebuilt from the stream
    await page.goto(`http://127.0.0.1:${edge.port}/dashboard/#token=${token}&health=${encodeURIComponent(healthUrl)}`);
    await page.waitForSelector('#badge[data-status="connected"]', { timeout: 15000 });
    await page.waitForSelector(activeRow(before), { timeout: 5000 });
    // the health-check answered cross-origin (CORS): the indicator has a real status
    await page.waitForSelector('#health[data-status="healthy"]', { timeout: 5000 });

    // a row inserted in PostgreSQL is on the board within a second
    let t0 = Date.now();
    const id = insertCall('+14155550002');
    await page.waitForSelector(activeRow(id), { timeout: 1000 });
    const appeared = Date.now() - t0;
    sql(`UPDATE calls SET status = 'answered', answer_time = now() WHERE id = '${id}'`);
    await page.waitForSelector(`${activeRow(id)}[data-state="answered"]`, { timeout: 1000 });
    await shot('01-row-on-board');

    // its end_time set: it leaves within a second and shows in recent calls
    t0 = Date.now();
    sql(`UPDATE calls SET status = 'ended', outcome = 'completed', end_time = now(), duration_seconds = 7 WHERE id = '${id}'`);
    await page.waitForSelector(activeRow(id), { state: 'detached', timeout: 1000 });
    const left = Date.now() - t0;
    await page.waitForSelector(`#recent-calls tr[data-call-id="${id}"][data-outcome="completed"]`, { timeout: 1000 });

    // the publish API's import progress in the Activity card
    const res = await fetch(`http://127.0.0.1:${ingest.port}/api/v1/publish`, {
        method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'tenant', event: 'import_progress', data: { job: 'contacts-1', done: 40, total: 100 } }),
    });
    assert.equal(res.status, 200, await res.text());
    await page.waitForSelector('#activity li[data-job="contacts-1"] progress[value="40"]', { timeout: 2000 });
    await shot('02-ended-and-activity');

    // rt-edge killed: Reconnecting; rows changed meanwhile are all there after the restart
    expectWsFailures = true;
    await edge.kill('SIGKILL');
    await page.waitForSelector('#badge[data-status="reconnecting"]', { timeout: 5000 });
    const missed = insertCall('+14155550003');
    const short = insertCall('+14155550004');
    sql(`UPDATE calls SET status = 'ended', outcome = 'busy', end_time = now(), duration_seconds = 0 WHERE id = '${short}'`);
    await shot('03-reconnecting');
    await edge.start();
    await page.waitForSelector('#badge[data-status="connected"]', { timeout: 20000 });
    assert.equal(await page.textContent('#badge'), 'Live');
    await page.waitForSelector(activeRow(missed), { timeout: 5000 });
    await page.waitForSelector(`#recent-calls tr[data-call-id="${short}"][data-outcome="busy"]`, { timeout: 5000 });
    assert.equal(await page.$(activeRow(short)), null);
    assert.ok(await page.$(activeRow(before)), 'the call from before is still on the board');
    expectWsFailures = false;
    await shot('04-live-again');

    // rt-health sees the same calls as the board (health channel snapshot or a fresh check)
    const report = await (await fetch(`${healthUrl}?tenant=${TENANT}`, { headers: { Authorization: `Bearer ${token}` } })).json();
    assert.equal(report.active_calls, 2, JSON.stringify(report));

    assert.equal(pageErrors.length, 0, 'no page errors: ' + pageErrors.join('; '));
    console.log(`# row visible after ${appeared} ms, ended row removed after ${left} ms; screenshots in ${shots}`);
});
