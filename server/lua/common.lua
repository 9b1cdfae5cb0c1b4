-- Shared prelude, prepended to every script by server/store.py.
-- KEYS[1] share hash, KEYS[2] chunk hash, KEYS[3] claim set, KEYS[4] wrong-proof counter:
-- one hash tag, so every script runs on one Redis Cluster slot.

-- Redis's clock, not the app's: several app instances then agree on every deadline.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function ms(n)
  return string.format('%d', n)
end

-- Compare two verifier digests without an early exit, so timing says nothing about them.
local function ct_eq(a, b)
  if type(a) ~= 'string' or type(b) ~= 'string' or #a ~= #b then
    return false
  end
  local diff = 0
  for i = 1, #a do
    diff = bit.bor(diff, bit.bxor(string.byte(a, i), string.byte(b, i)))
  end
  return diff == 0
end

-- Expected byte length of chunk `idx` (0-based) of a share of `size` bytes.
local function chunk_length(idx, size, chunk_size, chunks)
  if idx < chunks - 1 then
    return chunk_size
  end
  return size - (chunks - 1) * chunk_size
end

-- Remove the secrets a finished share no longer needs, keeping the tombstone fields.
local function strip_to_tombstone(share)
  redis.call('HDEL', share, 'verifier', 'meta', 'pw_salt', 'pw_iter')
end

-- Let the chunk hash live as long as the longest active claim (the share's expiry at most).
local function extend_data_to_claims(data, claims, expires)
  local last = redis.call('ZRANGE', claims, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', data, ms(math.min(expires, tonumber(last[2]))))
  end
end
