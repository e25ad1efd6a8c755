// Grid, zone and coverage layers drawn from the server's vector tiles (/tiles/{layer}/{z}/{x}/{y}.mvt,
// made by PostGIS; see api/routes/tiles.py) with Leaflet.VectorGrid, so no page inlines the city.
// Needs gridgis-common.js (GridGIS) and Leaflet.VectorGrid.bundled (maps.assets "leaflet_vectorgrid").
//
//   var layer = GridGIS.tiles.addGridLayer(map, 3, {
//     style: {...},             // Leaflet path options of this level: pass maps.styles
//                               // LEVEL_STYLES[level].path_options() from the page builder
//     highlight: {...},         // path options of the clicked grid (LevelStyle.highlight_options())
//     params: {generation: 12}, // or {at: "2025-06-01"}; none: the active generation
//     onClick: function (properties, event) {...},  // {code, name, level, parent_code}
//   });
//   GridGIS.tiles.layer("zones", {style: ...}) / layer("coverage", {params: {date, method}})
//   make a layer without adding it (e.g. for a layer control).
//
// Tiles carry code, name, level, parent_code (grids); code, name, town_code, squad (zones);
// code, name, level, share_pct, method (coverage). A feature's id is its grid code, so one grid
// can be restyled (layer.setFeatureStyle(Number(code), style)). Tiles are fetched with the page's
// session cookie; an empty tile is 204. Leaflet.VectorGrid draws a failed tile as empty without
// telling, so the layer asks for its TileJSON through GridGIS.getJSON when it is added and at
// most once a minute after the map moves: an expired session or a server error is reported to
// the user the one way every page does. Test hook: layer.gridgisClicks counts clicks handled.
(function (G) {
  "use strict";

  // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop on a click on a canvas tile; Leaflet 1.8
  // removed it (a canvas's own events no longer reach the map: _leaflet_disable_events), so
  // without this no-op every click on a canvas-drawn grid throws a TypeError.
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () {}; }

  var NATIVE_MAX_ZOOM = 18;  // the TileJSON maxzoom: deeper zooms scale z18 tiles
  var PROBE_EVERY_MS = 60000;
  var WORDS = {
    zh: {tiles: "网格图层"},
    en: {tiles: "the grid layer"},
  };

  function query(params) {
    var q = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) {
      if (params[k] !== null && params[k] !== undefined && params[k] !== "") {
        q.set(k, String(params[k]));
      }
    });
    var s = q.toString();
    return s ? "?" + s : "";
  }

  // url("grids-l3", {generation: 12}) -> "/tiles/grids-l3/{z}/{x}/{y}.mvt?generation=12";
  // with datum "gcj02"/"bd09" (an Amap/Baidu basemap, gridgis-datum.js) the server sends tiles
  // already in that basemap's plane; Baidu numbers rows northwards: Leaflet's {-y}.
  function url(name, params, datum) {
    var p = L.extend({}, params || {});
    if (datum && datum !== "wgs84") { p.datum = datum; }
    var y = datum === "bd09" ? "{-y}" : "{y}";
    return "/tiles/" + encodeURIComponent(name) + "/{z}/{x}/" + y + ".mvt" + query(p);
  }

  function datumOf(map) { return G.datum ? G.datum.of(map) : "wgs84"; }

  function tileJsonUrl(name, params) {
    return "/tiles/" + encodeURIComponent(name) + ".json" + query(params);
  }

  // layer(name, options): an L.VectorGrid.Protobuf of one tile layer, not yet on a map.
  function layer(name, options) {
    var opts = options || {};
    var styles = {};
    styles[name] = opts.style || {};
    var grid = L.vectorGrid.protobuf(url(name, opts.params), {
      vectorTileLayerStyles: styles,
      rendererFactory: opts.svg ? L.svg.tile : L.canvas.tile,  // canvas: many polygons, fast
      interactive: Boolean(opts.onClick),
      getFeatureId: function (feature) { return feature.id; },
      fetchOptions: {credentials: "same-origin"},
      maxNativeZoom: NATIVE_MAX_ZOOM,
      pane: opts.pane || "overlayPane",
      attribution: opts.attribution || "",
    });
    grid.gridgisClicks = 0;
    // The tiles follow the datum of the map the layer is added to (before any is asked for).
    var beforeAdd = grid.beforeAdd;
    grid.beforeAdd = function (map) {
      grid.setUrl(url(name, opts.params, datumOf(map)), true);
      return beforeAdd ? beforeAdd.call(grid, map) : grid;
    };
    if (opts.onClick) {
      var selected = null;
      grid.on("click", function (event) {
        var feature = event.layer || {};
        var id = Number(feature.properties && feature.properties.code);
        if (opts.highlight) {
          if (selected !== null) { grid.resetFeatureStyle(selected); }
          if (id) { grid.setFeatureStyle(id, opts.highlight); selected = id; }
        }
        grid.gridgisClicks += 1;
        opts.onClick(feature.properties || {}, event);
      });
    }
    watch(grid, name, opts.params);
    return grid;
  }

  // Report an expired session or a failing tile server when the layer is shown, and now and
  // then while the map moves (VectorGrid itself drops failed tiles silently).
  function watch(grid, name, params) {
    var last = 0;
    function probe() {
      var now = Date.now();
      if (now - last < PROBE_EVERY_MS) { return; }
      last = now;
      G.getJSON(tileJsonUrl(name, params), G.t(WORDS, "tiles")).catch(function () {
        // already shown to the user by GridGIS.getJSON
      });
    }
    var shownOn = null;
    grid.on("add", function () {
      shownOn = grid._map;
      probe();
      shownOn.on("moveend", probe);
    });
    grid.on("remove", function () {
      if (shownOn) { shownOn.off("moveend", probe); }
      shownOn = null;
    });
  }

  // addGridLayer(map, level, options): the grids of one level (1, 2 or 3), added to the map.
  function addGridLayer(map, level, options) {
    if ([1, 2, 3].indexOf(Number(level)) < 0) {
      throw new Error("grid level " + level + " does not exist; use 1, 2 or 3");
    }
    return layer("grids-l" + Number(level), options).addTo(map);
  }

  G.tiles = {url: url, tileJsonUrl: tileJsonUrl, layer: layer, addGridLayer: addGridLayer};
})(window.GridGIS);
