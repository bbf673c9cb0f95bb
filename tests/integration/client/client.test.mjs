// Tests of clients/js/rt-client.js: pure functions, and behaviour against a scriptable
// in-process server (lib/fake-edge.mjs) for faults on demand. Run: node --test client.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, clientPath } from './lib/deps.mjs';
import { FakeEdge } from './lib/fake-edge.mjs';
import { demoToken, signJwt } from './lib/jwt.mjs';
import { waitFor, sleep } from './lib/wait.mjs';

const WebSocket = load('ws');
const { RtClient, backoffDelay, compareIds, isStreamId, tokenExpiryMs, DEFAULTS, parseFilter, matchFilter } = await import(clientPath);

const SECRET = 'test-secret';
const FAST = { backoffInitialMs: 50, backoffMaxMs: 400, connectTimeoutMs: 2000, WebSocket };

// every client a test makes is disconnected when the test ends, passed or failed
function track(t, c) {
    t.after(() => c.disconnect());
    return c;
}

function recorder(client) {
    const r = { statuses: [], transports: [], events: [], resyncs: [], errors: [] };
    client.on('status', (s, info) => r.statuses.push({ s, info }));
    client.on('transport', (t) => r.transports.push(t));
    client.on('event', (e) => r.events.push(e));
    client.on('resync', (x) => r.resyncs.push(x));
    client.on('error', (e) => r.errors.push(e));
    r.states = () => r.statuses.map((x) => x.s);
    return r;
}

function assertOnceInOrder(events, expectIds, label) {
    const ids = events.map((e) => e.id);
    for (let i = 1; i < ids.length; i++)
        assert.ok(compareIds(ids[i - 1], ids[i]) < 0, `${label}: ${ids[i - 1]} then ${ids[i]}`);
    assert.deepEqual(ids, expectIds, `${label}: the app saw exactly the published ids`);
}

// ---- pure ---------------------------------------------------------------------------------

test('backoff: defaults double from 1 s to 30 s with 0-30 % jitter', () => {
    const bases = [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000, 30000];
    bases.forEach((base, i) => {
        assert.equal(backoffDelay(i + 1, DEFAULTS, () => 0), base, `attempt ${i + 1} low`);
        const hi = backoffDelay(i + 1, DEFAULTS, () => 0.999999);
        assert.ok(hi <= Math.round(base * 1.3) && hi > base * 1.29, `attempt ${i + 1} high ${hi}`);
    });
    // a seeded pseudo-random source: every delay inside [base, 1.3 base], and the jitter spreads
    let x = 12345;
    const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let n = 1; n <= 12; n++) {
        const base = Math.min(30000, 1000 * 2 ** (n - 1));
        const seen = new Set();
        for (let k = 0; k < 200; k++) {
            const d = backoffDelay(n, DEFAULTS, rnd);
            assert.ok(d >= base && d <= Math.round(base * 1.3), `attempt ${n}: ${d}`);
            seen.add(d);
        }
        assert.ok(seen.size > 20, `attempt ${n}: jitter spreads the delays (${seen.size} distinct)`);
    }
    assert.equal(DEFAULTS.maxAttempts, 10);
    assert.equal(backoffDelay(3, { backoffInitialMs: 100, backoffMaxMs: 250, jitter: 0 }), 250);
});

test('ids compare numerically, not as strings', () => {
    assert.ok(compareIds('9-0', '10-0') < 0);
    assert.ok(compareIds('1732371234567-9', '1732371234567-10') < 0);
    assert.ok(compareIds('1732371234568-0', '1732371234567-99') > 0);
    assert.equal(compareIds('5-5', '5-5'), 0);
    assert.ok(compareIds('18446744073709551615-1', '18446744073709551615-0') > 0);
    assert.ok(isStreamId('1-0') && !isStreamId('1') && !isStreamId('a-b') && !isStreamId(null));
    const t = signJwt({ sub: 'u', org_id: 't', exp: 2000000000 }, 'k');
    assert.equal(tokenExpiryMs(t), 2000000000 * 1000);
    assert.equal(tokenExpiryMs('garbage'), null);
});

