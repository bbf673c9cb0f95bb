// rt-client: the JavaScript client of the rt broker's native protocol (spec/protocol.md v1).
// Dependency-free ES module for browsers and Node >= 20. See docs/CLIENT.md.
//
// One RtClient keeps one logical connection to the edge: a WebSocket when it works, HTTP
// polling of /api/v1/events when it does not, and it hands every event id of a channel to the
// application at most once and in id order, across reconnects and transport switches.

export const STATUS = Object.freeze({
    CONNECTING: 'connecting',
    CONNECTED: 'connected',
    RECONNECTING: 'reconnecting',
    OFFLINE: 'offline',
});

export const DEFAULTS = Object.freeze({
    backoffInitialMs: 1000, // first reconnection delay
    backoffMaxMs: 30000, // the doubling stops here (before jitter)
    backoffFactor: 2,
    jitter: 0.3, // each delay is lengthened by 0..30 %
    maxAttempts: 10, // failed reconnection attempts before `offline`
    connectTimeoutMs: 10000, // WebSocket open + `connected` must arrive within this
    heartbeatMs: 0, // 0: use the server's heartbeat_ms from `connected` (30000 if absent)
    refreshLeadMs: 60000, // refresh the token this long before `exp` (at most 20 % of its life)
    fallbackAfter: 3, // consecutive WebSocket failures before HTTP polling is tried
    stableAfterMs: 10000, // a WebSocket that lived this long resets the failure count
    wsProbeMs: 20000, // while polling, try the WebSocket again this often
    pollWaitS: 25, // long-poll `wait` in seconds, at most 30 (0: never send it)
    pollLimit: 100,
    pollSkipLimit: 1000, // page size when skipping retained history (no position yet)
    pollIntervalMs: 2000, // pause after an empty answer that came back early (no long poll)
    polling: true, // allow the HTTP fallback at all
    resubscribeOnResync: true, // after resync_required, subscribe again without `since`
    subRetryInitialMs: 500, // a subscribe refused as `internal` is retried after this
    subRetryMaxMs: 15000, // ... doubling up to this (plus jitter), while the connection stays open
    subRetryNoticeAfter: 3, // failed subscribes in a row before `subscription` reports `failing`
});

const DEFAULT_HEARTBEAT_MS = 30000;

/** Compares two stream ids "ms-seq" numerically (exact for any length). */
export function compareIds(a, b) {
    const [am, as = '0'] = String(a).split('-');
    const [bm, bs = '0'] = String(b).split('-');
    return cmpDigits(am, bm) || cmpDigits(as, bs);
}

function cmpDigits(a, b) {
    a = a.replace(/^0+(?=\d)/, '');
    b = b.replace(/^0+(?=\d)/, '');
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
}

const ID_RE = /^\d{1,20}-\d{1,20}$/;
export function isStreamId(s) {
    return typeof s === 'string' && ID_RE.test(s);
}

/**
 * The delay before reconnection attempt `attempt` (1-based): min(max, initial * factor^(n-1)),
 * lengthened by jitter * random() of itself. random() must return [0, 1).
 */
export function backoffDelay(attempt, opts = DEFAULTS, random = Math.random) {
    const o = { ...DEFAULTS, ...opts };
    const n = Math.max(1, attempt | 0);
    const base = Math.min(o.backoffMaxMs, o.backoffInitialMs * Math.pow(o.backoffFactor, n - 1));
    return Math.round(base + base * o.jitter * random());
}

/** The `exp` claim of a JWT in ms, or null (no verification: that is the server's job). */
export function tokenExpiryMs(token) {
    try {
        const part = String(token).split('.')[1];
        if (!part) return null;
        const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
        const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
        const json =
            typeof atob === 'function'
                ? atob(padded)
                : globalThis.Buffer.from(padded, 'base64').toString('binary');
        const claims = JSON.parse(json);
        return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
    } catch {
        return null;
    }
}

/**
 * Parses a row filter "column=op.value" (ops eq neq lt lte gt gte, or in.(a,b,c)), or null.
 * The edge applies filters on the WebSocket; the client applies them itself to events that came
 * over HTTP (polling, gap fill), whose endpoint has no filter parameter.
 */
export function parseFilter(text) {
    const m = /^([A-Za-z0-9_]{1,63})=(eq|neq|lt|lte|gt|gte|in)\.([\s\S]*)$/.exec(String(text));
    if (!m) return null;
    let vals = [m[3]];
    if (m[2] === 'in') {
        const inner = /^\(([\s\S]*)\)$/.exec(m[3]);
        if (!inner || !inner[1]) return null;
        vals = inner[1].split(',');
        if (vals.some((v) => !v) || vals.length > 100) return null;
    }
    return { column: m[1], op: m[2], vals };
}

function filterNum(s) {
    if (!/\S/.test(s)) return null;
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
}

function filterCompare(v, want) {
    if (typeof v === 'number') {
        const b = filterNum(want);
        if (b !== null) return v < b ? -1 : v > b ? 1 : 0;
    }
    const text = v === null ? 'null' : String(v);
    return text < want ? -1 : text > want ? 1 : 0;
}

