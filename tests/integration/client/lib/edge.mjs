// Starts the real rt-edge (build/edge/rt-edge) and a private redis-server for a test.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { srcDir } from './deps.mjs';

export const binDir = process.env.RT_TEST_BIN || path.join(srcDir, 'build');
export const edgeBin = path.join(binDir, 'edge/rt-edge');

export function stateDir(name) {
    const base = process.env.RT_TEST_STATE || path.join(os.tmpdir(), 'rt-client-tests');
    fs.mkdirSync(base, { recursive: true });
    return fs.mkdtempSync(path.join(base, name + '-'));
}

export function startRedis(dir) {
    execFileSync('bash', [path.join(srcDir, 'tests/fixtures/redis.sh'), 'start', dir, 'private'], { stdio: 'inherit' });
    return Number(fs.readFileSync(path.join(dir, 'port'), 'utf8').trim());
}
/** Starts the private redis-server of `dir` again on its port (after stopRedis). */
export function restartRedis(dir) {
    execFileSync('bash', [path.join(srcDir, 'tests/fixtures/redis.sh'), 'restart', dir], { stdio: 'inherit' });
}
export function stopRedis(dir) {
    execFileSync('bash', [path.join(srcDir, 'tests/fixtures/redis.sh'), 'stop', dir], { stdio: 'inherit' });
}

export class EdgeProcess {
    constructor({ redisPort, secret, logFile, env = {} }) {
        this.redisPort = redisPort;
        this.secret = secret;
        this.logFile = logFile;
        this.env = env;
        this.proc = null;
        this.port = 0;
    }
    /** Starts rt-edge (on the previous port when there was one) and waits for process.ready. */
    start(timeoutMs = 15000) {
        const listen = `127.0.0.1:${this.port || 0}`;
        const log = fs.openSync(this.logFile, 'a');
        const p = spawn(edgeBin, [], {
            env: {
                PATH: process.env.PATH, RT_EDGE_LISTEN: listen, RT_REDIS_URL: `redis://127.0.0.1:${this.redisPort}/0`,
                RT_JWT_SECRET: this.secret, RT_LOG_LEVEL: 'info', RT_LOG_FORMAT: 'json', ...this.env,
            },
            stdio: ['ignore', log, 'pipe'],
        });
        this.proc = p;
        let buf = '';
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('rt-edge not ready in time; log ' + this.logFile)), timeoutMs);
            p.stderr.on('data', (d) => {
                fs.appendFileSync(this.logFile, d);
                if (this.port && p.exitCode === null && buf === null) return;
                buf += d.toString();
                for (const line of buf.split('\n')) {
                    if (!line.includes('"process.ready"')) continue;
                    try {
                        const url = JSON.parse(line).url;
                        this.port = Number(new URL(url).port);
                        clearTimeout(timer);
                        buf = null;
                        resolve(this);
                        return;
                    } catch { /* partial line */ }
                }
            });
            p.once('exit', (code, sig) => {
                clearTimeout(timer);
                if (buf !== null) reject(new Error(`rt-edge exited (${code ?? sig}) before ready; log ${this.logFile}`));
            });
        });
    }
    /** Sends a signal to this process (by PID) and waits for it to exit. */
    async kill(signal = 'SIGKILL', timeoutMs = 10000) {
        const p = this.proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        process.kill(p.pid, signal);
        await Promise.race([exited, new Promise((_, j) => setTimeout(() => j(new Error('rt-edge did not exit')), timeoutMs))]);
    }
}