test('options are checked', () => {
    assert.throws(() => new RtClient({ WebSocket }), /url/);
    assert.throws(() => new RtClient({ url: 'ws://127.0.0.1:1/ws', WebSocket }), /token/);
    assert.throws(() => new RtClient({ url: 'ws://127.0.0.1:1/ws', token: 't', WebSocket }).subscribe('c', { since: 'x' }), /since/);
});

// ---- against the scriptable server ---------------------------------------------------------

test('states: connecting -> connected -> reconnecting -> connected; offline after maxAttempts; reconnect()', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET), maxAttempts: 3, polling: false, random: () => 0.5 }));
    const r = recorder(c);
    c.connect();
    await waitFor(() => c.status === 'connected', { what: 'connected' });
    assert.equal(c.transport, 'websocket');
    edge.dropAll();
    await waitFor(() => r.states().length >= 4, { what: 'reconnected' });
    assert.deepEqual(r.states().slice(0, 4), ['connecting', 'connected', 'reconnecting', 'connected']);
    // the first retry waits backoffDelay(1) exactly (random fixed at 0.5)
    assert.equal(r.statuses[2].info.delay, backoffDelay(1, FAST, () => 0.5));

    // the server goes away for good: 3 attempts with growing delays, then offline
    await edge.stop();
    const t0 = Date.now();
    await waitFor(() => c.status === 'offline', { timeout: 10000, what: 'offline' });
    const elapsed = Date.now() - t0;
    const delays = r.statuses.slice(4).filter((x) => x.s === 'reconnecting' || x.info.delay).map((x) => x.info.delay);
    assert.equal(r.states().at(-1), 'offline');
    assert.equal(r.statuses.at(-1).info.reason, 'max_attempts');
    const minTotal = [1, 2, 3].reduce((a, n) => a + backoffDelay(n, FAST, () => 0.5), 0);
    assert.ok(elapsed >= minTotal - 20, `gave up after ${elapsed} ms, not before the 3 delays (${minTotal} ms)`);
    assert.ok(delays.length >= 1 && delays[0] === backoffDelay(1, FAST, () => 0.5), `delays ${delays}`);
    // offline stays offline
    await sleep(300);
    assert.equal(c.status, 'offline');

    // reconnect() starts again with a fresh budget once the server is back
    const edge2 = new FakeEdge();
    edge2.server.listen(edge.port, '127.0.0.1');
    await new Promise((res) => edge2.server.once('listening', res));
    t.after(() => edge2.stop().catch(() => {}));
    c.reconnect();
    assert.equal(c.status, 'connecting');
    await waitFor(() => c.status === 'connected', { what: 'connected after reconnect()' });
    c.disconnect();
    assert.equal(c.status, 'offline');
    assert.equal(c.transport, null);
});

test('every id once and in order across forced disconnects, even when the server replays overlaps', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.replayOverlap = 5; // an at-least-once server: resubscribe repeats 5 old events
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET) }));
    const r = recorder(c);
    const perSub = [];
    c.subscribe('calls', { onEvent: (e) => perSub.push(e.id) });
    c.subscribe('tenant');
    c.connect();
    await waitFor(() => c.lastId('calls') && c.lastId('tenant'), { what: 'subscribed' });
    for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 40; i++) {
            edge.publish('calls', 'new_call', { n: i, round });
            if (i % 4 === 0) edge.publish('tenant', 'x', { i });
        }
        edge.dropAll(); // published while the client was connected, some in flight
        for (let i = 0; i < 10; i++) edge.publish('calls', 'call_update', { n: i, round, gap: true });
        await waitFor(() => c.status === 'connected' && c.lastId('calls') === edge.ids('calls').at(-1),
            { what: `round ${round} caught up` });
    }
    await waitFor(() => c.lastId('tenant') === edge.ids('tenant').at(-1), { what: 'tenant caught up' });
    const calls = r.events.filter((e) => e.channel === 'calls');
    assertOnceInOrder(calls, edge.ids('calls'), 'calls');
    assertOnceInOrder(r.events.filter((e) => e.channel === 'tenant'), edge.ids('tenant'), 'tenant');
    assert.deepEqual(perSub, edge.ids('calls'));
    assert.ok(c.stats.duplicates > 0, 'the server did send duplicates, and they were dropped');
    // every resubscribe carried since = the last id seen
    const subs = edge.received.filter((m) => m.type === 'subscribe' && m.channel === 'calls');
    assert.ok(subs.length >= 6);
    assert.ok(subs.slice(1).every((m) => isStreamId(m.since)), 'resubscribes carry since');
    c.disconnect();
});

