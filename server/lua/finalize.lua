-- Check every chunk is present at its exact length, then open the share. ARGV: owner digest.
local s, refusal = load_for_owner(ARGV[1], 'size', 'chunk_size', 'chunks', 'expires')
if not s then
  return refusal
end
if s[1] == 'ready' then
  return {'ok'}
end
if s[1] ~= 'uploading' then
  return {'not_uploading', s[1]}
end
local size, chunk_size, chunks = tonumber(s[3]), tonumber(s[4]), tonumber(s[5])
local missing = {'incomplete'}
for i = 0, chunks - 1 do
  local name = redis.call('HGET', KEYS[2], 'n' .. i)
  if not name or redis.call('HSTRLEN', KEYS[2], name) ~= chunk_length(i, size, chunk_size, chunks) then
    missing[#missing + 1] = ms(i)
    if #missing > 100 then
      break
    end
  end
end
if #missing > 1 then
  return missing
end
redis.call('HSET', KEYS[1], 'state', 'ready', 'ready_at', ms(now_ms()))
redis.call('PEXPIREAT', KEYS[1], s[6])
redis.call('PEXPIREAT', KEYS[2], s[6])
return {'ok'}
