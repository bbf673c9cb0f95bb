/* The Lua scripts of rt-health's call state (one per multi-key operation). Key layout, with t the
 * tenant (hash tag):
 *   rt:{t}:h:call:<call id>  hash   state rank started last answered ended outcome provider
 *                                    tmo_min; TTL
 *   rt:{t}:h:active          zset   non-terminal call ids by last event time (owner: scripts)
 *   rt:{t}:h:m:<minute>      hash   terminal outcomes counted in that minute; TTL 2 h
 *   rt:{t}:h:mi              zset   minutes that have a bucket (score = member = minute); TTL 2 h
 *   rt:{t}:h:wh              hash   <provider>:at, <provider>:lag; TTL
 *   rt:{t}:h:totals          hash   calls (distinct calls), events (events applied); TTL 30
 *                                    days, renewed
 *   rt:{t}:h:status          string last published status
 *   rt:{t}:h:tmo:<call id>   string dedupe mark of the call_timeout publish
 *   rt:health:due            zset   "<tenant>\n<call id>" by timeout deadline (all tenants)
 *   rt:health:tenants        zset   tenant by last event time
 * The two rt:health:* keys and the minute buckets (built inside the scripts) make these scripts
 * single-instance only: they are not Redis Cluster safe (see docs/HEALTH.md). */
#ifndef HEALTH_CALLSTATE_LUA_H
#define HEALTH_CALLSTATE_LUA_H

/* clang-format off */
#define HEALTH_LUA_COMMON                                                                          \
    "local function bucket(prefix, ms, field, by, ttl)\n"                                          \
    "  local m = math.floor(ms / 60000)\n"                                                         \
    "  local k, idx = prefix .. 'm:' .. m, prefix .. 'mi'\n"                                       \
    "  redis.call('HINCRBY', k, field, by)\n"                                                      \
    "  redis.call('EXPIRE', k, ttl)\n"                                                             \
    "  redis.call('ZADD', idx, m, m)\n"                                                            \
    "  local now = math.floor(tonumber(redis.call('TIME')[1]) / 60)\n"                             \
    "  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now - 120)\n"                                   \
    "  redis.call('EXPIRE', idx, ttl)\n"                                                           \
    "end\n"                                                                                        \
    "local function deadline(started, answered, rank, ring, maxc, grace)\n"                        \
    "  local d\n"                                                                                  \
    "  if rank == 3 then d = answered + maxc else d = started + ring end\n"                        \
    "  if started + grace > d then d = started + grace end\n"                                      \
    "  return d\n"                                                                                 \
    "end\n"

