/* The Lua scripts of rt-health's call state (one per multi-key operation). Key layout, with t the
 * tenant (hash tag):
 *   rt:{t}:h:c:<call id>     string the call record, 9 fields joined by '|' (see
 *                                    HEALTH_LUA_CALL): state rank started last answered ended
 *                                    outcome provider tmo_min; no TTL while the call is live (the
 *                                    due index owns it), TTL once it ended or timed out
 *   rt:{t}:h:tenant          hash   calls (distinct calls), events (events applied), active
 *                                    (live calls), <provider>:at, <provider>:lag, seen (last
 *                                    time written to rt:health:tenants), exp (last TTL renewal);
 *                                    TTL 30 days, renewed at most daily
 *   rt:{t}:h:m:<minute>      hash   terminal outcomes counted in that minute, and sf:<provider>
 *                                    (signature failures, written by rt-ingest); TTL 2 h
 *   rt:{t}:h:mi              zset   minutes that have a bucket (score = member = minute); TTL 2 h
 *   rt:{t}:h:status          string last published status
 *   rt:{t}:h:tmo:<call id>   string dedupe mark of the call_timeout publish (its stream id)
 *   rt:health:due            zset   "<tenant>\n<call id>" by timeout deadline (all tenants)
 *   rt:health:tenants        zset   tenant by last event time
 * The two rt:health:* keys and the minute buckets (built inside the scripts) make these scripts
 * single-instance only: they are not Redis Cluster safe (see docs/HEALTH.md). */
#ifndef HEALTH_CALLSTATE_LUA_H
#define HEALTH_CALLSTATE_LUA_H

/* clang-format off */
/* The call record: one string instead of a hash, so that the apply script reads a batch's calls
 * with one MGET and writes the live ones with one MSET (a redis.call costs far more on the Lua
 * side than the command itself). No field can hold '|': states, ranks, ms times, outcomes,
 * provider names ([a-z0-9_-]) and minutes. An empty field is an absent one. */
#define HEALTH_LUA_CALL \
    "local CALL_PAT = '^' .. string.rep('([^|]*)|', 8) .. '([^|]*)$'\n" \
    "-- state, rank, started, last, answered, ended, outcome, provider, tmo_min (strings, ''\n" \
    "-- when unset); all nil when the call is unknown (v false or nil)\n" \
    "local function call_unpack(v)\n" \
    "  return string.match(v or '', CALL_PAT)\n" \
    "end\n" \
    "-- Upgrade: rt-health before the records kept a call in the hash rt:{t}:h:call:<id> (live\n" \
    "-- ones without TTL). A call found only there is moved to its record when next touched, so\n" \
    "-- no call counts twice. The old hash's name for a record key, and that call packed or nil:\n" \
    "local function call_legacy_key(key)\n" \
    "  return (string.gsub(key, '}:h:c:', '}:h:call:', 1))\n" \
    "end\n" \
    "local function call_legacy(lkey)\n" \
    "  local h = redis.call('HMGET', lkey, 'state', 'rank', 'started', 'last', 'answered',\n" \
    "                       'ended', 'outcome', 'provider', 'tmo_min')\n" \
    "  if not h[1] then return nil end\n" \
    "  for i = 1, 9 do h[i] = h[i] or '' end\n" \
    "  return table.concat(h, '|')\n" \
    "end\n" \

