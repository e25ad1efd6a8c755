math.randomseed(42)
local token = os.getenv("GRIDGIS_TOKEN")
request = function()
  local lon = 120.00 + math.random() * 0.58
  local lat = 31.70 + math.random() * 0.28
  local path = string.format("/api/v1/locate?lon=%.6f&lat=%.6f", lon, lat)
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