test('heartbeat watchdog: a silent server is declared dead and the client reconnects', async (t) => {
    const edge = await new FakeEdge({ heartbeatMs: 400 }).start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET) }));
    const r = recorder(c);
    c.connect();
    await waitFor(() => c.status === 'connected');
    // JSON pings go out about every heartbeat/2
    await waitFor(() => edge.received.filter((m) => m.type === 'ping').length >= 2, { timeout: 3000, what: 'pings' });
    edge.silent = true;
    const t0 = Date.now();
    await waitFor(() => c.status === 'reconnecting', { timeout: 3000, what: 'watchdog' });
    const took = Date.now() - t0;
    assert.ok(took >= 150 && took <= 1500, `declared dead after ${took} ms (2 intervals of 200 ms)`);
    assert.equal(r.statuses.find((x) => x.s === 'reconnecting').info.code, 4000);
    edge.silent = false;
    await waitFor(() => c.status === 'connected', { what: 'back' });
    c.disconnect();
});

test('resync_required is surfaced and the channel is subscribed again without since', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET) }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.lastId('calls'));
    const first = edge.publish('calls');
    await waitFor(() => r.events.length === 1);
    edge.dropAll();
    edge.publish('calls');
    const last = edge.publish('calls');
    edge.trim('calls', last); // everything the client missed is gone
    await waitFor(() => r.resyncs.length === 1, { what: 'resync' });
    assert.deepEqual(r.resyncs[0], { channel: 'calls', reason: 'offset_expired' });
    await waitFor(() => edge.received.filter((m) => m.type === 'subscribe').length === 3);
    const again = edge.received.filter((m) => m.type === 'subscribe').at(-1);
    assert.equal(again.since, undefined, 'subscribed again without since');
    const live = edge.publish('calls');
    await waitFor(() => r.events.length === 2);
    assert.deepEqual(r.events.map((e) => e.id), [first, live]);
    c.disconnect();
});

test('token refresh: the callback runs before exp and the new token is sent with auth', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const mk = (ttl) => demoToken(SECRET, { ttlS: ttl });
    let calls = 0;
    const c = track(t, new RtClient({
        ...FAST, url: edge.url, token: mk(3), refreshLeadMs: 60000,
        refreshToken: async () => { calls++; return mk(3600); },
    }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.status === 'connected' && c.lastId('calls'));
    // exp in 3 s, lead is 20 % of the life: refresh at about 2.4 s
    const auth = await waitFor(() => edge.received.find((m) => m.type === 'auth'), { timeout: 5000, what: 'auth' });
    assert.equal(calls, 1);
    assert.ok(tokenExpiryMs(auth.token) > Date.now() + 3000000, 'the new token was sent');
    await sleep(800); // past the first token's exp: the server kept the connection
    assert.equal(c.status, 'connected');
    assert.equal(edge.received.filter((m) => m.type === 'subscribe').length, 1, 'no resubscribe after the refresh');
    const id = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === id);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(c.channels, ['calls']);
    c.disconnect();
});

test('4001 without a refresh callback goes offline; with one it reconnects with a new token', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const bad = demoToken('other-secret');
    const c1 = track(t, new RtClient({ ...FAST, url: edge.url, token: bad, fallbackAfter: 99 }));
    const r1 = recorder(c1);
    // the fake refuses the upgrade with 401 (a browser sees a close 1006): the client retries
    // with backoff; a 4001 close is what means "token refused", tested next
    c1.connect();
    await waitFor(() => r1.states().includes('reconnecting'));
    c1.disconnect();

    const good = demoToken(SECRET);
    let n = 0;
    const c2 = track(t, new RtClient({ ...FAST, url: edge.url, token: good, refreshToken: () => { n++; return demoToken(SECRET, { ttlS: 7200 }); } }));
    c2.connect();
    await waitFor(() => c2.status === 'connected');
    for (const conn of edge.conns) conn.ws.close(4001, 'token expired');
    await waitFor(() => n === 1 && c2.status === 'connected', { what: 'refreshed and reconnected' });

    const c3 = track(t, new RtClient({ ...FAST, url: edge.url, token: good }));
    const r3 = recorder(c3);
    c3.connect();
    await waitFor(() => c3.status === 'connected');
    for (const conn of edge.conns) if (conn.claims && c3.session === 'fake-' + edge.upgrades) conn.ws.close(4001, 'token expired');
    await waitFor(() => c3.status === 'offline', { what: 'offline on 4001' });
    assert.equal(r3.statuses.at(-1).info.reason, 'unauthorized');
    assert.ok(r3.errors.some((e) => e.code === 'unauthorized'));
    c2.disconnect();
});