static const char health_lua_apply[] =
    "-- Applies a batch of call events of rt:calls:all, each atomically with its XACK and\n"
    "-- idempotent per stream id: an entry no longer pending (already applied and acked by\n"
    "-- this or another consumer) changes nothing.\n"
    "-- KEYS[1] rt:calls:all  KEYS[2] rt:health:due  KEYS[3] rt:health:tenants\n"
    "-- Undeclared, built from each event's tenant t (one hash tag): rt:{t}:h:call:<id>,\n"
    "--   rt:{t}:h:active, rt:{t}:h:wh, rt:{t}:h:totals, rt:{t}:h:m:<minute>\n"
    "-- ARGV: 1 group, 2 ring timeout ms, 3 max call ms, 4 grace ms, 5 ended call TTL s,\n"
    "--   6 bucket TTL s, 7 totals TTL s, then 10 per event: stream id, tenant, call id,\n"
    "--   rank (1-4), state, outcome or '', event ms, provider or '', received ms, lag ms or ''\n"
    "-- Reply: one integer per event: 0 not pending (skipped), 1 new call, 2 state moved,\n"
    "--   3 nothing moved, 4 a real terminal event replaced a timeout\n"
    HEALTH_LUA_COMMON
    "local ring, maxc, grace = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local ttl, bttl, tttl = tonumber(ARGV[5]), ARGV[6], ARGV[7]\n"
    "local live_ttl = ttl + math.floor((ring + maxc + grace) / 1000)\n"
    "local function apply(sid, t, cid, rank, state, outcome, ev, prov, rcv, lag)\n"
    "  if redis.call('XACK', KEYS[1], ARGV[1], sid) == 0 then return 0 end\n"
    "  local prefix = 'rt:{' .. t .. '}:h:'\n"
    "  local ck, active, wh, totals = prefix .. 'call:' .. cid, prefix .. 'active',\n"
    "                                 prefix .. 'wh', prefix .. 'totals'\n"
    "  local member = t .. '\\n' .. cid\n"
    "  if redis.call('HINCRBY', totals, 'events', 1) == 1 then\n"
    "    redis.call('EXPIRE', totals, tttl)\n"
    "  end\n"
    "  if prov ~= '' then\n"
    "    local f = prov .. ':at'\n"
    "    if tonumber(rcv) >= tonumber(redis.call('HGET', wh, f) or '0') then\n"
    "      redis.call('HSET', wh, f, rcv)\n"
    "      if lag ~= '' then redis.call('HSET', wh, prov .. ':lag', lag) end\n"
    "      redis.call('EXPIRE', wh, ttl)\n"
    "    end\n"
    "  end\n"
    "  local cur = redis.call('HMGET', ck, 'rank', 'state', 'started', 'answered', 'tmo_min')\n"
    "  if not cur[1] then\n"
    "    -- the tenants index moves on new and ended calls only: enough for 'recently active'\n"
    "    redis.call('ZADD', KEYS[3], 'GT', ev, t)\n"
    "    redis.call('HSET', ck, 'state', state, 'rank', rank, 'started', ev, 'last', ev,\n"
    "               'provider', prov)\n"
    "    redis.call('HINCRBY', totals, 'calls', 1)\n"
    "    redis.call('EXPIRE', totals, tttl)\n"
    "    if rank == 4 then\n"
    "      redis.call('HSET', ck, 'outcome', outcome, 'ended', ev)\n"
    "      bucket(prefix, ev, outcome, 1, bttl)\n"
    "      redis.call('EXPIRE', ck, ttl)\n"
    "    else\n"
    "      if rank == 3 then redis.call('HSET', ck, 'answered', ev) end\n"
    "      redis.call('ZADD', active, ev, cid)\n"
    "      redis.call('ZADD', KEYS[2], deadline(ev, ev, rank, ring, maxc, grace), member)\n"
    "      redis.call('EXPIRE', ck, live_ttl)\n"
    "    end\n"
    "    return 1\n"
    "  end\n"
    "  local crank, started = tonumber(cur[1]), tonumber(cur[3])\n"
    "  if crank == 4 then\n"
    "    if rank == 4 and cur[2] == 'timed_out' then\n"
    "      bucket(prefix, tonumber(cur[5]) * 60000, 'timed_out', -1, bttl)\n"
    "      bucket(prefix, ev, outcome, 1, bttl)\n"
    "      redis.call('HSET', ck, 'state', 'ended', 'outcome', outcome, 'ended', ev, 'last', ev)\n"
    "      redis.call('EXPIRE', ck, ttl)\n"
    "      return 4\n"
    "    end\n"
    "    if rank == 3 and not cur[4] then redis.call('HSET', ck, 'answered', ev) end\n"
    "    return 3\n"
    "  end\n"
    "  if rank <= crank then\n"
    "    if ev < started then\n"
    "      -- a late lower-rank event fills the start time; it never moves the state back\n"
    "      redis.call('HSET', ck, 'started', ev)\n"
    "      local ans = tonumber(cur[4]) or ev\n"
    "      redis.call('ZADD', KEYS[2], deadline(ev, ans, crank, ring, maxc, grace), member)\n"
    "    end\n"
    "    return 3\n"
    "  end\n"
    "  redis.call('HSET', ck, 'state', state, 'rank', rank, 'last', ev)\n"
    "  if rank == 4 then\n"
    "    redis.call('ZADD', KEYS[3], 'GT', ev, t)\n"
    "    redis.call('HSET', ck, 'outcome', outcome, 'ended', ev)\n"
    "    redis.call('ZREM', active, cid)\n"
    "    redis.call('ZREM', KEYS[2], member)\n"
    "    bucket(prefix, ev, outcome, 1, bttl)\n"
    "    redis.call('EXPIRE', ck, ttl)\n"
    "    return 2\n"
    "  end\n"
    "  local answered = tonumber(cur[4])\n"
    "  if rank == 3 then answered = ev; redis.call('HSET', ck, 'answered', ev) end\n"
    "  redis.call('ZADD', active, ev, cid)\n"
    "  redis.call('ZADD', KEYS[2], deadline(started, answered or ev, rank, ring, maxc, grace),\n"
    "             member)\n"
    "  -- no TTL refresh: the one set at creation outlives any live call (it times out first)\n"
    "  return 2\n"
    "end\n"
    "local out = {}\n"
    "for i = 8, #ARGV - 9, 10 do\n"
    "  out[#out + 1] = apply(ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]),\n"
    "                        ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6]), ARGV[i + 7],\n"
    "                        ARGV[i + 8], ARGV[i + 9])\n"
    "end\n"
    "return out\n";

