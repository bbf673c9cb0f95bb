'use strict';
// Authentication: the three routes of spec/protocol.md, every rejection, refresh and expiry.
const L = require('./lib');

let edge;

async function rejected(how, reason) {
  const total = async () => {
    const r = await L.httpGet(edge.port, '/metrics');
    return r.body.split('\n').filter((l) => l.startsWith('rt_edge_auth_failures_total{'))
      .reduce((a, l) => a + parseFloat(l.split(' ')[1]), 0);
  };
  const all0 = await total();
  const before = await L.metric(edge.port, 'rt_edge_auth_failures_total', `reason="${reason}"`);
  const c = L.Client.open(edge.port, how);
  await c.opened;
  const info = await c.closeCode(5000);
  L.eq(info.code, 4001, `close code (${reason})`);
  L.assert(!c.msgs.some((m) => m && m.type === 'connected'), 'no connected message before the close');
  const after = await L.metric(edge.port, 'rt_edge_auth_failures_total', `reason="${reason}"`);
  L.assert(after === before + 1, `auth failure counted with reason ${reason} (${before} -> ${after})`);
  L.eq(await total(), all0 + 1, 'exactly one failure counted');
}

const viaProto = (t) => ({ protocols: ['rt.v1', 'rt.bearer.' + t] });
const viaQuery = (t) => ({ query: 'access_token=' + encodeURIComponent(t) });
const viaFrame = (t) => ({ token: t });

