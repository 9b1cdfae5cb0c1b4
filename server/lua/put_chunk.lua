-- Store one chunk of ciphertext. ARGV: owner digest, index, bytes, upload idle ms.
local s = redis.call('HMGET', KEYS[1], 'state', 'owner', 'size', 'chunk_size', 'chunks', 'expires')
if not s[1] then
  return {'not_found'}
end
if not ct_eq(s[2], ARGV[1]) then
  return {'owner_forbidden'}
end
if s[1] ~= 'uploading' then
  return {'not_uploading', s[1]}
end
local idx = tonumber(ARGV[2])
local chunks = tonumber(s[5])
if idx >= chunks then
  return {'bad_index', ms(chunks)}
end
local expected = chunk_length(idx, tonumber(s[3]), tonumber(s[4]), chunks)
if #ARGV[3] ~= expected then
  return {'bad_length', ms(expected)}
end
-- HSET by index makes a repeated upload of the same chunk harmless (idempotent resume).
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local deadline = ms(math.min(tonumber(s[6]), now_ms() + tonumber(ARGV[4])))
redis.call('PEXPIREAT', KEYS[1], deadline)
redis.call('PEXPIREAT', KEYS[2], deadline)
return {'ok', redis.call('HLEN', KEYS[2])}
