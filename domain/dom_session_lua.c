/* dom_session_lua.c - the Lua text of the scripts in dom_session.h, whose comments give
 * each one's KEYS/ARGV contract. Kept small: each script reads the session once, checks
 * ownership and state, and writes. The field names and status values spelled here are
 * those of dom_session.h (DOM_F_*, DOM_SESS_*). Each is a dk_script: its SHA-1 is computed
 * on first use and that is what the servers send (EVALSHA). */
#include "dom_session.h"

#define NOW_MS                                                                                   \
    "local t = redis.call('TIME')\n"                                                             \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

dk_script dom_lua_answer = DK_SCRIPT(
    "local s = redis.call('HMGET', KEYS[1], 'pid', 'status', 'deadline', 'shape', 'started_at', 'dev', 'dev_at')\n"
    NOW_MS
    "if not s[1] or s[1] ~= ARGV[1] then return {0, 'nosession', now} end\n"
    "if s[2] ~= 'live' or now >= tonumber(s[3]) then return {0, 'closed', now} end\n"
    "if now < tonumber(s[5] or '0') then return {0, 'notopen', now} end\n"
    "if now - tonumber(ARGV[5]) > 20000 then return {0, 'stale', now} end\n"
    "local no = tonumber(ARGV[2])\n"
    "local shape = s[4]\n"
    "if not no or no < 1 or no * 2 > #shape then return {0, 'badno', now} end\n"
    "local kind = string.sub(shape, 2 * no - 1, 2 * no - 1)\n"
    "local last = string.sub(shape, 2 * no, 2 * no)\n"
    "local c = ARGV[3]\n"
    "if c ~= '' then\n"
    "  if kind == 'S' and #c ~= 1 then return {0, 'badchoice', now} end\n"
    "  for i = 1, #c do\n"
    "    local ch = string.sub(c, i, i)\n"
    "    if ch < 'A' or ch > last then return {0, 'badchoice', now} end\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], c .. '@' .. now)\n"
    /* two devices answering within the window: flagged once; a later one is a resume. The
     * device's time is written at most once a second: not a second write per answer */
    "if ARGV[6] ~= '' then\n"
    "  local at = tonumber(s[7] or '0') or 0\n"
    "  if s[6] and s[6] ~= ARGV[6] and now - at < tonumber(ARGV[7]) then\n"
    "    if redis.call('HSETNX', KEYS[1], 'conc', now) == 1 then redis.call('SADD', KEYS[4], ARGV[4]) end\n"
    "  end\n"
    "  if s[6] ~= ARGV[6] or now - at >= 1000 then\n"
    "    redis.call('HSET', KEYS[1], 'dev', ARGV[6], 'dev_at', now)\n"
    "  end\n"
    "end\n"
    "redis.call('SADD', KEYS[3], ARGV[4])\n"
    "return {1, 'ok', now}\n");

/* local a = the answer pairs of KEYS[2] saved at or after the session's (KEYS[1])
 * flushed_ms: what the flush has not committed to MariaDB yet (all when never flushed) */
#define UNFLUSHED_ANSWERS                                                                        \
    "local w = tonumber(redis.call('HGET', KEYS[1], 'flushed_ms') or '0') or 0\n"               \
    "local a = redis.call('HGETALL', KEYS[2])\n"                                                \
    "if w > 0 then\n"                                                                           \
    "  local out = {}\n"                                                                        \
    "  for i = 1, #a, 2 do\n"                                                                   \
    "    local ms = tonumber(string.match(a[i + 1], '@(%d+)$') or '0') or 0\n"                  \
    "    if ms >= w then out[#out + 1] = a[i]; out[#out + 1] = a[i + 1] end\n"                  \
    "  end\n"                                                                                   \
    "  a = out\n"                                                                               \
    "end\n"

/* Lets side key K of a session expire with it: its TTL when it has one (after the submit),
 * else a day past the deadline DL (a number). */
#define EXPIRE_WITH_SESSION(K, DL)                                                               \
    "local ttl = redis.call('PTTL', KEYS[1])\n"                                                 \
    "if ttl > 0 then redis.call('PEXPIRE', " K ", ttl)\n"                                       \
    "else redis.call('PEXPIREAT', " K ", (" DL ") + 86400000) end\n"