test('a subscription the server forbids is reported and dropped', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET) }));
    const r = recorder(c);
    c.subscribe('forbidden');
    c.connect();
    await waitFor(() => r.errors.length === 1);
    assert.equal(r.errors[0].code, 'forbidden');
    assert.equal(r.errors[0].channel, 'forbidden');
    assert.deepEqual(c.channels, []);
    c.disconnect();
});

test('a subscribe refused as internal is retried on the same connection, with since, capped backoff and jitter', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const seen = edge.publish('calls', 'tick', { n: 0 });
    let x = 7; // seeded: the jitter differs between retries
    const random = () => ((x = (x * 48271) % 2147483647) / 2147483647);
    const opts = { ...FAST, url: edge.url, token: demoToken(SECRET), subRetryInitialMs: 40, subRetryMaxMs: 160, random };
    const c = track(t, new RtClient(opts));
    const r = recorder(c);
    const subs = [];
    c.on('subscription', (s) => subs.push(s.state));
    c.subscribe('calls', { since: '0-0' }); // a position: the retry must keep it
    edge.subscribeInternal = 6;
    c.connect();
    await waitFor(() => c.lastId('calls') === seen, { what: 'accepted after 6 refusals' });
    const refusals = r.errors.filter((e) => e.code === 'internal');
    assert.equal(refusals.length, 6);
    refusals.forEach((e, i) => {
        const base = Math.min(160, 40 * 2 ** i);
        assert.ok(e.retrying && e.channel === 'calls' && e.failures === i + 1, JSON.stringify(e));
        assert.ok(e.delay >= base && e.delay <= Math.round(base * 1.3), `retry ${i + 1}: ${e.delay} ms within [${base}, ${base * 1.3}]`);
    });
    assert.ok(new Set(refusals.slice(3).map((e) => e.delay)).size > 1, 'jittered: the capped delays differ');
    const sent = edge.received.filter((m) => m.type === 'subscribe' && m.channel === 'calls');
    assert.equal(sent.length, 7);
    assert.ok(sent.every((m) => m.since === '0-0'), 'every retry carries since');
    assert.deepEqual(subs, ['failing', 'ok']);
    assert.equal(c.stats.wsConnects, 1, 'no reconnect');
    assert.equal(edge.upgrades, 1);
    const live = edge.publish('calls', 'tick', { n: 1 });
    await waitFor(() => c.lastId('calls') === live);
    assertOnceInOrder(r.events, [seen, live], 'calls');
});

test('server drain: reconnect after after_ms, no backoff penalty, nothing lost', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET), backoffInitialMs: 5000 }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.lastId('calls'));
    const upgrades = edge.upgrades;
    const t0 = Date.now();
    edge.drain(400, 100); // told to come back in 400 ms, closed 1001 after 100 ms
    edge.publish('calls');
    await waitFor(() => edge.upgrades === upgrades + 1, { what: 'reconnected' });
    const took = Date.now() - t0;
    assert.ok(took >= 380 && took < 3000, `reconnected after ${took} ms (asked 400, backoff would be 5000)`);
    const id2 = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === id2);
    assert.equal(r.events.length, 2);
    assert.equal(c.attempts, 0);
    c.disconnect();
});

