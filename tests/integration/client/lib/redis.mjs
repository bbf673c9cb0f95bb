// A minimal RESP client for tests (commands pipelined in order), and publishing through the
// project's own Lua script (read from common/src/publish.c so the tests use exactly that text).
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { srcDir } from './deps.mjs';

export function publishScript() {
    const c = fs.readFileSync(path.join(srcDir, 'common/src/publish.c'), 'utf8');
    const start = c.indexOf('rt_publish_script[] =');
    const end = c.indexOf(';\n', start);
    if (start < 0 || end < 0) throw new Error('rt_publish_script not found in publish.c');
    const lits = c.slice(start, end).match(/"(?:[^"\\]|\\.)*"/g);
    return lits.map((l) => JSON.parse(l)).join('');
}

export class Redis {
    constructor(port) {
        this.port = port;
        this.queue = [];
        this.buf = Buffer.alloc(0);
    }
    connect() {
        return new Promise((resolve, reject) => {
            this.sock = net.connect(this.port, '127.0.0.1', () => resolve(this));
            this.sock.once('error', reject);
            this.sock.on('data', (d) => this.#data(d));
            this.sock.on('close', () => {
                for (const q of this.queue.splice(0)) q.reject(new Error('redis connection closed'));
            });
        });
    }
    close() {
        this.sock?.destroy();
    }
    cmd(...args) {
        const parts = [`*${args.length}\r\n`];
        for (const a of args) {
            const b = Buffer.from(String(a));
            parts.push(`$${b.length}\r\n`, b, '\r\n');
        }
        return new Promise((resolve, reject) => {
            this.queue.push({ resolve, reject });
            this.sock.write(Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))));
        });
    }
    #data(d) {
        this.buf = Buffer.concat([this.buf, d]);
        for (;;) {
            const r = parse(this.buf, 0);
            if (!r) return;
            this.buf = this.buf.subarray(r.end);
            const q = this.queue.shift();
            if (r.value instanceof Error) q.reject(r.value);
            else q.resolve(r.value);
        }
    }
}

function parse(b, i) {
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) return null;
    const t = String.fromCharCode(b[i]);
    const line = b.toString('utf8', i + 1, nl);
    const after = nl + 2;
    switch (t) {
    case '+': return { value: line, end: after };
    case '-': return { value: new Error(line), end: after };
    case ':': return { value: Number(line), end: after };
    case '$': {
        const n = Number(line);
        if (n < 0) return { value: null, end: after };
        if (b.length < after + n + 2) return null;
        return { value: b.toString('utf8', after, after + n), end: after + n + 2 };
    }
    case '*': {
        const n = Number(line);
        if (n < 0) return { value: null, end: after };
        const out = [];
        let j = after;
        for (let k = 0; k < n; k++) {
            const r = parse(b, j);
            if (!r) return null;
            out.push(r.value);
            j = r.end;
        }
        return { value: out, end: j };
    }
    default:
        throw new Error('bad RESP type ' + t);
    }
}

/** Publishes one event the way rt-ingest does; returns its stream id. */
export async function publish(redis, tenant, channel, event, data, { maxlen = 10000, ts } = {}) {
    const script = (redis.script ||= publishScript());
    const env = JSON.stringify({ channel, event, tenant, ts: ts || new Date().toISOString(), data });
    const r = await redis.cmd('EVAL', script, 1, `rt:{${tenant}}:${channel}`, env, maxlen, 0);
    if (!Array.isArray(r) || r[0] !== 'published') throw new Error('publish failed: ' + JSON.stringify(r));
    return r[1];
}
