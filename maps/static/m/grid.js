// GridGIS officer app: my grid. The boundary of MY grids only (/api/v1/grids/{code}), my
// position (Geolocation, with its accuracy), the households and open events of my grids
// (/api/v1/me/grid), my patrol time and distance today (/api/v1/patrol/daily?person=) and
// today's coverage of each unit grid (/api/v1/coverage/grids/{code}; "—" before the day's
// first coverage run). The service worker keeps the last answers for offline use.
(function (global) {
  "use strict";

  var M = global.GridGISMobile;
  var doc = global.document;
  var map = null, me = null, meCircle = null, watch = null, events = null;
  var ME_PANE = "ggm-me";  // my position's pane (z-index 650: above overlays 400, markers 600)
  var shapes = null;  // Promise<[GeoJSON Feature]>: my grids' boundaries, read once
  // the reference outlines under my grids: villages from the city view, unit grids closer in
  var REFERENCE = [
    {layer: "grids-l2", min_zoom: 10, style: {color: "#6b7280", weight: 1.5, fill: false}},
    {layer: "grids-l3", min_zoom: 14, style: {color: "#9ca3af", weight: 1, fill: false}},
  ];

  function $(id) { return doc.getElementById(id); }

  // makeMap(id): a Leaflet map on the configured basemap (maps/basemaps.py, as every page;
  // none by default: an intranet may have none), the city's villages and unit grids around as
  // thin outlines from the server's vector tiles (/tiles/grids-l2|l3, as the front page draws
  // them; kept by the service worker once seen), then my grids on top. The zoom buttons speak
  // the page's language (title and aria-label); the attribution names the basemap's sources
  // only (no English "Leaflet" prefix on the Chinese page).
  // An Amap (GCJ-02) or Baidu (BD-09) basemap gives the map its datum's CRS (gridgis-datum.js):
  // every overlay is shifted for display, a tap comes back in WGS 84, and the outline tiles are
  // asked for in that datum (and Baidu's row numbering), as gridgis-tiles.js does.
  M.makeMap = function (id) {
    var datum = M.config.datum || "wgs84";
    var map = L.map(id, global.GridGIS.datum.mapOptions(datum,
      {zoomControl: false, attributionControl: true, maxZoom: 19})).setView([31.85, 120.3], 11);
    L.control.zoom({zoomInTitle: M.t("zoom_in"), zoomOutTitle: M.t("zoom_out")}).addTo(map);
    map.attributionControl.setPrefix(false);
    global.GridGIS.datum.addBasemap(map, M.config.tiles, {maxZoom: 19});
    var shifted = datum === "wgs84" ? "" : "?datum=" + encodeURIComponent(datum);
    var row = datum === "bd09" ? "{-y}" : "{y}";
    if (L.vectorGrid) {
      REFERENCE.forEach(function (ref) {
        var styles = {};
        styles[ref.layer] = ref.style;
        L.vectorGrid.protobuf("/tiles/" + ref.layer + "/{z}/{x}/" + row + ".mvt" + shifted, {
          vectorTileLayerStyles: styles, rendererFactory: L.canvas.tile, interactive: false,
          fetchOptions: {credentials: "same-origin"}, maxNativeZoom: 18, minZoom: ref.min_zoom,
          className: "ggm-reference", pane: "overlayPane",  // above the basemap's tiles
        }).addTo(map);
      });
    }
    return map;
  };

  function loadShapes() {
    if (!shapes) {
      shapes = M.gridInfo().then(function (info) {
        return Promise.all(info.grids.map(function (g) {
          return M.get("/api/v1/grids/" + encodeURIComponent(g.code)).catch(function () { return null; });
        }));
      }).then(function (features) { return features.filter(Boolean); });
      shapes.catch(function () { shapes = null; });
    }
    return shapes;
  }

  var info = null;
  M.gridInfo = function (force) {
    if (!info || force) {
      info = M.get(M.inLang("/api/v1/me/grid"));
      info.catch(function () { info = null; });
    }
    return info;
  };

  // drawMyGrids(map): my grids' boundaries on a map, zoomed to them, once; offline with
  // nothing kept it draws nothing (no uncaught error) and tries again at the next call
  M.drawMyGrids = function (target) {
    if (target.ggmGridsDrawn) { return Promise.resolve(); }
    return loadShapes().then(function (features) {
      if (!features.length || target.ggmGridsDrawn) { return; }
      target.ggmGridsDrawn = true;
      var layer = L.geoJSON({type: "FeatureCollection", features: features}, {
        style: {color: "#0b2e59", weight: 2, fillColor: "#f0a030", fillOpacity: 0.08},
        interactive: false,
      }).addTo(target);
      target.fitBounds(layer.getBounds(), {padding: [12, 12], animate: false});
    }, function () { /* no answer and nothing kept: drawn when the network returns */ });
  };

  // The latest fix of the watch (My grid tab): {coords: {latitude, longitude, accuracy},
  // at: ms since the epoch when it came}; "Use my position" takes it while fresh (report.js)
  // instead of asking the phone for a second fix at the same time.
  M.lastFix = null;
  M.FIX_FRESH_MS = 30000;

  function showMe(pos) {
    M.lastFix = {coords: {latitude: pos.coords.latitude, longitude: pos.coords.longitude,
      accuracy: pos.coords.accuracy}, at: Date.now()};
    var ll = [pos.coords.latitude, pos.coords.longitude];
    if (!me) {
      // my position on top of everything drawn on the map (its own pane above the event dots
      // and the markers), a blue dot in a white ring, unlike the events' red circles; its
      // accuracy circle stays under the dots and lets taps through
      if (!map.getPane(ME_PANE)) { map.createPane(ME_PANE).style.zIndex = 650; }
      me = L.marker(ll, {pane: ME_PANE, interactive: false, keyboard: false,
        title: M.t("my_position"), alt: M.t("my_position"),
        icon: L.divIcon({className: "ggm-me-marker", iconSize: [22, 22], iconAnchor: [11, 11]}),
      }).addTo(map);
      meCircle = L.circle(ll, {radius: pos.coords.accuracy, weight: 1, color: "#1a73e8",
        fillOpacity: 0.08, interactive: false}).addTo(map);
    } else {
      me.setLatLng(ll);
      meCircle.setLatLng(ll).setRadius(pos.coords.accuracy);
    }
  }

  function locate(centre) {
    if (!global.navigator.geolocation) { return; }
    if (watch === null) {
      watch = global.navigator.geolocation.watchPosition(showMe, function () { /* no fix yet */ },
        {enableHighAccuracy: true, maximumAge: 15000});
    }
    if (centre) {
      global.navigator.geolocation.getCurrentPosition(function (pos) {
        showMe(pos);
        map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 16));
      }, function () { /* no fix */ }, {enableHighAccuracy: true, timeout: 20000});
    }
  }

  function stats(data) {
    $("stat-households").textContent = String(data.households || 0);
    $("stat-open").textContent = String(data.open_events || 0);  // my grids' own
    // cases rerouted to me from outside my grids: counted and listed apart
    var features = (data.events && data.events.features) || [];
    var rerouted = features.filter(function (f) { return f.properties.in_grid === false; });
    ["stat-rerouted-label", "stat-rerouted", "rerouted-title", "rerouted-list"].forEach(function (id) {
      $(id).hidden = !rerouted.length;
    });
    $("stat-rerouted").textContent = String(rerouted.length);
    var away = $("rerouted-list");
    away.textContent = "";
    rerouted.forEach(function (f) {
      var p = f.properties;
      var li = M.el("li", "ggm-task", "#" + p.id + " " + (M.subclassName(p.subclass) ||
        p.subclass_name) + " · " + M.t("status_" + p.status));
      li.dataset.id = p.id;
      away.appendChild(li);
    });
    var list = $("grid-list");
    list.textContent = "";
    if (!data.grids.length) { list.appendChild(M.el("li", "ggm-empty", M.t("no_grid"))); }
    data.grids.forEach(function (g) {
      list.appendChild(M.el("li", null, g.code + " " + (g.name || "") + " · " + M.t("households") +
        " " + g.households));
    });
    if (events) { events.remove(); }
    events = L.layerGroup().addTo(map);
    features.forEach(function (f) {
      var c = f.geometry.coordinates;
      var colour = f.properties.in_grid === false ? "#8a4b00" : "#c0392b";  // rerouted: brown
      L.circleMarker([c[1], c[0]], {radius: 6, color: colour, weight: 2, fillOpacity: 0.6})
        .bindPopup(M.el("span", null, "#" + f.properties.id + " " +
          (M.subclassName(f.properties.subclass) || f.properties.subclass_name) +
          " · " + M.t("status_" + f.properties.status)))
        .addTo(events);
    });
  }

  function patrol() {
    if (!M.me || M.me.person_id === null) { return; }
    M.get("/api/v1/patrol/daily?person=" + M.me.person_id).then(function (answer) {
      var seconds = 0, metres = 0;
      answer.data.forEach(function (row) {
        seconds += row.patrol_time_s || 0;
        metres += row.mileage_m || 0;
      });
      $("stat-patrol").textContent = M.t("hours_minutes",
        {h: Math.floor(seconds / 3600), m: Math.floor((seconds % 3600) / 60)});
      $("stat-mileage").textContent = M.t("km", {km: (metres / 1000).toFixed(1)});
    }, function () { /* keeps "—" */ });
  }

  function coverage(data) {
    var units = data.grids.filter(function (g) { return g.code.length === 15; });
    if (!units.length) { return; }
    Promise.all(units.map(function (g) {
      return M.get("/api/v1/coverage/grids/" + g.code + "?date=" + M.today())
        .catch(function () { return null; });
    })).then(function (rows) {
      var shares = rows.filter(function (r) { return r && r.h3_share !== null; })
        .map(function (r) { return r.h3_share; });
      if (!shares.length) { return; }
      var mean = shares.reduce(function (a, b) { return a + b; }, 0) / shares.length;
      $("stat-coverage").textContent = global.GridGIS.pct(mean);
    });
  }

  // prefetch(): my grids and their boundaries, read at start (kept by the service worker)
  M.prefetchGrid = function () {
    return loadShapes().catch(function () { return []; });
  };

  // showGrid(): called each time the tab opens; the figures are read again each time
  M.showGrid = function () {
    if (!map) {
      map = M.makeMap("grid-map");
      M.drawMyGrids(map);
      $("locate-me").addEventListener("click", function () { locate(true); });
    } else {
      map.invalidateSize();
      M.drawMyGrids(map);  // (drawn once; offline at the first visit: now)
    }
    M.gridInfo(true).then(function (data) { stats(data); coverage(data); }, function () { /* offline */ });
    patrol();
    locate(false);
  };
})(window);
