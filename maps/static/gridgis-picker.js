// The officer and day picker of /playback and /live: search an officer by name, grid (code or
// name) or device (id, label) through GET /api/v1/patrol/officers (the caller's scope), and a
// day (a date input, Beijing time). G.officerPicker(map, {day, onPick, position}) adds it as a
// Leaflet control and returns {setDay(day), day()}; onPick(officer, day) runs when an officer
// is chosen or, once one is chosen, the day changes; visits(grid, day) lists the officers who
// patrolled a grid that day (GET /api/v1/patrol/visits). Also G.shanghaiToday(), G.nextDay(d).
(function (G) {
  "use strict";

  var TEXT = {
    zh: {
      title: "选择队员和日期", search: "姓名、网格或设备", day: "日期（北京时间）",
      none: "没有匹配的队员", officers: "队员列表", failed: "查找队员失败：{detail}",
      hint: "输入姓名、网格编码或名称、设备编号",
      visited: "{day} 在网格 {grid} 巡查过的队员：", nobody: "当天没有队员在此网格留下定位",
    },
    en: {
      title: "Pick an officer and a day", search: "Name, grid or device",
      day: "Day (Beijing time)", none: "No officer matches", officers: "the officers",
      failed: "Could not search the officers: {detail}",
      hint: "Type a name, a grid code or name, or a device",
      visited: "Officers who patrolled grid {grid} on {day}:",
      nobody: "No officer left a fix in this grid that day",
    },
  };

  // Today's calendar day (YYYY-MM-DD) in Asia/Shanghai, and the day after a day.
  G.shanghaiToday = function () { return G.today(); };
  G.nextDay = function (day) {
    var d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  };
  G.isDay = function (value) {
    return /^\d{4}-\d{2}-\d{2}$/.test(value || "") &&
      !isNaN(new Date(value + "T00:00:00Z").getTime());
  };

  // A grid by its name and its town's ("澄山社区第1网格 · 澄江街道", G.gridNames/gridText of
  // GET /api/v1/grid-names), else the name the answer gave; the code only when nothing is known
  // (the code goes in the element's title: hover).
  G.gridLabel = function (code, name) {
    var named = G.gridText(code);
    return named && named !== code ? named : name || code || "";
  };
  // "严芳 · 网格员 · 澄山社区第1网格 · 澄江街道"
  G.officerLabel = function (o) {
    var parts = [o.name];
    if (o.role_name) { parts.push(o.role_name); }
    if (o.grid) { parts.push(G.gridLabel(o.grid, o.grid_name)); }
    return parts.join(" · ");
  };

  G.officerPicker = function (map, options) {
    var box = L.DomUtil.create("div", "gridgis-picker leaflet-bar");
    box.appendChild(G.el("div", "gridgis-picker-title", G.t(TEXT, "title")));
    var input = G.el("input");
    input.id = "gg-who";
    input.type = "search";
    input.placeholder = G.t(TEXT, "search");
    input.title = G.t(TEXT, "hint");
    input.setAttribute("aria-label", G.t(TEXT, "search"));
    var day = G.el("input");
    day.id = "gg-day";
    day.type = "date";
    day.title = G.t(TEXT, "day");
    day.setAttribute("aria-label", G.t(TEXT, "day"));
    day.value = G.isDay(options.day) ? options.day : G.shanghaiToday();
    var lastDay = null;  // the day of the officer's track last asked for
    var dayLabel = G.el("label", "gridgis-picker-day", G.t(TEXT, "day") + " ");
    dayLabel.appendChild(day);
    G.isoDay(day);  // shown as 2026-12-01 whatever the browser's language
    var list = G.el("ul", "gridgis-picker-list");
    list.id = "gg-who-list";
    [input, dayLabel, list].forEach(function (n) { box.appendChild(n); });
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    var control = L.control({position: options.position || "topright"});
    control.onAdd = function () { return box; };
    control.addTo(map);

    var chosen = null, searches = G.latest(), timer = null;
    // the list once the officers' grids are named (one request for the codes not yet known)
    var shown = 0;
    function show(officers, heading, none, grid) {
      var mine = shown += 1;
      G.gridNames(officers.map(function (o) { return o.grid; }).concat([grid])).then(function () {
        if (mine === shown) { render(officers, heading && heading(), none); }
      });
    }
    function render(officers, heading, none) {
      list.textContent = "";
      if (heading) { list.appendChild(G.el("li", "gridgis-picker-visited", heading)); }
      if (!officers.length) {
        list.appendChild(G.el("li", "gridgis-picker-none", none || G.t(TEXT, "none")));
        return;
      }
      officers.forEach(function (o) {
        var li = G.el("li");
        var b = G.el("button", "gridgis-picker-officer", G.officerLabel(o));
        b.type = "button";
        if (o.grid) { b.title = o.grid; }
        b.dataset.device = String(o.device_id);
        b.addEventListener("click", function () {
          chosen = o;
          lastDay = day.value;
          input.value = o.name;
          list.textContent = "";
          options.onPick(o, day.value);
        });
        li.appendChild(b);
        list.appendChild(li);
      });
    }
    function failed(error) {
      if (error.stale) { return; }
      shown += 1;  // a list still waiting for its names is not drawn over this
      list.textContent = "";
      list.appendChild(G.el("li", "gridgis-picker-none",
        error.status === 401 ? error.message : G.t(TEXT, "failed", {detail: error.message})));
    }
    // The officers whose fixes fell in grid ``grid`` on ``day`` (a link from a grid or event).
    function visits(grid, when) {
      var url = "/api/v1/patrol/visits?" + new URLSearchParams({grid: grid, date: when,
        lang: G.pageLang()});
      searches.get(url, G.t(TEXT, "officers"), {quiet: true}).then(function (data) {
        show(data.officers || [], function () {
          return G.t(TEXT, "visited", {grid: G.gridLabel(grid), day: when});
        }, G.t(TEXT, "nobody"), grid);
      }).catch(failed);
    }
    function search() {
      var q = input.value.trim();
      if (!q) { searches.drop(); list.textContent = ""; return; }
      var url = "/api/v1/patrol/officers?" + new URLSearchParams({q: q, lang: G.pageLang()});
      searches.get(url, G.t(TEXT, "officers"), {quiet: true})
        .then(function (data) { show(data.officers || [], null); })
        .catch(failed);
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    // A day typed segment by segment fires "change" for each (month, then day): the officer's
    // track is asked for once, for the day the input settles on, and once per day only.
    var dayTimer = null;
    day.addEventListener("change", function () {
      window.clearTimeout(dayTimer);
      dayTimer = window.setTimeout(function () {
        if (!chosen || !G.isDay(day.value) || day.value === lastDay) { return; }
        lastDay = day.value;
        options.onPick(chosen, day.value);
      }, 400);
    });
    return {
      setDay: function (value) { if (G.isDay(value)) { day.value = value; } },
      setOfficer: function (o) { chosen = o; lastDay = day.value; input.value = o ? o.name : ""; },
      day: function () { return day.value; },
      visits: visits,
    };
  };
})(window.GridGIS);
