-- Check a claim before its content is served: the ticket is live and the content still stored.
-- Keeps the claim alive. Returns the content's layout and, given a chunk index, the name of the
-- field that holds that chunk: the bytes are read outside Lua (store.read_chunk), so they are
-- never copied into a Lua string.
-- ARGV: ticket digest, claim idle ms, chunk index (-1: the claim only, no field).
local now = now_ms()
local deadline = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not deadline or tonumber(deadline) < now then
  return {'ticket_invalid'}
end
local s = redis.call('HMGET', KEYS[1], 'state', 'expires', 'size', 'chunk_size', 'chunks')
if not s[1] then
  return {'ticket_invalid'}
end
if s[1] == 'deleted' then
  return {'gone', 'deleted'}
end
local expires = tonumber(s[2])
-- Keeping the claim alive is best effort (pcall): a Redis over maxmemory refuses the write,
-- and a full server must still hand out the shares it holds.
redis.pcall('ZADD', KEYS[3], 'XX', ms(math.min(expires, now + tonumber(ARGV[2]))), ARGV[1])
if s[1] == 'consumed' then
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if last[2] then
    redis.pcall('PEXPIREAT', KEYS[2], ms(math.min(expires, tonumber(last[2]))))
  end
end
local field = ''
if ARGV[3] == '-1' then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    field = false
  end
else
  field = redis.call('HGET', KEYS[2], 'n' .. ARGV[3])  -- 'n<i>' names the field holding chunk i
end
if not field then
  return {'gone', 'purged'}
end
return {'ok', s[3], s[4], s[5], field}
