// /plan: a draft behind the active generation (loaded before maps/static/gridgis-plan.js,
// which starts it with the page's helpers and state as ``ctx``).
//
// - Rebase: when the draft's base is no longer the generation in force (GET …/newer), a
//   *Rebase* button with the number of grids the newer publications changed; it calls POST
//   …/rebase and shows the result (the new draft, edits replayed or grids taken from the active
//   generation, the conflicts settled) and opens the new draft. A refusal lists the
//   conflicting grids, each zoomable on the draft map; an imported draft's conflicts can be
//   settled for all (keep the draft's / take the active generation's version).
// - Publishing a draft that would undo newer work (409 with ``newer_publications``): the grids
//   it would revert or override are listed, and an explicit *publish anyway, undo newer work*
//   button sends the publication again with ``revert_newer: true``.
(function (G) {
  "use strict";

  var WORDS = {
    zh: {
      rebase_title: "变基信息",
      behind: "本草案的基础版本 #{base} 已不是现行版本：之后发布了 {since}，共修改 {n} 个网格。",
      rebased: "已变基为新草案 #{id}（基于现行版本 #{base}）。",
      replayed: "重放编辑 {n} 条。",
      three_way: "取自现行版本的网格 {taken} 个，保留草案的网格 {kept} 个。",
      settled: "冲突 {code}：采用{side}",
      side_draft: "草案版本", side_active: "现行版本",
      conflicts: "变基冲突（{n} 个网格，点击可定位）：",
      conflict_row: "{code}：草案{draft}，现行版本{active}",
      conflict_edit: "{code}（编辑 #{edit} {op}）",
      did_added: "新增", did_removed: "删除", did_changed: "修改",
      prefer_draft: "全部保留草案版本", prefer_active: "全部采用现行版本",
      would_revert: "发布会撤销这些较新的修改（撤销 {reverted} 个、覆盖 {overridden} 个网格，点击可定位）：",
      reverted: "撤销", overridden: "覆盖",
    },
    en: {
      rebase_title: "the rebase offer",
      behind: "This draft's base #{base} is no longer in force: {since} published since, {n} grids changed.",
      rebased: "Rebased as the new draft #{id} (on the active generation #{base}).",
      replayed: "{n} edits replayed.",
      three_way: "{taken} grids taken from the active generation, {kept} kept from the draft.",
      settled: "Conflict {code}: {side}",
      side_draft: "the draft's version", side_active: "the active version",
      conflicts: "Rebase conflicts ({n} grids; click one to see it):",
      conflict_row: "{code}: draft {draft}, active {active}",
      conflict_edit: "{code} (edit #{edit} {op})",
      did_added: "added", did_removed: "removed", did_changed: "changed",
      prefer_draft: "Keep the draft's version of all", prefer_active: "Take the active version of all",
      would_revert: "Publishing would undo this newer work ({reverted} grids reverted, {overridden} overridden; click one to see it):",
      reverted: "reverted", overridden: "overridden",
    },
  };

  G.planRebase = function (ctx) {
    var $ = ctx.$, base = ctx.base, send = ctx.send, show = ctx.show, showError = ctx.showError;
    var state = ctx.state, hook = ctx.hook, maps = ctx.maps, layers = ctx.layers;
    var behind = G.latest();  // only the answer about the draft shown last is drawn
    function w(key, values) { return G.t(WORDS, key, values); }

    // Whether the open draft is behind the generation in force: the Rebase offer.
    function check() {
      var box = $("rebase-box");
      var g = state.draft;
      if (!g || g.status !== "draft") {
        behind.drop();
        box.hidden = true;
        return Promise.resolve(null);
      }
      return behind.get(base(g.id) + "/newer", w("rebase_title"), {quiet: true}).then(function (answer) {
        var newer = answer.newer_publications;
        box.hidden = !answer.behind;
        hook.behind = answer.behind ? newer.changed_since : 0;
        if (answer.behind) {
          $("rebase-note").textContent = w("behind", {base: newer.base, n: newer.changed_since,
            since: newer.published_since.map(function (p) { return "#" + p.id; }).join(", ") ||
              "#" + newer.in_force});
        }
        return answer;
      }).catch(function (error) {
        if (!error.stale) { box.hidden = true; }
        return null;
      });
    }

    // A grid's box [w, s, e, n] on the draft map, outlined.
    function zoomTo(bbox) {
      if (layers.problem) { layers.problem.remove(); }
      var bounds = L.latLngBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
      layers.problem = L.featureGroup([L.rectangle(bounds, {color: "#d50000", weight: 3,
        fill: false, interactive: false, pane: "plan-marks"})]).addTo(maps.draft);
      maps.draft.fitBounds(bounds.pad(0.5), {maxZoom: 18});
      hook.zoomedTo = bbox;
    }

    // A list item that zooms to its grid: by its bbox, else by asking the server for the grid.
    function zoomItem(text, code, bbox) {
      var li = G.el("li", "problem", text);
      li.tabIndex = 0;
      li.dataset.code = code;
      function go() {
        if (bbox) { zoomTo(bbox); return; }
        G.getJSON("/api/v1/grids/" + encodeURIComponent(code) + "?generation=" +
          (state.active ? state.active.id : state.draft.id), code).then(function (f) {
          var b = L.geoJSON(f).getBounds();
          zoomTo([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
        }).catch(function () { return null; });
      }
      li.addEventListener("click", go);
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") { go(); } });
      return li;
    }

    function rebase(choice) {
      var box = $("rebase-answer");
      var from = state.draft.id;
      $("rebase-run").disabled = true;
      return send("POST", base(from) + "/rebase", choice || {}).then(function (answer) {
        hook.rebased = answer;
        var g = answer.generation;
        var parts = [w("rebased", {id: g.id, base: answer.base})];
        if (answer.mode === "three-way") {
          parts.push(w("three_way", {taken: answer.from_active.length, kept: answer.kept_draft.length}));
          answer.conflicts.forEach(function (c) {
            parts.push(w("settled", {code: c.code, side: w("side_" + c.chosen)}));
          });
        } else {
          parts.push(w("replayed", {n: answer.edits}));
        }
        return ctx.openDraftById(g.id).then(function () { show(box, parts, "ok"); });
      }).catch(function (error) {
        var p = error.problem || {};
        if (error.status !== 409 || !Array.isArray(p.conflicts)) { showError(box, error); return; }
        var list = G.el("ul");
        list.id = "rebase-conflicts";
        p.conflicts.forEach(function (c) {
          var text = c.draft ? w("conflict_row", {code: c.code, draft: w("did_" + c.draft),
            active: w("did_" + c.active)}) : w("conflict_edit", {code: c.code, edit: p.edit, op: p.op});
          list.appendChild(zoomItem(text, c.code, c.bbox));
        });
        var parts = [p.detail || error.message, w("conflicts", {n: p.conflict_count || p.conflicts.length}), list];
        if (p.field === "choices") {  // an imported draft: settle them for all
          ["draft", "active"].forEach(function (side) {
            var b = G.el("button", null, w("prefer_" + side));
            b.type = "button";
            b.id = "rebase-prefer-" + side;
            b.addEventListener("click", function () { rebase({prefer: side}); });
            parts.push(b);
          });
        }
        show(box, parts, "error");
        hook.rebaseConflicts = p.conflicts.map(function (c) { return c.code; });
      }).finally(function () {
        $("rebase-run").disabled = !!state.draft && state.draft.may_change === false;
      });
    }

    // The 409 of a publication that would undo newer work: the grids, and the explicit choice.
    function refused(error) {
      var p = error.problem || {};
      var newer = p.newer_publications;
      var box = $("revert-confirm");
      if (error.status !== 409 || !newer) { box.hidden = true; return false; }
      var list = $("revert-grids");
      list.textContent = "";
      list.appendChild(G.el("li", null, w("would_revert", {reverted: newer.reverted.count,
        overridden: newer.overridden.count})));
      [["reverted", newer.reverted.codes], ["overridden", newer.overridden.codes]].forEach(function (kind) {
        kind[1].forEach(function (code) { list.appendChild(zoomItem(code + " · " + w(kind[0]), code, null)); });
      });
      show($("review-answer"), p.detail || error.message, "error");
      box.hidden = false;
      hook.revertOffered = newer.reverted.codes.concat(newer.overridden.codes);
      return true;
    }

    function wire(publish) {
      $("rebase-run").addEventListener("click", function () { rebase(null); });
      $("revert-anyway").addEventListener("click", function () {
        $("revert-confirm").hidden = true;
        publish(true, {revert_newer: true});
      });
    }

    function hide() { $("revert-confirm").hidden = true; show($("rebase-answer"), []); }

    return {check: check, rebase: rebase, refused: refused, wire: wire, hide: hide};
  };
})(window.GridGIS);
