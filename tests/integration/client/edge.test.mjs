// The client against a real rt-edge and a private redis-server, through a TCP proxy the test
// controls: the server killed and restarted, the network cut, upgrades refused.
// Run: RT_TEST_BIN=<build dir> node --test edge.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { load, clientPath } from './lib/deps.mjs';
import { stateDir, startRedis, stopRedis, restartRedis, EdgeProcess, edgeBin } from './lib/edge.mjs';
import { Redis, publish } from './lib/redis.mjs';
import { Proxy } from './lib/proxy.mjs';
import { demoToken } from './lib/jwt.mjs';
import { waitFor, sleep } from './lib/wait.mjs';

const WebSocket = load('ws');
const { RtClient, compareIds } = await import(clientPath);

const SECRET = 'client-test-secret-0123456789abcdef';
const TENANT = 'acme';
let dir, redisPort, redis, edge, proxy;

before(async () => {
    assert.ok(fs.existsSync(edgeBin), `rt-edge not built at ${edgeBin}`);
    dir = stateDir('client-edge');
    redisPort = startRedis(dir);
    redis = await new Redis(redisPort).connect();
    edge = new EdgeProcess({ redisPort, secret: SECRET, logFile: `${dir}/edge.log`, env: { RT_EDGE_HEARTBEAT_MS: '2000', RT_JWT_LEEWAY_S: '1' } });
    await edge.start();
    proxy = await new Proxy(edge.port).start();
});

after(async () => {
    await proxy?.stop();
    await edge?.kill('SIGKILL').catch(() => {});
    redis?.close();
    if (dir) stopRedis(dir);
});

function client(t, extra = {}) {
    const c = new RtClient({
        url: `ws://127.0.0.1:${proxy.port}/ws`,
        token: demoToken(SECRET, { tenant: TENANT, sub: 'u-' + Math.random().toString(36).slice(2, 8) }),
        WebSocket,
        backoffInitialMs: 200,
        backoffMaxMs: 1000,
        maxAttempts: 50,
        connectTimeoutMs: 3000,
        wsProbeMs: 1000,
        pollIntervalMs: 100,
        ...extra,
    });
    t.after(() => c.disconnect());
    const r = { events: [], statuses: [], transports: [], resyncs: [], errors: [] };
    c.on('event', (e) => r.events.push(e));
    c.on('status', (s) => r.statuses.push(s));
    c.on('transport', (x) => r.transports.push(x));
    c.on('resync', (x) => r.resyncs.push(x));
    c.on('error', (e) => r.errors.push(e));
    return { c, r };
}

/** Publishes on channel every `ms` until stopped; returns {ids, stop()}. */
function publisher(channel, ms = 10) {
    const ids = [];
    let running = true;
    const done = (async () => {
        let n = 0;
        while (running) {
            ids.push(await publish(redis, TENANT, channel, 'call_update', { call_id: 'c' + (n % 7), n }));
            n++;
            await sleep(ms);
        }
    })();
    return { ids, stop: async () => { running = false; await done; } };
}

async function streamIdsAfter(channel, after) {
    const r = await redis.cmd('XRANGE', `rt:{${TENANT}}:${channel}`, '(' + after, '+');
    return r.map((e) => e[0]);
}

function assertExactly(events, channel, expected) {
    const got = events.filter((e) => e.channel === channel).map((e) => e.id);
    for (let i = 1; i < got.length; i++)
        assert.ok(compareIds(got[i - 1], got[i]) < 0, `${channel}: ${got[i - 1]} then ${got[i]} (order/duplicate)`);
    const missing = expected.filter((id) => !got.includes(id));
    const extra = got.filter((id) => !expected.includes(id));
    assert.deepEqual({ missing, extra, count: got.length }, { missing: [], extra: [], count: expected.length },
        `${channel}: the app saw every id once`);
}

