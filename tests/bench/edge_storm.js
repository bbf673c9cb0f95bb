'use strict';
// Reconnect storm: prints figures, asserts nothing about time (exit 1 only on gaps, duplicates,
// resyncs or clients that never came back).
//   node tests/bench/edge_storm.js [--clients 10000] [--workers 5] [--channels 100] [--rate 200]
//        [--modes term,kill9] [--down-ms 1000] [--steady-s 3] [--max-s 300]
// A private redis-server and rt-edge on loopback; `clients` WebSocket clients in `workers` client
// processes (at most 20,000 fds each), client i of tenant t<i % channels> subscribed to `tenant`,
// tracking its last id. A publisher keeps publishing `rate` events/s (spread over the channels)
// the whole time, also while rt-edge is down. For each mode: rt-edge is stopped (term: SIGTERM,
// the drain tells every client `reconnect` after a jittered delay; kill9: SIGKILL), started again
// after down-ms, and every client reconnects with the real client's backoff (1 s doubling to
// 30 s, +0-30 % jitter; after_ms when told) and subscribes with `since` = its last id. Reported:
// time until every client is subscribed again (from the stop and from the restart), the CPU of
// rt-edge and of the client processes during the recovery (from /proc), and, once publishing
// stops and everyone caught up, the number of gaps and duplicates of every client's ids compared
// with the channel's stream (must be zero).
const fs = require('fs');
const path = require('path');
const { fork, execFileSync } = require('child_process');
const L = require('../js/lib');

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? a.concat([[v.slice(2), all[i + 1]]]) : a), []));
const CLIENTS = +(args.clients || 10000), WORKERS = +(args.workers || 5), CHANNELS = +(args.channels || 100);
const RATE = +(args.rate || 200), DOWN_MS = +(args['down-ms'] || 1000), STEADY_S = +(args['steady-s'] || 3);
const MODES = (args.modes || 'term,kill9').split(','), MAX_S = +(args['max-s'] || 300);
const HZ = 100; // clock ticks per second (getconf CLK_TCK)

