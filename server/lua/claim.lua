-- Check the proof and count one download, in one step. ARGV: proof digest, ticket digest,
-- claim idle ms, wrong-proof limit, wrong-proof window ms.
local s = redis.call('HMGET', KEYS[1], 'state', 'verifier', 'left', 'expires', 'size',
  'chunk_size', 'chunks')
if not s[1] then
  return {'not_found'}
end
if s[1] == 'uploading' then
  return {'not_ready'}
end
if s[1] ~= 'ready' then
  return {'gone', s[1]}
end
local now = now_ms()
local expires = tonumber(s[4])
local limit = tonumber(ARGV[4])
local failures = tonumber(redis.call('GET', KEYS[4]) or '0')
if failures >= limit then
  return {'locked', ms(math.max(redis.call('PTTL', KEYS[4]), 1))}
end
if not ct_eq(s[2], ARGV[1]) then
  -- A wrong proof costs the share nothing but a slot in a window that expires by itself.
  failures = redis.call('INCR', KEYS[4])
  if failures == 1 then
    redis.call('PEXPIREAT', KEYS[4], ms(math.min(expires, now + tonumber(ARGV[5]))))
  end
  return {'proof_forbidden', ms(limit - failures)}
end
local left = tonumber(s[3]) - 1
local deadline = math.min(expires, now + tonumber(ARGV[3]))
redis.call('ZADD', KEYS[3], ms(deadline), ARGV[2])
redis.call('PEXPIREAT', KEYS[3], s[4])
redis.call('HSET', KEYS[1], 'left', ms(left), 'last_claim', ms(now))
redis.call('HSETNX', KEYS[1], 'first_claim', ms(now))
redis.call('HINCRBY', KEYS[1], 'claims', 1)
if left == 0 then
  -- Last download handed out: the share becomes a tombstone, and the ciphertext now lives only
  -- while a claim on it is active, so an abandoned claim is purged by Redis itself.
  redis.call('HSET', KEYS[1], 'state', 'consumed', 'consumed_at', ms(now))
  strip_to_tombstone(KEYS[1])
  redis.call('DEL', KEYS[4])
  extend_data_to_claims(KEYS[2], KEYS[3], expires)
end
return {'ok', s[5], s[6], s[7], ms(deadline)}
