// The grid levels under /map, /live and /playback, drawn from the server's vector tiles
// (GridGIS.tiles, Leaflet.VectorGrid): no page carries the city's polygons. maps/grid_map.py
// starts it with {bounds, generation, active, towns, l2_label_zoom, l3_label_zoom, styles,
// highlight, drill_down, hint} and the layer control's groups "group1".."group3".
//
// - Fits the view to the city; L1 above L2 above L3 (one canvas per tile); L2 names
//   from l2_label_zoom on; unit-grid names for the view from l3_label_zoom on
//   (GET /api/v1/grid-labels?level=3&bbox=…).
// - Hovering a unit grid highlights it and shows its level, name and code (an element).
// - Drill-down (drill_down): a click selects the town under the pointer, then its village,
//   then its unit grid (the codes nest: 9, 12, 15 digits); the selection is fetched as GeoJSON
//   (GET /api/v1/grids/{code}), outlined, fitted, its children emphasised and named, and
//   listed in a panel; it is kept in the address (?sel=code) so Back and reload work.
// Test hooks: window.gridgisReady = {level1, level2, level3} (distinct grids in the tiles of
// the first view), window.gridgisLayers ({level1, level2, level3}: the one tile layer that
// draws all three), window.gridgisMap,
// window.gridgisSelection =
// {code, level, name, children}, window.gridgisL3Labels (unit-grid names shown).
(function (G) {
  "use strict";

  var TEXT = {
    zh: {
      city: "全市", level1: "镇街", level2: "村社区", level3: "单元网格",
      level1_long: "一级网格", level2_long: "二级网格", level3_long: "三级网格",
      code: "编码", name: "名称", level: "级别", area: "面积", km2: "平方公里",
      children1: "下辖村社区（{n}）", children2: "下辖单元网格（{n}）", children0: "镇街（{n}）",
      grid: "网格", labels: "网格名称", bad_sel: "地址中的 {sel} 不是本版网格的编码，已显示全市",
      up: "返回上级",
    },
    en: {
      city: "City", level1: "Town", level2: "Village", level3: "Unit grid",
      level1_long: "Level 1", level2_long: "Level 2", level3_long: "Level 3",
      code: "Code", name: "Name", level: "Level", area: "Area", km2: "km²",
      children1: "Villages ({n})", children2: "Unit grids ({n})", children0: "Towns ({n})",
      grid: "the grid", labels: "grid names",
      bad_sel: "{sel} in the address is not a grid of this generation; showing the city",
      up: "Up one level",
    },
  };
  var CODE_LEVEL = {9: 1, 12: 2, 15: 3};
  var SELECTED = {color: "#e07a1f", weight: 4, opacity: 1, fill: true, fillColor: "#e07a1f",
    fillOpacity: 0.08, className: "gridgis-selected", interactive: false};
  var CHILD = {color: "#c2410c", weight: 2.2, opacity: 1, fill: true, fillColor: "#fdba74",
    fillOpacity: 0.12};

  function w(key, values) { return G.t(TEXT, key, values); }
  function codeLevel(code) { return /^[0-9]+$/.test(code) ? CODE_LEVEL[code.length] || 0 : 0; }
  function area(m2) {
    if (m2 === null || m2 === undefined) { return "—"; }
    var km2 = m2 / 1e6;
    return km2.toFixed(km2 < 1 ? 3 : 2) + " " + w("km2");
  }
  function bboxOf(bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (v) { return v.toFixed(6); }).join(",");
  }

  G.views.grid = function (map, opts, given) {
    var groups = {}, layers = {};
    [1, 2, 3].forEach(function (n) { groups[n] = given["group" + n]; });
    var genQuery = opts.generation ? "generation=" + opts.generation : "";

    // The whole city (or the selection) in the view beside every control of the page, by its
    // corner (/map: the drill-down panel and the legend left, the layer switches right, the
    // title and generation on top; /live and /playback add their counts, picker and player),
    // from their real sizes (GridGIS.fitBeside): no town hidden under any of them. Not animated.
    var fitter = G.fitBeside(map);
    function fitCity() {
      if (opts.bounds) { fitter.fit(opts.bounds); }
    }
    fitCity();
    map.createPane("gridgis-grids").style.zIndex = 350;  // above basemaps, below markers
    map.createPane("gridgis-selection").style.zIndex = 390;

    function showNames() {
      var hide = map.getZoom() < opts.l2_label_zoom;
      L.DomUtil[hide ? "addClass" : "removeClass"](map.getContainer(), "gridgis-hide-l2-labels");
    }
    map.on("zoomend", showNames);
    showNames();

    // --- the levels from the tiles --------------------------------------------------------------
    function drawnCount(layer, n) {
      var codes = {}, z = layer._tileZoom, tiles = layer._vectorTiles || {};
      Object.keys(tiles).forEach(function (key) {
        var tile = tiles[key], features = tile._features || {};
        if (tile.getCoord().z === z) {
          Object.keys(features).forEach(function (id) {
            if (features[id].layerName === "grids-l" + n) { codes[id] = true; }
          });
        }
      });
      return Object.keys(codes).length;
    }
    var loaded = {};
    function publishReady() {
      var ready = {};
      [1, 2, 3].forEach(function (n) {
        ready["level" + n] = layers[n] && loaded[n] ? drawnCount(layers[n], n) : 0;
      });
      window.gridgisLayers = {level1: layers[1], level2: layers[2], level3: layers[3]};
      window.gridgisMap = map;
      window.gridgisReady = ready;
    }

    var selection = {code: "", children: {}, childLevel: 0};
    var hovered = null;
    var tip = L.tooltip({direction: "top", offset: [0, -10], className: "gridgis-grid-tooltip",
      opacity: 1});

    function tipContent(p) {
      var table = G.el("table");
      [[w("level"), w("level" + p.level + "_long") + " · " + w("level" + p.level)],
        [w("name"), p.name || p.code], [w("code"), p.code]].forEach(function (r) {
        var tr = G.el("tr");
        tr.appendChild(G.el("th", null, r[0]));
        tr.appendChild(G.el("td", null, r[1]));
        table.appendChild(tr);
      });
      return table;
    }
    function restyle(layer, id) {
      if (selection.children[id]) { layer.setFeatureStyle(id, CHILD); } else {
        layer.resetFeatureStyle(id);
      }
    }

    if (opts.generation) {
      // The three levels on one canvas per tile (GridGIS.tiles.layer with a list of layers):
      // unit grids drawn first, towns on top; only unit grids answer the pointer. A level
      // switched off in the layer control is left out of the drawing (a redraw).
      var shown = {}, styles = {};
      [1, 2, 3].forEach(function (n) {
        shown[n] = map.hasLayer(groups[n]);
        var style = L.extend({}, opts.styles[String(n)], {interactive: n === 3});
        styles["grids-l" + n] = function () { return shown[n] ? style : []; };
      });
      var grids = G.tiles.layer(["grids-l3", "grids-l2", "grids-l1"], {
        styles: styles,
        params: {generation: opts.generation},
        pane: "gridgis-grids",
        onClick: function (p, event) { gridClicked(p, event); },
      });
      grids.gridgisPassPointer = !shown[3];
      [1, 2, 3].forEach(function (n) { grids.gridgisLeftOut["grids-l" + n] = !shown[n]; });
      // the test hooks find "the level-n canvas" by these classes: all three are this one
      grids.on("add", function () {
        L.DomUtil.addClass(grids.getContainer(), "gridgis-l1 gridgis-l2 gridgis-l3");
      });
      grids.once("load", function () {
        [1, 2, 3].forEach(function (n) { loaded[n] = true; });
        publishReady();
      });
      [1, 2, 3].forEach(function (n) {
        layers[n] = grids;
        groups[n].on("add remove", function () {
          var now = map.hasLayer(groups[n]);
          if (now === shown[n]) { return; }
          shown[n] = now;
          grids.gridgisLeftOut["grids-l" + n] = !now;
          grids.gridgisPassPointer = !shown[3];
          grids.redraw();
        });
      });
      grids.addTo(map);
      layers[3].on("mouseover", function (e) {
        var p = e.layer && e.layer.properties;
        if (!p) { return; }
        var id = Number(p.code);
        if (hovered !== null && hovered !== id) { restyle(layers[3], hovered); }
        hovered = id;
        layers[3].setFeatureStyle(id, opts.highlight);
        tip.setContent(tipContent(p)).setLatLng(e.latlng);
        map.openTooltip(tip);
      });
      layers[3].on("mousemove", function (e) { tip.setLatLng(e.latlng); });
      layers[3].on("mouseout", function () {
        if (hovered !== null) { restyle(layers[3], hovered); }
        hovered = null;
        map.closeTooltip(tip);
      });
    } else {
      publishReady();
    }

    // --- unit-grid names for the view -----------------------------------------------------------
    var l3Labels = L.layerGroup(), shownL3 = {};
    // only the latest answer of each is drawn (GridGIS.latest): the labels of the view before
    // a move, a selection picked before another, a click before another
    var asks = {labels: G.latest(), selection: G.latest(), locate: G.latest()};
    if (groups[3]) { groups[3].addLayer(l3Labels); }
    function labelLayer(r, cls) {
      var one = L.layerGroup();
      G.permanentLabels(one, {rows: [[r.lon, r.lat, r.name]], css_class: "gridgis-label " + cls});
      return one;
    }
    function refreshL3Labels() {
      if (!opts.generation || map.getZoom() < opts.l3_label_zoom || !map.hasLayer(groups[3])) {
        asks.labels.drop();
        l3Labels.clearLayers();
        shownL3 = {};
        window.gridgisL3Labels = 0;
        return;
      }
      var url = "/api/v1/grid-labels?level=3&" + genQuery + "&bbox=" + bboxOf(map.getBounds().pad(0.2));
      asks.labels.get(url, w("labels")).then(function (body) {
        var keep = {};
        body.data.forEach(function (r) {
          if (selection.children[Number(r.code)]) { return; }  // named by the selection
          keep[r.code] = true;
          if (!shownL3[r.code]) { shownL3[r.code] = labelLayer(r, "gridgis-label-l3").addTo(l3Labels); }
        });
        Object.keys(shownL3).forEach(function (code) {
          if (!keep[code]) { l3Labels.removeLayer(shownL3[code]); delete shownL3[code]; }
        });
        window.gridgisL3Labels = Object.keys(shownL3).length;
      }).catch(function () {});
    }
    map.on("moveend overlayadd overlayremove", refreshL3Labels);
    refreshL3Labels();

    if (!opts.drill_down) { return; }

    // --- drill-down ----------------------------------------------------------------------------
    var outline = null, childLabels = L.layerGroup().addTo(map);
    var box = G.panel(map, "topleft", "leaflet-control gridgis-drill");
    fitCity();

    function hrefFor(code) {
      var q = new URLSearchParams(window.location.search);
      if (code) { q.set("sel", code); } else { q.delete("sel"); }
      var s = q.toString();
      return window.location.pathname + (s ? "?" + s : "");
    }
    function link(text, code, cls) {
      var a = G.el("a", cls, text);
      a.href = hrefFor(code);
      a.setAttribute("data-code", code);
      a.addEventListener("click", function (ev) { ev.preventDefault(); select(code, true); });
      return a;
    }
    function render(grid, children, warning) {
      box.textContent = "";
      if (warning) {
        var warn = box.appendChild(G.el("div", "gridgis-drill-warning", warning));
        warn.setAttribute("role", "alert");
      }
      var crumbs = box.appendChild(G.el("nav", "gridgis-drill-crumbs"));
      var chain = grid ? [{code: "", name: w("city")}].concat(
        (grid.ancestors || []).slice().reverse()) : [];
      chain.forEach(function (c) {
        crumbs.appendChild(link(c.name || c.code, c.code, "gridgis-drill-crumb"));
        crumbs.appendChild(G.el("span", "gridgis-drill-sep", " › "));
      });
      crumbs.appendChild(G.el("strong", null, grid ? grid.name : w("city")));
      if (grid) {
        box.appendChild(G.el("div", "gridgis-drill-meta", w("level" + grid.level) + " · " +
          grid.code + " · " + area(grid.area_m2)));
      }
      var level = grid ? grid.level : 0;
      if (children.length) {
        box.appendChild(G.el("div", "gridgis-drill-sub", w("children" + level, {n: children.length})));
        var list = box.appendChild(G.el("ul", "gridgis-drill-children"));
        children.forEach(function (c) {
          list.appendChild(G.el("li")).appendChild(link(c.name || c.code, c.code, "gridgis-drill-child"));
        });
      }
      box.appendChild(G.el("div", "gridgis-drill-hint", opts.hint));
    }

    function clearSelection() {
      if (outline) { map.removeLayer(outline); outline = null; }
      childLabels.clearLayers();
      var level = selection.childLevel;
      Object.keys(selection.children).forEach(function (id) {
        if (layers[level]) { layers[level].resetFeatureStyle(Number(id)); }
      });
      selection = {code: "", children: {}, childLevel: 0};
    }

    function showCity(warning) {
      var towns = (opts.towns || []).map(function (t) { return {code: t[0], name: t[1]}; });
      render(null, towns, warning);
      window.gridgisSelection = {code: "", level: 0, name: w("city"), children: towns.length};
    }

    function select(code, push) {
      code = code || "";
      asks.selection.drop();  // a selection still loading is no longer wanted
      if (code && !codeLevel(code)) {
        clearSelection();
        window.history.replaceState({sel: ""}, "", hrefFor(""));
        showCity(w("bad_sel", {sel: code}));
        return Promise.resolve();
      }
      if (push) { window.history.pushState({sel: code}, "", hrefFor(code)); }
      if (!code) {
        clearSelection();
        if (push) { fitCity(); }
        showCity(null);
        refreshL3Labels();
        return Promise.resolve();
      }
      var q = genQuery ? "?" + genQuery : "";
      return asks.selection.track(Promise.all([
        G.getJSON("/api/v1/grids/" + code + q, w("grid"), {quiet: true}),
        codeLevel(code) === 3 ? {data: []} :  // a unit grid has no children to name
          G.getJSON("/api/v1/grid-labels?parent=" + code + (genQuery ? "&" + genQuery : ""),
            w("labels")),
      ])).then(function (both) {
        clearSelection();
        var feature = both[0], grid = feature.properties, children = grid.children || [];
        selection = {code: code, children: {}, childLevel: grid.level + 1};
        outline = L.geoJSON(feature, {pane: "gridgis-selection", style: SELECTED, interactive: false})
          .addTo(map);
        fitter.fit(outline.getBounds());  // clear of the panels, legend and title
        var childLayer = layers[grid.level + 1];
        if (childLayer) {
          if (!map.hasLayer(groups[grid.level + 1])) { groups[grid.level + 1].addTo(map); }
          children.forEach(function (c) {
            selection.children[Number(c.code)] = true;
            childLayer.setFeatureStyle(Number(c.code), CHILD);
          });
        }
        both[1].data.forEach(function (r) {
          childLabels.addLayer(labelLayer(r, "gridgis-label-child"));
        });
        render(grid, children, null);
        refreshL3Labels();
        window.gridgisSelection = {code: code, level: grid.level, name: grid.name,
          children: children.length};
      }).catch(function (error) {
        if (error.stale) { return; }
        if (error && (error.status === 404 || error.status === 422)) {
          clearSelection();
          window.history.replaceState({sel: ""}, "", hrefFor(""));
          showCity(w("bad_sel", {sel: code}));
        } else if (error && !error.shown) {
          G.notice(error.message);
        }
      });
    }

    // The next selection for a click on the grids chain [town, village, unit]: the child of the
    // deepest selected ancestor of the point, else the town.
    function next(chain) {
      for (var i = chain.length - 1; i >= 0; i--) {
        if (selection.code && selection.code.indexOf(chain[i]) === 0) {
          return chain[Math.min(i + 1, chain.length - 1)];
        }
      }
      return chain[0];
    }
    function go(chain) {
      var code = next(chain.filter(Boolean));
      if (code && code !== selection.code) { select(code, true); }
    }

    var handled = null;
    function gridClicked(p, event) {
      var code = String(p.code || "");
      if (codeLevel(code) !== 3) { return; }
      handled = event && event.originalEvent;
      go([code.slice(0, 9), code.slice(0, 12), code]);
    }
    // Where no unit grid answered (their layer switched off): ask the server which grids hold
    // the point.
    map.on("click", function (ev) {
      if (handled && ev.originalEvent === handled) { return; }
      var url = "/api/v1/locate?lon=" + ev.latlng.lng.toFixed(7) + "&lat=" + ev.latlng.lat.toFixed(7) +
        (opts.active ? "" : "&" + genQuery);
      asks.locate.get(url, w("grid")).then(function (r) {
        go([r.l1 && r.l1.code, r.l2 && r.l2.code, r.l3 && r.l3.code]);
      }).catch(function () {});
    });

    window.addEventListener("popstate", function () {
      select(new URLSearchParams(window.location.search).get("sel") || "", false);
    });
    select(new URLSearchParams(window.location.search).get("sel") || "", false);
  };
})(window.GridGIS);
