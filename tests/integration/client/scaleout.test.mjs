// Scale-out through a real load balancer: HAProxy (Debian's) on loopback in front of two rt-edge
// processes, clients (clients/js) connected through it while events flow. SIGTERM one edge: its
// clients get `reconnect`, come back through HAProxy to the other edge and resume with `since`
// with no gap and no duplicate. Then kill -9 the other one: the same through the client's
// backoff. Every id of the stream reaches every client exactly once, in order.
// Run: RT_TEST_BIN=<build dir> RT_TEST_SRC=<source dir> node --test scaleout.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { load, clientPath, srcDir } from './lib/deps.mjs';
import { stateDir, startRedis, stopRedis, EdgeProcess } from './lib/edge.mjs';
import { Redis, publish } from './lib/redis.mjs';
import { demoToken } from './lib/jwt.mjs';
import { waitFor, sleep } from './lib/wait.mjs';

const WebSocket = load('ws');
const { RtClient } = await import(clientPath);

const SECRET = 'scaleout-test-secret-0123456789abcdef';
const TENANT = 'scale';
const CLIENTS = 20;
let dir, redisPort, redis, edges = [], haproxy, lbPort;

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
        s.on('error', reject);
    });
}

async function httpStatus(port, p) {
    try {
        const r = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
        return r.status;
    } catch {
        return 0;
    }
}

function edgeEnv(id) {
    return {
        RT_EDGE_INSTANCE_ID: id, RT_EDGE_HEARTBEAT_MS: '2000', RT_EDGE_DRAIN_TIMEOUT_MS: '4000',
        RT_EDGE_RECONNECT_MIN_MS: '100', RT_EDGE_RECONNECT_MAX_MS: '600',
    };
}

before(async () => {
    dir = stateDir('scaleout');
    redisPort = startRedis(dir);
    redis = await new Redis(redisPort).connect();
    for (const id of ['e1', 'e2']) {
        const e = new EdgeProcess({ redisPort, secret: SECRET, logFile: `${dir}/edge-${id}.log`, env: edgeEnv(id) });
        await e.start();
        edges.push(e);
    }
    lbPort = await freePort();
    const statsPort = await freePort();
    const log = fs.openSync(`${dir}/haproxy.log`, 'a');
    haproxy = spawn('haproxy', ['-db', '-f', path.join(srcDir, 'deploy/haproxy.cfg')], {
        env: {
            PATH: process.env.PATH,
            LB_BIND: `127.0.0.1:${lbPort}`, LB_STATS_BIND: `127.0.0.1:${statsPort}`,
            LB_STATS_SOCKET: `${dir}/haproxy.sock`,
            LB_EDGE1_ADDR: `127.0.0.1:${edges[0].port}`, LB_EDGE2_ADDR: `127.0.0.1:${edges[1].port}`,
        },
        stdio: ['ignore', log, log],
    });
    await waitFor(async () => (await httpStatus(lbPort, '/readyz')) === 200, { timeout: 10000, what: 'haproxy up' });
});

after(async () => {
    if (haproxy && haproxy.exitCode === null) {
        const exited = new Promise((r) => haproxy.once('exit', r));
        process.kill(haproxy.pid, 'SIGTERM');
        await exited;
    }
    for (const e of edges) await e.kill('SIGKILL').catch(() => {});
    redis?.close();
    if (dir) stopRedis(dir);
});

function connectClients(n) {
    const all = [];
    for (let i = 0; i < n; i++) {
        const c = new RtClient({
            url: `ws://127.0.0.1:${lbPort}/ws`,
            token: demoToken(SECRET, { tenant: TENANT, sub: 'u-' + i }),
            WebSocket, backoffInitialMs: 200, backoffMaxMs: 1000, maxAttempts: 100,
            connectTimeoutMs: 3000, fallbackAfter: 1000,
        });
        const r = { c, ids: [], reconnects: 0, statuses: [] };
        c.on('status', (s) => { r.statuses.push(s); if (s === 'reconnecting') r.reconnects++; });
        c.subscribe('tenant', { onEvent: (e) => r.ids.push(e.id) });
        c.connect();
        all.push(r);
    }
    return all;
}

// Publishes one event every few milliseconds until stop() and returns every id published.
function publisher(event) {
    const ids = [];
    let running = true;
    const done = (async () => {
        for (let n = 0; running; n++) {
            ids.push(await publish(redis, TENANT, 'tenant', event, { n }));
            await sleep(5);
        }
    })();
    return { ids, stop: async () => { running = false; await done; } };
}

async function edgeConnections(e) {
    const r = await fetch(`http://127.0.0.1:${e.port}/metrics`).then((x) => x.text()).catch(() => '');
    const m = r.match(/^rt_edge_connections(?:\{[^}]*\})? (\d+)/m);
    return m ? Number(m[1]) : 0;
}

async function scenario(t, victim, signal, event) {
    const clients = connectClients(CLIENTS);
    t.after(() => clients.forEach((r) => r.c.disconnect()));
    await waitFor(() => clients.every((r) => r.statuses.includes('connected')), { timeout: 15000, what: 'all connected' });
    // both edges hold clients (leastconn), so the victim really has some to hand over
    const before = await edgeConnections(victim);
    assert.ok(before > 0, `the victim edge holds ${before} clients`);
    const pub = publisher(event);
    await waitFor(() => clients.every((r) => r.ids.length >= 20), { timeout: 10000, what: 'events flowing' });
    await victim.kill(signal, 15000);
    if (signal === 'SIGTERM') assert.equal(victim.proc.exitCode, 0, 'drained edge exits 0');
    await sleep(1500); // keep publishing while the clients move
    await pub.stop();
    const want = pub.ids;
    await waitFor(() => clients.every((r) => r.ids.length >= want.length), { timeout: 30000, what: 'every client caught up' });
    for (const [i, r] of clients.entries()) {
        const got = r.ids.filter((id) => want.includes(id));
        assert.deepEqual(got, want, `client ${i}: every id once and in order`);
        assert.equal(new Set(r.ids).size, r.ids.length, `client ${i}: no duplicate`);
    }
    const moved = clients.filter((r) => r.reconnects > 0).length;
    assert.ok(moved >= before, `${moved} clients reconnected (the victim held ${before})`);
    assert.ok(clients.every((r) => r.statuses.at(-1) === 'connected'), 'all live again');
    return { moved, events: want.length };
}

test('SIGTERM one edge: its clients are told to reconnect, move to the other edge, miss nothing', async (t) => {
    const r = await scenario(t, edges[0], 'SIGTERM', 'drain_test');
    t.diagnostic(`moved ${r.moved} clients, ${r.events} events each`);
    await edges[0].start(); // back on the same port for the next scenario
    await waitFor(async () => (await httpStatus(edges[0].port, '/readyz')) === 200, { timeout: 10000, what: 'edge1 back' });
    await sleep(4500); // HAProxy marks it up again after "rise 2" checks (inter 2s)
});

test('kill -9 the other edge: clients come back through the backoff, miss nothing', async (t) => {
    const r = await scenario(t, edges[1], 'SIGKILL', 'kill_test');
    t.diagnostic(`moved ${r.moved} clients, ${r.events} events each`);
});
