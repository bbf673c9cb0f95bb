'use strict';
// Redis faults on a private redis-server: clients stay connected through a restart, /readyz
// goes 503 then 200, the edge resubscribes and events published after the restart arrive.
// Also: the liveness key, and the HTTP polling endpoint.
const fs = require('fs');
const path = require('path');
const L = require('./lib');

const FIX = path.join(L.SRC, 'tests/fixtures/redis.sh');

async function setup() {
  const dir = L.tmpdir('redis');
  const rdir = path.join(dir, 'redis');
  L.execFileSync('bash', [FIX, 'start', rdir, 'private']);
  const port = parseInt(fs.readFileSync(path.join(rdir, 'port'), 'utf8'), 10);
  process.on('exit', () => { try { L.execFileSync('bash', [FIX, 'stop', rdir]); } catch (e) { /* gone */ } });
  const env = L.baseEnv(dir, { RT_REDIS_URL: `redis://127.0.0.1:${port}/0`, RT_EDGE_INSTANCE_ID: 'edge-test-1', RT_EDGE_LIVENESS_TTL_S: '3' });
  const edge = await new L.Edge(env).start();
  let redis = await new L.Redis(port).connect();
  const ready = async () => (await L.httpGet(edge.port, '/readyz')).status;
  return [
    ['liveness key with TTL, id, address and connections', async () => {
      const c = await L.connected(edge.port, L.mint({ sub: 'live' }));
      const v = await L.waitFor(async () => {
        const s = await redis.cmd('GET', 'rt:instances:rt-edge:edge-test-1');
        const o = s && JSON.parse(s);
        return o && o.connections === 1 ? o : null;
      }, 5000, 'liveness key with one connection');
      L.eq(v.id, 'edge-test-1', 'id');
      L.assert(v.address.endsWith(':' + edge.port), 'address ' + v.address);
      const ttl = await redis.cmd('TTL', 'rt:instances:rt-edge:edge-test-1');
      // rt-health reads the registry: the instance is listed with its expiry
      const score = await redis.cmd('ZSCORE', 'rt:instances', 'rt-edge:edge-test-1');
      L.assert(Number(score) > Date.now(), 'registry expiry ' + score);
      L.assert(ttl > 0 && ttl <= 3, 'ttl ' + ttl);
      c.close();
    }],
    ['redis restarted: clients stay, /readyz 503 then 200, resubscribed, events arrive', async () => {
      await L.waitFor(async () => (await ready()) === 200, 5000, 'ready before');
      const cs = [];
      for (let i = 0; i < 3; i++) {
        const c = await L.connected(edge.port, L.mint({ sub: 'r' + i }));
        L.eq((await c.subscribe('tenant')).type, 'subscribed', 'tenant');
        L.eq((await c.subscribe('user')).type, 'subscribed', 'user');
        cs.push(c);
      }
      L.execFileSync('bash', [FIX, 'kill', rdir]);
      redis.close();
      await L.waitFor(async () => (await ready()) === 503, 5000, '/readyz 503 while redis is down');
      const body = (await L.httpGet(edge.port, '/readyz')).json;
      L.assert(/redis/.test(body.reason), 'reason names redis: ' + body.reason);
      // a subscribe while redis is down is answered (internal), the connection stays
      const r = await cs[0].subscribe('calls');
      L.eq([r.type, r.code], ['error', 'internal'], 'subscribe during the outage');
      await L.sleep(1500);
      L.execFileSync('bash', [FIX, 'restart', rdir]);
      redis = await new L.Redis(port).connect();
      await L.waitFor(async () => (await ready()) === 200, 10000, '/readyz 200 after the restart');
      await L.waitFor(async () => (await redis.cmd('PUBSUB', 'NUMSUB', 'rt:{acme}:tenant'))[1] === 1, 5000, 'resubscribed');
      for (const c of cs) L.assert(!c.closeInfo, 'client still connected');
      const id = await L.publish(redis, 'acme', 'tenant', 'after_restart', { ok: true });
      for (const c of cs) L.eq((await c.type('event')).id, id, 'event after the restart');
      const uid = await L.publish(redis, 'acme', 'user:r1', 'dm', {});
      L.eq((await cs[1].type('event')).id, uid, 'user channel resubscribed too');
      cs.forEach((c) => c.close());
    }],
    ['subscribe with since: subscribed, replay in order, then live, no duplicate, no gap', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await L.publish(redis, 'acme', 'db:public.replay', 'INSERT', { record: { i, k: i % 2 ? 'odd' : 'even' } }));
      const c = await L.connected(edge.port, L.mint({ sub: 'replayer' }));
      const r = await c.subscribe('db:public.replay', { since: ids[1] }, 'rp');
      L.eq([r.type, r.offset], ['subscribed', ids[4]], 'subscribed first, offset = newest');
      for (let i = 2; i < 5; i++) L.eq((await c.type('event')).id, ids[i], 'replayed ' + i);
      const live = await L.publish(redis, 'acme', 'db:public.replay', 'INSERT', { record: { i: 5 } });
      L.eq((await c.type('event')).id, live, 'live after the replay');
      const f = await L.connected(edge.port, L.mint({ sub: 'replayer-f' }));
      L.eq((await f.subscribe('db:public.replay', { since: ids[0], filter: 'k=eq.odd' })).type, 'subscribed', 'with filter');
      L.eq((await f.type('event')).id, ids[1], 'filtered replay 1');
      L.eq((await f.type('event')).id, ids[3], 'filtered replay 3');
      // events published while the subscription is being set up: each exactly once, in order
      const g = await L.connected(edge.port, L.mint({ sub: 'replayer-g' }));
      const burst = [];
      const pub = (async () => { for (let i = 0; i < 60; i++) burst.push(await L.publish(redis, 'acme', 'db:public.replay', 'INSERT', { record: { b: i } })); })();
      await L.sleep(5);
      const gr = await g.subscribe('db:public.replay', { since: live });
      L.eq(gr.type, 'subscribed', 'subscribed during a burst');
      await pub;
      const got = [];
      while (got.length < burst.length) got.push((await g.next((m) => m.type === 'event', 5000, 'burst event')).id);
      L.eq(got, burst, 'every burst event once, in order');
      await L.sleep(200);
      L.assert(!g.msgs.some((m) => m.type === 'event'), 'no duplicate after the burst');
      const bad = await g.subscribe('db:public.other', { since: 'yesterday' });
      L.eq([bad.type, bad.code], ['error', 'bad_request'], 'malformed since');
      c.close(); f.close(); g.close();
    }],
    ['subscribe with a since older than the stream keeps: resync_required', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await L.publish(redis, 'acme', 'db:public.gone', 'INSERT', { record: { i } }));
      await redis.cmd('XTRIM', 'rt:{acme}:db:public.gone', 'MAXLEN', '2');
      const c = await L.connected(edge.port, L.mint({ sub: 'resync' }));
      c.send({ type: 'subscribe', ref: 'old', channel: 'db:public.gone', since: ids[0] });
      const m = await c.type('resync_required');
      L.eq([m.channel, m.reason], ['db:public.gone', 'offset_expired'], 'resync_required');
      L.assert(!c.msgs.some((x) => x.type === 'event'), 'no partial replay');
      const again = await c.subscribe('db:public.gone');
      L.eq([again.type, again.offset], ['subscribed', ids[4]], 'subscribe again without since');
      c.close();
    }],
    ['polling: events in order, next, limit, isolation and errors', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await L.publish(redis, 'acme', 'db:public.poll', 'INSERT', { record: { i } }));
      await L.publish(redis, 'other', 'db:public.poll', 'INSERT', { record: { i: 'foreign' } });
      const auth = { Authorization: 'Bearer ' + L.mint({ sub: 'poller' }) };
      let r = await L.httpGet(edge.port, '/api/v1/events?channel=db:public.poll', auth);
      L.eq(r.status, 200, 'status');
      L.eq(r.json.events.map((e) => e.id), ids, 'all events in id order');
      L.eq(r.json.events[0].data.record.i, 0, 'payload');
      L.assert(!('tenant' in r.json.events[0]), 'no tenant field');
      L.eq([r.json.next, r.json.resync_required], [ids[4], false], 'next');
      r = await L.httpGet(edge.port, `/api/v1/events?channel=db:public.poll&since=${ids[1]}&limit=2`, auth);
      L.eq(r.json.events.map((e) => e.id), ids.slice(2, 4), 'since + limit');
      L.eq(r.json.next, ids[3], 'next after limit');
      r = await L.httpGet(edge.port, `/api/v1/events?channel=db:public.poll&since=${ids[4]}`, auth);
      L.eq([r.json.events.length, r.json.next], [0, ids[4]], 'nothing new');
      const uid = await L.publish(redis, 'acme', 'user:poller', 'dm', { x: 1 });
      r = await L.httpGet(edge.port, '/api/v1/events?channel=user', auth);
      L.eq(r.json.events.map((e) => [e.id, e.channel]), [[uid, 'user']], 'own user channel');
      r = await L.httpGet(edge.port, '/api/v1/events?channel=db:public.poll', { Authorization: 'Bearer ' + L.mint({ sub: 'x', org_id: 'third' }) });
      L.eq(r.json.events.length, 0, 'another tenant sees nothing of acme');
      L.eq((await L.httpGet(edge.port, '/api/v1/events?channel=db:public.poll')).status, 401, 'no token');
      L.eq((await L.httpGet(edge.port, '/api/v1/events?channel=db:public.poll', { Authorization: 'Bearer ' + L.mint({ exp: L.now() - 3600 }) })).status, 401, 'expired token');
      L.eq((await L.httpGet(edge.port, '/api/v1/events?channel=db:public.poll', { Authorization: 'Bearer ' + L.mint({}, { secret: 'nope' }) })).status, 401, 'bad signature');
      for (const bad of ['rt:{other}:tenant', 'user:poller', '}', '', 'db:public.poll&since=abc', 'db:public.poll&limit=0', 'db:public.poll&limit=5000', 'db:public.poll&wait=31', 'db:public.poll&wait=x']) {
        L.eq((await L.httpGet(edge.port, '/api/v1/events?channel=' + bad, auth)).status, 400, 'bad request ' + bad);
      }
    }],
    ['polling: since older than the retention window says resync_required', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await L.publish(redis, 'acme', 'db:public.trim', 'INSERT', { record: { i } }));
      await redis.cmd('XTRIM', 'rt:{acme}:db:public.trim', 'MAXLEN', '2');
      const auth = { Authorization: 'Bearer ' + L.mint({ sub: 'poller' }) };
      const r = await L.httpGet(edge.port, `/api/v1/events?channel=db:public.trim&since=${ids[0]}`, auth);
      L.eq([r.status, r.json.resync_required, r.json.events.length], [200, true, 0], 'resync');
      const ok = await L.httpGet(edge.port, `/api/v1/events?channel=db:public.trim&since=${ids[3]}`, auth);
      L.eq([ok.json.resync_required, ok.json.events.map((e) => e.id)], [false, ids.slice(4)], 'within retention');
      redis.close();
    }],
  ];
}

L.main('ws_redis', setup);
