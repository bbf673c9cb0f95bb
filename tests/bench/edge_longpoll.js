'use strict';
// Long polling on rt-edge: prints figures, asserts nothing about time (exit 1 only if a poller
// saw a gap or a duplicate).
//   node tests/bench/edge_longpoll.js [--pollers 1000] [--channels 10] [--rate 20] [--seconds 10]
// A private redis-server and rt-edge on loopback; `pollers` HTTP clients (keep-alive) each loop
// on GET /api/v1/events?channel=tenant&since=<next>&wait=25 for tenant t<i % channels>, while a
// publisher sends `rate` events/s round-robin over the channels. Reported: held requests answered
// per second, rt-edge CPU per answered request (from /proc: the answer, the next request's
// stream read, its subscription and replay read), the latency from the event's publish to the
// answer (p50, p99), and whether every poller got exactly its channel's ids.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');
const L = require('../js/lib');

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? a.concat([[v.slice(2), all[i + 1]]]) : a), []));
const POLLERS = +(args.pollers || 1000), CHANNELS = +(args.channels || 10), RATE = +(args.rate || 20), SECONDS = +(args.seconds || 10);
const HZ = 100;
const cpuMs = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) * 1000 / HZ; };
const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(a.length * p))] : NaN);

async function main() {
  const dir = L.tmpdir('longpoll');
  const rdir = path.join(dir, 'redis');
  const FIX = path.join(L.SRC, 'tests/fixtures/redis.sh');
  execFileSync('bash', [FIX, 'start', rdir, 'private']);
  process.on('exit', () => { try { execFileSync('bash', [FIX, 'stop', rdir]); } catch (e) { /* gone */ } });
  const rport = parseInt(fs.readFileSync(path.join(rdir, 'port'), 'utf8'), 10);
  const eport = await L.freePort();
  const edge = new L.Edge(Object.assign(L.baseEnv(dir), {
    RT_REDIS_URL: `redis://127.0.0.1:${rport}/0`, RT_LOG_LEVEL: 'warn', RT_EDGE_LISTEN: `127.0.0.1:${eport}`, RT_EDGE_POLL_MAX_HELD: String(POLLERS + 100),
  }));
  edge.knownPort = eport;
  await edge.start();
  const redis = await new L.Redis(rport).connect();
  const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`# rt-edge long poll: ${POLLERS} pollers, ${CHANNELS} channels, ${RATE} events/s for ${SECONDS} s, load ${load()}`);
  const start = {};
  for (let c = 0; c < CHANNELS; c++) start['t' + c] = await L.publish(redis, 't' + c, 'tenant', 'start', {});
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const pubAt = new Map();
  const lat = [];
  let answers = 0, running = true;
  const get = (p, token) => new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: edge.port, path: p, agent, headers: { Authorization: 'Bearer ' + token } }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(b) }));
    });
    req.on('error', reject);
  });
  const pollers = Array.from({ length: POLLERS }, (_, i) => ({ tenant: 't' + (i % CHANNELS), token: L.mint({ sub: 'p' + i, org_id: 't' + (i % CHANNELS), exp: L.now() + 3600 }), ids: [] }));
  const loops = pollers.map(async (p) => {
    let since = start[p.tenant];
    while (running) {
      const r = await get(`/api/v1/events?channel=tenant&since=${since}&wait=25`, p.token).catch(() => null);
      const t = Date.now();
      if (!running) return;
      if (!r || r.status !== 200) { await L.sleep(100); continue; }
      if (r.json.events.length) answers++;
      for (const e of r.json.events) { p.ids.push(e.id); if (pubAt.has(e.id)) lat.push(t - pubAt.get(e.id)); }
      since = r.json.next;
    }
  });
  await L.waitFor(async () => (await L.metric(edge.port, 'rt_edge_poll_held')) >= POLLERS, 60000, 'every poller held');
  const e0 = cpuMs(edge.proc.pid), a0 = answers, t0 = Date.now();
  const last = {};
  for (let k = 0; k < RATE * SECONDS; k++) {
    const tenant = 't' + (k % CHANNELS);
    const before = Date.now();
    const id = await L.publish(redis, tenant, 'tenant', 'tick', { k });
    pubAt.set(id, before);
    last[tenant] = id;
    await L.sleep(Math.max(0, t0 + (k + 1) * 1000 / RATE - Date.now()));
  }
  await L.waitFor(() => pollers.every((p) => p.ids.at(-1) === last[p.tenant]), 30000, 'pollers caught up');
  const wall = (Date.now() - t0) / 1000, ecpu = cpuMs(edge.proc.pid) - e0, n = answers - a0;
  lat.sort((a, b) => a - b);
  let bad = 0;
  for (const p of pollers) {
    const want = (await redis.cmd('XRANGE', `rt:{${p.tenant}}:tenant`, '(' + start[p.tenant], '+')).map((e) => e[0]);
    if (JSON.stringify(want) !== JSON.stringify(p.ids)) bad++;
  }
  console.log(`answered held requests: ${n} in ${wall.toFixed(1)} s (${(n / wall).toFixed(0)}/s); rt-edge CPU ${ecpu.toFixed(0)} ms = ${(ecpu * 1000 / n).toFixed(0)} us per answered request ` +
    `(${(ecpu / 10 / wall).toFixed(0)}% of a core); publish-to-answer latency p50 ${pct(lat, 0.5)} ms p99 ${pct(lat, 0.99)} ms; pollers with ids differing from the stream: ${bad}`);
  console.log(`load after: ${load()}`);
  running = false;
  agent.destroy();
  redis.close();
  await edge.stop('SIGTERM');
  process.exit(bad ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
