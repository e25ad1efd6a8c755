// /zones: enforcement zones and household counts (maps/zones_map.py starts it with {bounds,
// legend_width_px, n_labels, label_zoom} and its folium groups "group:<key>" and GeoJSON
// layers "layer:<key>"). Fits the view, keeps the zones and town outlines on top, hides zone
// labels when zoomed far out. Test hooks: window.gridgisZonesReady = {zones, towns, grids,
// cells, labels} (features per layer), window.gridgisZonesLayers (the groups).
(function (G) {
  "use strict";

  G.views.zones = function (map, opts, given) {
    var groups = {}, layers = {};
    Object.keys(given).forEach(function (name) {
      var parts = name.split(":");
      (parts[0] === "group" ? groups : layers)[parts[1]] = given[name];
    });
    function keepOrder() {
      ["zones", "towns"].forEach(function (k) {
        if (groups[k] && map.hasLayer(groups[k])) { groups[k].bringToFront(); }
      });
    }
    function showLabels() {
      var hide = map.getZoom() < opts.label_zoom;
      L.DomUtil[hide ? "addClass" : "removeClass"](map.getContainer(),
        "gridgis-hide-zone-labels");
    }
    map.on("overlayadd", keepOrder);
    map.on("zoomend", showLabels);
    map.whenReady(function () {
      if (opts.bounds) {
        map.fitBounds(opts.bounds, {paddingTopLeft: [opts.legend_width_px, 56],
          paddingBottomRight: [24, 24], animate: false});
      }
      keepOrder();
      showLabels();
      var ready = {labels: opts.n_labels};
      Object.keys(layers).forEach(function (k) { ready[k] = layers[k].getLayers().length; });
      window.gridgisZonesLayers = groups;
      window.gridgisZonesReady = ready;
    });
  };
})(window.GridGIS);
