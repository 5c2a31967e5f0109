-- delete_marker(P, name) -> 1 if it existed; idle workers are woken to see it gone
local gone = redis.call('HDEL', k('markers'), ARGV[2])
if gone == 1 then
    wake()
end
return gone
