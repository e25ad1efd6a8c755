request = function() return wrk.format("GET", "/livez") end
