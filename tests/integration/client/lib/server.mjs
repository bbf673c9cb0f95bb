// Starts one of the project's servers (rt-ingest, rt-health) for a test and learns its port from
// its process.ready log line; stopped by PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { binDir } from './edge.mjs';

export class ServerProcess {
    constructor(exe, logFile, env) {
        this.exe = path.join(binDir, exe);
        this.logFile = logFile;
        this.env = env;
        this.port = 0;
        this.proc = null;
    }
    start(timeoutMs = 15000) {
        const p = spawn(this.exe, [], {
            env: { PATH: process.env.PATH, RT_LOG_FORMAT: 'json', ...this.env },
            stdio: ['ignore', 'ignore', 'pipe'],
        });
        this.proc = p;
        let buf = '';
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${this.exe} not ready in time; log ${this.logFile}`)), timeoutMs);
            p.stderr.on('data', (d) => {
                fs.appendFileSync(this.logFile, d);
                if (buf === null) return;
                buf += d.toString();
                const m = buf.match(/"event":"process\.ready".*?"url":"http:\/\/[^:"]+:(\d+)/);
                if (!m) return;
                this.port = Number(m[1]);
                buf = null;
                clearTimeout(timer);
                resolve(this);
            });
            p.once('exit', (code, sig) => {
                clearTimeout(timer);
                if (buf !== null) reject(new Error(`${this.exe} exited (${code ?? sig}) before ready; log ${this.logFile}`));
            });
        });
    }
    /** Polls /readyz until 200. */
    async waitReady(timeoutMs = 15000) {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            const r = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => null);
            if (r?.status === 200) return;
            await new Promise((res) => setTimeout(res, 50));
        }
        throw new Error(`${this.exe} not ready; log ${this.logFile}`);
    }
    async stop(signal = 'SIGTERM', timeoutMs = 10000) {
        const p = this.proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        process.kill(p.pid, signal);
        await Promise.race([exited, new Promise((_, j) => setTimeout(() => j(new Error(`${this.exe} did not exit`)), timeoutMs))]);
    }
}
