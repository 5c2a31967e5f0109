-- claim(P, now, worker, lease_expires_at, limit, nonce * limit, queue...) -> 8 fields per job
-- (see claim() in _lib.lua)
local limit = tonumber(ARGV[5])
return claim(ARGV[2], ARGV[3], ARGV[4], limit, 6, 6 + limit)
