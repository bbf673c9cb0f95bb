// npm packages of the tests (tests/js/package.json, installed by `npm ci` in tests/js).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const srcDir = process.env.RT_TEST_SRC ||
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const require = createRequire(path.join(srcDir, 'tests/js/package.json'));

export function load(name) {
    try {
        return require(name);
    } catch (e) {
        throw new Error(`${name} is missing: run "npm ci" in tests/js (${e.message})`);
    }
}
export const clientPath = path.join(srcDir, 'clients/js/rt-client.js');
