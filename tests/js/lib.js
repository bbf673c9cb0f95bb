'use strict';
// Helpers for the rt-edge integration tests: fixture state, a tiny RESP client, JWT minting
// (HS256, RS256 with a JWKS file), an rt-edge child process with captured logs, WebSocket and
// HTTP clients. Everything talks to 127.0.0.1 only.
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const http = require('http');
const { spawn, execFileSync } = require('child_process');
const WebSocket = require('ws');

const SRC = process.env.RT_TEST_SRC || path.resolve(__dirname, '../..');
const BIN = process.env.RT_TEST_BIN || path.join(SRC, 'build');
const STATE = process.env.RT_TEST_STATE || path.join(BIN, 'test-state');

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function waitFor(cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function redisPort() {
  return parseInt(fs.readFileSync(path.join(STATE, 'redis', 'port'), 'utf8').trim(), 10);
}

// ---- a minimal RESP2 client (commands pipelined, replies in order) ----
class Redis {
  constructor(port) {
    this.port = port;
    this.buf = Buffer.alloc(0);
    this.waiting = [];
  }
  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.connect(this.port, '127.0.0.1', () => resolve(this));
      this.sock.on('error', (e) => { reject(e); this._fail(e); });
      this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._drain(); });
      this.sock.on('close', () => this._fail(new Error('redis connection closed')));
    });
  }
  _fail(e) { while (this.waiting.length) this.waiting.shift().reject(e); }
  _parse(i) {
    const b = this.buf;
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) return null;
    const t = String.fromCharCode(b[i]);
    const line = b.toString('utf8', i + 1, nl);
    let p = nl + 2;
    if (t === '+') return [line, p];
    if (t === '-') return [new Error(line), p];
    if (t === ':') return [parseInt(line, 10), p];
    if (t === '$') {
      const n = parseInt(line, 10);
      if (n < 0) return [null, p];
      if (b.length < p + n + 2) return null;
      return [b.toString('utf8', p, p + n), p + n + 2];
    }
    if (t === '*') {
      const n = parseInt(line, 10);
      if (n < 0) return [null, p];
      const out = [];
      for (let k = 0; k < n; k++) {
        const r = this._parse(p);
        if (!r) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    throw new Error('bad RESP type ' + t);
  }
  _drain() {
    for (;;) {
      if (!this.buf.length) return;
      const r = this._parse(0);
      if (!r) return;
      this.buf = this.buf.subarray(r[1]);
      const w = this.waiting.shift();
      if (!w) continue;
      if (r[0] instanceof Error) w.reject(r[0]); else w.resolve(r[0]);
    }
  }
  cmd(...args) {
    let s = `*${args.length}\r\n`;
    for (const a of args) {
      const v = Buffer.from(String(a), 'utf8');
      s += `$${v.length}\r\n${v.toString('utf8')}\r\n`;
    }
    return new Promise((resolve, reject) => {
      if (!this.sock || this.sock.destroyed) return reject(new Error('redis connection closed'));
      this.waiting.push({ resolve, reject });
      this.sock.write(s);
    });
  }
  close() { if (this.sock) this.sock.destroy(); }
}

// The publish script is read from the C source so the tests use exactly what ingest uses.
function publishScript() {
  const src = fs.readFileSync(path.join(SRC, 'common/src/publish.c'), 'utf8');
  const start = src.indexOf('rt_publish_script[] =');
  const end = src.indexOf(';\n', start);
  const lits = src.slice(start, end).match(/"((?:[^"\\]|\\.)*)"/g);
  return lits.map((l) => JSON.parse(l)).join('');
}
const SCRIPT = publishScript();

// Publishes one event on rt:{tenant}:<channel>; returns its stream id.
async function publish(redis, tenant, channel, event, data, extra = {}) {
  const body = JSON.stringify(Object.assign({ channel, event, tenant, ts: new Date().toISOString(), data }, extra));
  const r = await redis.cmd('EVAL', SCRIPT, '1', `rt:{${tenant}}:${channel}`, body, '10000', '0');
  return r[1];
}

// ---- JWT ----
const b64u = (x) => Buffer.from(x).toString('base64url');
const HS_SECRET = 'test-secret-' + crypto.randomBytes(8).toString('hex');
const RSA = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA2 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }); // not in the JWKS
const KID = 'k1';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'rt-edge-tests';

function now() { return Math.floor(Date.now() / 1000); }