static const char health_lua_due[] =
    "-- Lists calls whose timeout deadline passed, dropping index entries of calls that ended.\n"
    "-- KEYS[1] rt:health:due.  ARGV[1] now ms, ARGV[2] limit.\n"
    "-- Undeclared: call hashes rt:{<tenant>}:h:call:<id> and active sets rt:{<tenant>}:h:active\n"
    "--   named by the due members.\n"
    "-- Reply: flat {tenant, call id, state, provider, started ms, answered ms or ''} per call.\n"
    "local out = {}\n"
    "local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, member in ipairs(m) do\n"
    "  local nl = string.find(member, '\\n', 1, true)\n"
    "  local t, cid = string.sub(member, 1, nl - 1), string.sub(member, nl + 1)\n"
    "  local h = redis.call('HMGET', 'rt:{' .. t .. '}:h:call:' .. cid, 'rank', 'state',\n"
    "                       'provider', 'started', 'answered')\n"
    "  if not h[1] or tonumber(h[1]) >= 4 then\n"
    "    redis.call('ZREM', KEYS[1], member)\n"
    "    -- a live call whose hash expired (rt-health down for longer than its TTL)\n"
    "    if not h[1] then redis.call('ZREM', 'rt:{' .. t .. '}:h:active', cid) end\n"
    "  else\n"
    "    for _, v in ipairs({t, cid, h[2], h[3] or '', h[4] or '0', h[5] or ''}) do\n"
    "      out[#out + 1] = v\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

static const char health_lua_mark[] =
    "-- Marks a call timed out after its call_timeout was published (or found already published).\n"
    "-- KEYS[1] call hash  KEYS[2] tenant active zset  KEYS[3] rt:health:due\n"
    "-- ARGV: 1 key prefix rt:{t}:h:, 2 call id, 3 tenant, 4 now ms, 5 ring ms, 6 max call ms,\n"
    "--   7 grace ms, 8 ended call TTL s, 9 bucket TTL s\n"
    "-- Reply: 1 marked, 0 not due any more (ended, answered or unknown)\n"
    HEALTH_LUA_COMMON
    "local member = ARGV[3] .. '\\n' .. ARGV[2]\n"
    "local h = redis.call('HMGET', KEYS[1], 'rank', 'started', 'answered')\n"
    "if not h[1] or tonumber(h[1]) >= 4 then\n"
    "  redis.call('ZREM', KEYS[3], member)\n"
    "  return 0\n"
    "end\n"
    "local now, rank, started = tonumber(ARGV[4]), tonumber(h[1]), tonumber(h[2])\n"
    "local d = deadline(started, tonumber(h[3]) or started, rank, tonumber(ARGV[5]),\n"
    "                   tonumber(ARGV[6]), tonumber(ARGV[7]))\n"
    "if d > now then\n"
    "  redis.call('ZADD', KEYS[3], d, member)\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'state', 'timed_out', 'rank', 4, 'outcome', 'timed_out',\n"
    "           'ended', now, 'tmo_min', math.floor(now / 60000))\n"
    "redis.call('ZREM', KEYS[2], ARGV[2])\n"
    "redis.call('ZREM', KEYS[3], member)\n"
    "bucket(ARGV[1], now, 'timed_out', 1, ARGV[9])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[8])\n"
    "return 1\n";

static const char health_lua_report[] =
    "-- Reads one tenant's figures (read only).\n"
    "-- KEYS[1] active zset  KEYS[2] webhook hash  KEYS[3] totals hash  KEYS[4] minute index\n"
    "-- ARGV: 1 key prefix rt:{t}:h:, 2 current minute, 3 minutes to read\n"
    "-- Undeclared: the minute buckets rt:{t}:h:m:<minute> named by the index (same hash tag),\n"
    "--   so a tenant with few busy minutes costs few reads.\n"
    "-- Reply: {active, total calls, {webhook field, value, ...},\n"
    "--   {7 outcome counts per minute, newest minute first}}\n"
    "local outcomes = {'completed', 'busy', 'no_answer', 'canceled', 'rejected', 'failed',\n"
    "                  'timed_out'}\n"
    "local now, n = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local b = {}\n"
    "for i = 1, n * #outcomes do b[i] = 0 end\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], now - n + 1, now)) do\n"
    "  local v = redis.call('HMGET', ARGV[1] .. 'm:' .. m, unpack(outcomes))\n"
    "  local base = (now - tonumber(m)) * #outcomes\n"
    "  for j = 1, #outcomes do b[base + j] = tonumber(v[j]) or 0 end\n"
    "end\n"
    "return {redis.call('ZCARD', KEYS[1]),\n"
    "        tonumber(redis.call('HGET', KEYS[3], 'calls') or '0'),\n"
    "        redis.call('HGETALL', KEYS[2]), b}\n";
/* clang-format on */

#endif
