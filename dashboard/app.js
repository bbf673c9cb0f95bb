// Live call board: clients/js/rt-client.js on the `calls`, `health` and `tenant` channels.
// Settings come from the URL fragment (never from the page source):
//   #token=<JWT>        demo token (kept in sessionStorage of this tab, removed from the URL)
//   &edge=<ws url>      WebSocket URL (default: /ws on this host)
//   &http=<base url>    polling API base (default: the edge's origin)
//   &health=<url>       rt-health check URL (default: /api/calls/health-check on this host)
//   &channels=a,b       call channels (default: calls; db:public.calls also understood)
//   &history=0          do not rebuild the board from the retained stream on load
//   &window=<minutes>   how far back the board is rebuilt on load (default 240: the longest call)
import { RtClient, tokenExpiryMs, compareIds, httpBaseFromWsUrl } from './rt-client.js';

const $ = (id) => document.getElementById(id);
const MAX_RECENT = 25;
const TERMINAL = new Set(['call_ended', 'call_timeout']);
const STORE = 'rt-dashboard-token';

const params = new URLSearchParams(location.hash.replace(/^#/, ''));
if (params.has('token')) {
    sessionStorage.setItem(STORE, params.get('token'));
    params.delete('token');
    // keep the other settings, drop the token from the address bar and history
    history.replaceState(null, '', location.pathname + location.search + (params.toString() ? '#' + params : ''));
}

const settings = {
    edge: params.get('edge') || undefined,
    http: params.get('http') || undefined,
    health: params.get('health') || '/api/calls/health-check',
    channels: (params.get('channels') || 'calls').split(',').map((s) => s.trim()).filter(Boolean),
    history: params.get('history') !== '0',
    windowMin: Number(params.get('window')) > 0 ? Number(params.get('window')) : 240,
};

const active = new Map(); // call id -> call
const recent = []; // ended calls, newest first
const lastSeen = new Map(); // call channel -> id of the last event applied to the board
const reloading = new Map(); // call channel -> live events held while its history is reloaded
let client = null;

function claims(token) {
    try {
        const b = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        return JSON.parse(atob(b + '='.repeat((4 - (b.length % 4)) % 4)));
    } catch {
        return {};
    }
}

// ---- rendering ---------------------------------------------------------------------------

function text(el, s) {
    el.textContent = s == null || s === '' ? '–' : String(s);
}

function time(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
}

function row(cells, attrs) {
    const tr = document.createElement('tr');
    for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
    for (const c of cells) {
        const td = document.createElement('td');
        if (c && typeof c === 'object') {
            td.className = c.cls;
            text(td, c.text);
        } else text(td, c);
        tr.append(td);
    }
    return tr;
}

function shortId(id) {
    id = String(id || '');
    return id.length > 14 ? id.slice(0, 6) + '…' + id.slice(-6) : id;
}

function renderCalls() {
    const tb = $('active-calls').tBodies[0];
    const calls = [...active.values()].sort((a, b) => (a.started < b.started ? -1 : 1));
    tb.replaceChildren(...calls.map((c) => row(
        [shortId(c.id), c.from, c.to, c.direction, { cls: 'state ' + c.state, text: c.state }, time(c.started)],
        { 'data-call-id': c.id, 'data-state': c.state })));
    text($('active-count'), calls.length);
    $('active-empty').hidden = calls.length > 0;
    const rb = $('recent-calls').tBodies[0];
    rb.replaceChildren(...recent.map((c) => row(
        [shortId(c.id), c.from, c.to, { cls: 'outcome ' + c.outcome, text: c.outcome },
            c.duration != null ? c.duration + ' s' : '–', time(c.ended)],
        { 'data-call-id': c.id, 'data-outcome': c.outcome })));
    $('recent-empty').hidden = recent.length > 0;
}

let renderQueued = false;
function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
        renderQueued = false;
        renderCalls();
    });
}

