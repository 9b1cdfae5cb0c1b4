-- Record that a claim's fetch reached the last byte; delete the ciphertext once no claim needs it.
-- ARGV: ticket digest.
local now = now_ms()
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return {'ticket_invalid'}
end
-- ZREM may run when Redis is over maxmemory; once a script has written, Redis lets it finish.
redis.call('ZREM', KEYS[3], ARGV[1])
-- Claims whose idle window passed are abandoned: they no longer hold the ciphertext.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ms(now - 1))
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'completed', 1)
  redis.call('HSET', KEYS[1], 'last_complete', ms(now))
end
if redis.call('HGET', KEYS[1], 'state') ~= 'ready' and redis.call('ZCARD', KEYS[3]) == 0 then
  redis.call('UNLINK', KEYS[2], KEYS[3])
  return {'ok', 'deleted'}
end
return {'ok', 'kept'}
