-- Delete a share early on its owner's word, leaving a tombstone. ARGV: owner digest.
local s, refusal = load_for_owner(ARGV[1])
if not s then
  return refusal
end
-- The claims set stays (it expires with the share), so a claimant cut off mid-fetch is told
-- the share was deleted rather than that its ticket is unknown.
redis.call('UNLINK', KEYS[2], KEYS[4])
if s[1] ~= 'deleted' then
  redis.call('HSET', KEYS[1], 'state', 'deleted', 'deleted_at', ms(now_ms()))
  strip_to_tombstone(KEYS[1])
end
return {'ok'}
