-- Hand the metadata blob to a claimant whose proofs hold; consumes nothing.
-- ARGV: access proof digest, password proof digest ('' for none), wrong-proof limit,
-- wrong-proof window ms.
local share = load_share()
local refusal = check_proofs(share, ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
if refusal then
  return refusal
end
return {'ok', share.meta}