// ---- call events --------------------------------------------------------------------------

/** Normalizes a `calls` event or a db:public.calls row change to {kind, call}. */
function callFromEvent(ev) {
    const d = ev.data || {};
    if (ev.channel.startsWith('db:')) {
        const rec = d.record || d.old_record || {};
        const ended = ev.event === 'DELETE' || rec.end_time != null || rec.status === 'ended';
        return {
            kind: ended ? 'call_ended' : ev.event === 'INSERT' ? 'new_call' : 'call_update',
            call: {
                id: rec.id, from: rec.from_number, to: rec.to_number, direction: rec.direction,
                state: rec.status, outcome: rec.outcome || (ev.event === 'DELETE' ? 'deleted' : null),
                duration: rec.duration_seconds, started: rec.start_time, ended: rec.end_time,
            },
        };
    }
    return {
        kind: ev.event,
        call: {
            id: d.call_id || d.id, from: d.from, to: d.to, direction: d.direction, state: d.state,
            outcome: ev.event === 'call_timeout' ? 'timed_out' : d.outcome,
            duration: d.duration ?? d.duration_seconds, started: d.start_time || d.received_at || ev.ts,
            ended: d.end_time || d.received_at || ev.ts,
        },
    };
}

function onCallEvent(ev) {
    const { kind, call } = callFromEvent(ev);
    if (!call.id) return;
    const prev = active.get(call.id);
    if (TERMINAL.has(kind)) {
        active.delete(call.id);
        const idx = recent.findIndex((c) => c.id === call.id);
        if (idx >= 0) recent.splice(idx, 1);
        recent.unshift({ ...prev, ...strip(call), state: 'ended', outcome: call.outcome || 'ended' });
        recent.length = Math.min(recent.length, MAX_RECENT);
    } else if (kind === 'new_call' || kind === 'call_update') {
        if (recent.some((c) => c.id === call.id)) return; // terminal is absorbing
        active.set(call.id, { ...prev, ...strip(call), started: prev?.started || call.started, state: call.state || prev?.state || 'initiated' });
    } else return;
    scheduleRender();
}

/** Live events of a call channel: held while that channel's history is being reloaded. */
function onLiveCallEvent(ev) {
    const held = reloading.get(ev.channel);
    if (held) held.push(ev);
    else applyCallEvent(ev);
}

function applyCallEvent(ev) {
    const last = lastSeen.get(ev.channel);
    if (last && compareIds(ev.id, last) <= 0) return; // already on the board
    lastSeen.set(ev.channel, ev.id);
    onCallEvent(ev);
}

function httpBase() {
    if (settings.http) return settings.http.replace(/\/+$/, '');
    if (settings.edge) return httpBaseFromWsUrl(settings.edge);
    return location.origin;
}

/**
 * The edge could not replay a call channel from where the board stands (`from`: the start of
 * the load window, or the last event applied): the client has already subscribed again live
 * only, and live events are held here while what the stream still retains after `from` is
 * read through GET /api/v1/events (oldest first, in pages), then the held ones follow.
 * Returns the id of the oldest retained event (null: the stream is empty).
 */
async function reloadHistory(channel, from, token) {
    reloading.set(channel, []);
    let oldest = null;
    try {
        let since = null;
        for (let page = 0; page < 200; page++) {
            const q = new URLSearchParams({ channel, limit: '1000' });
            if (since) q.set('since', since);
            const res = await fetch(httpBase() + '/api/v1/events?' + q, {
                headers: { Authorization: 'Bearer ' + token }, cache: 'no-store',
            });
            if (!res.ok) throw new Error('HTTP ' + res.status);
            const body = await res.json();
            if (body.resync_required) break; // trimmed again meanwhile: the live events go on
            const events = body.events || [];
            if (page === 0 && events.length) oldest = events[0].id;
            for (const ev of events) if (!from || compareIds(ev.id, from) > 0) applyCallEvent(ev);
            if (events.length < 1000 || !body.next || body.next === since) break;
            since = body.next;
        }
    } finally {
        const held = reloading.get(channel) || [];
        reloading.delete(channel);
        for (const ev of held) applyCallEvent(ev);
    }
    return oldest;
}

