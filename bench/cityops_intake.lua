-- wrk script for bench/cityops_intake.py: every request is one report (POST /api/v1/cityops/reports) at a
-- random point inside a random grid, of a random category, from a random intake channel, so that grid
-- assignment, routing and the duplicate check all run. The file given after "--" holds one line per grid
-- ("west south size", WGS-84 degrees) and one line per category ("category <key>").
local grids, categories = {}, {}
local channels = {"hotline", "grid", "sensor", "drone", "video", "open311"}

function init(args)
  for line in io.lines(args[1]) do
    local key = line:match("^category (%S+)")
    if key then
      categories[#categories + 1] = key
    else
      local w, s, size = line:match("^(%S+) (%S+) (%S+)")
      grids[#grids + 1] = {tonumber(w), tonumber(s), tonumber(size)}
    end
  end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local g = grids[math.random(#grids)]
  local lng = g[1] + g[3] * (0.02 + 0.96 * math.random())
  local lat = g[2] + g[3] * (0.02 + 0.96 * math.random())
  local body = string.format(
    '{"category":"%s","location":{"lng":%.7f,"lat":%.7f,"crs":"wgs84"},"description":"bench"}',
    categories[math.random(#categories)], lng, lat)
  return wrk.format("POST", "/api/v1/cityops/reports?channel=" .. channels[math.random(#channels)], nil, body)
end
