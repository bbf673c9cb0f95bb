// Type declarations for rt-client.js (the rt broker's native protocol v1 client).

export type Status = 'connecting' | 'connected' | 'reconnecting' | 'offline';
export type Transport = 'websocket' | 'polling';

export declare const STATUS: Readonly<{
    CONNECTING: 'connecting';
    CONNECTED: 'connected';
    RECONNECTING: 'reconnecting';
    OFFLINE: 'offline';
}>;

/** One event as handed to the application (the wire envelope without `tenant`). */
export interface RtEvent<D = any> {
    channel: string;
    /** Redis stream id "ms-seq": strictly increasing per channel */
    id: string;
    /** row operation (INSERT, UPDATE, DELETE), call event (new_call, ...) or the app's name */
    event: string;
    ts?: string;
    data: D;
    /** the transport that brought it */
    transport: Transport;
}

export interface StatusInfo {
    prev: Status;
    transport: Transport | null;
    /** failed attempts since the last success */
    attempts: number;
    /** delay before the next attempt (reconnecting) */
    delay?: number;
    /** why: max_attempts, disconnect, unauthorized, forbidden, drain, ... */
    reason?: string;
    /** WebSocket close code and reason, when a close caused the change */
    code?: number;
    closeReason?: string;
    status?: number;
    [k: string]: unknown;
}

export interface ResyncInfo {
    channel: string;
    reason: string;
}

export interface RtError {
    /** server error code (bad_request, unauthorized, forbidden, not_found, rate_limited,
     *  internal) or a client one (token_refresh_failed, bad_frame, listener, websocket_constructor) */
    code: string;
    message?: string;
    channel?: string;
    ref?: string;
    status?: number;
    closeCode?: number;
    /** true when the client dropped the subscription because the server refused it */
    unsubscribed?: boolean;
    /** true when the client retries the refused subscribe by itself (code `internal`) */
    retrying?: boolean;
    /** refusals in a row of this subscription, and the delay before the next try, ms */
    failures?: number;
    delay?: number;
    error?: unknown;
}

/** A subscription the edge keeps refusing (`failing`), or accepted again after that (`ok`). */
export interface SubscriptionInfo {
    channel: string;
    state: 'failing' | 'ok';
    failures: number;
    code?: string;
    message?: string;
}

export interface Clock {
    now(): number;
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
}

export interface BackoffOptions {
    /** first reconnection delay, ms (1000) */
    backoffInitialMs?: number;
    /** the doubling stops here, before jitter, ms (30000) */
    backoffMaxMs?: number;
    /** growth factor per attempt (2) */
    backoffFactor?: number;
    /** each delay is lengthened by jitter * random() of itself (0.3) */
    jitter?: number;
}

