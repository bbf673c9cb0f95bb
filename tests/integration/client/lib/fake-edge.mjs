// A scriptable in-process server speaking spec/protocol.md v1, for client tests that need
// faults the real rt-edge does not produce on demand (duplicate replays, silence, a drain
// message at a chosen time, refused upgrades). The real-edge tests are in edge.test.mjs.
import http from 'node:http';
import { load } from './deps.mjs';
import { verifyJwt } from './jwt.mjs';

const { WebSocketServer } = load('ws');

function cmpId(a, b) {
    const [am, as] = a.split('-').map(BigInt);
    const [bm, bs] = b.split('-').map(BigInt);
    return am < bm ? -1 : am > bm ? 1 : as < bs ? -1 : as > bs ? 1 : 0;
}

export class FakeEdge {
    constructor({ secret = 'test-secret', heartbeatMs = 30000 } = {}) {
        this.secret = secret;
        this.heartbeatMs = heartbeatMs;
        this.streams = new Map(); // channel -> [{id, event, data}]
        this.firstRetained = new Map(); // channel -> id of the oldest retained event
        this.conns = new Set();
        this.refuseUpgrade = false; // answer upgrades with 503
        this.silent = false; // answer nothing, send nothing (a dead peer that keeps TCP open)
        this.replayOverlap = 0; // on subscribe with since, also resend this many older events
        this.sinceUnsupported = false; // refuse `since` on subscribe (an edge without replay)
        this.subscribeInternal = 0; // refuse this many subscribes with `internal` (rt-edge without Redis)
        this.pollFromStart = false; // /api/v1/events without since starts at the oldest event
        this.waitSupported = false; // serve long-poll `wait` (else answer it 400, as rt-edge did before it had long polls)
        this.waitBusy = false; // answer `wait` 429, as rt-edge does at RT_EDGE_POLL_MAX_HELD held requests
        this.waiters = new Set();
        this.pollParams = []; // the query of every poll request
        this.upgrades = 0;
        this.upgradeRefusals = 0;
        this.polls = 0;
        this.received = []; // every client message
        this.seq = 0;
        this.lastMs = 0;
        this.server = http.createServer((req, res) => this.#http(req, res));
        this.wss = new WebSocketServer({
            noServer: true,
            handleProtocols: (protocols) => (protocols.has('rt.v1') ? 'rt.v1' : false),
        });
        this.server.on('upgrade', (req, sock, head) => this.#upgrade(req, sock, head));
    }

    async start() {
        await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
        this.port = this.server.address().port;
        this.url = `ws://127.0.0.1:${this.port}/ws`;
        return this;
    }

    async stop() {
        this.dropAll();
        const closed = new Promise((r) => this.server.close(r));
        this.server.closeAllConnections();
        await closed;
    }

    dropAll() {
        for (const c of this.conns) c.ws.terminate();
        this.conns.clear();
    }

    publish(channel, event = 'tick', data = {}) {
        const ms = Math.max(Date.now(), this.lastMs);
        this.seq = ms === this.lastMs ? this.seq + 1 : 0;
        this.lastMs = ms;
        const id = `${ms}-${this.seq}`;
        const ev = { id, channel, event, ts: new Date(ms).toISOString(), data };
        if (!this.streams.has(channel)) this.streams.set(channel, []);
        this.streams.get(channel).push(ev);
        for (const c of this.conns)
            if (c.subs.has(channel) && !this.silent) c.send({ type: 'event', ...ev });
        for (const w of [...this.waiters]) if (w.channel === channel) w.wake();
        return id;
    }

    /** Drops every retained event of a channel up to and including `uptoId`. */
    trim(channel, uptoId) {
        const s = this.streams.get(channel) || [];
        const keep = s.filter((e) => cmpId(e.id, uptoId) > 0);
        this.streams.set(channel, keep);
        this.firstRetained.set(channel, uptoId);
    }

    ids(channel) {
        return (this.streams.get(channel) || []).map((e) => e.id);
    }

    #claims(token) {
        return token ? verifyJwt(token, this.secret) : null;
    }

    #upgrade(req, sock, head) {
        this.upgrades++;
        if (this.refuseUpgrade) {
            this.upgradeRefusals++;
            sock.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            return;
        }
        const protos = String(req.headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim());
        const bearer = protos.find((p) => p.startsWith('rt.bearer.'));
        const claims = this.#claims(bearer && bearer.slice('rt.bearer.'.length));
        if (!claims) {
            sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            return;
        }
        this.wss.handleUpgrade(req, sock, head, (ws) => this.#session(ws, claims));
    }

    #session(ws, claims) {
        const c = {
            ws,
            claims,
            subs: new Set(),
            send: (m) => ws.readyState === 1 && ws.send(JSON.stringify(m)),
        };
        this.conns.add(c);
        ws.on('close', () => this.conns.delete(c));
        ws.on('message', (data, isBinary) => {
            if (isBinary) return ws.close(1008, 'binary');
            const text = data.toString();
            if (this.silent) return;
            if (text === 'ping') return ws.send('pong');
            let m;
            try {
                m = JSON.parse(text);
            } catch {
                return c.send({ type: 'error', code: 'bad_request', message: 'bad json' });
            }
            this.received.push(m);
            this.#command(c, m);
        });
        c.send({
            type: 'connected',
            session: 'fake-' + this.upgrades,
            user: claims.sub,
            tenant: claims.org_id,
            heartbeat_ms: this.heartbeatMs,
            protocol: 1,
        });
    }

