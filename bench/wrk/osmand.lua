local key = os.getenv("GRIDGIS_DEVICE_KEY")
local device = os.getenv("GRIDGIS_DEVICE")
local n = 0
local t0 = tonumber(os.getenv("GRIDGIS_T0"))
request = function()
  n = n + 1
  local lon = 120.25 + (n % 1000) * 0.00001
  local path = string.format(
    "/api/v1/ingest/osmand?id=%s&key=%s&lat=31.900000&lon=%.6f&timestamp=%d&accuracy=5",
    device, key, lon, t0 * 1000 + n * 7 + math.random(0, 6))
  return wrk.format("GET", path)
end
