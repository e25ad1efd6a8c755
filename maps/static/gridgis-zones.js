// /zones: enforcement zones and household counts (maps/zones_map.py starts it with the zones'
// colours and facts, label points, per-grid counts, H3 cell centres and the legend sizes). The
// shapes come from the vector tiles of the page's generation (GridGIS.tiles, SVG so each path
// carries its classes). One thing is filled at a time, chosen in the control top right: the
// zones, households per unit grid (zones then outlined), or households per H3 cell (graduated
// circles over the zone outlines). The choice is in the URL (?show=grid), so Back and reload
// keep it, and the legend shows only the sections of what is drawn.
// Test hooks: window.gridgisZonesReady = {zones, grids, cells, labels, mode},
// window.gridgisZonesLayers (the groups by mode).
(function (G) {
  "use strict";

  G.views.zones = function (map, opts) {
    var W = opts.words, el = G.el;
    var COLON = G.pageLang() === "en" ? ": " : "：";
    var ZONE = {name: 1, town: 2, squad: 3, members: 4, grids: 5, area: 6};

    map.createPane("gridgis-zones-fills").style.zIndex = 390;
    map.createPane("gridgis-zones-lines").style.zIndex = 395;
    var tip = L.tooltip({direction: "top", offset: [0, -8]});

    // a tooltip of facts: rows [[label, value]] at the pointer
    function hover(layer, facts) {
      layer.on("mouseover", function (e) {
        var p = e.layer && e.layer.properties;
        var rows = p && facts(p);
        if (!rows) { return; }
        var body = el("div", "gridgis-zones-tip");
        rows.forEach(function (r) {
          var line = el("div");
          line.appendChild(el("b", "", r[0] + COLON));
          line.appendChild(document.createTextNode(r[1]));
          body.appendChild(line);
        });
        tip.setContent(body).setLatLng(e.latlng);
        map.openTooltip(tip);
      });
      layer.on("mouseout", function () { map.closeTooltip(tip); });
      return layer;
    }
    function zoneFacts(p) {
      var z = opts.zones[p.code];
      if (!z) { return null; }
      return [[W.name, z[ZONE.name]], [W.code, p.code], [W.town, z[ZONE.town]],
              [W.squad, z[ZONE.squad]], [W.members, z[ZONE.members]],
              [W.grids, z[ZONE.grids]], [W.area, z[ZONE.area]]];
    }

    // zone fills (mode "zones") and zone outlines (household modes)
    var zoneFills = hover(G.tiles.layer("zones", {params: opts.tiles, svg: true,
      pane: "gridgis-zones-fills", onClick: function () {}, style: function (p) {
        var z = opts.zones[p.code];
        return {className: "gridgis-zone gridgis-code-" + p.code, color: "#ffffff",
                weight: 1.2, opacity: 0.9, fill: true,
                fillColor: z ? z[0] : "#9aa5b1", fillOpacity: 0.5};
      }}), zoneFacts);
    var zoneLines = hover(G.tiles.layer("zones", {params: opts.tiles, svg: true,
      pane: "gridgis-zones-lines", onClick: function () {}, style: function (p) {
        return {className: "gridgis-zone-outline gridgis-code-" + p.code,
                color: "#3b4f63", weight: 2, opacity: 0.9, fill: false};
      }}), zoneFacts);
    var towns = G.tiles.layer("grids-l1", {params: opts.tiles, svg: true,
      pane: "gridgis-zones-lines", style: function (p) {
        return {className: "gridgis-zone-town gridgis-code-" + p.code,
                color: "#0b2e59", weight: 2.5, opacity: 1, fill: false};
      }});
    // households per unit grid: a choropleth of the counts (grey: none)
    var grids = hover(G.tiles.layer("grids-l3", {params: opts.tiles, svg: true,
      pane: "gridgis-zones-fills", onClick: function () {}, style: function (p) {
        var g = opts.grids[p.code];
        return {className: "gridgis-hh-grid gridgis-code-" + p.code, color: "#ffffff",
                weight: 0.4, opacity: 0.9, fill: true,
                fillColor: g ? g[0] : opts.colours.none, fillOpacity: 0.8};
      }}), function (p) {
        var g = opts.grids[p.code];
        return [[W.name, p.name], [W.code, p.code], [W.households, g ? g[1] : "0"]];
      });
    // households per H3 cell: graduated circles at the cells' centres (radius in metres: the
    // largest fits inside its cell, so they never overlap)
    var cells = L.layerGroup();
    opts.cells.forEach(function (c) {
      var m = L.circle([c[1], c[0]], {radius: c[2], className: "gridgis-hh-h3",
        color: "#ffffff", weight: 1, fillColor: opts.colours.cell, fillOpacity: 0.75});
      var body = el("div", "gridgis-zones-tip");
      [[W.cell, c[4]], [W.resolution, String(opts.resolution)], [W.households, c[3]]]
        .forEach(function (r) {
          var line = el("div");
          line.appendChild(el("b", "", r[0] + COLON));
          line.appendChild(document.createTextNode(r[1]));
          body.appendChild(line);
        });
      m.bindTooltip(body, {direction: "top"});
      cells.addLayer(m);
    });
    var labels = L.layerGroup();
    G.permanentLabels(labels, {rows: opts.labels,
                               css_class: "gridgis-label gridgis-label-zone"});

    var groups = {
      zones: L.layerGroup([zoneFills, labels]),
      grid: L.layerGroup([grids, zoneLines, labels]),
      h3: L.layerGroup([zoneLines, cells, labels]),
    };
    var base = {};
    opts.modes.forEach(function (m) { base[W[m]] = groups[m]; });
    var overlays = {};
    overlays[W.towns] = towns;
    var control = L.control.layers(base, overlays, {collapsed: false, position: "topright"});

    function modeInUrl() {
      var m = new URLSearchParams(window.location.search).get("show");
      return opts.modes.indexOf(m) >= 0 ? m : "zones";
    }
    var mode = null;
    function showLegend() {
      document.querySelectorAll(".gridgis-zones-section").forEach(function (s) {
        s.hidden = s.getAttribute("data-modes").split(" ").indexOf(mode) < 0;
      });
    }
    function publish() {
      window.gridgisZonesLayers = groups;
      window.gridgisZonesReady = {zones: Object.keys(opts.zones).length,
        grids: Object.keys(opts.grids).length, cells: opts.cells.length,
        labels: opts.labels.length, mode: mode};
    }
    // setMode(m): fill what m says (the layer control's radio follows)
    function setMode(m) {
      if (m === mode) { return; }
      opts.modes.forEach(function (k) {
        if (k !== m && map.hasLayer(groups[k])) { map.removeLayer(groups[k]); }
      });
      mode = m;
      if (!map.hasLayer(groups[m])) { groups[m].addTo(map); }
      showLegend();
      publish();
    }
    map.on("baselayerchange", function (e) {
      var m = opts.modes.filter(function (k) { return groups[k] === e.layer; })[0];
      if (!m || m === mode) { return; }
      mode = m;
      showLegend();
      publish();
      var q = new URLSearchParams(window.location.search);
      if (m === "zones") { q.delete("show"); } else { q.set("show", m); }
      var s = q.toString();
      window.history.pushState({show: m}, "", window.location.pathname + (s ? "?" + s : ""));
    });
    // Back/Forward: the mode of that URL (the control's radios follow the map's layers)
    window.addEventListener("popstate", function () { setMode(modeInUrl()); });

    function showLabels() {
      var hide = map.getZoom() < opts.label_zoom;
      L.DomUtil[hide ? "addClass" : "removeClass"](map.getContainer(),
        "gridgis-hide-zone-labels");
    }
    map.on("zoomend", showLabels);

    // Zone labels never overlap: after each move, a label whose box meets one already kept is
    // hidden (the labels come in the server's order, the largest zones first where it sorts
    // them); zooming in shows them again as room appears. Count in gridgisZonesLabels.
    function declutter() {
      var kept = [], hidden = 0;
      map.getContainer().querySelectorAll(".gridgis-label-zone").forEach(function (n) {
        n.classList.remove("gridgis-label-collides");
        var r = n.getBoundingClientRect();
        if (!r.width || !r.height) { return; }
        var hit = kept.some(function (k) {
          return r.left < k.right && r.right > k.left && r.top < k.bottom && r.bottom > k.top;
        });
        if (hit) { n.classList.add("gridgis-label-collides"); hidden += 1; } else { kept.push(r); }
      });
      window.gridgisZonesLabels = {shown: kept.length, hidden: hidden};
    }
    map.on("moveend zoomend overlayadd baselayerchange", function () {
      window.requestAnimationFrame(declutter);
    });

    // An expired session is said here too (as on the other pages): the page's data is in the
    // page, so a small authenticated request asks on opening and at most every 5 s of moving.
    var probed = 0;
    function probeSession() {
      var now = Date.now();
      if (now - probed < 5000) { return; }
      probed = now;
      G.getJSON("/api/v1/grid-names?codes=", W.session || null).catch(function () {
        // a 401 is shown by GridGIS.getJSON (the bar with the login link)
      });
    }
    map.on("moveend", probeSession);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { probeSession(); }
    });
    G.zonesMap = map;  // test hook
    map.whenReady(function () {
      probeSession();
      window.requestAnimationFrame(declutter);
      towns.addTo(map);
      setMode(modeInUrl());
      control.addTo(map);
      if (opts.bounds) {
        // beside the legend, the layer switches and the title, from their real sizes
        G.fitBeside(map, {left: ".gridgis-zones-legend", right: ".leaflet-control-layers",
          top: ".gridgis-title"}).fit(opts.bounds);
      }
      showLabels();
    });
  };
})(window.GridGIS);