    #command(c, m) {
        switch (m.type) {
        case 'ping':
            return c.send({ type: 'pong', ref: m.ref });
        case 'auth': {
            const cl = this.#claims(m.token);
            if (!cl || cl.sub !== c.claims.sub) return c.ws.close(4001, 'bad token');
            c.claims = cl;
            // as rt-edge does: a refresh is answered with `connected` again
            return c.send({ type: 'connected', session: 'fake-refreshed', user: cl.sub, tenant: cl.org_id, heartbeat_ms: this.heartbeatMs, protocol: 1 });
        }
        case 'subscribe': {
            if (c.subs.has(m.channel)) // as rt-edge does
                return c.send({ type: 'error', ref: m.ref, code: 'bad_request', message: 'already subscribed to this channel' });
            if (m.channel === 'forbidden')
                return c.send({ type: 'error', ref: m.ref, code: 'forbidden', message: 'no' });
            if (this.subscribeInternal > 0) {
                this.subscribeInternal--;
                return c.send({ type: 'error', ref: m.ref, code: 'internal', message: 'storage unavailable, retry' });
            }
            const s = this.streams.get(m.channel) || [];
            const offset = s.length ? s[s.length - 1].id : '0-0';
            if (m.since && this.sinceUnsupported)
                return c.send({ type: 'error', ref: m.ref, code: 'bad_request', message: 'since is not supported' });
            const first = this.firstRetained.get(m.channel);
            if (m.since && first && cmpId(m.since, first) < 0) {
                return c.send({ type: 'resync_required', channel: m.channel, reason: 'offset_expired' });
            }
            c.subs.add(m.channel);
            c.send({ type: 'subscribed', ref: m.ref, channel: m.channel, offset });
            if (m.since) {
                let start = s.findIndex((e) => cmpId(e.id, m.since) > 0);
                if (start < 0) start = s.length;
                start = Math.max(0, start - this.replayOverlap);
                for (const e of s.slice(start)) c.send({ type: 'event', ...e });
            }
            return;
        }
        case 'unsubscribe':
            if (!c.subs.delete(m.channel))
                c.send({ type: 'error', ref: m.ref, code: 'not_found', message: 'not subscribed' });
            return;
        default:
            return c.send({ type: 'error', ref: m.ref, code: 'bad_request', message: 'unknown type' });
        }
    }

    /** Sends the drain message to every connection, then closes them with 1001 after closeMs. */
    drain(afterMs, closeMs) {
        for (const c of this.conns) c.send({ type: 'reconnect', after_ms: afterMs });
        setTimeout(() => {
            for (const c of this.conns) c.ws.close(1001, 'going away');
        }, closeMs);
    }

    #http(req, res) {
        const u = new URL(req.url, 'http://x');
        const json = (st, body) => {
            res.writeHead(st, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
        };
        if (u.pathname === '/readyz') return json(200, { ok: true });
        if (u.pathname !== '/api/v1/events') return json(404, { error: 'not_found' });
        this.polls++;
        const auth = String(req.headers.authorization || '');
        if (!auth.startsWith('Bearer ') || !this.#claims(auth.slice(7))) return json(401, { error: 'unauthorized' });
        const channel = u.searchParams.get('channel');
        if (!channel) return json(400, { error: 'bad_request' });
        this.pollParams.push(Object.fromEntries(u.searchParams));
        const wait = u.searchParams.get('wait');
        if (wait && !this.waitSupported) return json(400, { error: 'bad_request', message: 'wait is not served' });
        if (wait && this.waitBusy) return json(429, { error: 'rate_limited', message: 'too many long polls held on this edge' });
        if (wait && !req.waited) {
            const since = u.searchParams.get('since');
            const has = (this.streams.get(channel) || []).some((e) => !since || cmpId(e.id, since) > 0);
            if (since && !has) {
                // hold the request until an event of the channel or the deadline
                const w = { channel, wake: () => {} };
                const done = () => {
                    clearTimeout(timer);
                    this.waiters.delete(w);
                    req.waited = true;
                    this.#http(req, res);
                };
                const timer = setTimeout(done, Math.min(30, Number(wait)) * 1000);
                w.wake = done;
                this.waiters.add(w);
                res.on('close', () => { clearTimeout(timer); this.waiters.delete(w); });
                return;
            }
        }
        const since = u.searchParams.get('since');
        const limit = Number(u.searchParams.get('limit') || 100);
        const s = this.streams.get(channel) || [];
        const first = this.firstRetained.get(channel);
        if (since && first && cmpId(since, first) < 0)
            return json(200, { events: [], next: first, resync_required: true });
        if (!since && this.pollFromStart) {
            const events = s.slice(0, limit);
            return json(200, { events, next: events.length ? events.at(-1).id : '0-0', resync_required: false });
        }
        if (!since) {
            // no position: start at the newest id, like the WebSocket's `offset`
            return json(200, { events: [], next: s.length ? s[s.length - 1].id : '0-0', resync_required: false });
        }
        const events = s.filter((e) => cmpId(e.id, since) > 0).slice(0, limit);
        return json(200, {
            events,
            next: events.length ? events[events.length - 1].id : since,
            resync_required: false,
        });
    }
}