function cpuMs(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (parseInt(f[11], 10) + parseInt(f[12], 10)) * 1000 / HZ;
  } catch (e) { return 0; }
}
function cmpId(a, b) {
  const [am, as] = a.split('-').map(Number), [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

// ---------------- worker: clients that behave like clients/js/rt-client.js ----------------
if (process.argv[2] === '--worker') {
  const WebSocket = require('../js/node_modules/ws');
  let port = 0;
  const clients = [];
  const errorKinds = {}; // "code: message" -> count, of the error replies this worker got
  const backoff = (n) => Math.min(30000, 1000 * 2 ** n) * (1 + 0.3 * Math.random());
  function open(c) {
    c.live = false;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['rt.v1', 'rt.bearer.' + c.token], { perMessageDeflate: false });
    c.ws = ws;
    c.after = null;
    ws.on('message', (d) => {
      const s = d.toString();
      const o = JSON.parse(s);
      if (o.type === 'event') {
        if (c.last && cmpId(o.id, c.last) <= 0) c.dups++;
        else { c.ids.push(o.id); c.last = o.id; }
      } else if (o.type === 'connected') {
        ws.send(JSON.stringify(Object.assign({ type: 'subscribe', ref: 's', channel: 'tenant' }, c.last ? { since: c.last } : {})));
      } else if (o.type === 'subscribed') {
        if (!c.start) { c.start = o.offset; c.last = o.offset; }
        c.live = true;
        c.attempts = 0;
        c.liveAt = Date.now();
      } else if (o.type === 'reconnect') {
        c.after = o.after_ms;
      } else if (o.type === 'resync_required') {
        c.resyncs++;
      } else if (o.type === 'error') {
        c.errors++;
        errorKinds[`${o.code}: ${o.message}`] = (errorKinds[`${o.code}: ${o.message}`] || 0) + 1;
        setTimeout(() => { if (c.ws === ws && ws.readyState === 1) ws.send(JSON.stringify(Object.assign({ type: 'subscribe', ref: 's', channel: 'tenant' }, c.last ? { since: c.last } : {}))); }, 200);
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (c.ws !== ws || c.stopped) return;
      c.live = false;
      const delay = c.after != null ? c.after : backoff(c.attempts++);
      setTimeout(() => open(c), delay);
    });
  }
  process.on('message', (m) => {
    if (m.cmd === 'start') {
      port = m.port;
      for (const s of m.specs) {
        const c = { token: s.token, tenant: s.tenant, ids: [], dups: 0, resyncs: 0, errors: 0, attempts: 0, start: null, last: null };
        clients.push(c);
        open(c);
      }
      process.send({ cmd: 'started' });
    } else if (m.cmd === 'status') {
      let live = 0, lastLive = 0;
      for (const c of clients) if (c.live) { live++; lastLive = Math.max(lastLive, c.liveAt); }
      const lasts = {}; // per channel, the oldest last id among its clients here
      for (const c of clients) {
        const l = c.last || '0-0';
        if (!lasts[c.tenant] || cmpId(l, lasts[c.tenant]) < 0) lasts[c.tenant] = l;
      }
      process.send({ cmd: 'status', live, lastLive, n: clients.length, minLast: lasts });
    } else if (m.cmd === 'check') {
      // m.streams: tenant -> every id of its stream
      let gaps = 0, dups = 0, resyncs = 0, errors = 0, bad = 0, ids = 0;
      for (const c of clients) {
        const want = (m.streams[c.tenant] || []).filter((x) => cmpId(x, c.start) > 0);
        const got = c.ids;
        const set = new Set(got);
        gaps += want.filter((x) => !set.has(x)).length;
        dups += c.dups + (got.length - set.size);
        resyncs += c.resyncs;
        errors += c.errors;
        ids += got.length;
        if (got.length !== want.length || got.some((x, k) => x !== want[k])) bad++;
      }
      process.send({ cmd: 'check', gaps, dups, resyncs, errors, bad, ids, kinds: errorKinds });
    } else if (m.cmd === 'close') {
      for (const c of clients) { c.stopped = true; try { c.ws.terminate(); } catch (e) { /* gone */ } }
      process.exit(0);
    }
  });
  return;
}

// ---------------- driver ----------------
function ask(w, msg, want) { return new Promise((r) => { const h = (m) => { if (m.cmd === want) { w.off('message', h); r(m); } }; w.on('message', h); w.send(msg); }); }

async function main() {
  setTimeout(() => { console.log(`not ok - gave up after --max-s ${MAX_S} s`); process.exit(1); }, MAX_S * 1000).unref();
  const dir = L.tmpdir('storm');
  const rdir = path.join(dir, 'redis');
  const FIX = path.join(L.SRC, 'tests/fixtures/redis.sh');
  execFileSync('bash', [FIX, 'start', rdir, 'private']);
  process.on('exit', () => { try { execFileSync('bash', [FIX, 'stop', rdir]); } catch (e) { /* gone */ } });
  const rport = parseInt(fs.readFileSync(path.join(rdir, 'port'), 'utf8'), 10);
  const eport = await L.freePort();
  const env = Object.assign(L.baseEnv(dir), {
    RT_REDIS_URL: `redis://127.0.0.1:${rport}/0`, RT_LOG_LEVEL: 'warn', RT_EDGE_LISTEN: `127.0.0.1:${eport}`,
    RT_EDGE_DRAIN_TIMEOUT_MS: '15000',
  });
  const startEdge = async () => { const e = new L.Edge(env); e.knownPort = eport; await e.start(30000); return e; };
  let edge = await startEdge();
  const redis = await new L.Redis(rport).connect();
  const sha = await redis.cmd('SCRIPT', 'LOAD', L.SCRIPT);
  const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`# rt-edge reconnect storm: ${CLIENTS} clients, ${WORKERS} client processes, ${CHANNELS} channels, ${RATE} events/s, down ${DOWN_MS} ms, load ${load()}`);

  const workers = Array.from({ length: WORKERS }, () => fork(__filename, ['--worker']));
  const specs = Array.from({ length: WORKERS }, () => []);
  for (let i = 0; i < CLIENTS; i++) {
    const tenant = 't' + (i % CHANNELS);
    specs[i % WORKERS].push({ tenant, token: L.mint({ sub: 'u' + i, org_id: tenant, exp: L.now() + 7200 }) });
  }
  const status = async () => {
    const r = await Promise.all(workers.map((w) => ask(w, { cmd: 'status' }, 'status')));
    const minLast = {};
    for (const x of r) for (const [t, id] of Object.entries(x.minLast)) if (!minLast[t] || cmpId(id, minLast[t]) < 0) minLast[t] = id;
    return { live: r.reduce((a, x) => a + x.live, 0), lastLive: Math.max(...r.map((x) => x.lastLive)), minLast };
  };
  const waitLive = async () => {
    for (;;) {
      const s = await status();
      if (s.live === CLIENTS) return s;
      await L.sleep(100);
    }
  };

  // the publisher: RATE events/s over the channels, through Redis (also while rt-edge is down)
  let publishing = true, published = 0, pubErrors = 0;
  const lastPub = {};
  const pubLoop = (async () => {
    const t0 = Date.now();
    while (publishing) {
      const due = Math.floor((Date.now() - t0) * RATE / 1000);
      const batch = [];
      while (published + batch.length < due) {
        const k = published + batch.length, tenant = 't' + (k % CHANNELS);
        const body = JSON.stringify({ channel: 'tenant', event: 'tick', tenant, ts: new Date().toISOString(), data: { k } });
        batch.push(redis.cmd('EVALSHA', sha, '1', `rt:{${tenant}}:tenant`, body, '100000', '0').then((r) => { lastPub[tenant] = r[1]; }, () => { pubErrors++; }));
      }
      published += batch.length;
      await Promise.all(batch);
      await L.sleep(10);
    }
  })();

  let t0 = Date.now();
  await Promise.all(workers.map((w, k) => ask(w, { cmd: 'start', port: eport, specs: specs[k] }, 'started')));
  await waitLive();
  console.log(`initial connect: ${CLIENTS} clients subscribed in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  let failed = false;
  for (const mode of MODES) {
    await L.sleep(STEADY_S * 1000);
    const pid = edge.proc.pid;
    const tStop = Date.now();
    const stopped = await edge.stop(mode === 'kill9' ? 'SIGKILL' : 'SIGTERM', 30000);
    const stopMs = Date.now() - tStop;
    await L.sleep(DOWN_MS);
    const w0 = workers.map((w) => cpuMs(w.pid));
    const tStart = Date.now();
    edge = await startEdge();
    await waitLive();
    const tLive = Date.now();
    const ecpu = cpuMs(edge.proc.pid), wcpu = workers.reduce((a, w, k) => a + cpuMs(w.pid) - w0[k], 0);
    const fds = edge.fds();
    console.log(`${mode}: rt-edge ${pid} stopped in ${stopMs} ms (${JSON.stringify(stopped)}), restarted after ${DOWN_MS} ms; all ${CLIENTS} clients live again ` +
      `${((tLive - tStop) / 1000).toFixed(2)} s after the stop, ${((tLive - tStart) / 1000).toFixed(2)} s after the restart; ` +
      `CPU during recovery: rt-edge ${ecpu.toFixed(0)} ms (${(ecpu * 1000 / CLIENTS).toFixed(0)} us/client: auth, subscribe, replay), clients ${wcpu.toFixed(0)} ms; rt-edge fds ${fds}`);
  }
  await L.sleep(STEADY_S * 1000);
  publishing = false;
  await pubLoop;
  // everyone caught up with the last event of its channel, then the comparison with the streams
  const tCatch = Date.now();
  for (;;) {
    const s = await status();
    if (Object.keys(lastPub).every((t) => s.minLast[t] && cmpId(s.minLast[t], lastPub[t]) >= 0)) break;
    if (Date.now() - tCatch > 30000) { console.log('not ok - clients did not catch up within 30 s'); failed = true; break; }
    await L.sleep(200);
  }
  const streams = {};
  for (let c = 0; c < CHANNELS; c++) {
    const t = 't' + c;
    streams[t] = (await redis.cmd('XRANGE', `rt:{${t}}:tenant`, '-', '+')).map((e) => e[0]);
  }
  const res = await Promise.all(workers.map((w) => ask(w, { cmd: 'check', streams }, 'check')));
  const sum = (k) => res.reduce((a, r) => a + r[k], 0);
  console.log(`events: ${published} published (${pubErrors} errors), ${sum('ids')} delivered; gaps ${sum('gaps')}, duplicates ${sum('dups')}, resync_required ${sum('resyncs')}, ` +
    `subscribe errors ${sum('errors')}, clients whose ids differ from the stream ${sum('bad')}`);
  const kinds = {};
  for (const r of res) for (const [k, v] of Object.entries(r.kinds)) kinds[k] = (kinds[k] || 0) + v;
  if (Object.keys(kinds).length) console.log('subscribe errors by kind: ' + JSON.stringify(kinds));
  if (sum('gaps') || sum('dups') || sum('resyncs') || sum('bad')) failed = true;
  console.log(`load after: ${load()}`);
  workers.forEach((w) => w.send({ cmd: 'close' }));
  redis.close();
  await edge.stop();
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
