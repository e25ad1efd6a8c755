// /live: officers' last positions, polled (maps/live_map.py starts it with {url, poll_ms}),
// with the online/offline counts and a list of everyone (a click shows the officer).
// One marker per device, kept across polls: moved, restyled and its popup text updated in
// place (an open popup stays open); only devices that vanished are removed. Test hook:
// window.gridgisLive = {count, online, offline, updated} after each successful poll;
// window.gridgisLiveMarkers: device id -> its Leaflet marker.
(function (G) {
  "use strict";

  var TEXT = {
    zh: {
      grid: "网格", age: "距今", playback: "轨迹回放", online: "在线", offline: "离线",
      ago: "{d}前", nobody: "暂无巡查人员位置",
      positions: "实时位置", lastDay: "回放最后有定位的一天（{day}）",
      offlineOnly: "仅显示离线超过 {n} 分钟的人员{scope}", showAll: "显示全部",
    },
    en: {
      grid: "Grid", age: "Last fix", playback: "Playback", online: "Online", offline: "Offline",
      ago: "{d} ago",
      nobody: "No officer has sent a position yet", positions: "live positions",
      lastDay: "replay the last day with fixes ({day})",
      offlineOnly: "Only officers offline for more than {n} minutes{scope}", showAll: "show all",
    },
  };
  var DAY_S = 86400;

  // how long ago, in the one duration format of every page (GridGIS.duration)
  function ago(seconds) { return G.t(TEXT, "ago", {d: G.duration(seconds)}); }

  // The calendar day (YYYY-MM-DD) of an ISO time in Asia/Shanghai, and the day after it.
  function shanghaiDay(iso) { return G.dateOnly(iso); }
  function nextDay(day) {
    var d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  // Playback of the last 24 h for an officer seen in the last 24 h; for one silent longer,
  // the last day on which the device sent fixes (never an empty replay).
  function playbackHref(p) {
    var q = new URLSearchParams({device: String(p.device_id)});
    if (p.age_s > DAY_S && p.fix_time) {
      var day = shanghaiDay(p.fix_time);
      q.set("from", day);
      q.set("to", nextDay(day));
    }
    if (G.pageLang() === "en") { q.set("lang", "en"); }
    return "/playback?" + q.toString();
  }

  // popupContent(p, roles): roles are the page's role names (maps/styles.py ROLE_NAMES)
  function popupContent(p, roles) {
    var box = G.el("div", "gridgis-officer-popup");
    var head = G.el("div", "gridgis-officer-head");
    head.appendChild(G.el("b", "gridgis-officer-name", p.name));
    if (p.role) {
      var role = roles[p.role] || p.role;
      head.appendChild(G.el("span", "gridgis-officer-role", " " + role));
    }
    box.appendChild(head);
    // the grid by its name and town (its code on hover), named when the names arrive
    var gridBox = G.el("div", null, G.t(TEXT, "grid") + ": " + (p.grid ? G.gridLabel(p.grid, p.grid_name) : "—"));
    if (p.grid) {
      gridBox.title = p.grid;
      G.gridNames([p.grid]).then(function () {
        gridBox.textContent = G.t(TEXT, "grid") + ": " + G.gridLabel(p.grid, p.grid_name);
      });
    }
    box.appendChild(gridBox);
    box.appendChild(G.el("div", null, G.t(TEXT, "age") + ": " + ago(p.age_s)));
    var link = G.el("a", "gridgis-playback-link", G.t(TEXT, "playback"));
    link.href = playbackHref(p);
    if (p.age_s > DAY_S && p.fix_time) {
      link.title = G.t(TEXT, "lastDay", {day: shanghaiDay(p.fix_time)});
    }
    box.appendChild(link);
    return box;
  }

  function markerStyle(p) {
    return {radius: 7, weight: 2, color: "#fff", fillOpacity: 0.95,
      fillColor: p.online ? "#1a9850" : "#999", className: "gridgis-officer"};
  }

  G.views.live = function (map, opts) {
    var layer = L.layerGroup().addTo(map);
    var markers = {};  // device id -> circle marker
    window.gridgisLiveMarkers = markers;

    var countBox = G.panel(map, "topleft", "leaflet-control gridgis-live-counts");

    // The picker: an officer on patrol today is shown here (his popup; the address keeps
    // ?device= so Back and reload work); another day opens his playback of that day.
    var focus = new URLSearchParams(window.location.search).get("device");
    function show(id) {
      var marker = markers[String(id)];
      if (!marker) { return false; }
      map.setView(marker.getLatLng(), Math.max(map.getZoom(), 16), {animate: false});
      marker.openPopup();
      return true;
    }
    G.officerPicker(map, {onPick: function (o, day) {
      var q = new URLSearchParams({device: String(o.device_id)});
      if (G.pageLang() === "en") { q.set("lang", "en"); }
      if (day === G.shanghaiToday() && show(o.device_id)) {
        window.history.pushState(null, "", "?" + q.toString());
        return;
      }
      q.set("date", day);
      window.location.assign("/playback?" + q.toString());
    }});
    window.addEventListener("popstate", function () {
      focus = new URLSearchParams(window.location.search).get("device");
      if (focus && show(focus)) { focus = null; } else { map.closePopup(); }
    });

    // The counts, then every officer (online first, most recent first): a click shows him.
    function showCounts(total, online, people) {
      var list = countBox.querySelector(".gridgis-live-list");
      var scrolled = list ? list.scrollTop : 0;
      countBox.textContent = "";
      if (!total) {
        countBox.appendChild(G.el("span", "gridgis-live-nobody", G.t(TEXT, "nobody")));
        return;
      }
      var head = countBox.appendChild(G.el("div", "gridgis-live-totals"));
      head.appendChild(G.el("span", "gridgis-live-online", G.t(TEXT, "online") + " " + online));
      head.appendChild(G.el("span", "gridgis-live-offline",
        G.t(TEXT, "offline") + " " + (total - online)));
      list = countBox.appendChild(G.el("ol", "gridgis-live-list"));
      people.slice().sort(function (a, b) {
        return (b.online - a.online) || (a.age_s - b.age_s);
      }).forEach(function (p) {
        var item = G.el("li", p.online ? "gridgis-live-item-online" : "gridgis-live-item-offline");
        item.setAttribute("data-device", String(p.device_id));
        item.appendChild(G.el("span", "gridgis-live-item-name", p.name));
        item.appendChild(G.el("span", "gridgis-live-item-age", ago(p.age_s)));
        item.addEventListener("click", function () {
          var marker = markers[String(p.device_id)];
          if (!marker) { return; }
          map.setView(marker.getLatLng(), Math.max(map.getZoom(), 16), {animate: false});
          marker.openPopup();
        });
        list.appendChild(item);
      });
      list.scrollTop = scrolled;
    }

    // ?offline_min=N[&scope=code] (the front page's "see all" of its offline officers): only
    // the devices whose last usable fix lies in a grid of the scope and is older than N
    // minutes, the rule of layers/dashboard.py patrol_panel
    var here = new URLSearchParams(window.location.search);
    var offlineMin = parseInt(here.get("offline_min") || "", 10), offlineScope = here.get("scope") || "";
    if (offlineMin > 0) {
      var all = new URLSearchParams(here);
      all.delete("offline_min");
      all.delete("scope");
      var bar = G.panel(map, "topright", "leaflet-control gridgis-live-counts gridgis-live-filter");
      var label = bar.appendChild(G.el("span", null, ""));
      label.title = offlineScope;
      var named = function () {  // the scope by its name (its code on hover)
        label.textContent = G.t(TEXT, "offlineOnly",
          {n: offlineMin, scope: offlineScope ? " · " + G.gridText(offlineScope) : ""}) + " · ";
      };
      named();
      if (offlineScope) { G.gridNames([offlineScope]).then(named); }
      var allLink = bar.appendChild(G.el("a", null, G.t(TEXT, "showAll")));
      allLink.href = window.location.pathname + (all.toString() ? "?" + all.toString() : "");
    }
    function wanted(data) {
      if (!(offlineMin > 0)) { return data; }
      var features = (data.features || []).filter(function (f) {
        var p = f.properties;
        return p.grid && p.grid.indexOf(offlineScope) === 0 && p.age_s > offlineMin * 60;
      });
      var online = features.filter(function (f) { return f.properties.online; }).length;
      return Object.assign({}, data, {features: features, count: features.length, online: online});
    }

    function update(data) {
      data = wanted(data);
      var seen = {};
      (data.features || []).forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties, id = String(p.device_id);
        var where = [c[1], c[0]], marker = markers[id];
        seen[id] = true;
        if (!marker) {
          marker = L.circleMarker(where, markerStyle(p))
            .bindPopup(popupContent(p, opts.roles || {}))
            .bindTooltip(G.el("span", "gridgis-officer-tip", p.name))
            .addTo(layer);
          markers[id] = marker;
        } else {
          marker.setLatLng(where);
          marker.setStyle(markerStyle(p));
          marker.setPopupContent(popupContent(p, opts.roles || {}));
          marker.setTooltipContent(G.el("span", "gridgis-officer-tip", p.name));
        }
      });
      Object.keys(markers).forEach(function (id) {
        if (!seen[id]) {
          layer.removeLayer(markers[id]);
          delete markers[id];
        }
      });
      var total = data.count || 0, online = data.online || 0;
      showCounts(total, online, (data.features || []).map(function (f) { return f.properties; }));
      window.gridgisLive = {count: total, online: online, offline: total - online,
        updated: Date.now()};
      if (focus && show(focus)) { focus = null; }  // ?device= of the address, once drawn
    }

    // every poll asks; only the latest answer is drawn (a slower earlier one is dropped)
    var polls = G.latest();
    var timer = null;
    function poll() {
      polls.get(opts.url, G.t(TEXT, "positions")).then(update).catch(function (error) {
        // An expired session will not come back by itself: stop polling, keep the last
        // positions on the map under the message that asks to log in again.
        if (error.status === 401 && timer !== null) {
          clearInterval(timer);
          timer = null;
        }
        if (!error.shown) { throw error; }
      });
    }
    poll();
    timer = setInterval(poll, opts.poll_ms || 5000);
  };
})(window.GridGIS);