#define HEALTH_LUA_COMMON \
    "local function bucket(prefix, ms, field, by, ttl)\n" \
    "  local m = math.floor(ms / 60000)\n" \
    "  local k, idx = prefix .. 'm:' .. m, prefix .. 'mi'\n" \
    "  if redis.call('HINCRBY', k, field, by) == by then\n" \
    "    redis.call('EXPIRE', k, ttl)\n" \
    "    if redis.call('ZADD', idx, m, m) > 0 then\n" \
    "      local now = math.floor(tonumber(redis.call('TIME')[1]) / 60)\n" \
    "      redis.call('ZREMRANGEBYSCORE', idx, '-inf', now - 120)\n" \
    "      redis.call('EXPIRE', idx, ttl)\n" \
    "    end\n" \
    "  end\n" \
    "end\n" \
    "-- the spec's deadlines: initiated or ringing, ring timeout plus grace after the start;\n" \
    "-- answered, the maximum call length after the answer; never within grace of the start\n" \
    "local function deadline(started, answered, rank, ring, maxc, grace)\n" \
    "  local d\n" \
    "  if rank == 3 then d = answered + maxc else d = started + ring + grace end\n" \
    "  if started + grace > d then d = started + grace end\n" \
    "  return d\n" \
    "end\n" \
    "-- the last id delivered to the group, nil while the group does not exist\n" \
    "local function delivered(stream, group)\n" \
    "  local groups = redis.pcall('XINFO', 'GROUPS', stream)\n" \
    "  if groups.err then return nil end\n" \
    "  for _, g in ipairs(groups) do\n" \
    "    local f = {}\n" \
    "    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n" \
    "    if f['name'] == group then return f['last-delivered-id'] end\n" \
    "  end\n" \
    "  return nil\n" \
    "end\n" \
    "-- The time up to which the group has applied rt:calls:all: every entry whose id time is\n" \
    "-- below it was applied (entries are applied and acked in one script). It is the time of\n" \
    "-- the oldest entry still pending (read, not yet applied, or left by a dead consumer) or of\n" \
    "-- the first entry not yet delivered, whichever is older; now when there is neither (an\n" \
    "-- entry added later gets an id at or after now). 0 while the group does not exist.\n" \
    "local function watermark(stream, group, now)\n" \
    "  local last = delivered(stream, group)\n" \
    "  if not last then return 0 end\n" \
    "  local w = now\n" \
    "  local nx = redis.call('XRANGE', stream, '(' .. last, '+', 'COUNT', 1)\n" \
    "  if #nx > 0 then w = tonumber(string.match(nx[1][1], '^%d+')) end\n" \
    "  local p = redis.call('XPENDING', stream, group)\n" \
    "  if p[1] > 0 then\n" \
    "    local t = tonumber(string.match(p[2], '^%d+'))\n" \
    "    if t < w then w = t end\n" \
    "  end\n" \
    "  return w\n" \
    "end\n" \
    "local function mentions(entry, needle)\n" \
    "  for i = 2, #entry[2], 2 do\n" \
    "    if string.find(entry[2][i], needle, 1, true) then return true end\n" \
    "  end\n" \
    "  return false\n" \
    "end\n" \
    "-- True when an entry of the stream that the group has not applied yet (pending or not yet\n" \
    "-- delivered) contains needle, or when more than limit entries are not applied (the\n" \
    "-- consumer is too far behind to tell: wait). Costs O(entries not applied).\n" \
    "local function backlog_mentions(stream, group, needle, limit)\n" \
    "  local last = delivered(stream, group)\n" \
    "  if not last then return true end\n" \
    "  local tail = redis.call('XRANGE', stream, '(' .. last, '+', 'COUNT', limit + 1)\n" \
    "  local pend = redis.call('XPENDING', stream, group, '-', '+', limit + 1)\n" \
    "  if #tail + #pend > limit then return true end\n" \
    "  for _, e in ipairs(tail) do\n" \
    "    if mentions(e, needle) then return true end\n" \
    "  end\n" \
    "  if #pend == 0 then return false end\n" \
    "  local set = {}\n" \
    "  for _, p in ipairs(pend) do set[p[1]] = true end\n" \
    "  -- the pending entries lie between the oldest of them and the last delivered id\n" \
    "  local span = redis.call('XRANGE', stream, pend[1][1], last, 'COUNT', limit + 1)\n" \
    "  if #span > limit then return true end\n" \
    "  for _, e in ipairs(span) do\n" \
    "    if set[e[1]] and mentions(e, needle) then return true end\n" \
    "  end\n" \
    "  return false\n" \
    "end\n" \

