// GridGIS officer app: report an event. The point is the phone's position (WGS 84 from the
// Geolocation API, with its accuracy) or a point tapped on the map; the subclass is chosen from
// the event dictionary (a search box narrows the list); photos are resized on the phone. When
// the network is there, a similar open event nearby (the API's duplicate suggestion) must be
// confirmed as different before sending. The report goes through the outbox (IndexedDB) with
// its Idempotency-Key, so it is sent once even if the network comes and goes.
(function (global) {
  "use strict";

  var M = global.GridGISMobile;
  var doc = global.document;
  var DUPLICATE_RADIUS_M = 50;
  var map = null, marker = null, circle = null;
  var point = null;  // {lon, lat, accuracy_m (null when tapped), source: "gps"|"map"}
  var subclasses = [];
  var duplicates = [];
  var picker = null;

  function $(id) { return doc.getElementById(id); }

  function showError(text) {
    var p = $("report-error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function setPoint(p) {
    point = p;
    var ll = [p.lat, p.lon];
    if (map) {
      if (!marker) { marker = L.marker(ll).addTo(map); } else { marker.setLatLng(ll); }
      if (circle) { circle.remove(); circle = null; }
      if (p.accuracy_m) { circle = L.circle(ll, {radius: p.accuracy_m, weight: 1}).addTo(map); }
      map.setView(ll, Math.max(map.getZoom(), 16));
    }
    var text = p.lon.toFixed(6) + ", " + p.lat.toFixed(6) + " · " +
      (p.source === "gps" ? M.t("accuracy", {m: Math.round(p.accuracy_m)}) : M.t("picked"));
    $("position-text").textContent = text;
    checkDuplicates();
  }

  // The browser's GeolocationPositionError codes in our words (its message is the browser's
  // English: "Timeout expired").
  var GPS_ERRORS = {1: "gps_denied", 2: "gps_unavailable", 3: "gps_timeout"};
  var GPS_TIMEOUT_MS = 60000;  // a first fix in a street canyon may take most of a minute

  function useFix(coords) {
    showError(null);
    setPoint({lon: coords.longitude, lat: coords.latitude, accuracy_m: coords.accuracy,
      source: "gps"});
  }

  // locate(): the latest fix of My grid's watch while fresh (< M.FIX_FRESH_MS, with its
  // accuracy; a second request beside a running watch may never answer), else one new fix.
  function locate() {
    var fix = M.lastFix;
    if (fix && Date.now() - fix.at < M.FIX_FRESH_MS) { useFix(fix.coords); return; }
    if (!global.navigator.geolocation) { showError(M.t("gps_failed", {e: M.t("gps_unavailable")})); return; }
    $("position-text").textContent = M.t("locating");
    global.navigator.geolocation.getCurrentPosition(function (pos) {
      useFix(pos.coords);
    }, function (err) {
      var fresh = M.lastFix;  // the watch may have answered meanwhile
      if (fresh && Date.now() - fresh.at < M.FIX_FRESH_MS) { useFix(fresh.coords); return; }
      if (!point) { $("position-text").textContent = M.t("or_pick"); }
      showError(M.t("gps_failed", {e: M.t(GPS_ERRORS[err && err.code] || "gps_unavailable")}));
    }, {enableHighAccuracy: true, timeout: GPS_TIMEOUT_MS, maximumAge: M.FIX_FRESH_MS});
  }

  function fillSubclasses(filter) {
    var select = $("subclass");
    var chosen = select.value;
    var words = (filter || "").trim().toLowerCase();
    while (select.options.length > 1) { select.remove(1); }
    var matching = subclasses.filter(function (s) {
      return !words || s.search.indexOf(words) >= 0;
    });
    matching.forEach(function (s) {
      var option = M.el("option", null, s.code + " " + s.name + " · " + s.class_name);
      option.value = s.code;
      select.appendChild(option);
    });
    if (matching.length === 1) { select.value = matching[0].code; } else { select.value = chosen; }
    if (select.value !== chosen) { checkDuplicates(); }
  }

  function loadDictionary() {
    // names in the page's language (the worker keeps both languages for offline use)
    return M.get("/api/v1/event-dictionary?lang=" + M.config.lang).then(function (answer) {
      subclasses = [];
      names = {};
      answer.data.forEach(function (c) {
        c.subclasses.forEach(function (s) {
          names[s.code] = s.name;
          if (s.active === false) { return; }
          subclasses.push({code: s.code, name: s.name, class_name: c.name,
            search: (s.code + " " + s.name + " " + c.code + " " + c.name).toLowerCase()});
        });
      });
      fillSubclasses($("subclass-search").value);
      M.emit("dictionary");
    });
  }

  // subclassName(code): the subclass's name in the page's language from the dictionary (null
  // before it is read): my tasks and grid name their cases by it, so an answer kept offline
  // in the other language still reads in this page's language
  var names = {};
  M.subclassName = function (code) {
    return Object.prototype.hasOwnProperty.call(names, code) ? names[code] : null;
  };

  function showDuplicates(rows) {
    duplicates = rows;
    var box = $("duplicates");
    var list = $("duplicates-list");
    list.textContent = "";
    $("not-duplicate").checked = false;
    box.hidden = !rows.length;
    if (!rows.length) { return; }
    $("duplicates-text").textContent = M.t("duplicates", {m: DUPLICATE_RADIUS_M});
    rows.forEach(function (e) {
      list.appendChild(M.el("li", null, "#" + e.id + " " + (e.status ? M.t("status_" + e.status) : "") +
        " " + M.when(e.reported_at) + " " + (e.description || "")));
    });
  }

  var dupSeq = 0;
  function checkDuplicates() {
    var code = $("subclass").value;
    if (!point || !code || global.navigator.onLine === false) { showDuplicates([]); return; }
    var seq = ++dupSeq;
    var q = new URLSearchParams({lon: point.lon, lat: point.lat, crs: "wgs84", subclass: code,
      within_m: DUPLICATE_RADIUS_M});
    M.get("/api/v1/events/duplicates?" + q).then(function (answer) {
      if (seq === dupSeq) { showDuplicates(answer.data || []); }
    }, function () {
      if (seq === dupSeq) { showDuplicates([]); }  // no network: checked by the API on send
    });
  }

  function submit(ev) {
    ev.preventDefault();
    showError(null);
    if (!point) { showError(M.t("no_position")); return; }
    var code = $("subclass").value;
    if (!code) { showError(M.t("no_category")); return; }
    var confirmed = $("not-duplicate").checked;
    if (duplicates.length && !confirmed) { showError(M.t("confirm_duplicate")); return; }
    var fields = {
      lon: point.lon, lat: point.lat, crs: "wgs84", subclass: code,
      description: $("description").value.trim(), source: "patrol",
      reported_at: new Date().toISOString(), ignore_duplicates: Boolean(confirmed),
    };
    if (point.accuracy_m) { fields.location_accuracy_m = Math.round(point.accuracy_m * 10) / 10; }
    // the label is made from the code when the outbox is shown (in the language of that moment)
    M.outbox.add("report", "/api/v1/events", fields, picker.blobs(), {subclass: code}).then(function () {
      // the next report starts afresh: no subclass, search, description or photos (the
      // position is kept: the officer is still there; "use my position" takes a new fix)
      $("description").value = "";
      $("subclass").value = "";
      $("subclass-search").value = "";
      fillSubclasses("");
      picker.clear();
      showDuplicates([]);
      M.outbox.items().then(function (items) {
        M.toast(M.t("queued", {n: items.length}));
      });
      M.outbox.flush();
    }, function (err) { showError(String(err && err.message || err)); });
  }

  // show(): called when the tab opens (Leaflet needs a visible container)
  M.showReport = function () {
    if (!map) {
      map = M.makeMap("report-map");
      map.on("click", function (e) {
        setPoint({lon: e.latlng.lng, lat: e.latlng.lat, accuracy_m: null, source: "map"});
      });
      M.drawMyGrids(map);
    } else {
      map.invalidateSize();
    }
    if (!subclasses.length) { M.loadDictionary(); }
  };

  // subclassLabel(code): "0401 name · class name" in the page's language (the code alone
  // before the dictionary is read)
  M.subclassLabel = function (code) {
    var s = subclasses.filter(function (x) { return x.code === code; })[0];
    return s ? s.code + " " + s.name + " · " + s.class_name : code;
  };

  // loadDictionary(): the subclasses, read at start so that they are at hand offline
  M.loadDictionary = function () {
    return loadDictionary().catch(function (e) { showError(e.detail); });
  };

  M.initReport = function () {
    $("photos-hint").textContent = M.t("photos_hint", {n: M.config.max_photos});
    picker = M.photoPicker($("photos"), $("photo-previews"), showError);
    $("use-gps").addEventListener("click", locate);
    $("subclass-search").addEventListener("input", function () {
      fillSubclasses($("subclass-search").value);
    });
    $("subclass").addEventListener("change", checkDuplicates);
    $("report-form").addEventListener("submit", submit);
  };
})(window);
