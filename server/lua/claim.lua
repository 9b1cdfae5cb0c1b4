-- Check the proofs and count one download, in one step. ARGV: access proof digest, password
-- proof digest ('' for none), wrong-proof limit, wrong-proof window ms, ticket digest, claim
-- idle ms.
local share = load_share({'left', 'size', 'chunk_size', 'chunks'})
local refusal = check_proofs(share, ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
if refusal then
  return refusal
end
local now = now_ms()
local expires = tonumber(share.expires)
local meta = share.meta
local left = tonumber(share.left) - 1
local deadline = math.min(expires, now + tonumber(ARGV[6]))
redis.call('ZADD', KEYS[3], ms(deadline), ARGV[5])
redis.call('PEXPIREAT', KEYS[3], share.expires)
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
return {'ok', share.size, share.chunk_size, share.chunks, ms(deadline), meta}