static const char health_lua_apply[] =
    "-- Applies the call events of one XREADGROUP batch. Each entry still pending in the group is\n"
    "-- applied and acknowledged in this one atomic call; an entry no longer pending (applied and\n"
    "-- acked before, by this or another consumer) changes nothing, so a replay changes nothing.\n"
    "-- The caller groups the events per tenant and per call (stream order kept inside a call):\n"
    "-- the batch's call records are read with one MGET and the live ones written with one MSET,\n"
    "-- a tenant's hash is read and written once, whatever the number of events.\n"
    "-- KEYS[1] rt:calls:all  KEYS[2] rt:health:due  KEYS[3] rt:health:tenants\n"
    "-- Undeclared, built from each tenant t (one hash tag): rt:{t}:h:c:<id>, rt:{t}:h:tenant,\n"
    "--   rt:{t}:h:m:<minute>, rt:{t}:h:mi\n"
    "-- ARGV: 1 group, 2 consumer, 3 ring timeout ms, 4 max call ms, 5 grace ms, 6 ended call TTL s,\n"
    "--   7 bucket TTL s, 8 tenant TTL s, 9 now ms, 10 n, 11..10+n the stream ids, then per tenant:\n"
    "--   tenant, number of calls, and per call: call id, number of events k, and k times: index of\n"
    "--   the event (1..n), rank (1-4), outcome or '', event ms, provider or '', received ms,\n"
    "--   lag ms or ''\n"
    "-- Reply: n integers in stream order: 0 not pending (skipped), 1 new call, 2 state moved,\n"
    "--   3 nothing moved, 4 a real terminal event replaced a timeout\n"
    HEALTH_LUA_CALL
    "local ring, maxc, grace = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local ttl, bttl, tttl, now = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])\n"
    "local n = tonumber(ARGV[10])\n"
    "-- Numbers that come from ARGV (always decimal integers written by rt-health) are converted\n"
    "-- with x + 0, one strtod, where tonumber(x) costs two: it is a fair part of the script's time.\n"
    "local names = {'initiated', 'ringing', 'answered', 'ended'}\n"
    "local out, pending = {}, {}\n"
    "-- a >= b for decimal integers without leading zeros, compared as strings (no conversion)\n"
    "local function ge(a, b)\n"
    "  return #a > #b or (#a == #b and a >= b)\n"
    "end\n"
    "-- a record field as a number, nil when unset\n"
    "local function num(s)\n"
    "  if s and s ~= '' then return s + 0 end\n"
    "  return nil\n"
    "end\n"
    "-- XCLAIM ... JUSTID answers the ids still pending in the group (any consumer): one call\n"
    "-- instead of one XACK per entry to learn which entries to apply\n"
    "local claim = {KEYS[1], ARGV[1], ARGV[2], 0}\n"
    "for i = 1, n do\n"
    "  out[i] = 0\n"
    "  claim[4 + i] = ARGV[10 + i]\n"
    "end\n"
    "claim[#claim + 1] = 'JUSTID'\n"
    "local ack = {KEYS[1], ARGV[1]}\n"
    "for _, id in ipairs(redis.call('XCLAIM', unpack(claim))) do\n"
    "  pending[id] = true\n"
    "  ack[#ack + 1] = id\n"
    "end\n"
    "if #ack == 2 then return out end\n"
    "redis.call('XACK', unpack(ack))\n"
    "-- the records of the calls that have an event to apply (all of them when every entry is\n"
    "-- still pending, the usual case), read with one MGET; mine[p] is the index in keys and recs\n"
    "-- of the call whose id is ARGV[p]; lkeys[i] is call i's key prefix, and below, for a call\n"
    "-- not found, the name of its old hash (see call_legacy)\n"
    "local keys, mine, lkeys, all = {}, {}, {}, #ack - 2 == n\n"
    "local p = 11 + n\n"
    "while p <= #ARGV do\n"
    "  local t, ncalls = ARGV[p], ARGV[p + 1] + 0\n"
    "  local prefix = 'rt:{' .. t .. '}:h:'\n"
    "  p = p + 2\n"
    "  for _ = 1, ncalls do\n"
    "    local k = ARGV[p + 1] + 0\n"
    "    local take = all\n"
    "    if not take then\n"
    "      for e = 0, k - 1 do\n"
    "        if pending[ARGV[10 + ARGV[p + 2 + 7 * e]]] then\n"
    "          take = true\n"
    "          break\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    if take then\n"
    "      local i = #keys + 1\n"
    "      keys[i], lkeys[i], mine[p] = prefix .. 'c:' .. ARGV[p], prefix, i\n"
    "    end\n"
    "    p = p + 2 + 7 * k\n"
    "  end\n"
    "end\n"
    "local recs = {}\n"
    "if #keys > 0 then recs = redis.call('MGET', unpack(keys)) end\n"
    "-- calls unknown here may still be old hashes (upgrade): one EXISTS for them all, which\n"
    "-- finds none once the old hashes are gone; legacy[i] names the old hash of call i, deleted\n"
    "-- below\n"
    "local unknown, legacy = {}, {}\n"
    "for i = 1, #keys do\n"
    "  if not recs[i] then\n"
    "    lkeys[i] = lkeys[i] .. 'call:' .. string.sub(keys[i], #lkeys[i] + 3)\n"
    "    unknown[#unknown + 1] = lkeys[i]\n"
    "  end\n"
    "end\n"
    "if #unknown > 0 and redis.call('EXISTS', unpack(unknown)) > 0 then\n"
    "  for i = 1, #keys do\n"
    "    if not recs[i] then\n"
    "      local lk = lkeys[i]\n"
    "      local r = call_legacy(lk)\n"
    "      if r then recs[i], legacy[i] = r, lk end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "\n"
    "local function deadline(started, answered, rank)\n"
    "  local d\n"
    "  if rank == 3 then d = answered + maxc else d = started + ring + grace end\n"
    "  if started + grace > d then d = started + grace end\n"
    "  return d\n"
    "end\n"
    "\n"
    "-- per-tenant outcome deltas: bk[minute][outcome] = delta\n"
    "local function count(bk, ms, outcome, by)\n"
    "  local m = math.floor(ms / 60000)\n"
    "  local b = bk[m]\n"
    "  if not b then b = {}; bk[m] = b end\n"
    "  b[outcome] = (b[outcome] or 0) + by\n"
    "end\n"
    "\n"
    "-- One event on the call record c (numbers for the rules); every field it changes is also put\n"
    "-- in w as the string to write (the ARGV strings themselves: no number formatting).\n"
    "local function step(c, w, bk, rank, ranks, outcome, ev, evs, prov)\n"
    "  if not c.rank then\n"
    "    c.rank, c.state, c.started = rank, names[rank], ev\n"
    "    w.rank, w.state, w.started, w.last, w.provider = ranks, names[rank], evs, evs, prov\n"
    "    if rank == 4 then\n"
    "      c.term, w.outcome, w.ended = true, outcome, evs\n"
    "      count(bk, ev, outcome, 1)\n"
    "    elseif rank == 3 then\n"
    "      c.answered, w.answered = ev, evs\n"
    "    end\n"
    "    return 1\n"
    "  end\n"
    "  if c.rank == 4 then\n"
    "    if rank == 4 and c.state == 'timed_out' then\n"
    "      count(bk, c.tmo_min * 60000, 'timed_out', -1)\n"
    "      count(bk, ev, outcome, 1)\n"
    "      c.state, c.term = 'ended', true\n"
    "      w.state, w.outcome, w.ended, w.last = 'ended', outcome, evs, evs\n"
    "      return 4\n"
    "    end\n"
    "    if rank == 3 and not c.answered then c.answered, w.answered = ev, evs end\n"
    "    return 3\n"
    "  end\n"
    "  if rank <= c.rank then\n"
    "    -- a late lower-rank event fills the start time; it never moves the state back\n"
    "    if ev < c.started then c.started, w.started = ev, evs end\n"
    "    return 3\n"
    "  end\n"
    "  c.rank, c.state = rank, names[rank]\n"
    "  w.rank, w.state, w.last = ranks, names[rank], evs\n"
    "  if rank == 4 then\n"
    "    c.term, w.outcome, w.ended = true, outcome, evs\n"
    "    count(bk, ev, outcome, 1)\n"
    "  elseif rank == 3 then\n"
    "    c.answered, w.answered = ev, evs\n"
    "  end\n"
    "  return 2\n"
    "end\n"
    "\n"
    "-- the due index changes of the whole batch, sent as one ZADD and one ZREM at the end, and\n"
    "-- the live calls' records, sent as one MSET\n"
    "local dueadd, duerem, mset, dels = {KEYS[2]}, {KEYS[2]}, {}, {}\n"
    "local c = {rank = false, state = false, started = false, answered = false, tmo_min = false,\n"
    "           term = false}\n"
    "local w = {rank = false, state = false, started = false, last = false, answered = false,\n"
    "           ended = false, outcome = false, provider = false}\n"
    "p = 11 + n\n"
    "while p <= #ARGV do\n"
    "  local t, ncalls = ARGV[p], ARGV[p + 1] + 0\n"
    "  p = p + 2\n"
    "  local prefix = 'rt:{' .. t .. '}:h:'\n"
    "  local applied, calls, active, last = 0, 0, 0, 0\n"
    "  local wh, provs, bk = {}, {}, {}\n"
    "  for _ = 1, ncalls do\n"
    "    local cid, k, ki = ARGV[p], ARGV[p + 1] + 0, mine[p]\n"
    "    p = p + 2\n"
    "    if ki then\n"
    "      local st, rk, sa, la, an, en, oc, pr, tm = call_unpack(recs[ki])\n"
    "      -- c and w are reused from call to call: no table to allocate and grow per call\n"
    "      c.rank, c.state, c.started, c.answered = num(rk), st, num(sa), num(an)\n"
    "      c.tmo_min, c.term = num(tm), false\n"
    "      w.rank, w.state, w.started, w.last, w.answered = false, false, false, false, false\n"
    "      w.ended, w.outcome, w.provider = false, false, false\n"
    "      local live0, rank0, started0, answered0 = c.rank and c.rank < 4, c.rank, c.started,\n"
    "                                                c.answered\n"
    "      for e = 0, k - 1 do\n"
    "        local q = p + 7 * e\n"
    "        local idx = ARGV[q] + 0\n"
    "        if pending[ARGV[10 + idx]] then\n"
    "          local evs, prov, rcv = ARGV[q + 3], ARGV[q + 4], ARGV[q + 5]\n"
    "          local ev = evs + 0\n"
    "          out[idx] = step(c, w, bk, ARGV[q + 1] + 0, ARGV[q + 1], ARGV[q + 2], ev, evs, prov)\n"
    "          applied = applied + 1\n"
    "          if ev > last then last = ev end\n"
    "          if prov ~= '' then\n"
    "            local x = wh[prov]\n"
    "            if not x then\n"
    "              x = {rcv = '', lag = ''}\n"
    "              wh[prov] = x\n"
    "              provs[#provs + 1] = prov\n"
    "            end\n"
    "            if ge(rcv, x.rcv) then\n"
    "              x.rcv = rcv\n"
    "              if ARGV[q + 6] ~= '' then x.lag = ARGV[q + 6] end\n"
    "            end\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "      local lk = legacy[ki]\n"
    "      if lk or w.state or w.started or w.answered then\n"
    "        local rec = (w.state or st or '') .. '|' .. (w.rank or rk or '') .. '|' ..\n"
    "                    (w.started or sa or '') .. '|' .. (w.last or la or '') .. '|' ..\n"
    "                    (w.answered or an or '') .. '|' .. (w.ended or en or '') .. '|' ..\n"
    "                    (w.outcome or oc or '') .. '|' .. (w.provider or pr or '') .. '|' ..\n"
    "                    (tm or '')\n"
    "        -- a live call's record has no TTL: the due index owns it, and the timeout or the\n"
    "        -- terminal event that takes it out of the index sets the TTL\n"
    "        if c.term then\n"
    "          redis.call('SET', keys[ki], rec, 'EX', ttl)\n"
    "        elseif c.rank < 4 then\n"
    "          mset[#mset + 1] = keys[ki]\n"
    "          mset[#mset + 1] = rec\n"
    "        elseif lk then\n"
    "          -- an ended call moved from its old hash keeps the hash's remaining TTL\n"
    "          local ms = redis.call('PTTL', lk)\n"
    "          if ms > 0 then\n"
    "            redis.call('SET', keys[ki], rec, 'PX', ms)\n"
    "          else\n"
    "            redis.call('SET', keys[ki], rec, 'EX', ttl)\n"
    "          end\n"
    "        else\n"
    "          -- an ended call that only gained a field (a late answer time) keeps its TTL\n"
    "          redis.call('SET', keys[ki], rec, 'KEEPTTL')\n"
    "        end\n"
    "        if lk then dels[#dels + 1] = lk end\n"
    "      end\n"
    "      local live1 = c.rank < 4\n"
    "      if live1 then\n"
    "        local d1 = deadline(c.started, c.answered or c.started, c.rank)\n"
    "        if not live0 or d1 ~= deadline(started0, answered0 or started0, rank0) then\n"
    "          -- '%d': a Lua number argument is formatted with '%.17g', far slower\n"
    "          dueadd[#dueadd + 1] = string.format('%d', d1)\n"
    "          dueadd[#dueadd + 1] = t .. '\\n' .. cid\n"
    "        end\n"
    "      elseif live0 then\n"
    "        duerem[#duerem + 1] = t .. '\\n' .. cid\n"
    "      end\n"
    "      if not rank0 then calls = calls + 1 end\n"
    "      active = active + (live1 and 1 or 0) - (live0 and 1 or 0)\n"
    "    end\n"
    "    p = p + 7 * k\n"
    "  end\n"
    "  if applied > 0 then\n"
    "    -- the tenant hash: one read and one write per batch\n"
    "    local tk = prefix .. 'tenant'\n"
    "    local want = {'calls', 'events', 'active', 'exp', 'seen'}\n"
    "    for _, prov in ipairs(provs) do want[#want + 1] = prov .. ':at' end\n"
    "    local cur = redis.call('HMGET', tk, unpack(want))\n"
    "    local set = {'events', (tonumber(cur[2]) or 0) + applied}\n"
    "    if calls > 0 then\n"
    "      set[#set + 1] = 'calls'\n"
    "      set[#set + 1] = (tonumber(cur[1]) or 0) + calls\n"
    "    end\n"
    "    if active ~= 0 then\n"
    "      set[#set + 1] = 'active'\n"
    "      set[#set + 1] = (tonumber(cur[3]) or 0) + active\n"
    "    end\n"
    "    for i, prov in ipairs(provs) do\n"
    "      local x = wh[prov]\n"
    "      if x.rcv + 0 >= (tonumber(cur[5 + i]) or 0) then\n"
    "        set[#set + 1] = prov .. ':at'\n"
    "        set[#set + 1] = x.rcv\n"
    "        if x.lag ~= '' then\n"
    "          set[#set + 1] = prov .. ':lag'\n"
    "          set[#set + 1] = x.lag\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    -- the tenants index moves at most once a minute per tenant: enough for 'recently active'\n"
    "    local seen = tonumber(cur[5]) or 0\n"
    "    if last >= seen + 60000 then\n"
    "      redis.call('ZADD', KEYS[3], 'GT', last, t)\n"
    "      set[#set + 1] = 'seen'\n"
    "      set[#set + 1] = last\n"
    "    end\n"
    "    -- the TTL is renewed at most once a day\n"
    "    local exp = tonumber(cur[4])\n"
    "    local renew = not exp or now - exp >= 86400000 or exp > now\n"
    "    if renew then\n"
    "      set[#set + 1] = 'exp'\n"
    "      set[#set + 1] = now\n"
    "    end\n"
    "    redis.call('HSET', tk, unpack(set))\n"
    "    if renew then redis.call('EXPIRE', tk, tttl) end\n"
    "    -- minute buckets: a bucket's TTL is set when a field is created in it (HINCRBY answers\n"
    "    -- the delta), and the index is trimmed when it gains a minute\n"
    "    local minutes = {}\n"
    "    for m, b in pairs(bk) do\n"
    "      local key, created = prefix .. 'm:' .. m, false\n"
    "      for o, by in pairs(b) do\n"
    "        if by ~= 0 and redis.call('HINCRBY', key, o, by) == by then created = true end\n"
    "      end\n"
    "      if created then\n"
    "        redis.call('EXPIRE', key, bttl)\n"
    "        minutes[#minutes + 1] = m\n"
    "        minutes[#minutes + 1] = m\n"
    "      end\n"
    "    end\n"
    "    if #minutes > 0 then\n"
    "      local idx = prefix .. 'mi'\n"
    "      if redis.call('ZADD', idx, unpack(minutes)) > 0 then\n"
    "        local nowm = math.floor(now / 60000)\n"
    "        redis.call('ZREMRANGEBYSCORE', idx, '-inf', nowm - 120)\n"
    "        redis.call('EXPIRE', idx, bttl)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if #mset > 0 then redis.call('MSET', unpack(mset)) end\n"
    "if #dels > 0 then redis.call('DEL', unpack(dels)) end\n"
    "if #dueadd > 1 then redis.call('ZADD', unpack(dueadd)) end\n"
    "if #duerem > 1 then redis.call('ZREM', unpack(duerem)) end\n"
    "return out\n";

