// Serves dashboard/ on loopback the way rt-edge's static mount will: same origin as /ws and the
// polling API, which are passed through to the edge (whose port stays fixed across restarts).
// /api/calls/* goes to rt-health when healthPort is given, else answers 502.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { srcDir } from './deps.mjs';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export class DashboardServer {
    constructor({ edgePort, healthPort = 0, root = path.join(srcDir, 'dashboard') }) {
        this.edgePort = edgePort;
        this.healthPort = healthPort;
        this.root = fs.realpathSync(root);
        this.sockets = new Set();
        this.upgraded = new Set();
        this.refuseUpgrades = false; // answer WebSocket upgrades 403 (a proxy without WebSocket)
        this.server = http.createServer((req, res) => this.#request(req, res));
        this.server.on('upgrade', (req, sock, head) => this.#upgrade(req, sock, head));
        this.server.on('connection', (s) => {
            this.sockets.add(s);
            s.on('close', () => this.sockets.delete(s));
        });
    }
    async start() {
        await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
        this.port = this.server.address().port;
        this.url = `http://127.0.0.1:${this.port}/`;
        return this;
    }
    async stop() {
        for (const s of this.sockets) s.destroy();
        await new Promise((r) => this.server.close(r));
    }
    #request(req, res) {
        const u = new URL(req.url, 'http://x');
        if (u.pathname.startsWith('/api/v1/') || u.pathname === '/readyz')
            return this.#pass(req, res, this.edgePort);
        if (u.pathname.startsWith('/api/calls/')) {
            if (this.healthPort) return this.#pass(req, res, this.healthPort);
            res.writeHead(502, { 'content-type': 'application/json' });
            return res.end('{"error":"no rt-health in this test"}');
        }
        const rel = decodeURIComponent(u.pathname === '/' ? '/index.html' : u.pathname);
        const file = path.join(this.root, path.normalize(rel));
        if (!file.startsWith(this.root + path.sep)) {
            res.writeHead(403);
            return res.end();
        }
        fs.readFile(file, (err, body) => { // follows the rt-client.js symlink
            if (err) {
                res.writeHead(404);
                return res.end();
            }
            res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
            res.end(body);
        });
    }
    #pass(req, res, port) {
        const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
            res.writeHead(r.statusCode, r.headers);
            r.pipe(res);
        });
        up.on('error', () => {
            if (!res.headersSent) res.writeHead(502);
            res.end();
        });
        req.pipe(up);
    }
    /** Drops every WebSocket connection passing through. */
    cutWebSockets() {
        for (const s of this.upgraded) s.destroy();
        this.upgraded.clear();
    }
    #upgrade(req, sock, head) {
        if (this.refuseUpgrades) {
            sock.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            return;
        }
        this.upgraded.add(sock);
        sock.on('close', () => this.upgraded.delete(sock));
        const up = net.connect(this.edgePort, '127.0.0.1', () => {
            let h = `${req.method} ${req.url} HTTP/1.1\r\n`;
            for (let i = 0; i < req.rawHeaders.length; i += 2) h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
            up.write(h + '\r\n');
            if (head.length) up.write(head);
            sock.pipe(up);
            up.pipe(sock);
        });
        up.on('error', () => sock.destroy());
        sock.on('error', () => up.destroy());
        sock.on('close', () => up.destroy());
        up.on('close', () => sock.destroy());
    }
}
