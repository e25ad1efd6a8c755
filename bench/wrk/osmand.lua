-- Traccar Client / OsmAnd single fixes, as a fleet of phones sends them: each request is the
-- next fix of the next device of GRIDGIS_DEVICES ("id,key;id,key;..."), with strictly
-- increasing times per device (a new fix every request, never a duplicate).
local devices = {}
for id, key in string.gmatch(os.getenv("GRIDGIS_DEVICES"), "([^,;]+),([^;]+)") do
  devices[#devices + 1] = {id, key}
end
local n = 0
local t0 = tonumber(os.getenv("GRIDGIS_T0"))
request = function()
  n = n + 1
  local d = devices[(n % #devices) + 1]
  local lon = 120.25 + (n % 1000) * 0.00001
  local path = string.format(
    "/api/v1/ingest/osmand?id=%s&key=%s&lat=31.900000&lon=%.6f&timestamp=%d&accuracy=5",
    d[1], d[2], lon, t0 * 1000 + n * 7 + math.random(0, 6))
  return wrk.format("GET", path)
end
