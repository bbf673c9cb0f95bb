/* The Lua scripts of rt-health's call state (one per multi-key operation). Key layout, with t the
 * tenant (hash tag):
 *   rt:{t}:h:call:<call id>  hash   state rank started last answered ended outcome provider
 *                                    tmo_min; TTL
 *   rt:{t}:h:active          zset   non-terminal call ids by last event time (owner: scripts)
 *   rt:{t}:h:m:<minute>      hash   terminal outcomes counted in that minute; TTL 2 h
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
    "  local k = prefix .. 'm:' .. math.floor(ms / 60000)\n"                                       \
    "  redis.call('HINCRBY', k, field, by)\n"                                                      \
    "  redis.call('EXPIRE', k, ttl)\n"                                                             \
    "end\n"                                                                                        \
    "local function deadline(started, answered, rank, ring, maxc, grace)\n"                        \
    "  local d\n"                                                                                  \
    "  if rank == 3 then d = answered + maxc else d = started + ring end\n"                        \
    "  if started + grace > d then d = started + grace end\n"                                      \
    "  return d\n"                                                                                 \
    "end\n"

static const char health_lua_apply[] =
    "-- Applies one call event of rt:calls:all, atomically with its XACK; idempotent per stream\n"
    "-- id: an entry no longer pending (already applied and acked) changes nothing.\n"
    "-- KEYS[1] rt:calls:all  KEYS[2] call hash  KEYS[3] tenant active zset  KEYS[4] due zset\n"
    "-- KEYS[5] tenants zset  KEYS[6] tenant webhook hash  KEYS[7] tenant totals hash\n"
    "-- ARGV: 1 group, 2 stream id, 3 key prefix rt:{t}:h:, 4 call id, 5 rank (1-4), 6 state,\n"
    "--   7 outcome or '', 8 event ms, 9 provider or '', 10 received ms, 11 lag ms or '',\n"
    "--   12 ring timeout ms, 13 max call ms, 14 grace ms, 15 ended call TTL s, 16 tenant,\n"
    "--   17 bucket TTL s, 18 totals TTL s\n"
    "-- Reply: 0 not pending (skipped), 1 new call, 2 state moved, 3 nothing moved,\n"
    "--   4 a real terminal event replaced a timeout\n"
    HEALTH_LUA_COMMON
    "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end\n"
    "local cid, rank, ev = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[8])\n"
    "local ring, maxc, grace = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])\n"
    "local ttl, bttl = tonumber(ARGV[15]), ARGV[17]\n"
    "local member = ARGV[16] .. '\\n' .. cid\n"
    "redis.call('ZADD', KEYS[5], 'GT', ev, ARGV[16])\n"
    "if redis.call('HINCRBY', KEYS[7], 'events', 1) == 1 then\n"
    "  redis.call('EXPIRE', KEYS[7], ARGV[18])\n"
    "end\n"
    "if ARGV[9] ~= '' then\n"
    "  local f = ARGV[9] .. ':at'\n"
    "  local old = tonumber(redis.call('HGET', KEYS[6], f) or '0')\n"
    "  if tonumber(ARGV[10]) >= old then\n"
    "    redis.call('HSET', KEYS[6], f, ARGV[10])\n"
    "    if ARGV[11] ~= '' then redis.call('HSET', KEYS[6], ARGV[9] .. ':lag', ARGV[11]) end\n"
    "    redis.call('EXPIRE', KEYS[6], ttl)\n"
    "  end\n"
    "end\n"
    "local live_ttl = ttl + math.floor((maxc + grace) / 1000)\n"
    "local cur = redis.call('HMGET', KEYS[2], 'rank', 'state', 'started', 'answered', 'tmo_min')\n"
    "if not cur[1] then\n"
    "  redis.call('HSET', KEYS[2], 'state', ARGV[6], 'rank', rank, 'started', ev, 'last', ev,\n"
    "             'provider', ARGV[9])\n"
    "  redis.call('HINCRBY', KEYS[7], 'calls', 1)\n"
    "  redis.call('EXPIRE', KEYS[7], ARGV[18])\n"
    "  if rank == 4 then\n"
    "    redis.call('HSET', KEYS[2], 'outcome', ARGV[7], 'ended', ev)\n"
    "    bucket(ARGV[3], ev, ARGV[7], 1, bttl)\n"
    "    redis.call('EXPIRE', KEYS[2], ttl)\n"
    "  else\n"
    "    if rank == 3 then redis.call('HSET', KEYS[2], 'answered', ev) end\n"
    "    redis.call('ZADD', KEYS[3], ev, cid)\n"
    "    redis.call('ZADD', KEYS[4], deadline(ev, ev, rank, ring, maxc, grace), member)\n"
    "    redis.call('EXPIRE', KEYS[2], live_ttl)\n"
    "  end\n"
    "  return 1\n"
    "end\n"
    "local crank, started = tonumber(cur[1]), tonumber(cur[3])\n"
    "if crank == 4 then\n"
    "  if rank == 4 and cur[2] == 'timed_out' then\n"
    "    bucket(ARGV[3], tonumber(cur[5]) * 60000, 'timed_out', -1, bttl)\n"
    "    bucket(ARGV[3], ev, ARGV[7], 1, bttl)\n"
    "    redis.call('HSET', KEYS[2], 'state', 'ended', 'outcome', ARGV[7], 'ended', ev, 'last', ev)\n"
    "    redis.call('EXPIRE', KEYS[2], ttl)\n"
    "    return 4\n"
    "  end\n"
    "  if rank == 3 and not cur[4] then redis.call('HSET', KEYS[2], 'answered', ev) end\n"
    "  return 3\n"
    "end\n"
    "if rank <= crank then\n"
    "  if ev < started then\n"
    "    -- a late lower-rank event fills the start time; it never moves the state back\n"
    "    redis.call('HSET', KEYS[2], 'started', ev)\n"
    "    local ans = tonumber(cur[4]) or ev\n"
    "    redis.call('ZADD', KEYS[4], deadline(ev, ans, crank, ring, maxc, grace), member)\n"
    "  end\n"
    "  return 3\n"
    "end\n"
    "redis.call('HSET', KEYS[2], 'state', ARGV[6], 'rank', rank, 'last', ev)\n"
    "if rank == 4 then\n"
    "  redis.call('HSET', KEYS[2], 'outcome', ARGV[7], 'ended', ev)\n"
    "  redis.call('ZREM', KEYS[3], cid)\n"
    "  redis.call('ZREM', KEYS[4], member)\n"
    "  bucket(ARGV[3], ev, ARGV[7], 1, bttl)\n"
    "  redis.call('EXPIRE', KEYS[2], ttl)\n"
    "  return 2\n"
    "end\n"
    "local answered = tonumber(cur[4])\n"
    "if rank == 3 then answered = ev; redis.call('HSET', KEYS[2], 'answered', ev) end\n"
    "redis.call('ZADD', KEYS[3], ev, cid)\n"
    "redis.call('ZADD', KEYS[4], deadline(started, answered or ev, rank, ring, maxc, grace), member)\n"
    "redis.call('EXPIRE', KEYS[2], live_ttl)\n"
    "return 2\n";

static const char health_lua_due[] =
    "-- Lists calls whose timeout deadline passed, dropping index entries of calls that ended.\n"
    "-- KEYS[1] rt:health:due.  ARGV[1] now ms, ARGV[2] limit.\n"
    "-- Undeclared: call hashes rt:{<tenant>}:h:call:<id> named by the due members.\n"
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
    "-- KEYS[1] active zset  KEYS[2] webhook hash  KEYS[3] totals hash\n"
    "-- ARGV: 1 key prefix rt:{t}:h:, 2 current minute, 3 minutes to read\n"
    "-- Undeclared: minute buckets rt:{t}:h:m:<minute> (same hash tag).\n"
    "-- Reply: {active, total calls, {webhook field, value, ...},\n"
    "--   {7 outcome counts per minute, newest minute first}}\n"
    "local outcomes = {'completed', 'busy', 'no_answer', 'canceled', 'rejected', 'failed',\n"
    "                  'timed_out'}\n"
    "local b = {}\n"
    "local now = tonumber(ARGV[2])\n"
    "for i = 0, tonumber(ARGV[3]) - 1 do\n"
    "  local v = redis.call('HMGET', ARGV[1] .. 'm:' .. (now - i), unpack(outcomes))\n"
    "  for j = 1, #outcomes do b[#b + 1] = tonumber(v[j]) or 0 end\n"
    "end\n"
    "return {redis.call('ZCARD', KEYS[1]),\n"
    "        tonumber(redis.call('HGET', KEYS[3], 'calls') or '0'),\n"
    "        redis.call('HGETALL', KEYS[2]), b}\n";
/* clang-format on */

#endif
