'use strict';
// rt-edge benchmark: prints figures, asserts nothing about time.
//   node tests/bench/edge_bench.js [--conns 10000] [--tenants 100] [--workers 2]
//        [--rate 50000] [--seconds 10] [--steps 50000,100000,150000] [--client node|c]
//        [--tick-ms 10] [--edges 1]
// --edges N starts N rt-edge processes, each on its own port (the deployment of docs/SCALING.md:
// one process per core behind the balancer); client process k connects to edge k % N, so every
// edge holds connections of every tenant; CPU and RSS figures are summed over the edges.
// --client c uses the C load client (build/tests/bench/edge_client/bench_edge_client: one epoll
// loop per process, a few µs of CPU per received frame) instead of Node's `ws` package, so the
// load client takes less of the two cores that rt-edge and Redis also need.
// Starts a private redis-server and rt-edge (RS256 JWKS + HS256), opens conns WebSocket
// connections from worker processes (tenants x conns/tenants users, each subscribed to `tenant`
// and `user`), then measures: connection setup (RS256 verification + two subscriptions), RSS per
// idle connection, rt-edge CPU per delivered event and PUBLISH-to-receipt latency at a fixed
// delivery rate, and the highest sustained rate with p99 under 10 ms. CPU comes from /proc.
const fs = require('fs');
const path = require('path');
const { fork, spawn, execFileSync } = require('child_process');
const { EventEmitter } = require('events');
const { performance } = require('perf_hooks');
const L = require('../js/lib');

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? a.concat([[v.slice(2), all[i + 1]]]) : a), []));
const CONNS = +(args.conns || 10000), TENANTS = +(args.tenants || 100), WORKERS = +(args.workers || 2);
const RATE = +(args.rate || 50000), SECONDS = +(args.seconds || 10);
const STEPS = (args.steps || '5000,10000,20000,30000,40000').split(',').map(Number);
const CLIENT = args.client || 'node';
// publishes go out every TICK_MS in one pipelined batch: smaller ticks mean smaller bursts
const TICK_MS = +(args['tick-ms'] || 10);
const EDGES = +(args.edges || 1);
const HZ = 100; // clock ticks per second (getconf CLK_TCK)
const now = () => performance.timeOrigin + performance.now();

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (parseInt(f[11], 10) + parseInt(f[12], 10)) * 1000 / HZ;
}
function rssKb(pid) { return parseInt(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1], 10); }