static const char health_lua_due[] =
    "-- Lists calls whose timeout deadline passed and that the consumer group has caught up with\n"
    "-- (deadline below the watermark), dropping index entries of calls that ended.\n"
    "-- KEYS[1] rt:health:due  KEYS[2] rt:calls:all.  ARGV[1] now ms, ARGV[2] limit, ARGV[3] group.\n"
    "-- Undeclared: call records rt:{<tenant>}:h:c:<id> (read with one MGET) and tenant hashes\n"
    "--   rt:{<tenant>}:h:tenant named by the due members.\n"
    "-- Reply: flat {tenant, call id, state, provider, started ms, answered ms or ''} per call.\n"
    HEALTH_LUA_CALL
    HEALTH_LUA_COMMON
    "local out = {}\n"
    "local now = tonumber(ARGV[1])\n"
    "local upto = watermark(KEYS[2], ARGV[3], now) - 1\n"
    "if upto > now then upto = now end\n"
    "local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', upto, 'LIMIT', 0, ARGV[2])\n"
    "local ts, cids, keys = {}, {}, {}\n"
    "for i, member in ipairs(m) do\n"
    "  local nl = string.find(member, '\\n', 1, true)\n"
    "  ts[i], cids[i] = string.sub(member, 1, nl - 1), string.sub(member, nl + 1)\n"
    "  keys[i] = 'rt:{' .. ts[i] .. '}:h:c:' .. cids[i]\n"
    "end\n"
    "local recs = {}\n"
    "if #keys > 0 then recs = redis.call('MGET', unpack(keys)) end\n"
    "for i, member in ipairs(m) do\n"
    "  local t = ts[i]\n"
    "  if not recs[i] then\n"
    "    -- a live call still in its old hash (upgrade) moves to its record, without TTL\n"
    "    local lk = call_legacy_key(keys[i])\n"
    "    local r = call_legacy(lk)\n"
    "    if r and (tonumber(string.match(r, '^[^|]*|([^|]*)')) or 4) < 4 then\n"
    "      redis.call('SET', keys[i], r)\n"
    "      redis.call('DEL', lk)\n"
    "      recs[i] = r\n"
    "    end\n"
    "  end\n"
    "  local st, rk, sa, la, an, en, oc, pr = call_unpack(recs[i])\n"
    "  local rank = tonumber(rk)\n"
    "  if not rank or rank >= 4 then\n"
    "    redis.call('ZREM', KEYS[1], member)\n"
    "    -- a live call whose record is gone (deleted by hand or evicted) is no longer active\n"
    "    local tk = 'rt:{' .. t .. '}:h:tenant'\n"
    "    if not st and redis.call('EXISTS', tk) == 1 then\n"
    "      redis.call('HINCRBY', tk, 'active', -1)\n"
    "    end\n"
    "  else\n"
    "    if sa == '' then sa = '0' end\n"
    "    for _, v in ipairs({t, cids[i], st, pr, sa, an}) do\n"
    "      out[#out + 1] = v\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