test('fallback: refused upgrades switch to polling, then back to websocket, every id once', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({
        ...FAST, url: edge.url, token: demoToken(SECRET), fallbackAfter: 2, wsProbeMs: 600,
        pollIntervalMs: 100, pollWaitS: 0,
    }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.lastId('calls'));
    edge.refuseUpgrade = true;
    edge.dropAll();
    const during = [];
    const pub = setInterval(() => during.push(edge.publish('calls', 'call_update')), 30);
    t.after(() => clearInterval(pub));
    await waitFor(() => c.transport === 'polling' && c.status === 'connected', { what: 'polling' });
    assert.ok(edge.upgradeRefusals >= 1, 'the drop counted, then a refused upgrade');
    await waitFor(() => r.events.some((e) => e.transport === 'polling'), { what: 'events by polling' });
    edge.refuseUpgrade = false;
    await waitFor(() => c.transport === 'websocket', { timeout: 5000, what: 'back to websocket' });
    clearInterval(pub);
    const last = edge.publish('calls', 'call_ended');
    await waitFor(() => c.lastId('calls') === last);
    assertOnceInOrder(r.events, edge.ids('calls'), 'calls');
    assert.deepEqual(r.transports.filter(Boolean), ['websocket', 'polling', 'websocket']);
    assert.ok(r.events.some((e) => e.transport === 'polling') && r.events.at(-1).transport === 'websocket');
    // the badge never showed offline
    assert.ok(!r.states().includes('offline'));
    c.disconnect();
    // no poll continues after disconnect
    const polls = edge.polls;
    await sleep(300);
    assert.equal(edge.polls, polls);
});

test('an edge that refuses since: the gap is filled over HTTP, live events held until then', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.sinceUnsupported = true;
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET), pollLimit: 7 }));
    const r = recorder(c);
    c.subscribe('calls');
    c.subscribe('tenant');
    c.connect();
    await waitFor(() => c.lastId('calls') && c.lastId('tenant'));
    for (let round = 0; round < 3; round++) {
        edge.publish('tenant');
        for (let i = 0; i < 10; i++) edge.publish('calls');
        edge.dropAll();
        for (let i = 0; i < 25; i++) edge.publish('calls'); // missed: more than one page of 7
        const pub = setInterval(() => edge.publish('calls'), 5); // live ones race the fill
        await waitFor(() => c.status === 'connected' && c.stats.wsConnects === round + 2);
        await sleep(100);
        clearInterval(pub);
        await waitFor(() => c.lastId('calls') === edge.ids('calls').at(-1), { what: `round ${round}` });
    }
    await waitFor(() => c.lastId('tenant') === edge.ids('tenant').at(-1), { what: 'tenant' });
    assertOnceInOrder(r.events.filter((e) => e.channel === 'calls'), edge.ids('calls'), 'calls');
    assertOnceInOrder(r.events.filter((e) => e.channel === 'tenant'), edge.ids('tenant'), 'tenant');
    assert.equal(r.errors.filter((e) => e.code === 'since_unsupported').length, 1);
    assert.deepEqual(c.channels.sort(), ['calls', 'tenant'], 'no subscription was dropped');
    assert.equal(r.resyncs.length, 0);
    // when the missed range is gone from the stream, the app is told to resync (no silent gap)
    edge.dropAll();
    edge.publish('calls');
    const gone = edge.publish('calls');
    const kept = edge.publish('calls');
    edge.trim('calls', gone);
    await waitFor(() => r.resyncs.length === 1, { what: 'resync' });
    await waitFor(() => c.lastId('calls') !== null);
    const after = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === after);
    assert.ok(!r.events.some((e) => e.id === gone), 'nothing of the lost range was invented');
    assert.equal(r.events.at(-1).id, after);
    void kept;
    assert.equal(r.resyncs[0].channel, 'calls');
    c.disconnect();
});

test('polling from the start: retained history is skipped, then every new id once', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.pollFromStart = true;
    edge.refuseUpgrade = true;
    for (let i = 0; i < 25; i++) edge.publish('calls', 'old');
    const c = track(t, new RtClient({
        ...FAST, url: edge.url, token: demoToken(SECRET), fallbackAfter: 1, pollSkipLimit: 10,
        pollIntervalMs: 50, wsProbeMs: 60000,
    }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.transport === 'polling' && c.lastId('calls') === edge.ids('calls').at(-1), { what: 'skipped' });
    assert.equal(r.events.length, 0, 'history was not delivered');
    const fresh = [];
    for (let i = 0; i < 30; i++) fresh.push(edge.publish('calls', 'new'));
    await waitFor(() => c.lastId('calls') === fresh.at(-1));
    assertOnceInOrder(r.events, fresh, 'calls');
    assert.ok(r.events.every((e) => e.transport === 'polling' && e.event === 'new'));
    c.disconnect();
});