L.main('ws_auth', async () => {
  const dir = L.tmpdir('auth');
  edge = await new L.Edge(L.baseEnv(dir, { RT_EDGE_AUTH_TIMEOUT_MS: '600', RT_JWT_LEEWAY_S: '2' })).start();
  return [
    ['subprotocol route (HS256): rt.v1 answered, connected sent', async () => {
      const c = L.Client.open(edge.port, viaProto(L.mint({ sub: 'u-7' })));
      await c.opened;
      L.eq(c.ws.protocol, 'rt.v1', 'negotiated subprotocol');
      const m = await c.type('connected');
      L.eq([m.user, m.tenant, m.protocol], ['u-7', 'acme', 1], 'connected fields');
      L.assert(typeof m.session === 'string' && m.session.length >= 8, 'session id');
      L.assert(m.heartbeat_ms > 0, 'heartbeat_ms');
      c.close();
    }],
    ['subprotocol route (RS256 from the JWKS)', async () => {
      const c = L.Client.open(edge.port, viaProto(L.mint({ sub: 'u-rs' }, { alg: 'RS256' })));
      await c.opened;
      const m = await c.type('connected');
      L.eq(m.user, 'u-rs', 'user');
      c.close();
    }],
    ['access_token query route', async () => {
      const c = L.Client.open(edge.port, viaQuery(L.mint({ sub: 'u-q' })));
      await c.opened;
      L.eq((await c.type('connected')).user, 'u-q', 'user');
      c.close();
    }],
    ['first-frame route', async () => {
      const c = L.Client.open(edge.port, viaFrame(L.mint({ sub: 'u-f' })));
      await c.opened;
      L.eq((await c.type('connected')).user, 'u-f', 'user');
      c.close();
    }],
    ['first frame other than auth closes 4001', async () => {
      const c = L.Client.open(edge.port, {});
      await c.opened;
      c.send({ type: 'subscribe', ref: '1', channel: 'tenant' });
      L.eq((await c.closeCode()).code, 4001, 'close code');
    }],
    ['no auth within the auth timeout closes 4001', async () => {
      const c = L.Client.open(edge.port, {});
      await c.opened;
      const t0 = Date.now();
      const info = await c.closeCode(5000);
      L.eq(info.code, 4001, 'close code');
      L.assert(Date.now() - t0 >= 400, 'not before the timeout');
    }],
    ['bad signature', () => rejected(viaProto(L.mint({}, { secret: 'wrong-secret' })), 'bad_signature')],
    ['bad RS256 signature (key not in the JWKS, known kid)', () => rejected(viaQuery(L.mint({}, { alg: 'RS256', key: L.RSA2.privateKey })), 'bad_signature')],
    ['expired', () => rejected(viaFrame(L.mint({ exp: L.now() - 3600 })), 'expired')],
    ['nbf in the future', () => rejected(viaProto(L.mint({ nbf: L.now() + 3600 })), 'not_yet_valid')],
    ['alg none (no signature part)', () => rejected(viaProto(L.mint({}, { alg: 'none' })), 'malformed')],
    ['alg none with a signature', () => rejected(viaProto(L.mint({}, { alg: 'none' }) + 'c2ln'), 'alg_not_allowed')],
    ['alg none via the first frame', () => rejected(viaFrame(L.mint({}, { alg: 'none' }) + 'c2ln'), 'alg_not_allowed')],
    ['HS256 signed with the RSA public key as secret', async () => {
      const t = L.mint({}, { alg: 'HS256', kid: L.KID, secret: L.rsaPublicPem() });
      await rejected(viaProto(t), 'bad_signature'); // checked with the HS256 secret only
      // an edge that allows only RS256 refuses the algorithm outright
      const rsOnly = await new L.Edge(L.baseEnv(L.tmpdir('auth-rs'), { RT_JWT_ALGS: 'RS256' })).start();
      const c = L.Client.open(rsOnly.port, viaProto(t));
      await c.opened;
      L.eq((await c.closeCode()).code, 4001, 'RS256-only edge');
      L.eq(await L.metric(rsOnly.port, 'rt_edge_auth_failures_total', 'reason="alg_not_allowed"'), 1, 'reason');
      const ok = await L.connected(rsOnly.port, L.mint({}, { alg: 'RS256' }));
      ok.close();
      L.eq((await rsOnly.stop()).code, 0, 'exit');
    }],
    ['unknown kid', () => rejected(viaProto(L.mint({}, { alg: 'RS256', kid: 'nope', key: L.RSA2.privateKey })), 'unknown_kid')],
    ['missing tenant claim', () => rejected(viaProto(L.mint({ org_id: undefined })), 'missing_claim')],
    ['missing sub', () => rejected(viaFrame(L.mint({ sub: undefined })), 'missing_claim')],
    ['missing exp', () => rejected(viaQuery(L.mint({ exp: undefined })), 'missing_claim')],
    ['wrong iss', () => rejected(viaProto(L.mint({ iss: 'https://evil.test' })), 'bad_issuer')],
    ['wrong aud', () => rejected(viaProto(L.mint({ aud: 'someone-else' })), 'bad_audience')],
    ['garbage token', () => rejected(viaProto('not.a.jwt'), 'malformed')],
    ['refresh with the same sub keeps the connection', async () => {
      const c = await L.connected(edge.port, L.mint({ sub: 'u-r', exp: L.now() + 4 }));
      c.send({ type: 'auth', token: L.mint({ sub: 'u-r', exp: L.now() + 3600 }) });
      const m = await c.type('connected');
      L.eq(m.user, 'u-r', 'refresh acknowledged with connected');
      await L.sleep(4000 + 2000 + 600); // past the first token's exp + leeway
      c.send({ type: 'ping', ref: 'p' });
      L.eq((await c.type('pong')).ref, 'p', 'still open after the old expiry');
      c.close();
    }],
    ['refresh with another sub closes 4001', async () => {
      const c = await L.connected(edge.port, L.mint({ sub: 'u-a' }));
      c.send({ type: 'auth', token: L.mint({ sub: 'u-b' }) });
      L.eq((await c.closeCode()).code, 4001, 'close code');
    }],
    ['refresh with another tenant closes 4001', async () => {
      const c = await L.connected(edge.port, L.mint({ sub: 'u-a' }));
      c.send({ type: 'auth', token: L.mint({ sub: 'u-a', org_id: 'other' }) });
      L.eq((await c.closeCode()).code, 4001, 'close code');
    }],
    ['a token accepted within the clock-skew allowance stays open until exp + leeway', async () => {
      const t0 = Date.now();
      const c = await L.connected(edge.port, L.mint({ exp: L.now() }));
      await L.sleep(800);
      c.send({ type: 'ping', ref: 'skew' });
      L.eq((await c.type('pong')).ref, 'skew', 'still open after exp (leeway 2 s)');
      const info = await c.closeCode(6000);
      L.eq([info.code, info.reason], [4001, 'token expired'], 'closed at exp + leeway');
      L.assert(Date.now() - t0 >= 1000, 'not before the leeway ran out: ' + (Date.now() - t0) + ' ms');
    }],
    ['token expiry on a live connection closes 4001 token expired', async () => {
      const c = await L.connected(edge.port, L.mint({ exp: L.now() + 1 }));
      const info = await c.closeCode(8000);
      L.eq([info.code, info.reason], [4001, 'token expired'], 'close');
    }],
    ['compact subprotocol header with a short bearer entry: refused, the edge stays up', async () => {
      // "a,...,a,rt.bearer.x": rejoining what stays with ", " is longer than the original line,
      // which once aborted rt-edge before any authentication (every client dropped)
      const net = require('net');
      const head = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Protocol:a,a,a,a,a,a,a,a,a,a,a,a,a,rt.v1,rt.bearer.x\r\n\r\n';
      const answer = await new Promise((resolve, reject) => {
        const sock = net.connect(edge.port, '127.0.0.1', () => sock.write(head));
        let got = '';
        sock.on('data', (d) => { got += d.toString('latin1'); });
        sock.on('close', () => resolve(got));
        sock.on('error', reject);
        setTimeout(() => sock.destroy(), 3000);
      });
      L.assert(answer.length > 0, 'an answer came back (the process did not abort)');
      L.eq(edge.proc.exitCode, null, 'rt-edge still running');
      L.eq((await L.httpGet(edge.port, '/healthz')).status, 200, '/healthz');
      const ok = await L.connected(edge.port, L.mint({ sub: 'u-after' }));
      ok.close();
    }],
    ['a token never appears in the log', async () => {
      const t = L.mint({ sub: 'u-log' });
      const c = await L.connected(edge.port, t, viaQuery(t));
      c.close();
      const sig = t.split('.')[2];
      L.assert(!edge.lines.some((l) => l.includes(sig)), 'signature absent from logs');
    }],
  ];
});
