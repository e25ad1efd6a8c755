// /events/map: every event as a dot coloured by status (red when overdue) in a marker cluster;
// a click opens the case's timeline, fetched when the popup opens (maps/events_map.py starts
// it with {rows, colors, words, bounds} and the folium cluster). Test hooks:
// window.gridgisEventsReady = {events, overdue}; gridgisEventMarkers, gridgisEventCluster,
// gridgisEventsMap.
(function (G) {
  "use strict";

  // Times are shown in Shanghai wall-clock time whatever the browser's zone.
  var CLOCK = new Intl.DateTimeFormat("sv-SE", {timeZone: "Asia/Shanghai", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});

  G.views.events = function (map, opts, layers) {
    var rows = opts.rows || [], colors = opts.colors, words = opts.words;
    var cluster = layers.cluster;

    function statusName(s) { return words.status[s] || s; }

    function popupBody(e) {
      var box = G.el("div", "gridgis-event-popup");
      box.appendChild(G.el("b", null, "#" + e.id + " " + (e.description || "")));
      box.appendChild(G.el("br"));
      var routing = e.routing || {};
      box.appendChild(G.el("span", null,
        [routing.grid_code, routing.department].filter(Boolean).join(" · ")));
      if (e.overdue) {
        box.appendChild(G.el("span", null, " · "));
        box.appendChild(G.el("b", "gridgis-event-overdue-text", words.overdue));
      }
      if (e.calendar_unconfirmed) {  // a deadline in a year without a holiday table
        box.appendChild(G.el("br"));
        box.appendChild(G.el("span", "gridgis-event-unconfirmed",
          G.format(words.unconfirmed, {years: (e.calendar_unconfirmed_years || []).join(", ")})));
      }
      box.appendChild(G.el("h6", null, words.timeline));
      var list = G.el("ol", "gridgis-timeline");
      (e.timeline || []).forEach(function (s) {
        var item = G.el("li");
        item.appendChild(G.el("b", null, CLOCK.format(new Date(s.at))));
        item.appendChild(G.el("span", null, " " + [statusName(s.to), s.actor, s.note]
          .filter(Boolean).join(" · ")));
        list.appendChild(item);
      });
      box.appendChild(list);
      return box;
    }

    function timeline(id, popup) {
      G.getJSON("/api/v1/events/" + encodeURIComponent(id), words.timeline)
        .then(function (e) { popup.setContent(popupBody(e)); })
        .catch(function (err) {
          popup.setContent(G.el("div", "gridgis-event-popup",
            G.format(words.failed, {e: err.message})));
        });
    }

    var markers = rows.map(function (r) {
      var color = r.overdue ? colors.overdue : (colors[r.status] || "#333");
      var m = L.circleMarker([r.lat, r.lon], {
        radius: 6, color: "#ffffff", weight: 1, fillColor: color, fillOpacity: 0.9,
        className: "gridgis-event gridgis-event-" + r.status +
          (r.overdue ? " gridgis-event-overdue" : ""),
      });
      m.bindTooltip(G.el("span", null, r.subclass + " · " + statusName(r.status)));
      m.bindPopup(G.el("div", "gridgis-event-popup", words.loading), {maxWidth: 360});
      m.on("popupopen", function (ev) { timeline(r.id, ev.popup); });
      m.gridgisId = r.id;
      return m;
    });
    cluster.addLayers(markers);
    map.whenReady(function () {
      if (opts.bounds) { map.fitBounds(opts.bounds, {animate: false}); }
      window.gridgisEventMarkers = markers;
      window.gridgisEventCluster = cluster;
      window.gridgisEventsMap = map;
      window.gridgisEventsReady = {
        events: markers.length,
        overdue: rows.filter(function (r) { return r.overdue; }).length,
      };
    });
  };
})(window.GridGIS);
