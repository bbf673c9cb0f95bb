'use strict';
// Recovery (issue 7) on a private redis-server whose append-only file is fsynced on every write,
// so a stream survives a restart: `since` after 1,000 and 5,000 missed events (paged, under
// backpressure, filtered), a stream lost and made again, `since` beyond retention,
// long-poll `wait` on /api/v1/events (wake-up, timeout, bound, release, isolation, drain), and
// the gap fill after rt-edge loses Redis while a publisher keeps publishing: every client's ids
// must equal the stream's ids exactly (no gap, no duplicate, in order).
const fs = require('fs');
const http = require('http');
const path = require('path');
const L = require('./lib');

const FIX = path.join(L.SRC, 'tests/fixtures/redis.sh');
const T = 'acme';

// GET with a socket timeout long enough for a long poll; `abort` lets a test drop the request.
function get(port, p, token, timeoutMs = 40000) {
  let req;
  const done = new Promise((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path: p, agent: false, headers: { Authorization: 'Bearer ' + token } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(body); } catch (e) { /* text */ }
        resolve({ status: res.statusCode, json, body, at: Date.now() });
      });
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('http timeout')));
  });
  return { done, abort: () => req.destroy() };
}

async function streamIds(redis, channel) {
  const r = await redis.cmd('XRANGE', `rt:{${T}}:${channel}`, '-', '+');
  return r.map((e) => e[0]);
}

