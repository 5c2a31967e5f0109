-- failed_get(P, id_or_uuid) -> the 7 fields of one failed job, or an empty list
local key = ARGV[2]
local row = nil
if string.match(key, '^%d+$') then
    row = failed_row(key)
end
if not row then
    local id = redis.call('HGET', k('failed_uuid'), key)
    if id then
        row = failed_row(id)
    end
end
return row or {}