test('both transports down: attempts alternate between WebSocket and polling until one works', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    let wsTries = 0, fetches = 0;
    class CountingWS extends WebSocket {
        constructor(...a) { super(...a); wsTries++; }
    }
    const c = track(t, new RtClient({
        ...FAST, WebSocket: CountingWS, url: edge.url, token: demoToken(SECRET), fallbackAfter: 2,
        backoffMaxMs: 100, maxAttempts: 40, wsProbeMs: 200,
        fetch: (...a) => { fetches++; return fetch(...a); },
    }));
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.status === 'connected');
    const port = edge.port;
    await edge.stop();
    await waitFor(() => fetches >= 3 && wsTries >= 5, { what: 'both transports tried' });
    const w = wsTries, f = fetches;
    await waitFor(() => wsTries > w + 1 && fetches > f + 1, { what: 'still alternating' });
    assert.equal(c.status, 'reconnecting');
    const edge2 = new FakeEdge();
    edge2.server.listen(port, '127.0.0.1');
    await new Promise((res) => edge2.server.once('listening', res));
    t.after(() => edge2.stop().catch(() => {}));
    await waitFor(() => c.status === 'connected', { what: 'connected again' });
    await waitFor(() => c.transport === 'websocket', { what: 'on the websocket' });
    const id = edge2.publish('calls');
    await waitFor(() => c.lastId('calls') === id);
});

test('subscribing again to a channel replaces the subscription without losing it', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET) }));
    const r = recorder(c);
    const first = [], second = [];
    c.subscribe('calls', { onEvent: (e) => first.push(e.id) });
    c.connect();
    await waitFor(() => c.lastId('calls'));
    const a = edge.publish('calls');
    await waitFor(() => first.length === 1);
    c.subscribe('calls', { onEvent: (e) => second.push(e.id) });
    const b = edge.publish('calls');
    await waitFor(() => second.length === 1, { what: 'event on the new callback' });
    assert.deepEqual(first, [a]);
    assert.deepEqual(second, [b]);
    assert.deepEqual(c.channels, ['calls']);
    assert.deepEqual(r.errors, [], 'no error reached the app');
    c.unsubscribe('calls');
    edge.publish('calls');
    await sleep(200);
    assert.equal(r.events.length, 2);
});

// A clock the test advances by hand: the full default schedule (about 3 minutes) runs instantly.
class ManualClock {
    constructor() { this.t = 1_000_000; this.timers = new Map(); this.seq = 0; this.log = []; }
    now() { return this.t; }
    setTimeout(fn, ms) { const id = ++this.seq; this.timers.set(id, { at: this.t + ms, fn, ms }); this.log.push(ms); return id; }
    clearTimeout(id) { this.timers.delete(id); }
    next() {
        let best = null;
        for (const [id, x] of this.timers) if (!best || x.at < best[1].at) best = [id, x];
        return best;
    }
    async step() {
        const n = this.next();
        if (!n) return null;
        this.timers.delete(n[0]);
        this.t = n[1].at;
        n[1].fn();
        await new Promise((r) => setImmediate(r)); // let the client's promises settle
        return n[1];
    }
}

// A WebSocket whose every connection fails right away (as a refused connect does).
class RefusedWS {
    static made = 0;
    constructor() { RefusedWS.made++; this.readyState = 0; queueMicrotask(() => { this.readyState = 3; this.onclose?.({ code: 1006, reason: '' }); }); }
    send() { throw new Error('not open'); }
    close() { this.readyState = 3; }
}

