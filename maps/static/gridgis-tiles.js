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
//
// Every layer made here (every page: /, /map, /live, /playback, /plan, /coverage, /zones,
// /events/map) loads its tiles in 512-pixel pieces (the server's tile one zoom out, drawn
// larger: a quarter of the requests and canvases of 256-pixel ones) and only once a pan or
// zoom has ended (decoding and drawing tiles while Leaflet animates the map cost frames;
// docs/benchmarks-pages.md); options.tilePx: 256 and options.whileMoving: true for the old
// behaviour. Clicks and hovers on canvas-drawn grids hit the right grid at fractional zooms.
(function (G) {
  "use strict";

  // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop on a click on a canvas tile; Leaflet 1.8
  // removed it (a canvas's own events no longer reach the map: _leaflet_disable_events), so
  // without this no-op every click on a canvas-drawn grid throws a TypeError.
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () {}; }

  // Leaflet 1.9.4's GridLayer.redraw() takes the map's zoom as the tiles' zoom without rounding
  // it, so at a quarter-step zoom (zoomSnap 0.25) a redraw asked for tiles like
  // /tiles/grids/9.25/507/246.mvt (refused: a tile's z is an integer). A redraw now resets the
  // view the way a zoom does (GridLayer._resetView → _setView rounds the zoom).
  L.GridLayer.include({
    redraw: function () {
      if (this._map) {
        this._removeAllTiles();
        this._resetView();
      }
      return this;
    },
  });

  // Leaflet.VectorGrid 1.3 hit-tests a canvas tile at the pointer's layer point minus the
  // tile's offset, which holds only when the map's zoom is the tiles' zoom. Our maps zoom in
  // quarter steps (zoomSnap 0.25), where the tiles are scaled and clicks and hovers landed on
  // the wrong grid or none: the pointer is projected at the tile's own zoom instead. (SVG
  // tiles answer through their paths' own DOM events and need nothing.)
  function tilePoint(tile, e) {
    var map = tile._map, coord = tile.getCoord();
    return map.project(map.mouseEventToLatLng(e), coord.z).subtract(coord.scaleBy(tile._size));
  }
  L.Canvas.Tile.include({
    _onClick: function (e) {
      var point = tilePoint(this, e), clicked = null;
      for (var id in this._layers) {
        var layer = this._layers[id];
        if (layer.options.interactive && layer._containsPoint(point) &&
          !this._map._draggableMoved(layer)) { clicked = layer; }
      }
      if (clicked) { this._fireEvent([clicked], e); }
    },
    _onMouseMove: function (e) {
      if (!this._map || this._map.dragging.moving() || this._map._animatingZoom) { return; }
      this._handleMouseHover(e, tilePoint(this, e));
    },
  });

  var NATIVE_MAX_ZOOM = 18;  // the TileJSON maxzoom: deeper zooms scale z18 tiles
  var TILE_PX = 256;  // the server's tiles: 4096 units over 256 px
  var PROBE_EVERY_MS = 60000;
  var FAILED_PROBE_MS = 2000;  // after a failed tile: at most one probe per 2 s per layer
  var MEMO_S = 30, MEMO_TILES = 96;
  var WORDS = {
    zh: {tiles: "网格图层"},
    en: {tiles: "the grid layer"},
  };

  // Tiles are drawn in turn, a few milliseconds of drawing per animation frame, not all at once
  // when their requests come back: after a zoom a dozen tiles arrive together, and drawing them
  // in one go held the page for 300-500 ms (no frame, the next pan or zoom stuck). A tile the
  // map has left when its turn comes is not drawn at all. (VectorGrid draws a tile in the
  // callback of the promise returned by _getVectorTilePromise, so resolving that promise lets
  // exactly that tile draw, as the next microtask.)
  // A pointer pressed on a map draws every waiting tile at once first (flush), so a click right
  // after the tiles arrived hits the grid under it, as when tiles were drawn on arrival.
  // pending() is the number of tiles waiting (0: what has arrived is drawn).
  var DRAW_BUDGET_MS = 8;
  var queue = [], waking = false;
  function inTurn(grid, key, promise) {
    return new Promise(function (resolve, reject) {
      promise.then(function (tile) {
        queue.push(function () {
          resolve(grid._map && grid._tiles[key] ? tile : {layers: {}});
        });
        wake();
      }, reject);
    });
  }
  function wake() {
    if (waking) { return; }
    waking = true;
    var started = false;
    function go() {
      if (started) { return; }
      started = true;
      drain(performance.now(), DRAW_BUDGET_MS);
    }
    requestAnimationFrame(go);
    setTimeout(go, 100);  // a hidden page has no animation frames: draw anyway
  }
  function drain(start, budget) {
    var job = queue.shift();
    if (!job) { waking = false; return; }
    job();
    Promise.resolve().then(function () {  // after the tile's drawing (queued by job)
      if (performance.now() - start < budget) { drain(start, budget); return; }
      waking = false;
      if (queue.length) { wake(); }
    });
  }
  function flush() {
    var jobs = queue.splice(0, queue.length);
    jobs.forEach(function (job) { job(); });
  }
  function pending() { return queue.length; }
  document.addEventListener("pointerdown", function (e) {
    if (queue.length && e.target && e.target.closest && e.target.closest(".leaflet-container")) {
      flush();
    }
  }, true);

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
  // name may be a list of layers, e.g. ["grids-l3", "grids-l2", "grids-l1"]: each tile of the
  // page is then the server's tiles of those layers drawn on ONE canvas, in that order (the last
  // on top), with options.styles = {name: style} (a style may be a function(properties, zoom)
  // that returns [] to leave a feature out). One canvas instead of one per layer and tile: the
  // browser composites a third of the canvases while the map moves (docs/benchmarks-pages.md).
  // A list of grid levels only is fetched as one tile per piece (/tiles/grids/…?levels=), not
  // one per level: a third of the requests, decodes and cache look-ups.
  // A feature's id (its grid code) is still unique across the layers. layer.gridgisLeftOut
  // = {name: true} leaves a layer of the list out of the requests (a level switched off).
  // options.tilePx (256, 512 or 1024; default 512): the size the page draws a tile at, each the
  // server's tile log2(tilePx / 256) zooms out; options.whileMoving (default false): fetch and
  // draw tiles during a pan or zoom, not only once it has ended.
  function layer(name, options) {
    var opts = options || {};
    var names = [].concat(name);
    var styles = {};
    names.forEach(function (n) {
      styles[n] = (names.length > 1 ? (opts.styles || {})[n] : opts.style) || {};
    });
    var urls = names.map(function (n) { return url(n, opts.params); });
    // Grid levels only (e.g. ["grids-l3", "grids-l2", "grids-l1"]): ONE request per tile, the
    // server's "grids" tile carrying the wanted levels as its layers (?levels=; towns last).
    var levelsOf = names.map(function (n) { return (/^grids-l([123])$/.exec(n) || [])[1]; });
    var oneRequest = names.length > 1 && levelsOf.every(Boolean);
    var datum = "wgs84";
    var tilePx = opts.tilePx || 512;
    var zoomUp = Math.round(Math.log(tilePx / TILE_PX) / Math.LN2);
    if ([0, 1, 2].indexOf(zoomUp) < 0) {
      throw new Error("tilePx " + opts.tilePx + " is not supported; use 256, 512 or 1024");
    }
    var grid = L.vectorGrid.protobuf(urls[0], {
      vectorTileLayerStyles: styles,
      // canvas: many polygons, fast; grid.gridgisPassPointer: its canvases let the pointer
      // through to the map (set it, then redraw())
      rendererFactory: function (coords, size, o) {
        var drawn = (opts.svg ? L.svg.tile : L.canvas.tile)(coords, size, o);
        if (grid.gridgisPassPointer) { drawn.getContainer().style.pointerEvents = "none"; }
        return drawn;
      },
      interactive: Boolean(opts.onClick),
      getFeatureId: function (feature) { return feature.id; },
      fetchOptions: {credentials: "same-origin"},
      maxNativeZoom: NATIVE_MAX_ZOOM,
      tileSize: tilePx,
      updateWhenIdle: !opts.whileMoving,
      updateWhenZooming: Boolean(opts.whileMoving),
      keepBuffer: opts.whileMoving ? 2 : 3,
      pane: opts.pane || "overlayPane",
      attribution: opts.attribution || "",
    });
    // Decoded tiles of the last MEMO_S seconds, by URL: zooming back in or out to a level just
    // left (Leaflet has dropped its canvases) draws them again without fetching and decoding
    // them again. Forgotten on redraw() (pages redraw after an edit or a switch) and after
    // MEMO_S, the active generation's max-age, so an edit or a publish shows as before.
    var memo = new Map();
    function fetchTile(owner, up, bounds) {
      var key = owner._url + " " + up.z + "/" + up.x + "/" + up.y, now = Date.now();
      var held = memo.get(key);
      if (held && now - held.at < MEMO_S * 1000) { return held.tile; }
      var tile = L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(owner, up, bounds);
      memo.set(key, {at: now, tile: tile});
      tile.then(function (t) {  // a failed tile (VectorGrid's empty list) is asked again
        if (!Array.isArray(t.layers)) { return; }
        if (memo.get(key) && memo.get(key).tile === tile) { memo.delete(key); }
        grid.gridgisTileFailed();  // say why at once (an expired session: the login bar)
      }, function () { memo.delete(key); grid.gridgisTileFailed(); });
      if (memo.size > MEMO_TILES) { memo.delete(memo.keys().next().value); }
      return tile;
    }
    var redraw = grid.redraw;
    grid.redraw = function () { memo.clear(); return redraw.apply(grid, arguments); };
    grid._getVectorTilePromise = function (coords, bounds) {
      return inTurn(grid, grid._tileCoordsToKey(coords), fetchPiece(coords, bounds));
    };
    function fetchPiece(coords, bounds) {
      // a tilePx tile covers the ground of the server's tile zoomUp zooms out
      var up = L.point(coords.x, coords.y);
      up.z = coords.z - zoomUp;
      if (urls.length === 1) { return fetchTile(grid, up, bounds); }
      if (oneRequest) {
        var levels = levelsOf.filter(function (n, i) { return !grid.gridgisLeftOut[names[i]]; });
        if (!levels.length) { return Promise.resolve({layers: {}}); }
        var all = levels.length === 3;  // the server's default: one URL, one cache entry
        var combined = Object.create(grid);
        combined._url = url("grids", L.extend({}, opts.params,
          {levels: all ? null : levels.sort().join(",")}), datum);
        return fetchTile(combined, up, bounds);
      }
      var wanted = urls.filter(function (u, i) { return !grid.gridgisLeftOut[names[i]]; });
      return Promise.all(wanted.map(function (u) {
        var one = Object.create(grid);  // the same layer, reading another layer's URL
        one._url = u;
        return fetchTile(one, up, bounds);
      })).then(function (tiles) {
        var layers = {};  // in the order of names: the canvas draws them in this order
        tiles.forEach(function (t) {
          Object.keys(t.layers).forEach(function (k) { layers[k] = t.layers[k]; });
        });
        return {layers: layers};
      });
    }
    grid.gridgisClicks = 0;
    // {name: true}: a layer of the list not fetched (a level switched off; set it, then redraw())
    grid.gridgisLeftOut = {};
    // The tiles follow the datum of the map the layer is added to (before any is asked for).
    var beforeAdd = grid.beforeAdd;
    grid.beforeAdd = function (map) {
      datum = datumOf(map);
      urls = names.map(function (n) { return url(n, opts.params, datum); });
      grid.setUrl(urls[0], true);
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
        grid.gridgisLastClick = event.originalEvent;  // the DOM click this layer answered
        opts.onClick(feature.properties || {}, event);
      });
    }
    watch(grid, names[0], opts.params);
    return grid;
  }

  // Report an expired session or a failing tile server when the layer is shown, now and then
  // while the map moves, and at once when a tile fails (VectorGrid itself drops failed tiles
  // silently, without their status): the TileJSON is asked through GridGIS.getJSON, which says
  // what failed (401: the session has expired, with the log-in link) on the very request after
  // the failure, not a minute later. A burst of failed tiles (a pan) asks once.
  function watch(grid, name, params) {
    var last = 0, asking = false, later = null;
    function probe(now) {
      var wait = (now === true ? FAILED_PROBE_MS : PROBE_EVERY_MS) - (Date.now() - last);
      if (now === true && (asking || wait > 0)) {
        // a tile failed just after a probe (a zoom right after the page opened): ask once the
        // interval is over, never not at all
        if (!later) {
          later = setTimeout(function () { later = null; probe(true); }, Math.max(wait, 250));
        }
        return;
      }
      if (asking || wait > 0) { return; }
      last = Date.now();
      asking = true;
      // never the browser's cached TileJSON (private, max-age): the server must see the session
      G.getJSON(tileJsonUrl(name, params), G.t(WORDS, "tiles"), {cache: "no-cache"}).catch(function () {
        // already shown to the user by GridGIS.getJSON
      }).then(function () { asking = false; });
    }
    grid.gridgisTileFailed = function () { if (grid._map) { probe(true); } };
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

  // exclusive(map, [layerA, layerB, ...]): layers that cannot be read on top of one another,
  // e.g. two fills of the unit grids (the coverage choropleth and household density: their
  // colours mixed into neither legend's), are shown one at a time, as radio buttons: switching
  // one on (its box in a layer control, or code) switches the others off, and their boxes in
  // the layer control follow. A page's legend then has the section of the one fill drawn.
  // The rule of every page that offers two such layers (the front page: coverage and
  // households). Returns {shown: function () -> the layer of the list on the map, or null}.
  function exclusive(map, layers) {
    var latest = null;  // the last one switched on wins
    map.on("layeradd", function (e) {
      if (layers.indexOf(e.layer) < 0) { return; }
      latest = e.layer;
      // after the layer control has handled its click (it updates its boxes only then)
      setTimeout(function () {
        if (latest !== e.layer || !map.hasLayer(e.layer)) { return; }
        layers.forEach(function (other) {
          if (other !== e.layer && map.hasLayer(other)) { map.removeLayer(other); }
        });
      }, 0);
    });
    return {shown: function () {
      return layers.filter(function (l) { return map.hasLayer(l); })[0] || null;
    }};
  }

  G.tiles = {url: url, tileJsonUrl: tileJsonUrl, layer: layer, addGridLayer: addGridLayer,
    flush: flush, pending: pending, exclusive: exclusive};
})(window.GridGIS);
