// /plan's two maps (loaded before maps/static/gridgis-plan.js, which starts them): the active
// generation (left) and the draft (right), views kept in step, both drawn from the vector
// tiles (GridGIS.tiles, ?generation=ID); the draft's changes (GET …/diff) coloured on both,
// with a legend. They use the page's helpers and state, handed over as ``ctx``.
(function (G) {
  "use strict";

  var CHANGE_COLORS = {added: "#2e7d32", removed: "#c62828", reshaped: "#ef6c00",
    renamed: "#1565c0"};
  var LEVEL_STYLE = {
    // VectorGrid fills every polygon: a transparent fill keeps villages and towns as lines
    1: {color: "#0b2e59", weight: 3, fill: true, fillOpacity: 0},
    2: {color: "#3f6fb5", weight: 1.6, fill: true, fillOpacity: 0},
    3: {color: "#7d8fa6", weight: 0.7, fill: true, fillColor: "#ffffff", fillOpacity: 0.01},
  };
  var SELECTED_STYLE = {color: "#1565c0", weight: 3, fillColor: "#1565c0", fillOpacity: 0.15};

  G.planMaps = function (ctx) {
    var w = ctx.w, get = ctx.get, base = ctx.base, state = ctx.state, hook = ctx.hook;
    var maps = ctx.maps, layers = ctx.layers;

    function makeMap(id) {
      // whole zoom levels up to the tiles' own maximum: VectorGrid hit-tests a click on an
      // unscaled tile only
      var map = L.map(id, {maxZoom: 18});
      map.attributionControl.setPrefix("Leaflet");
      // Panes that let clicks through to the unit grids' tiles (VectorGrid hit-tests the click
      // on its own canvas, so nothing above it may catch the click): the changes below the
      // tiles, villages and towns, the selection's neighbours and the problem marks above them.
      [["plan-diff", 350], ["plan-parents", 410], ["plan-edit", 420], ["plan-marks", 430]]
        .forEach(function (pane) {
          var div = map.createPane(pane[0]);
          div.style.zIndex = pane[1];
          div.style.pointerEvents = "none";
        });
      return map;
    }

    function syncMaps(a, b) {
      // After each move of one map the other takes its view, once that move has ended (a view
      // set inside the other map's zoom animation leaves its tiles at the old zoom).
      var leader = null;
      function follow(from, to) {
        from.on("moveend", function () {
          if (leader && leader !== from) { return; }
          leader = from;
          window.setTimeout(function () {
            to.setView(from.getCenter(), from.getZoom(), {animate: false});
            leader = null;
          }, 0);
        });
      }
      follow(a, b);
      follow(b, a);
    }

    // The three levels of a generation; a click on a unit grid calls onClick(properties)
    // (villages and towns are outlines that let the click through to it).
    function gridLayers(map, generation, onClick) {
      return [3, 2, 1].map(function (level) {
        var options = {style: LEVEL_STYLE[level], params: {generation: generation},
          pane: level === 3 ? "overlayPane" : "plan-parents"};
        if (level === 3 && onClick) {
          options.onClick = onClick;
          options.highlight = SELECTED_STYLE;
        }
        return G.tiles.addGridLayer(map, level, options);
      });
    }

    function legend(map) {
      var control = L.control({position: "bottomright"});
      control.onAdd = function () {
        var div = L.DomUtil.create("div", "plan-legend");
        div.id = "plan-legend";
        div.appendChild(G.el("strong", null, w("legend")));
        [["added", "added"], ["removed", "removed_grid"], ["reshaped", "reshaped"],
          ["renamed", "renamed"]].forEach(function (pair) {
          var row = G.el("div", "legend-" + pair[0]);
          var swatch = G.el("i");
          swatch.style.borderColor = CHANGE_COLORS[pair[0]];
          swatch.style.background = CHANGE_COLORS[pair[0]] + "55";
          row.appendChild(swatch);
          row.appendChild(document.createTextNode(w(pair[1])));
          div.appendChild(row);
        });
        return div;
      };
      control.addTo(map);
    }

    function loadDiff() {
      var id = state.draft.id;
      return get(base(id) + "/diff", w("diff")).then(function (fc) {
        layers.diff.forEach(function (l) { l.remove(); });
        // left: what goes (removed grids), right: what comes (added, reshaped, renamed ones);
        // unit grids filled, villages and towns (re-derived from them) as outlines only
        layers.diff = [maps.active, maps.draft].map(function (map) {
          var left = map === maps.active;
          return L.geoJSON(fc, {
            interactive: false,
            pane: "plan-diff",
            filter: function (f) {
              var change = f.properties.change;
              if (left !== (change === "removed")) { return false; }
              return f.properties.level === 3 || change !== "reshaped";
            },
            style: function (f) {
              var color = CHANGE_COLORS[f.properties.change] || "#555";
              var unit = f.properties.level === 3;
              return {color: color, weight: unit ? 2.5 : 1.5, fill: unit, fillColor: color,
                fillOpacity: 0.3, dashArray: unit ? null : "6 4"};
            },
          }).addTo(map);
        });
        hook.diff = fc.counts;
        return fc;
      });
    }

    return {makeMap: makeMap, syncMaps: syncMaps, gridLayers: gridLayers, legend: legend,
      loadDiff: loadDiff, selectedStyle: SELECTED_STYLE};
  };
})(window.GridGIS);
