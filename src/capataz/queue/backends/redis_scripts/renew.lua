-- renew(P, token, lease_expires_at) -> 1 if the token still holds its job, else 0
local m, job = held(ARGV[2])
if not m then
    return 0
end
redis.call('HSET', job, 'lease_expires_at', ARGV[3])
redis.call('ZADD', k('leases'), ARGV[3], m)
return 1
