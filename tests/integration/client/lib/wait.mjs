// Waiting on a condition with a deadline (never a fixed sleep when a condition exists).
export async function waitFor(cond, { timeout = 10000, interval = 20, what = 'condition' } = {}) {
    const end = Date.now() + timeout;
    for (;;) {
        const v = await cond();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, interval));
    }
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