// ---------------- worker: holds connections, measures receipt latency ----------------
if (process.argv[2] === '--worker') {
  const WebSocket = require('../js/node_modules/ws');
  let lat = [], count = 0, conns = [];
  process.on('message', async (m) => {
    if (m.cmd === 'connect') {
      const t0 = now();
      let i = 0;
      const open = (spec) => new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${m.port}/ws`, ['rt.v1', 'rt.bearer.' + spec.token], { perMessageDeflate: false });
        let subs = 0;
        ws.on('message', (d) => {
          const s = d.toString();
          if (s.charCodeAt(9) === 101 && s.startsWith('{"type":"event"')) { // event: latency
            const t = +/"t":([0-9.]+)/.exec(s)[1];
            lat.push(now() - t);
            count++;
            return;
          }
          const o = JSON.parse(s);
          if (o.type === 'connected') { ws.send(JSON.stringify({ type: 'subscribe', ref: 't', channel: 'tenant' })); ws.send(JSON.stringify({ type: 'subscribe', ref: 'u', channel: 'user' })); }
          if (o.type === 'subscribed' && ++subs === 2) resolve(ws);
          if (o.type === 'error' && o.code === 'internal') { setTimeout(() => ws.send(JSON.stringify({ type: 'subscribe', ref: o.ref, channel: o.ref === 't' ? 'tenant' : 'user' })), 200); return; }
          if (o.type === 'error') reject(new Error(s));
        });
        ws.on('error', reject);
        ws.on('close', (c) => { if (subs < 2) reject(new Error('closed ' + c)); });
      });
      const inflight = 100;
      const runOne = async () => { while (i < m.specs.length) { const s = m.specs[i++]; conns.push(await open(s)); } };
      await Promise.all(Array.from({ length: inflight }, runOne));
      process.send({ cmd: 'connected', ms: now() - t0, n: conns.length });
    } else if (m.cmd === 'reset') {
      lat = []; count = 0;
      process.send({ cmd: 'reset' });
    } else if (m.cmd === 'report') {
      lat.sort((a, b) => a - b);
      process.send({ cmd: 'report', count, lat: lat.length > 20000 ? lat.filter((_, k) => k % Math.ceil(lat.length / 20000) === 0) : lat });
    } else if (m.cmd === 'close') {
      conns.forEach((c) => c.terminate());
      process.exit(0);
    }
  });
  return;
}

// ---------------- driver ----------------
// The C client behind the same message interface as a forked Node worker.
class CWorker extends EventEmitter {
  constructor(dir, k) {
    super();
    this.dir = dir;
    this.k = k;
    const bin = path.join(process.env.RT_TEST_BIN || path.join(L.SRC, 'build'), 'tests/bench/edge_client/bench_edge_client');
    this.proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.pid = this.proc.pid;
    let buf = '';
    this.proc.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (line[0] === 'connected') this.emit('message', { cmd: 'connected', ms: +line[1], n: +line[2] });
        else if (line[0] === 'reset') this.emit('message', { cmd: 'reset' });
        else if (line[0] === 'report') this.emit('message', { cmd: 'report', count: +line[1], lat: line.slice(2).map(Number) });
      }
    });
  }
  send(m) {
    if (m.cmd === 'connect') {
      const file = path.join(this.dir, `tokens-${this.k}.txt`);
      fs.writeFileSync(file, m.specs.map((s) => s.token).join('\n') + '\n');
      this.proc.stdin.write(`connect ${m.port} ${file}\n`);
    } else {
      this.proc.stdin.write(m.cmd + '\n');
    }
  }
}

function ask(w, msg, want) { return new Promise((r) => { const h = (m) => { if (m.cmd === want) { w.off('message', h); r(m); } }; w.on('message', h); w.send(msg); }); }
function pct(a, p) { return a.length ? a[Math.min(a.length - 1, Math.floor(a.length * p))] : NaN; }

async function publishAt(redis, rate, seconds) {
  // one publish reaches CONNS/TENANTS connections; paced by elapsed time (not ticks counted), so
  // a late timer does not lower the rate: each tick sends what is due since the start
  const per = CONNS / TENANTS, pubs = rate / per, tickMs = TICK_MS;
  const start = Date.now(), end = start + seconds * 1000;
  let sent = 0, k = 0;
  while (Date.now() < end) {
    const t0 = Date.now();
    const due = Math.floor(pubs * (t0 - start) / 1000);
    const batch = [];
    for (; sent < due; sent++) {
      const tenant = 't' + (k++ % TENANTS);
      const body = JSON.stringify({ channel: 'tenant', event: 'bench', tenant, ts: new Date().toISOString(), data: { t: now(), pad: 'x'.repeat(64) } });
      batch.push(redis.cmd('EVALSHA', redis.sha, '1', `rt:{${tenant}}:tenant`, body, '1000', '0'));
    }
    await Promise.all(batch);
    const left = tickMs - (Date.now() - t0);
    if (left > 0) await L.sleep(left);
  }
  return sent;
}

async function main() {
  const dir = L.tmpdir('bench');
  const rdir = path.join(dir, 'redis');
  const FIX = path.join(L.SRC, 'tests/fixtures/redis.sh');
  execFileSync('bash', [FIX, 'start', rdir, 'private']);
  process.on('exit', () => { try { execFileSync('bash', [FIX, 'stop', rdir]); } catch (e) { /* gone */ } });
  const rport = parseInt(fs.readFileSync(path.join(rdir, 'port'), 'utf8'), 10);
  if (WORKERS % EDGES) throw new Error('--workers must be a multiple of --edges');
  const edges = [];
  for (let k = 0; k < EDGES; k++) {
    const eport = await L.freePort();
    const edir = path.join(dir, 'e' + k);
    fs.mkdirSync(edir);
    const edge = new L.Edge(L.baseEnv(edir, {
      RT_REDIS_URL: `redis://127.0.0.1:${rport}/0`, RT_LOG_LEVEL: 'warn', RT_EDGE_LISTEN: `127.0.0.1:${eport}`,
    }));
    edge.knownPort = eport;
    await edge.start();
    edges.push(edge);
  }
  const edge = edges[0];
  const edgeCpu = () => edges.reduce((a, e) => a + cpuMs(e.proc.pid), 0);
  const edgeRss = () => edges.reduce((a, e) => a + rssKb(e.proc.pid), 0);
  const redis = await new L.Redis(rport).connect();
  redis.sha = await redis.cmd('SCRIPT', 'LOAD', L.SCRIPT);
  console.log(`# rt-edge bench: ${CONNS} connections, ${TENANTS} tenants, ${WORKERS} client processes (${CLIENT === 'c' ? 'C client' : 'Node ws'}), ${EDGES} rt-edge process(es), publisher tick ${TICK_MS} ms, load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);

  await L.sleep(500);
  const rss0 = edgeRss();
  const workers = Array.from({ length: WORKERS }, (_, k) => (CLIENT === 'c' ? new CWorker(dir, k) : fork(__filename, ['--worker'])));
  // tokens minted up front (client cost, not measured): RS256, one user per connection
  const specs = Array.from({ length: WORKERS }, () => []);
  for (let i = 0; i < CONNS; i++) {
    const tenant = 't' + (i % TENANTS), sub = 'u' + i;
    specs[i % WORKERS].push({ token: L.mint({ sub, org_id: tenant, exp: L.now() + 7200 }, { alg: 'RS256' }) });
  }
  const cpuSetup0 = edgeCpu();
  const t0 = Date.now();
  const done = await Promise.all(workers.map((w, k) => ask(w, { cmd: 'connect', port: edges[k % EDGES].port, specs: specs[k] }, 'connected')));
  const setupS = (Date.now() - t0) / 1000;
  const setupCpu = edgeCpu() - cpuSetup0;
  const n = done.reduce((a, d) => a + d.n, 0);
  console.log(`connection setup (RS256 + 2 subscriptions): ${n} in ${setupS.toFixed(2)} s = ${(n / setupS).toFixed(0)}/s wall; rt-edge CPU ${(setupCpu / n * 1000).toFixed(0)} us/connection = ${(n / (setupCpu / 1000)).toFixed(0)}/s per core`);
  await L.sleep(3000);
  const rss1 = edgeRss();
  console.log(`memory: RSS ${rss0} KiB idle -> ${rss1} KiB with ${n} connections = ${((rss1 - rss0) * 1024 / n).toFixed(0)} bytes per idle connection`);

  // rt-edge's own publish-to-send histogram (rt_edge_publish_to_send_seconds), summed over the
  // edges: le (seconds) -> cumulative count; it tells a tail inside rt-edge from one after it
  async function edgeHist() {
    const h = {};
    for (const e of edges) {
      const r = await L.httpGet(e.port, '/metrics');
      for (const l of r.body.split('\n')) {
        const m = /^rt_edge_publish_to_send_seconds_bucket\{le="([^"]+)"\} (\S+)/.exec(l);
        if (m) h[m[1]] = (h[m[1]] || 0) + parseFloat(m[2]);
      }
    }
    return h;
  }
  function histText(h0, h1) {
    const les = Object.keys(h1).filter((k) => k !== '+Inf').sort((a, b) => a - b);
    const total = (h1['+Inf'] || 0) - (h0['+Inf'] || 0);
    if (!total) return 'no samples';
    const at = (le) => ((h1[le] || 0) - (h0[le] || 0)) / total;
    const p99 = les.find((le) => at(le) >= 0.99);
    return ['0.001', '0.0025', '0.005', '0.01'].map((le) => `<= ${le * 1000} ms ${(at(le) * 100).toFixed(1)}%`).join(', ') +
      `; p99 <= ${p99 ? p99 * 1000 + ' ms' : '> ' + les[les.length - 1] * 1000 + ' ms'}`;
  }

  async function measure(rate, seconds) {
    await Promise.all(workers.map((w) => ask(w, { cmd: 'reset' }, 'reset')));
    const h0 = await edgeHist();
    const e0 = edgeCpu(), w0 = workers.map((w) => cpuMs(w.pid)), r0 = cpuMs(process.pid);
    const s0 = Date.now();
    const pubs = await publishAt(redis, rate, seconds);
    const wall = (Date.now() - s0) / 1000;
    // let the backlog (if any) arrive before counting, so runs do not leak into each other
    const expected = pubs * CONNS / TENANTS;
    let reps, last = -1;
    for (let t = 0; t < 60; t++) {
      await L.sleep(500);
      reps = await Promise.all(workers.map((w) => ask(w, { cmd: 'report' }, 'report')));
      const c = reps.reduce((a, r) => a + r.count, 0);
      if (c >= expected || c === last) break;
      last = c;
    }
    const count = reps.reduce((a, r) => a + r.count, 0);
    const lat = [].concat(...reps.map((r) => r.lat)).sort((a, b) => a - b);
    const ecpu = edgeCpu() - e0;
    const wcpu = workers.reduce((a, w, k) => a + cpuMs(w.pid) - w0[k], 0);
    const edgeTail = histText(h0, await edgeHist());
    return { edgeTail, rate, pubs, count, wall, perSec: Math.min(count, expected) / wall, usPer: ecpu * 1000 / count, edgeCore: ecpu / 1000 / wall, clientCore: wcpu / 1000 / wall,
      pubCore: (cpuMs(process.pid) - r0) / 1000 / wall, p50: pct(lat, 0.5), p99: pct(lat, 0.99), expected };
  }
  const fmt = (m) => `target ${m.rate}/s: delivered ${m.count}/${m.expected} (${m.perSec.toFixed(0)}/s), rt-edge ${m.usPer.toFixed(2)} us CPU/delivery (${(m.edgeCore * 100).toFixed(0)}% of a core), latency p50 ${m.p50.toFixed(2)} ms p99 ${m.p99.toFixed(2)} ms; clients ${(m.clientCore * 100).toFixed(0)}% core, publisher ${(m.pubCore * 100).toFixed(0)}% core; inside rt-edge (publish to send): ${m.edgeTail}`;
  let best = null;
  for (const r of STEPS) {
    const m = await measure(r, 5);
    console.log('step ' + fmt(m));
    if (m.p99 < 10 && m.count >= 0.95 * m.expected) best = m; else break;
  }
  const base = await measure(RATE, SECONDS);
  console.log('fan-out ' + fmt(base));
  console.log(best ? `highest sustained rate with p99 < 10 ms: ${best.perSec.toFixed(0)} deliveries/s` : 'no step met p99 < 10 ms');
  let slow = 0;
  for (const e of edges) slow += +(await L.metric(e.port, 'rt_edge_slow_consumer_closes_total'));
  console.log(`slow-consumer closes during the run: ${slow}`);
  workers.forEach((w) => w.send({ cmd: 'close' }));
  redis.close();
  for (const e of edges) await e.stop();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
