// /plan's editing (loaded before maps/static/gridgis-plan.js, which starts it): select a grid
// on the draft map (a unit grid, or with "village" chosen the village around the click), then
//   - drag one of a unit grid's vertices (leaflet-geoman edit mode, snapping to the
//     neighbours) -> move_vertex; draw a line -> split;
//   - merge, move edge (unit grids), re-parent, rename, recode (unit grids and villages) from
//     small forms;
//   - undo/redo of the edit log.
// Each edit is POST …/edits with If-Match = the draft's version (409: someone else edited
// first). It uses the page's helpers and state, handed over as ``ctx`` by gridgis-plan.js.
(function (G) {
  "use strict";

  G.planEdit = function (ctx) {
    var w = ctx.w, $ = ctx.$, base = ctx.base, get = ctx.get, send = ctx.send;
    var show = ctx.show, showError = ctx.showError, statusText = ctx.statusText;
    var state = ctx.state, hook = ctx.hook, maps = ctx.maps, layers = ctx.layers;
    var selectedStyle = ctx.selectedStyle;
    // only unit grids: the forms that make no sense for a village
    var UNIT_ONLY = ["row-merge", "row-edge"];

    function selectLevel() {
      var checked = document.querySelector("input[name=select-level]:checked");
      return checked && checked.value === "2" ? 2 : 3;
    }

    // A click on a unit grid of the draft map: that grid, or its village.
    function gridClick(props) {
      return select(selectLevel() === 2 && props.parent_code ? props.parent_code : props.code);
    }

    function clearSelection() {
      state.selected = null;
      if (layers.edit) { layers.edit.remove(); layers.edit = null; }
      $("selected-text").textContent = $("selected-text").dataset.none ||
        $("selected-text").textContent;
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
          var level = feature.properties.level;
          return get("/api/v1/grids?level=" + level + "&generation=" + id + "&bbox=" + bbox,
            w("grid")).then(function (around) { drawSelection(feature, around); });
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
      L.geoJSON(feature, {style: selectedStyle, pane: "plan-edit"})
        .eachLayer(function (l) { polygon = l; });
      polygon.addTo(layers.edit);
      state.polygon = polygon;
      // a vertex of a unit grid is dragged (its villages and towns follow on the server)
      if (state.draft.status === "draft" && p.level === 3) { enableVertexEditing(polygon); }
      $("selected-text").textContent = w(p.level === 2 ? "selected_village" : "selected",
        {code: p.code, name: p.name, parent: p.parent_code || "—", area: Math.round(p.area_m2)});
      $("selected-tools").hidden = p.level === 1;
      UNIT_ONLY.forEach(function (id) { $(id).hidden = p.level !== 3; });
      var same = p.neighbours.filter(function (n) { return n.parent_code === p.parent_code; });
      var merge = $("merge-with"), edge = $("edge-with"), reparent = $("reparent-to");
      [merge, edge, reparent].forEach(function (s) { s.textContent = ""; });
      same.forEach(function (n) { merge.appendChild(option(n.code, n.code + " " + n.name)); });
      p.neighbours.forEach(function (n) { edge.appendChild(option(n.code, n.code + " " + n.name)); });
      // the parents of the neighbours that have another parent: a neighbouring village (of a
      // unit grid) or town (of a village)
      var parents = [];
      p.neighbours.forEach(function (n) {
        if (n.parent_code && n.parent_code !== p.parent_code && parents.indexOf(n.parent_code) < 0) {
          parents.push(n.parent_code);
        }
      });
      parents.forEach(function (v) { reparent.appendChild(option(v, v)); });
      $("rename-name").value = p.name;
      $("recode-code").value = p.code;
      ctx.updateButtons();
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
        var parts = [w("edit_done", {op: op, v: answer.version,
          changed: changed.join("、") || w("none")})];
        if (answer.removed.length) { parts.push(w("removed", {codes: answer.removed.join(", ")})); }
        parts.push(v.problems.length ? w("remaining", {n: v.problems.length}) : w("no_remaining"));
        v.problems.slice(0, 10).forEach(function (q) {
          parts.push("· " + w("problem", {kind: q.kind, codes: q.codes.join(", "),
            detail: q.detail || ""}));
        });
        show(box, parts, v.problems.length ? "error" : "ok");
        layers.draft.forEach(function (l) { l.redraw(); });
        var stillThere = keep && answer.removed.indexOf(keep) < 0;
        clearSelection();
        return ctx.settle([
          stillThere ? select(keep) : null, ctx.loadDiff(), ctx.panels().loadProblems(),
          ctx.panels().loadImpact(), ctx.panels().loadLog(), ctx.refreshDraft(),
        ]).then(function () { hook.edits += 1; });
      }).catch(function (error) {
        showError(box, error);
        if (keep && error.status !== 409) { clearSelection(); return select(keep); }
        return null;
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

    // Enabled or not: the edit buttons, by the draft's status and the selection.
    function updateButtons(isDraft) {
      var done = state.edits.some(function (e) { return e.state === "done"; });
      var undone = state.edits.some(function (e) { return e.state === "undone"; });
      var unit = state.selected && state.selected.level === 3;
      $("edit-undo").disabled = !isDraft || !done;
      $("edit-redo").disabled = !isDraft || !undone;
      $("edit-split").disabled = !isDraft || (state.selected !== null && !unit);
      ["edit-reparent", "edit-rename", "edit-recode"].forEach(function (id) {
        $(id).disabled = !isDraft || !state.selected;
      });
      ["edit-merge", "edit-edge"].forEach(function (id) { $(id).disabled = !isDraft || !unit; });
    }

    function wire() {
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
        if (needGrid()) {
          edit("recode", {code: state.selected.code, new_code: $("recode-code").value.trim()});
        }
      });
      document.querySelectorAll("input[name=select-level]").forEach(function (radio) {
        radio.addEventListener("change", clearSelection);
      });
    }

    return {gridClick: gridClick, select: select, clearSelection: clearSelection, wire: wire,
      updateButtons: updateButtons};
  };
})(window.GridGIS);