function mint(claims = {}, opts = {}) {
  const alg = opts.alg || 'HS256';
  const header = Object.assign({ alg, typ: 'JWT' }, opts.kid !== undefined ? { kid: opts.kid } : alg === 'RS256' ? { kid: KID } : {});
  const payload = Object.assign({ sub: 'u-1', org_id: 'acme', exp: now() + 3600, iat: now(), iss: ISSUER, aud: AUDIENCE }, claims);
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  let sig;
  if (alg === 'HS256') sig = crypto.createHmac('sha256', opts.secret || HS_SECRET).update(input).digest();
  else if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), opts.key || RSA.privateKey);
  else if (alg === 'none') sig = Buffer.alloc(0);
  return `${input}.${b64u(sig)}`;
}

function rsaPublicPem() { return RSA.publicKey.export({ type: 'spki', format: 'pem' }); }

function writeJwks(dir) {
  const jwk = RSA.publicKey.export({ format: 'jwk' });
  const file = path.join(dir, 'jwks.json');
  fs.writeFileSync(file, JSON.stringify({ keys: [Object.assign({ kid: KID, alg: 'RS256', use: 'sig' }, jwk)] }));
  return file;
}

// ---- rt-edge process ----
const LIVE = new Set();
// a signal still runs the exit handlers (child edges, private redis-servers are stopped)
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(1));
process.on('exit', () => { for (const e of LIVE) { try { e.proc.kill('SIGKILL'); } catch (x) { /* gone */ } } });

class Edge {
  constructor(env) { this.env = env; this.lines = []; this.exited = null; }
  start(timeoutMs = 10000) {
    const exe = path.join(BIN, 'edge', 'rt-edge');
    this.proc = spawn(exe, [], { env: Object.assign({}, process.env, this.env), stdio: ['ignore', 'ignore', 'pipe'] });
    let rest = '';
    this.proc.stderr.on('data', (d) => {
      rest += d.toString();
      let i;
      while ((i = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        this.lines.push(line);
        if (process.env.RT_TEST_VERBOSE) process.stderr.write('[edge] ' + line + '\n');
      }
    });
    LIVE.add(this);
    this.exit = new Promise((resolve) => this.proc.on('exit', (code, sig) => { this.exited = { code, sig }; LIVE.delete(this); resolve(this.exited); }));
    if (this.knownPort) {
      this.port = this.knownPort;
      return waitFor(async () => {
        if (this.exited) throw new Error('rt-edge exited early: ' + this.lines.join('\n'));
        try { return (await httpGet(this.port, '/healthz')).status === 200 ? this : null; } catch (e) { return null; }
      }, timeoutMs, 'rt-edge healthz');
    }
    return waitFor(() => {
      if (this.exited) throw new Error('rt-edge exited early: ' + this.lines.join('\n'));
      const l = this.lines.find((x) => x.includes('"process.ready"'));
      if (!l) return null;
      this.port = parseInt(/"url":"https?:\/\/[^:]+:(\d+)"/.exec(l)[1], 10);
      return this;
    }, timeoutMs, 'rt-edge ready');
  }
  logHas(re) { return this.lines.some((l) => re.test(l)); }
  async stop(sig = 'SIGTERM', timeoutMs = 15000) {
    if (this.exited) return this.exited;
    this.proc.kill(sig);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.exit;
    clearTimeout(t);
    return r;
  }
  rssKb() {
    const s = fs.readFileSync(`/proc/${this.proc.pid}/status`, 'utf8');
    return parseInt(/VmRSS:\s+(\d+)/.exec(s)[1], 10);
  }
  fds() { return fs.readdirSync(`/proc/${this.proc.pid}/fd`).length; }
  cpuTicks() {
    const f = fs.readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return parseInt(f[11], 10) + parseInt(f[12], 10);
  }
}

function baseEnv(dir, extra = {}) {
  return Object.assign({
    // the shared fixture's redis unless the caller brings its own (the benchmark does)
    RT_REDIS_URL: extra.RT_REDIS_URL || `redis://127.0.0.1:${redisPort()}/0`,
    RT_EDGE_LISTEN: '127.0.0.1:0',
    RT_JWT_SECRET: HS_SECRET,
    RT_JWT_JWKS: writeJwks(dir),
    RT_LOG_LEVEL: 'info',
    RT_JWT_ISSUER: ISSUER,
    RT_JWT_AUDIENCE: AUDIENCE,
  }, extra);
}

// A free TCP port on 127.0.0.1 (for processes started with a quiet log level).
function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
  });
}

