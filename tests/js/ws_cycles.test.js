'use strict';
// 1,000 connect/authenticate/subscribe/disconnect cycles leave no growth in RSS or descriptors.
const L = require('./lib');

async function cycle(port, i) {
  const c = await L.connected(port, L.mint({ sub: 'cyc-' + (i % 50) }), i % 2 ? { query: 'access_token=' + L.mint({ sub: 'cyc-' + (i % 50) }), protocols: [] } : {});
  const r = await c.subscribe(i % 3 ? 'user' : 'tenant');
  L.eq(r.type, 'subscribed', 'subscribed');
  if (i % 4 === 0) c.ws.close(1000); else c.close();
  await c.closed;
}

async function setup() {
  const dir = L.tmpdir('cycles');
  const edge = await new L.Edge(L.baseEnv(dir, { RT_EDGE_MAX_CONNECTIONS_PER_USER: '100' })).start();
  const gauge = () => L.metric(edge.port, 'rt_edge_connections');
  return [
    ['1,000 connect/disconnect cycles: no RSS or descriptor growth', async () => {
      for (let i = 0; i < 200; i++) await cycle(edge.port, i); // warm-up: allocator pools, caches
      await L.waitFor(async () => (await gauge()) === 0, 3000, 'all closed after warm-up');
      const rss0 = edge.rssKb(), fd0 = edge.fds();
      const t0 = Date.now();
      for (let i = 0; i < 1000; i += 10) {
        const batch = [];
        for (let k = 0; k < 10; k++) batch.push(cycle(edge.port, i + k));
        await Promise.all(batch);
      }
      const secs = (Date.now() - t0) / 1000;
      await L.waitFor(async () => (await gauge()) === 0, 5000, 'all closed');
      L.eq(await L.metric(edge.port, 'rt_edge_subscriptions', 'scope="local"'), 0, 'no local subscription left');
      await L.waitFor(async () => edge.fds() <= fd0, 5000, `descriptors back to ${fd0} (now ${edge.fds()})`);
      const rss1 = edge.rssKb();
      console.log(`# 1000 cycles in ${secs.toFixed(1)} s; RSS ${rss0} -> ${rss1} KiB; fds ${fd0} -> ${edge.fds()}`);
      // sanitizer builds keep freed memory in quarantine: RSS says nothing there (LeakSanitizer
      // checks the shutdown instead)
      const asan = require('fs').readFileSync(`/proc/${edge.proc.pid}/maps`, 'utf8').includes('libasan');
      if (!asan) L.assert(rss1 - rss0 < 1024, `RSS grew by ${rss1 - rss0} KiB`);
    }],
  ];
}

L.main('ws_cycles', setup);