async function onCallResync(channel, windowStart, token) {
    // Nothing applied yet: this is the load itself, whose window reached back further than
    // what the stream retains (or further than the edge replays at once). That loses nothing
    // the page ever had: rebuild from what is retained, and say how far back it goes.
    const loading = !lastSeen.has(channel);
    const from = lastSeen.get(channel) || windowStart || null;
    let oldest;
    try {
        oldest = await reloadHistory(channel, from, token);
    } catch (e) {
        notice(`The history of ${channel} could not be loaded (${e.message}): the board shows live events only.`);
        return;
    }
    const covered = !from || !oldest || compareIds(oldest, from) <= 0;
    if (loading || covered) {
        if (!covered) ($('history-note').textContent = `History since ${time(new Date(Number(oldest.split('-')[0])).toISOString())} (the oldest event the server keeps).`);
        return;
    }
    notice(`Some events of ${channel} are no longer available: the board was rebuilt from what the server still keeps.`);
}

function strip(o) {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v != null));
}

// ---- health -------------------------------------------------------------------------------

function showHealth(h) {
    const status = ['healthy', 'degraded', 'unhealthy'].includes(h.status) ? h.status : 'unknown';
    const el = $('health');
    el.className = 'health ' + status;
    el.dataset.status = status;
    text($('health-label'), 'Health: ' + status);
    el.title = h.reason || status;
    text($('hd-status'), status);
    text($('hd-reason'), h.reason);
    text($('hd-active'), h.active_calls);
    const f = h.failure_rate && (h.failure_rate['5m'] ?? h.failure_rate.m5);
    text($('hd-failure'), typeof f === 'number' ? (f * (f <= 1 ? 100 : 1)).toFixed(1) + ' %' : f);
    text($('hd-timeouts'), h.recent_timeouts);
    text($('hd-checked'), time(h.checked_at));
}