static const char health_lua_timeout[] =
    "-- Times one call out: re-checks that the call is still live and due, that the consumer\n"
    "-- group has applied rt:calls:all up to its deadline and that no entry of the stream not yet\n"
    "-- applied names the call (a call id is JSON-safe, so its quoted form is searched), then\n"
    "-- stores and publishes call_timeout\n"
    "-- (dedupe mark, XADD, PUBLISH) and marks the call timed out, in this one atomic call: no\n"
    "-- call event can be applied between the check, the event and the mark.\n"
    "-- KEYS[1] call record rt:{t}:h:c:<id>  KEYS[2] tenant hash  KEYS[3] rt:health:due\n"
    "--   KEYS[4] rt:{t}:calls  KEYS[5] dedupe mark rt:{t}:h:tmo:<id>  KEYS[6] rt:calls:all\n"
    "-- ARGV: 1 key prefix rt:{t}:h:, 2 call id, 3 tenant, 4 now ms, 5 ring ms, 6 max call ms,\n"
    "--   7 grace ms, 8 ended call TTL s (also the dedupe mark's), 9 bucket TTL s, 10 group,\n"
    "--   11 state and 12 started ms the event was built from, 13 envelope JSON without id,\n"
    "--   14 MAXLEN of KEYS[4], 15 MINID or '0', 16 most entries not yet applied to search\n"
    "-- Reply: {1, stream id, 1 published or 0 already published before}: marked;\n"
    "--   {0}: not due any more (ended, answered since, or unknown);\n"
    "--   {-1}: not yet (the group has not applied every event up to the deadline, an event of\n"
    "--   the call waits unapplied, or the call changed since the scan): it stays in the due\n"
    "--   index and a later scan retries\n"
    HEALTH_LUA_CALL
    HEALTH_LUA_COMMON
    "local member = ARGV[3] .. '\\n' .. ARGV[2]\n"
    "local st, rk, sa, la, an, en, oc, pr = call_unpack(redis.call('GET', KEYS[1]))\n"
    "local rank = tonumber(rk)\n"
    "if not rank or rank >= 4 then\n"
    "  redis.call('ZREM', KEYS[3], member)\n"
    "  return {0}\n"
    "end\n"
    "local now, started = tonumber(ARGV[4]), tonumber(sa)\n"
    "local d = deadline(started, tonumber(an) or started, rank, tonumber(ARGV[5]),\n"
    "                   tonumber(ARGV[6]), tonumber(ARGV[7]))\n"
    "if d > now then\n"
    "  redis.call('ZADD', KEYS[3], d, member)\n"
    "  return {0}\n"
    "end\n"
    "if st ~= ARGV[11] or sa ~= ARGV[12] then return {-1} end\n"
    "if d >= watermark(KEYS[6], ARGV[10], now) then return {-1} end\n"
    "-- an event of this call already in rt:calls:all but not applied yet (its call_ended came\n"
    "-- after the deadline and the consumer lags): subscribers have seen it, so wait for it\n"
    "if backlog_mentions(KEYS[6], ARGV[10], '\"' .. ARGV[2] .. '\"', tonumber(ARGV[16])) then\n"
    "  return {-1}\n"
    "end\n"
    "local id, published = redis.call('GET', KEYS[5]), 0\n"
    "if not id then\n"
    "  id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[14], '*', 'e', ARGV[13])\n"
    "  if ARGV[15] ~= '0' then redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[15]) end\n"
    "  redis.call('SET', KEYS[5], id, 'EX', ARGV[8])\n"
    "  redis.call('PUBLISH', KEYS[4], '{\"id\":\"' .. id .. '\",' .. string.sub(ARGV[13], 2))\n"
    "  published = 1\n"
    "end\n"
    "-- timed out: rank 4, ended now, outcome timed_out, the minute it is counted in; the other\n"
    "-- fields kept, and the ended call's TTL\n"
    "local rec = table.concat({'timed_out', '4', sa, la, an, ARGV[4], 'timed_out', pr,\n"
    "                          tostring(math.floor(now / 60000))}, '|')\n"
    "redis.call('SET', KEYS[1], rec, 'EX', ARGV[8])\n"
    "redis.call('ZREM', KEYS[3], member)\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'active', -1) end\n"
    "bucket(ARGV[1], now, 'timed_out', 1, ARGV[9])\n"
    "return {1, id, published}\n";

static const char health_lua_report[] =
    "-- Reads one tenant's figures (read only).\n"
    "-- KEYS[1] tenant hash  KEYS[2] minute index\n"
    "-- ARGV: 1 key prefix rt:{t}:h:, 2 current minute, 3 minutes to read\n"
    "-- Undeclared: the minute buckets rt:{t}:h:m:<minute> named by the index (same hash tag),\n"
    "--   so a tenant with few busy minutes costs few reads.\n"
    "-- Reply: {tenant hash as HGETALL, {minutes ago, bucket as HGETALL, ...}}\n"
    "local now, n = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local b = {}\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now - n + 1, now)) do\n"
    "  b[#b + 1] = now - tonumber(m)\n"
    "  b[#b + 1] = redis.call('HGETALL', ARGV[1] .. 'm:' .. m)\n"
    "end\n"
    "return {redis.call('HGETALL', KEYS[1]), b}\n";
/* clang-format on */

#endif