test('server killed and restarted, network cut: every id once and in order', async (t) => {
    const { c, r } = client(t);
    c.subscribe('calls');
    c.subscribe('tenant');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('calls') && c.lastId('tenant'), { what: 'subscribed' });
    const start = { calls: c.lastId('calls'), tenant: c.lastId('tenant') };
    const p1 = publisher('calls', 5);
    const p2 = publisher('tenant', 25);
    await sleep(400);

    for (let round = 0; round < 2; round++) {
        await edge.kill('SIGKILL');
        await waitFor(() => c.status === 'reconnecting', { what: 'reconnecting after kill' });
        await sleep(800); // events keep flowing into redis meanwhile
        await edge.start();
        await waitFor(() => c.status === 'connected', { timeout: 15000, what: `connected after restart ${round}` });
        await sleep(300);
    }
    for (let round = 0; round < 2; round++) {
        proxy.cut(); // the network drops every connection
        await waitFor(() => c.status !== 'connected', { what: 'noticed the cut' });
        await waitFor(() => c.status === 'connected', { timeout: 15000, what: `connected after cut ${round}` });
        await sleep(300);
    }
    // a black hole for a while: connections refused
    proxy.mode = 'block';
    proxy.cut();
    await sleep(1200);
    proxy.mode = 'pass';
    await waitFor(() => c.status === 'connected', { timeout: 15000, what: 'connected after block' });

    await p1.stop();
    await p2.stop();
    const lastCalls = p1.ids.at(-1);
    const lastTenant = p2.ids.at(-1);
    await waitFor(() => c.lastId('calls') === lastCalls && c.lastId('tenant') === lastTenant,
        { timeout: 15000, what: 'caught up' }).catch((e) => {
        throw new Error(`${e.message}: calls ${c.lastId('calls')}/${lastCalls} tenant ${c.lastId('tenant')}/${lastTenant} ` +
            `status ${c.status} transport ${c.transport} errors ${JSON.stringify(r.errors)} statuses ${r.statuses} transports ${r.transports}`);
    });
    assertExactly(r.events, 'calls', await streamIdsAfter('calls', start.calls));
    assertExactly(r.events, 'tenant', await streamIdsAfter('tenant', start.tenant));
    assert.ok(p1.ids.length > 100, `published ${p1.ids.length} during the faults`);
    assert.equal(r.resyncs.length, 0);
    assert.ok(!r.statuses.includes('offline'));
    // after the faults the client is back on the WebSocket
    await waitFor(() => c.transport === 'websocket', { timeout: 10000, what: 'websocket' });
    // live events still arrive
    const live = await publish(redis, TENANT, 'calls', 'call_ended', { call_id: 'c1' });
    await waitFor(() => c.lastId('calls') === live);
});

test('upgrades refused by the proxy: polling, then back to the WebSocket, every id once', async (t) => {
    const { c, r } = client(t, { fallbackAfter: 2 });
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('calls'), { what: 'subscribed' });
    const start = c.lastId('calls');
    const p = publisher('calls', 10);
    proxy.mode = 'refuse_upgrades';
    proxy.cut();
    await waitFor(() => c.transport === 'polling' && c.status === 'connected', { timeout: 15000, what: 'polling' });
    assert.ok(proxy.upgradesRefused >= 1);
    await waitFor(() => r.events.filter((e) => e.transport === 'polling').length >= 20, { timeout: 15000, what: 'events by polling' });
    // the polling was long polling: rt-edge held requests and the events answered them
    const metrics = await (await fetch(`http://127.0.0.1:${edge.port}/metrics`)).text();
    const woken = Number((/^rt_edge_poll_held_total\{outcome="events"\} (\d+)/m.exec(metrics) || [])[1] || 0);
    assert.ok(woken >= 1, 'held requests answered by events: ' + woken);
    proxy.mode = 'pass';
    await waitFor(() => c.transport === 'websocket', { timeout: 15000, what: 'back to websocket' });
    const n = r.events.length;
    await waitFor(() => r.events.length > n + 10, { what: 'events on the websocket again' });
    await p.stop();
    await waitFor(() => c.lastId('calls') === p.ids.at(-1), { timeout: 15000, what: 'caught up' });
    assertExactly(r.events, 'calls', await streamIdsAfter('calls', start));
    assert.deepEqual(r.transports.filter(Boolean), ['websocket', 'polling', 'websocket']);
    assert.equal(r.events.at(-1).transport, 'websocket');
    assert.ok(!r.statuses.includes('offline'));
});

test('a silent network (bytes dropped, TCP open): the watchdog notices and the client recovers', async (t) => {
    const { c, r } = client(t);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('calls'), { what: 'subscribed' });
    const start = c.lastId('calls');
    proxy.frozen = true; // rt-edge heartbeat 2000 ms: the client pings every 1 s, dead after 2 s
    const t0 = Date.now();
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await publish(redis, TENANT, 'calls', 'call_update', { i }));
    await waitFor(() => c.status === 'reconnecting', { timeout: 6000, what: 'watchdog' });
    const took = Date.now() - t0;
    assert.ok(took >= 1500 && took <= 5000, `declared dead after ${took} ms`);
    proxy.frozen = false;
    proxy.cut();
    await waitFor(() => c.status === 'connected', { timeout: 15000, what: 'back' });
    await waitFor(() => c.lastId('calls') === during.at(-1), { timeout: 10000, what: 'missed events' });
    assertExactly(r.events, 'calls', await streamIdsAfter('calls', start));
});

