'use strict';
// TLS served by rt-edge itself (RT_EDGE_TLS_CERT / RT_EDGE_TLS_KEY), for deployments without a
// TLS-terminating balancer: probes over https, wss with the query and first-frame token routes
// (a JWT in the subprotocol is too long for lws 4.1 under TLS: docs/protocol.md), events
// delivered, a plain-text client refused, and the edge unharmed by it.
const fs = require('fs');
const https = require('https');
const path = require('path');
const WebSocket = require('ws');
const L = require('./lib');

function makeCerts(dir) {
  const o = (args) => L.execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=rt-test-ca']);
  o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  o(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf']);
}

function httpsGet(port, p, ca) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', servername: 'localhost', port, path: p, ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('https timeout')));
  });
}

// A wss client that collects frames; opts: { query, protocols, firstFrame }
function wss(port, ca, opts) {
  const url = `wss://localhost:${port}/ws` + (opts.query ? '?' + opts.query : '');
  const ws = new WebSocket(url, opts.protocols || [], { ca, perMessageDeflate: false });
  const c = { ws, msgs: [], closed: null };
  c.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  c.opened = new Promise((resolve, reject) => {
    ws.on('open', () => { if (opts.firstFrame) ws.send(JSON.stringify({ type: 'auth', token: opts.firstFrame })); resolve(); });
    ws.on('error', reject);
  });
  ws.on('message', (d) => { try { c.msgs.push(JSON.parse(d.toString())); } catch (e) { c.msgs.push(d.toString()); } });
  c.next = (pred, what) => L.waitFor(() => c.msgs.find(pred), 5000, what);
  return c;
}

L.main('ws_tls', async () => {
  const dir = L.tmpdir('tls');
  makeCerts(dir);
  const ca = fs.readFileSync(path.join(dir, 'ca.pem'));
  const redis = await new L.Redis(L.redisPort()).connect();
  const edge = await new L.Edge(L.baseEnv(dir, {
    RT_EDGE_TLS_CERT: path.join(dir, 'srv.pem'), RT_EDGE_TLS_KEY: path.join(dir, 'srv.key'),
  })).start();
  return [
    ['probes answer over https', async () => {
      L.eq((await httpsGet(edge.port, '/healthz', ca)).status, 200, '/healthz');
      L.eq((await httpsGet(edge.port, '/readyz', ca)).status, 200, '/readyz');
      L.assert((await httpsGet(edge.port, '/metrics', ca)).body.includes('rt_edge_connections'), '/metrics');
    }],
    ['wss with the query token (RS256) and the first-frame token: connected, events delivered', async () => {
      const q = wss(edge.port, ca, { query: 'access_token=' + encodeURIComponent(L.mint({ sub: 'tls-q' }, { alg: 'RS256' })) });
      const f = wss(edge.port, ca, { firstFrame: L.mint({ sub: 'tls-f' }) });
      await Promise.all([q.opened, f.opened]);
      for (const [c, who] of [[q, 'tls-q'], [f, 'tls-f']]) {
        L.eq((await c.next((m) => m.type === 'connected', 'connected')).user, who, 'user');
        c.ws.send(JSON.stringify({ type: 'subscribe', ref: 's', channel: 'tenant' }));
        await c.next((m) => m.type === 'subscribed', 'subscribed');
      }
      const id = await L.publish(redis, 'acme', 'tenant', 'tls', { over: 'tls' });
      for (const c of [q, f]) {
        const ev = await c.next((m) => m.type === 'event', 'event');
        L.eq([ev.id, ev.data.over], [id, 'tls'], 'event over wss');
      }
      q.ws.close();
      f.ws.close();
    }],
    ['a plain-text WebSocket client on the TLS port is refused; the edge keeps serving', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/ws`, { perMessageDeflate: false });
      const outcome = await new Promise((resolve) => {
        ws.on('open', () => resolve('open'));
        ws.on('error', () => resolve('error'));
        ws.on('close', () => resolve('closed'));
        setTimeout(() => resolve('timeout'), 5000);
      });
      L.assert(outcome !== 'open', 'no plain-text session: ' + outcome);
      ws.terminate();
      L.eq((await httpsGet(edge.port, '/healthz', ca)).status, 200, '/healthz after it');
      L.eq(edge.exited, null, 'rt-edge still running');
    }],
    ['SIGTERM exits 0', async () => {
      redis.close();
      L.eq((await edge.stop()).code, 0, 'exit');
    }],
  ];
});
