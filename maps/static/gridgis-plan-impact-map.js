// /plan: the impact report as a map. Whenever the impact panel (#impact) is drawn for the
// open draft, the objects whose grid would change are fetched as GeoJSON points by kind
// (GET /api/v1/generations/{id}/impact-map) and drawn on the draft map: households, open
// events, staff assignments (on their grid) and grids left without a role, each kind in its
// colour, with a legend (counts, click to zoom to a kind) under the panel. Self-contained:
// it reads the page's state from the test hook window.gridgisPlan (maps, state), loaded
// after maps/static/gridgis-plan.js.
(function (G) {
  "use strict";

  var WORDS = {
    zh: {
      title: "影响地图", household: "住户", event: "未结事件", assignment: "人员分工",
      grid_role: "缺岗网格", none: "没有受影响的对象", what: "影响地图",
    },
    en: {
      title: "Impact map", household: "households", event: "open events",
      assignment: "staff assignments", grid_role: "grids without a role",
      none: "nothing affected", what: "the impact map",
    },
  };
  var COLOURS = {household: "#1f78b4", event: "#e31a1c", assignment: "#ff7f00", grid_role: "#6a3d9a"};
  var KINDS = ["household", "event", "assignment", "grid_role"];

  function w(key, values) { return G.t(WORDS, key, values); }

  function popup(p) {
    var lines = [w(p.kind)];
    if (p.kind === "household") { lines.push(p.code + ": " + p.old_grid + " → " + (p.new_grid || "—")); }
    if (p.kind === "event") { lines.push("#" + p.id + ": " + p.grid_at_report + " → " + (p.new_grid || "—")); }
    if (p.kind === "assignment") { lines.push(p.name + " " + p.role + ": " + p.grid_code + " → " + (p.new_grid || "?")); }
    if (p.kind === "grid_role") { lines.push(p.grid_code + " " + p.role); }
    var box = G.el("div");
    lines.forEach(function (line) { box.appendChild(G.el("div", null, line)); });
    return box;
  }

  function start() {
    var hook = window.gridgisPlan;
    var panel = document.getElementById("impact");
    if (!hook || !panel || !window.L) { return; }
    var guard = G.latest();
    var layer = null;
    var legend = G.el("div", "impact-map-legend");
    legend.id = "impact-map-legend";
    panel.parentNode.insertBefore(legend, panel.nextSibling);
    var shownFor = null;

    // A marker sits on a grid: its click opens its popup and still selects the grid under it
    // (the popup stops the click before the map sees it, so the map is told here; the draft
    // map's click handler finds the grid at that point).
    function passOn(e) {
      hook.maps.draft.fire("click", {latlng: e.latlng, layerPoint: e.layerPoint,
        containerPoint: e.containerPoint, originalEvent: e.originalEvent});
    }

    function draw(collection, map) {
      if (layer) { layer.remove(); }
      var groups = {};
      KINDS.forEach(function (kind) { groups[kind] = L.featureGroup(); });
      collection.features.forEach(function (f) {
        var c = f.geometry.coordinates;
        var kind = f.properties.kind;
        L.circleMarker([c[1], c[0]], {radius: kind === "household" ? 3 : 6, color: COLOURS[kind],
          weight: 1, fillOpacity: 0.8}).bindPopup(popup(f.properties)).on("click", passOn)
          .addTo(groups[kind]);
      });
      layer = L.featureGroup(KINDS.map(function (kind) { return groups[kind]; })).addTo(map);
      legend.textContent = "";
      legend.appendChild(G.el("strong", null, w("title") + " "));
      if (!collection.features.length) { legend.appendChild(G.el("span", "muted", w("none"))); }
      KINDS.forEach(function (kind) {
        var n = collection.counts[kind] || 0;
        if (!n) { return; }
        var item = G.el("button", "impact-map-kind", w(kind) + " " + n);
        item.type = "button";
        item.dataset.kind = kind;
        item.style.borderLeft = "10px solid " + COLOURS[kind];
        item.addEventListener("click", function () {
          var bounds = groups[kind].getBounds();
          if (bounds.isValid()) { map.fitBounds(bounds.pad(0.3), {maxZoom: 17}); }
        });
        legend.appendChild(item);
      });
      hook.impactMap = collection.counts;
    }

    function refresh() {
      var draft = hook.state && hook.state.draft;
      var map = hook.maps && hook.maps.draft;
      if (!draft || !map || !panel.firstChild) { return; }
      var key = draft.id + ":" + (draft.version || "") + ":" + (hook.impacts || 0);
      if (key === shownFor) { return; }
      shownFor = key;
      guard.get("/api/v1/generations/" + draft.id + "/impact-map", w("what")).then(function (collection) {
        draw(collection, map);
      }).catch(function (error) { if (!error.stale) { legend.textContent = ""; } });
    }

    new MutationObserver(refresh).observe(panel, {childList: true});
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window.GridGIS);
