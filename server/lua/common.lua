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
  redis.call('HDEL', share, 'verifier', 'meta', 'pw_salt', 'pw_iter', 'pw_verifier')
end

-- Read the share's state, owner and the fields named, for its owner only: return them, or nil
-- and the refusal (an unknown share, a wrong owner digest). Every owner's script starts here.
local function load_for_owner(owner_digest, ...)
  local s = redis.call('HMGET', KEYS[1], 'state', 'owner', ...)
  if not s[1] then
    return nil, {'not_found'}
  end
  if not ct_eq(s[2], owner_digest) then
    return nil, {'owner_forbidden'}
  end
  return s
end

-- Let the chunk hash live as long as the longest active claim (the share's expiry at most).
local function extend_data_to_claims(data, claims, expires)
  local last = redis.call('ZRANGE', claims, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', data, ms(math.min(expires, tonumber(last[2]))))
  end
end

-- The share's fields a proof check needs, by name (false for a field the hash lacks).
local PROOF_FIELDS = {'state', 'v', 'verifier', 'pw_verifier', 'pw_salt', 'expires', 'meta'}
local function load_share(extra)
  local names = {unpack(PROOF_FIELDS)}
  for _, name in ipairs(extra or {}) do
    names[#names + 1] = name
  end
  local values = redis.call('HMGET', KEYS[1], unpack(names))
  local share = {}
  for i, name in ipairs(names) do
    share[name] = values[i]
  end
  return share
end

-- Count one wrong password proof in the share's window; return the refusal with attempts left.
local function count_failure(share, code, limit, window)
  local failures = redis.call('INCR', KEYS[4])
  if failures == 1 then
    redis.call('PEXPIREAT', KEYS[4], ms(math.min(tonumber(share.expires), now_ms() + window)))
  end
  return {code, ms(limit - failures)}
end

-- The lock: after `limit` wrong password proofs within the window, the share refuses unlock
-- AND claim until the window passes, even for the right password. Both routes check the
-- password proof, so leaving either open would let guessing go on at the per-address rate
-- limit alone (an attacker's addresses are many); the lock caps guesses at `limit` per window
-- for everyone. It never loses the share: nothing is consumed and the window lapses by itself.
-- Only a holder of the link's secret can trip it (the access proof comes first, and a wrong
-- one is never counted), so a recipient is locked out at worst by someone they gave the link.
local function lock_refusal(limit)
  local failures = tonumber(redis.call('GET', KEYS[4]) or '0')
  if failures >= limit then
    return {'locked', ms(math.max(redis.call('PTTL', KEYS[4]), 1))}
  end
  return nil
end

-- Check a claimant's proofs in the protocol's order; return nil when they hold, else the
-- refusal. Unlock and claim both call it, so the two routes can never disagree.
-- `access`, `password`: SHA-256 hex digests of the tokens sent ('' for none).
local function check_proofs(share, access, password, limit, window)
  if not share.state then
    return {'not_found'}
  end
  if share.state == 'uploading' then
    return {'not_ready'}
  end
  if share.state ~= 'ready' then
    return {'gone', share.state}
  end
  if share.v == '1' then
    -- Stored version 1 shares, served read-only as before: one proof binds secret and
    -- password, so every wrong one counts (and the lock comes first, as it always did).
    local lock = lock_refusal(limit)
    if lock then
      return lock
    end
    if not ct_eq(share.verifier, access) then
      return count_failure(share, share.pw_salt and 'password_invalid' or 'proof_invalid',
        limit, window)
    end
    return nil
  end
  -- The access proof first, never counted: whoever lacks the secret can lock nothing.
  if not ct_eq(share.verifier, access) then
    return {'proof_invalid'}
  end
  if not share.pw_verifier then
    return nil
  end
  local lock = lock_refusal(limit)
  if lock then
    return lock
  end
  if password == '' then
    return {'password_required'}
  end
  if not ct_eq(share.pw_verifier, password) then
    return count_failure(share, 'password_invalid', limit, window)
  end
  return nil
end
