// The dashboard in headless Debian Chromium (playwright-core) against a real rt-edge and a
// private redis-server: calls appear and leave within a second, the badge follows an rt-edge
// kill and restart, and no call published meanwhile is missed. Screenshots are kept under
// <build>/test-artifacts/client-browser/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { load } from './lib/deps.mjs';
import { stateDir, startRedis, stopRedis, EdgeProcess, edgeBin, binDir } from './lib/edge.mjs';
import { Redis, publish } from './lib/redis.mjs';
import { DashboardServer } from './lib/static.mjs';
import { demoToken } from './lib/jwt.mjs';

const { chromium } = load('playwright-core');
const CHROMIUM = process.env.RT_CHROMIUM || '/usr/bin/chromium';
const SECRET = 'browser-test-secret-0123456789abcdef';
const TENANT = 'acme';
const shots = path.join(binDir, 'test-artifacts', 'client-browser');

let dir, redis, edge, web, browser, page;
let expectWsFailures = false;
const pageErrors = [];

before(async () => {
    assert.ok(fs.existsSync(edgeBin), `rt-edge not built at ${edgeBin}`);
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium (deploy/install-deps.sh --with-tests)`);
    fs.mkdirSync(shots, { recursive: true });
    dir = stateDir('client-browser');
    const redisPort = startRedis(dir);
    redis = await new Redis(redisPort).connect();
    edge = new EdgeProcess({ redisPort, secret: SECRET, logFile: `${dir}/edge.log` });
    await edge.start();
    web = await new DashboardServer({ edgePort: edge.port }).start();
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run'],
        timeout: 60000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
        // failed loads are checked by URL below
        if (m.type() !== 'error' || m.text().startsWith('Failed to load resource')) return;
        // Chromium logs every failed WebSocket: expected while rt-edge is down or upgrades refused
        if (/WebSocket connection to .* failed/.test(m.text()) && expectWsFailures) return;
        pageErrors.push('console: ' + m.text());
    });
    page.on('response', (r) => {
        // no rt-health runs in this test: its check answers 502 and the page must cope
        if (r.status() < 400 || r.url().includes('/api/calls/health-check')) return;
        pageErrors.push(`HTTP ${r.status()} ${r.url()}`);
    });
});

after(async () => {
    await browser?.close().catch(() => {});
    await web?.stop().catch(() => {});
    await edge?.kill('SIGKILL').catch(() => {});
    redis?.close();
    if (dir) stopRedis(dir);
});

const badge = () => page.getAttribute('#badge', 'data-status');
const call = (id) => ({ call_id: id, state: 'initiated', from: '+14155550100', to: '+14155550199', direction: 'inbound', provider: 'twilio' });

async function shot(name) {
    const file = path.join(shots, name + '.png');
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(fs.statSync(file).size > 5000, `${file} has content`);
}

test('dashboard: live board, health, badge across an rt-edge kill and restart', async () => {
    const token = demoToken(SECRET, { tenant: TENANT, sub: 'u-dash' });
    // a call that started before the page opened comes back from the retained stream
    await publish(redis, TENANT, 'calls', 'new_call', call('CA-before'));
    await page.goto(`${web.url}#token=${token}`);
    await page.waitForSelector('#badge[data-status="connected"]', { timeout: 15000 });
    assert.equal(await page.textContent('#badge'), 'Live');
    assert.equal(await page.textContent('#transport'), 'websocket');
    assert.ok(!page.url().includes(token), 'the token left the address bar');
    await page.waitForSelector('tr[data-call-id="CA-before"]', { timeout: 5000 });

    // new_call appears within a second
    let t0 = Date.now();
    await publish(redis, TENANT, 'calls', 'new_call', call('CA-1'));
    await page.waitForSelector('#active-calls tr[data-call-id="CA-1"]', { timeout: 1000 });
    const appeared = Date.now() - t0;
    await publish(redis, TENANT, 'calls', 'call_update', { ...call('CA-1'), state: 'answered' });
    await page.waitForSelector('#active-calls tr[data-call-id="CA-1"][data-state="answered"]', { timeout: 1000 });
    assert.equal(await page.textContent('#active-count'), '2');

    // health from the health channel
    await publish(redis, TENANT, 'health', 'health_status', {
        tenant: TENANT, status: 'degraded', reason: 'webhooks stale: twilio', active_calls: 2, recent_timeouts: 0,
        failure_rate: { '5m': 0.05, '15m': 0.02, '60m': 0.01 }, checked_at: new Date().toISOString(),
    });
    await page.waitForSelector('#health[data-status="degraded"]', { timeout: 1000 });
    await shot('01-live-call');

    // call_ended: the row leaves the board within a second and shows in recent calls
    t0 = Date.now();
    await publish(redis, TENANT, 'calls', 'call_ended', { ...call('CA-1'), state: 'ended', outcome: 'completed', duration: 42 });
    await page.waitForSelector('#active-calls tr[data-call-id="CA-1"]', { state: 'detached', timeout: 1000 });
    const left = Date.now() - t0;
    await page.waitForSelector('#recent-calls tr[data-call-id="CA-1"][data-outcome="completed"]', { timeout: 1000 });
    await publish(redis, TENANT, 'calls', 'call_timeout', { ...call('CA-before'), state: 'timed_out' });
    await page.waitForSelector('#active-calls tr[data-call-id="CA-before"]', { state: 'detached', timeout: 1000 });
    await shot('02-call-ended');

    // rt-edge killed: Reconnecting; calls published meanwhile are not missed
    expectWsFailures = true;
    await edge.kill('SIGKILL');
    await page.waitForSelector('#badge[data-status="reconnecting"]', { timeout: 5000 });
    assert.equal(await page.textContent('#badge'), 'Reconnecting');
    assert.ok(await page.isVisible('#reconnect'), 'the reconnect button is offered');
    await publish(redis, TENANT, 'calls', 'new_call', call('CA-missed'));
    await publish(redis, TENANT, 'calls', 'new_call', call('CA-short'));
    await publish(redis, TENANT, 'calls', 'call_ended', { ...call('CA-short'), state: 'ended', outcome: 'busy' });
    await shot('03-reconnecting');
    await edge.start();
    await page.waitForSelector('#badge[data-status="connected"]', { timeout: 20000 });
    assert.equal(await page.textContent('#badge'), 'Live');
    expectWsFailures = false;
    await page.waitForSelector('#active-calls tr[data-call-id="CA-missed"]', { timeout: 5000 });
    await page.waitForSelector('#recent-calls tr[data-call-id="CA-short"][data-outcome="busy"]', { timeout: 5000 });
    assert.equal(await page.$('#active-calls tr[data-call-id="CA-short"]'), null);
    await shot('04-live-again');

    // Offline, and the reconnect button brings it back
    await page.evaluate(() => window.rtDashboard.client.disconnect());
    await page.waitForSelector('#badge[data-status="offline"]', { timeout: 2000 });
    assert.equal(await page.textContent('#badge'), 'Offline');
    await page.click('#reconnect');
    await page.waitForSelector('#badge[data-status="connected"]', { timeout: 10000 });
    t0 = Date.now();
    await publish(redis, TENANT, 'calls', 'new_call', call('CA-2'));
    await page.waitForSelector('#active-calls tr[data-call-id="CA-2"]', { timeout: 1000 });
    await shot('05-after-reconnect-button');

    // a proxy that cannot do WebSocket: the dashboard falls back to polling and says so
    expectWsFailures = true;
    web.refuseUpgrades = true;
    web.cutWebSockets();
    await page.waitForFunction(() => document.getElementById('transport').textContent === 'polling', null, { timeout: 20000 });
    assert.equal(await badge(), 'connected');
    assert.equal(await page.textContent('#badge'), 'Live');
    await publish(redis, TENANT, 'calls', 'call_ended', { ...call('CA-2'), state: 'ended', outcome: 'completed' });
    await publish(redis, TENANT, 'calls', 'new_call', call('CA-3'));
    await page.waitForSelector('#active-calls tr[data-call-id="CA-3"]', { timeout: 5000 });
    await page.waitForSelector('#recent-calls tr[data-call-id="CA-2"]', { timeout: 5000 });
    await shot('06-polling');
    web.refuseUpgrades = false;
    await page.evaluate(() => window.rtDashboard.client.reconnect());
    await page.waitForFunction(() => document.getElementById('transport').textContent === 'websocket', null, { timeout: 10000 });
    expectWsFailures = false;
    await publish(redis, TENANT, 'calls', 'call_ended', { ...call('CA-3'), state: 'ended', outcome: 'failed' });
    await page.waitForSelector('#active-calls tr[data-call-id="CA-3"]', { state: 'detached', timeout: 1000 });

    const stats = await page.evaluate(() => window.rtDashboard.client.stats);
    assert.equal(pageErrors.length, 0, 'no page errors: ' + pageErrors.join('; '));
    console.log(`# new_call visible after ${appeared} ms, call_ended removed after ${left} ms; ` +
        `client stats ${JSON.stringify(stats)}; screenshots in ${shots}`);
});

