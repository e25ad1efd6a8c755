// The grid levels under every map page (maps/grid_map.py starts it with {bounds,
// l2_label_zoom}, the level layers "level1".."level3" and the groups "group1".."group3").
// Fits the view to the grids, keeps L1 above L2 above L3, shows L2 names from l2_label_zoom
// on. Test hooks: window.gridgisReady = {level1, level2, level3} (features drawn per level),
// window.gridgisLayers (the three GeoJSON layers).
(function (G) {
  "use strict";

  G.views.grid = function (map, opts, given) {
    var layers = {}, groups = [];
    [1, 2, 3].forEach(function (n) {
      if (given["level" + n]) { layers["level" + n] = given["level" + n]; }
    });
    [3, 2, 1].forEach(function (n) {  // bottom up
      if (given["group" + n]) { groups.push(given["group" + n]); }
    });
    function keepOrder() {
      groups.forEach(function (g) { if (map.hasLayer(g)) { g.bringToFront(); } });
    }
    function showNames() {
      var hide = map.getZoom() < opts.l2_label_zoom;
      L.DomUtil[hide ? "addClass" : "removeClass"](map.getContainer(), "gridgis-hide-l2-labels");
    }
    map.on("overlayadd", keepOrder);
    map.on("zoomend", showNames);
    map.whenReady(function () {
      if (opts.bounds) {
        // Not animated: the first view is where people start, not a journey.
        map.fitBounds(opts.bounds, {paddingTopLeft: [24, 56], paddingBottomRight: [24, 24],
          animate: false});
      }
      keepOrder();
      showNames();
      var ready = {};
      Object.keys(layers).forEach(function (k) { ready[k] = layers[k].getLayers().length; });
      window.gridgisLayers = layers;
      window.gridgisReady = ready;
    });
  };
})(window.GridGIS);