#define VIEW_BODY                                                                                \
    "local s = redis.call('HGETALL', KEYS[1])\n"                                                 \
    "if #s == 0 then return {0, 'nosession', now} end\n"                                         \
    "local h = {}\n"                                                                             \
    "for i = 1, #s, 2 do h[s[i]] = s[i + 1] end\n"                                               \
    "if ARGV[1] ~= '' and h['pid'] ~= ARGV[1] then return {0, 'nosession', now} end\n"           \
    "return {1, now, s, redis.call('HGETALL', KEYS[2])}\n"

dk_script dom_lua_view = DK_SCRIPT(NOW_MS VIEW_BODY);

dk_script dom_lua_restore = DK_SCRIPT(
    NOW_MS
    "local i = 1\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  local f = {}\n"
    "  while ARGV[i] ~= '|' do f[#f + 1] = ARGV[i]; f[#f + 1] = ARGV[i + 1]; i = i + 2 end\n"
    "  redis.call('HSET', KEYS[1], unpack(f))\n"
    "  local st = redis.call('HGET', KEYS[1], 'status')\n"
    "  if st == 'live' then\n"
    "    local sid = redis.call('HGET', KEYS[1], 'sid')\n"
    "    redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'deadline'), sid)\n"
    /* drawn ahead in the waiting room: the first capture is due after the opening */
    "    local from = math.max(now, tonumber(redis.call('HGET', KEYS[1], 'started_at') or '0'))\n"
    "    redis.call('ZADD', KEYS[4], 'NX', from + tonumber(ARGV[#ARGV]), sid)\n"
    "  end\n"
    "else\n"
    "  while ARGV[i] ~= '|' do i = i + 2 end\n"
    /* a resume (a reload, another device) is when a stand-in would take over: the
     * capture the page sends right after it is due now, not early */
    "  if redis.call('HGET', KEYS[1], 'status') == 'live' then\n"
    "    redis.call('HDEL', KEYS[1], 'cap_next_due')\n"
    "  end\n"
    "end\n"
    /* the physician's index for a resume from Redis: kept a day past the latest deadline */
    "local x = redis.call('HMGET', KEYS[1], 'status', 'paper', 'sid', 'deadline')\n"
    "if x[1] == 'live' and x[2] and x[3] then\n"
    "  redis.call('HSET', KEYS[5], x[2], x[3])\n"
    "  local keep = (tonumber(x[4] or '0') or 0) + 86400000\n"
    "  if redis.call('PTTL', KEYS[5]) < 0 then redis.call('PEXPIREAT', KEYS[5], keep)\n"
    "  else redis.call('PEXPIREAT', KEYS[5], keep, 'GT') end\n"
    "end\n"
    "i = i + 1\n"
    "while i < #ARGV - 1 do redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end\n"
    "ARGV[1] = ''\n"
    VIEW_BODY);

dk_script dom_lua_resume = DK_SCRIPT(
    NOW_MS
    "local s = redis.call('HMGET', KEYS[1], 'pid', 'paper', 'status')\n"
    "if not s[1] or s[1] ~= ARGV[1] or s[2] ~= ARGV[2] then return {0, 'nosession', now} end\n"
    "if s[3] ~= 'live' then return {0, s[3], now} end\n"
    "redis.call('HDEL', KEYS[1], 'cap_next_due')\n"
    VIEW_BODY);

dk_script dom_lua_integrity = DK_SCRIPT(
    "local c = redis.call('HMGET', KEYS[1], 'dep_n', 'dep_ms', 'conc')\n"
    "return {{c[1] or '', c[2] or '', c[3] or ''}, redis.call('HGETALL', KEYS[2]),\n"
    "  redis.call('HGETALL', KEYS[3])}\n");