test('dashboard on a trimmed stream: rebuilt from the load window, no resync notice, live calls shown', async () => {
    const tenant = 'trim';
    const key = `rt:{${tenant}}:calls`;
    const env = (event, data, ts) => JSON.stringify({ channel: 'calls', event, tenant, ts, data });
    // an old history (6 h ago, older than the 4 h load window), then trimmed away by retention
    const old = Date.now() - 6 * 3600 * 1000;
    for (let i = 0; i < 20; i++)
        await redis.cmd('XADD', key, `${old + i}-0`, 'e', env('new_call', call('CA-old-' + i), new Date(old + i).toISOString()));
    // a call in progress that started before the page opens
    await publish(redis, tenant, 'calls', 'new_call', call('CA-active'));
    await publish(redis, tenant, 'calls', 'call_update', { ...call('CA-active'), state: 'answered' });
    await redis.cmd('XTRIM', key, 'MAXLEN', '2'); // RT_STREAM_MAXLEN-style retention, exact here
    assert.equal(await redis.cmd('XLEN', key), 2);

    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('response', (r) => {
        if (r.status() >= 400 && !r.url().includes('/api/calls/health-check')) errors.push(`HTTP ${r.status()} ${r.url()}`);
    });
    try {
        await p.goto(`${web.url}#token=${demoToken(SECRET, { tenant, sub: 'u-trim' })}`);
        await p.waitForSelector('#badge[data-status="connected"]', { timeout: 15000 });
        // the call in progress is on the board (from the retained stream), in its latest state
        await p.waitForSelector('#active-calls tr[data-call-id="CA-active"][data-state="answered"]', { timeout: 5000 });
        // a call inserted now shows up live
        await publish(redis, tenant, 'calls', 'new_call', call('CA-now'));
        await p.waitForSelector('#active-calls tr[data-call-id="CA-now"]', { timeout: 2000 });
        await p.waitForTimeout(300);
        assert.equal(await p.isVisible('#notice'), false,
            'no resync notice: ' + await p.textContent('#notice'));
        assert.equal(await p.$('tr[data-call-id^="CA-old-"]'), null, 'the trimmed history is not invented');
        assert.equal(await p.textContent('#active-count'), '2');
        assert.match(await p.textContent('#history-note'), /History since/);
        const stats = await p.evaluate(() => window.rtDashboard.client.stats);
        assert.equal(stats.duplicates, 0);
        // the board stays live afterwards: a call ending leaves it
        await publish(redis, tenant, 'calls', 'call_ended', { ...call('CA-active'), state: 'ended', outcome: 'completed' });
        await p.waitForSelector('#active-calls tr[data-call-id="CA-active"]', { state: 'detached', timeout: 2000 });
        await p.screenshot({ path: path.join(shots, '07-trimmed-stream.png'), fullPage: true });
        assert.deepEqual(errors, []);
    } finally {
        await p.close();
    }
});
