-- set_marker(P, name, value): set a worker marker and wake idle workers to see it
redis.call('HSET', k('markers'), ARGV[2], ARGV[3])
wake()
return 1
