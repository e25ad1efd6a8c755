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
      kpi_previous: "上月（{from} 至 {to}）：本月（{now} 起）尚无事件", ranking: "排名（按任务妥处率）",
      patrol: "事件巡查数", acceptance_rate: "立案率", closure_rate: "结案率",
      on_time_closure_rate: "按期结案率", rework_rate: "返工率",
      proper_handling_rate: "任务妥处率", closure_h_median: "闭环时间（中位，工时）",
      rank: "名次", name: "名称", none: "无", more: "另有 {n} 项未列出", km: "{v} 公里", hours: "{v} 小时",
      households: "住户", people: "人口", zone: "执法片区", squad: "执法中队",
      staff: "一长五员", phone: "电话", children: "下级", events_here: "事件",
      by_status: "按状态", deadline: "期限", overdue_by: "已超 {h} 小时", new_events: "新事件 {n} 件",
      search_none: "未找到：{q}", search_failed: "查询{what}失败：{detail}", search_grid: "网格", search_place: "地名", search_person: "人员",
      search_event: "事件", search_point: "坐标", point_outside: "该坐标不在本市网格内",
      bad_lon: "经度超出范围（应在 -180 到 180 之间）", bad_lat: "纬度超出范围（应在 -90 到 90 之间）",
      bad_crs: "不认识的坐标系（可用 cgcs2000、wgs84、gcj02、bd09，或 EPSG:4549 米制坐标）",
      bad_point: "无法识别该坐标",
      bad_sel: "地址中的范围 {sel} 不是有效的网格编码，已显示全市。",
      layer_l1: "镇街边界", layer_l2: "村社区边界", layer_l3: "单元网格",
      layer_zones: "执法片区", layer_officers: "在线巡查人员", layer_events: "事件（按状态）",
      layer_coverage: "巡查覆盖率", layer_households: "住户密度（户数）",
      legend_officer: "在线人员", legend_h3: "（H3 覆盖率）", legend_no_cells: "无 H3 单元",
      legend_no_households: "0 户", legend_zone: "各片区一色，边线为片区界",
      legend: "图例", st_reported: "待受理", st_accepted: "已立案", st_open: "处置中",
      st_handled: "已处置待核查", st_overdue: "超时", time_label: "北京时间",
      panel_events: "事件", panel_patrols: "巡查", panel_kpis: "考核指标",
      panel_selection: "当前范围", panel_grid: "网格详情",
      h_share: "H3 覆盖率", minutes: "{v} 分钟", subclass: "{code}", silent: "离线人员（最近失联在前）",
      silent_for: "{d}未上报", patrolled: "今天巡查过的队员（轨迹回放）",
      patrolled_yesterday: "昨天巡查过的队员（轨迹回放）", persons: "{n} 人",
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
      kpi_previous: "Last month ({from} to {to}): no events yet this month (since {now})", ranking: "Ranking (proper handling rate)",
      patrol: "Events found on patrol", acceptance_rate: "Acceptance rate",
      closure_rate: "Closure rate", on_time_closure_rate: "On-time closure rate",
      rework_rate: "Rework rate", proper_handling_rate: "Proper handling rate",
      closure_h_median: "Time to closure (median, work hours)",
      rank: "Rank", name: "Name", none: "None", more: "{n} more not listed", km: "{v} km", hours: "{v} h",
      households: "Households", people: "Residents", zone: "Enforcement zone", squad: "Squad",
      staff: "Grid staff", phone: "Phone", children: "Below", events_here: "Events",
      by_status: "By status", deadline: "Deadline", overdue_by: "{h} h overdue",
      new_events: "{n} new events",
      search_none: "Nothing found: {q}", search_failed: "Could not search {what}: {detail}", search_grid: "Grid", search_place: "Place",
      search_person: "Person", search_event: "Event", search_point: "Point",
      point_outside: "This point is outside the city's grids",
      bad_lon: "longitude out of range (-180 to 180)", bad_lat: "latitude out of range (-90 to 90)",
      bad_crs: "unknown coordinate system (cgcs2000, wgs84, gcj02, bd09, or EPSG:4549 metres)",
      bad_point: "this coordinate cannot be read",
      bad_sel: "The selection {sel} in the address is not a grid code; showing the city.",
      layer_l1: "Town boundaries", layer_l2: "Village boundaries", layer_l3: "Unit grids",
      layer_zones: "Enforcement zones", layer_officers: "Officers online",
      layer_events: "Events by status", layer_coverage: "Patrol coverage",
      layer_households: "Household density (counts)",
      legend_officer: "Officer online", legend_h3: " (H3 share)", legend_no_cells: "no H3 cells",
      legend_no_households: "0 households", legend_zone: "one colour per zone, outlined",
      legend: "Legend", st_reported: "Awaiting acceptance", st_accepted: "Accepted",
      st_open: "In handling", st_handled: "Handled, to verify", st_overdue: "Overdue",
      time_label: "Asia/Shanghai",
      panel_events: "events", panel_patrols: "patrols", panel_kpis: "KPIs",
      panel_selection: "the selection", panel_grid: "the grid",
      h_share: "H3 coverage", minutes: "{v} min", subclass: "Event type {code}",
      silent: "Offline officers (most recently lost first)", silent_for: "silent {d}",
      patrolled: "Officers who patrolled it today (playback)",
      patrolled_yesterday: "Officers who patrolled it yesterday (playback)",
      persons: "{n} officers",
    },
  };
  // fill classes: [upper bound (exclusive), colour]; coverage in H3 share %, a red-blue scale;
  // households per unit grid, purples (never mistaken for coverage); the first class is 0
  var COVERAGE_BANDS = [[5, "#b2182b"], [15, "#ef8a62"], [30, "#fddbc7"], [50, "#d1e5f0"],
    [75, "#67a9cf"], [Infinity, "#2166ac"]];
  var NO_COVERAGE = "#bbb";
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
  var fmtTime = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hour12: false});
  function when(iso) { return iso ? fmtTime.format(new Date(iso)) : "—"; }
  var fmtDay = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit"});
  function day(iso) { return iso ? fmtDay.format(new Date(iso)) : "—"; }
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

  // --- every panel fits its column ------------------------------------------------------------
  // A column (left, right, under the map) never scrolls and no panel is cut mid-line: while a
  // panel's body is taller than its box, the longest list of the column loses its last row and
  // says how many it left out ("另有 3 项"). Fixed lines (counts, coverage, KPI tiles) are
  // never hidden; the layout (gridgis-home.css) keeps room for them at 1920x1080.
  var FIT_LISTS = "ul, ol, table.ranking";
  function listRows(list) {
    return Array.prototype.filter.call(list.children, function (c) {
      return !(list.tagName === "TABLE" && c.querySelector("th"));
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
  function fitColumn(column) {
    column.querySelectorAll(".fit-more").forEach(function (n) { n.remove(); });
    column.querySelectorAll(".fit-hidden").forEach(function (n) { n.classList.remove("fit-hidden"); });
    var lists = Array.prototype.slice.call(column.querySelectorAll(FIT_LISTS));
    // a list the server cut (data-total: how many there are) counts what it never received
    function unlisted(list) {
      return Math.max(0, Number(list.getAttribute("data-total") || 0) - listRows(list).length);
    }
    lists.forEach(function (list) {
      if (unlisted(list)) { moreNote(list).textContent = w("more", {n: unlisted(list)}); }
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
      moreNote(longest).textContent = w("more", {n: hidden});
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
    {zoomControl: true, preferCanvas: true, minZoom: 8, maxZoom: 19}));
  map.attributionControl.setPrefix("Leaflet");
  // The city is fitted to the part of the map no control covers: left of the layer switches,
  // right of the legend (their sizes when the page opens or the window changes size).
  var LEGEND_PX = 200, LAYERS_PX = 230;
  // fitArea(bounds): [[south, west], [north, east]] in view beside the legend (left) and the
  // layer switches (right), so that neither covers any of it (a town or grid as the city).
  // The area last fitted stays fitted when the legend grows or shrinks (a layer switched on
  // adds its section and may widen it), unless the user has moved the map since.
  var fitted = null, fittedLegendPx = null;
  function fitArea(bounds) {
    fitted = bounds;
    var left = document.querySelector("#home-map .home-legend");
    fittedLegendPx = left ? left.offsetWidth : null;
    var right = document.querySelector("#home-map .leaflet-control-layers");
    // before the controls exist (the first view): their usual widths
    map.fitBounds(bounds, {
      paddingTopLeft: [(left ? left.offsetWidth : LEGEND_PX) + 20, 10],
      paddingBottomRight: [(right ? right.offsetWidth : LAYERS_PX) + 20, 10],
    });
  }
  function cityView() { fitArea(config.bounds); }
  map.on("dragstart", function () { fitted = null; });
  map.getContainer().addEventListener("wheel", function () { fitted = null; }, {passive: true});
  document.querySelectorAll("#home-map .leaflet-control-zoom a").forEach(function (a) {
    a.addEventListener("click", function () { fitted = null; });
  });
  function refitBesideLegend() {
    if (!fitted || !legendBox) { return; }
    if (legendBox.offsetWidth !== fittedLegendPx) { fitArea(fitted); }
  }
  cityView();
  G.datum.addBasemap(map, config.basemap, {maxZoom: 19});
  // The whole city stays in view when the window changes size (full screen, a wall screen).
  map.on("resize", function () {
    legendRoom();
    if (!state.sel) { cityView(); }
  });
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

  var coverageLayer = null;
  function coverageTiles(day) {
    return G.tiles.layer("coverage", {params: {date: day}, pane: "home-fills", style: function (p) {
      var s = p.share_pct === undefined ? null : Number(p.share_pct);
      var c = s === null ? NO_COVERAGE : bandColour(COVERAGE_BANDS, s);
      return {fill: true, fillColor: c, fillOpacity: 0.6, weight: 0.3, color: "#666"};
    }});
  }
  var coverageGroup = L.layerGroup();

  var householdGroup = L.layerGroup();  // the switch of the households fill (grids above)

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
  // band labels that never overlap: whole counts "1–199", "200–399"; shares "< 5%", "5% – <15%"
  function bandItems(box, bands, percent) {
    bands.forEach(function (b, k) {
      var low = k === 0 ? null : bands[k - 1][0], high = b[0];
      var text;
      if (percent) {
        text = low === null ? "< " + high + "%" : high === Infinity ? "≥ " + low + "%" :
          low + "% – <" + high + "%";
      } else {
        text = low === null ? w("legend_no_households") : high === Infinity ? "≥ " + num(low) :
          num(low) + "–" + num(high - 1);
      }
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
    }
    if (map.hasLayer(officers)) { section(w("layer_officers")); legendItem(legendBox, OFFICER_COLOUR, w("legend_officer"), "dot"); }
    if (map.hasLayer(coverageGroup)) {
      section(w("layer_coverage") + w("legend_h3"));
      bandItems(legendBox, COVERAGE_BANDS, true);
      legendItem(legendBox, NO_COVERAGE, w("legend_no_cells"));
    }
    if (map.hasLayer(householdGroup)) {
      section(w("layer_households"));
      bandItems(legendBox, HOUSEHOLD_BANDS, false);
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
    if (window.ResizeObserver) { new ResizeObserver(refitBesideLegend).observe(legendBox); }
    return legendBox;
  };
  legend.addTo(map);
  map.on("overlayadd overlayremove", function () { drawLegend(); refitBesideLegend(); });

  coverageGroup.on("add", function () {
    if (coverageLayer) { return; }
    if (!state.coverageDay) {  // no run today or yesterday: say so rather than fail tiles
      G.notice(w("layer_coverage") + ": " + w("not_computed"));
      return;
    }
    var day = state.coverageDay;
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
    return asks.points.get("/api/v1/dashboard/events/points?scope=" + state.sel, w("layer_events"))
      .then(function (body) {
        eventsLayer.clearLayers();
        body.data.forEach(function (r) {
          var colour = r[4] ? STATUS_COLOURS.overdue : STATUS_COLOURS[r[1]] || "#555";
          var m = L.circleMarker([r[3], r[2]], {radius: r[4] ? 6 : 4, color: "#fff", weight: 1,
            fillColor: colour, fillOpacity: 0.95, pane: "home-points"});
          m.bindTooltip(G.el("span", null, "#" + r[0] + " · " + (STATUS_WORDS[r[1]] || r[1])));
          eventsLayer.addLayer(m);
        });
      }).catch(function () {});
  }

  var eventMarker = null;
  function clearEvent() {
    if (eventMarker) { map.removeLayer(eventMarker); eventMarker = null; }
  }
  function showEvent(e) {
    clearEvent();
    eventMarker = L.circleMarker([e.lat, e.lon], {radius: 10, color: "#c92a2a", weight: 3,
      fill: false, pane: "home-points"}).addTo(map);
    var box = G.el("div", "home-popup");
    box.appendChild(G.el("strong", null, (e.id ? "#" + e.id + " " + subclassText(e) :
      e.subclass_name)));
    box.appendChild(G.el("div", null, STATUS_WORDS[e.status] || e.status));
    if (e.deadline_at) { box.appendChild(G.el("div", null, w("deadline") + " " + when(e.deadline_at))); }
    if (e.address) { box.appendChild(G.el("div", null, e.address)); }
    eventMarker.bindPopup(box).openPopup();
    map.setView([e.lat, e.lon], Math.max(map.getZoom(), 16));
  }

  // --- panels ---------------------------------------------------------------------------------
  function scopeQuery() { return "scope=" + encodeURIComponent(state.sel); }

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
      overdue.setAttribute("data-total", String(c.overdue_now || 0));
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
      if (fresh) { live.appendChild(G.el("li", "fresh", w("new_events", {n: fresh}))); }
      b.latest.forEach(function (e) { live.appendChild(eventItem(e, "latest")); });
      if (!b.latest.length) { live.appendChild(G.el("li", "empty", w("none"))); }
      setLoaded("panel-events");
      setLoaded("panel-overdue");
      setLoaded("panel-live");
    }).catch(function () {});
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
      day.worst.slice(0, 5).forEach(function (g) {
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
      body.appendChild(top);
      if (b.silent && b.silent.length) {
        body.appendChild(G.el("div", "sub-title", w("silent")));
        var ul = G.el("ul", "silent");
        b.silent.slice(0, 5).forEach(function (o) {
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
      state.coverageDay = b.coverage[days[0]] ? days[0] : b.coverage[days[1]] ? days[1] : null;
      setLoaded("panel-patrols");
    }).catch(function () {});
  }

  var KPI_KEYS = ["patrol", "acceptance_rate", "closure_rate", "on_time_closure_rate",
    "rework_rate", "proper_handling_rate", "closure_h_median"];
  function kpiValue(k, v) {
    if (k === "patrol") { return num(v); }
    if (k === "closure_h_median") { return v === null ? "—" : Number(v).toFixed(1); }
    return G.pct(v);
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
      var label = b.shown === "previous" ?
        w("kpi_previous", {from: day(b.from), to: day(new Date(new Date(b.to) - 1)),
          now: when(b.current_from)}) :
        w("kpi_period", {from: when(b.from)});
      tiles.appendChild(G.el("div", "muted kpi-period" + (b.shown === "previous" ? " previous" : ""),
        label));
      var grid = G.el("div", "kpi-grid");
      KPI_KEYS.forEach(function (k) {
        var card = G.el("div", "kpi kpi-" + k);
        card.appendChild(G.el("div", "kpi-v", kpiValue(k, b.kpis[k])));
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
        b.ranking.slice(0, 10).forEach(function (r) {
          var tr = G.el("tr", "link");
          tr.setAttribute("data-code", r.key);
          tr.appendChild(G.el("td", "num", r.rank === null ? "—" : r.rank));
          tr.appendChild(G.el("td", null, r.name));
          tr.appendChild(G.el("td", "num", G.pct(r.proper_handling_rate)));
          tr.appendChild(G.el("td", "num", G.pct(r.closure_rate)));
          tr.addEventListener("click", function () { select(r.key, true); });
          table.appendChild(tr);
        });
        side.appendChild(table);
      }
      setLoaded("panel-kpis");
    }).catch(function () {});
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
      }).catch(function () {});
    }
    var code = state.sel;
    return asks.selection.track(Promise.all([
      G.getJSON("/api/v1/dashboard/grid/" + code, w("panel_grid")),
      G.getJSON("/api/v1/grids/" + code + "?simplify=50", w("panel_grid")).catch(function () { return null; }),
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
        g.staff.slice(0, 12).forEach(function (s) {
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
      if (error && error.status === 404 && !error.stale) {
        select("", false).then(function () {
          var warn = G.el("div", "sel-warning", w("bad_sel", {sel: code}));
          warn.setAttribute("role", "alert");
          body.insertBefore(warn, body.firstChild);
        });
        window.history.replaceState({sel: ""}, "", hrefFor(""));
      }
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
  var COORD = /^\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*(cgcs2000|wgs84|gcj02|bd09)?\s*$/i;

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

  // Projected CGCS2000 metres: EPSG:4549 (3-degree Gauss-Krüger, central meridian 120°E,
  // false easting 500 km, optionally prefixed by the zone number 40), northing and easting in
  // either order, e.g. "3530000,526000 cgcs2000", "EPSG:4549 526000,3530000".
  var PROJECTED = /^\s*(?:epsg:?\s*4549\s*)?(\d{5,9}(?:\.\d+)?)\s*[,，\s]\s*(\d{5,9}(?:\.\d+)?)\s*(?:cgcs2000|epsg:?\s*4549)?\s*$/i;
  // gaussKrugerToLonLat(northing_m, easting_m) -> [lon, lat] in degrees on the CGCS2000
  // ellipsoid (a = 6378137 m, f = 1/298.257222101), central meridian 120°E, scale 1
  // (inverse transverse Mercator, Snyder 1987, eq. 8-18 to 8-25; well under 1 mm at 3°).
  function gaussKrugerToLonLat(north, east) {
    var a = 6378137, f = 1 / 298.257222101, e2 = f * (2 - f), ep2 = e2 / (1 - e2);
    var x = east - 500000, mu = north / (a * (1 - e2 / 4 - 3 * e2 * e2 / 64 - 5 * e2 * e2 * e2 / 256));
    var e1 = (1 - Math.sqrt(1 - e2)) / (1 + Math.sqrt(1 - e2));
    var phi1 = mu + (3 * e1 / 2 - 27 * Math.pow(e1, 3) / 32) * Math.sin(2 * mu) +
      (21 * e1 * e1 / 16 - 55 * Math.pow(e1, 4) / 32) * Math.sin(4 * mu) +
      (151 * Math.pow(e1, 3) / 96) * Math.sin(6 * mu) + (1097 * Math.pow(e1, 4) / 512) * Math.sin(8 * mu);
    var sin1 = Math.sin(phi1), cos1 = Math.cos(phi1), tan1 = Math.tan(phi1);
    var c1 = ep2 * cos1 * cos1, t1 = tan1 * tan1;
    var n1 = a / Math.sqrt(1 - e2 * sin1 * sin1), r1 = a * (1 - e2) / Math.pow(1 - e2 * sin1 * sin1, 1.5);
    var d = x / n1;
    var lat = phi1 - (n1 * tan1 / r1) * (d * d / 2 - (5 + 3 * t1 + 10 * c1 - 4 * c1 * c1 - 9 * ep2) *
      Math.pow(d, 4) / 24 + (61 + 90 * t1 + 298 * c1 + 45 * t1 * t1 - 252 * ep2 - 3 * c1 * c1) *
      Math.pow(d, 6) / 720);
    var lon = (d - (1 + 2 * t1 + c1) * Math.pow(d, 3) / 6 + (5 - 2 * c1 + 28 * t1 - 3 * c1 * c1 +
      8 * ep2 + 24 * t1 * t1) * Math.pow(d, 5) / 120) / cos1;
    return [120 + lon * 180 / Math.PI, lat * 180 / Math.PI];
  }
  function projected(q) {
    var m = PROJECTED.exec(q);
    if (!m) { return null; }
    var a = Number(m[1]), b = Number(m[2]);
    // the easting has six digits (or eight with the zone number 40 in front), the northing seven
    function zoned(v) { return v >= 40000000 && v < 41000000; }
    var east = zoned(a) || (!zoned(b) && a < b) ? a : b, north = east === a ? b : a;
    if (zoned(east)) { east -= 40000000; }
    if (east < 100000 || east >= 1000000 || north < 1000000 || north >= 10000000) { return null; }
    return gaussKrugerToLonLat(north, east);
  }
  // a coordinate the server refused, in the page's words (its field: lon, lat or crs)
  function pointProblem(e) {
    var field = e.problem && e.problem.field;
    return {lon: w("bad_lon"), lat: w("bad_lat"), crs: w("bad_crs")}[field] || w("bad_point");
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

  function search(q) {
    q = q.trim();
    clearEvent();  // the popup of the previous search closes
    if (!q) { asks.search.drop(); results.hidden = true; return Promise.resolve(); }
    var m = COORD.exec(q), metres = projected(q);
    if (metres) { m = [q, String(metres[0]), String(metres[1]), "cgcs2000"]; }
    if (m) {
      var lon = Number(m[1]), lat = Number(m[2]);
      if (!metres && lon < lat) { var t = lon; lon = lat; lat = t; }  // "31.91,120.28": lat first
      var crs = (m[3] || "cgcs2000").toLowerCase();
      return asks.search.get("/api/v1/locate?lon=" + lon + "&lat=" + lat + "&crs=" + crs, w("search_point"),
        {quiet: true})
        .then(function (r) {
          if (!r.l3) { showResults([], q + " — " + w("point_outside")); return; }
          showResults([{kind: w("search_point"), label: r.l3.name + " (" + r.l3.code + ")", go: function () {
            select(r.l3.code, true).then(function () {
              map.setView([r.lat, r.lon], 17);
              showEvent({id: "", lat: r.lat, lon: r.lon, status: r.l3.name, subclass_name: q});
            });
          }}], q);
        }).catch(function (e) {  // a coordinate the server cannot take: say why, in place
          if (e.stale || e.status === 401) { return; }
          showResults([], q + " — " + (e.status === 0 ? e.message : pointProblem(e)));
        });
    }
    if (/^[0-9]+$/.test(q) && validCode(q)) {
      asks.search.drop();
      return Promise.resolve(showResults([{kind: w("search_grid"), label: q, go: function () { select(q, true); }}], q));
    }
    // one list per kind, shown in this order whichever answers first: an event whose number
    // is the query (as the pages show it, "#123" or "123") first, then places, then people
    var events = [], places = [], people = [];
    var found = [], failed = [];
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
    found.push(G.getJSON("/api/v1/places?q=" + encodeURIComponent(q) + "&limit=8", w("search_place"), {quiet: true})
      .then(function (b) {
        b.data.forEach(function (p) {
          places.push({kind: w("search_place") + " · " + w(p.kind || "grid"),
            label: (p.full_name || p.name) + " (" + p.code + ")", go: function () { select(p.code, true); }});
        });
      }).catch(failedTo(w("search_place"))));
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
  var fmtClock = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
  function tick() { clock.textContent = fmtClock.format(new Date()) + " " + w("time_label"); }
  tick();
  setInterval(tick, 1000);

  G.home = {state: state, map: map, select: select, search: search, levels: levels, grids: grids,
    setBig: setBig};
  setBig(Boolean(config.big), false);
  select(config.sel, false);
  window.history.replaceState({sel: state.sel}, "", hrefFor(state.sel));
})(window.GridGIS);