export interface RtClientOptions extends BackoffOptions {
    /** WebSocket URL, e.g. wss://rt.example.com/ws (default: /ws on the page's host) */
    url?: string;
    /** base URL of the polling API (default: the origin of `url`, http(s)) */
    httpUrl?: string;
    /** the JWT; with refreshToken alone, the callback is asked for the first token */
    token?: string;
    /** called before the token expires, after a 4001 close and after an HTTP 401 */
    refreshToken?: () => string | Promise<string>;
    /** failed reconnection attempts before `offline` (10) */
    maxAttempts?: number;
    /** WebSocket open + `connected` deadline, ms (10000) */
    connectTimeoutMs?: number;
    /** heartbeat interval, ms; 0 uses the server's heartbeat_ms (0) */
    heartbeatMs?: number;
    /** refresh this long before `exp`, at most 20 % of the remaining life, ms (60000) */
    refreshLeadMs?: number;
    /** consecutive WebSocket failures before polling is tried (3) */
    fallbackAfter?: number;
    /** a WebSocket that lived this long resets the failure count, ms (10000) */
    stableAfterMs?: number;
    /** while polling, the WebSocket is tried again this often (plus jitter), ms (20000) */
    wsProbeMs?: number;
    /** long-poll wait, s, at most 30 (the protocol's bound); 0 never sends it (25) */
    pollWaitS?: number;
    /** events per poll request (100) */
    pollLimit?: number;
    /** page size while skipping retained history for a subscription without a position (1000) */
    pollSkipLimit?: number;
    /** pause after an empty answer that came back early, ms (2000) */
    pollIntervalMs?: number;
    /** allow the HTTP polling fallback (true) */
    polling?: boolean;
    /** after resync_required, subscribe again without `since` (true) */
    resubscribeOnResync?: boolean;
    /** a subscribe refused as `internal` (storage not ready) is retried on the same connection
     *  after this, ms, doubling (backoffFactor, plus jitter) (500) */
    subRetryInitialMs?: number;
    /** ... up to this, ms (15000) */
    subRetryMaxMs?: number;
    /** refusals in a row before the `subscription` listener gets state `failing` (3) */
    subRetryNoticeAfter?: number;
    /** WebSocket constructor (default globalThis.WebSocket; Node 20 needs one, e.g. from `ws`) */
    WebSocket?: any;
    /** fetch implementation (default globalThis.fetch) */
    fetch?: typeof fetch;
    /** for tests */
    clock?: Clock;
    random?: () => number;
    onStatus?: (status: Status, info: StatusInfo) => void;
    onTransport?: (transport: Transport | null) => void;
    onEvent?: (event: RtEvent) => void;
    onResync?: (info: ResyncInfo) => void;
    onError?: (error: RtError) => void;
    onSubscription?: (info: SubscriptionInfo) => void;
}

export interface SubscribeOptions<D = any> {
    /** `column=op.value` on db: channels */
    filter?: string;
    /** start after this stream id (the app's own checkpoint) */
    since?: string;
    onEvent?: (event: RtEvent<D>) => void;
}

export interface RtStats {
    delivered: number;
    duplicates: number;
    wsConnects: number;
    pollRequests: number;
}

export interface RtClientEvents {
    status: (status: Status, info: StatusInfo) => void;
    transport: (transport: Transport | null) => void;
    event: (event: RtEvent) => void;
    resync: (info: ResyncInfo) => void;
    error: (error: RtError) => void;
    subscription: (info: SubscriptionInfo) => void;
}

export declare const DEFAULTS: Readonly<Required<Omit<RtClientOptions,
    'url' | 'httpUrl' | 'token' | 'refreshToken' | 'WebSocket' | 'fetch' | 'clock' | 'random' |
    'onStatus' | 'onTransport' | 'onEvent' | 'onResync' | 'onError' | 'onSubscription'>>>;

export declare class RtClient {
    constructor(options: RtClientOptions);
    readonly status: Status;
    readonly transport: Transport | null;
    readonly session: string | null;
    readonly attempts: number;
    readonly stats: RtStats;
    readonly channels: string[];
    /** the last delivered (or subscribed-at) id of a channel */
    lastId(channel: string): string | null;
    on<K extends keyof RtClientEvents>(type: K, fn: RtClientEvents[K]): () => void;
    connect(): this;
    disconnect(): void;
    reconnect(): void;
    subscribe<D = any>(channel: string, options?: SubscribeOptions<D>): () => void;
    unsubscribe(channel: string): void;
}

/** compares "ms-seq" ids numerically: negative, 0 or positive */
export declare function compareIds(a: string, b: string): number;
export declare function isStreamId(s: unknown): s is string;
/** delay before 1-based attempt n: min(max, initial * factor^(n-1)) * (1 + jitter * random()) */
export declare function backoffDelay(attempt: number, opts?: BackoffOptions, random?: () => number): number;
/** the JWT's exp in ms (not verified), or null */
export declare function tokenExpiryMs(token: string): number | null;
export declare function httpBaseFromWsUrl(url: string): string;
export interface RowFilter {
    column: string;
    op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'in';
    vals: string[];
}
/** parses "column=op.value" / "column=in.(a,b)", or null when malformed */
export declare function parseFilter(text: string): RowFilter | null;
/** the edge's filter semantics, applied by the client to events that came over HTTP */
export declare function matchFilter(f: RowFilter, data: any, event: string): boolean;

export default RtClient;