test('default schedule with an injected clock and random: 10 attempts, 1 s doubling to 30 s + 0-30 %, then offline', async () => {
    let x = 42;
    const rnd = () => ((x = (x * 16807) % 2147483647) / 2147483647);
    const rndCopy = (() => { let y = 42; return () => ((y = (y * 16807) % 2147483647) / 2147483647); })();
    const clock = new ManualClock();
    RefusedWS.made = 0;
    const c = new RtClient({ url: 'ws://127.0.0.1:9/ws', token: demoToken(SECRET), WebSocket: RefusedWS, clock, random: rnd, polling: false });
    const r = recorder(c);
    c.connect();
    await new Promise((res) => setImmediate(res));
    const retryDelays = [];
    for (let guard = 0; guard < 100 && c.status !== 'offline'; guard++) {
        const fired = await clock.step();
        assert.ok(fired, 'a timer is pending while not offline');
        if (fired.ms !== DEFAULTS.connectTimeoutMs) retryDelays.push(fired.ms);
    }
    assert.equal(c.status, 'offline');
    assert.equal(r.statuses.at(-1).info.reason, 'max_attempts');
    assert.equal(RefusedWS.made, 1 + DEFAULTS.maxAttempts, 'the first connect plus 10 attempts');
    assert.equal(retryDelays.length, 10);
    retryDelays.forEach((d, i) => {
        const base = Math.min(30000, 1000 * 2 ** i);
        assert.ok(d >= base && d <= base * 1.3, `attempt ${i + 1}: ${d} within [${base}, ${base * 1.3}]`);
        assert.equal(d, backoffDelay(i + 1, DEFAULTS, rndCopy), `attempt ${i + 1} uses the injected random`);
    });
    assert.deepEqual(r.states(), ['connecting', 'reconnecting', 'offline']);
    assert.equal(clock.next(), null, 'no timer left once offline');
    // reconnect() starts a fresh budget
    c.reconnect();
    await new Promise((res) => setImmediate(res));
    assert.equal(RefusedWS.made, 12);
    assert.equal(c.status, 'reconnecting');
    assert.equal(c.attempts, 1);
    c.disconnect();
    assert.equal(clock.next(), null);
});

test("Node's built-in WebSocket (node --experimental-websocket on Node 20) works without injection", async (t) => {
    const { spawn } = await import('node:child_process');
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.publish('calls');
    const script = `
        const { RtClient } = await import(${JSON.stringify(clientPath)});
        if (typeof WebSocket !== 'function') { console.log('NO_WEBSOCKET'); process.exit(3); }
        const c = new RtClient({ url: ${JSON.stringify(edge.url)}, token: ${JSON.stringify(demoToken(SECRET))} });
        c.subscribe('calls', { since: '0-0', onEvent: (e) => { console.log('EVENT ' + e.id + ' ' + c.transport); c.disconnect(); } });
        c.connect();
        setTimeout(() => { console.log('TIMEOUT ' + c.status); process.exit(2); }, 10000).unref();`;
    const flags = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-websocket'] : [];
    const child = spawn(process.execPath, [...flags, '--no-warnings', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0, out);
    assert.equal(out.trim(), `EVENT ${edge.ids('calls')[0]} websocket`);
});

test('row filters: parsed like the edge, applied to events that came over HTTP', async (t) => {
    const m = (f, rec, ev = 'UPDATE') => matchFilter(parseFilter(f), ev === 'DELETE' ? { old_record: rec } : { record: rec }, ev);
    assert.ok(m('status=eq.active', { status: 'active' }));
    assert.ok(!m('status=eq.active', { status: 'ended' }));
    assert.ok(!m('status=eq.active', { other: 'active' }), 'a missing column never matches');
    assert.ok(m('n=gt.9', { n: 10 }) && !m('n=gt.10', { n: 9 }), 'numbers compare numerically');
    assert.ok(m('n=lt.10', { n: 9 }), '9 < 10 numerically (bytewise it would not be)');
    assert.ok(m('n=lte.10', { n: 10 }) && m('n=gte.10', { n: 10 }) && m('n=neq.10', { n: 11 }));
    assert.ok(m('status=in.(active,ringing)', { status: 'ringing' }) && !m('status=in.(active,ringing)', { status: 'ended' }));
    assert.ok(m('status=eq.ended', { status: 'ended' }, 'DELETE'), 'DELETE matches old_record');
    assert.ok(m('x=eq.null', { x: null }) && m('b=eq.true', { b: true }));
    for (const bad of ['status', 'status=like.a', '=eq.1', 'a=in.()', 'a=in.(a,,b)', 'a b=eq.1'])
        assert.equal(parseFilter(bad), null, bad);
    assert.throws(() => new RtClient({ url: 'ws://127.0.0.1:1/ws', token: 't', WebSocket }).subscribe('db:public.calls', { filter: 'x=like.1' }), /filter/);

    // under polling (the fake's HTTP endpoint ignores filters, as rt-edge's does)
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.refuseUpgrade = true;
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET), fallbackAfter: 1, pollIntervalMs: 50, wsProbeMs: 60000 }));
    const got = [];
    c.subscribe('db:public.calls', { filter: 'status=eq.active', onEvent: (e) => got.push(e.data.record.id) });
    c.connect();
    await waitFor(() => c.transport === 'polling' && c.lastId('db:public.calls'));
    let last;
    for (let i = 0; i < 10; i++)
        last = edge.publish('db:public.calls', 'UPDATE', { record: { id: i, status: i % 3 ? 'ended' : 'active' } });
    await waitFor(() => c.lastId('db:public.calls') === last);
    assert.deepEqual(got, [0, 3, 6, 9]);
});