test('token refresh on a live connection keeps it past exp; without a callback the expiry goes offline', async (t) => {
    const short = () => demoToken(SECRET, { tenant: TENANT, sub: 'u-refresh', ttlS: 3 });
    let refreshed = 0;
    const { c } = client(t, {
        token: short(),
        refreshToken: () => { refreshed++; return demoToken(SECRET, { tenant: TENANT, sub: 'u-refresh', ttlS: 3600 }); },
    });
    const { c: c2, r: r2 } = client(t, { token: short() });
    const events = [];
    c.subscribe('calls', { onEvent: (e) => events.push(e.id) });
    c.connect();
    c2.connect();
    await waitFor(() => c.status === 'connected' && c2.status === 'connected' && c.lastId('calls'));
    const session = c.session;
    await waitFor(() => c2.status === 'offline', { timeout: 8000, what: 'expired token closed' });
    assert.equal(r2.statuses.at(-1), 'offline');
    assert.ok(r2.errors.some((e) => e.code === 'unauthorized' && e.closeCode === 4001), JSON.stringify(r2.errors));
    await sleep(500);
    assert.equal(refreshed, 1);
    assert.equal(c.status, 'connected');
    assert.equal(c.session, session, 'the same connection, refreshed in place');
    const id = await publish(redis, TENANT, 'calls', 'call_update', { after: 'refresh' });
    await waitFor(() => events.includes(id), { what: 'events after the refresh' });
    assert.deepEqual(c.channels, ['calls']);
});

test('rt-edge drain (SIGTERM): reconnect message honoured, nothing lost', async (t) => {
    const { c, r } = client(t);
    const drains = [];
    c.on('status', (s, info) => info.reason === 'drain' && drains.push(s));
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('calls'), { what: 'subscribed' });
    const start = c.lastId('calls');
    const p = publisher('calls', 10);
    await sleep(200);
    await edge.kill('SIGTERM', 20000);
    await edge.start();
    await waitFor(() => c.status === 'connected' && drains.length > 0, { timeout: 20000, what: 'back after drain' });
    await sleep(300);
    await p.stop();
    await waitFor(() => c.lastId('calls') === p.ids.at(-1), { timeout: 15000, what: 'caught up' });
    assertExactly(r.events, 'calls', await streamIdsAfter('calls', start));
    assert.ok(!r.statuses.includes('offline'));
});

test('missed events deleted from the stream while away: resync, never a silent gap', async (t) => {
    const { c, r } = client(t);
    c.subscribe('tenant');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('tenant'), { what: 'subscribed' });
    const seen = await publish(redis, TENANT, 'tenant', 'dashboard_schedule_updated', { n: 0 });
    await waitFor(() => c.lastId('tenant') === seen);
    proxy.mode = 'block';
    proxy.cut();
    await waitFor(() => c.status === 'reconnecting');
    const lost = [];
    for (let i = 1; i <= 5; i++) lost.push(await publish(redis, TENANT, 'tenant', 'dashboard_schedule_updated', { n: i }));
    await redis.cmd('XDEL', `rt:{${TENANT}}:tenant`, ...lost);
    proxy.mode = 'pass';
    await waitFor(() => r.resyncs.length === 1, { timeout: 15000, what: 'resync' }).catch(async (e) => {
        const res = await fetch(`http://127.0.0.1:${edge.port}/api/v1/events?channel=tenant&since=${seen}`,
            { headers: { Authorization: 'Bearer ' + demoToken(SECRET, { tenant: TENANT }) } });
        throw new Error(`${e.message}: status ${c.status} ${c.transport} lastId ${c.lastId('tenant')} seen ${seen} ` +
            `errors ${JSON.stringify(r.errors)} events ${r.events.map((x) => x.id)} poll ${res.status} ${await res.text()}`);
    });
    assert.equal(r.resyncs[0].channel, 'tenant');
    assert.ok(!r.events.some((e) => lost.includes(e.id)));
    const next = await publish(redis, TENANT, 'tenant', 'dashboard_schedule_updated', { n: 6 });
    await waitFor(() => c.lastId('tenant') === next, { what: 'live after resync' });
    assert.deepEqual(r.events.map((e) => e.id), [seen, next]);
});

