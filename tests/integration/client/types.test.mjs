// clients/js/index.d.ts against clients/js/rt-client.js: the declared public surface (exports,
// RtClient's methods and read-only properties, options, listener types, subscribe options) must
// be exactly what the module has. Fails when a declared member disappears from the code, or the
// code grows a public member the declarations do not have. No TypeScript needed; where Debian's
// tsc is installed, client.tsc also type-checks types-usage.ts against the declarations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { srcDir, clientPath } from './lib/deps.mjs';

const mod = await import(clientPath);
const dts = fs.readFileSync(path.join(srcDir, 'clients/js/index.d.ts'), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/** The text between the braces following `head` (balanced). */
function block(head) {
    const i = dts.indexOf(head);
    assert.ok(i >= 0, `index.d.ts declares ${head}`);
    let j = dts.indexOf('{', i), depth = 0;
    for (let k = j; k < dts.length; k++) {
        if (dts[k] === '{') depth++;
        else if (dts[k] === '}' && --depth === 0) return dts.slice(j + 1, k);
    }
    throw new Error('unbalanced ' + head);
}

/** Top-level member names of an interface/class body: [{name, kind: 'method'|'prop', readonly}] */
function members(body) {
    const out = [];
    let depth = 0;
    for (const line of body.split('\n')) {
        if (depth === 0) {
            const m = /^\s*(readonly\s+)?([A-Za-z_$][\w$]*)(\?)?\s*(<[^>]*>)?\s*([(:])/.exec(line);
            if (m) out.push({ name: m[2], kind: m[5] === '(' ? 'method' : 'prop', readonly: !!m[1], optional: !!m[3] });
        }
        for (const ch of line) depth += ch === '{' || ch === '(' ? 1 : ch === '}' || ch === ')' ? -1 : 0;
    }
    return out;
}
const names = (list) => list.map((m) => m.name).sort();

test('every declared export exists, and every export is declared', () => {
    const declared = [...dts.matchAll(/^export declare (?:function|const|class) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
    assert.ok(/^export default RtClient;/m.test(dts));
    assert.deepEqual(declared.sort(), Object.keys(mod).filter((k) => k !== 'default').sort());
    assert.equal(mod.default, mod.RtClient);
    for (const f of [...dts.matchAll(/^export declare function ([\w$]+)/gm)].map((m) => m[1]))
        assert.equal(typeof mod[f], 'function', f);
});

test('RtClient: declared methods and read-only properties are exactly the public ones', () => {
    const decl = members(block('export declare class RtClient')).filter((m) => m.name !== 'constructor');
    const proto = mod.RtClient.prototype;
    const runtime = { method: [], getter: [] };
    for (const k of Object.getOwnPropertyNames(proto)) {
        if (k === 'constructor') continue;
        const d = Object.getOwnPropertyDescriptor(proto, k);
        if (d.get) {
            assert.equal(d.set, undefined, `${k} is read-only`);
            runtime.getter.push(k);
        } else if (typeof d.value === 'function') runtime.method.push(k);
    }
    assert.deepEqual(names(decl.filter((m) => m.kind === 'method')), runtime.method.sort(), 'methods');
    const props = decl.filter((m) => m.kind === 'prop');
    assert.ok(props.every((m) => m.readonly), 'properties are declared readonly');
    assert.deepEqual(names(props), runtime.getter.sort(), 'read-only properties');
});

test('options: the declared ones are the defaults plus the documented non-default ones', () => {
    const opts = [...members(block('export interface RtClientOptions')), ...members(block('export interface BackoffOptions'))];
    assert.ok(opts.every((m) => m.optional), 'every option is optional');
    const noDefault = ['url', 'httpUrl', 'token', 'refreshToken', 'WebSocket', 'fetch', 'clock', 'random'];
    const events = names(members(block('export interface RtClientEvents')));
    const callbacks = events.map((e) => 'on' + e[0].toUpperCase() + e.slice(1));
    assert.deepEqual(names(opts), [...Object.keys(mod.DEFAULTS), ...noDefault, ...callbacks].sort());
    // DEFAULTS is declared as the options minus exactly the non-default ones and the callbacks
    const omitted = /Omit<RtClientOptions,([^>]*)>/.exec(dts)[1].match(/'([^']+)'/g).map((s) => s.slice(1, -1));
    assert.deepEqual(omitted.sort(), [...noDefault, ...callbacks].sort());
    // every option is read by the code (a declared option the client ignores is a lie)
    const src = fs.readFileSync(clientPath, 'utf8');
    for (const o of [...noDefault, ...Object.keys(mod.DEFAULTS)])
        assert.ok(new RegExp(`(?:o|options|this\\.#o)\\.${o}\\b`).test(src), `option ${o} is used`);
});

test('listener types: on() accepts exactly the declared events, and each has its option callback', () => {
    const events = names(members(block('export interface RtClientEvents')));
    const seen = [];
    const opts = { url: 'ws://127.0.0.1:9/ws', token: 'x', WebSocket: function () {} };
    for (const e of events) opts['on' + e[0].toUpperCase() + e.slice(1)] = () => seen.push(e);
    const c = new mod.RtClient(opts);
    for (const e of events) {
        const off = c.on(e, () => {});
        assert.equal(typeof off, 'function');
        off();
    }
    assert.throws(() => c.on('no-such-event', () => {}), TypeError);
    c.connect(); // status listener called through its option
    c.disconnect();
    assert.ok(seen.includes('status'));
    // the code's own list of listener types is the declared one
    const src = fs.readFileSync(clientPath, 'utf8');
    const list = /#listeners = \{([^}]*)\}/.exec(src)[1].match(/(\w+):/g).map((s) => s.slice(0, -1));
    assert.deepEqual(list.sort(), events);
});

test('subscribe options: the declared ones are the ones subscribe() reads', () => {
    const decl = names(members(block('export interface SubscribeOptions')));
    const body = mod.RtClient.prototype.subscribe.toString();
    const read = [...new Set([...body.matchAll(/options\.(\w+)/g)].map((m) => m[1]))].sort();
    assert.deepEqual(decl, read);
    const stats = names(members(block('export interface RtStats')));
    const c = new mod.RtClient({ url: 'ws://127.0.0.1:9/ws', token: 'x', WebSocket: function () {} });
    assert.deepEqual(stats, Object.keys(c.stats).sort());
    assert.deepEqual(Object.values(mod.STATUS).sort(), [...dts.matchAll(/^export type Status = (.*);$/gm)][0][1]
        .split('|').map((s) => s.trim().slice(1, -1)).sort());
});