test('long poll: wait is sent once polling works, held requests bring events at once; a 400 to wait drops it', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.refuseUpgrade = true;
    edge.waitSupported = true;
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET), fallbackAfter: 1, pollWaitS: 2, pollIntervalMs: 5000, wsProbeMs: 60000 }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.transport === 'polling' && c.lastId('calls'));
    await sleep(300);
    const before = edge.polls;
    const t0 = Date.now();
    const id = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === id, { timeout: 1500, what: 'event through the held request' });
    const took = Date.now() - t0;
    assert.ok(took < 500, `delivered ${took} ms after publish (long poll, not the 5 s interval)`);
    assert.ok(edge.polls - before <= 2);
    assert.equal(edge.pollParams.at(-1).wait, '2');
    // idle: about one request per wait period, not a busy loop
    const idle0 = edge.polls;
    await sleep(2500);
    assert.ok(edge.polls - idle0 <= 3, `${edge.polls - idle0} requests in 2.5 s idle`);
    // an edge that refuses wait: the client keeps polling without it
    edge.waitSupported = false;
    for (const w of [...edge.waiters]) w.wake();
    await waitFor(() => edge.pollParams.length && !('wait' in edge.pollParams.at(-1)), { what: 'polling without wait' });
    const id2 = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === id2, { timeout: 8000 });
    assert.deepEqual(r.events.map((e) => e.id), [id, id2]);
    assert.equal(c.status, 'connected');
});

test('long poll: a 429 (the edge holds as many long polls as it may) is not a failure; long polls resume', async (t) => {
    const edge = await new FakeEdge().start();
    t.after(() => edge.stop().catch(() => {}));
    edge.refuseUpgrade = true;
    edge.waitSupported = true;
    const c = track(t, new RtClient({ ...FAST, url: edge.url, token: demoToken(SECRET), fallbackAfter: 1, pollWaitS: 2, pollIntervalMs: 100, wsProbeMs: 60000 }));
    const r = recorder(c);
    c.subscribe('calls');
    c.connect();
    await waitFor(() => c.transport === 'polling' && c.lastId('calls'));
    const n0 = r.statuses.length;
    edge.waitBusy = true;
    for (const w of [...edge.waiters]) w.wake();
    await waitFor(() => edge.pollParams.some((p, i) => i > 0 && !('wait' in p) && 'wait' in edge.pollParams[i - 1]), { what: 'a plain poll after the 429' });
    const id = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === id, { timeout: 3000, what: 'events while the edge is busy' });
    edge.waitBusy = false;
    await waitFor(() => edge.waiters.size === 1, { timeout: 3000, what: 'held again' });
    const id2 = edge.publish('calls');
    await waitFor(() => c.lastId('calls') === id2, { timeout: 1000, what: 'event through the held request' });
    assert.deepEqual(r.events.map((e) => e.id), [id, id2]);
    assert.equal(c.status, 'connected');
    assert.deepEqual(r.states().slice(n0), [], 'no status change while the edge is busy');
});
