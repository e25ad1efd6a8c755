// The command centre's front page (/, api/pages/home.py, api/pages/templates/home.html).
//
// A Leaflet map of the city from the vector tiles (GridGIS.tiles) and four panels filled from
// /api/v1/dashboard/… (api/routes/dashboard.py): events, patrols, KPIs and the selection.
// Drill-down: a click on the map (or a name in the selection panel) selects the town, then
// its village, then its unit grid, found by GET /api/v1/locate; every panel follows the
// selection (scope = its code) and the selection is kept in the URL (?sel=code; Back works).
// Search: a grid code or name, a person on patrol, an event number, a place name
// (/api/v1/places), a coordinate in any datum ("120.28,31.91 gcj02"). Big-screen mode
// (?screen=big or the button): dark, full screen, larger text, refreshing on its own.
//
// Needs Leaflet, Leaflet.VectorGrid, gridgis-common.js (GridGIS: getJSON, el, t, notice) and
// gridgis-tiles.js (GridGIS.tiles). Classic script (see gridgis-common.js for why).
// Test hooks: GridGIS.home.state (selection, panels loaded, map tiles drawn).
(function (G) {
  "use strict";

  var WORDS = {
    zh: {
      city: "全市", town: "镇街", village: "村社区", grid: "单元网格",
      today: "今日", week: "本周", now: "当前",
      reported: "上报", accepted: "立案", in_handling: "处置中", overdue: "超时",
      open_for_handling: "待处置", overdue_now: "超时未处置",
      online: "在线人员", offline_long: "离线超过 {n} 分钟", devices: "有定位的终端",
      mileage: "巡查里程", patrol_time: "巡查时长", coverage: "覆盖率", officers: "巡查人员",
      cov_today: "今日", cov_yesterday: "昨日", not_computed: "尚未计算",
      worst: "覆盖最低的网格", computed_at: "计算于 {t}",
      kpi_period: "本月（{from} 起）",
      kpi_previous: "上月（{from} 至 {to}）：本月（{now} 起）尚无事件",
      kpi_previous_begun: "上月（{from} 至 {to}）；本月首日已有 {n} 件，明日起显示本月",
      ranking: "排名（按任务妥处率）",
      no_reported: "本期无上报事件", no_due: "本期无应处置事件", no_closed: "本期无结案事件",
      see_all: "查看全部", outside: "最后定位不在任何网格内",
      patrol: "事件巡查数", acceptance_rate: "立案率", closure_rate: "结案率",
      on_time_closure_rate: "按期结案率", rework_rate: "返工率",
      proper_handling_rate: "任务妥处率", closure_h_median: "闭环时间（中位，工时）",
      case_others: "此处还有 {n} 件：", rank: "名次", name: "名称", none: "无", more: "另有 {n} 项未列出", km: "{v} 公里", hours: "{v} 小时",
      households: "住户", people: "人口", zone: "执法片区", squad: "执法中队",
      staff: "一长五员", phone: "电话", children: "下级", events_here: "事件",
      by_status: "按状态", deadline: "期限", overdue_by: "已超 {h} 小时", new_events: "新事件 {n} 件",
      search_none: "未找到：{q}", search_failed: "查询{what}失败：{detail}", search_grid: "网格", search_place: "地名", search_person: "人员",
      search_event: "事件", search_point: "坐标", point_outside: "该坐标不在本市网格内",
      bad_lon: "经度超出范围（应在 -180 到 180 之间）", bad_lat: "纬度超出范围（应在 -90 到 90 之间）",
      bad_crs: "不认识的坐标系（可用 cgcs2000、wgs84、gcj02、bd09，或 EPSG:4549 米制坐标）",
      bad_point: "无法识别该坐标",
      bad_sel: "地址参数 sel={sel} 不是本市的网格编码（镇街 9 位、村社区 12 位、网格 15 位数字），已显示全市。",
      layer_l1: "镇街边界", layer_l2: "村社区边界", layer_l3: "单元网格",
      layer_zones: "执法片区", layer_officers: "在线巡查人员", layer_events: "事件（按状态）",
      points_what: "事件（按状态）",
      layer_coverage: "巡查覆盖率", layer_households: "住户密度（户数）",
      legend_officer: "在线人员", legend_h3: "（H3 覆盖率）",
      legend_no_households: "0 户", legend_zone: "各片区一色，边线为片区界",
      legend: "图例", st_reported: "待受理", st_accepted: "已立案", st_open: "处置中",
      st_handled: "已处置待核查", st_overdue: "超时",
      panel_events: "事件", panel_patrols: "巡查", panel_kpis: "考核指标",
      panel_selection: "当前范围",
      panel_level1: "镇（街道）详情", panel_level2: "村（社区）详情", panel_level3: "网格详情",
      h_share: "H3 覆盖率", minutes: "{v} 分钟", subclass: "{code}", silent: "离线人员（最近失联在前）",
      silent_for: "{d}未上报", patrolled: "今天巡查过的队员（轨迹回放）",
      patrolled_yesterday: "昨天巡查过的队员（轨迹回放）", persons: "{n} 人",
      retry: "重试", all_title: "{title} · 共 {n} 项",
    },
    en: {
      city: "City", town: "Town", village: "Village", grid: "Unit grid",
      today: "Today", week: "This week", now: "Now",
      reported: "Reported", accepted: "Accepted", in_handling: "In handling", overdue: "Overdue",
      open_for_handling: "Open for handling", overdue_now: "Overdue now",
      online: "Officers online", offline_long: "Offline > {n} minutes", devices: "Devices with a fix",
      mileage: "Mileage", patrol_time: "Patrol time", coverage: "Coverage", officers: "Officers",
      cov_today: "Today", cov_yesterday: "Yesterday", not_computed: "not computed yet",
      worst: "Least covered grids", computed_at: "computed {t}",
      kpi_period: "This month (from {from})",
      kpi_previous: "Last month ({from} to {to}): no events yet this month (since {now})",
      kpi_previous_begun: "Last month ({from} to {to}); this month so far: {n} events",
      ranking: "Ranking (proper handling rate)",
      no_reported: "No events reported in this period", no_due: "No events due in this period",
      no_closed: "No events closed in this period",
      see_all: "see all", outside: "Last fix in no grid",
      patrol: "Events found on patrol", acceptance_rate: "Acceptance rate",
      closure_rate: "Closure rate", on_time_closure_rate: "On-time closure rate",
      rework_rate: "Rework rate", proper_handling_rate: "Proper handling rate",
      closure_h_median: "Time to closure (median, work hours)",
      case_others: "{n} more here: ", rank: "Rank", name: "Name", none: "None", more: "{n} more not listed", km: "{v} km", hours: "{v} h",
      households: "Households", people: "Residents", zone: "Enforcement zone", squad: "Squad",
      staff: "Grid staff", phone: "Phone", children: "Below", events_here: "Events",
      by_status: "By status", deadline: "Deadline", overdue_by: "{h} h overdue",
      new_events: "{n} new events", new_events_one: "{n} new event",
      search_none: "Nothing found: {q}", search_failed: "Could not search {what}: {detail}", search_grid: "Grid", search_place: "Place",
      search_person: "Person", search_event: "Event", search_point: "Point",
      point_outside: "This point is outside the city's grids",
      bad_lon: "longitude out of range (-180 to 180)", bad_lat: "latitude out of range (-90 to 90)",
      bad_crs: "unknown coordinate system (cgcs2000, wgs84, gcj02, bd09, or EPSG:4549 metres)",
      bad_point: "this coordinate cannot be read",
      bad_sel: "The address parameter sel={sel} is no grid code of the city (9 digits for a town, 12 for a village, 15 for a grid); showing the city.",
      layer_l1: "Town boundaries", layer_l2: "Village boundaries", layer_l3: "Unit grids",
      layer_zones: "Enforcement zones", layer_officers: "Officers online",
      layer_events: "Events by status", layer_coverage: "Patrol coverage",
      points_what: "the events on the map",
      layer_households: "Household density (counts)",
      legend_officer: "Officer online", legend_h3: " (H3 share)",
      legend_no_households: "0 households", legend_zone: "one colour per zone, outlined",
      legend: "Legend", st_reported: "Awaiting acceptance", st_accepted: "Accepted",
      st_open: "In handling", st_handled: "Handled, to verify", st_overdue: "Overdue",
      panel_events: "events", panel_patrols: "patrols", panel_kpis: "KPIs",
      panel_selection: "the selection",
      panel_level1: "the town", panel_level2: "the village", panel_level3: "the grid",
      h_share: "H3 coverage", minutes: "{v} min", subclass: "Event type {code}",
      silent: "Offline officers (most recently lost first)", silent_for: "silent {d}",
      patrolled: "Officers who patrolled it today (playback)",
      patrolled_yesterday: "Officers who patrolled it yesterday (playback)",
      persons: "{n} officers", persons_one: "{n} officer",
      retry: "Retry", all_title: "{title} · {n} in all",
    },
  };
  // fill classes: [upper bound (exclusive), colour]; households per unit grid, purples (never
  // mistaken for coverage); the first class is 0. Coverage has the classes of /coverage,
  // fitted to the day's grids by the server (config.coverage, api/pages/home.py).
  var HOUSEHOLD_BANDS = [[1, "#f2f0f7"], [200, "#cbc9e2"], [400, "#9e9ac8"], [800, "#756bb1"],
    [Infinity, "#54278f"]];
  var OFFICER_COLOUR = "#0ca678";
  function bandColour(bands, v) {
    for (var k = 0; k < bands.length; k += 1) { if (v < bands[k][0]) { return bands[k][1]; } }
    return bands[bands.length - 1][1];
  }
  var STATUS_COLOURS = {
    reported: "#7b61ff", accepted: "#1f77b4", dispatched: "#e6a700", in_handling: "#e6a700",
    extension_requested: "#e6a700", rework: "#d9480f", handled: "#2b8a3e", verified: "#2b8a3e",
    returned: "#868e96", parked: "#868e96", overdue: "#c92a2a",
  };
  var LEVEL_STYLES = {
    1: {color: "#0b2e59", weight: 2.5, fill: false, opacity: 0.9},
    2: {color: "#3b6fb6", weight: 1.2, fill: false, opacity: 0.8},
    3: {color: "#8aa9d6", weight: 0.6, fill: false, opacity: 0.8},
  };
  // On the dark big screen the same lines in light colours.
  var LEVEL_STYLES_DARK = {
    1: {color: "#9cc8ff", weight: 2.5, fill: false, opacity: 0.95},
    2: {color: "#5f8fd0", weight: 1.2, fill: false, opacity: 0.85},
    3: {color: "#39557d", weight: 0.6, fill: false, opacity: 0.8},
  };
  var HIGHLIGHT = {color: "#e07a1f", weight: 4, fill: true, fillColor: "#e07a1f",
    fillOpacity: 0.12, opacity: 1};
  var CODE_LEVEL = {9: 1, 12: 2, 15: 3};
  var EVENTS_EVERY_MS = 15000;
  var PANELS_EVERY_MS = 60000;
  var BIG_EVERY_MS = 20000;

  function w(key, values) { return G.t(WORDS, key, values); }
  var lang = G.pageLang();
  // dates and times by the one rule of every page (GridGIS.dateTime: Beijing time, ISO-like)
  function when(iso) { return G.dateTime(iso, {year: false}); }
  function day(iso) { return G.dateOnly(iso, {year: false}); }
  function num(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString(lang === "en" ? "en" : "zh-CN"); }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } return node; }
  function row(dl, label, value, cls) {
    var d = G.el("div", "kv" + (cls ? " " + cls : ""));
    d.appendChild(G.el("span", "k", label));
    d.appendChild(G.el("span", "v", value));
    dl.appendChild(d);
    return d;
  }

  var root = document.getElementById("home");
  var config = JSON.parse(root.getAttribute("data-config"));
  // event statuses in the page's language: the one table of every page (maps/status_names.py)
  var STATUS_WORDS = config.status_names || {};
  var state = {
    sel: "", names: {}, loaded: {}, tiles: 0, lastEventId: null, newIds: {},
    refreshes: 0,
  };

  function validCode(code) { return /^[0-9]+$/.test(code) && CODE_LEVEL[code.length] !== undefined; }
  function panelBody(id) { return document.querySelector("#" + id + " .panel-body"); }
  function setLoaded(id) {
    var body = panelBody(id);
    if (body) { body.setAttribute("data-state", "loaded"); }
    fitPanels();
    state.loaded[id] = (state.loaded[id] || 0) + 1;
  }

  // A panel whose request failed says in the panel what failed and why (GridGIS.failedText,
  // the words of the page bar: status or no answer) with a button that asks again; what it
  // showed before stays under the line (a failed poll does not blank a filled panel).
  // panelFailed(["panel-events", ...], what, error, retry[, fresh]): retry() asks again;
  // fresh: the panel shows another selection now, so nothing of the previous one stays.
  function panelFailed(ids, what, error, retry, fresh) {
    if (error && error.stale) { return; }
    ids.forEach(function (id) {
      var body = panelBody(id);
      if (!body) { return; }
      body.querySelectorAll(".panel-failed").forEach(function (n) { n.remove(); });
      if (fresh || body.getAttribute("data-state") !== "loaded") {
        clear(body);
        body.setAttribute("data-state", "failed");
      }
      var list = body.tagName === "OL" || body.tagName === "UL";
      var line = G.el(list ? "li" : "div", "panel-failed" + (list ? " empty" : ""));
      line.setAttribute("role", "alert");
      line.appendChild(G.el("span", "panel-failed-text", G.failedText(what, error)));
      var again = G.el("button", "panel-retry", w("retry"));
      again.type = "button";
      again.addEventListener("click", function () { again.disabled = true; retry(); });
      line.appendChild(again);
      body.insertBefore(line, body.firstChild);
    });
    state.failed = (state.failed || 0) + 1;
    fitPanels();
  }

  // --- every panel fits its column ------------------------------------------------------------
  // A column (left, right, under the map) never scrolls and no panel is cut mid-line: while a
  // panel's body is taller than its box, the longest list of the column loses its last row and
  // says how many it left out ("另有 3 项"). Fixed lines (counts, coverage, KPI tiles) are
  // never hidden; the layout (gridgis-home.css) keeps room for them at 1920x1080.
  var FIT_LISTS = "ul, ol, table.ranking";
  // the rows of a list: not its header, nor a line about it ("3 new", "none")
  function listRows(list) {
    return Array.prototype.filter.call(list.children, function (c) {
      return !(list.tagName === "TABLE" && c.querySelector("th")) &&
        !c.classList.contains("fresh") && !c.classList.contains("empty");
    });
  }
  function overflows(column) {
    if (column.scrollHeight > column.clientHeight + 1) { return true; }
    return Array.prototype.some.call(column.querySelectorAll(".panel-body"), function (b) {
      return b.scrollHeight > b.clientHeight + 1;
    });
  }
  function moreNote(list) {
    var note = list.nextElementSibling;
    if (!note || !note.classList.contains("fit-more")) {
      note = G.el("div", "fit-more");
      list.parentNode.insertBefore(note, list.nextSibling);
    }
    return note;
  }
  // "另有 N 项未列出 · 查看全部": N is what the page does not show of the server's true total
  // (data-total of the list); the link (data-more-href) opens a page listing all of them.
  // The big screen has no interaction: the count only.
  function setMore(list, n) {
    var note = clear(moreNote(list));
    note.appendChild(document.createTextNode(w("more", {n: n})));
    if (document.body.classList.contains("big-screen")) { return; }
    var href = list.getAttribute("data-more-href");
    note.appendChild(document.createTextNode(" · "));
    if (href) {
      var a = G.el("a", "fit-more-link", w("see_all"));
      a.href = href;
      note.appendChild(a);
      return;
    }
    // no other page lists them: a dialog over the map lists every row of the list
    var open = G.el("button", "fit-more-link fit-more-all", w("see_all"));
    open.type = "button";
    open.addEventListener("click", function () { showAll(list); });
    note.appendChild(open);
  }

  // showAll(list): the native <dialog id=home-all> (above the map, scrolls, Esc closes it)
  // listing every row of a panel list, hidden ones too; a row does what it does in the panel
  // (a village selects it), and the dialog closes.
  var allDialog = document.getElementById("home-all");
  function listTitle(list) {
    for (var n = list.previousElementSibling; n; n = n.previousElementSibling) {
      if (n.classList.contains("sub-title")) { return n.textContent; }
    }
    var h = list.closest(".panel") && list.closest(".panel").querySelector("h2");
    return h ? h.textContent : "";
  }
  function showAll(list) {
    var rows = listRows(list);
    document.getElementById("home-all-title").textContent =
      w("all_title", {title: listTitle(list), n: num(rows.length)});
    var copy = list.cloneNode(false);
    // a table keeps its header row
    if (list.tagName === "TABLE" && list.querySelector("tr th")) {
      copy.appendChild(list.querySelector("tr th").parentNode.cloneNode(true));
    }
    copy.removeAttribute("data-total");
    copy.removeAttribute("data-state");
    copy.classList.remove("panel-body", "fit-scroll");
    copy.classList.add("home-all-list");
    rows.forEach(function (r) {
      var c = r.cloneNode(true);
      c.classList.remove("fit-hidden", "new");
      if (r.classList.contains("link") || r.tabIndex >= 0) {
        c.tabIndex = 0;
        var go = function () { allDialog.close(); r.click(); };
        c.addEventListener("click", go);
        c.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { go(); } });
      }
      copy.appendChild(c);
    });
    clear(document.getElementById("home-all-body")).appendChild(copy);
    if (!allDialog.open) { allDialog.showModal(); }
    state.allShown = (state.allShown || 0) + 1;
  }
  function fitColumn(column) {
    column.querySelectorAll(".fit-more").forEach(function (n) { n.remove(); });
    column.querySelectorAll(".fit-hidden").forEach(function (n) { n.classList.remove("fit-hidden"); });
    var lists = Array.prototype.slice.call(column.querySelectorAll(FIT_LISTS));
    // a list the server cut (data-total: how many there are) counts what it never received
    function unlisted(list) {
      return Math.max(0, Number(list.getAttribute("data-total") || 0) - listRows(list).length);
    }
    lists.forEach(function (list) {
      if (unlisted(list)) { setMore(list, unlisted(list)); }
    });
    for (var guard = 0; guard < 400 && overflows(column); guard += 1) {
      var longest = null, shown = 0;
      lists.forEach(function (list) {
        var n = listRows(list).filter(function (r) { return !r.classList.contains("fit-hidden"); }).length;
        if (n > shown) { longest = list; shown = n; }
      });
      if (!longest) { return; }
      var rows = listRows(longest).filter(function (r) { return !r.classList.contains("fit-hidden"); });
      rows[rows.length - 1].classList.add("fit-hidden");
      var hidden = listRows(longest).length - rows.length + 1 + unlisted(longest);
      setMore(longest, hidden);
    }
    // a body that still cannot fit shows its scroll bar: never a row cut without one
    column.querySelectorAll(".panel-body").forEach(function (b) {
      b.classList.toggle("fit-scroll", b.scrollHeight > b.clientHeight + 1);
    });
  }
  var fitFrame = null;
  function fitPanels() {
    if (fitFrame) { return; }
    fitFrame = window.requestAnimationFrame(function () {
      fitFrame = null;
      document.querySelectorAll(".home-side").forEach(fitColumn);
      state.fits = (state.fits || 0) + 1;
    });
  }
  window.addEventListener("resize", fitPanels);
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(fitPanels); }

  // --- map ------------------------------------------------------------------------------------
  // An Amap/Baidu basemap gives the map its datum's CRS: every overlay is shifted for display
  // and every click comes back in WGS 84 (gridgis-datum.js).
  var map = L.map("home-map", G.datum.mapOptions(config.datum,
    {zoomControl: true, preferCanvas: true, minZoom: 8, maxZoom: 19, zoomSnap: 0.25,
      zoomDelta: 0.5}));
  map.attributionControl.setPrefix("Leaflet");
  // The city (or the selected town or grid) is fitted to the part of the map no control
  // covers, by the one rule of every page (GridGIS.fitBeside): right of the legend and the zoom
  // buttons, left of the layer switches (or above or below each, when that leaves the city
  // bigger) and clear of the attribution, from their real sizes; the area stays fitted when one
  // of them or the window changes size, until the user moves the map. Zoom snaps to quarter
  // levels so the city is as big as the free area allows.
  var fitter = G.fitBeside(map, {left: ".home-legend, .leaflet-control-zoom",
    right: ".leaflet-control-layers, .leaflet-control-attribution", margin: 12});
  function fitArea(bounds) { fitter.fit(bounds); }
  function cityView() { fitArea(config.bounds); }
  cityView();
  G.datum.addBasemap(map, config.basemap, {maxZoom: 19});
  // The legend's room follows the window (full screen, a wall screen); the fitted area is
  // kept by the fitter.
  map.on("resize", function () { legendRoom(); });
  map.createPane("home-fills").style.zIndex = 390;
  map.createPane("home-points").style.zIndex = 620;

  // The three levels on one canvas per tile (GridGIS.tiles.layer with a list of layers; towns
  // on top); levels[n] is the level's switch in the layer control (an empty layer group): on
  // or off, the grids layer redraws with or without that level.
  var levels = {}, shownLevels = {};
  var styles = {};
  [1, 2, 3].forEach(function (level) {
    styles["grids-l" + level] = function () {
      if (!shownLevels[level]) { return []; }
      return (document.body.classList.contains("big-screen") ? LEVEL_STYLES_DARK :
        LEVEL_STYLES)[level];
    };
  });
  // Household density is a fill of the unit grids on this same canvas (drawn under the
  // villages' and towns' lines), not a layer of its own: one canvas, one request and one
  // decoding per tile for both (docs/benchmarks-pages.md).
  var householdCounts = null, householdsShown = false;
  function householdFill(p) {
    var n = householdCounts ? householdCounts[p.code] || 0 : 0;
    return {fill: true, fillColor: bandColour(HOUSEHOLD_BANDS, n), fillOpacity: 0.55, weight: 0.2,
      color: "#999"};
  }
  var unitLines = styles["grids-l3"];
  styles["grids-l3"] = function (p) {
    var lines = shownLevels[3] ? unitLines() : null;
    if (!householdsShown) { return lines || []; }
    var fill = householdFill(p);
    return lines ? L.extend(fill, {color: lines.color, weight: lines.weight, opacity: lines.opacity}) : fill;
  };
  var grids = G.tiles.layer(["grids-l3", "grids-l2", "grids-l1"], {styles: styles});
  grids.gridgisLeftOut["grids-l3"] = true;  // unit grids: off until switched on
  function redrawSoon() {  // one redraw for switches flipped together
    if (!redrawGrids) {
      redrawGrids = setTimeout(function () { redrawGrids = null; grids.redraw(); }, 0);
    }
  }
  grids.on("load", function () { state.tiles += 1; });
  var redrawGrids = null;
  [1, 2, 3].forEach(function (level) { levels[level] = L.layerGroup(); });
  shownLevels[1] = shownLevels[2] = true;
  levels[1].addTo(map);
  levels[2].addTo(map);
  grids.addTo(map);
  [1, 2, 3].forEach(function (level) {
    levels[level].on("add remove", function () {
      shownLevels[level] = map.hasLayer(levels[level]);
      grids.gridgisLeftOut["grids-l" + level] = !shownLevels[level] &&
        !(level === 3 && householdsShown);
      redrawSoon();
    });
  });
  var highlighted = null;

  function highlight(code) {
    if (highlighted) { grids.resetFeatureStyle(highlighted.id); }
    highlighted = null;
    if (!code) { return; }
    var level = CODE_LEVEL[code.length];
    highlighted = {level: level, id: Number(code)};
    if (!map.hasLayer(levels[level])) { levels[level].addTo(map); }
    grids.setFeatureStyle(highlighted.id, HIGHLIGHT);
  }

  function zoneHue(code) { return (Number(String(code).slice(-3)) * 47) % 360; }
  var zones = G.tiles.layer("zones", {style: function (p) {
    var hue = zoneHue(p.code);
    return {color: "hsl(" + hue + ",60%,40%)", weight: 1.5, fill: true,
      fillColor: "hsl(" + hue + ",70%,60%)", fillOpacity: 0.25};
  }, pane: "home-fills"});

  // The coverage of the run /coverage opens on (yesterday's whole day, its day and time in
  // the legend): each unit grid in the class of its H3 share, the classes fitted to the
  // day's grids by the one rule of /coverage (maps/coverage_map.py share_breaks: quantiles;
  // 0 % "not patrolled" and "no H3 cells" are classes of their own).
  var COVERAGE = config.coverage;
  function coverageColour(sharePct) {
    if (sharePct === null || sharePct === undefined) { return COVERAGE.no_cells; }
    var share = Number(sharePct) / 100;
    if (!(share > 0) || !COVERAGE.breaks.length) { return COVERAGE.not_patrolled; }
    for (var k = 0; k < COVERAGE.breaks.length; k += 1) {
      if (share <= COVERAGE.breaks[k] + 1e-9) { return COVERAGE.colours[k]; }
    }
    return COVERAGE.colours[COVERAGE.colours.length - 1];
  }
  var coverageLayer = null;
  function coverageTiles(day) {
    return G.tiles.layer("coverage", {params: {date: day}, pane: "home-fills", style: function (p) {
      return {fill: true, fillColor: coverageColour(p.share_pct), fillOpacity: 0.6, weight: 0.3,
        color: "#666"};
    }});
  }
  var coverageGroup = L.layerGroup();

  var householdGroup = L.layerGroup();  // the switch of the households fill (grids above)
  // two fills of the unit grids are never drawn on top of one another (GridGIS.tiles.exclusive)
  G.tiles.exclusive(map, [coverageGroup, householdGroup]);

  var officers = L.layerGroup();
  var eventsLayer = L.layerGroup();

  var overlays = {};
  overlays[w("layer_l1")] = levels[1];
  overlays[w("layer_l2")] = levels[2];
  overlays[w("layer_l3")] = levels[3];
  overlays[w("layer_zones")] = zones;
  overlays[w("layer_officers")] = officers;
  overlays[w("layer_events")] = eventsLayer;
  overlays[w("layer_coverage")] = coverageGroup;
  overlays[w("layer_households")] = householdGroup;
  L.control.layers(null, overlays, {collapsed: false, position: "topright"}).addTo(map);
  officers.addTo(map);
  eventsLayer.addTo(map);

  // The legend has a section for each visible layer (events by status, officers, coverage
  // classes, household classes, zones), redrawn when a layer is switched.
  var legendBox = null;
  function legendRow(colour, text, shape) {
    var item = G.el("div", "legend-item");
    var sw = G.el("span", shape || "swatch");
    sw.style.background = colour;
    item.appendChild(sw);
    item.appendChild(G.el("span", null, text));
    return item;
  }
  function legendItem(box, colour, text, shape) { box.appendChild(legendRow(colour, text, shape)); }
  // household band labels that never overlap: whole counts "0 户", "1–199", "200–399"
  function bandItems(box, bands) {
    bands.forEach(function (b, k) {
      var low = k === 0 ? null : bands[k - 1][0], high = b[0];
      var text = low === null ? w("legend_no_households") : high === Infinity ? "≥ " + num(low) :
        num(low) + "–" + num(high - 1);
      box.appendChild(legendRow(b[1], text));
    });
  }
  function drawLegend() {
    if (!legendBox) { return; }
    clear(legendBox);
    // the title folds the legend away (and back) so that it hides nothing of the map
    var title = G.el("button", "legend-title", w("legend"));
    title.type = "button";
    title.setAttribute("aria-expanded", String(!state.legendFolded));
    title.addEventListener("click", function () {
      state.legendFolded = !state.legendFolded;
      drawLegend();
    });
    legendBox.appendChild(title);
    legendBox.classList.toggle("folded", Boolean(state.legendFolded));
    legendRoom();
    function section(title) { legendBox.appendChild(G.el("div", "legend-section", title)); }
    if (map.hasLayer(eventsLayer)) {
      section(w("layer_events"));
      [["reported", "st_reported"], ["accepted", "st_accepted"], ["in_handling", "st_open"],
        ["handled", "st_handled"], ["overdue", "st_overdue"]].forEach(function (pair) {
        legendItem(legendBox, STATUS_COLOURS[pair[0]], STATUS_WORDS[pair[0]] || w(pair[1]), "dot");
      });
      if (state.pointsFailed) {
        var failed = legendBox.appendChild(G.el("div", "legend-failed", state.pointsFailed));
        failed.setAttribute("role", "alert");
        var again = failed.appendChild(G.el("button", "panel-retry", w("retry")));
        again.type = "button";
        again.addEventListener("click", function () { again.disabled = true; drawEvents(); });
      }
    }
    if (map.hasLayer(officers)) { section(w("layer_officers")); legendItem(legendBox, OFFICER_COLOUR, w("legend_officer"), "dot"); }
    if (map.hasLayer(coverageGroup)) {
      section(w("layer_coverage") + w("legend_h3"));
      if (!COVERAGE) {  // no run was ever computed: the section says so
        legendBox.appendChild(G.el("div", "legend-run", w("not_computed")));
      } else {
        legendBox.appendChild(G.el("div", "legend-run", COVERAGE.label));  // its day, 全天, time
        COVERAGE.legend.forEach(function (r) { legendItem(legendBox, r[0], r[1]); });
        legendItem(legendBox, COVERAGE.not_patrolled, COVERAGE.not_patrolled_label);
        legendItem(legendBox, COVERAGE.no_cells, COVERAGE.no_cells_label);
      }
    }
    if (map.hasLayer(householdGroup)) {
      section(w("layer_households"));
      bandItems(legendBox, HOUSEHOLD_BANDS);
    }
    if (map.hasLayer(zones)) {
      section(w("layer_zones"));
      legendItem(legendBox, "hsl(" + zoneHue(47) + ",70%,60%)", w("legend_zone"));
    }
  }
  // The legend sits bottom left, the layer switches top right: neither covers the other, and
  // the legend never grows past the zoom buttons (it scrolls inside, or folds).
  function legendRoom() {
    if (!legendBox) { return; }
    var zoom = document.querySelector("#home-map .leaflet-control-zoom");
    var used = (zoom ? zoom.offsetHeight : 60) + 40;
    legendBox.style.maxHeight = Math.max(80, map.getSize().y - used) + "px";
  }
  var legend = L.control({position: "bottomleft"});
  legend.onAdd = function () {
    legendBox = L.DomUtil.create("div", "home-legend");
    drawLegend();
    // its width changes with its sections, a scroll bar or the screen mode's font size
    if (window.ResizeObserver) { new ResizeObserver(function () { fitter.refit(); }).observe(legendBox); }
    return legendBox;
  };
  legend.addTo(map);
  map.on("overlayadd overlayremove", function () { drawLegend(); fitter.refit(); });

  coverageGroup.on("add", function () {
    if (coverageLayer) { return; }
    if (!COVERAGE) {  // no run at all: say so rather than fail tiles
      G.notice(w("layer_coverage") + ": " + w("not_computed"));
      return;
    }
    var day = COVERAGE.date;
    coverageLayer = coverageTiles(day);
    coverageGroup.addLayer(coverageLayer);
  });
  householdGroup.on("remove", function () {
    if (!householdsShown) { return; }
    householdsShown = false;
    grids.gridgisLeftOut["grids-l3"] = !shownLevels[3];
    redrawSoon();
  });
  householdGroup.on("add", function () {
    var load = householdCounts ? Promise.resolve() :
      G.getJSON("/api/v1/households/counts?by=grid&level=3", w("layer_households")).then(function (b) {
        householdCounts = {};
        b.data.forEach(function (r) { householdCounts[r.code] = r.households; });
      });
    load.then(function () {
      if (!map.hasLayer(householdGroup) || householdsShown) { return; }
      householdsShown = true;
      grids.gridgisLeftOut["grids-l3"] = false;
      redrawSoon();
    }).catch(function () {});
  });

  // One guard per kind of request (GridGIS.latest): only the answer to the latest request of
  // each is drawn, so a panel of the previous selection (or a slower poll) never lands over
  // the current one, and a selection never waits for a poll.
  var asks = {officers: G.latest(), points: G.latest(), events: G.latest(),
    patrols: G.latest(), kpis: G.latest(), selection: G.latest(), locate: G.latest(),
    search: G.latest()};

  // --- officers and events on the map -------------------------------------------------------
  function drawOfficers() {
    if (!map.hasLayer(officers)) { return Promise.resolve(); }
    return asks.officers.get("/api/v1/positions/latest", w("layer_officers")).then(function (fc) {
      officers.clearLayers();
      fc.features.forEach(function (f) {
        var p = f.properties;
        if (!p.online || (state.sel && !(p.grid || "").startsWith(state.sel))) { return; }
        var m = L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
          radius: 5, color: "#fff", weight: 1.5, fillColor: OFFICER_COLOUR, fillOpacity: 1,
          pane: "home-points"});
        // an element, never a string: Leaflet puts a string tooltip in as HTML
        m.bindTooltip(G.el("span", null, p.name + (p.grid_name ? " · " + p.grid_name : "")));
        officers.addLayer(m);
      });
      state.officers = fc.features;
    }).catch(function () {});
  }

  function drawEvents() {
    if (!map.hasLayer(eventsLayer)) { return Promise.resolve(); }
    return asks.points.get("/api/v1/dashboard/events/points?scope=" + state.sel, w("points_what"))
      .then(function (body) {
        eventsLayer.clearLayers();
        body.data.forEach(function (r) {
          var colour = r[4] ? STATUS_COLOURS.overdue : STATUS_COLOURS[r[1]] || "#555";
          // a click opens the case (not the selection of the grid under it)
          var m = L.circleMarker([r[3], r[2]], {radius: r[4] ? 6 : 4, color: "#fff", weight: 1,
            fillColor: colour, fillOpacity: 0.95, pane: "home-points", bubblingMouseEvents: false});
          m.bindTooltip(G.el("span", null, "#" + r[0] + " · " + (STATUS_WORDS[r[1]] || r[1])));
          m.gridgisEventId = r[0];
          m.on("click", function () { openCase(r[0], m.getLatLng(), under(m)); });
          eventsLayer.addLayer(m);
        });
        if (state.pointsFailed) { state.pointsFailed = null; drawLegend(); }
      }).catch(function (e) {
        // the dots of the last answer stay; the legend says they are not current, and why
        if (e && e.stale) { return; }
        state.pointsFailed = G.failedText(w("points_what"), e);
        drawLegend();
      });
  }

  // An event's case on the map: the popup of /events/map (gridgis-events-case.js), with its
  // timeline and the actions the caller's role may take now; acting refreshes the events
  // panels and dots (the popup is the map's own, so the dots' redraw keeps it open).
  var eventCase = G.eventCase({words: config["case"].words, noteActions: config["case"].note_actions,
    subclassName: function (code) { return config["case"].subclasses[code] || code; },
    onActed: function () {
      state.acted = (state.acted || 0) + 1;
      return Promise.all([loadEvents(), drawEvents()]);
    }});
  var casePopup = null;
  // The other events drawn under a dot (within 8 px of it): several cases reported at one
  // place are each reachable from the popup of the one on top.
  function under(dot) {
    var at = map.latLngToContainerPoint(dot.getLatLng());
    return eventsLayer.getLayers().filter(function (o) {
      return o !== dot && map.latLngToContainerPoint(o.getLatLng()).distanceTo(at) <= 8;
    }).map(function (o) { return o.gridgisEventId; });
  }
  // openCase(id, latlng[, others]): the case's popup; others, the ids of the events under
  // the same dot, listed under it ("此处还有 2 件：#12 #15"), each opening its own case
  function openCase(id, latlng, others) {
    casePopup = L.popup({maxWidth: 380, minWidth: 260, className: "home-case-popup"})
      .setLatLng(latlng).setContent(G.el("div", "gridgis-event-popup", config["case"].words.loading))
      .openOn(map);
    state.openedCase = id;
    var popup = casePopup;
    // the line is put inside whatever the popup shows (loading, the case, a refusal): the
    // case's popup redraws its content after an action or when names arrive
    function othersLine() {
      var line = G.el("div", "home-case-others", w("case_others", {n: others.length}));
      others.forEach(function (other) {
        var b = line.appendChild(G.el("button", "home-case-other", "#" + other));
        b.type = "button";
        b.setAttribute("data-id", String(other));
        b.addEventListener("click", function () {
          openCase(other, latlng, others.filter(function (o) { return o !== other; }).concat([id]));
        });
      });
      return line;
    }
    if (others && others.length) {
      popup.on("contentupdate", function () {
        var content = popup.getContent();
        if (!content || !content.querySelector || content.querySelector(".home-case-others")) { return; }
        content.appendChild(othersLine());
        G.updatePopup(popup);  // its size; the line is there now, so this ends here
      });
      popup.fire("contentupdate");
    }
    return eventCase.show(id, popup);
  }

  var eventMarker = null;
  function clearEvent() {
    if (eventMarker) { map.removeLayer(eventMarker); eventMarker = null; }
    if (casePopup) { map.closePopup(casePopup); casePopup = null; }
  }
  function showEvent(e) {
    clearEvent();
    if (e.id) {  // a case: ringed, its popup with the timeline and the actions
      eventMarker = L.circleMarker([e.lat, e.lon], {radius: 10, color: "#c92a2a", weight: 3,
        fill: false, pane: "home-points", interactive: false}).addTo(map);
      map.setView([e.lat, e.lon], Math.max(map.getZoom(), 16));
      return openCase(e.id, [e.lat, e.lon]);
    }
    eventMarker = L.circleMarker([e.lat, e.lon], {radius: 10, color: "#c92a2a", weight: 3,
      fill: false, pane: "home-points"}).addTo(map);
    var box = G.el("div", "home-popup");
    box.appendChild(G.el("strong", null, e.subclass_name));
    box.appendChild(G.el("div", null, STATUS_WORDS[e.status] || e.status));
    if (e.deadline_at) { box.appendChild(G.el("div", null, w("deadline") + " " + when(e.deadline_at))); }
    if (e.address) { box.appendChild(G.el("div", null, e.address)); }
    eventMarker.bindPopup(box).openPopup();
    map.setView([e.lat, e.lon], Math.max(map.getZoom(), 16));
  }

  // --- panels ---------------------------------------------------------------------------------
  function scopeQuery() { return "scope=" + encodeURIComponent(state.sel); }
  // pageHref("/events/map", {overdue: "true"}): another page, in this page's language
  function pageHref(path, params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k]) { q.set(k, params[k]); } });
    if (lang === "en") { q.set("lang", "en"); }
    return path + (q.toString() ? "?" + q.toString() : "");
  }

  // The panel names the subclass in the page's language (?lang= of its request, the event
  // dictionary's rule); without a name, the code.
  function subclassText(e) {
    return e.subclass_name || w("subclass", {code: e.subclass_code});
  }

  function eventItem(e, kind) {
    var li = G.el("li", "event-item" + (kind === "overdue" ? " overdue" : ""));
    li.setAttribute("data-id", e.id);
    li.tabIndex = 0;
    var top = G.el("div", "ev-top");
    top.appendChild(G.el("span", "ev-id", "#" + e.id));
    top.appendChild(G.el("span", "ev-name", subclassText(e)));
    var st = G.el("span", "ev-status st-" + e.status, STATUS_WORDS[e.status] || e.status);
    top.appendChild(st);
    li.appendChild(top);
    var sub = kind === "overdue" ?
      w("deadline") + " " + when(e.deadline_at) + " · " + w("overdue_by", {h: e.overdue_h}) :
      when(e.reported_at);
    var subBox = G.el("div", "ev-sub", sub);
    // the grid by its name and town, its code in the tooltip (G.gridNames fills them in)
    var gridBox = G.el("span", "ev-grid", "");
    gridBox.title = e.grid_code || "";
    subBox.appendChild(gridBox);
    function named() { gridBox.textContent = " · " + G.gridText(e.grid_code); }
    named();
    // the name arrives after the panel was fitted and may wrap the line: fit again
    G.gridNames([e.grid_code]).then(function () { named(); fitPanels(); });
    li.appendChild(subBox);
    if (state.newIds[e.id]) { li.className += " new"; }
    function go() { showEvent(e); }
    li.addEventListener("click", go);
    li.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { go(); } });
    return li;
  }

  function loadEvents() {
    return asks.events.get("/api/v1/dashboard/events?" + scopeQuery() + "&lang=" + lang,
      w("panel_events")).then(function (b) {
      var c = b.counts;
      var body = clear(panelBody("panel-events"));
      var table = G.el("table", "counts");
      var head = G.el("tr");
      ["", w("today"), w("week")].forEach(function (h) { head.appendChild(G.el("th", null, h)); });
      table.appendChild(head);
      ["reported", "accepted", "in_handling", "overdue"].forEach(function (k) {
        var tr = G.el("tr", "c-" + k);
        tr.appendChild(G.el("th", null, w(k)));
        tr.appendChild(G.el("td", "num", num(c[k + "_day"])));
        tr.appendChild(G.el("td", "num", num(c[k + "_week"])));
        table.appendChild(tr);
      });
      body.appendChild(table);
      var now = G.el("div", "now-figures");
      row(now, w("open_for_handling"), num(c.open_for_handling));
      row(now, w("overdue_now"), num(c.overdue_now), "alert");
      body.appendChild(now);
      var overdue = clear(panelBody("panel-overdue"));
      // all of them: the event list with the same rule (layers/events/listing.py)
      overdue.setAttribute("data-total", String(b.overdue_total || 0));
      overdue.setAttribute("data-more-href", pageHref("/events/map", {overdue: "true", town: state.sel}));
      b.overdue.forEach(function (e) { overdue.appendChild(eventItem(e, "overdue")); });
      if (!b.overdue.length) { overdue.appendChild(G.el("li", "empty", w("none"))); }
      // The live feed: ids above the last seen are new.
      var fresh = 0;
      if (state.lastEventId !== null) {
        b.latest.forEach(function (e) {
          if (e.id > state.lastEventId) { state.newIds[e.id] = true; fresh += 1; }
        });
      }
      state.lastEventId = Math.max(state.lastEventId || 0, c.last_id || 0);
      var live = clear(panelBody("panel-live"));
      live.setAttribute("data-total", String(b.latest_total || 0));
      live.setAttribute("data-more-href", pageHref("/events/map", {town: state.sel, from: b.today}));
      if (fresh) { live.appendChild(G.el("li", "fresh", w("new_events", {n: fresh}))); }
      b.latest.forEach(function (e) { live.appendChild(eventItem(e, "latest")); });
      if (!b.latest.length) { live.appendChild(G.el("li", "empty", w("none"))); }
      setLoaded("panel-events");
      setLoaded("panel-overdue");
      setLoaded("panel-live");
    }).catch(function (e) {
      panelFailed(["panel-events", "panel-overdue", "panel-live"], w("panel_events"), e, loadEvents);
    });
  }

  function coverageBlock(parent, title, day) {
    var box = G.el("div", "cov-day");
    box.appendChild(G.el("h3", null, title));
    if (!day) {
      box.appendChild(G.el("div", "muted", w("not_computed")));
      parent.appendChild(box);
      return;
    }
    row(box, w("coverage"), G.pct(day.h3_share), "big-figure");
    row(box, w("officers"), num(day.officers));
    row(box, w("mileage"), w("km", {v: (day.metres / 1000).toFixed(1)}));
    row(box, w("patrol_time"), w("hours", {v: (day.minutes / 60).toFixed(1)}));
    box.appendChild(G.el("div", "muted", w("computed_at", {t: when(day.computed_at)})));
    if (day.worst && day.worst.length) {
      box.appendChild(G.el("div", "sub-title", w("worst")));
      var ol = G.el("ol", "worst");
      day.worst.forEach(function (g) {
        var li = G.el("li", "link", (g.name || g.code) + " " + G.pct(g.h3_share));
        li.addEventListener("click", function () { select(g.code, true); });
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
    parent.appendChild(box);
  }

  function loadPatrols() {
    return asks.patrols.get("/api/v1/dashboard/patrols?" + scopeQuery(), w("panel_patrols")).then(function (b) {
      var body = clear(panelBody("panel-patrols"));
      var top = G.el("div", "now-figures");
      row(top, w("online"), num(b.online), "good");
      row(top, w("offline_long", {n: b.offline_threshold_min}), num(b.offline_long), "alert");
      row(top, w("devices"), num(b.devices));
      if (b.outside) { row(top, w("outside"), num(b.outside)); }
      body.appendChild(top);
      if (b.silent && b.silent.length) {
        body.appendChild(G.el("div", "sub-title", w("silent")));
        var ul = G.el("ul", "silent");
        // every one the server sent; the rest counted ("N more") and listed on /live
        ul.setAttribute("data-total", String(b.offline_long || 0));
        ul.setAttribute("data-more-href", pageHref("/live",
          {offline_min: String(b.offline_threshold_min), scope: state.sel}));
        b.silent.forEach(function (o) {
          var li = G.el("li", o.grid_code ? "link" : null,
            o.name + " · " + w("silent_for", {d: G.duration(o.age_s)}));
          if (o.grid_code) { li.addEventListener("click", function () { select(o.grid_code, true); }); }
          ul.appendChild(li);
        });
        body.appendChild(ul);
      }
      var days = Object.keys(b.coverage);
      var wrap = G.el("div", "cov-days");
      coverageBlock(wrap, w("cov_today"), b.coverage[days[0]]);
      coverageBlock(wrap, w("cov_yesterday"), b.coverage[days[1]]);
      body.appendChild(wrap);
      setLoaded("panel-patrols");
    }).catch(function (e) {
      panelFailed(["panel-patrols"], w("panel_patrols"), e, loadPatrols);
    });
  }

  var KPI_KEYS = ["patrol", "acceptance_rate", "closure_rate", "on_time_closure_rate",
    "rework_rate", "proper_handling_rate", "closure_h_median"];
  // The one rule of every KPI figure (tiles and ranking): a count is a number (0 when none); a
  // rate whose denominator is 0 (docs/kpis.md: the server sends null) is "—" with a tooltip
  // saying why ("本期无应处置事件"), never 0.0%; a closure time with no case closed likewise.
  var KPI_NONE = {acceptance_rate: "no_reported", closure_rate: "no_due",
    on_time_closure_rate: "no_due", rework_rate: "no_due", proper_handling_rate: "no_due",
    closure_h_median: "no_closed"};
  function kpiCell(node, k, v) {
    node.removeAttribute("title");
    if (!KPI_NONE[k]) { node.textContent = num(v || 0); return node; }
    if (v === null || v === undefined) {
      node.textContent = "—";
      node.title = w(KPI_NONE[k]);
      node.classList.add("kpi-none");
      return node;
    }
    node.textContent = k === "closure_h_median" ? Number(v).toFixed(1) : G.pct(v);
    return node;
  }

  function loadKpis() {
    // ?date= of the page: the panel as at the end of that day (Asia/Shanghai)
    var asOf = config.date ? "&date=" + encodeURIComponent(config.date) : "";
    return asks.kpis.get("/api/v1/dashboard/kpis?" + scopeQuery() + asOf, w("panel_kpis")).then(function (b) {
      var body = clear(panelBody("panel-kpis"));
      var tiles = G.el("div", "kpi-tiles"), side = G.el("div", "kpi-ranking");
      body.appendChild(tiles);
      body.appendChild(side);
      // the first hours of a month have no case yet: the panel shows last month, labelled
      // the period shown is the server's one rule (layers.dashboard.shown_period): on the
      // first day of a month, last month, at every level
      var label = b.shown === "previous" ?
        w(b.current_reported ? "kpi_previous_begun" : "kpi_previous",
          {from: day(b.from), to: day(new Date(new Date(b.to) - 1)), now: when(b.current_from),
            n: num(b.current_reported)}) :
        w("kpi_period", {from: when(b.from)});
      var period = tiles.appendChild(G.el("div", "muted kpi-period" +
        (b.shown === "previous" ? " previous" : ""), label));
      period.title = label;
      var grid = G.el("div", "kpi-grid");
      KPI_KEYS.forEach(function (k) {
        var card = G.el("div", "kpi kpi-" + k);
        card.appendChild(kpiCell(G.el("div", "kpi-v"), k, b.kpis[k]));
        card.appendChild(G.el("div", "kpi-k", w(k)));
        grid.appendChild(card);
      });
      tiles.appendChild(grid);
      if (b.ranking && b.ranking.length) {
        side.appendChild(G.el("div", "sub-title", w("ranking")));
        var table = G.el("table", "ranking");
        var head = G.el("tr");
        [w("rank"), w("name"), w("proper_handling_rate"), w("closure_rate")].forEach(function (h) {
          head.appendChild(G.el("th", null, h));
        });
        table.appendChild(head);
        // every unit the server ranked (of the selection, as at the panel's time); those the
        // panel cannot show are counted and '查看全部' lists them all in the dialog
        table.setAttribute("data-total", String(b.ranking.length));
        b.ranking.forEach(function (r) {
          var tr = G.el("tr", "link");
          tr.setAttribute("data-code", r.key);
          var rank = G.el("td", "num", r.rank === null ? "—" : r.rank);
          if (r.rank === null) { rank.title = w("no_due"); }
          tr.appendChild(rank);
          var name = tr.appendChild(G.el("td", null, r.name));
          name.title = r.name;  // a long name is cut with "…" (fixed layout): whole in its tooltip
          tr.appendChild(kpiCell(G.el("td", "num"), "proper_handling_rate", r.proper_handling_rate));
          tr.appendChild(kpiCell(G.el("td", "num"), "closure_rate", r.closure_rate));
          tr.addEventListener("click", function () { select(r.key, true); });
          table.appendChild(tr);
        });
        side.appendChild(table);
      }
      setLoaded("panel-kpis");
    }).catch(function (e) {
      panelFailed(["panel-kpis"], w("panel_kpis"), e, loadKpis);
    });
  }

  function crumbs(grid) {
    var nav = clear(document.getElementById("home-crumbs"));
    var chain = [{code: "", name: w("city")}];
    if (grid) {
      (grid.ancestors || []).slice().reverse().forEach(function (a) { chain.push(a); });
      chain.push({code: state.sel, name: grid.name});
    }
    chain.forEach(function (c, i) {
      if (i) { nav.appendChild(G.el("span", "sep", "›")); }
      var a = G.el(i === chain.length - 1 ? "strong" : "a", "crumb", c.name || c.code);
      if (i !== chain.length - 1) {
        a.href = hrefFor(c.code);
        a.addEventListener("click", function (ev) { ev.preventDefault(); select(c.code, true); });
      }
      nav.appendChild(a);
    });
  }

  function loadSelection() {
    var body = panelBody("panel-selection");
    if (!state.sel) {
      clear(body);
      crumbs(null);
      if (state.warning) {
        var warn = G.el("div", "sel-warning", state.warning);
        warn.setAttribute("role", "alert");
        body.appendChild(warn);
      }
      body.appendChild(G.el("div", "sel-name", w("city")));
      return asks.selection.get("/api/v1/grids?level=1&simplify=500", w("panel_selection")).then(function (fc) {
        var ul = G.el("ul", "children");
        fc.features.sort(function (a, b) { return a.properties.code < b.properties.code ? -1 : 1; });
        fc.features.forEach(function (f) {
          var li = G.el("li", "link", f.properties.name);
          li.setAttribute("data-code", f.properties.code);
          li.addEventListener("click", function () { select(f.properties.code, true); });
          ul.appendChild(li);
        });
        body.appendChild(G.el("div", "sub-title", w("children")));
        body.appendChild(ul);
        setLoaded("panel-selection");
      }).catch(function (e) {
        panelFailed(["panel-selection"], w("panel_selection"), e, loadSelection, true);
      });
    }
    var code = state.sel, what = w("panel_level" + CODE_LEVEL[code.length]);
    return asks.selection.track(Promise.all([
      G.getJSON("/api/v1/dashboard/grid/" + code, what, {quiet: true}),
      G.getJSON("/api/v1/grids/" + code + "?simplify=50", what, {quiet: true}).catch(function () { return null; }),
    ])).then(function (both) {
      var g = both[0], rel = both[1] ? both[1].properties : {};
      clear(body);
      crumbs({name: g.grid.name, ancestors: rel.ancestors || []});
      var level = ["", w("town"), w("village"), w("grid")][g.grid.level];
      body.appendChild(G.el("div", "sel-name", g.grid.name + " · " + level));
      body.appendChild(G.el("div", "sel-code", g.grid.code));
      var facts = G.el("div", "facts");
      row(facts, w("households"), num(g.households));
      row(facts, w("people"), num(g.household_people));
      if (g.zone) { row(facts, w("zone"), g.zone.name); }
      if (g.squad) { row(facts, w("squad"), g.squad.name); }
      row(facts, w("events_here"), num(g.events.total));
      row(facts, w("overdue_now"), num(g.events.overdue_now), "alert");
      var days = Object.keys(g.coverage);
      var today = g.coverage[days[0]], yesterday = g.coverage[days[1]];
      row(facts, w("coverage") + " · " + w("cov_today"), today ? G.pct(today.h3_share) : w("not_computed"));
      row(facts, w("coverage") + " · " + w("cov_yesterday"), yesterday ? G.pct(yesterday.h3_share) : w("not_computed"));
      body.appendChild(facts);
      // who patrolled it today and yesterday: /playback lists them (GET /api/v1/patrol/visits,
      // layers/patrol_visits.py: the officers of the day's coverage run counted above)
      [[days[0], "patrolled", today, ""], [days[1], "patrolled_yesterday", yesterday,
        " gridgis-patrolled-yesterday"]].forEach(function (d) {
        if (!d[0]) { return; }
        var text = w(d[1]) + (d[2] ? " · " + w("persons", {n: num(d[2].officers)}) : "");
        var who = G.el("a", "link gridgis-patrolled-link" + d[3], text);  // gridgis-playback.js
        who.href = "/playback?" + new URLSearchParams(Object.assign({grid: code, date: d[0]},
          G.pageLang() === "en" ? {lang: "en"} : {})).toString();
        body.appendChild(who);
      });
      if (g.staff && g.staff.length) {
        body.appendChild(G.el("div", "sub-title", w("staff")));
        var ul = G.el("ul", "staff");
        g.staff.forEach(function (s) {
          var li = G.el("li", "person");
          li.appendChild(G.el("span", "role", config.roles[s.role] || s.role));
          li.appendChild(G.el("span", "pname", s.name));
          if (s.phone) { li.appendChild(G.el("span", "phone", s.phone)); }
          ul.appendChild(li);
        });
        body.appendChild(ul);
      }
      if (g.children && g.children.length) {
        body.appendChild(G.el("div", "sub-title", w("children")));
        var cl = G.el("ul", "children");
        g.children.forEach(function (c) {
          var li = G.el("li", "link", c.name);
          li.setAttribute("data-code", c.code);
          li.addEventListener("click", function () { select(c.code, true); });
          cl.appendChild(li);
        });
        body.appendChild(cl);
      }
      if (g.bbox && state.zoomTo === code) {
        fitArea([[g.bbox[1], g.bbox[0]], [g.bbox[3], g.bbox[2]]]);
        state.zoomTo = null;
      }
      setLoaded("panel-selection");
    }).catch(function (error) {
      // the server's own answer that there is no such grid (problem+json), not a proxy's 404
      if (error && error.status === 404 && !error.stale && error.problem && error.problem.status === 404) {
        select("", false).then(function () {
          var warn = G.el("div", "sel-warning", w("bad_sel", {sel: code}));
          warn.setAttribute("role", "alert");
          body.insertBefore(warn, body.firstChild);
        });
        window.history.replaceState({sel: ""}, "", hrefFor(""));
        return;
      }
      panelFailed(["panel-selection"], what, error, loadSelection, true);
    });
  }

  function refreshAll() {
    state.refreshes += 1;
    return Promise.all([loadEvents(), loadPatrols(), loadKpis(), drawOfficers(), drawEvents()]);
  }

  // --- selection ------------------------------------------------------------------------------
  function hrefFor(code) {
    var q = new URLSearchParams(window.location.search);
    if (code) { q.set("sel", code); } else { q.delete("sel"); }
    var s = q.toString();
    return window.location.pathname + (s ? "?" + s : "");
  }

  function select(code, push) {
    code = code || "";
    // A bad ?sel= says so in the selection panel (not the page bar, which the next
    // successful request clears) and shows the city.
    state.warning = code && !validCode(code) ? w("bad_sel", {sel: code}) : null;
    if (state.warning) { code = ""; }
    // another selection is another feed: its events are not "new" for having been unseen
    if (code !== state.sel) { state.lastEventId = null; state.newIds = {}; }
    state.sel = code;
    state.zoomTo = code;
    if (push) { window.history.pushState({sel: code}, "", hrefFor(code)); }
    highlight(code);
    if (!code) { cityView(); }
    if (code && CODE_LEVEL[code.length] >= 2 && !map.hasLayer(levels[3])) { levels[3].addTo(map); }
    return Promise.all([loadSelection(), refreshAll()]);
  }

  window.addEventListener("popstate", function () {
    select(new URLSearchParams(window.location.search).get("sel") || "", false);
  });

  // A click on the map selects the child of the selection that holds the point.
  map.on("click", function (ev) {
    var url = "/api/v1/locate?lon=" + ev.latlng.lng.toFixed(7) + "&lat=" + ev.latlng.lat.toFixed(7);
    asks.locate.get(url, w("panel_selection")).then(function (r) {
      if (!r.found && !r.l1) { return; }
      var chain = [r.l1 && r.l1.code, r.l2 && r.l2.code, r.l3 && r.l3.code].filter(Boolean);
      var next = chain[0];
      for (var i = 0; i < chain.length; i++) {
        if (chain[i] === state.sel) { next = chain[Math.min(i + 1, chain.length - 1)]; break; }
      }
      if (next && next !== state.sel) { select(next, true); }
    }).catch(function () {});
  });

  // --- search ---------------------------------------------------------------------------------
  var form = document.getElementById("home-search");
  var input = document.getElementById("home-search-input");
  var results = document.getElementById("home-search-results");

  // showResults(items, q, problems?): problems are lines saying which lookup failed and why
  function showResults(items, q, problems) {
    clear(results);
    results.hidden = false;
    (problems || []).forEach(function (p) { results.appendChild(G.el("li", "empty search-failed", p)); });
    if (problems && problems.length && !items.length) { return; }
    if (!items.length) { results.appendChild(G.el("li", "empty", w("search_none", {q: q}))); return; }
    items.forEach(function (it) {
      var li = G.el("li", "result link" + (it.exact ? " exact" : ""));
      li.appendChild(G.el("span", "kind", it.kind));
      li.appendChild(G.el("span", "label", it.label));
      li.addEventListener("click", function () { results.hidden = true; it.go(); });
      results.appendChild(li);
    });
    if (items.length === 1 && !(problems && problems.length)) { results.hidden = true; items[0].go(); }
  }

  // An event found by its number: its grid selected, the map on the event with its popup
  // (its point from /api/v1/dashboard/events/{id}/point: any status, never a cached list
  // that a case reported a moment ago is missing from).
  function openEvent(e) {
    var grid = e.routing && e.routing.grid_code;
    return (grid ? select(grid, true) : Promise.resolve()).then(function () {
      return G.getJSON("/api/v1/dashboard/events/" + e.id + "/point", w("search_event"));
    }).then(function (hit) {
      // the subclass by the dictionary's name in the page's language, never its bare code
      var named = e.subclass_name ? Promise.resolve(e.subclass_name) :
        G.getJSON("/api/v1/event-dictionary/subclasses/" + encodeURIComponent(e.subclass) + "?lang=" + lang,
          w("search_event"), {quiet: true}).then(function (s) { return s.name; }, function () { return null; });
      return named.then(function (name) {
        state.openedEvent = e.id;
        var status = STATUS_WORDS[hit.status || e.status] || hit.status || e.status;
        showEvent({id: e.id, lat: hit.lat, lon: hit.lon,
          status: hit.overdue ? status + " · " + w("st_overdue") : status,
          subclass_code: e.subclass, subclass_name: name, deadline_at: e.deadline_at,
          address: e.address});
      });
    }).catch(function () {});
  }

  // A typed coordinate (answer of /api/v1/places with its "point"): the unit grid under it,
  // selected with the point marked, or a line saying it fell outside the city.
  function pointFound(b, q, places, hints) {
    if (!b.point.found || !b.data.length) { hints.push(q + " — " + w("point_outside")); return; }
    var hit = b.data[0];
    places.push({kind: w("search_point"), label: hit.name + " (" + hit.code + ")", exact: true, go: function () {
      select(hit.code, true).then(function () {
        map.setView([b.point.lat, b.point.lon], 17);
        showEvent({id: "", lat: b.point.lat, lon: b.point.lon, status: hit.name, subclass_name: q});
      });
    }});
  }

  function search(q) {
    q = q.trim();
    clearEvent();  // the popup of the previous search closes
    if (!q) { asks.search.drop(); results.hidden = true; return Promise.resolve(); }
    // one list per kind, shown in this order whichever answers first: an event whose number
    // is the query (as the pages show it, "#123" or "123") first, then places, then people.
    // Places are read by the server, the one reader of every form (api/routes/places.py): a
    // typed coordinate (gis/coordtext.py), a grid code or its first or last digits, a name.
    var events = [], places = [], people = [];
    var found = [], failed = [], hints = [];
    // a failed lookup is remembered (what, why): never reported as "not found"
    function failedTo(what) {
      return function (e) { if (!e.stale) { failed.push({what: what, error: e}); } };
    }
    if (/^#?\s*[0-9]{1,8}$/.test(q)) {
      var id = q.replace("#", "").trim();
      found.push(G.getJSON("/api/v1/events/" + id, w("search_event"), {quiet: true}).then(function (e) {
        events.push({kind: w("search_event"), label: "#" + e.id + " " + (e.description || ""), exact: true,
          go: function () { openEvent(e); }});
      }).catch(function (e) { if (e.status !== 404) { failedTo(w("search_event"))(e); } }));
    }
    found.push(G.getJSON("/api/v1/places?q=" + encodeURIComponent(q) + "&limit=8&lang=" + lang,
      w("search_place"), {quiet: true})
      .then(function (b) {
        if (b.point) { pointFound(b, q, places, hints); return; }
        if (!b.count && b.hint) { hints.push(b.hint); }  // what the search takes
        b.data.forEach(function (p) {
          places.push({kind: w("search_place") + " · " + w(p.kind || "grid"), exact: p.match === "exact",
            label: (p.full_name || p.name) + " (" + p.code + ")", go: function () { select(p.code, true); }});
        });
      }).catch(function (e) {
        // numbers the server cannot read as a coordinate: why, and the forms it reads
        if (e.status === 422 && e.problem && e.problem.field === "q") { hints.push(q + " — " + e.problem.detail); return; }
        failedTo(w("search_place"))(e);
      }));
    // every staff member in the caller's scope, with a device or not (api/routes/people_search.py)
    found.push(G.getJSON("/api/v1/people/search?limit=8&lang=" + lang + "&q=" + encodeURIComponent(q),
      w("search_person"), {quiet: true})
      .then(function (b) {
        b.people.forEach(function (p) {
          people.push({kind: w("search_person") + (p.role_name ? " · " + p.role_name : ""),
            label: p.name + (p.grid_name ? " · " + p.grid_name : ""),
            go: function () { if (p.grid) { select(p.grid, true); } }});
        });
      }).catch(failedTo(w("search_person"))));
    return asks.search.track(Promise.all(found)).then(function () {
      var items = events.concat(places, people);
      // an expired session: the session bar says so (G.getJSON), the list says nothing
      if (failed.some(function (f) { return f.error.status === 401; })) { results.hidden = true; return; }
      if (failed.length) {
        showResults(items, q, failed.map(function (f) {
          return w("search_failed", {what: f.what, detail: f.error.message});
        }));
        return;
      }
      showResults(items, q);
      if (!items.length) {
        hints.forEach(function (h) { results.appendChild(G.el("li", "empty search-hint", h)); });
      }
      // Enter on an event's number opens the event (the other matches stay listed under it)
      if (items.length > 1 && items[0].exact) { items[0].go(); }
    }).catch(function () {});
  }

  form.addEventListener("submit", function (ev) { ev.preventDefault(); search(input.value); });
  document.addEventListener("click", function (ev) {
    if (!form.contains(ev.target)) { results.hidden = true; }
  });

  // --- big screen, clock, refresh ------------------------------------------------------------
  var bigButton = document.getElementById("home-big");
  var timers = [];
  function schedule() {
    timers.forEach(clearInterval);
    var big = document.body.classList.contains("big-screen");
    timers = [
      setInterval(function () { loadEvents(); drawEvents(); }, EVENTS_EVERY_MS),
      setInterval(function () { loadPatrols(); loadKpis(); drawOfficers(); },
        big ? BIG_EVERY_MS : PANELS_EVERY_MS),
    ];
  }
  function setBig(on, fromClick) {
    var restyle = document.body.classList.contains("big-screen") !== on;
    document.body.classList.toggle("big-screen", on);
    bigButton.textContent = on ? bigButton.getAttribute("data-off") : bigButton.getAttribute("data-on");
    var q = new URLSearchParams(window.location.search);
    if (on) { q.set("screen", "big"); } else { q.delete("screen"); }
    window.history.replaceState(window.history.state, "", window.location.pathname + (q.toString() ? "?" + q : ""));
    if (fromClick) {
      var doc = document.documentElement;
      if (on && doc.requestFullscreen && !document.fullscreenElement) { doc.requestFullscreen().catch(function () {}); }
      if (!on && document.fullscreenElement && document.exitFullscreen) { document.exitFullscreen().catch(function () {}); }
    }
    setTimeout(function () {
      fitPanels();
      map.invalidateSize();
      if (restyle) { grids.redraw(); }  // the levels' colours follow the screen mode
      highlight(state.sel);
    }, 50);
    schedule();
  }
  bigButton.addEventListener("click", function () {
    setBig(!document.body.classList.contains("big-screen"), true);
  });

  var clock = document.getElementById("home-clock");
  function tick() { clock.textContent = G.dateTime(new Date(), {seconds: true, zone: true}); }
  tick();
  setInterval(tick, 1000);

  G.home = {state: state, map: map, select: select, search: search, levels: levels, grids: grids,
    setBig: setBig, events: eventsLayer, fitter: fitter, openCase: openCase, words: w};
  setBig(Boolean(config.big), false);
  select(config.sel, false);
  window.history.replaceState({sel: state.sel}, "", hrefFor(state.sel));
})(window.GridGIS);
