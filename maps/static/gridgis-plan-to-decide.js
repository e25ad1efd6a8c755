// /plan: the rest of the active generation's to-decide list, beside the assignments table of
// gridgis-plan-panels.js: the grids a publication left without a role their predecessors had
// (a choice of the predecessors' people: move here, add here, or leave the role vacant) and
// the enforcement-zone members left on a retired code (replace by a successor grid, or drop).
// GET /api/v1/generations/{active}/to-decide; POST …/to-decide with the review form's reason
// (layers/planning/to_decide.py). Redrawn whenever the assignments box (#to-decide) is, i.e.
// when the page opens and after a publication. Reads the page's state from the test hook
// window.gridgisPlan; loaded after maps/static/gridgis-plan.js.
(function (G) {
  "use strict";

  var WORDS = {
    zh: {
      staff_title: "缺岗网格（{n} 个）：", zone_title: "执法片区中已停用的成员（{n} 个）：",
      col_grid: "网格", col_role: "岗位", col_choice: "处理", col_zone: "片区",
      move_here: "{name}（从 {from} 调来；{from} 可能因此缺岗）", add_here: "{name}（兼任）", vacant: "暂时空缺",
      replace_by: "替换为 {code}", drop: "移出片区", decide: "确定",
      need_reason: "请先在上方“理由”中填写理由。", decided: "已处理。", what: "待确定事项",
    },
    en: {
      staff_title: "Grids without a role ({n}):", zone_title: "Zone members on retired codes ({n}):",
      col_grid: "grid", col_role: "role", col_choice: "decision", col_zone: "zone",
      move_here: "{name} (moves from {from}; may leave {from} without staff)", add_here: "{name} (also serves here)",
      vacant: "leave vacant", replace_by: "replace by {code}", drop: "drop from the zone",
      decide: "Decide", need_reason: "Say why in the reason field above first.",
      decided: "Decided.", what: "the to-decide list",
    },
  };

  function w(key, values) { return G.t(WORDS, key, values); }

  function start() {
    var hook = window.gridgisPlan;
    var box = document.getElementById("to-decide");
    if (!hook || !box) { return; }
    var roleNames = JSON.parse((document.getElementById("plan") || {dataset: {}}).dataset.roles || "{}");
    var more = G.el("div", "to-decide-more");
    more.id = "to-decide-more";
    box.parentNode.insertBefore(more, box.nextSibling);
    var guard = G.latest();

    function option(select, value, text) {
      var o = G.el("option", null, text);
      o.value = value;
      select.appendChild(o);
    }

    // One list with its heading "… (N)" as the server counted it: after each decision the
    // whole list is asked afresh and redrawn (a "move" may leave the person's former grid to
    // staff, which only the server knows).
    function table(kind, titleKey, heads, items, row) {
      var wrap = G.el("div", "to-decide");
      var left = items.length;
      var title = G.el("div", "to-decide-title", w(titleKey, {n: left}));
      wrap.dataset.kind = kind;
      wrap.appendChild(title);
      var t = G.el("table", "to-decide-table");
      var head = G.el("tr");
      heads.concat(["", ""]).forEach(function (k) { head.appendChild(G.el("th", null, k ? w(k) : "")); });
      t.appendChild(head);
      function decided() { return refresh(); }
      items.forEach(function (item) { t.appendChild(row(item, decided)); });
      wrap.appendChild(t);
      return wrap;
    }

    function decideRow(generationId, cells, select, body, decided) {
      var tr = G.el("tr");
      cells.forEach(function (c) { tr.appendChild(G.el("td", null, c)); });
      var cell = G.el("td");
      cell.appendChild(select);
      tr.appendChild(cell);
      var note = G.el("td");
      var button = G.el("button", null, w("decide"));
      button.type = "button";
      button.addEventListener("click", function () {
        var reason = (document.getElementById("review-reason") || {value: ""}).value;
        if (!reason.trim()) { note.textContent = w("need_reason"); return; }
        var sent = body(select.value);
        sent.reason = reason;
        G.sendJSON("POST", "/api/v1/generations/" + generationId + "/to-decide", sent).then(function () {
          tr.textContent = "";
          tr.appendChild(G.el("td", "to-decide-done", w("decided")));
          return decided();
        }).then(function () {
          hook.decidedMore = (hook.decidedMore || 0) + 1;
        }).catch(function (error) { note.textContent = error.message; });
      });
      var act = G.el("td");
      act.appendChild(button);
      tr.appendChild(act);
      tr.appendChild(note);
      return tr;
    }

    function staffRow(generationId) {
      return function (item, decided) {
        var select = G.el("select");
        item.candidates.forEach(function (c) {
          option(select, "move:" + c.person_id, w("move_here", {name: c.name, from: c.grid_now || c.from_grid}));
          option(select, "add:" + c.person_id, w("add_here", {name: c.name}));
        });
        option(select, "vacant:", w("vacant"));
        var tr = decideRow(generationId, [item.grid_code, roleNames[item.role] || item.role], select, function (v) {
          var parts = v.split(":");
          var body = {kind: "grid_role", grid_code: item.grid_code, role: item.role, decision: parts[0]};
          if (parts[1]) { body.person_id = Number(parts[1]); }
          return body;
        }, decided);
        tr.dataset.grid = item.grid_code;
        tr.dataset.role = item.role;
        return tr;
      };
    }

    function zoneRow(generationId) {
      return function (item, decided) {
        var select = G.el("select");
        item.candidates.forEach(function (code) { option(select, code, w("replace_by", {code: code})); });
        option(select, "", w("drop"));
        var tr = decideRow(generationId, [item.zone + " " + item.zone_name, item.grid_code], select, function (v) {
          return {kind: "zone_member", zone_id: item.zone_id, grid_code: item.grid_code,
            decision: v ? "replace" : "drop", grid_codes: v ? [v] : []};
        }, decided);
        tr.dataset.zone = item.zone_id;
        return tr;
      };
    }

    // The generation in force asked afresh (a publication from the page may have replaced
    // the one the page knew; a retired one's list answers 410).
    function refresh() {
      var active = null;
      return guard.track(G.getJSON("/api/v1/generations", w("what"), {quiet: true}).then(function (list) {
        active = list.data.find(function (g) { return g.status === "active"; }) || null;
        if (!active) { throw Object.assign(new Error("no generation in force"), {stale: true}); }
        return G.getJSON("/api/v1/generations/" + active.id + "/to-decide", w("what"), {quiet: true});
      })).then(function (answer) {
        more.textContent = "";
        if (answer.grids_to_staff.length) {
          more.appendChild(table("staff", "staff_title",
            ["col_grid", "col_role", "col_choice"], answer.grids_to_staff, staffRow(active.id)));
        }
        if (answer.zone_members.length) {
          more.appendChild(table("zones", "zone_title",
            ["col_zone", "col_grid", "col_choice"], answer.zone_members, zoneRow(active.id)));
        }
        hook.toDecideMore = {staff: answer.grids_to_staff.length, zones: answer.zone_members.length};
      }).catch(function () { /* an older generation's list or a stale answer: nothing to add */ });
    }

    // redrawn too after an assignment decided in the box (its rows change inside it)
    new MutationObserver(refresh).observe(box, {childList: true, subtree: true});
    // the page learns the active generation after its first answers: ask until it knows
    var tries = 0;
    (function wait() {
      if (hook.state && hook.state.active) { refresh(); return; }
      if (++tries < 120) { setTimeout(wait, 500); }
    })();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(window.GridGIS);