dk_script dom_lua_device = DK_SCRIPT(
    NOW_MS
    "local old = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not old and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end\n"
    "local first = old and string.match(old, '^(%d+)|') or tostring(now)\n"
    "redis.call('HSET', KEYS[2], ARGV[1], first .. '|' .. now .. '|' .. ARGV[2] .. '|' .. ARGV[3])\n"
    "local dl = tonumber(redis.call('HGET', KEYS[1], 'deadline') or '0') or 0\n"
    EXPIRE_WITH_SESSION("KEYS[2]", "math.max(dl, now)")
    "return 1\n");

dk_script dom_lua_departure = DK_SCRIPT(
    NOW_MS
    "local s = redis.call('HMGET', KEYS[1], 'pid', 'status', 'dep_warn', 'dep_submit', 'deadline', 'started_at')\n"
    "if not s[1] or s[1] ~= ARGV[1] then return {0, 'nosession', now} end\n"
    "if now < tonumber(s[6] or '0') then return {0, 'notopen', now} end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then\n"
    "  if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[6]) then return {0, 'toomany', now} end\n"
    "  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[5])\n"
    EXPIRE_WITH_SESSION("KEYS[2]", "tonumber(s[5] or '0') or now")
    "  redis.call('HINCRBY', KEYS[1], 'dep_n', 1)\n"
    "  redis.call('HINCRBY', KEYS[1], 'dep_ms', tonumber(ARGV[5]))\n"
    "  redis.call('SADD', KEYS[3], ARGV[7])\n"
    "end\n"
    "local n = tonumber(redis.call('HGET', KEYS[1], 'dep_n') or '0')\n"
    "local m = tonumber(s[4] or '') or 0\n"
    "local act = ''\n"
    "if s[2] == 'live' and m > 0 and n >= m then act = 'submit' end\n"
    "return {1, n, tonumber(redis.call('HGET', KEYS[1], 'dep_ms') or '0'), s[3] or '', s[4] or '',\n"
    "  act, s[2]}\n");

dk_script dom_lua_claim = DK_SCRIPT(
    "local s = redis.call('HMGET', KEYS[1], 'pid', 'status', 'deadline', 'claim_at', 'qp', 'started_at')\n"
    NOW_MS
    "if not s[1] then return {0, 'nosession'} end\n"
    "if ARGV[1] ~= '' and s[1] ~= ARGV[1] then return {0, 'nosession'} end\n"
    "if s[2] == 'submitted' then return {0, 'submitted'} end\n"
    "if s[2] == 'live' and now < tonumber(s[6] or '0') then return {0, 'notopen'} end\n"
    "if s[2] == 'submitting' and now - tonumber(s[4]) < tonumber(ARGV[3]) then return {0, 'busy'} end\n"
    "if ARGV[2] == 'sweeper' and s[2] == 'live' and now < tonumber(s[3]) then return {0, 'notdue'} end\n"
    "redis.call('HSET', KEYS[1], 'status', 'submitting', 'claim_at', now, 'claim_by', ARGV[2])\n"
    UNFLUSHED_ANSWERS
    "local c = redis.call('HMGET', KEYS[1], 'dep_n', 'dep_ms', 'conc')\n"
    "return {1, now, s[5], a, {c[1] or '', c[2] or '', c[3] or ''}, redis.call('HGETALL', KEYS[3]),\n"
    "  redis.call('HGETALL', KEYS[4])}\n");

dk_script dom_lua_finish = DK_SCRIPT(
    "redis.call('HSET', KEYS[1], 'status', 'submitted', 'score', ARGV[2], 'total', ARGV[3],\n"
    "  'passed', ARGV[4], 'enrolment_status', ARGV[5], 'pass_mark', ARGV[7])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "redis.call('SREM', KEYS[4], ARGV[1])\n"
    "redis.call('ZREM', KEYS[5], ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[6])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
    "redis.call('EXPIRE', KEYS[6], ARGV[6])\n"
    "redis.call('EXPIRE', KEYS[7], ARGV[6])\n"
    "return 1\n");

dk_script dom_lua_flush_take = DK_SCRIPT(
    NOW_MS
    UNFLUSHED_ANSWERS
    "return {now, a}\n");

