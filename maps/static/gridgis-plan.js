// /plan (api/pages/plan.py, api/pages/templates/plan.html): the planners' page.
//
// - drafts: pick one (GET /api/v1/generations) or make one (POST /api/v1/generations: a copy of
//   the active generation as JSON, or a file as multipart);
// - two maps side by side, views in step: the active generation (left) and the draft (right),
//   both drawn from the vector tiles (GridGIS.tiles, ?generation=ID), the draft's changes
//   coloured from GET …/diff with a legend;
// - edits (POST …/edits, If-Match with the draft's version; 409 = someone else edited first):
//   click a unit grid, drag one of its vertices (leaflet-geoman edit mode, snapping to the
//   neighbours) -> move_vertex; draw a line -> split; merge, re-parent, move edge, rename,
//   recode from small forms; undo/redo of the edit log;
// - problems (GET …/problems), click one to see it; the impact report (GET …/impact, XLSX);
// - review: submit / approve / reject, publish as a dry run first, then commit.
// Every answer of the server, and every problem+json (its detail and field), is shown in place.
//
// The side panels (problems, impact, edit log, review and publish) are in
// gridgis-plan-panels.js. Test hook: window.gridgisPlan = {ready, state, maps, edits, impacts, answers}.
(function (G) {
  "use strict";

  var WORDS = {
    zh: {
      generations: "网格版本", grid: "网格", diff: "变化", problems: "校验问题",
      impact: "影响评估", log: "编辑记录",
      status_draft: "草案", status_submitted: "待审核", status_approved: "已批准",
      status_active: "现行", status_retired: "已停用",
      draft_info: "#{id} {name} · {status} · 创建人 {by} · 版本 {version}",
      created: "已创建草案 #{id}：单元网格 {l3} 个，可发布：{ok}。",
      yes: "是", no: "否", need_draft: "请先选择或新建草案。", need_grid: "请先点击选择一个网格。",
      need_name: "请填写草案名称。", need_file: "请选择文件。",
      not_editable: "草案状态为“{status}”，只能编辑状态为“草案”的版本（先退回）。",
      selected: "{code} {name}（上级 {parent}，面积 {area} m²）",
      conflict: "其他人已修改此草案，请重新加载。当前版本：{v}（你的版本：{mine}）。",
      reload: "重新加载",
      error: "错误 {status} {title}：{detail}", field: "（字段：{field}）",
      network: "无法连接服务器",
      expired: "登录已过期，请重新登录。",
      edit_done: "{op} 完成，版本 {v}。变化的网格：{changed}。", removed: "已删除编码：{codes}。",
      remaining: "受影响镇街剩余问题：{n} 个。", no_remaining: "受影响镇街没有问题。",
      split_hint: "在右侧地图上画拆分线：逐点单击，单击最后一点结束。",
      legend: "草案变化", added: "新增", removed_grid: "删除", reshaped: "形状改变",
      renamed: "改名", no_problems: "没有问题，可以提交。",
      problem: "{kind}：{codes} {detail}",
      totals: "变化网格", households: "住户", open_events: "未结事件", assignments: "人员分工",
      assignments_to_decide: "需人工确定的分工", zones: "执法片区", devices: "设备",
      list_more: "… 另 {n} 条",
      reviewed: "状态：{status}，版本 {v}。",
      dry_title: "发布预演（未做任何改变）：",
      dry: "将替换 #{rid} {rname}；生效时间 {at}{scheduled}；校验：{valid}。",
      scheduled: "（定时发布）", valid: "通过", invalid: "未通过",
      published: "已发布：{message}",
      log_row: "v{version} {op} · {actor} · {reason}{state}", undone: "（已撤销）",
      discarded: "（已作废）", none: "无",
    },
    en: {
      generations: "generations", grid: "the grid", diff: "the changes", problems: "problems",
      impact: "the impact", log: "the edit log",
      status_draft: "draft", status_submitted: "submitted", status_approved: "approved",
      status_active: "active", status_retired: "retired",
      draft_info: "#{id} {name} · {status} · by {by} · version {version}",
      created: "Draft #{id} made: {l3} unit grids, publishable: {ok}.",
      yes: "yes", no: "no", need_draft: "Choose or make a draft first.",
      need_grid: "Click a grid first.", need_name: "Give the draft a name.",
      need_file: "Choose a file.",
      not_editable: "The draft is {status}; only a draft can be edited (send it back first).",
      selected: "{code} {name} (parent {parent}, {area} m²)",
      conflict: "Someone else edited this draft; reload. Current version: {v} (yours: {mine}).",
      reload: "Reload",
      error: "Error {status} {title}: {detail}", field: " (field: {field})",
      network: "the server cannot be reached",
      expired: "Your session has expired. Please log in again.",
      edit_done: "{op} done, version {v}. Changed grids: {changed}.",
      removed: "Codes removed: {codes}.",
      remaining: "Problems left in the towns touched: {n}.",
      no_remaining: "No problem in the towns touched.",
      split_hint: "Draw the cut on the right-hand map: click point by point, click the last "
        + "point again to finish.",
      legend: "Changes in the draft", added: "added", removed_grid: "removed",
      reshaped: "reshaped", renamed: "renamed", no_problems: "No problem: ready to submit.",
      problem: "{kind}: {codes} {detail}",
      totals: "changed grids", households: "households", open_events: "open events",
      assignments: "staff assignments", assignments_to_decide: "assignments to decide",
      zones: "zones", devices: "devices", list_more: "… {n} more",
      reviewed: "Status: {status}, version {v}.",
      dry_title: "Publish dry run (nothing changed):",
      dry: "Replaces #{rid} {rname}; effective {at}{scheduled}; validation: {valid}.",
      scheduled: " (scheduled)", valid: "passed", invalid: "failed",
      published: "Published: {message}",
      log_row: "v{version} {op} · {actor} · {reason}{state}", undone: " (undone)",
      discarded: " (discarded)", none: "none",
    },
  };
  var CHANGE_COLORS = {added: "#2e7d32", removed: "#c62828", reshaped: "#ef6c00",
    renamed: "#1565c0"};
  var LEVEL_STYLE = {
    // VectorGrid fills every polygon: a transparent fill keeps villages and towns as lines
    1: {color: "#0b2e59", weight: 3, fill: true, fillOpacity: 0},
    2: {color: "#3f6fb5", weight: 1.6, fill: true, fillOpacity: 0},
    3: {color: "#7d8fa6", weight: 0.7, fill: true, fillColor: "#ffffff", fillOpacity: 0.01},
  };
  var SELECTED_STYLE = {color: "#1565c0", weight: 3, fillColor: "#1565c0", fillOpacity: 0.15};
  var LIST_MAX = 100;

  function w(key, values) { return G.t(WORDS, key, values); }
  function $(id) { return document.getElementById(id); }
  function base(id) { return "/api/v1/generations/" + id; }

  var state = {generations: [], active: null, draft: null, version: null, selected: null,
    splitting: false, dryRun: false, edits: []};
  var hook = {ready: false, state: state, maps: {}, edits: 0, impacts: 0, answers: []};
  window.gridgisPlan = hook;

  // --- talking to the server -----------------------------------------------------------------
  // send(method, url, body, version): JSON (or FormData) in, the JSON answer out; a failure is
  // an Error with status, problem (the problem+json body) and a message to show.
  function send(method, url, body, version) {
    var headers = {Accept: "application/json"};
    var init = {method: method, credentials: "same-origin", headers: headers};
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (version !== undefined && version !== null) { headers["If-Match"] = '"' + version + '"'; }
    return fetch(url, init)
      .catch(function () { var e = new Error(w("network")); e.status = 0; e.problem = {}; throw e; })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (answer) {
          if (response.ok) { return answer; }
          var problem = answer || {};
          var error = new Error(problem.detail || problem.title || String(response.status));
          error.status = response.status;
          error.problem = problem;
          if (response.status === 401) { G.notice(w("expired"), {login: true}); }
          throw error;
        });
      });
  }

  function get(url, what) { return G.getJSON(url, what); }

  // The panels load side by side; one that fails (reported by GridGIS.getJSON in the page's
  // message bar) does not stop the others.
  function settle(promises) { return Promise.allSettled(promises); }

  // show(box, text or nodes, kind): one answer box ("ok", "error" or plain)
  function show(box, content, kind) {
    box.textContent = "";
    box.className = "answer" + (kind ? " " + kind : "");
    (Array.isArray(content) ? content : [content]).forEach(function (part) {
      if (part === null || part === undefined) { return; }
      box.appendChild(typeof part === "string" ? G.el("div", null, part) : part);
    });
  }

  function showError(box, error) {
    var p = error.problem || {};
    if (error.status === 409) {
      var again = G.el("button", null, w("reload"));
      again.type = "button";
      again.id = "conflict-reload";
      again.addEventListener("click", function () { openDraft(state.draft.id); });
      show(box, [w("conflict", {v: p.current_version !== undefined ? p.current_version : "?",
        mine: state.version}), again], "error");
      return;
    }
    var text = w("error", {status: error.status || "", title: p.title || "",
      detail: p.detail || error.message});
    if (p.field) { text += w("field", {field: p.field}); }
    var parts = [text];
    (p.problems || []).slice(0, 10).forEach(function (q) {
      parts.push("· " + (q.kind || "") + " " + (q.codes || []).join(", ") + " " + (q.detail || ""));
    });
    show(box, parts, "error");
  }

  // --- maps ------------------------------------------------------------------------------------
  var maps = {};
  var layers = {active: [], draft: [], diff: [], edit: null, problem: null};
  var panels = G.planPanels({w: w, $: $, base: base, get: get, send: send, show: show,
    showError: showError, statusText: function (s) { return statusText(s); }, state: state,
    hook: hook, maps: maps, layers: layers, listMax: LIST_MAX,
    refreshDraft: function () { return refreshDraft(); },
    updateButtons: function () { updateButtons(); }});

  function makeMap(id) {
    // whole zoom levels up to the tiles' own maximum: VectorGrid hit-tests a click on an
    // unscaled tile only
    var map = L.map(id, {maxZoom: 18});
    map.attributionControl.setPrefix("Leaflet");
    // Panes that let clicks through to the unit grids' tiles (VectorGrid hit-tests the click
    // on its own canvas, so nothing above it may catch the click): the changes below the
    // tiles, villages and towns, the selection's neighbours and the problem marks above them.
    [["plan-diff", 350], ["plan-parents", 410], ["plan-edit", 420], ["plan-marks", 430]]
      .forEach(function (pane) {
        var div = map.createPane(pane[0]);
        div.style.zIndex = pane[1];
        div.style.pointerEvents = "none";
      });
    return map;
  }

  function syncMaps(a, b) {
    // After each move of one map the other takes its view, once that move has ended (a view
    // set inside the other map's zoom animation leaves its tiles at the old zoom).
    var leader = null;
    function follow(from, to) {
      from.on("moveend", function () {
        if (leader && leader !== from) { return; }
        leader = from;
        window.setTimeout(function () {
          to.setView(from.getCenter(), from.getZoom(), {animate: false});
          leader = null;
        }, 0);
      });
    }
    follow(a, b);
    follow(b, a);
  }

  function gridLayers(map, generation, onClick) {
    return [3, 2, 1].map(function (level) {
      var options = {style: LEVEL_STYLE[level], params: {generation: generation},
        pane: level === 3 ? "overlayPane" : "plan-parents"};
      if (level === 3 && onClick) {
        options.onClick = onClick;
        options.highlight = SELECTED_STYLE;
      }
      return G.tiles.addGridLayer(map, level, options);
    });
  }

  function legend(map) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "plan-legend");
      div.id = "plan-legend";
      div.appendChild(G.el("strong", null, w("legend")));
      [["added", "added"], ["removed", "removed_grid"], ["reshaped", "reshaped"],
        ["renamed", "renamed"]].forEach(function (pair) {
        var row = G.el("div", "legend-" + pair[0]);
        var swatch = G.el("i");
        swatch.style.borderColor = CHANGE_COLORS[pair[0]];
        swatch.style.background = CHANGE_COLORS[pair[0]] + "55";
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(w(pair[1])));
        div.appendChild(row);
      });
      return div;
    };
    control.addTo(map);
  }

  // --- drafts ----------------------------------------------------------------------------------
  function statusText(status) { return w("status_" + status); }

  function loadGenerations() {
    return get("/api/v1/generations", w("generations")).then(function (answer) {
      state.generations = answer.data;
      state.active = answer.data.find(function (g) { return g.status === "active"; }) || null;
      var select = $("draft-select");
      var keep = select.value;
      while (select.options.length > 1) { select.remove(1); }
      answer.data.filter(function (g) {
        return ["draft", "submitted", "approved"].indexOf(g.status) >= 0;
      }).sort(function (a, b) { return b.id - a.id; }).forEach(function (g) {
        var option = G.el("option", null, w("draft_info", {id: g.id, name: g.name,
          status: statusText(g.status), by: g.created_by || "—", version: g.version}));
        option.value = String(g.id);
        select.appendChild(option);
      });
      select.value = keep;
      $("active-name").textContent = state.active ? "#" + state.active.id + " " +
        state.active.name : "";
      return answer;
    });
  }

  function createDraft(event) {
    event.preventDefault();
    var box = $("draft-answer");
    var name = $("draft-name").value.trim();
    if (!name) { show(box, w("need_name"), "error"); return; }
    var fromFile = document.querySelector("input[name=source]:checked").value === "file";
    var body;
    if (fromFile) {
      var file = $("draft-file").files[0];
      if (!file) { show(box, w("need_file"), "error"); return; }
      body = new FormData();
      body.append("file", file, file.name);
      body.append("name", name);
      body.append("note", $("draft-note").value);
      if ($("draft-layer").value.trim()) { body.append("layer", $("draft-layer").value.trim()); }
      if ($("draft-crs").value.trim()) { body.append("crs", $("draft-crs").value.trim()); }
      body.append("force", $("draft-force").checked ? "true" : "false");
    } else {
      body = {from: "active", name: name, note: $("draft-note").value || null};
    }
    $("draft-create").disabled = true;
    send("POST", "/api/v1/generations", body).then(function (answer) {
      var g = answer.generation;
      var counts = answer.counts || (answer.validation || {}).counts || {};
      show(box, w("created", {id: g.id, l3: counts["3"] || "—",
        ok: answer.publishable ? w("yes") : w("no")}), "ok");
      $("draft-new").open = false;
      return loadGenerations().then(function () { return openDraft(g.id); });
    }).catch(function (error) {
      if (error.problem && error.problem.field === "layer") { offerLayers(error.problem.detail); }
      showError(box, error);
    }).finally(function () { $("draft-create").disabled = false; });
  }

  // A GeoPackage with several layers: the answer names them; offer them in the layer box.
  function offerLayers(detail) {
    var list = $("draft-layers");
    list.textContent = "";
    (String(detail).match(/'([^']+)'/g) || []).forEach(function (quoted) {
      var option = G.el("option");
      option.value = quoted.slice(1, -1);
      list.appendChild(option);
    });
    $("draft-layer").focus();
  }

  function openDraft(id) {
    return get(base(id), w("generations")).then(function (g) {
      state.draft = g;
      state.version = g.version;
      state.dryRun = false;
      $("draft-select").value = String(g.id);
      $("draft-info").textContent = w("draft_info", {id: g.id, name: g.name,
        status: statusText(g.status), by: g.created_by || "—", version: g.version});
      var caption = $("draft-name-caption");
      if (caption) { caption.textContent = "#" + g.id + " " + g.name; }
      var url = new URL(window.location.href);
      url.searchParams.set("draft", String(g.id));
      window.history.replaceState(null, "", url.pathname + url.search);
      layers.draft.forEach(function (l) { maps.draft.removeLayer(l); });
      layers.draft = gridLayers(maps.draft, g.id, function (props) { select(props.code); });
      clearSelection();
      updateButtons();
      return settle([loadDiff(), panels.loadProblems(), panels.loadImpact(), panels.loadLog()]);
    });
  }

  // --- the changes (the problems, impact, log and review: gridgis-plan-panels.js) ----------
  function loadDiff() {
    var id = state.draft.id;
    return get(base(id) + "/diff", w("diff")).then(function (fc) {
      layers.diff.forEach(function (l) { l.remove(); });
      // left: what goes (removed grids), right: what comes (added, reshaped, renamed ones);
      // unit grids filled, villages and towns (re-derived from them) as outlines only
      layers.diff = [maps.active, maps.draft].map(function (map) {
        var left = map === maps.active;
        return L.geoJSON(fc, {
          interactive: false,
          pane: "plan-diff",
          filter: function (f) {
            var change = f.properties.change;
            if (left !== (change === "removed")) { return false; }
            return f.properties.level === 3 || change !== "reshaped";
          },
          style: function (f) {
            var color = CHANGE_COLORS[f.properties.change] || "#555";
            var unit = f.properties.level === 3;
            return {color: color, weight: unit ? 2.5 : 1.5, fill: unit, fillColor: color,
              fillOpacity: 0.3, dashArray: unit ? null : "6 4"};
          },
        }).addTo(map);
      });
      hook.diff = fc.counts;
      return fc;
    });
  }

  // --- selecting and editing -----------------------------------------------------------------
  function clearSelection() {
    state.selected = null;
    if (layers.edit) { layers.edit.remove(); layers.edit = null; }
    $("selected-text").textContent = $("selected-text").dataset.none || $("selected-text").textContent;
    $("selected-tools").hidden = true;
  }

  function select(code) {
    if (!state.draft || state.splitting) { return Promise.resolve(); }
    var id = state.draft.id;
    return get("/api/v1/grids/" + encodeURIComponent(code) + "?generation=" + id, w("grid"))
      .then(function (feature) {
        var b = L.geoJSON(feature).getBounds().pad(0.4);
        var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
          return v.toFixed(7);
        }).join(",");
        return get("/api/v1/grids?level=3&generation=" + id + "&bbox=" + bbox, w("grid"))
          .then(function (around) { drawSelection(feature, around); });
      });
  }

  function option(value, text) {
    var o = G.el("option", null, text);
    o.value = value;
    return o;
  }

  function drawSelection(feature, around) {
    var p = feature.properties;
    state.selected = p;
    if (layers.edit) { layers.edit.remove(); }
    layers.edit = L.featureGroup().addTo(maps.draft);
    // the neighbours: drawn thin, not clickable (a click reaches the tiles), snapping targets
    L.geoJSON(around, {
      filter: function (f) { return f.properties.code !== p.code; },
      interactive: false,
      pane: "plan-edit",
      style: {color: "#1565c0", weight: 1, dashArray: "3 3", fill: false},
    }).eachLayer(function (l) { l.addTo(layers.edit); });
    var polygon = null;
    L.geoJSON(feature, {style: SELECTED_STYLE, pane: "plan-edit"}).eachLayer(function (l) { polygon = l; });
    polygon.addTo(layers.edit);
    state.polygon = polygon;
    if (state.draft.status === "draft") { enableVertexEditing(polygon); }
    $("selected-text").textContent = w("selected", {code: p.code, name: p.name,
      parent: p.parent_code || "—", area: Math.round(p.area_m2)});
    $("selected-tools").hidden = p.level !== 3;
    var same = p.neighbours.filter(function (n) { return n.parent_code === p.parent_code; });
    var merge = $("merge-with"), edge = $("edge-with"), reparent = $("reparent-to");
    [merge, edge, reparent].forEach(function (s) { s.textContent = ""; });
    same.forEach(function (n) { merge.appendChild(option(n.code, n.code + " " + n.name)); });
    p.neighbours.forEach(function (n) { edge.appendChild(option(n.code, n.code + " " + n.name)); });
    var villages = [];
    p.neighbours.forEach(function (n) {
      if (n.parent_code && n.parent_code !== p.parent_code && villages.indexOf(n.parent_code) < 0) {
        villages.push(n.parent_code);
      }
    });
    villages.forEach(function (v) { reparent.appendChild(option(v, v)); });
    $("rename-name").value = p.name;
    $("recode-code").value = p.code;
    updateButtons();
  }

  // geoman's edit mode on the selected grid: a dragged vertex is a move_vertex edit (the
  // server moves it in every grid that shares it, and in the parents).
  function enableVertexEditing(polygon) {
    polygon.pm.enable({snappable: true, snapDistance: 15, allowSelfIntersection: false,
      hideMiddleMarkers: true, preventMarkerRemoval: true, draggable: false});
    var from = null;
    polygon.on("pm:markerdragstart", function (e) {
      var at = e.markerEvent.target.getLatLng();
      from = [at.lng, at.lat];
    });
    polygon.on("pm:markerdragend", function (e) {
      var to = e.markerEvent.target.getLatLng();
      if (!from || e.intersectionReset || (to.lng === from[0] && to.lat === from[1])) { return; }
      var at = from;
      from = null;
      edit("move_vertex", {at: at, to: [to.lng, to.lat], snap_m: 5});
    });
  }

  function editable() {
    var box = $("edit-answer");
    if (!state.draft) { show(box, w("need_draft"), "error"); return false; }
    if (state.draft.status !== "draft") {
      show(box, w("not_editable", {status: statusText(state.draft.status)}), "error");
      return false;
    }
    return true;
  }

  function needGrid() {
    if (!state.selected) { show($("edit-answer"), w("need_grid"), "error"); return false; }
    return true;
  }

  function edit(op, params) {
    if (!editable()) { return Promise.resolve(); }
    var body = Object.assign({op: op, reason: $("edit-reason").value}, params);
    return afterEdit(send("POST", base(state.draft.id) + "/edits", body, state.version), op);
  }

  function step(which) {
    if (!editable()) { return Promise.resolve(); }
    return afterEdit(send("POST", base(state.draft.id) + "/edits/" + which, {}, state.version),
      which);
  }

  function afterEdit(request, op) {
    var box = $("edit-answer");
    var keep = state.selected && state.selected.code;
    return request.then(function (answer) {
      state.version = answer.version;
      hook.answers.push(answer);
      var changed = answer.changed.features.map(function (f) {
        return f.properties.code + " " + f.properties.name;
      });
      var v = answer.validation;
      var parts = [w("edit_done", {op: op, v: answer.version, changed: changed.join("、") || w("none")})];
      if (answer.removed.length) { parts.push(w("removed", {codes: answer.removed.join(", ")})); }
      parts.push(v.problems.length ? w("remaining", {n: v.problems.length}) : w("no_remaining"));
      v.problems.slice(0, 10).forEach(function (q) {
        parts.push("· " + w("problem", {kind: q.kind, codes: q.codes.join(", "), detail: q.detail || ""}));
      });
      show(box, parts, v.problems.length ? "error" : "ok");
      layers.draft.forEach(function (l) { l.redraw(); });
      var stillThere = keep && answer.removed.indexOf(keep) < 0;
      clearSelection();
      return settle([
        stillThere ? select(keep) : null, loadDiff(), panels.loadProblems(),
        panels.loadImpact(), panels.loadLog(),
        refreshDraft(),
      ]).then(function () { hook.edits += 1; });
    }).catch(function (error) {
      showError(box, error);
      if (keep && error.status !== 409) { clearSelection(); return select(keep); }
      return null;
    });
  }

  function refreshDraft() {
    return get(base(state.draft.id), w("generations")).then(function (g) {
      state.draft = g;
      state.version = g.version;
      $("draft-info").textContent = w("draft_info", {id: g.id, name: g.name,
        status: statusText(g.status), by: g.created_by || "—", version: g.version});
      updateButtons();
      return loadGenerations();
    });
  }

  function startSplit() {
    if (!editable() || !needGrid()) { return; }
    if (state.splitting) { stopSplit(); return; }
    state.splitting = true;
    // the map itself takes the clicks while drawing (VectorGrid's canvas keeps its own)
    L.DomUtil.addClass(maps.draft.getContainer(), "plan-drawing");
    $("edit-split").classList.add("active");
    show($("edit-answer"), w("split_hint"));
    maps.draft.pm.enableDraw("Line", {snappable: true, snapDistance: 15});
    maps.draft.once("pm:create", function (e) {
      var line = e.layer.getLatLngs().map(function (ll) { return [ll.lng, ll.lat]; });
      e.layer.remove();
      stopSplit();
      edit("split", {code: state.selected.code, line: line});
    });
  }

  function stopSplit() {
    state.splitting = false;
    L.DomUtil.removeClass(maps.draft.getContainer(), "plan-drawing");
    $("edit-split").classList.remove("active");
    maps.draft.pm.disableDraw();
    maps.draft.off("pm:create");
  }

  // --- review and publish --------------------------------------------------------------------
  function updateButtons() {
    var g = state.draft;
    var status = g ? g.status : null;
    var isDraft = status === "draft";
    var done = state.edits.some(function (e) { return e.state === "done"; });
    var undone = state.edits.some(function (e) { return e.state === "undone"; });
    $("edit-undo").disabled = !isDraft || !done;
    $("edit-redo").disabled = !isDraft || !undone;
    $("edit-split").disabled = !isDraft;
    ["edit-merge", "edit-reparent", "edit-edge", "edit-rename", "edit-recode"].forEach(function (id) {
      $(id).disabled = !isDraft || !state.selected;
    });
    $("review-submit").disabled = !isDraft;
    $("review-approve").disabled = status !== "submitted";
    $("review-reject").disabled = status !== "submitted" && status !== "approved";
    $("publish-dry").disabled = !g || status === "active" || status === "retired";
    $("publish-commit").disabled = !(status === "approved" && state.dryRun);
  }

  // --- wiring --------------------------------------------------------------------------------
  function wire() {
    $("draft-open").addEventListener("click", function () {
      var id = Number($("draft-select").value);
      if (id) { openDraft(id); } else { show($("draft-answer"), w("need_draft"), "error"); }
    });
    $("draft-form").addEventListener("submit", createDraft);
    document.querySelectorAll("input[name=source]").forEach(function (radio) {
      radio.addEventListener("change", function () {
        $("draft-file-fields").hidden = document.querySelector("input[name=source]:checked").value !== "file";
      });
    });
    $("edit-undo").addEventListener("click", function () { step("undo"); });
    $("edit-redo").addEventListener("click", function () { step("redo"); });
    $("edit-split").addEventListener("click", startSplit);
    $("edit-merge").addEventListener("click", function () {
      if (!needGrid()) { return; }
      edit("merge", {codes: [state.selected.code, $("merge-with").value],
        name: $("merge-name").value.trim() || null});
    });
    $("edit-reparent").addEventListener("click", function () {
      if (!needGrid()) { return; }
      edit("reparent", {code: state.selected.code, to_parent: $("reparent-to").value});
    });
    $("edit-edge").addEventListener("click", function () {
      if (!needGrid()) { return; }
      edit("move_edge", {codes: [state.selected.code, $("edge-with").value],
        offset_m: [Number($("edge-dx").value), Number($("edge-dy").value)]});
    });
    $("rename-form").addEventListener("submit", function (e) {
      e.preventDefault();
      if (needGrid()) { edit("rename", {code: state.selected.code, name: $("rename-name").value}); }
    });
    $("recode-form").addEventListener("submit", function (e) {
      e.preventDefault();
      if (needGrid()) { edit("recode", {code: state.selected.code, new_code: $("recode-code").value.trim()}); }
    });
    $("review-submit").addEventListener("click", function () { panels.review("submit"); });
    $("review-approve").addEventListener("click", function () { panels.review("approve"); });
    $("review-reject").addEventListener("click", function () { panels.review("reject"); });
    $("publish-dry").addEventListener("click", function () { panels.publish(false); });
    $("publish-commit").addEventListener("click", function () { panels.publish(true); });
  }

  function start() {
    $("selected-text").dataset.none = $("selected-text").textContent;
    maps.active = makeMap("map-active");
    maps.draft = makeMap("map-draft");
    hook.maps = maps;
    hook.select = select;  // what a click on a grid of the draft map does
    hook.tilesLoaded = function () {  // every tile of both maps' grid layers drawn
      return layers.active.concat(layers.draft).every(function (l) {
        return Object.keys(l._tiles).every(function (k) { return l._tiles[k].loaded; }) &&
          l._tileZoom === l._map.getZoom();
      });
    };
    if (maps.draft.pm && G.pageLang() === "zh") { maps.draft.pm.setLang("zh"); }
    syncMaps(maps.active, maps.draft);
    legend(maps.draft);
    wire();
    updateButtons();
    loadGenerations().then(function () {
      if (!state.active) { return null; }
      return get(G.tiles.tileJsonUrl("grids-l1", {generation: state.active.id}), w("grid"))
        .then(function (tj) {
          var b = tj.bounds;
          maps.draft.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
          layers.active = gridLayers(maps.active, state.active.id, null);
          var wanted = Number(new URLSearchParams(window.location.search).get("draft"));
          return wanted ? openDraft(wanted) : null;
        });
    }).then(function () { hook.ready = true; }).catch(function () { hook.ready = true; });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window.GridGIS);
