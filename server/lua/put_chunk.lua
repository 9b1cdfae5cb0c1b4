-- Keep or drop one chunk of ciphertext. ARGV: owner digest, index, staged field, upload idle ms,
-- bytes to keep free under maxmemory.
-- The same transaction has just written the bytes to KEYS[2] under the fresh field ARGV[3]:
-- they never pass through Lua, where some Redis builds hash every byte of every string.
-- Chunk i is the field named by the small field 'n<i>'; a refused chunk is removed at once.
local function refuse(...)
  redis.call('HDEL', KEYS[2], ARGV[3])
  return {...}
end
local s, refusal = load_for_owner(ARGV[1], 'size', 'chunk_size', 'chunks', 'expires')
if not s then
  return refuse(unpack(refusal))
end
if s[1] ~= 'uploading' then
  return refuse('not_uploading', s[1])
end
local idx = tonumber(ARGV[2])
local chunks = tonumber(s[5])
if idx >= chunks then
  return refuse('bad_index', ms(chunks))
end
local expected = chunk_length(idx, tonumber(s[3]), tonumber(s[4]), chunks)
if redis.call('HSTRLEN', KEYS[2], ARGV[3]) ~= expected then
  return refuse('bad_length', ms(expected))
end
-- The chunk is already in memory: keep it only if it left the reserve free for the small writes
-- of claims and completions (a full noeviction server refuses every write, those included).
local memory = redis.call('INFO', 'memory')
local limit = tonumber(string.match(memory, '\nmaxmemory:(%d+)'))
local used = tonumber(string.match(memory, '\nused_memory:(%d+)'))
if limit > 0 and used + tonumber(ARGV[5]) > limit then
  return refuse('storage_full')
end
-- A repeated upload of the same chunk replaces the earlier copy (idempotent resume).
local name = 'n' .. ARGV[2]
local old = redis.call('HGET', KEYS[2], name)
if old then
  redis.call('HDEL', KEYS[2], old)
end
redis.call('HSET', KEYS[2], name, ARGV[3])
local deadline = ms(math.min(tonumber(s[6]), now_ms() + tonumber(ARGV[4])))
redis.call('PEXPIREAT', KEYS[1], deadline)
redis.call('PEXPIREAT', KEYS[2], deadline)
return {'ok', ms(redis.call('HLEN', KEYS[2]) / 2)}