dk_script dom_lua_flush_settle = DK_SCRIPT(
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local w = tonumber(redis.call('HGET', KEYS[1], 'flushed_ms') or '0') or 0\n"
    "if tonumber(ARGV[1]) > w then redis.call('HSET', KEYS[1], 'flushed_ms', ARGV[1]) end\n"
    "return 1\n");

dk_script dom_lua_unclaim = DK_SCRIPT(
    "if redis.call('HGET', KEYS[1], 'status') == 'submitting' then\n"
    "  redis.call('HSET', KEYS[1], 'status', 'live')\n"
    "end\n"
    "return 1\n");

dk_script dom_lua_capture_ok = DK_SCRIPT(
    "local s = redis.call('HMGET', KEYS[1], 'pid', 'status', 'cap_next_due', 'cap_count', 'started_at')\n"
    NOW_MS
    "if not s[1] or s[1] ~= ARGV[1] then return {'nosession', 0, now} end\n"
    "if s[2] ~= 'live' then return {'closed', 0, now} end\n"
    "if now < tonumber(s[5] or '0') then return {'notopen', 0, now} end\n"
    "local due = tonumber(s[3] or '0') or 0\n"
    "if due > 0 and now < due - tonumber(ARGV[2]) then return {'early', due, now} end\n"
    "local n = tonumber(s[4] or '0') or 0\n"
    "local max = tonumber(ARGV[3])\n"
    "if max > 0 and n >= max then return {'toomany', due, now} end\n"
    "redis.call('HSET', KEYS[1], 'cap_count', n + 1)\n"
    "return {'ok', due, now}\n");

dk_script dom_lua_wait_join = DK_SCRIPT(
    NOW_MS
    "redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])\n"
    "redis.call('PEXPIREAT', KEYS[1], ARGV[2])\n"
    "return {redis.call('ZRANK', KEYS[1], ARGV[1]) + 1, redis.call('ZCARD', KEYS[1])}\n");

dk_script dom_lua_capture_refund = DK_SCRIPT(
    "local n = tonumber(redis.call('HGET', KEYS[1], 'cap_count') or '0') or 0\n"
    "if n > 0 then redis.call('HSET', KEYS[1], 'cap_count', n - 1) end\n"
    "return n > 0 and 1 or 0\n");

dk_script dom_lua_capture_result = DK_SCRIPT(
    "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "redis.call('HDEL', KEYS[5], ARGV[2], ARGV[2] .. ':err')\n"
    "local first = redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) == 1\n"
    "local ttl = redis.call('PTTL', KEYS[3])\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then\n"
    "  local last = tonumber(redis.call('HGET', KEYS[3], 'cap_last_at') or '0') or 0\n"
    "  if tonumber(ARGV[5]) >= last then\n"
    "    redis.call('HSET', KEYS[3], 'cap_last_at', ARGV[5], 'cap_last_similarity', ARGV[6],\n"
    "               'cap_last_flag', ARGV[7])\n"
    "  end\n"
    "end\n"
    "if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl)\n"
    "elseif ttl == -2 then redis.call('PEXPIRE', KEYS[2], 604800000) end\n"
    "if not first then return 2 end\n"
    "if ARGV[8] ~= '' then\n"
    "  redis.call('XADD', KEYS[4], '*', 'session_id', ARGV[9], 'physician_id', ARGV[10],\n"
    "             'capture_id', ARGV[3], 'reason', ARGV[8], 'score', ARGV[11], 'at', ARGV[12])\n"
    "end\n"
    "return 1\n");

dk_script dom_lua_missing = DK_SCRIPT(
    "local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
    "if not s or tonumber(s) > tonumber(ARGV[2]) then return 0 end\n"
    "redis.call('ZREM', KEYS[1], ARGV[1])\n"
    "if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4]) then return 0 end\n"
    "redis.call('HSET', KEYS[3], 'cap_missing', ARGV[3])\n"
    "redis.call('XADD', KEYS[4], '*', 'session_id', ARGV[1], 'physician_id', ARGV[5],\n"
    "  'capture_id', '', 'reason', 'missing_captures', 'score', '1', 'at', ARGV[3],\n"
    "  'overdue_ms', ARGV[6])\n"
    "return 1\n");