async function fetchHealth(token) {
    const tenant = claims(token).org_id;
    try {
        const u = new URL(settings.health, location.href);
        if (tenant && !u.searchParams.has('tenant')) u.searchParams.set('tenant', tenant);
        const res = await fetch(u, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
        if (!res.ok) throw new Error('HTTP ' + res.status);
        showHealth(await res.json());
    } catch (e) {
        $('health').title = 'health-check unavailable (' + e.message + '); waiting for the health channel';
    }
}

// ---- activity: the app's own events on the tenant channel (publish API, row changes) -------

const MAX_ACTIVITY = 12;
const jobs = new Map(); // import job -> its list item, updated in place

function onTenantEvent(ev) {
    const d = ev.data || {};
    const list = $('activity');
    if (ev.event === 'import_progress' && d.job != null) {
        const total = Number(d.total) || 0;
        const pct = total > 0 ? Math.min(100, Math.round((Number(d.done) / total) * 100)) : 0;
        const key = String(d.job);
        let li = jobs.get(key);
        if (!li) {
            li = document.createElement('li');
            li.dataset.job = key;
            li.append(document.createElement('span'), document.createElement('progress'));
            jobs.set(key, li);
        }
        li.firstChild.textContent = `${d.job}: ${d.done} / ${total}`;
        li.lastChild.max = 100;
        li.lastChild.value = pct;
        list.prepend(li);
    } else {
        const li = document.createElement('li');
        li.textContent = `${time(new Date().toISOString())} ${ev.event}`;
        list.prepend(li);
    }
    while (list.children.length > MAX_ACTIVITY) {
        const last = list.lastChild;
        if (last.dataset.job) jobs.delete(last.dataset.job);
        last.remove();
    }
    $('activity-empty').hidden = list.children.length > 0;
}

// ---- connection ---------------------------------------------------------------------------

const BADGE = { connected: 'Live', connecting: 'Connecting', reconnecting: 'Reconnecting', offline: 'Offline' };

function showStatus(status, info = {}) {
    const b = $('badge');
    b.className = 'badge ' + (status === 'connecting' ? 'reconnecting' : status);
    b.dataset.status = status;
    b.textContent = BADGE[status] || status;
    b.title = info.reason ? 'reason: ' + info.reason : info.delay ? `next attempt in ${Math.round(info.delay / 100) / 10} s` : '';
    $('reconnect').hidden = status === 'connected';
}

const notices = new Map(); // key -> message (the general one has key '')
function notice(msg, key = '') {
    if (msg) notices.set(key, msg);
    else notices.delete(key);
    const n = $('notice');
    n.textContent = [...notices.values()].join(' ');
    n.hidden = notices.size === 0;
}

function start(token) {
    $('signin').hidden = true;
    $('board').hidden = false;
    $('signout').hidden = false;
    const cl = claims(token);
    text($('tenant'), cl.org_id ? '· ' + cl.org_id : '');
    const exp = tokenExpiryMs(token);
    if (exp && exp < Date.now()) notice('This token has expired: sign in with a new one.');

    const windowStart = settings.history ? `${Math.max(0, Date.now() - settings.windowMin * 60000)}-0` : undefined;
    client = new RtClient({
        url: settings.edge,
        httpUrl: settings.http,
        token,
        onStatus: (s, info) => {
            showStatus(s, info);
            if (s === 'offline' && info.reason === 'unauthorized') notice('The server refused the token: sign in again.');
        },
        onTransport: (t) => text($('transport'), t || '–'),
        onResync: ({ channel }) => {
            if (settings.channels.includes(channel)) onCallResync(channel, windowStart, token);
            else notice(`Some events of ${channel} are no longer available: showing live events only.`);
        },
        onSubscription: ({ channel, state }) => {
            // a subscribe the edge keeps refusing for now (e.g. its Redis is down): retried
            notice(state === 'failing' ? `${channel}: the server cannot deliver this channel right now; retrying…` : '',
                'sub:' + channel);
        },
        onError: (e) => {
            if (e.code !== 'since_unsupported' && !e.retrying) console.warn('rt-client:', e.code, e.message || e.error || '');
        },
        onEvent: (ev) => {
            text($('last-event'), `Last event ${ev.event} on ${ev.channel} at ${new Date().toLocaleTimeString()} (${ev.transport})`);
        },
    });
    // Stream ids are millisecond timestamps: replay the window in which a call still in progress
    // can have started. When the edge cannot replay all of it (trimmed, or too much), onResync
    // above rebuilds the board from what the stream retains.
    for (const ch of settings.channels)
        client.subscribe(ch, { onEvent: onLiveCallEvent, since: windowStart });
    client.subscribe('health', { onEvent: (ev) => ev.data && showHealth(ev.data) });
    client.subscribe('tenant', { onEvent: onTenantEvent });
    client.connect();
    fetchHealth(token);
    window.rtDashboard = { client, active, recent, windowStart }; // for debugging and the browser test
}

function signin() {
    $('board').hidden = true;
    $('signin').hidden = false;
    $('signout').hidden = true;
    showStatus('offline');
    $('signin-form').addEventListener('submit', (e) => {
        e.preventDefault();
        const t = $('token-input').value.trim();
        if (!t) return;
        sessionStorage.setItem(STORE, t);
        start(t);
    });
}

$('reconnect').addEventListener('click', () => client && client.reconnect());
$('signout').addEventListener('click', () => {
    sessionStorage.removeItem(STORE);
    if (client) client.disconnect();
    location.reload();
});

const token = sessionStorage.getItem(STORE);
if (token) start(token);
else signin();
