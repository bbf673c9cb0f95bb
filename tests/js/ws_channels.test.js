'use strict';
// Channels: tenant isolation against hostile names, per-user channels shared by tabs, filters,
// the Redis subscription count, protocol errors and limits.
const L = require('./lib');

let edge, redis;

async function numsub(key) {
  const r = await redis.cmd('PUBSUB', 'NUMSUB', key);
  return r[1];
}

// Nothing matching pred arrives within ms (after a marker event proves delivery is flowing).
async function none(c, pred, ms = 300) {
  await L.sleep(ms);
  const bad = c.msgs.find(pred);
  L.assert(!bad, 'unexpected message ' + JSON.stringify(bad));
}

const HOSTILE = ['}', ':', '*', '..', 'db:..', 'db:public.*', 'tenant}:x', '{other}:tenant', 'rt:{other}:tenant',
  '}:tenant', 'user:u-2', 'user:*', 'db:public.calls}', 'db:public.calls:rt:{other}', 'app:../x', 'app:*',
  'TENANT', 'tenant ', ' tenant', '', 'db:public.c\u00e4lls', '\u{1F600}', 'health:other',
  'x'.repeat(10000), 'db:' + 'a'.repeat(70) + '.b'];

async function setup() {
  const dir = L.tmpdir('channels');
  edge = await new L.Edge(L.baseEnv(dir, {
    RT_EDGE_MAX_SUBSCRIPTIONS: '8', RT_EDGE_MAX_CONNECTIONS_PER_USER: '4',
    RT_EDGE_MAX_MESSAGES_PER_SECOND: '30', RT_EDGE_MAX_MESSAGE_BYTES: '16384',
  })).start();
  redis = await new L.Redis(L.redisPort()).connect();
  return [
    ['hostile channel names are refused and never reach another tenant', async () => {
      const a = await L.connected(edge.port, L.mint({ sub: 'a-1', org_id: 'acme' }));
      const b = await L.connected(edge.port, L.mint({ sub: 'b-1', org_id: 'other' }));
      for (const ch of HOSTILE) {
        const r = await a.subscribe(ch);
        L.eq([r.type, r.code], ['error', 'bad_request'], `channel ${JSON.stringify(ch).slice(0, 40)}`);
      }
      a.send({ type: 'subscribe', ref: 'nul', channel: 'tenant\u0000' });
      L.eq((await a.type('error')).code, 'bad_request', 'a NUL in a name is refused with the JSON');
      const bad = await a.subscribe('db:public.calls', { filter: 'org_id=eq.other}' });
      L.eq(bad.type, 'subscribed', 'a hostile filter value is only a value');
      L.eq((await a.subscribe('tenant')).type, 'subscribed', 'own tenant channel');
      L.eq((await b.subscribe('tenant')).type, 'subscribed', 'other tenant channel');
      const channels = await redis.cmd('PUBSUB', 'CHANNELS', 'rt:*');
      L.assert(channels.filter((c) => !c.startsWith('rt:edge:hb:')).every((c) => c === 'rt:{acme}:tenant' || c === 'rt:{other}:tenant' || c === 'rt:{acme}:db:public.calls'), 'only well-formed keys subscribed: ' + channels);
      await L.publish(redis, 'other', 'tenant', 'secret', { n: 1 });
      await L.publish(redis, 'other', 'db:public.calls', 'INSERT', { record: { org_id: 'other' } });
      await L.publish(redis, 'acme', 'tenant', 'mine', { n: 2 });
      const ev = await a.type('event');
      L.eq([ev.event, ev.channel, ev.data.n], ['mine', 'tenant', 2], 'own event');
      L.assert(!('tenant' in ev), 'tenant is not sent to clients');
      L.eq((await b.type('event')).event, 'secret', 'the other tenant gets its own');
      await none(a, (m) => m.type === 'event');
      a.close(); b.close();
    }],
    ['three tabs of one user share user:<sub>; another user gets nothing', async () => {
      const tabs = [];
      for (let i = 0; i < 3; i++) tabs.push(await L.connected(edge.port, L.mint({ sub: 'u-1' })));
      const other = await L.connected(edge.port, L.mint({ sub: 'u-2' }));
      for (const t of tabs) L.eq((await t.subscribe('user')).type, 'subscribed', 'tab subscribed');
      L.eq((await other.subscribe('user')).type, 'subscribed', 'other subscribed');
      L.eq(await numsub('rt:{acme}:user:u-1'), 1, 'one Redis subscription for three tabs');
      const id = await L.publish(redis, 'acme', 'user:u-1', 'notice', { text: 'hi' });
      for (const t of tabs) {
        const ev = await t.type('event');
        L.eq([ev.channel, ev.id, ev.data.text], ['user', id, 'hi'], 'tab got the user event');
      }
      await L.publish(redis, 'acme', 'user:u-2', 'notice', { text: 'for u-2' });
      L.eq((await other.type('event')).data.text, 'for u-2', 'u-2 gets its own');
      await none(other, (m) => m.type === 'event');
      for (const t of tabs) t.close();
      other.close();
      await L.waitFor(async () => (await numsub('rt:{acme}:user:u-1')) === 0, 3000, 'unsubscribe after the last tab');
    }],
    ['filters: every operator, DELETE matches old_record', async () => {
      const cases = {
        'status=eq.active': [1, 5], 'status=neq.active': [2, 3, 4], 'n=lt.10': [1, 3], 'n=lte.10': [1, 2, 3],
        'n=gt.10': [4, 5], 'n=gte.10': [2, 4, 5], 'status=in.(active,done)': [1, 3, 5], 'name=eq.x y': [2],
      };
      const rows = [
        { event: 'INSERT', record: { status: 'active', n: 5, name: 'a' } },
        { event: 'UPDATE', record: { status: 'idle', n: 10, name: 'x y' } },
        { event: 'INSERT', record: { status: 'done', n: -1 } },
        { event: 'INSERT', record: { status: 'idle', n: 11.5 } },
        { event: 'DELETE', record: null, old_record: { status: 'active', n: 99 } },
      ];
      const clients = {};
      for (const f of Object.keys(cases)) {
        clients[f] = await L.connected(edge.port, L.mint({ sub: 'filter-' + Object.keys(clients).length }));
        const r = await clients[f].subscribe('db:public.calls', { filter: f });
        L.eq(r.type, 'subscribed', 'subscribe with ' + f);
      }
      const all = await L.connected(edge.port, L.mint({ sub: 'filter-all' }));
      await all.subscribe('db:public.calls');
      const ids = [];
      for (const r of rows) ids.push(await L.publish(redis, 'acme', 'db:public.calls', r.event, { schema: 'public', table: 'calls', record: r.record, old_record: r.old_record || null }));
      for (let i = 0; i < rows.length; i++) L.eq((await all.type('event')).id, ids[i], 'unfiltered gets all in order');
      for (const [f, want] of Object.entries(cases)) {
        const got = [];
        for (let k = 0; k < want.length; k++) got.push(ids.indexOf((await clients[f].type('event')).id) + 1);
        L.eq(got, want, 'filter ' + f);
        await none(clients[f], (m) => m.type === 'event', 50);
        clients[f].close();
      }
      all.close();
    }],
    ['malformed filters answer bad_request', async () => {
      const c = await L.connected(edge.port, L.mint({ sub: 'bad-filter' }));
      for (const f of ['status', 'status=like.x', 'status=eq', '=eq.x', 'status=in.(a,', 'status=in.()', 'status=in.(a,,b)', 'st atus=eq.x', 'status=EQ.x', 'x'.repeat(2000) + '=eq.1']) {
        const r = await c.subscribe('db:public.calls', { filter: f });
        L.eq([r.type, r.code], ['error', 'bad_request'], 'filter ' + f.slice(0, 30));
      }
      const r = await c.subscribe('tenant', { filter: 'a=eq.1' });
      L.eq([r.type, r.code], ['error', 'bad_request'], 'filter on a non-db channel');
      const t = await c.subscribe('db:public.calls', { filter: 5 });
      L.eq([t.type, t.code], ['error', 'bad_request'], 'filter of the wrong type');
      c.close();
    }],
    ['PUBSUB NUMSUB follows local subscribers', async () => {
      const key = 'rt:{acme}:db:public.numsub';
      const c1 = await L.connected(edge.port, L.mint({ sub: 'ns-1' }));
      const c2 = await L.connected(edge.port, L.mint({ sub: 'ns-2' }));
      L.eq(await numsub(key), 0, 'none before');
      await c1.subscribe('db:public.numsub');
      L.eq(await numsub(key), 1, 'first subscriber');
      await c2.subscribe('db:public.numsub');
      L.eq(await numsub(key), 1, 'second subscriber shares it');
      L.eq(await L.metric(edge.port, 'rt_edge_subscriptions', 'scope="local"') >= 2, true, 'local gauge');
      c1.send({ type: 'unsubscribe', ref: 'u1', channel: 'db:public.numsub' });
      L.eq((await c1.type('unsubscribed')).ref, 'u1', 'unsubscribed with ref');
      L.eq(await numsub(key), 1, 'still one local subscriber');
      c2.close();
      await L.waitFor(async () => (await numsub(key)) === 0, 3000, 'UNSUBSCRIBE after the last');
      // subscribe / unsubscribe / subscribe in a burst must end subscribed
      for (let i = 0; i < 5; i++) {
        c1.send({ type: 'subscribe', ref: 's' + i, channel: 'db:public.numsub' });
        c1.send({ type: 'unsubscribe', ref: 'x' + i, channel: 'db:public.numsub' });
      }
      L.eq((await c1.subscribe('db:public.numsub')).type, 'subscribed', 'final subscribe');
      await L.waitFor(async () => (await numsub(key)) === 1, 3000, 'subscribed after the burst');
      const id = await L.publish(redis, 'acme', 'db:public.numsub', 'INSERT', { record: {} });
      L.eq((await c1.next((m) => m.type === 'event', 3000)).id, id, 'event after the burst');
      c1.close();
      await L.waitFor(async () => (await numsub(key)) === 0, 3000, 'closed connection unsubscribes');
    }],
    ['subscribed carries the newest id as offset; ref echoed; unknown unsubscribe is not_found', async () => {
      const id = await L.publish(redis, 'acme', 'db:public.offset', 'INSERT', { record: {} });
      const c = await L.connected(edge.port, L.mint({ sub: 'off' }));
      const r = await c.subscribe('db:public.offset', {}, 'my-ref');
      L.eq([r.type, r.ref, r.channel, r.offset], ['subscribed', 'my-ref', 'db:public.offset', id], 'subscribed');
      const e = await c.subscribe('db:public.empty');
      L.eq(e.offset, '0-0', 'empty channel offset');
      const dup = await c.subscribe('db:public.offset');
      L.eq([dup.type, dup.code], ['error', 'bad_request'], 'duplicate subscribe');
      c.send({ type: 'unsubscribe', ref: 'n', channel: 'calls' });
      const nf = await c.type('error');
      L.eq([nf.ref, nf.code], ['n', 'not_found'], 'unsubscribe of nothing');
      c.close();
    }],
    ['pings, malformed JSON, unknown type, binary and oversized frames', async () => {
      const gauge = () => L.metric(edge.port, 'rt_edge_connections');
      const base = await gauge();
      const c = await L.connected(edge.port, L.mint({ sub: 'errs' }));
      c.send('ping');
      L.eq(await c.next((m) => m === 'pong'), 'pong', 'text ping');
      c.send({ type: 'ping', ref: 'p1' });
      L.eq((await c.type('pong')).ref, 'p1', 'json ping');
      c.send('{"type":');
      L.eq((await c.type('error')).code, 'bad_request', 'malformed JSON');
      c.send('[1,2]');
      L.eq((await c.type('error')).code, 'bad_request', 'not an object');
      c.send({ type: 'launch_missiles', ref: 'r9' });
      const u = await c.type('error');
      L.eq([u.code, u.ref], ['bad_request', 'r9'], 'unknown type');
      c.send({ type: 'subscribe', ref: 'r10' });
      L.eq((await c.type('error')).code, 'bad_request', 'subscribe without channel');
      L.eq(await gauge(), base + 1, 'gauge counts the open connection');
      c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      L.eq((await c.closeCode()).code, 1008, 'binary frame');
      const big = await L.connected(edge.port, L.mint({ sub: 'errs' }));
      big.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(20000) }));
      L.eq((await big.closeCode()).code, 1008, 'oversized frame');
      const frag = await L.connected(edge.port, L.mint({ sub: 'errs' }));
      frag.ws.send('{"type":"ping",', { fin: false });
      frag.ws.send('"ref":"frag"}', { fin: true });
      L.eq((await frag.type('pong')).ref, 'frag', 'fragmented message reassembled');
      frag.close();
      await L.waitFor(async () => (await gauge()) === base, 3000, 'gauge back to ' + base);
    }],
    ['limits: subscriptions, connections per user, messages per second', async () => {
      const c = await L.connected(edge.port, L.mint({ sub: 'lim' }));
      for (let i = 0; i < 8; i++) L.eq((await c.subscribe('app:l' + i)).type, 'subscribed', 'sub ' + i);
      const r = await c.subscribe('app:l8');
      L.eq([r.type, r.code], ['error', 'rate_limited'], 'ninth subscription');
      const more = [];
      for (let i = 0; i < 3; i++) more.push(await L.connected(edge.port, L.mint({ sub: 'lim' })));
      const fifth = L.Client.open(edge.port, { protocols: ['rt.v1', 'rt.bearer.' + L.mint({ sub: 'lim' })] });
      await fifth.opened;
      L.eq((await fifth.closeCode()).code, 4009, 'fifth connection of one user');
      more[0].close();
      await L.sleep(200);
      const again = await L.connected(edge.port, L.mint({ sub: 'lim' }));
      again.close();
      for (let i = 0; i < 100; i++) c.send({ type: 'ping', ref: 'f' + i });
      L.eq((await c.closeCode()).code, 4029, 'flood closes 4029');
      more.forEach((m) => m.close());
    }],
  ];
}

L.main('ws_channels', setup);
