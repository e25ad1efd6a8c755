// /events/map: the dispatcher's event map (maps/events_map.py builds the page; options
// {words, colors, subclasses, note_actions, poll_ms}).
// - Dots from /api/v1/event-map/points (the filter of the page's URL), coloured by status, red
//   when overdue, a thick amber ring when due soon; clusters coloured by their most urgent dot.
// - The list beside the map from /api/v1/event-map/rows (paged); a row selects its dot.
// - Both refresh every poll_ms: dots are updated in place, so an open popup stays open.
// - A dot's popup shows the case, its timeline and the workflow actions the caller's role may
//   take (allowed_actions of GET /api/v1/events/{id}); acting POSTs to the workflow API and
//   says what went wrong in the page's language.
// - Town outlines come from the vector tiles (gridgis-tiles.js): the page carries no geometry.
// Test hook: window.gridgisEvents = {ready, events, overdue, polls, actions, markers (by id),
// map, cluster, select(id), refresh()}.
(function (G) {
  "use strict";

  var FILTER_KEYS = ["status", "class", "town", "overdue", "source", "from", "to"];
  var PAGE_SIZE = 20;

  function $(id) { return document.getElementById(id); }

  G.views.events = function (map, opts) {
    var W = opts.words, colors = opts.colors, names = opts.subclasses || {};
    var lang = G.pageLang();
    var markers = {};
    var hook = window.gridgisEvents = {ready: false, events: 0, overdue: 0, polls: 0, actions: 0,
      markers: markers, map: map};

    // counts with the page's language's digit grouping, not the browser's locale
    function num(n) { return Number(n).toLocaleString(lang === "en" ? "en" : "zh-CN"); }
    function statusName(s) { return W.status_names[s] || s; }
    function subclassName(code) { return names[code] || code; }
    var eventCase = G.eventCase({words: W, subclassName: subclassName,
      noteActions: opts.note_actions || [],
      onActed: function () { hook.actions += 1; return refresh(false); }});
    var showEvent = eventCase.show, when = eventCase.when;

    // --- the filter lives in the URL (Back and reload keep it) ------------------------------
    function readUrl() {
      var q = new URLSearchParams(window.location.search);
      var f = {};
      FILTER_KEYS.forEach(function (k) { f[k] = q.get(k) || ""; });
      f.page = Math.max(1, parseInt(q.get("page") || "1", 10) || 1);
      return f;
    }
    var filter = readUrl();

    function writeUrl(push) {
      var q = new URLSearchParams(window.location.search);
      FILTER_KEYS.forEach(function (k) { if (filter[k]) { q.set(k, filter[k]); } else { q.delete(k); } });
      if (filter.page > 1) { q.set("page", String(filter.page)); } else { q.delete("page"); }
      var url = window.location.pathname + (q.toString() ? "?" + q.toString() : "");
      window.history[push ? "pushState" : "replaceState"](null, "", url);
      var other = document.querySelector(".gridgis-nav-lang");  // the language switch keeps it
      if (other) {
        if (lang === "en") { q.delete("lang"); } else { q.set("lang", "en"); }
        other.href = window.location.pathname + (q.toString() ? "?" + q.toString() : "");
      }
    }

    function apiQuery(extra) {
      var q = new URLSearchParams();
      FILTER_KEYS.forEach(function (k) { if (filter[k]) { q.set(k, filter[k]); } });
      var days = new URLSearchParams(window.location.search).get("days");
      if (days) { q.set("days", days); }  // the window without a from date (default 30)
      q.set("lang", lang);
      Object.keys(extra || {}).forEach(function (k) { q.set(k, String(extra[k])); });
      return q.toString();
    }

    var form = $("events-filter");
    // the days of the filter as 2026-12-01 whatever the browser's language
    form.querySelectorAll("input[type=date]").forEach(G.isoDay);
    function fillForm() {
      FILTER_KEYS.forEach(function (k) { if (form.elements[k]) { form.elements[k].value = filter[k]; } });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      FILTER_KEYS.forEach(function (k) { filter[k] = form.elements[k].value; });
      filter.page = 1;
      writeUrl(true);
      refresh(true);
    });
    $("events-reset").addEventListener("click", function () {
      FILTER_KEYS.forEach(function (k) { filter[k] = ""; });
      filter.page = 1;
      fillForm();
      writeUrl(true);
      refresh(true);
    });
    $("events-prev").addEventListener("click", function () {
      if (filter.page > 1) { filter.page -= 1; writeUrl(false); loadRows(); }
    });
    $("events-next").addEventListener("click", function () {
      filter.page += 1;
      writeUrl(false);
      loadRows();
    });
    window.addEventListener("popstate", function () {
      filter = readUrl();
      fillForm();
      refresh(true);
    });

    // Why a request failed, in the page's language (the API's own words on English pages).
    function why(err) {
      var p = err.problem || {};
      if (err.status === 0) { return W.error_network; }
      if (err.status === 401) { return W.why_expired; }
      var status = G.format(W.why_status, {status: err.status});
      return lang === "en" && p.detail ? status + " — " + p.detail : status;
    }
    // A refused filter (422) names the filter; any other failure says what failed (``what``:
    // W.error_points or W.error_list) and why, in the bar (an expired session: the bar's own
    // log-in message, from the fetch helper).
    function filterError(err, what) {
      if (err.stale) { return; }  // a newer request's answer is the one shown
      var p = err.problem || {};
      if (err.status === 401) { return; }  // the page bar said it
      if (err.status !== 422) {
        G.notice(G.format(what || W.error_points, {why: why(err)}));
        return;
      }
      G.notice(G.format(W.error_filter, {field: (form.elements[p.field] &&
        form.elements[p.field].parentNode.firstChild.textContent) || p.field || err.status}) +
        (lang === "en" && p.detail ? " — " + p.detail : ""));
    }

    // failures are said here, in the page's language (errorText, filterError): the requests
    // below are {quiet: true}

    // --- town outlines from the vector tiles -------------------------------------------------
    G.tiles.layer("grids-l1", {style: {color: "#555", weight: 1.2, fill: false}}).addTo(map);

    // --- dots and urgency clusters -----------------------------------------------------------
    var cluster = L.markerClusterGroup({
      disableClusteringAtZoom: 17, chunkedLoading: true, showCoverageOnHover: false,
      iconCreateFunction: function (group) {
        var worst = 0;
        group.getAllChildMarkers().forEach(function (m) { worst = Math.max(worst, m.gridgisUrgency); });
        var n = group.getChildCount();
        var size = n < 10 ? 34 : n < 100 ? 40 : 48;
        return L.divIcon({html: G.el("div", "gridgis-cluster gridgis-cluster-" + worst, n),
          className: "gridgis-cluster-icon gridgis-cluster-urgency-" + worst,
          iconSize: L.point(size, size)});
      },
    });
    map.addLayer(cluster);
    hook.cluster = cluster;

    function dotStyle(status, urgency) {
      return {radius: 7, fillOpacity: 0.92,
        fillColor: urgency === 2 ? colors.overdue : (colors[status] || "#333"),
        color: urgency === 1 ? colors.due_soon : "#ffffff", weight: urgency === 1 ? 3.5 : 1};
    }

    // the popup's action buttons are never hidden under the legend (bottom right)
    function legendPadding() {
      var legend = document.querySelector(".gridgis-legend");
      return legend ? [legend.offsetWidth + 12, legend.offsetHeight + 12] : [12, 12];
    }

    function tooltip(m) {
      return G.el("span", null, "#" + m.gridgisId + " " + subclassName(m.gridgisSubclass) +
        " · " + statusName(m.gridgisStatus) + (m.gridgisUrgency === 2 ? " · " + W.overdue :
          m.gridgisUrgency === 1 ? " · " + W.due_soon : ""));
    }

    function makeMarker(row) {
      var m = L.circleMarker([row[2], row[1]], dotStyle(row[3], row[4]));
      m.gridgisId = row[0];
      m.gridgisStatus = row[3];
      m.gridgisUrgency = row[4];
      m.gridgisSubclass = row[5];
      m.bindTooltip(tooltip(m));
      m.bindPopup(G.el("div", "gridgis-event-popup", W.loading), {maxWidth: 380, minWidth: 300,
        autoClose: true, closeOnClick: false, autoPanPaddingBottomRight: legendPadding()});
      m.on("popupopen", function (ev) {
        // pan clear of the legend as it is now, and again whenever the case's forms grow
        ev.popup.options.autoPanPaddingBottomRight = legendPadding();
        var content = ev.popup.getElement();
        if (content && window.ResizeObserver && !content.gridgisWatched) {
          content.gridgisWatched = true;
          new window.ResizeObserver(function () {
            if (ev.popup.isOpen()) { G.updatePopup(ev.popup); }
          }).observe(content.querySelector(".leaflet-popup-content") || content);
        }
        showEvent(m.gridgisId, ev.popup);
      });
      return m;
    }

    // Apply a fresh answer: new dots added, changed ones restyled in place, vanished ones
    // removed (except the one whose popup is open: the dispatcher is working on it).
    function applyPoints(answer, fit) {
      var seen = {}, added = [], changed = [], counts = {overdue: 0};
      answer.data.forEach(function (row) {
        var id = row[0], m = markers[id];
        seen[id] = true;
        counts[row[3]] = (counts[row[3]] || 0) + 1;
        if (row[4] === 2) { counts.overdue += 1; }
        if (!m) {
          m = markers[id] = makeMarker(row);
          added.push(m);
        } else if (m.gridgisStatus !== row[3] || m.gridgisUrgency !== row[4]) {
          m.gridgisStatus = row[3];
          m.gridgisUrgency = row[4];
          m.setStyle(dotStyle(row[3], row[4]));
          m.setTooltipContent(tooltip(m));
          changed.push(m);
          if (m.isPopupOpen()) { refreshPopup(m, row[3]); }
        }
      });
      var gone = [];
      Object.keys(markers).forEach(function (id) {
        if (!seen[id] && !markers[id].isPopupOpen()) { gone.push(markers[id]); delete markers[id]; }
      });
      if (gone.length) { cluster.removeLayers(gone); }
      if (added.length) { cluster.addLayers(added); }
      if (changed.length) { cluster.refreshClusters(changed); }
      document.querySelectorAll("[data-count]").forEach(function (span) {
        var n = counts[span.getAttribute("data-count")] || 0;
        span.textContent = n ? num(n) : "";
      });
      hook.events = answer.data.length;
      hook.overdue = counts.overdue;
      hook.truncated = answer.truncated;
      if (fit && answer.data.length) {
        fitBeside(L.latLngBounds(answer.data.map(function (r) { return [r[2], r[1]]; })));
      } else if (fit && opts.bounds) {
        fitBeside(opts.bounds);  // no event: the whole city, none of it under the legend
      }
    }
    // fitted beside the legend (bottom right): no event, and no part of the city, hides under it;
    // the area stays fitted when the legend or the map changes size (counts filled in, the list
    // beside the map loaded, a scroll bar), until the user or a selection moves the map
    // (GridGIS.fitBeside, the rule of every map page).
    var fitter = G.fitBeside(map, {right: ".gridgis-legend", margin: 30});
    function fitBeside(bounds) { fitter.fit(bounds, {maxZoom: 16}); }

    // The open case changed elsewhere: show it as it is now, unless the dispatcher is filling
    // in a form in it (their submit answers with the current state) or it already shows it.
    function refreshPopup(m, status) {
      var box = m.getPopup().getElement();
      box = box && box.querySelector(".gridgis-event-popup");
      if (!box || box.getAttribute("data-status") === status ||
          box.querySelector(".gridgis-event-form")) { return; }
      showEvent(m.gridgisId, m.getPopup());
    }

    // only the answer to the latest request of each is drawn (GridGIS.latest): an older one
    // (the filter or page changed since, or a slower poll) is dropped
    var asks = {points: G.latest(), rows: G.latest()};
    function loadPoints(fit) {
      return asks.points.get("/api/v1/event-map/points?" + apiQuery(), W.events, {quiet: true})
        .then(function (answer) { applyPoints(answer, fit); })
        .catch(filterError);
    }

    // --- the list ----------------------------------------------------------------------------
    function rowItem(r) {
      var li = G.el("li", "gridgis-urgency-" + r.urgency);
      li.tabIndex = 0;
      li.setAttribute("data-id", String(r.id));
      var head = G.el("div", "row-head");
      head.appendChild(G.el("b", null, "#" + r.id + " " + subclassName(r.subclass_code)));
      head.appendChild(G.el("span", "row-status", statusName(r.status) +
        (r.urgency === 2 ? " · " + W.overdue : r.urgency === 1 ? " · " + W.due_soon : "")));
      li.appendChild(head);
      var meta = G.el("div", "row-meta");
      meta.title = r.grid_code || "";
      function named() {
        meta.textContent = [when(r.reported_at), W.sources[r.source] || r.source,
          G.gridText(r.grid_code)].join(" · ");
      }
      named();
      G.gridNames([r.grid_code]).then(named);  // the grid by name and town, its code on hover
      li.appendChild(meta);
      var text = r.address || r.description;
      if (text) { li.appendChild(G.el("div", "row-meta", text)); }
      if (r.calendar_unconfirmed) {  // as the popup: a deadline in a year without a holiday table
        li.appendChild(G.el("div", "gridgis-event-unconfirmed",
          G.format(W.unconfirmed, {years: (r.calendar_unconfirmed_years || []).join(", ")})));
      }
      li.addEventListener("click", function () { select(r.id); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") { select(r.id); } });
      return li;
    }

    // the list of the latest request only: an earlier, slower one (the first page still
    // loading when Next is clicked) must not overwrite it
    function loadRows() {
      var offset = (filter.page - 1) * PAGE_SIZE;
      return asks.rows.get("/api/v1/event-map/rows?" + apiQuery({limit: PAGE_SIZE, offset: offset}),
        W.events, {quiet: true})
        .then(function (answer) {
          var pages = Math.max(1, Math.ceil(answer.count / PAGE_SIZE));
          if (filter.page > pages) { filter.page = pages; writeUrl(false); return loadRows(); }
          var list = $("events-list");
          list.textContent = "";
          answer.data.forEach(function (r) { list.appendChild(rowItem(r)); });
          if (!answer.data.length) { list.appendChild(G.el("li", "gridgis-events-none", W.none)); }
          var count = $("events-count");
          count.textContent = G.format(W.count, {n: num(answer.count)}) +
            " · " + G.zoneLabel();  // the times of the list
          if (hook.truncated) {
            count.appendChild(G.el("div", "gridgis-events-warning",
              G.format(W.truncated, {n: num(hook.events)})));
          }
          $("events-page").textContent = G.format(W.page, {p: filter.page, n: pages});
          $("events-prev").disabled = filter.page <= 1;
          $("events-next").disabled = filter.page >= pages;
          hook.rows = answer.data.length;
          hook.count = answer.count;
          hook.rowsFailed = false;
          markSelected();
        })
        .catch(listFailed);
    }

    // A failed list says so in place of the list (what and why, in the page's language) with
    // a button that asks again; never an empty list without a word.
    function listFailed(err) {
      if (err.stale) { return; }
      filterError(err, W.error_list);
      var list = $("events-list");
      list.textContent = "";
      var li = G.el("li", "gridgis-events-failed", G.format(W.error_list, {why: why(err)}) + " ");
      var again = G.el("button", "gridgis-events-retry", W.retry);
      again.type = "button";
      again.addEventListener("click", function () { loadRows(); });
      li.appendChild(again);
      list.appendChild(li);
      $("events-count").textContent = "";
      hook.rowsFailed = true;
    }

    var selected = null;
    function markSelected() {
      document.querySelectorAll("#events-list li").forEach(function (li) {
        li.classList.toggle("selected", Number(li.getAttribute("data-id")) === selected);
      });
    }

    // select(id): show the event's dot (out of its cluster) and open its popup
    function select(id) {
      selected = Number(id);
      markSelected();
      var m = markers[selected];
      if (!m) { return; }
      cluster.zoomToShowLayer(m, function () { m.openPopup(); });
    }
    hook.select = select;

    // refresh(fit, poll): the timer's poll is skipped while a load is under way; a user's
    // change (filter, page, action) always loads, and only the latest answers are drawn
    function refresh(fit, poll) {
      if (poll && (asks.points.pending() || asks.rows.pending())) { return Promise.resolve(); }
      return Promise.allSettled([loadPoints(fit), loadRows()]).then(function () {
        hook.polls += 1;
        hook.ready = true;
        // the hooks of the earlier page, kept for the page tests
        window.gridgisEventMarkers = Object.keys(markers).map(function (k) { return markers[k]; });
        window.gridgisEventCluster = cluster;
        window.gridgisEventsMap = map;
        window.gridgisEventsReady = {events: hook.events, overdue: hook.overdue};
      });
    }
    hook.refresh = refresh;

    // --- start ------------------------------------------------------------------------------
    fillForm();
    writeUrl(false);
    if (opts.bounds) { fitBeside(opts.bounds); }  // the city until the events arrive
    refresh(true);
    window.setInterval(function () { refresh(false, true); }, opts.poll_ms || 15000);
  };
})(window.GridGIS);
