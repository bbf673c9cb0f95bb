// Type-checked by client.tsc (tsc --noEmit --strict) against clients/js/index.d.ts: uses every
// public member the way docs/CLIENT.md shows it. A declaration that disappears or changes shape
// makes this fail to compile.
import RtClientDefault, {
    RtClient, STATUS, DEFAULTS, compareIds, isStreamId, backoffDelay, tokenExpiryMs,
    httpBaseFromWsUrl, parseFilter, matchFilter,
} from '../../../clients/js/index.js';
import type {
    Status, Transport, RtEvent, StatusInfo, ResyncInfo, RtError, SubscriptionInfo, RtStats,
    RtClientOptions, SubscribeOptions, RowFilter,
} from '../../../clients/js/index.js';

const options: RtClientOptions = {
    url: 'wss://rt.example.com/ws',
    httpUrl: 'https://rt.example.com',
    token: 'jwt',
    refreshToken: async () => 'jwt2',
    backoffInitialMs: DEFAULTS.backoffInitialMs, backoffMaxMs: 30000, backoffFactor: 2, jitter: 0.3,
    maxAttempts: 10, connectTimeoutMs: 10000, heartbeatMs: 0, refreshLeadMs: 60000,
    fallbackAfter: 3, stableAfterMs: 10000, wsProbeMs: 20000, pollWaitS: 25, pollLimit: 100,
    pollSkipLimit: 1000, pollIntervalMs: 2000, polling: true, resubscribeOnResync: true,
    subRetryInitialMs: 500, subRetryMaxMs: 15000, subRetryNoticeAfter: 3,
    fetch: globalThis.fetch,
    clock: { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
    random: Math.random,
    onStatus: (s: Status, info: StatusInfo) => void [s, info.prev, info.attempts, info.delay],
    onTransport: (t: Transport | null) => void t,
    onEvent: (e: RtEvent) => void e.id,
    onResync: (r: ResyncInfo) => void r.channel,
    onError: (e: RtError) => void [e.code, e.retrying, e.failures, e.unsubscribed],
    onSubscription: (s: SubscriptionInfo) => void [s.channel, s.state === 'failing', s.failures],
};
const rt: RtClient = new RtClientDefault(options);
const sub: SubscribeOptions<{ record: { id: number } }> = {
    filter: 'status=eq.active',
    since: '0-0',
    onEvent: (ev) => void (ev.data.record.id + 1),
};
const stop: () => void = rt.subscribe('db:public.calls', sub);
rt.unsubscribe('health');
const off: () => void = rt.on('subscription', (i) => void i.state);
rt.on('status', (s, info) => void [s === STATUS.CONNECTED, info.transport]);
rt.on('event', (e) => void e.transport);
rt.on('resync', (r) => void r.reason);
rt.on('error', (e) => void e.message);
rt.on('transport', (t) => void t);
const same: RtClient = rt.connect();
rt.reconnect();
rt.disconnect();
const state: [Status, Transport | null, string | null, number, RtStats, string[], string | null] =
    [rt.status, rt.transport, rt.session, rt.attempts, rt.stats, rt.channels, rt.lastId('calls')];
const f: RowFilter | null = parseFilter('n=in.(1,2)');
const helpers: [number, boolean, number, number | null, string, boolean] = [
    compareIds('1-0', '2-0'), isStreamId('1-0'), backoffDelay(3, { backoffInitialMs: 100 }, Math.random),
    tokenExpiryMs('a.b.c'), httpBaseFromWsUrl('ws://x/ws'), f ? matchFilter(f, {}, 'INSERT') : false,
];
export { stop, off, same, state, helpers };
