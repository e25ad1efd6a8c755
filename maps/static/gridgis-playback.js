// /playback: a device's track replayed (maps/playback_map.py starts it). The page reads
// ?device= and ?date= (a Beijing day; or ?from=/&to=) from its own address, so one cached page
// serves every device. The picker (gridgis-picker.js) chooses an officer and a day: the track
// is loaded in place and the address follows (Back works). The header names the officer and
// the day. Times are shown in Asia/Shanghai. Test hook: window.gridgisPlayback = {ready,
// vertices, stops, t, playing, speed} once the track is drawn, {ready: false, loading: true}
// while a picked one loads, or {ready: false, error} when it cannot be.
(function (G) {
  "use strict";

  var TEXT = {
    zh: {
      play: "播放", pause: "暂停", stop: "停留", mileage: "里程", moving: "移动", min: "分钟",
      km: "{v} 公里", stops: "停留 {n} 次", stops_one: "停留 {n} 次",
      track: "轨迹", noDevice: "地址中缺少设备编号：请在右上角选择队员和日期", empty: "该时段内没有定位点",
      unknown: "没有编号为 {device} 的设备，请重新选择队员", forbidden: "该队员不在您的管辖范围内",
      badDevice: "地址中的设备编号 {device} 无效，请重新选择队员", badDay: "日期无效：请重新选择日期",
      badGrid: "地址中的网格编码 {grid} 无效（应为 9、12 或 15 位数字）：请在右上角选择队员",
      last24: "最近 24 小时", officer: "队员信息", pick: "请在右上角的列表中选择队员",
      speed: "回放速度", time: "时间", tz: "（北京时间）", failed: "加载轨迹失败：{detail}",
    },
    en: {
      play: "Play", pause: "Pause", stop: "Stop", mileage: "Mileage", moving: "Moving",
      km: "{v} km", stops: "{n} stops", stops_one: "{n} stop",
      min: "min", track: "the track", noDevice: "The address names no device: pick an officer and a day (top right)",
      unknown: "there is no device {device}; pick the officer again",
      forbidden: "This officer is outside your area",
      badDevice: "the device in the address ({device}) is not a device number; pick the officer again",
      badDay: "The day is not valid: pick the day again", last24: "the last 24 hours",
      badGrid: "The grid in the address ({grid}) is not a grid code (9, 12 or 15 digits): pick an officer (top right)",
      officer: "the officer", pick: "Pick an officer from the list (top right)",
      empty: "No fixes in this period", speed: "Playback speed", time: "Time",
      tz: "(Beijing time, UTC+8)", failed: "Could not load the track: {detail}",
    },
  };
  var SPEEDS = [10, 60, 300, 1200];
  // Epoch milliseconds as "2026-11-30 08:00:00" in Beijing time (GridGIS.dateTime, the one
  // format of every page; the zone is named beside the clock).
  function clock(ms) { return G.dateTime(ms, {seconds: true}); }

  // What the page's own address asks for: {device, date, from, to} (strings or null).
  function wanted() {
    var q = new URLSearchParams(window.location.search);
    return {device: q.get("device"), date: q.get("date"), from: q.get("from"), to: q.get("to"),
      grid: q.get("grid")};
  }

  // The day a wanted {date, from} shows (in the picker and the title): ?date=, else the day
  // of ?from= (the link of /live names from/to), else null (the last 24 hours).
  function dayOf(w) {
    if (w.date) { return w.date; }
    return w.from && G.isDay(w.from.slice(0, 10)) ? w.from.slice(0, 10) : null;
  }

  // The track URL of a wanted {device, date, from, to}: a day (Beijing time) or from/to.
  function trackUrl(w) {
    var p = new URLSearchParams();
    if (w.date) {
      p.set("from", w.date);
      p.set("to", G.nextDay(w.date));
    } else {
      ["from", "to"].forEach(function (k) { if (w[k]) { p.set(k, w[k]); } });
    }
    var rest = p.toString();
    return "/api/v1/devices/" + encodeURIComponent(w.device) + "/track" + (rest ? "?" + rest : "");
  }

  // A failed track request said in the page's language (the API's detail only as the cause).
  function problemText(error) {
    var field = (error.problem && error.problem.field) || "";
    if (error.status === 401) { return error.message; }
    var device = {device: wanted().device};
    if (error.status === 404) { return G.t(TEXT, "failed", {detail: G.t(TEXT, "unknown", device)}); }
    if (error.status === 403) { return G.t(TEXT, "forbidden"); }
    if (error.status === 422 && field.indexOf("device") === 0) {
      return G.t(TEXT, "failed", {detail: G.t(TEXT, "badDevice", device)});
    }
    if (error.status === 422 && (field === "from" || field === "to")) {
      return G.t(TEXT, "badDay");
    }
    return G.t(TEXT, "failed", {detail: error.message});
  }

  function panel() {
    var d = L.DomUtil.create("div", "gridgis-playback leaflet-bar");
    var play = G.el("button", null, G.t(TEXT, "play"));
    play.id = "gg-play";
    play.type = "button";
    play.disabled = true;
    var speed = G.el("select");
    speed.id = "gg-speed";
    speed.title = G.t(TEXT, "speed");
    SPEEDS.forEach(function (s) {
      var o = G.el("option", null, s + "×");
      o.value = String(s);
      o.selected = s === 60;
      speed.appendChild(o);
    });
    var clockBox = G.el("span", "gridgis-playback-clock");
    clockBox.id = "gg-clock";
    var zone = G.el("span", "gridgis-playback-tz", G.t(TEXT, "tz"));
    var slider = G.el("input");
    slider.id = "gg-slider";
    slider.type = "range";
    slider.min = "0";
    slider.max = "1000";
    slider.value = "0";
    slider.title = G.t(TEXT, "time");
    var summary = G.el("div", "gridgis-playback-summary");
    summary.id = "gg-summary";
    [play, document.createTextNode(" "), speed, document.createTextNode(" "), clockBox,
      document.createTextNode(" "), zone, G.el("br"), slider, summary].forEach(function (n) { d.appendChild(n); });
    L.DomEvent.disableClickPropagation(d);
    return {box: d, play: play, speed: speed, clock: clockBox, slider: slider, summary: summary};
  }

  G.views.playback = function (map) {
    var pts = [], stops = [], stopMarkers = [], labelsShown = 0, t0 = 0, t1 = 0, t = 0, playing = false, speed = 60;
    var marker = null, last = null, ui = null;
    var layer = L.layerGroup().addTo(map), tracks = G.latest(), officers = G.latest();
    var control = L.control({position: "bottomright"});
    control.onAdd = function () { ui = panel(); return ui.box; };
    control.addTo(map);
    // the track is shown beside the page's panels and legend, none covering any of it
    var fitter = G.fitBeside(map, {margin: 30});  // every control, by its corner
    var head = L.control({position: "topleft"});
    var headBox = G.el("div", "gridgis-playback-head leaflet-bar");
    headBox.id = "gg-head";
    head.onAdd = function () { return headBox; };
    head.addTo(map);
    var picker = G.officerPicker(map, {day: dayOf(wanted()), onPick: function (o, day) {
      var q = new URLSearchParams({device: String(o.device_id), date: day});
      if (G.pageLang() === "en") { q.set("lang", "en"); }
      // one history entry per officer and day: the same address again is not a new entry
      if ("?" + q.toString() !== window.location.search) {
        window.history.pushState(null, "", "?" + q.toString());
      }
      load(o);
    }});

    function at(time) {
      if (!pts.length) { return null; }
      var lo = 0, hi = pts.length - 1;
      if (time <= pts[0][0]) { return pts[0]; }
      if (time >= pts[hi][0]) { return pts[hi]; }
      while (hi - lo > 1) {
        var mid = (lo + hi) >> 1;
        if (pts[mid][0] <= time) { lo = mid; } else { hi = mid; }
      }
      var a = pts[lo], b = pts[hi];
      if (a[3] !== b[3]) { return a; }  // across a GPS silence: stay put
      var f = (time - a[0]) / Math.max(1, b[0] - a[0]);
      return [time, a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), a[3]];
    }
    function show() {
      var p = at(t);
      if (p && marker) { marker.setLatLng([p[2], p[1]]); }
      ui.clock.textContent = pts.length ? clock(t) : "—";
      ui.slider.value = t1 > t0 ? Math.round(1000 * (t - t0) / (t1 - t0)) : 0;
      window.gridgisPlayback = {ready: true, vertices: pts.length, stops: stops.length, t: t,
        playing: playing, speed: speed, labels: labelsShown};
    }
    // Stop labels that would cover one another are hidden (the longer stop keeps its label);
    // every stop keeps its words in its popup (click). Boxes in map pixels: a tooltip to the
    // right of its marker, centred on it vertically.
    function declutter() {
      var kept = [];
      stopMarkers.slice().sort(function (a, b) { return b.gridgisDuration - a.gridgisDuration; })
        .forEach(function (m) {
          var el = m.getTooltip() && m.getTooltip().getElement();
          if (!el) { return; }
          var at = map.latLngToContainerPoint(m.getLatLng());
          var w = el.offsetWidth, h = el.offsetHeight;
          var box = {left: at.x, right: at.x + 12 + w, top: at.y - h / 2, bottom: at.y + h / 2};
          var clash = kept.some(function (k) {
            return box.left < k.right && k.left < box.right && box.top < k.bottom &&
              k.top < box.bottom;
          });
          el.classList.toggle("gridgis-label-hidden", clash);
          if (!clash) { kept.push(box); }
        });
      labelsShown = kept.length;
      if (pts.length) { show(); }
    }
    map.on("zoomend", declutter);

    function tick(now) {
      if (!playing) { return; }
      if (last !== null) { t = Math.min(t1, t + (now - last) * speed); }
      last = now;
      if (t >= t1) { playing = false; ui.play.textContent = G.t(TEXT, "play"); }
      show();
      if (playing) { requestAnimationFrame(tick); }
    }
    function heading(officer, w) {
      headBox.textContent = "";
      if (officer) {
        var who = G.el("b", "gridgis-playback-who", G.officerLabel(officer));
        if (officer.grid) {
          who.title = officer.grid;
          G.gridNames([officer.grid]).then(function () { who.textContent = G.officerLabel(officer); });
        }
        headBox.appendChild(who);
      }
      var when = dayOf(w) || G.t(TEXT, "last24");
      headBox.appendChild(G.el("span", "gridgis-playback-day", (officer ? " · " : "") + when));
    }
    function failed(message) {
      ui.summary.textContent = message;
      ui.summary.classList.add("gridgis-playback-error");
      ui.clock.textContent = "—";
      window.gridgisPlayback = {ready: false, error: message};
    }

    ui.play.addEventListener("click", function () {
      playing = !playing;
      last = null;
      if (playing && t >= t1) { t = t0; }
      ui.play.textContent = playing ? G.t(TEXT, "pause") : G.t(TEXT, "play");
      show();
      if (playing) { requestAnimationFrame(tick); }
    });
    ui.speed.addEventListener("change", function () { speed = Number(ui.speed.value); show(); });
    ui.slider.addEventListener("input", function () {
      t = t0 + (t1 - t0) * Number(ui.slider.value) / 1000;
      show();
    });

    function draw(data) {
      var bounds = [];
      (data.features || []).forEach(function (f) {
        var p = f.properties;
        if (p.kind === "segment") {
          var line = f.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
          L.polyline(line, {color: "#d7301f", weight: 4, opacity: 0.85,
            className: "gridgis-track"}).addTo(layer);
          f.geometry.coordinates.forEach(function (c, i) {
            pts.push([p.times[i], c[0], c[1], p.segment]);
          });
          bounds = bounds.concat(line);
        } else if (p.kind === "stop") {
          var c = f.geometry.coordinates;
          stops.push(p);
          var tip = G.t(TEXT, "stop") + " " + Math.round(p.duration_s / 60) + " " +
            G.t(TEXT, "min");
          var stop = L.circleMarker([c[1], c[0]], {radius: 9, color: "#08519c", fillOpacity: 0.6,
            className: "gridgis-stop"})
            .bindTooltip(G.el("span", null, tip), {permanent: true, direction: "right",
              className: "gridgis-stop-label"})
            .bindPopup(G.el("span", null, tip + " · " + clock(p.start) + " " + G.t(TEXT, "tz")))
            .addTo(layer);
          stop.gridgisDuration = p.duration_s || 0;
          stopMarkers.push(stop);
        }
      });
      if (!pts.length) {
        failed(G.t(TEXT, "empty"));
        return;
      }
      t0 = t = pts[0][0];
      t1 = pts[pts.length - 1][0];
      marker = L.circleMarker([pts[0][2], pts[0][1]], {radius: 8, color: "#000",
        fillColor: "#fee08b", fillOpacity: 1, className: "gridgis-cursor"}).addTo(layer);
      fitter.fit(bounds);
      declutter();
      var s = data.summary || {};
      ui.summary.textContent = G.t(TEXT, "mileage") + " " +
        G.t(TEXT, "km", {v: ((s.mileage_m || 0) / 1000).toFixed(2)}) + " · " +
        G.t(TEXT, "moving") + " " + Math.round((s.moving_time_s || 0) / 60) + " " +
        G.t(TEXT, "min") + " · " +
        G.t(TEXT, "stops", {n: s.stops || 0});
      ui.play.disabled = false;
      show();
    }

    // Forget the drawn track and draw the one the address asks for (``known``: the officer
    // just picked, so the header needs no request).
    function load(known) {
      var w = wanted();
      layer.clearLayers();
      pts = [];
      stops = [];
      stopMarkers = [];
      labelsShown = 0;
      t0 = t1 = t = 0;
      playing = false;
      marker = null;
      ui.play.disabled = true;
      ui.play.textContent = G.t(TEXT, "play");
      ui.summary.textContent = "";
      ui.summary.classList.remove("gridgis-playback-error");
      if (dayOf(w)) { picker.setDay(dayOf(w)); }
      if (!w.device && w.grid && !/^[0-9]{9}([0-9]{3}){0,2}$/.test(w.grid)) {
        heading(null, w);
        tracks.drop();
        failed(G.t(TEXT, "badGrid", {grid: w.grid}));
        return;
      }
      if (!w.device && w.grid) {
        // from a grid or an event: who patrolled that grid that day, to pick from
        heading(null, w);
        tracks.drop();
        picker.visits(w.grid, G.isDay(w.date) ? w.date : G.shanghaiToday());
        failed(G.t(TEXT, "pick"));
        return;
      }
      if (!w.device) {
        heading(null, w);
        tracks.drop();
        officers.drop();
        picker.setOfficer(null);
        failed(G.t(TEXT, "noDevice"));
        return;
      }
      if (!/^[1-9][0-9]{0,9}$/.test(w.device)) {
        heading(null, w);
        failed(G.t(TEXT, "failed", {detail: G.t(TEXT, "badDevice", {device: w.device})}));
        return;
      }
      if (w.date && !G.isDay(w.date)) {
        heading(null, w);
        failed(G.t(TEXT, "badDay"));
        return;
      }
      if (window.gridgisPlayback !== undefined) {  // a later load: the hook says it is under way
        window.gridgisPlayback = {ready: false, loading: true};
      }
      heading(known || null, w);
      if (known) {
        officers.drop();
      } else {
        var url = "/api/v1/patrol/officers?" + new URLSearchParams({device: w.device,
          lang: G.pageLang()});
        officers.get(url, G.t(TEXT, "officer"), {quiet: true}).then(function (data) {
          var o = (data.officers || [])[0] || null;
          picker.setOfficer(o);
          heading(o, w);
        }).catch(function () { return null; });  // the track's own request says what failed
      }
      tracks.get(trackUrl(w), G.t(TEXT, "track"), {quiet: true}).then(draw).catch(function (e) {
        if (e.stale) { return; }
        failed(problemText(e));  // in the player, in the page's language
      });
    }
    window.addEventListener("popstate", function () { load(null); });
    load(null);
  };
})(window.GridGIS);