function tmpdir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rt-edge-${name}-`));
}

// ---- HTTP ----
function httpGet(port, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(body); } catch (e) { /* text */ }
        resolve({ status: res.statusCode, body, json });
      });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('http timeout')));
  });
}

async function metric(port, name, labels = '') {
  const r = await httpGet(port, '/metrics');
  const want = labels ? `${name}{${labels}} ` : `${name} `;
  const line = r.body.split('\n').find((l) => l.startsWith(want));
  return line ? parseFloat(line.slice(want.length)) : 0;
}

// ---- WebSocket client ----
class Client {
  // how: {protocols, query, token (sent as first frame)}
  static open(port, how = {}) {
    const c = new Client();
    const q = how.query ? '?' + how.query : '';
    c.ws = new WebSocket(`ws://127.0.0.1:${port}/ws${q}`, how.protocols || [], { perMessageDeflate: false, maxPayload: 64 << 20 });
    c.msgs = [];
    c.waiters = [];
    c.closed = new Promise((resolve) => c.ws.on('close', (code, reason) => { c.closeInfo = { code, reason: reason.toString() }; resolve(c.closeInfo); c._wake(); }));
    c.ws.on('error', (e) => { c.error = e; c._wake(); });
    c.ws.on('message', (data, isBinary) => {
      const s = data.toString();
      let m = s;
      if (!isBinary) { try { m = JSON.parse(s); } catch (e) { m = s; } }
      c.msgs.push(m);
      c._wake();
    });
    c.opened = new Promise((resolve, reject) => {
      c.ws.on('open', () => { if (how.token) c.send({ type: 'auth', token: how.token }); resolve(c); });
      c.ws.on('unexpected-response', (req, res) => reject(new Error('HTTP ' + res.statusCode)));
      c.ws.on('error', reject);
    });
    return c;
  }
  _wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  send(o) { this.ws.send(typeof o === 'string' ? o : JSON.stringify(o)); }
  // waits for (and removes) the first message matching pred
  async next(pred = () => true, timeoutMs = 5000, what = 'message') {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.msgs.findIndex(pred);
      if (i >= 0) return this.msgs.splice(i, 1)[0];
      if (this.closeInfo) throw new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.msgs).slice(0, 500)}`);
      await new Promise((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  type(t, timeoutMs) { return this.next((m) => m && m.type === t, timeoutMs, t); }
  async closeCode(timeoutMs = 5000) {
    const t = sleep(timeoutMs).then(() => { throw new Error('no close within ' + timeoutMs + ' ms'); });
    return Promise.race([this.closed, t]);
  }
  async subscribe(channel, extra = {}, ref) {
    const r = ref || String(Math.random()).slice(2, 10);
    this.send(Object.assign({ type: 'subscribe', ref: r, channel }, extra));
    return this.next((m) => m && (m.type === 'subscribed' || m.type === 'error') && m.ref === r, 5000, 'subscribe reply ' + channel);
  }
  close() { try { this.ws.terminate(); } catch (e) { /* gone */ } }
}

async function connected(port, token, how = {}) {
  const c = Client.open(port, Object.assign({ protocols: ['rt.v1', 'rt.bearer.' + token] }, how));
  await c.opened;
  await c.type('connected');
  return c;
}

// ---- test runner ----
async function run(name, tests) {
  let failed = 0;
  for (const [tname, fn] of tests) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`ok - ${tname} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${tname}: ${e && e.stack || e}`);
    }
  }
  console.log(`${name}: ${tests.length - failed}/${tests.length} passed`);
  return failed;
}

// Runs the tests, stops the edges, exits 0 or 1.
async function main(name, setup) {
  let failed = 1;
  try {
    const list = await setup();
    failed = await run(name, list);
  } catch (e) {
    console.log(`not ok - ${name} setup: ${e && e.stack || e}`);
  }
  for (const e of LIVE) {
    const r = await e.stop();
    if (r.code !== 0 && !e.allowBadExit) {
      console.log(`not ok - rt-edge exit status ${JSON.stringify(r)}`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
}

function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }
function eq(a, b, msg) { if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${msg}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); }

module.exports = {
  SRC, BIN, STATE, sleep, waitFor, redisPort, Redis, publish, SCRIPT, mint, now, HS_SECRET, RSA, RSA2, KID,
  rsaPublicPem, writeJwks, ISSUER, AUDIENCE, Edge, baseEnv, tmpdir, httpGet, metric, Client, connected, run, main, assert, freePort, eq, execFileSync,
};