/** Does an event's data match a parsed filter? (record, or old_record for DELETE) */
export function matchFilter(f, data, event) {
    const rec = data && (event === 'DELETE' ? data.old_record : data.record);
    if (!rec || typeof rec !== 'object' || Array.isArray(rec) || !(f.column in rec)) return false;
    const v = rec[f.column];
    if (v !== null && typeof v === 'object') return false;
    const c = (w) => filterCompare(v, w);
    switch (f.op) {
        case 'eq': return c(f.vals[0]) === 0;
        case 'neq': return c(f.vals[0]) !== 0;
        case 'lt': return c(f.vals[0]) < 0;
        case 'lte': return c(f.vals[0]) <= 0;
        case 'gt': return c(f.vals[0]) > 0;
        case 'gte': return c(f.vals[0]) >= 0;
        case 'in': return f.vals.some((w) => c(w) === 0);
        default: return false;
    }
}

/** ws://host/ws -> http://host ; wss -> https */
export function httpBaseFromWsUrl(url) {
    const u = new URL(url);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    return u.origin;
}

function defaultWsUrl() {
    const loc = globalThis.location;
    if (!loc || !loc.host) return null;
    return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
}

const realClock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (t) => clearTimeout(t),
};

const FATAL_SUB_ERRORS = new Set(['bad_request', 'forbidden', 'not_found', 'unauthorized']);
// transient refusals of a subscribe (rt-edge: "storage unavailable, retry" while Redis is down)
const RETRY_SUB_ERRORS = new Set(['internal']);

export class RtClient {
    #o;
    #clock;
    #random;
    #WS;
    #fetch;
    #token;
    #listeners = { status: [], transport: [], event: [], resync: [], error: [], subscription: [] };
    #status = STATUS.OFFLINE;
    #transport = null;
    #subs = new Map(); // channel -> { channel, filter, lastId, onEvent, ref, active }
    #refs = new Map(); // ref -> { kind, channel }
    #nextRef = 1;
    #started = false;
    #attempts = 0; // failed attempts since the last success
    #wsFailures = 0; // consecutive WebSocket failures
    #ws = null; // the WebSocket in use (or being opened)
    #wsOpenedAt = 0;
    #wsConnected = false; // `connected` received on #ws
    #wsProbe = false; // #ws is a background probe while polling
    #hbIntervalMs = 0;
    #lastRx = 0;
    #drainAt = 0; // server asked us to reconnect at this time
    #refreshing = null;
    #pollEpoch = 0;
    #polls = new Map(); // channel -> AbortController
    #pollOk = false;
    #noWait = false;
    #onlineHandler = null;
    #stats = { delivered: 0, duplicates: 0, wsConnects: 0, pollRequests: 0 };
    #session = null;
    #wsNoSince = false; // the edge refused `since` on subscribe (no replay): fill gaps by HTTP

