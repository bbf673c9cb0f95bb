// A TCP proxy on loopback that the tests control: cut every connection, refuse new ones, or
// refuse WebSocket upgrades only (answering 403) while plain HTTP still passes.
import net from 'node:net';

export class Proxy {
    constructor(targetPort) {
        this.targetPort = targetPort;
        this.mode = 'pass'; // pass | refuse_upgrades | block
        this.frozen = false; // drop every byte both ways, keep the TCP connections open
        this.pairs = new Set();
        this.upgradesRefused = 0;
        this.server = net.createServer((c) => this.#conn(c));
    }
    async start(port = 0) {
        await new Promise((r, j) => this.server.listen(port, '127.0.0.1', r).once('error', j));
        this.port = this.server.address().port;
        return this;
    }
    cut() {
        for (const p of this.pairs) {
            p.a.destroy();
            p.b?.destroy();
        }
        this.pairs.clear();
    }
    async stop() {
        this.cut();
        await new Promise((r) => this.server.close(r));
    }
    #conn(a) {
        if (this.mode === 'block') return a.destroy();
        const pair = { a, b: null };
        this.pairs.add(pair);
        a.on('error', () => {});
        a.once('data', (first) => {
            const head = first.toString('latin1');
            if (this.mode === 'refuse_upgrades' && /^upgrade:\s*websocket/im.test(head)) {
                this.upgradesRefused++;
                a.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
                this.pairs.delete(pair);
                return;
            }
            const b = net.connect(this.targetPort, '127.0.0.1');
            pair.b = b;
            b.on('error', () => a.destroy());
            b.write(first);
            // forwarding by hand so that `frozen` can silence a connection without closing it
            a.on('data', (d) => { if (!this.frozen) b.write(d); });
            b.on('data', (d) => { if (!this.frozen) a.write(d); });
            const done = () => {
                a.destroy();
                b.destroy();
                this.pairs.delete(pair);
            };
            a.on('close', done);
            b.on('close', done);
        });
        a.on('close', () => {
            if (!pair.b) this.pairs.delete(pair);
        });
    }
}