test('missed events trimmed by MAXLEN while away: resync, never a silent gap', async (t) => {
    const { c, r } = client(t);
    c.subscribe('tenant');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('tenant'), { what: 'subscribed' });
    const seen = await publish(redis, TENANT, 'tenant', 'dashboard_schedule_updated', { n: 0 });
    await waitFor(() => c.lastId('tenant') === seen);
    proxy.mode = 'block';
    proxy.cut();
    await waitFor(() => c.status === 'reconnecting');
    const lost = [];
    for (let i = 1; i <= 5; i++) lost.push(await publish(redis, TENANT, 'tenant', 'dashboard_schedule_updated', { n: i }));
    // retention by length, as the publish script's MAXLEN does (Redis 7.0 leaves
    // max-deleted-entry-id at 0-0 for trimming: the edge must notice it another way)
    await redis.cmd('XTRIM', `rt:{${TENANT}}:tenant`, 'MAXLEN', '2');
    proxy.mode = 'pass';
    await waitFor(() => r.resyncs.length === 1, { timeout: 15000, what: 'resync' }).catch(async (e) => {
        const res = await fetch(`http://127.0.0.1:${edge.port}/api/v1/events?channel=tenant&since=${seen}`,
            { headers: { Authorization: 'Bearer ' + demoToken(SECRET, { tenant: TENANT }) } });
        throw new Error(`${e.message}: status ${c.status} ${c.transport} lastId ${c.lastId('tenant')} seen ${seen} ` +
            `errors ${JSON.stringify(r.errors)} events ${r.events.map((x) => x.id)} poll ${res.status} ${await res.text()}`);
    });
    assert.equal(r.resyncs[0].channel, 'tenant');
    assert.ok(!r.events.some((e) => lost.includes(e.id)));
    const next = await publish(redis, TENANT, 'tenant', 'dashboard_schedule_updated', { n: 6 });
    await waitFor(() => c.lastId('tenant') === next, { what: 'live after resync' });
    assert.deepEqual(r.events.map((e) => e.id), [seen, next]);
});

test('subscribe answered `internal` while Redis is down: retried on the same connection, nothing lost', async (t) => {
    // A client already subscribed, with a position, and a fresh one.
    const { c: old, r: ro } = client(t, { subRetryInitialMs: 200, subRetryMaxMs: 800 });
    old.subscribe('calls');
    old.connect();
    await waitFor(() => old.status === 'connected' && old.lastId('calls'), { what: 'subscribed' });
    const seen = await publish(redis, TENANT, 'calls', 'call_update', { before: 'outage' });
    await waitFor(() => old.lastId('calls') === seen, { what: 'event before the outage' });

    // Redis goes away (the stream is kept: the same server comes back with its data via SAVE)
    await redis.cmd('SAVE');
    redis.close();
    stopRedis(dir);
    // the old client's connection drops and it reconnects during the outage
    proxy.cut();
    const { c: fresh, r: rf } = client(t, { subRetryInitialMs: 200, subRetryMaxMs: 800 });
    const failing = [];
    const ok = [];
    fresh.on('subscription', (x) => (x.state === 'failing' ? failing : ok).push(x));
    fresh.subscribe('calls');
    fresh.connect();
    await waitFor(() => rf.errors.filter((e) => e.code === 'internal' && e.channel === 'calls').length >= 3,
        { timeout: 15000, what: 'subscribe refused as internal, retried' });
    await waitFor(() => ro.errors.some((e) => e.code === 'internal' && e.channel === 'calls'),
        { timeout: 15000, what: 'resubscribe after the reconnect refused as internal' });
    assert.equal(fresh.status, 'connected', 'the WebSocket itself is up');
    assert.equal(old.status, 'connected');
    assert.ok(rf.errors.every((e) => e.code !== 'internal' || (e.retrying && e.delay > 0)), JSON.stringify(rf.errors));
    assert.equal(failing.length, 1, 'one `failing` notice after subRetryNoticeAfter refusals');
    const wsConnects = { old: old.stats.wsConnects, fresh: fresh.stats.wsConnects };

    restartRedis(dir);
    redis = await new Redis(redisPort).connect();
    assert.equal((await redis.cmd('XRANGE', `rt:{${TENANT}}:calls`, seen, seen)).length, 1, 'the stream survived');
    // published as soon as Redis is back, maybe before the retries got through: the old
    // client's retry carries `since` = its last id, so it gets this event in any case
    const during = await publish(redis, TENANT, 'calls', 'call_update', { after: 'outage' });
    await waitFor(() => fresh.lastId('calls') && ok.length === 1, { timeout: 15000, what: 'fresh subscription accepted' });
    const live = await publish(redis, TENANT, 'calls', 'call_update', { live: true });
    await waitFor(() => old.lastId('calls') === live && fresh.lastId('calls') === live,
        { timeout: 15000, what: 'events after the outage' });
    await sleep(300);
    const ids = (r, ch) => r.events.filter((e) => e.channel === ch).map((e) => e.id);
    assert.deepEqual(ids(ro, 'calls').filter((id) => compareIds(id, seen) >= 0), [seen, during, live],
        'the subscribed client: every id once, none lost during the outage');
    assert.equal(ids(rf, 'calls').filter((id) => id === live).length, 1, 'the fresh client got the event once');
    assert.deepEqual({ old: old.stats.wsConnects, fresh: fresh.stats.wsConnects }, wsConnects,
        'no WebSocket reconnect was needed');
    assert.equal(ro.resyncs.length + rf.resyncs.length, 0);
});
