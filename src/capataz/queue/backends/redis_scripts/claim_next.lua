-- claim_next(P, finished token or "", now, lease_expires_at, nonce, worker, n,
--            [marker name, value] * n, queue...)
-- -> JSON [completed (1 or 0), 1, the store's markers as name, value...] when the markers
--    are not the n given: nothing is reserved, so the worker sees a restart or pause first;
-- -> JSON [completed, 0, 8 fields of the next job, if any] otherwise.
-- One round trip per job. The answer is one JSON string, not a list: a client without a
-- C parser reads one bulk string far faster than ten.
local done, handed = 1, nil
if ARGV[2] ~= '' then
    done, handed = complete(ARGV[2], true)
end
local n = tonumber(ARGV[7])
if not markers_are(8, n) then
    if handed then
        redis.call('HINCRBY', RUNNING, handed, -1)
    end
    local out = redis.call('HGETALL', MARKERS)
    table.insert(out, 1, 1)
    table.insert(out, 1, done)
    return cjson.encode(out)
end
-- The markers are the ones given, so they tell which queues are paused.
local paused = {}
for i = 8, 6 + 2 * n, 2 do
    local queue = string.match(ARGV[i], '^pause:(.*)$')
    if queue then
        paused[queue] = true
    end
end
local next_job = claim(ARGV[3], ARGV[6], ARGV[4], 1, 5, 8 + 2 * n, paused, handed)
table.insert(next_job, 1, 0)
table.insert(next_job, 1, done)
return cjson.encode(next_job)
