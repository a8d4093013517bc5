-- wrk script: each request asks for a path picked at random from a file (one path per line, given after
-- "--"), with the headers given by -H. Used by bench/exchange.py for both servers alike.
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