function cmpId(a, b) {
  const [am, as] = a.split('-').map(BigInt), [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}
const after = (ids, id) => ids.filter((x) => cmpId(x, id) > 0);

// Keeps publishing on a channel (every `pace` ms) through Redis outages: a failed publish is
// retried on a new connection. Records the ids it got acknowledged.
class Publisher {
  constructor(port, channel, pace = 3) { this.port = port; this.channel = channel; this.pace = pace; this.ids = []; this.errors = 0; this.n = 0; }
  start() { this.running = this.loop(); return this; }
  async loop() {
    let r = null;
    while (!this.stopped) {
      try {
        if (!r) r = await new L.Redis(this.port).connect();
        const k = this.n++;
        this.ids.push(await L.publish(r, T, this.channel, 'INSERT', { record: { n: k, kind: k % 3 ? 'odd' : 'three' } }));
      } catch (e) {
        this.errors++;
        if (r) r.close();
        r = null;
        await L.sleep(50);
        continue;
      }
      await L.sleep(this.pace);
    }
    if (r) r.close();
  }
  async stop() { this.stopped = true; await this.running; }
}

// A long-poll loop, as a client would run it: `since` = the last `next`, retried on errors.
class Poller {
  constructor(port, token, channel, since) { this.port = port; this.token = token; this.channel = channel; this.since = since; this.ids = []; this.errors = 0; }
  start() { this.running = this.loop(); return this; }
  async loop() {
    while (!this.stopped) {
      const q = `/api/v1/events?channel=${this.channel}&wait=2&limit=50` + (this.since ? `&since=${this.since}` : '');
      let r;
      try {
        this.cur = get(this.port, q, this.token);
        r = await this.cur.done;
      } catch (e) {
        this.errors++;
        await L.sleep(100);
        continue;
      }
      if (r.status !== 200) { this.errors++; await L.sleep(100); continue; }
      if (r.json.resync_required) throw new Error('unexpected resync_required');
      for (const ev of r.json.events) this.ids.push(ev.id);
      this.since = r.json.next;
    }
  }
  async stop() { this.stopped = true; await this.running; }
}

function eventIds(c, channel) { return c.msgs.filter((m) => m.type === 'event' && m.channel === channel).map((m) => m.id); }

function assertExact(got, want, what) {
  const dup = got.length - new Set(got).size;
  const missing = want.filter((x) => !got.includes(x)).length;
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: ${got.length} ids, stream has ${want.length}; duplicates ${dup}, missing ${missing}; ` +
      `first difference at ${got.findIndex((x, i) => x !== want[i])}`);
  }
}

async function setup() {
  const dir = L.tmpdir('recovery');
  const rdir = path.join(dir, 'redis');
  L.execFileSync('bash', [FIX, 'start', rdir, 'persistent']);
  const port = parseInt(fs.readFileSync(path.join(rdir, 'port'), 'utf8'), 10);
  process.on('exit', () => { try { L.execFileSync('bash', [FIX, 'stop', rdir]); } catch (e) { /* gone */ } });
  const env = L.baseEnv(dir, { RT_REDIS_URL: `redis://127.0.0.1:${port}/0`, RT_LOG_LEVEL: process.env.RT_TEST_LOG_LEVEL || 'info' });
  const edge = await new L.Edge(env).start();
  let redis = await new L.Redis(port).connect();
  const tok = (sub = 'rec', tenant = T) => L.mint({ sub, org_id: tenant });
  const numsub = async (ch) => (await redis.cmd('PUBSUB', 'NUMSUB', `rt:{${T}}:${ch}`))[1];
  const ready = async () => (await L.httpGet(edge.port, '/readyz')).status === 200;

  // After a Redis fault: clients end with exactly the stream's ids after their start.
  async function faultRun(channel, fault) {
    const pub0 = await L.publish(redis, T, channel, 'INSERT', { record: { n: -1 } });
    const cs = [];
    for (let i = 0; i < 3; i++) {
      const c = await L.connected(edge.port, tok('f' + i));
      const r = await c.subscribe(channel, i === 2 ? { filter: 'kind=eq.three' } : {});
      L.eq(r.type, 'subscribed', 'subscribed');
      c.offset = r.offset;
      cs.push(c);
    }
    const poller = new Poller(edge.port, tok('fp'), channel, pub0).start();
    const pub = new Publisher(port, channel).start();
    await L.waitFor(() => pub.ids.length >= 100, 10000, 'publishing before the fault');
    await fault();
    const n0 = pub.ids.length;
    await L.waitFor(() => pub.ids.length >= n0 + 200, 20000, 'publishing after the fault');
    await pub.stop();
    const want = await streamIds(redis, channel);
    const inStream = new Set(want);
    L.assert(pub.ids.every((x) => inStream.has(x)), 'the stream holds every acknowledged publish');
    const last = want[want.length - 1];
    const three = new Set();
    for (const e of (await redis.cmd('XRANGE', `rt:{${T}}:${channel}`, '-', '+'))) if (JSON.parse(e[1][1]).data.record.kind === 'three') three.add(e[0]);
    const wants = cs.map((c, i) => after(want, c.offset).filter((x) => i !== 2 || three.has(x)));
    try {
      await L.waitFor(() => cs.every((c, i) => eventIds(c, channel).includes(wants[i][wants[i].length - 1]) || c.closeInfo) && poller.ids.includes(last), 15000, 'clients caught up');
    } catch (e) {
      const state = cs.map((c, i) => `ws${i}: ${eventIds(c, channel).length} ids, last ${eventIds(c, channel).slice(-1)}, close ${JSON.stringify(c.closeInfo)}, other ${JSON.stringify(c.msgs.filter((m) => m.type !== 'event')).slice(0, 200)}`);
      throw new Error(`${e.message}; stream ${want.length} ids, last ${last}; ${state.join('; ')}; poller ${poller.ids.length} ids, last ${poller.ids.slice(-1)}, errors ${poller.errors}; edge log: ${edge.lines.filter((l) => /subs\.|redis\.|poll\./.test(l)).slice(-8).join(' | ')}`);
    }
    await poller.stop();
    await L.sleep(200); // anything extra (a duplicate) would come now
    for (let i = 0; i < cs.length; i++) {
      L.assert(!cs[i].closeInfo, 'client still connected ' + JSON.stringify(cs[i].closeInfo));
      L.assert(!cs[i].msgs.some((m) => m.type === 'resync_required'), 'no resync_required');
      assertExact(eventIds(cs[i], channel), wants[i], 'websocket client ' + i);
    }
    assertExact(poller.ids, after(want, pub0), 'long-poll client');
    cs.forEach((c) => c.close());
    await L.waitFor(async () => (await numsub(channel)) === 0, 5000, 'no subscription left behind');
    return { published: pub.ids.length, errors: pub.errors, filled: wants[0].length };
  }

  const only = process.env.RT_TEST_ONLY ? new RegExp(process.env.RT_TEST_ONLY) : null;
  return [
    ['since after 1,000 missed events: exactly those 1,000 in order, then live ones', async () => {
      const ch = 'db:public.missed';
      const c = await L.connected(edge.port, tok('m1'));
      L.eq((await c.subscribe(ch)).type, 'subscribed', 'subscribed');
      const first = await L.publish(redis, T, ch, 'INSERT', { record: { i: -1 } });
      L.eq((await c.type('event')).id, first, 'live before the disconnect');
      c.close();
      await c.closed;
      const missed = [];
      for (let i = 0; i < 1000; i++) missed.push(await L.publish(redis, T, ch, 'INSERT', { record: { i } }));
      const d = await L.connected(edge.port, tok('m1'));
      const out0 = await L.metric(edge.port, 'rt_edge_events_out_total');
      const r = await d.subscribe(ch, { since: first });
      L.eq([r.type, r.offset], ['subscribed', missed[999]], 'subscribed, offset = newest');
      await L.waitFor(() => eventIds(d, ch).length >= 1000, 10000, '1,000 replayed events');
      L.eq(eventIds(d, ch), missed, 'the 1,000 missed events, in order, once');
      L.eq(await L.metric(edge.port, 'rt_edge_events_out_total') - out0, 1000, 'replayed events counted as events out');
      const live = [];
      for (let i = 0; i < 3; i++) live.push(await L.publish(redis, T, ch, 'INSERT', { record: { live: i } }));
      await L.waitFor(() => eventIds(d, ch).length >= 1003, 5000, 'live events');
      await L.sleep(200);
      L.eq(eventIds(d, ch), missed.concat(live), 'then the live ones, nothing twice');
      // the same sequence through /api/v1/events, page by page with `next`
      const ids = [];
      let since = first;
      for (;;) {
        const p = await get(edge.port, `/api/v1/events?channel=${ch}&since=${since}&limit=1000&wait=1`, tok('m1')).done;
        L.eq(p.status, 200, 'poll status');
        if (!p.json.events.length) break;
        ids.push(...p.json.events.map((e) => e.id));
        since = p.json.next;
      }
      L.eq(ids, eventIds(d, ch), 'polling gives the same ids as the WebSocket');
      d.close();
    }],
    ['since after 5,000 missed events: paged replay under backpressure, live events during and after it, each once', async () => {
      const ch = 'db:public.paged';
      const c = await L.connected(edge.port, tok('pg'));
      L.eq((await c.subscribe(ch)).type, 'subscribed', 'subscribed');
      const first = await L.publish(redis, T, ch, 'INSERT', { record: { i: -1 } });
      L.eq((await c.type('event')).id, first, 'live before the disconnect');
      c.close();
      await c.closed;
      // ~1.6 KB each: 5,000 are about 8 MB, twice the outbound queue's byte bound (4 MiB) and
      // more than the kernel buffers hold, so a replay without backpressure would close 4008
      const pad = 'x'.repeat(1500);
      const missed = await Promise.all(Array.from({ length: 5000 }, (_, i) => L.publish(redis, T, ch, 'INSERT', { record: { i, pad } })));
      const d = await L.connected(edge.port, tok('pg'));
      d.send({ type: 'subscribe', ref: 'pg', channel: ch, since: first });
      // live events published during the replay (more than a subscription holds: 256)
      const pub = new Publisher(port, ch, 1).start();
      const r = await d.next((m) => m.ref === 'pg', 5000, 'subscribed');
      L.assert(r.type === 'subscribed' && cmpId(r.offset, missed[4999]) >= 0, 'subscribed, offset = the newest id then: ' + JSON.stringify(r));
      d.ws._socket.pause(); // a slow reader: the edge's queue fills up while pages wait
      await L.waitFor(() => pub.ids.length >= 400, 10000, 'live events during the replay');
      const seen = eventIds(d, ch).length;
      d.ws._socket.resume();
      await pub.stop();
      L.assert(seen < 5000, `400 live events published while the replay was going on (${seen} received then)`);
      const after1 = [];
      for (let i = 0; i < 3; i++) after1.push(await L.publish(redis, T, ch, 'INSERT', { record: { after: i } }));
      const want = after(await streamIds(redis, ch), first);
      L.eq(want.length, 5000 + pub.ids.length + 3, 'stream holds them all');
      await L.waitFor(() => eventIds(d, ch).length >= want.length || d.closeInfo, 30000, 'replay and live events');
      await L.sleep(200); // a duplicate would come now
      L.assert(!d.closeInfo, 'still connected (no 4008): ' + JSON.stringify(d.closeInfo));
      L.assert(!d.msgs.some((m) => m.type === 'resync_required'), 'no resync_required');
      assertExact(eventIds(d, ch), want, 'replayed and live events');
      L.eq(eventIds(d, ch).slice(0, 5000), missed, 'the 5,000 missed events first, in order');
      L.eq(eventIds(d, ch).slice(-3), after1, 'then live ones after the replay');
      d.close();
    }],
    ['a filtered since replay over 3,000 entries pages through all of them: exactly the matching ones', async () => {
      const ch = 'db:public.pagedf';
      const first = await L.publish(redis, T, ch, 'INSERT', { record: { i: -1, k: 'hit' } });
      const all = await Promise.all(Array.from({ length: 3000 }, (_, i) => L.publish(redis, T, ch, 'INSERT', { record: { i, k: i % 10 === 7 ? 'hit' : 'miss' } })));
      const hits = all.filter((_, i) => i % 10 === 7);
      const d = await L.connected(edge.port, tok('pgf'));
      const r = await d.subscribe(ch, { since: first, filter: 'k=eq.hit' });
      L.eq(r.type, 'subscribed', 'subscribed');
      await L.waitFor(() => eventIds(d, ch).length >= 300, 10000, '300 matching events');
      const miss = await L.publish(redis, T, ch, 'INSERT', { record: { k: 'miss' } });
      const hit = await L.publish(redis, T, ch, 'INSERT', { record: { k: 'hit' } });
      await L.waitFor(() => eventIds(d, ch).includes(hit), 5000, 'live match');
      await L.sleep(100);
      L.assert(!d.msgs.some((m) => m.type === 'resync_required'), 'no resync_required');
      L.assert(!eventIds(d, ch).includes(miss), 'no live non-match');
      assertExact(eventIds(d, ch), hits.concat([hit]), 'the matching entries of all 3,000, then the live match');
      d.close();
    }],
    ['stream lost and made again (Redis without persistence): resync_required offset_expired, not a silent nothing', async () => {
      const ch = 'db:public.remade';
      const key = `rt:{${T}}:${ch}`;
      const old = [];
      for (let i = 0; i < 3; i++) old.push(await L.publish(redis, T, ch, 'INSERT', { record: { i } }));
      const since = old[2];
      await redis.cmd('DEL', key);
      const fresh = await L.publish(redis, T, ch, 'INSERT', { record: { i: 'new' } });
      const c = await L.connected(edge.port, tok('remade'));
      c.send({ type: 'subscribe', ref: 'r1', channel: ch, since });
      const m = await c.type('resync_required');
      L.eq([m.channel, m.reason], [ch, 'offset_expired'], 'since from the lost stream');
      L.assert(!c.msgs.some((x) => x.type === 'event' || x.type === 'subscribed'), 'no partial replay');
      const p = await get(edge.port, `/api/v1/events?channel=${ch}&since=${since}`, tok('remade')).done;
      L.eq([p.status, p.json.resync_required, p.json.events.length], [200, true, 0], 'polling says resync_required too');
      // made again with explicit ids below the client's position: since newer than its last id
      await redis.cmd('DEL', key);
      await redis.cmd('XADD', key, '5-1', 'e', JSON.stringify({ channel: ch, event: 'INSERT', tenant: T, ts: new Date().toISOString(), data: {} }));
      c.send({ type: 'subscribe', ref: 'r2', channel: ch, since: fresh });
      const m2 = await c.type('resync_required');
      L.eq([m2.channel, m2.reason], [ch, 'offset_expired'], 'since newer than the last generated id');
      // the whole stream ("0-0") and a since it holds are fine
      const ok = await c.subscribe(ch, { since: '0-0' });
      L.eq([ok.type, ok.offset], ['subscribed', '5-1'], 'since 0-0 subscribes');
      L.eq((await c.type('event')).id, '5-1', 'and replays the stream');
      c.close();
    }],
    ['since beyond retention (MAXLEN of the publish script): resync_required on both transports', async () => {
      const ch = 'db:public.retained';
      const ids = [];
      for (let i = 0; i < 400; i++) {
        const body = JSON.stringify({ channel: ch, event: 'INSERT', tenant: T, ts: new Date().toISOString(), data: { record: { i } } });
        ids.push((await redis.cmd('EVAL', L.SCRIPT, '1', `rt:{${T}}:${ch}`, body, '100', '0'))[1]);
      }
      const kept = await streamIds(redis, ch);
      L.assert(kept.length < 400 && kept[0] !== ids[0], `trimmed to ${kept.length}`);
      const c = await L.connected(edge.port, tok('ret'));
      c.send({ type: 'subscribe', ref: 'r', channel: ch, since: ids[0] });
      const m = await c.type('resync_required');
      L.eq([m.channel, m.reason], [ch, 'offset_expired'], 'websocket resync_required');
      const p = await get(edge.port, `/api/v1/events?channel=${ch}&since=${ids[0]}&wait=5`, tok('ret')).done;
      L.eq([p.status, p.json.resync_required, p.json.events.length], [200, true, 0], 'polling resync_required, at once');
      // a since inside the window replays the rest
      const inside = kept[kept.length - 3];
      const d = await L.connected(edge.port, tok('ret2'));
      L.eq((await d.subscribe(ch, { since: inside })).type, 'subscribed', 'within retention');
      await L.waitFor(() => eventIds(d, ch).length === 2, 5000, 'two replayed');
      L.eq(eventIds(d, ch), kept.slice(-2), 'replayed');
      c.close(); d.close();
    }],
    ['a held request returns as soon as an event is published, subscription released after', async () => {
      const ch = 'db:public.held';
      const since = await L.publish(redis, T, ch, 'INSERT', { record: { i: 0 } });
      const t0 = Date.now();
      const req = get(edge.port, `/api/v1/events?channel=${ch}&since=${since}&wait=20`, tok('h1'));
      await L.waitFor(async () => (await numsub(ch)) === 1 && (await L.metric(edge.port, 'rt_edge_poll_held')) === 1, 5000, 'request held and subscribed');
      L.assert((await L.metric(edge.port, 'rt_edge_subscriptions', 'scope="redis"')) >= 1, 'counted as a Redis subscription');
      await L.sleep(300);
      const tp = Date.now();
      const id = await L.publish(redis, T, ch, 'INSERT', { record: { i: 1 } });
      const r = await req.done;
      L.eq([r.status, r.json.events.map((e) => e.id), r.json.next, r.json.resync_required], [200, [id], id, false], 'the event');
      L.eq(Object.keys(r.json.events[0]), ['type', 'channel', 'id', 'event', 'ts', 'data'], 'same event object as the WebSocket');
      L.eq(r.json.events[0].data.record.i, 1, 'payload');
      const took = r.at - tp;
      console.log(`# held request answered ${took} ms after the publish (wait=20 s; held ${tp - t0} ms before)`);
      L.assert(took < 1000, `answered ${took} ms after the publish`);
      await L.waitFor(async () => (await numsub(ch)) === 0, 5000, 'unsubscribed after the answer');
      L.eq(await L.metric(edge.port, 'rt_edge_poll_held'), 0, 'nothing held');
      L.eq(await L.metric(edge.port, 'rt_edge_poll_held_total', 'outcome="events"') >= 1, true, 'counted');
      // several events in one burst: one answer in id order
      const req2 = get(edge.port, `/api/v1/events?channel=${ch}&since=${id}&wait=20`, tok('h1'));
      await L.waitFor(async () => (await numsub(ch)) === 1, 5000, 'held again');
      const p = [L.publish(redis, T, ch, 'INSERT', { record: { i: 2 } }), L.publish(redis, T, ch, 'INSERT', { record: { i: 3 } })];
      const ids = await Promise.all(p);
      const r2 = await req2.done;
      const got = r2.json.events.map((e) => e.id);
      L.assert(got.length >= 1 && got.every((x, i) => x === ids[i]), `events in order: ${got} vs ${ids}`);
      L.eq(r2.json.next, got[got.length - 1], 'next');
    }],
    ['long poll: timeout, client gone, isolation, no since, bad wait', async () => {
      const ch = 'db:public.quiet';
      const since = await L.publish(redis, T, ch, 'INSERT', { record: {} });
      const t0 = Date.now();
      const r = await get(edge.port, `/api/v1/events?channel=${ch}&since=${since}&wait=1`, tok('q')).done;
      const took = Date.now() - t0;
      L.eq([r.status, r.json.events, r.json.next, r.json.resync_required], [200, [], since, false], 'empty answer after wait');
      L.assert(took >= 900 && took < 4000, 'answered after about 1 s: ' + took);
      // the client goes away: the subscription is released at once
      const q = get(edge.port, `/api/v1/events?channel=${ch}&since=${since}&wait=20`, tok('q'));
      q.done.catch(() => {});
      await L.waitFor(async () => (await numsub(ch)) === 1, 5000, 'held');
      q.abort();
      await L.waitFor(async () => (await numsub(ch)) === 0 && (await L.metric(edge.port, 'rt_edge_poll_held')) === 0, 5000, 'released when the client went away');
      L.assert((await L.metric(edge.port, 'rt_edge_poll_held_total', 'outcome="closed"')) >= 1, 'counted as closed');
      // another tenant's event on the same channel name, another user's channel: no wake-up
      const a = get(edge.port, `/api/v1/events?channel=${ch}&since=${since}&wait=3`, tok('q'));
      const u = get(edge.port, '/api/v1/events?channel=user&wait=3', tok('u-one'));
      await L.waitFor(async () => (await L.metric(edge.port, 'rt_edge_poll_held')) === 2, 5000, 'both held');
      await L.publish(redis, 'other', ch, 'INSERT', { record: { foreign: true } });
      await L.publish(redis, T, 'user:u-two', 'dm', {});
      const ra = await a.done, ru = await u.done;
      L.eq([ra.json.events.length, ru.json.events.length], [0, 0], 'not woken by other tenants or users');
      // without since: the next event after the newest one
      const nx = get(edge.port, '/api/v1/events?channel=user&wait=10', tok('u-one'));
      await L.waitFor(async () => (await L.metric(edge.port, 'rt_edge_poll_held')) === 1, 5000, 'held without since');
      const dm = await L.publish(redis, T, 'user:u-one', 'dm', { hi: 1 });
      L.eq((await nx.done).json.events.map((e) => [e.id, e.channel]), [[dm, 'user']], 'own user channel woke it');
      for (const w of ['31', '-1', 'abc', '', '1.5', '99999999999999999999']) {
        const b = await get(edge.port, `/api/v1/events?channel=${ch}&wait=${w}`, tok('q')).done;
        L.eq([b.status, b.json.error], [400, 'bad_request'], 'wait=' + w);
      }
      const z = await get(edge.port, `/api/v1/events?channel=${ch}&since=${since}&wait=0`, tok('q')).done;
      L.eq([z.status, z.json.events.length], [200, 0], 'wait=0 answers at once');
    }],
    ['pub/sub connection killed while events flow: each client gets the stream exactly', async () => {
      const r = await faultRun('db:public.fault1', async () => {
        const killed = await redis.cmd('CLIENT', 'KILL', 'TYPE', 'pubsub');
        L.assert(killed >= 1, 'killed the subscriber connection');
        await L.waitFor(async () => (await numsub('db:public.fault1')) >= 1, 10000, 'resubscribed');
      });
      L.assert((await L.metric(edge.port, 'rt_edge_gap_fills_total', 'result="ok"')) >= 1, 'a gap fill ran');
      // events published while the subscriber connection was down came from the stream
      L.assert((await L.metric(edge.port, 'rt_edge_gap_fill_events_total')) >= 1, 'the fill delivered events');
      console.log(`# pub/sub killed: ${r.published} events published`);
    }],
    ['redis-server restarted while a publisher keeps publishing: no gap, no duplicate', async () => {
      const r = await faultRun('db:public.fault2', async () => {
        redis.close();
        L.execFileSync('bash', [FIX, 'stop', rdir]);
        await L.waitFor(async () => !(await ready()), 5000, 'edge sees the outage');
        await L.sleep(500);
        L.execFileSync('bash', [FIX, 'restart', rdir]);
        redis = await new L.Redis(port).connect();
        await L.waitFor(ready, 15000, 'edge ready again');
      });
      console.log(`# redis restarted: ${r.published} events published, ${r.errors} publish errors during the outage`);
    }],
    ['events stored while the subscriber connection was down reach live clients and a held request', async () => {
      const ch = 'db:public.hole';
      const key = `rt:{${T}}:${ch}`;
      const c = await L.connected(edge.port, tok('hole'));
      L.eq((await c.subscribe(ch, { filter: 'i=gte.2' })).type, 'subscribed', 'subscribed with a filter');
      const d = await L.connected(edge.port, tok('hole2'));
      L.eq((await d.subscribe(ch)).type, 'subscribed', 'subscribed');
      const id0 = await L.publish(redis, T, ch, 'INSERT', { record: { i: 0 } });
      L.eq((await d.type('event')).id, id0, 'live');
      const held = get(edge.port, `/api/v1/events?channel=${ch}&since=${id0}&wait=20`, tok('hole'));
      await L.waitFor(async () => (await L.metric(edge.port, 'rt_edge_poll_held')) === 1, 5000, 'held');
      // atomically: the subscriber connection goes and three events are stored (as rt-ingest
      // would while the edge's pub/sub connection is down: nothing is published to it)
      await redis.cmd('MULTI');
      await redis.cmd('CLIENT', 'KILL', 'TYPE', 'pubsub');
      for (let i = 1; i <= 3; i++) await redis.cmd('XADD', key, '*', 'e', JSON.stringify({ channel: ch, event: 'INSERT', tenant: T, ts: new Date().toISOString(), data: { record: { i } } }));
      const ids = (await redis.cmd('EXEC')).slice(1);
      const p = await held.done;
      L.eq([p.status, p.json.events.map((e) => e.id), p.json.next], [200, ids, ids[2]], 'the held request got them from the stream');
      await L.waitFor(() => eventIds(d, ch).length === 3, 5000, 'websocket client got them');
      L.eq(eventIds(d, ch), ids, 'in order, once');
      await L.waitFor(() => eventIds(c, ch).length === 2, 5000, 'filtered client got its two');
      L.eq(eventIds(c, ch), ids.slice(1), 'the filter applies to the fill');
      const live = await L.publish(redis, T, ch, 'INSERT', { record: { i: 4 } });
      await L.waitFor(() => eventIds(d, ch).length === 4 && eventIds(c, ch).length === 3, 5000, 'live after the fill');
      await L.sleep(100);
      L.eq([eventIds(d, ch), eventIds(c, ch)], [[...ids, live], [...ids.slice(1), live]], 'live event once, nothing twice');
      c.close(); d.close();
    }],
    ['gap fill of 1,500 events after the pub/sub connection was lost: every client gets them, no resync', async () => {
      const ch = 'db:public.biggap';
      const key = `rt:{${T}}:${ch}`;
      const c = await L.connected(edge.port, tok('bg'));
      L.eq((await c.subscribe(ch, { filter: 'i=gte.1000' })).type, 'subscribed', 'subscribed with a filter');
      const d = await L.connected(edge.port, tok('bg2'));
      L.eq((await d.subscribe(ch)).type, 'subscribed', 'subscribed');
      const id0 = await L.publish(redis, T, ch, 'INSERT', { record: { i: -1 } });
      L.eq((await d.type('event')).id, id0, 'live'); // (taken out of d.msgs)
      const filled0 = await L.metric(edge.port, 'rt_edge_gap_fill_events_total');
      // atomically: the subscriber connection goes and 1,500 events are stored unpublished
      await redis.cmd('MULTI');
      const q = [redis.cmd('CLIENT', 'KILL', 'TYPE', 'pubsub')];
      for (let i = 0; i < 1500; i++) q.push(redis.cmd('XADD', key, '*', 'e', JSON.stringify({ channel: ch, event: 'INSERT', tenant: T, ts: new Date().toISOString(), data: { record: { i } } })));
      await Promise.all(q);
      const ids = (await redis.cmd('EXEC')).slice(1);
      L.eq(ids.length, 1500, 'stored');
      await L.waitFor(() => eventIds(d, ch).length >= 1500 || d.closeInfo, 15000, 'websocket client got them');
      await L.waitFor(() => eventIds(c, ch).length >= 500 || c.closeInfo, 15000, 'filtered client got its 500');
      const live = await L.publish(redis, T, ch, 'INSERT', { record: { i: 5000 } });
      await L.waitFor(() => eventIds(d, ch).includes(live) && eventIds(c, ch).includes(live), 5000, 'live after the fill');
      await L.sleep(100);
      for (const x of [c, d]) {
        L.assert(!x.closeInfo, 'still connected ' + JSON.stringify(x.closeInfo));
        L.assert(!x.msgs.some((m) => m.type === 'resync_required'), 'no resync_required');
      }
      assertExact(eventIds(d, ch), [...ids, live], 'every stored event in order, once, then live');
      assertExact(eventIds(c, ch), [...ids.slice(1000), live], 'the filter applies to the whole fill');
      const filled = (await L.metric(edge.port, 'rt_edge_gap_fill_events_total')) - filled0;
      L.eq(filled, 2000, 'fill events counted (1,500 + 500)');
      c.close(); d.close();
    }],
    ['stream trimmed past a client\'s position during an outage: resync_required, not a gap', async () => {
      const ch = 'db:public.lost';
      const key = `rt:{${T}}:${ch}`;
      const c = await L.connected(edge.port, tok('lost'));
      L.eq((await c.subscribe(ch)).type, 'subscribed', 'subscribed');
      const id0 = await L.publish(redis, T, ch, 'INSERT', { record: { i: 0 } });
      L.eq((await c.type('event')).id, id0, 'live');
      const held = get(edge.port, `/api/v1/events?channel=${ch}&since=${id0}&wait=20`, tok('lost'));
      await L.waitFor(async () => (await L.metric(edge.port, 'rt_edge_poll_held')) === 1, 5000, 'held');
      // atomically: the subscriber connection goes, three events are added and all but one trimmed
      await redis.cmd('MULTI');
      await redis.cmd('CLIENT', 'KILL', 'TYPE', 'pubsub');
      for (let i = 1; i <= 3; i++) await redis.cmd('XADD', key, '*', 'e', JSON.stringify({ channel: ch, event: 'INSERT', tenant: T, ts: new Date().toISOString(), data: { record: { i } } }));
      await redis.cmd('XTRIM', key, 'MAXLEN', '1');
      await redis.cmd('EXEC');
      const m = await c.type('resync_required', 10000);
      L.eq([m.channel, m.reason], [ch, 'offset_expired'], 'websocket resync_required');
      L.assert(!c.msgs.some((x) => x.type === 'event'), 'no event past the hole');
      const p = await held.done;
      L.eq([p.status, p.json.resync_required], [200, true], 'the held request says resync_required');
      L.assert((await L.metric(edge.port, 'rt_edge_gap_fills_total', 'result="resync"')) >= 1, 'counted');
      c.close();
    }],
    ['long-poll bound: 429 over RT_EDGE_POLL_MAX_HELD, immediate answers still served', async () => {
      const e2 = await new L.Edge(Object.assign({}, env, { RT_EDGE_POLL_MAX_HELD: '2' })).start();
      const ch = 'db:public.bound';
      const since = await L.publish(redis, T, ch, 'INSERT', { record: {} });
      const hs = [get(e2.port, `/api/v1/events?channel=${ch}&since=${since}&wait=20`, tok('b')), get(e2.port, `/api/v1/events?channel=${ch}&since=${since}&wait=20`, tok('b'))];
      await L.waitFor(async () => (await L.metric(e2.port, 'rt_edge_poll_held')) === 2, 5000, 'two held');
      const over = await get(e2.port, `/api/v1/events?channel=${ch}&since=${since}&wait=20`, tok('b')).done;
      L.eq([over.status, over.json.error], [429, 'rate_limited'], 'third refused');
      L.assert(/RT_EDGE_POLL_MAX_HELD|too many/.test(over.json.message), over.json.message);
      L.eq(await L.metric(e2.port, 'rt_edge_poll_refused_total'), 1, 'counted');
      const old = await get(e2.port, `/api/v1/events?channel=${ch}&wait=20`, tok('b')).done;
      L.eq([old.status, old.json.events.length], [200, 1], 'a poll with something to answer is served');
      // drain: held requests are answered at once, and the edge exits
      const t0 = Date.now();
      const exit = e2.stop('SIGTERM');
      const rs = await Promise.all(hs.map((h) => h.done));
      const took = Date.now() - t0;
      L.eq(rs.map((x) => [x.status, x.json.events.length, x.json.next]), [[200, 0, since], [200, 0, since]], 'answered on drain');
      L.assert(took < 2000, 'answered ' + took + ' ms after SIGTERM');
      L.eq((await exit).code, 0, 'exit 0');
      L.assert(e2.logHas(/"process.drained".*"why":"empty"/), 'drained empty');
    }],
    ['long-poll per user: held polls count as the user\'s connections (RT_EDGE_MAX_CONNECTIONS_PER_USER)', async () => {
      const e2 = await new L.Edge(Object.assign({}, env, { RT_EDGE_MAX_CONNECTIONS_PER_USER: '2' })).start();
      const ch = 'db:public.peruser';
      const since = await L.publish(redis, T, ch, 'INSERT', { record: {} });
      const url = `/api/v1/events?channel=${ch}&since=${since}&wait=20`;
      const ws = await L.connected(e2.port, tok('pu'));
      const h1 = get(e2.port, url, tok('pu'));
      await L.waitFor(async () => (await L.metric(e2.port, 'rt_edge_poll_held')) === 1, 5000, 'one held');
      const over = await get(e2.port, url, tok('pu')).done;
      L.eq([over.status, over.json.error], [429, 'rate_limited'], 'a third connection of the user (one WebSocket, one held poll) is refused');
      L.assert(/this user/.test(over.json.message), over.json.message);
      const third = L.Client.open(e2.port, { protocols: ['rt.v1', 'rt.bearer.' + tok('pu')] });
      await third.opened;
      L.eq((await third.closeCode()).code, 4009, 'and so is a WebSocket while the poll is held');
      const other = get(e2.port, url, tok('pu-2'));
      await L.waitFor(async () => (await L.metric(e2.port, 'rt_edge_poll_held')) === 2, 5000, 'another user of the tenant is held');
      // the held poll answered: its slot is free again
      const id = await L.publish(redis, T, ch, 'INSERT', { record: { n: 1 } });
      const [r1, r2] = await Promise.all([h1.done, other.done]);
      L.eq([r1.status, r1.json.next, r2.json.next], [200, id, id], 'both answered by the event');
      const again = get(e2.port, `/api/v1/events?channel=${ch}&since=${id}&wait=20`, tok('pu'));
      await L.waitFor(async () => (await L.metric(e2.port, 'rt_edge_poll_held')) === 1, 5000, 'held again after the answer');
      const id2 = await L.publish(redis, T, ch, 'INSERT', { record: { n: 2 } });
      L.eq((await again.done).json.next, id2, 'answered');
      ws.close();
      await e2.stop('SIGTERM');
    }],
  ].filter(([name]) => !only || only.test(name));
}

L.main('ws_recovery', setup);