    constructor(options = {}) {
        const o = { ...DEFAULTS, ...options };
        o.url = options.url || defaultWsUrl();
        if (!o.url) throw new TypeError('RtClient: options.url is required outside a browser');
        o.httpUrl = (options.httpUrl || httpBaseFromWsUrl(o.url)).replace(/\/+$/, '');
        this.#o = o;
        this.#clock = options.clock || realClock;
        this.#random = options.random || Math.random;
        this.#WS = options.WebSocket || globalThis.WebSocket;
        const f = options.fetch || globalThis.fetch;
        this.#fetch = f ? f.bind(globalThis) : null;
        if (!this.#WS && !this.#fetch)
            throw new TypeError('RtClient: no WebSocket (pass options.WebSocket) and no fetch');
        if (typeof options.token !== 'string' && typeof options.refreshToken !== 'function')
            throw new TypeError('RtClient: options.token or options.refreshToken is required');
        this.#token = typeof options.token === 'string' ? options.token : null;
        for (const k of ['status', 'transport', 'event', 'resync', 'error', 'subscription']) {
            const cb = options['on' + k[0].toUpperCase() + k.slice(1)];
            if (typeof cb === 'function') this.#listeners[k].push(cb);
        }
    }

    // ---- public API -------------------------------------------------------------------

    get status() {
        return this.#status;
    }
    get transport() {
        return this.#transport;
    }
    get session() {
        return this.#session;
    }
    get attempts() {
        return this.#attempts;
    }
    get stats() {
        return { ...this.#stats };
    }
    lastId(channel) {
        const s = this.#subs.get(channel);
        return s ? s.lastId : null;
    }
    get channels() {
        return [...this.#subs.keys()];
    }

    /**
     * Adds a listener: status, transport, event, resync, error, subscription. Returns a function
     * removing it.
     */
    on(type, fn) {
        const l = this.#listeners[type];
        if (!l) throw new TypeError('RtClient.on: unknown event ' + type);
        l.push(fn);
        return () => {
            const i = l.indexOf(fn);
            if (i >= 0) l.splice(i, 1);
        };
    }

    /** Starts connecting (idempotent). */
    connect() {
        if (this.#started) return this;
        this.#started = true;
        this.#attempts = 0;
        this.#watchOnline(true);
        this.#setStatus(STATUS.CONNECTING);
        this.#attempt();
        return this;
    }

    /** Closes everything and stays offline until connect() or reconnect(). */
    disconnect() {
        this.#started = false;
        this.#teardown(1000, 'client disconnect');
        this.#clearTimer('refresh');
        this.#watchOnline(false);
        this.#setTransport(null);
        this.#setStatus(STATUS.OFFLINE, { reason: 'disconnect' });
    }

    /** Drops the current connection (if any) and starts again with a fresh attempt budget. */
    reconnect() {
        this.#teardown(1000, 'client reconnect');
        this.#started = true;
        this.#attempts = 0;
        this.#wsFailures = 0;
        this.#watchOnline(true);
        this.#setStatus(STATUS.CONNECTING);
        this.#attempt();
    }

    /**
     * Subscribes to a channel. options: { filter, since, onEvent }. Returns a function that
     * unsubscribes. Subscribing again to the same channel replaces filter/onEvent.
     */
    subscribe(channel, options = {}) {
        if (typeof channel !== 'string' || !channel) throw new TypeError('subscribe: channel');
        if (options.since != null && !isStreamId(options.since))
            throw new TypeError('subscribe: since must be a stream id "ms-seq"');
        const prev = this.#subs.get(channel);
        if (prev) this.#clearSubRetry(prev);
        let parsed = null;
        if (options.filter) {
            parsed = parseFilter(options.filter);
            if (!parsed) throw new TypeError('subscribe: filter must be column=op.value');
        }
        const sub = {
            channel,
            filter: options.filter || null,
            parsedFilter: parsed,
            lastId: prev ? prev.lastId : options.since || null,
            onEvent: options.onEvent || null,
            active: false,
        };
        this.#subs.set(channel, sub);
        if (this.#wsUsable()) this.#sendSubscribe(sub, !!prev);
        else if (this.#transport === 'polling') this.#startPoll(sub);
        return () => this.unsubscribe(channel);
    }

    unsubscribe(channel) {
        const sub = this.#subs.get(channel);
        if (!sub) return;
        this.#subs.delete(channel);
        this.#clearSubRetry(sub);
        this.#stopPoll(channel);
        if (this.#wsUsable()) {
            const ref = String(this.#nextRef++);
            this.#refs.set(ref, { kind: 'unsubscribe', channel });
            this.#send({ type: 'unsubscribe', ref, channel });
        }
    }

    // ---- listeners and state -------------------------------------------------------------

    #emit(type, ...args) {
        for (const fn of [...this.#listeners[type]]) {
            try {
                fn(...args);
            } catch (e) {
                if (type !== 'error') this.#emit('error', { code: 'listener', error: e });
            }
        }
    }

    #setStatus(status, info = {}) {
        if (status === this.#status) return;
        const prev = this.#status;
        this.#status = status;
        this.#emit('status', status, { prev, transport: this.#transport, attempts: this.#attempts, ...info });
    }

    #setTransport(t) {
        if (t === this.#transport) return;
        this.#transport = t;
        this.#emit('transport', t);
    }

    #timers = { retry: null, connect: null, hb: null, drain: null, probe: null, refresh: null };
    #setTimer(name, ms, fn) {
        this.#clearTimer(name);
        this.#timers[name] = this.#clock.setTimeout(() => {
            this.#timers[name] = null;
            fn();
        }, Math.max(0, ms));
    }
    #clearTimer(name) {
        if (this.#timers[name] != null) {
            this.#clock.clearTimeout(this.#timers[name]);
            this.#timers[name] = null;
        }
    }

    #watchOnline(on) {
        const g = globalThis;
        if (typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function')
            return;
        if (on && !this.#onlineHandler) {
            this.#onlineHandler = () => {
                if (this.#status === STATUS.RECONNECTING && this.#timers.retry != null) {
                    this.#clearTimer('retry');
                    this.#attempt();
                }
            };
            g.addEventListener('online', this.#onlineHandler);
        } else if (!on && this.#onlineHandler) {
            g.removeEventListener('online', this.#onlineHandler);
            this.#onlineHandler = null;
        }
    }

    /** Stops every transport and timer except the token refresh. */
    #teardown(code, reason) {
        for (const n of ['retry', 'connect', 'hb', 'drain', 'probe']) this.#clearTimer(n);
        this.#drainAt = 0;
        this.#stopAllPolls();
        this.#closeWs(code, reason);
    }

    #closeWs(code, reason) {
        const ws = this.#ws;
        this.#ws = null;
        this.#wsConnected = false;
        this.#wsProbe = false;
        this.#clearTimer('connect');
        this.#clearTimer('hb');
        for (const sub of this.#subs.values()) this.#clearSubRetry(sub); // resubscribed on the next
        if (!ws) return;
        ws.onopen = ws.onmessage = ws.onerror = null;
        ws.onclose = null;
        try {
            ws.close(code, reason);
        } catch {
            /* already closing */
        }
    }

    #useWebSocket() {
        if (!this.#WS) return false;
        if (!this.#o.polling || !this.#fetch) return true;
        return this.#wsFailures < this.#o.fallbackAfter;
    }

    /** One connection attempt on the transport the failure history chooses. */
    #attempt() {
        if (!this.#started) return;
        this.#clearTimer('retry');
        if (this.#useWebSocket()) this.#openWs(false);
        else this.#startPolling();
    }

    /** A failed attempt or a lost connection: back off, or give up after maxAttempts. */
    #failed(info = {}) {
        if (!this.#started) return;
        this.#setTransport(null);
        const next = this.#attempts + 1;
        if (next > this.#o.maxAttempts) {
            this.#teardown(1000, 'giving up');
            this.#started = false;
            this.#setStatus(STATUS.OFFLINE, { ...info, reason: 'max_attempts' });
            return;
        }
        this.#attempts = next;
        const delay = backoffDelay(next, this.#o, this.#random);
        this.#setStatus(STATUS.RECONNECTING, { ...info, delay });
        this.#setTimer('retry', delay, () => this.#attempt());
    }

    #succeeded(transport) {
        this.#attempts = 0;
        this.#setTransport(transport);
        this.#setStatus(STATUS.CONNECTED);
    }

    // ---- WebSocket -------------------------------------------------------------------------

    #wsUsable() {
        return this.#ws && this.#wsConnected && !this.#wsProbe && this.#ws.readyState === 1;
    }

    async #currentToken() {
        if (this.#token) return this.#token;
        return this.#refreshTokenNow();
    }

    async #openWs(probe) {
        let token;
        try {
            token = await this.#currentToken();
        } catch (e) {
            this.#emit('error', { code: 'token_refresh_failed', error: e });
            if (probe) this.#scheduleProbe();
            else this.#failed({ reason: 'token' });
            return;
        }
        if (!this.#started) return;
        this.#closeWs(1000, 'replaced');
        let ws;
        try {
            ws = new this.#WS(this.#o.url, ['rt.v1', 'rt.bearer.' + token]);
        } catch (e) {
            this.#emit('error', { code: 'websocket_constructor', error: e });
            this.#wsFailures++;
            if (probe) this.#scheduleProbe();
            else this.#failed({ reason: 'websocket_constructor' });
            return;
        }
        this.#ws = ws;
        this.#wsProbe = probe;
        this.#wsConnected = false;
        this.#wsOpenedAt = this.#clock.now();
        this.#lastRx = this.#wsOpenedAt;
        ws.onmessage = (ev) => {
            if (this.#ws === ws) this.#onWsMessage(ev.data);
        };
        ws.onclose = (ev) => {
            if (this.#ws === ws) this.#onWsClose(ev.code, ev.reason);
        };
        ws.onerror = () => {
            /* a close event always follows */
        };
        this.#setTimer('connect', this.#o.connectTimeoutMs, () => {
            if (this.#ws === ws && !this.#wsConnected) this.#onWsClose(4000, 'connect timeout', true);
        });
    }

    #send(obj) {
        const ws = this.#ws;
        if (!ws || ws.readyState !== 1) return false;
        try {
            ws.send(JSON.stringify(obj));
            return true;
        } catch {
            return false;
        }
    }

    #onWsMessage(raw) {
        this.#lastRx = this.#clock.now();
        if (typeof raw !== 'string') return; // the protocol uses text frames only
        if (raw === 'pong') return;
        let msg;
        try {
            msg = JSON.parse(raw);
        } catch {
            this.#emit('error', { code: 'bad_frame', message: 'server sent a frame that is not JSON' });
            return;
        }
        switch (msg && msg.type) {
            case 'connected':
                return this.#onConnected(msg);
            case 'subscribed':
                return this.#onSubscribed(msg);
            case 'event':
                return this.#deliver(msg.channel, msg, 'websocket');
            case 'resync_required':
                return this.#onResync(msg.channel, msg.reason || 'resync_required');
            case 'pong':
                return;
            case 'error':
                return this.#onServerError(msg);
            case 'reconnect':
                return this.#onDrain(msg.after_ms);
            default:
                return; // unknown types are ignored: later protocol minors may add some
        }
    }

    #onConnected(msg) {
        const ws = this.#ws;
        if (this.#wsConnected) {
            // rt-edge answers a token refresh with `connected` again: same session, nothing to redo
            this.#session = msg.session || this.#session;
            return;
        }
        this.#clearTimer('connect');
        this.#clearTimer('retry'); // a probe that connected while an attempt was pending
        this.#wsConnected = true;
        this.#wsFailures = 0;
        this.#session = msg.session || null;
        this.#stats.wsConnects++;
        if (this.#wsProbe) {
            // the WebSocket works again: leave polling
            this.#wsProbe = false;
            this.#clearTimer('probe');
            this.#stopAllPolls();
        }
        const hb = this.#o.heartbeatMs || msg.heartbeat_ms || DEFAULT_HEARTBEAT_MS;
        this.#startHeartbeat(hb);
        this.#succeeded('websocket');
        if (this.#ws !== ws) return; // a status listener changed things
        for (const sub of this.#subs.values()) this.#sendSubscribe(sub);
        this.#scheduleRefresh();
    }

    #sendSubscribe(sub, replace = false) {
        if (replace) {
            // the edge refuses a second subscribe to a channel: drop the old one first
            const uref = String(this.#nextRef++);
            this.#refs.set(uref, { kind: 'unsubscribe', channel: sub.channel, quiet: true });
            this.#send({ type: 'unsubscribe', ref: uref, channel: sub.channel });
        }
        this.#clearSubRetry(sub);
        const ref = String(this.#nextRef++);
        sub.ref = ref;
        sub.active = false;
        const m = { type: 'subscribe', ref, channel: sub.channel };
        if (sub.filter) m.filter = sub.filter;
        sub.fillFrom = null;
        sub.buffer = null;
        sub.fillGen = (sub.fillGen || 0) + 1;
        if (sub.lastId && !this.#wsNoSince) {
            m.since = sub.lastId;
        } else if (sub.lastId) {
            // this edge cannot replay: subscribe live, hold live events, fill the gap over HTTP
            sub.fillFrom = sub.lastId;
            sub.buffer = [];
        }
        this.#refs.set(ref, { kind: 'subscribe', channel: sub.channel, since: m.since || null });
        this.#send(m);
    }

    #onSubscribed(msg) {
        this.#refs.delete(msg.ref);
        const sub = this.#subs.get(msg.channel);
        if (!sub) return;
        sub.active = true;
        if (sub.failures && sub.ref === String(msg.ref)) {
            const failures = sub.failures;
            sub.failures = 0;
            this.#emit('subscription', { channel: sub.channel, state: 'ok', failures });
        }
        // Without a position yet, the channel's offset at subscribe time becomes it, so that a
        // reconnect asks for everything published since we subscribed.
        if (!sub.lastId && isStreamId(msg.offset)) sub.lastId = msg.offset;
        if (sub.fillFrom && sub.ref === String(msg.ref)) this.#fillGap(sub, msg.offset, sub.fillGen);
    }

    /**
     * Fallback for an edge that refuses `since` on the WebSocket: the missed range
     * (fillFrom, offset] comes from GET /api/v1/events while live events wait in sub.buffer.
     * When the range cannot be fetched the app is told to resync: never a silent gap.
     */
    async #fillGap(sub, offset, gen) {
        const current = () => this.#subs.get(sub.channel) === sub && sub.fillGen === gen;
        let since = sub.fillFrom;
        let resync = null;
        try {
            if (!this.#fetch) throw new Error('no fetch');
            // at least one request: the server tells whether `since` is still retained
            for (let first = true; first || (isStreamId(offset) && compareIds(since, offset) < 0); first = false) {
                const q = new URLSearchParams({ channel: sub.channel, since, limit: String(this.#o.pollLimit) });
                if (sub.filter) q.set('filter', sub.filter);
                const token = await this.#currentToken();
                const res = await this.#fetch(this.#o.httpUrl + '/api/v1/events?' + q, {
                    headers: { Authorization: 'Bearer ' + token },
                    cache: 'no-store',
                });
                if (!current()) return;
                if (!res.ok) throw new Error('HTTP ' + res.status);
                const body = await res.json();
                if (!current()) return;
                if (body.resync_required) {
                    resync = 'offset_expired';
                    break;
                }
                for (const ev of body.events || []) this.#deliver(sub.channel, ev, 'websocket', true);
                if (!body.events || body.events.length === 0 || !isStreamId(body.next)) break;
                since = body.next;
            }
        } catch (e) {
            if (!current()) return;
            this.#emit('error', { code: 'gap_fill_failed', channel: sub.channel, error: String(e) });
            resync = 'gap_fill_failed';
        }
        if (!current()) return;
        const held = sub.buffer || [];
        sub.buffer = null;
        sub.fillFrom = null;
        if (resync) {
            // the live subscription is in place: resume from its start point from now on
            sub.lastId = isStreamId(offset) && offset !== '0-0' ? offset : null;
            this.#emit('resync', { channel: sub.channel, reason: resync });
        }
        for (const ev of held) this.#deliver(sub.channel, ev, 'websocket');
    }

    #onServerError(msg) {
        const r = msg.ref != null ? this.#refs.get(String(msg.ref)) : null;
        if (r) this.#refs.delete(String(msg.ref));
        const info = { code: msg.code || 'error', message: msg.message || '', ref: msg.ref };
        if (r) info.channel = r.channel;
        if (r && r.quiet) return; // our own unsubscribe before a resubscribe
        if (r && r.kind === 'subscribe' && info.code === 'bad_request' && /already subscribed/i.test(info.message)) {
            // the subscription exists on this connection: keep it (not an error for the app)
            const sub = this.#subs.get(r.channel);
            if (sub && sub.ref === String(msg.ref)) sub.active = true;
            return;
        }
        if (r && r.kind === 'subscribe' && r.since && info.code === 'bad_request' && /since/i.test(info.message)) {
            // an edge without replay refuses `since`: use the HTTP gap fill from now on
            const sub = this.#subs.get(r.channel);
            if (sub && sub.ref === String(msg.ref)) {
                if (!this.#wsNoSince) this.#emit('error', { ...info, code: 'since_unsupported' });
                this.#wsNoSince = true;
                this.#sendSubscribe(sub); // now without since, the gap comes over HTTP
                return;
            }
        }
        if (r && r.kind === 'subscribe' && RETRY_SUB_ERRORS.has(info.code)) {
            // The edge could not set the subscription up now (its Redis is not ready, or it is
            // rate limiting): the connection stays open, so retry this subscribe on it, from
            // the last delivered id, with capped backoff and jitter, until it is accepted.
            const sub = this.#subs.get(r.channel);
            if (sub && sub.ref === String(msg.ref)) {
                this.#retrySubscribe(sub, info);
                return;
            }
        }
        if (r && r.kind === 'subscribe' && FATAL_SUB_ERRORS.has(info.code)) {
            // the server will never accept this subscription: drop it rather than retry forever
            const sub = this.#subs.get(r.channel);
            if (sub && sub.ref === String(msg.ref)) {
                this.#subs.delete(r.channel);
                info.unsubscribed = true;
            }
        }
        this.#emit('error', info);
    }

    #retrySubscribe(sub, info) {
        const o = this.#o;
        sub.active = false;
        sub.failures = (sub.failures || 0) + 1;
        const delay = backoffDelay(sub.failures, {
            backoffInitialMs: o.subRetryInitialMs, backoffMaxMs: o.subRetryMaxMs,
            backoffFactor: o.backoffFactor, jitter: o.jitter,
        }, this.#random);
        this.#emit('error', { ...info, retrying: true, failures: sub.failures, delay });
        if (sub.failures === o.subRetryNoticeAfter)
            this.#emit('subscription', { channel: sub.channel, state: 'failing', failures: sub.failures, code: info.code, message: info.message });
        this.#clearSubRetry(sub);
        const ws = this.#ws;
        sub.retryTimer = this.#clock.setTimeout(() => {
            sub.retryTimer = null;
            if (this.#subs.get(sub.channel) !== sub || this.#ws !== ws || !this.#wsUsable()) return;
            this.#sendSubscribe(sub); // with since = the last delivered id, if there is one
        }, delay);
    }

    #clearSubRetry(sub) {
        if (sub.retryTimer != null) {
            this.#clock.clearTimeout(sub.retryTimer);
            sub.retryTimer = null;
        }
    }

    #onDrain(afterMs) {
        const ms = Number.isFinite(afterMs) && afterMs >= 0 ? afterMs : 0;
        this.#drainAt = this.#clock.now() + ms;
        const ws = this.#ws;
        this.#setTimer('drain', ms, () => {
            if (this.#ws !== ws || !this.#started) return;
            this.#drainAt = 0;
            this.#closeWs(1000, 'server drain');
            this.#setTransport(null);
            this.#setStatus(STATUS.RECONNECTING, { reason: 'drain' });
            this.#attempt();
        });
    }

    #onWsClose(code, reason, timeout = false) {
        const wasConnected = this.#wsConnected;
        const wasProbe = this.#wsProbe;
        const lived = this.#clock.now() - this.#wsOpenedAt;
        this.#closeWs(1000, timeout ? 'timeout' : 'closed');
        if (!this.#started) return;
        if (wasConnected && lived >= this.#o.stableAfterMs) this.#wsFailures = 0;
        if (wasProbe) {
            this.#wsFailures++;
            this.#scheduleProbe();
            return;
        }
        const info = { code, closeReason: reason || '' };
        if (code === 4001) {
            // token refused or expired: a retry with the same token cannot work
            this.#emit('error', { code: 'unauthorized', message: reason || 'token refused', closeCode: code });
            if (typeof this.#o.refreshToken === 'function') {
                this.#token = null; // the next attempt asks the callback
                return this.#failed(info);
            }
            this.#giveUp('unauthorized', info);
            return;
        }
        if (code === 4003) {
            this.#emit('error', { code: 'forbidden', message: reason || '', closeCode: code });
            this.#giveUp('forbidden', info);
            return;
        }
        if (this.#drainAt) {
            // the server is draining: come back at the time it asked for, without a penalty
            const wait = this.#drainAt - this.#clock.now();
            this.#drainAt = 0;
            this.#clearTimer('drain');
            this.#setTransport(null);
            this.#setStatus(STATUS.RECONNECTING, { ...info, reason: 'drain' });
            this.#setTimer('retry', wait, () => this.#attempt());
            return;
        }
        this.#wsFailures++;
        this.#failed(info);
    }

    #giveUp(reason, info) {
        this.#teardown(1000, reason);
        this.#started = false;
        this.#setTransport(null);
        this.#setStatus(STATUS.OFFLINE, { ...info, reason });
    }

    #startHeartbeat(serverMs) {
        // The server pings at the protocol level, which browsers never show to scripts, so the
        // client pings in JSON every half heartbeat and gives up after two silent intervals.
        this.#hbIntervalMs = Math.max(50, Math.floor(serverMs / 2));
        const ws = this.#ws;
        const tick = () => {
            if (this.#ws !== ws) return;
            if (this.#clock.now() - this.#lastRx >= 2 * this.#hbIntervalMs) {
                this.#onWsClose(4000, 'heartbeat timeout', true);
                return;
            }
            this.#send({ type: 'ping', ref: 'hb' + this.#nextRef++ });
            this.#setTimer('hb', this.#hbIntervalMs, tick);
        };
        this.#setTimer('hb', this.#hbIntervalMs, tick);
    }

    // ---- token refresh ----------------------------------------------------------------------

    #refreshTokenNow() {
        if (typeof this.#o.refreshToken !== 'function')
            return Promise.reject(new Error('no refreshToken callback'));
        if (!this.#refreshing) {
            this.#refreshing = Promise.resolve()
                .then(() => this.#o.refreshToken())
                .then((t) => {
                    if (typeof t !== 'string' || !t) throw new Error('refreshToken returned no token');
                    this.#token = t;
                    return t;
                })
                .finally(() => {
                    this.#refreshing = null;
                });
        }
        return this.#refreshing;
    }

    #scheduleRefresh() {
        if (typeof this.#o.refreshToken !== 'function' || !this.#token) return;
        const exp = tokenExpiryMs(this.#token);
        if (exp == null) return;
        const left = exp - this.#clock.now();
        const lead = Math.min(this.#o.refreshLeadMs, Math.max(0, left) * 0.2);
        this.#setTimer('refresh', left - lead, () => this.#refreshAndSend());
    }

    async #refreshAndSend() {
        try {
            const t = await this.#refreshTokenNow();
            if (this.#wsUsable()) this.#send({ type: 'auth', token: t });
            this.#scheduleRefresh();
        } catch (e) {
            this.#emit('error', { code: 'token_refresh_failed', error: e });
            if (this.#started) this.#setTimer('refresh', 5000, () => this.#refreshAndSend());
        }
    }

    // ---- delivery ---------------------------------------------------------------------------

    #deliver(channel, ev, transport, filling = false) {
        const sub = this.#subs.get(channel);
        if (!sub || !isStreamId(ev.id)) return;
        if (sub.buffer && !filling) {
            sub.buffer.push(ev); // live events wait until the gap before them is filled
            return;
        }
        if (sub.lastId && compareIds(ev.id, sub.lastId) <= 0) {
            this.#stats.duplicates++;
            return;
        }
        sub.lastId = ev.id;
        // events that came over HTTP were not filtered by the server
        if (sub.parsedFilter && (transport === 'polling' || filling) && !matchFilter(sub.parsedFilter, ev.data, ev.event))
            return;
        this.#stats.delivered++;
        const out = { channel, id: ev.id, event: ev.event, ts: ev.ts, data: ev.data, transport };
        if (sub.onEvent) {
            try {
                sub.onEvent(out);
            } catch (e) {
                this.#emit('error', { code: 'listener', error: e });
            }
        }
        this.#emit('event', out);
    }

    #onResync(channel, reason) {
        const sub = this.#subs.get(channel);
        if (!sub) return;
        sub.lastId = null;
        this.#emit('resync', { channel, reason });
        if (!this.#o.resubscribeOnResync || this.#subs.get(channel) !== sub) return;
        if (this.#wsUsable()) this.#sendSubscribe(sub, true);
        // polling continues by itself without `since`
    }

    // ---- HTTP polling -----------------------------------------------------------------------

    #startPolling() {
        if (!this.#fetch) return this.#failed({ reason: 'no_fetch' });
        this.#stopAllPolls();
        this.#pollOk = false;
        this.#noWait = false; // each polling round tries the long poll again
        const epoch = ++this.#pollEpoch;
        if (this.#subs.size === 0) {
            this.#probeHttp(epoch);
            return;
        }
        for (const sub of this.#subs.values()) this.#startPoll(sub);
    }

    /** With nothing to poll, an authenticated request still tells whether the edge answers. */
    async #probeHttp(epoch) {
        try {
            const res = await this.#fetch(this.#o.httpUrl + '/readyz', { cache: 'no-store' });
            if (epoch !== this.#pollEpoch) return;
            if (!res.ok) throw new Error('HTTP ' + res.status);
            this.#pollSucceeded(epoch);
        } catch (e) {
            if (epoch === this.#pollEpoch) this.#pollFailed(epoch, { reason: 'http', error: String(e) });
        }
    }

    #startPoll(sub) {
        if (this.#polls.has(sub.channel)) return;
        const ctl = new AbortController();
        this.#polls.set(sub.channel, ctl);
        this.#pollLoop(sub.channel, ctl, this.#pollEpoch);
    }

    #stopPoll(channel) {
        const ctl = this.#polls.get(channel);
        if (ctl) {
            this.#polls.delete(channel);
            ctl.abort();
        }
    }

    #stopAllPolls() {
        this.#pollEpoch++;
        for (const ch of [...this.#polls.keys()]) this.#stopPoll(ch);
    }

    #sleep(ms, signal) {
        return new Promise((resolve) => {
            const t = this.#clock.setTimeout(resolve, ms);
            signal.addEventListener('abort', () => {
                this.#clock.clearTimeout(t);
                resolve();
            }, { once: true });
        });
    }

    async #pollLoop(channel, ctl, epoch) {
        const o = this.#o;
        const live = () => !ctl.signal.aborted && epoch === this.#pollEpoch && this.#subs.has(channel);
        let busy = false; // the edge holds as many long polls as it may: ask once without wait
        while (live()) {
            const sub = this.#subs.get(channel);
            // A subscription without a position starts at the channel's newest id, as on the
            // WebSocket: page through what the stream retains without delivering it.
            if (!sub.lastId) sub.skipping = true;
            const skipping = !!sub.skipping;
            const limit = skipping ? o.pollSkipLimit : o.pollLimit;
            const q = new URLSearchParams({ channel, limit: String(limit) });
            if (sub.lastId) q.set('since', sub.lastId);
            if (sub.filter) q.set('filter', sub.filter);
            const useWait = o.pollWaitS > 0 && !this.#noWait && this.#pollOk && !skipping && !busy;
            const wait = useWait ? Math.min(30, Math.ceil(o.pollWaitS)) : 0; // the spec's bound
            busy = false;
            if (wait) q.set('wait', String(wait));
            const started = this.#clock.now();
            // A held request answers within `wait`; one silent for much longer went to a dead
            // network (no FIN): give it up like a failed poll, as the heartbeat does for sockets.
            const req = new AbortController();
            const onAbort = () => req.abort();
            ctl.signal.addEventListener('abort', onAbort, { once: true });
            const watchdog = this.#clock.setTimeout(() => req.abort(), wait * 1000 + o.connectTimeoutMs);
            let res, body;
            try {
                const token = await this.#currentToken();
                if (!live()) return;
                this.#stats.pollRequests++;
                res = await this.#fetch(o.httpUrl + '/api/v1/events?' + q, {
                    headers: { Authorization: 'Bearer ' + token },
                    signal: req.signal,
                    cache: 'no-store',
                });
                if (!live()) return;
                if (res.ok) body = await res.json();
            } catch (e) {
                if (!live()) return;
                this.#pollFailed(epoch, { reason: 'network', error: String(e && e.message ? e.message : e) });
                return;
            } finally {
                this.#clock.clearTimeout(watchdog);
                ctl.signal.removeEventListener('abort', onAbort);
            }
            if (!live()) return;
            if (!res.ok) {
                if (res.status === 400 && wait) {
                    this.#noWait = true; // an edge without long poll may refuse `wait`
                    continue;
                }
                if (res.status === 429 && wait) {
                    // the edge is at its bound of held requests (RT_EDGE_POLL_MAX_HELD): not a
                    // failure; pause, then one plain poll, then long polls again
                    busy = true;
                    await this.#sleep(o.pollIntervalMs, ctl.signal);
                    continue;
                }
                if (this.#pollHttpError(channel, res, epoch)) return;
                continue;
            }
            if (!body || !Array.isArray(body.events)) {
                this.#pollFailed(epoch, { reason: 'bad_response' });
                return;
            }
            this.#pollSucceeded(epoch);
            if (skipping) {
                const s = this.#subs.get(channel);
                if (s && isStreamId(body.next)) s.lastId = body.next;
                if (s && (body.events.length < limit || !isStreamId(body.next))) s.skipping = false;
                if (s && !s.lastId) s.lastId = '0-0';
                continue;
            }
            if (body.resync_required) {
                this.#onResync(channel, 'resync_required');
            } else {
                for (const ev of body.events) {
                    if (!live()) return;
                    this.#deliver(channel, ev, 'polling');
                }
                const s = this.#subs.get(channel);
                if (s && isStreamId(body.next) && (!s.lastId || compareIds(body.next, s.lastId) > 0))
                    s.lastId = body.next;
            }
            const elapsed = this.#clock.now() - started;
            const early = !wait || elapsed < (wait * 1000) / 2;
            if (body.events.length === 0 && early) await this.#sleep(o.pollIntervalMs, ctl.signal);
        }
    }

    /** Returns true when the loop must stop. */
    #pollHttpError(channel, res, epoch) {
        const st = res.status;
        if (st === 401) {
            this.#emit('error', { code: 'unauthorized', status: st, channel });
            if (typeof this.#o.refreshToken === 'function') {
                this.#token = null;
                this.#pollFailed(epoch, { reason: 'unauthorized', status: st });
            } else {
                this.#giveUp('unauthorized', { status: st });
            }
            return true;
        }
        if (st === 400 || st === 403 || st === 404) {
            const code = st === 400 ? 'bad_request' : st === 403 ? 'forbidden' : 'not_found';
            this.#subs.delete(channel);
            this.#stopPoll(channel);
            this.#emit('error', { code, status: st, channel, unsubscribed: true });
            return true;
        }
        this.#pollFailed(epoch, { reason: 'http', status: st });
        return true;
    }

    #pollSucceeded(epoch) {
        if (epoch !== this.#pollEpoch) return;
        if (this.#pollOk && this.#status === STATUS.CONNECTED) return;
        this.#pollOk = true;
        this.#succeeded('polling');
        this.#scheduleProbe();
        if (this.#timers.refresh == null) this.#scheduleRefresh();
    }

    #pollFailed(epoch, info) {
        if (epoch !== this.#pollEpoch) return; // only the first failure of a round counts
        this.#stopAllPolls();
        this.#clearTimer('probe');
        // both transports may be down: the next attempt tries the WebSocket again, the one
        // after it polling again, and so on (alternating until one works)
        if (this.#WS) this.#wsFailures = Math.max(0, this.#o.fallbackAfter - 1);
        this.#failed({ transport: 'polling', ...info });
    }

    #scheduleProbe() {
        if (!this.#started || !this.#WS || this.#transport !== 'polling') return;
        const d = Math.round(this.#o.wsProbeMs * (1 + this.#o.jitter * this.#random()));
        this.#setTimer('probe', d, () => {
            if (this.#transport === 'polling' && this.#started && !this.#ws) this.#openWs(true);
        });
    }
}

export default RtClient;
