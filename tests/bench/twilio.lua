-- wrk: replays pre-signed Twilio callbacks from $RT_BENCH_REQS ("sig\tbody" lines), each once.
local reqs = {}
local i = 0
local path = os.getenv("RT_BENCH_PATH")
for line in io.lines(os.getenv("RT_BENCH_REQS")) do
  local sig, body = line:match("^([^\t]+)\t(.*)$")
  reqs[#reqs + 1] = wrk.format("POST", path, {["X-Twilio-Signature"] = sig,
    ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
local bad = 0
response = function(status)
  if status ~= 200 then bad = bad + 1 end
end
done = function()
  io.write(string.format("non-200 responses: %d\n", bad))
end
