// /plan (api/pages/plan.py, api/pages/templates/plan.html): the planners' page.
//
// This file: the page's words, state and server calls, the drafts (pick one from GET
// /api/v1/generations, or make one with POST /api/v1/generations: a copy of the active
// generation as JSON, or a file as multipart; a file with several layers gets a layer chooser
// and is sent again with the choice), and the wiring. Every answer of the server, and every
// problem+json (its detail and field), is shown in place.
//
// The rest, one file per subject, loaded before this one: gridgis-plan-maps.js (the two maps
// in step, tiles, the diff coloured), gridgis-plan-edit.js (selecting a unit grid or village
// and editing it, undo/redo), gridgis-plan-panels.js (problems, impact, edit log, review and
// publish), gridgis-plan-rebase.js (rebase a draft behind the active generation; publishing
// anyway, undoing newer work). Test hook: window.gridgisPlan = {ready, state, maps, edits, impacts, answers}.
(function (G) {
  "use strict";

  var WORDS = {
    zh: {
      generations: "网格版本", grid: "网格", diff: "变化", problems: "校验问题",
      impact: "影响评估", log: "编辑记录",
      status_draft: "草案", status_submitted: "待审核", status_approved: "已批准",
      status_active: "现行", status_retired: "已停用",
      draft_info: "#{id} {name} · {status} · 创建人 {by} · 版本 {version}",
      not_yours: "（他人的草案，不在您的权限范围内：只能查看）",
      created: "已创建草案 #{id}：单元网格 {l3} 个，可发布：{ok}。",
      yes: "是", no: "否", need_draft: "请先选择或新建草案。", need_grid: "请先点击选择一个网格。",
      need_name: "请填写草案名称。", need_file: "请选择文件。",
      not_editable: "草案状态为“{status}”，只能编辑状态为“草案”的版本（先退回）。",
      selected: "{code} {name}（上级 {parent}，面积 {area} m²）",
      selected_village: "村社区 {code} {name}（所属镇街 {parent}，面积 {area} m²）",
      layer_option: "{name}（{geometry}，{features} 个要素）", no_geometry: "无几何",
      all_layers: "全部图层（各级网格分层存放）",
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
      assignments_to_decide: "需人工确定的分工", grids_to_staff: "缺岗网格", zones: "执法片区",
      devices: "设备", to_decide_all: "发布后需人工决定（合计）", to_decide_assignments: "其中：人员分工",
      to_decide_grid_roles: "其中：缺岗网格", to_decide_zone_members: "其中：执法片区成员",
      to_decide_earlier: "其中：此前未决事项",
      list_more: "… 另 {n} 条",
      reviewed: "状态：{status}，版本 {v}。",
      dry_title: "发布预演（未做任何改变）：",
      dry: "将替换 #{rid} {rname}；生效时间 {at}{scheduled}；校验：{valid}。",
      scheduled: "（定时发布）", valid: "通过", invalid: "未通过",
      published: "已发布：{message}",
      moved_households: "住户已改到新网格：{n} 户", moved_assignments: "人员分工已移动：{n} 条",
      zone_members: "执法片区成员已替换：{n} 个",
      supersedes: "将使定时发布 #{id} {name}（{at}）失效：其基础版本已被替换",
      newer: "注意：本草案复制自版本 #{base}，之后已发布版本 {since}；发布将撤销 {reverted} 个网格、覆盖 {overridden} 个网格的修改（{codes}）。请将草案变基到现行版本（rebase），或确要撤销时经接口设置 revert_newer",
      to_decide_title: "需人工确定的人员分工（{n} 条）：",
      col_person: "人员", col_role: "岗位", col_grid: "原网格", col_decision: "处理",
      end_it: "结束该分工", move_to: "移到 {code}", decide: "确定", decided: "已处理分工 {id}。",
      all_decided: "全部分工已处理。", to_decide: "需人工确定的分工",
      published_now: "版本 #{id} 自 {at} 起为现行版本", published_later: "版本 #{id} 将于 {at} 生效",
      need_reason: "请在上方“理由”中说明原因。",
      log_row: "v{version} {op} · {actor} · {reason}{state}", undone: "（已撤销）",
      discarded: "（已作废）", none: "无",
      action_keep: "网格不变", action_move: "随网格移动", action_decide: "需人工确定",
      event_keeps: "保留上报时的网格",
    },
    en: {
      generations: "generations", grid: "the grid", diff: "the changes", problems: "problems",
      impact: "the impact", log: "the edit log",
      status_draft: "draft", status_submitted: "submitted", status_approved: "approved",
      status_active: "active", status_retired: "retired",
      draft_info: "#{id} {name} · {status} · by {by} · version {version}",
      not_yours: " (someone else's draft, outside your scope: read only)",
      created: "Draft #{id} made: {l3} unit grids, publishable: {ok}.",
      yes: "yes", no: "no", need_draft: "Choose or make a draft first.",
      need_grid: "Click a grid first.", need_name: "Give the draft a name.",
      need_file: "Choose a file.",
      not_editable: "The draft is {status}; only a draft can be edited (send it back first).",
      selected: "{code} {name} (parent {parent}, {area} m²)",
      selected_village: "Village {code} {name} (town {parent}, {area} m²)",
      layer_option: "{name} ({geometry}, {features} features)", no_geometry: "no geometry",
      all_layers: "All layers (levels in separate layers)",
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
      grids_to_staff: "grids without a role", zones: "zones", devices: "devices",
      to_decide_all: "to decide after publishing (all)", to_decide_assignments: "of which assignments",
      to_decide_grid_roles: "of which grids without a role",
      to_decide_zone_members: "of which zone members", to_decide_earlier: "of which still open from before",
      list_more: "… {n} more",
      reviewed: "Status: {status}, version {v}.",
      dry_title: "Publish dry run (nothing changed):",
      dry: "Replaces #{rid} {rname}; effective {at}{scheduled}; validation: {valid}.",
      scheduled: " (scheduled)", valid: "passed", invalid: "failed",
      published: "Published: {message}",
      moved_households: "Households moved to their new grids: {n}",
      moved_assignments: "Staff assignments moved: {n}", zone_members: "Zone members replaced: {n}",
      supersedes: "Supersedes the scheduled #{id} {name} ({at}): its base is replaced",
      newer: "Warning: this draft was copied from generation #{base}; generations {since} were published since. Publishing it reverts {reverted} grids and overrides {overridden} that they changed ({codes}). Rebase the draft onto the active generation (POST …/rebase), or, to undo that work on purpose, publish with revert_newer over the API",
      to_decide_title: "Staff assignments to decide ({n}):",
      col_person: "person", col_role: "role", col_grid: "retired grid", col_decision: "decision",
      end_it: "end the assignment", move_to: "move to {code}", decide: "decide",
      decided: "Assignment {id} decided.", all_decided: "Every assignment is decided.",
      to_decide: "the assignments to decide",
      published_now: "generation #{id} is active since {at}",
      published_later: "generation #{id} takes effect at {at}", need_reason: "Say why in the reason field above.",
      log_row: "v{version} {op} · {actor} · {reason}{state}", undone: " (undone)",
      discarded: " (discarded)", none: "none",
      action_keep: "grid unchanged", action_move: "moves with its grid",
      action_decide: "to decide", event_keeps: "keeps its report-time grid",
    },
  };
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
    // the server's details (review refusals …) in the page's language (api/errors.py)
    var headers = {Accept: "application/json", "Accept-Language": G.pageLang()};
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
          // a 401 reads as the page's own words (the session ended), never the API's English
          var error = new Error(response.status === 401 ? w("expired")
            : G.problemText(response.status, problem));
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
      again.addEventListener("click", function () {
        show(box, []);  // the conflict is answered by reloading: its message goes
        openDraft(state.draft.id);
      });
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

  // --- the parts (one file each) ------------------------------------------------------------
  var maps = {};
  var layers = {active: [], draft: [], diff: [], edit: null, problem: null};
  var ctx = {w: w, hasWord: function (k) { return (WORDS[G.pageLang()] || WORDS.zh)[k] !== undefined; },
    $: $, base: base, get: get, send: send, show: show, showError: showError,
    statusText: function (s) { return statusText(s); }, state: state, hook: hook, maps: maps,
    layers: layers, listMax: LIST_MAX, settle: settle,
    refreshDraft: function () { return refreshDraft(); },
    updateButtons: function () { updateButtons(); },
    panels: function () { return panels; },
    rebasing: function () { return rebasing; },
    openDraftById: function (id) { return loadGenerations().then(function () { return openDraft(id); }); }};
  var mapping = G.planMaps(ctx);
  ctx.loadDiff = mapping.loadDiff;
  ctx.selectedStyle = mapping.selectedStyle;
  var panels = G.planPanels(ctx);
  var editing = G.planEdit(ctx);
  var rebasing = G.planRebase(ctx);

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
          status: statusText(g.status), by: g.owner || g.created_by || "—", version: g.version}) +
          (g.may_change === false ? w("not_yours") : ""));
        option.classList.toggle("not-yours", g.may_change === false);
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
      body.append("lang", G.pageLang());
      if ($("draft-layer").value.trim()) { body.append("layer", $("draft-layer").value.trim()); }
      if ($("draft-crs").value.trim()) { body.append("crs", $("draft-crs").value.trim()); }
      body.append("force", $("draft-force").checked ? "true" : "false");
    } else {
      body = {from: "active", name: name, note: $("draft-note").value || null};
    }
    $("draft-create").disabled = true;
    $("draft-layer-chooser").hidden = true;
    send("POST", "/api/v1/generations", body).then(function (answer) {
      var g = answer.generation;
      var counts = answer.counts || (answer.validation || {}).counts || {};
      show(box, w("created", {id: g.id, l3: counts["3"] || "—",
        ok: answer.publishable ? w("yes") : w("no")}), "ok");
      $("draft-new").open = false;
      return loadGenerations().then(function () { return openDraft(g.id); });
    }).catch(function (error) {
      showError(box, error);
      var p = error.problem || {};
      if (p.field === "layer" && Array.isArray(p.layers)) { offerLayers(p.layers); }
    }).finally(function () { $("draft-create").disabled = false; });
  }

  // A file with several layers (or without the layer asked for): the answer lists them (name,
  // geometry type, feature count); the chooser offers them and "all layers", and sends the
  // file again with the choice.
  function offerLayers(found) {
    var choice = $("draft-layer-choice"), list = $("draft-layers");
    choice.textContent = "";
    list.textContent = "";
    found.forEach(function (layer) {
      var text = w("layer_option", {name: layer.name,
        geometry: layer.geometry_type || w("no_geometry"),
        features: layer.features === null ? "?" : layer.features});
      var o = G.el("option", null, text);
      o.value = layer.name;
      choice.appendChild(o);
      var d = G.el("option");
      d.value = layer.name;
      list.appendChild(d);
    });
    var all = G.el("option", null, w("all_layers"));
    all.value = "all";
    choice.appendChild(all);
    $("draft-layer-chooser").hidden = false;
    hook.layersOffered = found.map(function (l) { return l.name; });
    choice.focus();
  }

  // A new file starts with no layer choice: the layer chosen for the previous file (and its
  // chooser) would be sent with this one and refused, or import the wrong layer silently.
  function clearLayerChoice() {
    $("draft-layer").value = "";
    $("draft-layer-choice").textContent = "";
    $("draft-layers").textContent = "";
    $("draft-layer-chooser").hidden = true;
    hook.layersOffered = null;
  }

  function sendWithLayer() {
    $("draft-layer").value = $("draft-layer-choice").value;
    $("draft-form").requestSubmit();
  }

  function openDraft(id) {
    return get(base(id), w("generations")).then(function (g) {
      state.draft = g;
      state.version = g.version;
      state.dryRun = false;
      $("draft-select").value = String(g.id);
      $("draft-info").textContent = w("draft_info", {id: g.id, name: g.name,
        status: statusText(g.status), by: g.owner || g.created_by || "—", version: g.version});
      var caption = $("draft-name-caption");
      if (caption) { caption.textContent = "#" + g.id + " " + g.name; }
      var url = new URL(window.location.href);
      url.searchParams.set("draft", String(g.id));
      window.history.replaceState(null, "", url.pathname + url.search);
      layers.draft.forEach(function (l) { maps.draft.removeLayer(l); });
      layers.draft = mapping.gridLayers(maps.draft, g.id, editing.gridClick);
      editing.clearSelection();
      rebasing.hide();
      updateButtons();
      return settle([mapping.loadDiff(), panels.loadProblems(), panels.loadImpact(),
        panels.loadLog(), rebasing.check()]);
    });
  }

  function refreshDraft() {
    return get(base(state.draft.id), w("generations")).then(function (g) {
      state.draft = g;
      state.version = g.version;
      $("draft-info").textContent = w("draft_info", {id: g.id, name: g.name,
        status: statusText(g.status), by: g.owner || g.created_by || "—", version: g.version});
      updateButtons();
      return settle([loadGenerations(), rebasing.check()]);
    });
  }

  // --- review and publish --------------------------------------------------------------------
  function updateButtons() {
    var g = state.draft;
    var status = g ? g.status : null;
    // the API says whether the caller may act on this draft (layers/planning/scope.py)
    var mine = !g || g.may_change !== false;
    var isDraft = status === "draft" && mine;
    editing.updateButtons(isDraft);
    $("review-submit").disabled = !isDraft;
    $("review-approve").disabled = !mine || status !== "submitted";
    $("review-reject").disabled = !mine || (status !== "submitted" && status !== "approved");
    $("publish-dry").disabled = !g || status === "active" || status === "retired";
    $("publish-commit").disabled = !(mine && status === "approved" && state.dryRun);
    $("rebase-run").disabled = !mine; // the API answers 403 on another's draft
    var info = $("draft-info");
    info.classList.toggle("not-yours", !mine);
    if (!mine && info.textContent.indexOf(w("not_yours")) < 0) { info.textContent += w("not_yours"); }
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
    $("draft-layer-send").addEventListener("click", sendWithLayer);
    $("draft-file").addEventListener("change", clearLayerChoice);
    editing.wire();
    $("review-submit").addEventListener("click", function () { panels.review("submit"); });
    $("review-approve").addEventListener("click", function () { panels.review("approve"); });
    $("review-reject").addEventListener("click", function () { panels.review("reject"); });
    $("publish-dry").addEventListener("click", function () { panels.publish(false); });
    $("publish-commit").addEventListener("click", function () { panels.publish(true); });
    rebasing.wire(panels.publish);
  }

  function start() {
    $("selected-text").dataset.none = $("selected-text").textContent;
    maps.active = mapping.makeMap("map-active");
    maps.draft = mapping.makeMap("map-draft");
    hook.maps = maps;
    hook.select = editing.select;  // select a grid by its code (a click on the draft map)
    hook.gridClick = editing.gridClick;  // what a click on a unit grid of the draft map does
    hook.tilesLoaded = function () {  // every tile of both maps' grid layers drawn
      return layers.active.concat(layers.draft).every(function (l) {
        return Object.keys(l._tiles).every(function (k) { return l._tiles[k].loaded; }) &&
          l._tileZoom === l._map.getZoom();
      });
    };
    // A click on the draft map where the unit grids' tiles are not drawn yet (they have just
    // arrived, or are still on their way) selects the grid under the pointer all the same:
    // the server locates the point in the draft (GET /api/v1/locate?generation=). A click the
    // tiles answered (their click handler runs first) is left to them.
    maps.draft.on("click", function (e) {
      var units = layers.draft[0];
      if (!state.draft || state.splitting || !units) { return; }
      if (units.gridgisLastClick === e.originalEvent) { return; }
      var id = state.draft.id;
      get("/api/v1/locate?crs=wgs84&generation=" + id + "&lon=" + e.latlng.lng.toFixed(7) +
        "&lat=" + e.latlng.lat.toFixed(7), w("grid")).then(function (found) {
        if (!found || !found.l3 || !state.draft || state.draft.id !== id) { return; }
        editing.gridClick({code: found.l3.code, parent_code: found.l2 && found.l2.code});
      }).catch(function () { /* shown to the user by GridGIS.getJSON */ });
    });
    if (maps.draft.pm && G.pageLang() === "zh") { maps.draft.pm.setLang("zh"); }
    mapping.syncMaps(maps.active, maps.draft);
    mapping.legend(maps.draft);
    wire();
    updateButtons();
    loadGenerations().then(function () {
      if (!state.active) { return null; }
      return get(G.tiles.tileJsonUrl("grids-l1", {generation: state.active.id}), w("grid"))
        .then(function (tj) {
          var b = tj.bounds;
          maps.draft.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
          layers.active = mapping.gridLayers(maps.active, state.active.id, null);
          var wanted = Number(new URLSearchParams(window.location.search).get("draft"));
          return wanted ? openDraft(wanted) : null;
        });
    }).catch(function (error) { return error; }).then(function (failed) {
      // the assignments left to decide are listed whether or not a draft opened
      return panels.loadToDecide().catch(function () { return null; }).then(function () {
        if (failed instanceof Error) { throw failed; }
      });
    }).then(function () { hook.ready = true; }).catch(function () { hook.ready = true; });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window.GridGIS);
