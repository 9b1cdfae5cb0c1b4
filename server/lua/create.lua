-- Create a share in state "uploading". ARGV: expiry ms, upload idle ms, then field/value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
local now = now_ms()
local expires = now + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'uploading', 'created', ms(now), 'expires', ms(expires),
  unpack(ARGV, 3))
-- An upload nobody finishes is dropped after the idle window, not kept until expiry.
redis.call('PEXPIREAT', KEYS[1], ms(math.min(expires, now + tonumber(ARGV[2]))))
return {'ok', ms(expires)}
