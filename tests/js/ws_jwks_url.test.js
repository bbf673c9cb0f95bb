'use strict';
// JWKS from an http(s) URL: a real HTTP and HTTPS server on loopback serves a key set this test
// controls (its CA made here with openssl) and counts the requests. RS256 and ES256 keys, key
// rotation, the unknown-kid refetch limit, a server that is down or serves garbage, a wrong CA.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const L = require('./lib');

const b64u = (b) => Buffer.from(b).toString('base64url');

function mint(key, alg, kid, claims = {}) {
  const header = { alg, typ: 'JWT', kid };
  const payload = Object.assign({ sub: 'u-1', org_id: 'acme', exp: L.now() + 3600, iss: L.ISSUER, aud: L.AUDIENCE }, claims);
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  // ES256 in the JOSE form (r || s), as RFC 7518 requires, not DER
  const sig = crypto.sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${b64u(sig)}`;
}

function jwk(pair, kid, alg) {
  return Object.assign({ kid, alg, use: 'sig' }, pair.publicKey.export({ format: 'jwk' }));
}

const rsa1 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec1 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

// what the server answers: a JSON body, 'garbage', or 'down' (the connection is dropped)
const served = { mode: 'ok', body: null, requests: 0, hung: [] };
function handler(req, res) {
  served.requests++;
  if (served.mode === 'down') { req.socket.destroy(); return; }
  if (served.mode === 'hang') { served.hung.push(res); return; }
  const body = served.mode === 'garbage' ? '{"keys": [ not json' : JSON.stringify(served.body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function makeCerts(dir) {
  const o = (args) => L.execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=rt-test-ca']);
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=rt-other-ca']);
  o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  o(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf']);
  // signed by the trusted CA, but for another name
  fs.writeFileSync(path.join(dir, 'ext-other.cnf'), 'subjectAltName=DNS:other.example\n');
  o(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv-other.pem', '-days', '2', '-extfile', 'ext-other.cnf']);
}

function listen(srv) {
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv.address().port)));
}

async function accepted(edge, token) {
  const c = await L.connected(edge.port, token);
  c.close();
}

async function rejected4001(edge, token) {
  const c = L.Client.open(edge.port, { protocols: ['rt.v1', 'rt.bearer.' + token] });
  await c.opened;
  const info = await c.closeCode(10000);
  L.eq(info.code, 4001, 'close code');
  L.assert(!c.msgs.some((m) => m && m.type === 'connected'), 'not connected');
}

async function fetches(edge, result) {
  return L.metric(edge.port, 'rt_edge_jwks_fetches_total', `result="${result}"`);
}

async function readyz(edge) {
  return (await L.httpGet(edge.port, '/readyz')).status;
}

L.main('ws_jwks_url', async () => {
  const dir = L.tmpdir('jwksurl');
  makeCerts(dir);
  served.body = { keys: [jwk(rsa1, 'rsa-1', 'RS256'), jwk(ec1, 'ec-1', 'ES256')] };
  const tlsPort = await listen(https.createServer({ key: fs.readFileSync(path.join(dir, 'srv.key')), cert: fs.readFileSync(path.join(dir, 'srv.pem')) }, handler));
  const plainPort = await listen(http.createServer(handler));
  const otherPort = await listen(https.createServer({ key: fs.readFileSync(path.join(dir, 'srv.key')), cert: fs.readFileSync(path.join(dir, 'srv-other.pem')) }, handler));
  const httpsUrl = `https://localhost:${tlsPort}/keys/jwks.json`;
  const httpUrl = `http://127.0.0.1:${plainPort}/jwks.json`;
  const env = (extra) => {
    const e = L.baseEnv(dir, extra);
    delete e.RT_JWT_SECRET; // RS256/ES256 only
    return e;
  };
  let edge;

  return [
    ['/readyz is 503 until the first fetch succeeded, then 200', async () => {
      served.mode = 'down';
      edge = await new L.Edge(env({ RT_JWT_JWKS: httpsUrl, RT_EDGE_JWKS_CA_FILE: path.join(dir, 'ca.pem'), RT_EDGE_JWKS_REFRESH_S: '1', RT_EDGE_JWKS_MIN_REFRESH_S: '1' })).start();
      await L.waitFor(async () => (await fetches(edge, 'error')) >= 1, 5000, 'a failed fetch');
      const r = await L.httpGet(edge.port, '/readyz');
      L.eq(r.status, 503, 'readyz before any JWKS');
      L.assert(/jwks/.test(r.body), 'reason names the JWKS: ' + r.body);
      served.mode = 'ok';
      await L.waitFor(async () => (await readyz(edge)) === 200, 8000, 'readyz 200 after the fetch');
      L.assert((await fetches(edge, 'ok')) >= 1, 'ok fetch counted');
    }],
    ['RS256 and ES256 tokens with keys from the HTTPS JWKS are accepted', async () => {
      await accepted(edge, mint(rsa1.privateKey, 'RS256', 'rsa-1', { sub: 'u-rs' }));
      await accepted(edge, mint(ec1.privateKey, 'ES256', 'ec-1', { sub: 'u-es' }));
      // the key is used with its own algorithm only, and a wrong signature fails
      await rejected4001(edge, mint(rsa2.privateKey, 'RS256', 'rsa-1'));
    }],
    ['key rotation: the first token with the new kid is held for the refetch and accepted', async () => {
      // a long periodic refresh, so only the unknown kid can trigger the fetch
      const e2 = await new L.Edge(env({ RT_JWT_JWKS: httpsUrl, RT_EDGE_JWKS_CA_FILE: path.join(dir, 'ca.pem'), RT_EDGE_JWKS_REFRESH_S: '3600' })).start();
      await L.waitFor(async () => (await readyz(e2)) === 200, 5000, 'first fetch');
      const n0 = served.requests;
      served.body = { keys: [jwk(rsa1, 'rsa-1', 'RS256'), jwk(rsa2, 'rsa-2', 'RS256'), jwk(ec1, 'ec-1', 'ES256')] };
      // first-frame auth followed at once by a subscribe: both wait for the fetch, in order
      const c = L.Client.open(e2.port, { token: mint(rsa2.privateKey, 'RS256', 'rsa-2', { sub: 'u-new' }) });
      await c.opened;
      c.send({ type: 'subscribe', ref: 'r1', channel: 'tenant' });
      L.eq((await c.type('connected', 8000)).user, 'u-new', 'connected with the new key');
      L.eq((await c.next((m) => m && m.ref === 'r1', 5000, 'subscribe reply')).type, 'subscribed', 'the frame after the held auth');
      c.close();
      L.eq(served.requests, n0 + 1, 'exactly one refetch');
      L.eq((await e2.stop()).code, 0, 'clean exit');
    }],
    ['many unknown kids within a minute cause at most one refetch (plain http)', async () => {
      const e3 = await new L.Edge(env({ RT_JWT_JWKS: httpUrl, RT_EDGE_JWKS_REFRESH_S: '3600' })).start();
      await L.waitFor(async () => (await readyz(e3)) === 200, 5000, 'first fetch over http');
      const n0 = served.requests;
      const all = [];
      for (let i = 0; i < 20; i++) all.push(rejected4001(e3, mint(rsa1.privateKey, 'RS256', 'nope-' + i)));
      await Promise.all(all);
      for (let i = 0; i < 5; i++) await rejected4001(e3, mint(rsa1.privateKey, 'RS256', 'later-' + i));
      L.assert(served.requests - n0 <= 1, `at most one refetch, got ${served.requests - n0}`);
      L.eq(served.requests - n0, 1, 'the first unknown kid did refetch');
      await accepted(e3, mint(rsa1.privateKey, 'RS256', 'rsa-1'));
      L.eq((await e3.stop()).code, 0, 'clean exit');
    }],
    ['a JWKS server that is down keeps the old keys', async () => {
      const err0 = await fetches(edge, 'error');
      served.mode = 'down';
      await L.waitFor(async () => (await fetches(edge, 'error')) > err0, 8000, 'a failed refresh');
      await accepted(edge, mint(rsa1.privateKey, 'RS256', 'rsa-1'));
      L.eq(await readyz(edge), 200, 'still ready with the previous keys');
      served.mode = 'ok';
    }],
    ['a JWKS server serving garbage or an empty set keeps the old keys', async () => {
      const bad0 = await fetches(edge, 'invalid');
      served.mode = 'garbage';
      await L.waitFor(async () => (await fetches(edge, 'invalid')) > bad0, 8000, 'a refused JWKS (garbage)');
      await accepted(edge, mint(ec1.privateKey, 'ES256', 'ec-1'));
      served.mode = 'ok';
      const keep = served.body;
      served.body = { keys: [] };
      const bad1 = await fetches(edge, 'invalid');
      await L.waitFor(async () => (await fetches(edge, 'invalid')) > bad1, 8000, 'a refused JWKS (no keys)');
      await accepted(edge, mint(rsa1.privateKey, 'RS256', 'rsa-1'));
      L.assert(edge.logHas(/"auth.jwks_failed"/), 'logged');
      served.body = keep;
    }],
    ['a wrong CA fails the TLS fetch: not ready, tokens refused', async () => {
      const e4 = await new L.Edge(env({ RT_JWT_JWKS: httpsUrl, RT_EDGE_JWKS_CA_FILE: path.join(dir, 'other-ca.pem') })).start();
      await L.waitFor(async () => (await fetches(e4, 'error')) >= 1, 5000, 'the TLS failure');
      L.eq(await fetches(e4, 'ok'), 0, 'no fetch succeeded');
      L.eq(await readyz(e4), 503, 'not ready');
      await rejected4001(e4, mint(rsa1.privateKey, 'RS256', 'rsa-1'));
      L.eq((await e4.stop()).code, 0, 'clean exit');
    }],
    ['a certificate of the trusted CA for another host name fails the fetch', async () => {
      const e6 = await new L.Edge(env({ RT_JWT_JWKS: `https://localhost:${otherPort}/jwks.json`, RT_EDGE_JWKS_CA_FILE: path.join(dir, 'ca.pem') })).start();
      await L.waitFor(async () => (await fetches(e6, 'error')) >= 1, 5000, 'the host name failure');
      L.eq(await fetches(e6, 'ok'), 0, 'no fetch succeeded');
      L.eq(await readyz(e6), 503, 'not ready');
      L.eq((await e6.stop()).code, 0, 'clean exit');
    }],
    ['the system CAs do not trust the test CA', async () => {
      const e5 = await new L.Edge(env({ RT_JWT_JWKS: httpsUrl })).start();
      await L.waitFor(async () => (await fetches(e5, 'error')) >= 1, 5000, 'the TLS failure');
      L.eq(await readyz(e5), 503, 'not ready');
      L.eq((await e5.stop()).code, 0, 'clean exit');
    }],
    ['without RT_EDGE_JWKS_CA_FILE the system CA store is used (pointed at the test CA with SSL_CERT_FILE)', async () => {
      const e7 = await new L.Edge(env({ RT_JWT_JWKS: httpsUrl, SSL_CERT_FILE: path.join(dir, 'ca.pem') })).start();
      await L.waitFor(async () => (await readyz(e7)) === 200, 5000, 'fetch through the default verify paths');
      await accepted(e7, mint(rsa1.privateKey, 'RS256', 'rsa-1'));
      L.eq((await e7.stop()).code, 0, 'clean exit');
    }],
    ['a fetch that never answers: the held connection is closed 4001 after RT_EDGE_JWKS_TIMEOUT_MS', async () => {
      const e8 = await new L.Edge(env({ RT_JWT_JWKS: httpUrl, RT_EDGE_JWKS_TIMEOUT_MS: '1000', RT_EDGE_DRAIN_TIMEOUT_MS: '500' })).start();
      await L.waitFor(async () => (await readyz(e8)) === 200, 5000, 'first fetch');
      served.mode = 'hang';
      const t0 = Date.now();
      await rejected4001(e8, mint(rsa1.privateKey, 'RS256', 'rotated-away'));
      const waited = Date.now() - t0;
      L.assert(waited >= 900 && waited < 4000, `held about the fetch deadline, not more: ${waited} ms`);
      L.eq(await fetches(e8, 'error'), 1, 'the timeout counted as a failed fetch');
      // held again while a new fetch hangs, then SIGTERM: a clean exit with a fetch in flight
      await L.sleep(1100); // past the 1 s retry, so a fetch is in flight again
      const n0 = served.hung.length;
      await L.waitFor(() => served.hung.length > n0, 3000, 'the retry fetch in flight');
      const c = L.Client.open(e8.port, { protocols: ['rt.v1', 'rt.bearer.' + mint(rsa1.privateKey, 'RS256', 'still-unknown')] });
      await c.opened;
      await L.sleep(100);
      L.assert(!c.closeInfo, 'held while the fetch is in flight');
      L.eq((await e8.stop()).code, 0, 'clean exit with a held connection and a fetch in flight');
      L.assert([1001, 4001].includes((await c.closeCode(3000)).code), 'the held client was closed');
      served.mode = 'ok';
      served.hung.splice(0).forEach((r) => r.destroy());
    }],
    ['bad JWKS URL settings exit 2', async () => {
      for (const extra of [{ RT_JWT_JWKS: 'https:///nohost' }, { RT_JWT_JWKS: httpsUrl, RT_EDGE_JWKS_CA_FILE: path.join(dir, 'missing.pem') }]) {
        const e = new L.Edge(env(extra));
        e.allowBadExit = true;
        try { await e.start(3000); } catch (x) { /* exits before ready */ }
        const r = await e.exit;
        L.eq(r.code, 2, 'exit code for ' + JSON.stringify(extra));
        L.assert(e.logHas(/config.invalid/), 'config.invalid logged');
      }
    }],
  ];
});
