// Basemaps in another datum than WGS 84: Amap (GCJ-02) and Baidu (BD-09). One Leaflet CRS per
// datum whose projection shifts WGS 84 to the basemap's datum before its Mercator, so EVERY
// overlay (markers, GeoJSON grids, tracks, drawn shapes) lands where the basemap shows the place,
// and every click, drag or edit comes back to the page as WGS 84 (the inverse is iterative, well
// under 1 cm). Vector tiles are drawn by tile, not by vertex, so gridgis-tiles.js asks the
// server for tiles already in the map's datum (?datum=, see layers/tiles.py).
// The same transforms in Python: gis/crs.py and gis/display_planes.py (the tests compare both).
// Needs Leaflet; load after gridgis-common.js (it adds GridGIS.datum).
//
//   L.map(id, GridGIS.datum.mapOptions("gcj02", {maxZoom: 19}))  // {crs: L.CRS.GridgisGCJ02, ...}
//   GridGIS.datum.addBasemap(map, tiles)  // tiles: [{url, attribution, subdomains, max_zoom}]
//   GridGIS.datum.of(map)                 // "wgs84" | "gcj02" | "bd09"
//   GridGIS.datum.toPlane("bd09", lon, lat) / fromPlane(...)  // [x, y] metres / [lon, lat]
//
// CRSs: L.CRS.GridgisGCJ02 is Web Mercator of the GCJ-02 point: Amap's tiles use the usual
// z/x/y quad. L.CRS.GridgisBD09 is Baidu Mercator (BD-09MC, Baidu's polynomial) of the BD-09
// point, 2^(18-z) m per pixel, tile origin at BD-09MC (0, 0) with y counted northwards: the map's
// world starts at the equator (Baidu has no tiles south of it we would show), so Leaflet's "-y"
// (and tms) is Baidu's y. Tianditu and intranet XYZ servers keep Leaflet's EPSG3857 (no shift).
(function (global) {
  "use strict";

  var PI = Math.PI;
  var A = 6378245.0;                   // Krasovsky 1940, as the GCJ-02 algorithm uses
  var EE = 0.006693421622965943;  // 0.00669342162296594323, as a double
  var X_PI = PI * 3000.0 / 180.0;
  var TOLERANCE_DEG = 1e-10;           // ~0.01 mm, as gis/crs.py
  var MAX_ITER = 30;
  var R = 6378137;                     // Web Mercator sphere
  var MAX_LAT = 85.0511287798066;

  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  function dLat(x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return r;
  }

  function dLon(x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return r;
  }

  function wgsToGcj(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var la = dLat(lon - 105.0, lat - 35.0);
    var lo = dLon(lon - 105.0, lat - 35.0);
    var rad = lat / 180.0 * PI;
    var magic = 1.0 - EE * Math.sin(rad) * Math.sin(rad);
    var sq = Math.sqrt(magic);
    la = (la * 180.0) / ((A * (1.0 - EE)) / (magic * sq) * PI);
    lo = (lo * 180.0) / (A / sq * Math.cos(rad) * PI);
    return [lon + lo, lat + la];
  }

  function gcjToBd(lon, lat) {
    var z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
    var t = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
    return [z * Math.cos(t) + 0.0065, z * Math.sin(t) + 0.006];
  }

  // Solve forward(p) = target by x <- x - (forward(x) - target), as gis/crs.py _invert.
  function invert(forward, lon, lat, start) {
    var x = start[0];
    var y = start[1];
    for (var i = 0; i < MAX_ITER; i++) {
      var f = forward(x, y);
      var ex = f[0] - lon;
      var ey = f[1] - lat;
      x -= ex;
      y -= ey;
      if (Math.abs(ex) < TOLERANCE_DEG && Math.abs(ey) < TOLERANCE_DEG) { break; }
    }
    return [x, y];
  }

  function gcjToWgs(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    return invert(wgsToGcj, lon, lat, [lon, lat]);
  }

  function bdToGcj(lon, lat) {
    var x = lon - 0.0065;
    var y = lat - 0.006;
    var z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
    var t = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
    return invert(gcjToBd, lon, lat, [z * Math.cos(t), z * Math.sin(t)]);
  }

  function wgsToBd(lon, lat) { var g = wgsToGcj(lon, lat); return gcjToBd(g[0], g[1]); }
  function bdToWgs(lon, lat) { var g = bdToGcj(lon, lat); return gcjToWgs(g[0], g[1]); }

  // --- Baidu Mercator (BD-09MC): Baidu's LL2MC polynomial by latitude band ----------------------
  var LLBAND = [75, 60, 45, 30, 15, 0];
  var LL2MC = [
    [-0.0015702102444, 111320.7020616939, 1704480524535203, -1.033898737604234e16,
      2.611266785660388e16, -3.51496691766537e16, 2.659570071840392e16, -1.072501245418824e16,
      1800819912950474, 82.5],
    [0.0008277824516172526, 111320.7020463578, 647795574.6671607, -4082003173.641316,
      10774905663.51142, -15171875531.51559, 12053065338.62167, -5124939663.577472,
      913311935.9512032, 67.5],
    [0.00337398766765, 111320.7020202162, 4481351.045890365, -23393751.19931662,
      79682215.47186455, -115964993.2797253, 97236711.15602145, -43661946.33752821,
      8477230.501135234, 52.5],
    [0.00220636496208, 111320.7020209128, 51751.86112841131, 3796837.749470245,
      992013.7397791013, -1221952.21711287, 1340652.697009075, -620943.6990984312,
      144416.9293806241, 37.5],
    [-0.0003441963504368392, 111320.7020576856, 278.2353980772752, 2485758.690035394,
      6070.750963243378, 54821.18345352118, 9540.606633304236, -2710.55326746645,
      1405.483844121726, 22.5],
    [-0.0003218135878613132, 111320.7020701615, 0.00369383431289, 823725.6402795718,
      0.46104986909093, 2351.343141331292, 1.58060784298199, 8.77738589078284,
      0.37238884252424, 7.45],
  ];
  var BAIDU_MAX_LAT = 74;

  function band(absLat) {
    for (var i = 0; i < LLBAND.length; i++) {
      if (absLat >= LLBAND[i]) { return LL2MC[i]; }
    }
    return LL2MC[LL2MC.length - 1];
  }

  function baiduY(absLat, c) {
    var d = absLat / c[9];
    var y = 0;
    for (var k = 6; k >= 0; k--) { y = y * d + c[2 + k]; }
    return y;
  }

  function bdToBaiduMercator(lon, lat) {
    lat = Math.max(-BAIDU_MAX_LAT, Math.min(BAIDU_MAX_LAT, lat));
    lon = ((lon + 180) % 360 + 360) % 360 - 180;
    var c = band(Math.abs(lat));
    var x = c[0] + c[1] * Math.abs(lon);
    var y = baiduY(Math.abs(lat), c);
    return [lon < 0 ? -x : x, lat < 0 ? -y : y];
  }

  function baiduMercatorToBd(x, y) {
    var ay = Math.abs(y);
    var scale = LL2MC[0][1] * 180.0 / PI;
    var lat = Math.atan(Math.sinh(ay / scale)) * 180 / PI;
    for (var i = 0; i < MAX_ITER; i++) {
      var c = band(lat);
      var f = baiduY(lat, c) - ay;
      var h = 1e-7;
      var slope = (baiduY(lat + h, c) - baiduY(lat - h, c)) / (2 * h);
      lat = Math.max(0, Math.min(BAIDU_MAX_LAT, lat - f / slope));
      if (Math.abs(f) < 1e-6) { break; }
    }
    var cb = band(lat);
    var lon = (Math.abs(x) - cb[0]) / cb[1];
    return [x < 0 ? -lon : lon, y < 0 ? -lat : lat];
  }

  function toWebMercator(lon, lat) {
    lat = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
    return [R * lon * PI / 180, R * Math.log(Math.tan(PI / 4 + lat * PI / 360))];
  }

  function fromWebMercator(x, y) {
    return [x / R * 180 / PI, (2 * Math.atan(Math.exp(y / R)) - PI / 2) * 180 / PI];
  }

  var PLANES = {
    wgs84: {
      to: toWebMercator,
      from: fromWebMercator,
    },
    gcj02: {
      to: function (lon, lat) { var g = wgsToGcj(lon, lat); return toWebMercator(g[0], g[1]); },
      from: function (x, y) { var g = fromWebMercator(x, y); return gcjToWgs(g[0], g[1]); },
    },
    bd09: {
      to: function (lon, lat) { var b = wgsToBd(lon, lat); return bdToBaiduMercator(b[0], b[1]); },
      from: function (x, y) { var b = baiduMercatorToBd(x, y); return bdToWgs(b[0], b[1]); },
    },
  };

  function plane(datum) {
    var p = PLANES[datum];
    if (!p) { throw new Error("basemap datum " + datum + " is not one of wgs84, gcj02, bd09"); }
    return p;
  }

  function toPlane(datum, lon, lat) { return plane(datum).to(lon, lat); }
  function fromPlane(datum, x, y) { return plane(datum).from(x, y); }

  // A Leaflet projection: WGS 84 LatLng <-> the datum's plane.
  function projection(datum, bounds) {
    var p = plane(datum);
    return {
      bounds: bounds,
      project: function (latlng) { var xy = p.to(latlng.lng, latlng.lat); return L.point(xy[0], xy[1]); },
      unproject: function (point) { var ll = p.from(point.x, point.y); return L.latLng(ll[1], ll[0]); },
    };
  }

  var HALF = PI * R;
  var crsByDatum = {wgs84: L.CRS.EPSG3857};
  crsByDatum.gcj02 = L.CRS.GridgisGCJ02 = L.extend({}, L.CRS.EPSG3857, {
    code: "GRIDGIS:GCJ02",
    gridgisDatum: "gcj02",
    projection: projection("gcj02", L.bounds([-HALF, -HALF], [HALF, HALF])),
  });
  var BAIDU_HALF = 33554432;  // 2^25 m: beyond Baidu Mercator's world
  crsByDatum.bd09 = L.CRS.GridgisBD09 = L.extend({}, L.CRS.Earth, {
    code: "GRIDGIS:BD09",
    gridgisDatum: "bd09",
    projection: projection("bd09", L.bounds([-BAIDU_HALF, 0], [BAIDU_HALF, BAIDU_HALF])),
    transformation: new L.Transformation(1, 0, -1, 0),
    scale: function (zoom) { return Math.pow(2, zoom - 18); },
    zoom: function (scale) { return Math.log(scale) / Math.LN2 + 18; },
    wrapLng: null,
    infinite: false,
  });

  function crs(datum) {
    var c = crsByDatum[datum || "wgs84"];
    if (!c) { throw new Error("basemap datum " + datum + " is not one of wgs84, gcj02, bd09"); }
    return c;
  }

  // The datum of a map's CRS ("wgs84" for Leaflet's own).
  function of(map) {
    return (map && map.options.crs && map.options.crs.gridgisDatum) || "wgs84";
  }

  function mapOptions(datum, options) {
    return L.extend({}, options || {}, {crs: crs(datum)});
  }

  // Tile layers of the configured basemap (api/pages: Basemap.tile_config()), under everything.
  function addBasemap(map, tiles, options) {
    var baidu = of(map) === "bd09";
    return (tiles || []).map(function (t) {
      var opts = L.extend({attribution: t.attribution, maxNativeZoom: t.max_zoom}, options || {});
      if (t.subdomains) { opts.subdomains = t.subdomains; }
      if (baidu) { opts.tms = true; }  // Baidu numbers tile rows northwards (see above)
      return L.tileLayer(t.url, opts).addTo(map);
    });
  }

  var api = {
    wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs, gcjToBd: gcjToBd, bdToGcj: bdToGcj,
    wgsToBd: wgsToBd, bdToWgs: bdToWgs,
    bdToBaiduMercator: bdToBaiduMercator, baiduMercatorToBd: baiduMercatorToBd,
    toPlane: toPlane, fromPlane: fromPlane, crs: crs, of: of, mapOptions: mapOptions,
    addBasemap: addBasemap,
  };
  if (global.GridGIS) { global.GridGIS.datum = api; }
})(window);
