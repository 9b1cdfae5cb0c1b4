-- Admit (or only check) a share against one sender's stored-bytes quota, in one step.
-- KEYS[1] hash share id -> ciphertext bytes, KEYS[2] sorted set share id -> expiry ms; both
-- carry the sender bucket's hash tag, so this runs on one Redis Cluster slot (not the share's).
-- ARGV: mode ('check' | 'add'), byte quota (0: none), share cap (0: none), size, share id,
-- expiry ms, then ids of shares the caller found gone (consumed, deleted, abandoned, expired).
local sizes, expiries = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local quota, cap, size = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local function release(id)
  redis.call('HDEL', sizes, id)
  redis.call('ZREM', expiries, id)
end

-- Nothing outlives its expiry, so an entry past it holds no bytes any more.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', now)) do
  release(id)
end
for i = 7, #ARGV do
  release(ARGV[i])
end

local used = 0
for _, value in ipairs(redis.call('HVALS', sizes)) do
  used = used + tonumber(value)
end
local count = redis.call('ZCARD', expiries)

local function fits(bytes, shares)
  return (quota == 0 or bytes + size <= quota) and (cap == 0 or shares + 1 <= cap)
end

if not fits(used, count) then
  -- When will room free up at the latest? Walk the shares by expiry until the new one fits.
  local free_at, bytes, shares = -1, used, count
  local held = redis.call('ZRANGE', expiries, 0, -1, 'WITHSCORES')
  for i = 1, #held, 2 do
    bytes = bytes - tonumber(redis.call('HGET', sizes, held[i]) or '0')
    shares = shares - 1
    if fits(bytes, shares) then
      free_at = tonumber(held[i + 1])
      break
    end
  end
  return {'full', string.format('%d', used), count, string.format('%d', free_at)}
end

if ARGV[1] == 'add' then
  redis.call('HSET', sizes, ARGV[5], size)
  redis.call('ZADD', expiries, ARGV[6], ARGV[5])
  -- The bucket lives as long as its longest share, and not a moment longer.
  local last = redis.call('ZRANGE', expiries, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', sizes, last[2])
  redis.call('PEXPIREAT', expiries, last[2])
  used, count = used + size, count + 1
end
return {'ok', string.format('%d', used), count}
