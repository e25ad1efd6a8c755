// /plan's side panels (loaded before maps/static/gridgis-plan.js, which starts them): the
// validation problems (GET …/problems; a click shows one on the draft map), the impact report
// (GET …/impact with its XLSX), the edit log (GET …/edits), and the review: submit / approve /
// reject, publish as a dry run, then commit (POST …/submit|approve|reject|publish). They use
// the page's helpers and state, handed over as ``ctx`` by gridgis-plan.js.
(function (G) {
  "use strict";

  G.planPanels = function (ctx) {
    var w = ctx.w, $ = ctx.$, base = ctx.base, get = ctx.get, send = ctx.send;
    var show = ctx.show, showError = ctx.showError, statusText = ctx.statusText;
    var state = ctx.state, hook = ctx.hook, maps = ctx.maps, layers = ctx.layers;
    var refreshDraft = ctx.refreshDraft, updateButtons = ctx.updateButtons;
    // People's roles in the page's language (maps/styles.py ROLE_NAMES, handed over by the
    // page as data-roles); a role the table lacks: as stored.
    var roleNames = JSON.parse(($("plan") || {dataset: {}}).dataset.roles || "{}");
    function roleName(role) { return roleNames[role] || role; }
    // event statuses in the page's language (maps/styles.py event_status_names)
    var statusNames = JSON.parse(($("plan") || {dataset: {}}).dataset.statuses || "{}");
    function statusName(status) { return statusNames[status] || status; }
    function actionName(action) { return w("action_" + action); }
    // times as the command centre reads them: GridGIS.dateTime, "2026-11-30 19:48 北京时间"
    // One guard per panel (GridGIS.latest): only the answer to its latest load is drawn, so a
    // slow answer for the draft shown before (or an edit ago) never overwrites a newer one. A
    // superseded load resolves to null (the callers wait for all loads with allSettled).
    var guards = {problems: G.latest(), impact: G.latest(), log: G.latest()};
    function load(kind, url, what) {
      return guards[kind].get(url, what);
    }
    function orStale(error) {
      if (error && error.stale) { return null; }
      throw error;
    }

    function loadProblems() {
      var id = state.draft.id;
      return load("problems", base(id) + "/problems?lang=" + G.pageLang(), w("problems")).then(function (report) {
        var list = $("problems");
        list.textContent = "";
        $("problems-count").textContent = "(" + report.problems.length + ")";
        if (!report.problems.length) { list.appendChild(G.el("li", "ok", w("no_problems"))); }
        report.problems.forEach(function (p) {
          var li = G.el("li", "problem", w("problem", {kind: p.kind, codes: p.codes.join(", "),
            detail: p.detail || ""}));
          li.tabIndex = 0;
          li.addEventListener("click", function () { showProblem(p); });
          li.addEventListener("keydown", function (e) { if (e.key === "Enter") { showProblem(p); } });
          list.appendChild(li);
        });
        hook.problems = report.problems.length;
        return report;
      }).catch(orStale);
    }

    function showProblem(p) {
      if (layers.problem) { layers.problem.remove(); }
      layers.problem = L.featureGroup().addTo(maps.draft);
      if (p.geometry) {
        L.geoJSON(p.geometry, {interactive: false, pane: "plan-marks",
          style: {color: "#d50000", weight: 3, fillColor: "#d50000", fillOpacity: 0.35}})
          .addTo(layers.problem);
      }
      if (p.location) {
        L.circleMarker([p.location[1], p.location[0]], {radius: 9, color: "#d50000",
          interactive: false, pane: "plan-marks"}).addTo(layers.problem);
      }
      hook.lastProblem = layers.problem.getBounds().getCenter();
      var bounds = layers.problem.getBounds();
      if (bounds.isValid()) { maps.draft.fitBounds(bounds.pad(0.5), {maxZoom: 18}); }
    }

    function loadImpact() {
      var id = state.draft.id;
      var link = $("impact-xlsx");
      link.href = base(id) + "/impact?format=xlsx&lang=" + G.pageLang();
      link.hidden = false;
      return load("impact", base(id) + "/impact", w("impact")).then(function (report) {
        var box = $("impact");
        box.textContent = "";
        var table = G.el("table");
        table.id = "impact-totals";
        ["changed_grids", "households", "open_events", "assignments", "assignments_to_decide",
          "zones", "devices"].forEach(function (key) {
          var tr = G.el("tr");
          tr.dataset.key = key;
          tr.appendChild(G.el("th", null, w(key === "changed_grids" ? "totals" : key)));
          tr.appendChild(G.el("td", "n", report.totals[key]));
          table.appendChild(tr);
        });
        box.appendChild(table);
        var lists = {
          households: function (h) { return h.code + ": " + h.old_grid + " → " + (h.new_grid || "—"); },
          events: function (e) {
            return "#" + e.id + " " + e.subclass + " " + statusName(e.status) + ": " +
              e.grid_at_report + " → " + (e.new_grid || "—") + " (" + w("event_keeps") + ")";
          },
          assignments: function (a) {
            return a.name + " " + roleName(a.role) + " " + a.grid_code + " → " + (a.new_grid || "?") + " (" +
              actionName(a.action) + (a.candidates && a.candidates.length ? ": " + a.candidates.join(" ") : "") + ")";
          },
          zones: function (z) { return z.code + " " + z.name; },
          devices: function (d) { return d.external_id + " " + (d.label || ""); },
        };
        Object.keys(lists).forEach(function (key) {
          var items = report[key].items;
          if (!items.length) { return; }
          var details = G.el("details");
          details.appendChild(G.el("summary", null, w(key === "events" ? "open_events" : key) +
            " (" + report[key].count + ")"));
          var ul = G.el("ul");
          items.slice(0, ctx.listMax).forEach(function (item) { ul.appendChild(G.el("li", null, lists[key](item))); });
          if (items.length > ctx.listMax) { ul.appendChild(G.el("li", null, w("list_more", {n: items.length - ctx.listMax}))); }
          details.appendChild(ul);
          box.appendChild(details);
        });
        if (report.changed_grids.length) {
          var details = G.el("details");
          details.appendChild(G.el("summary", null, w("totals") + " (" + report.changed_grids.length + ")"));
          var ul = G.el("ul");
          report.changed_grids.slice(0, ctx.listMax).forEach(function (g) {
            var area = g.area_after_m2 !== null && g.area_before_m2 !== null ?
              " Δ " + Math.round(g.area_after_m2 - g.area_before_m2) + " m²" : "";
            ul.appendChild(G.el("li", null, g.code + " " + w(g.change === "removed" ? "removed_grid" : g.change) +
              area + " · " + w("households") + " −" + g.households_out + "/+" + g.households_in));
          });
          details.appendChild(ul);
          box.appendChild(details);
        }
        hook.impacts += 1;
        hook.impact = report.totals;
        return report;
      }).catch(orStale);
    }

    function loadLog() {
      var id = state.draft.id;
      return load("log", base(id) + "/edits", w("log")).then(function (log) {
        state.edits = log.edits;
        state.version = log.version;
        var list = $("edit-log");
        list.textContent = "";
        log.edits.slice().reverse().forEach(function (e) {
          var mark = e.state === "undone" ? w("undone") : e.state === "discarded" ? w("discarded") : "";
          list.appendChild(G.el("li", "edit-" + e.state, w("log_row", {version: e.version, op: e.op,
            actor: e.actor, reason: e.reason, state: mark})));
        });
        updateButtons();
        return log;
      }).catch(orStale);
    }

    function reviewBody() {
      var body = {reason: $("review-reason").value};
      var at = $("review-at").value;
      return {body: body, at: at ? new Date(at).toISOString() : null};
    }

    function review(action) {
      var box = $("review-answer");
      if (!state.draft) { show(box, w("need_draft"), "error"); return Promise.resolve(); }
      return send("POST", base(state.draft.id) + "/" + action, reviewBody().body, state.version)
        .then(function (g) {
          show(box, w("reviewed", {status: statusText(g.status), v: g.version}), "ok");
          return refreshDraft();
        })
        .catch(function (error) { showError(box, error); });
    }

    // publish(commit, extra): extra is {revert_newer: true} when the planner chose to undo
    // newer work (gridgis-plan-rebase.js offers it on the server's 409)
    function publish(commit, extra) {
      var box = $("review-answer");
      if (!state.draft) { show(box, w("need_draft"), "error"); return Promise.resolve(); }
      var r = reviewBody();
      var body = Object.assign({commit: commit}, r.body, r.at ? {at: r.at} : {}, extra || {});
      return send("POST", base(state.draft.id) + "/publish", body, state.version)
        .then(function (answer) {
          hook.answers.push(answer);
          if (!commit) {
            state.dryRun = true;
            var parts = [w("dry_title"), w("dry", {rid: answer.replaces ? answer.replaces.id : "—",
              rname: answer.replaces ? answer.replaces.name : "", at: answer.effective_at,
              scheduled: answer.scheduled ? w("scheduled") : "",
              valid: answer.validation && answer.validation.ok === false ? w("invalid") : w("valid")})];
            var totals = answer.impact && answer.impact.totals;
            if (totals) {  // in words: a total the page has no word for is left out, never raw
              Object.keys(totals).forEach(function (k) {
                var word = {changed_grids: "totals", to_decide: "to_decide_all"}[k] || k;
                if (ctx.hasWord(word)) { parts.push("· " + w(word) + ": " + totals[k]); }
              });
            }
            (answer.supersedes || []).forEach(function (g) {
              parts.push(w("supersedes", {id: g.id, name: g.name, at: g.effective_at}));
            });
            var newer = answer.newer_publications;  // work published since the draft's base
            if (newer && newer.loses_work) {
              parts.push(w("newer", {base: newer.base,
                since: newer.published_since.map(function (g) { return "#" + g.id; }).join(", "),
                reverted: newer.reverted.count, overridden: newer.overridden.count,
                codes: newer.reverted.codes.concat(newer.overridden.codes).slice(0, 5).join(", ")}));
            }
            show(box, parts, newer && newer.loses_work ? "error" : "ok");
            box.dataset.dryRun = "1";
            updateButtons();
            return null;
          }
          show(box, publishedSummary(answer), "ok");
          showToDecide(answer.published, answer.assignments_to_decide || []);
          state.dryRun = false;
          return refreshDraft();
        })
        .catch(function (error) { if (!ctx.rebasing().refused(error)) { showError(box, error); } });
    }

    // A committed publication in words (never raw JSON): what moved, what it supersedes.
    function publishedSummary(answer) {
      // the server's message is English: the page says it in its own words
      var when = G.dateTime(answer.effective_at, {zone: true});
      var parts = [w("published", {message: w(answer.scheduled ? "published_later" : "published_now",
        {id: answer.published, at: when})})];
      var r = answer.reanchor;
      if (r && typeof r === "object") {
        parts.push(w("moved_households", {n: r.households_moved}));
        parts.push(w("moved_assignments", {n: r.assignments_moved}));
        if (r.zone_members_replaced) { parts.push(w("zone_members", {n: r.zone_members_replaced})); }
      }
      (answer.supersedes || []).forEach(function (g) {
        parts.push(w("supersedes", {id: g.id, name: g.name, at: g.effective_at}));
      });
      return parts;
    }

    // The active generation's assignments left to decide (a publication split their grid),
    // listed when the page opens and after a publication, whoever published.
    function loadToDecide() {
      if (!state.active) { return Promise.resolve(null); }
      var id = state.active.id;
      return get(base(id) + "/assignments-to-decide", w("to_decide")).then(function (answer) {
        showToDecide(id, answer.data || []);
        return answer;
      });
    }

    function showToDecide(generationId, pending) {
      var box = $("to-decide");
      box.textContent = "";
      if (pending.length) { box.appendChild(decideTable(generationId, pending)); }
    }

    // The assignments left to decide, one row each with its choices (a successor grid, or
    // end it): POST /api/v1/generations/{id}/assignments-to-decide/{assignment} with the
    // reason of the review form. A decided row leaves the table (the count follows).
    function decideTable(generationId, pending) {
      var wrap = G.el("div", "to-decide");
      var title = G.el("div", "to-decide-title", w("to_decide_title", {n: pending.length}));
      wrap.appendChild(title);
      var table = G.el("table", "to-decide-table");
      var head = G.el("tr");
      ["col_person", "col_role", "col_grid", "col_decision", ""].forEach(function (k) {
        head.appendChild(G.el("th", null, k ? w(k) : ""));
      });
      table.appendChild(head);
      pending.forEach(function (a) {
        var row = G.el("tr");
        row.dataset.assignment = a.id;
        row.appendChild(G.el("td", null, a.name));
        row.appendChild(G.el("td", null, roleName(a.role)));
        row.appendChild(G.el("td", null, a.grid_code));
        var choice = G.el("select");
        (a.candidates || []).forEach(function (code) {
          var o = G.el("option", null, w("move_to", {code: code}));
          o.value = code;
          choice.appendChild(o);
        });
        var end = G.el("option", null, w("end_it"));
        end.value = "";
        choice.appendChild(end);
        var cell = G.el("td");
        cell.appendChild(choice);
        row.appendChild(cell);
        var button = G.el("button", null, w("decide"));
        button.type = "button";
        var note = G.el("td");
        button.addEventListener("click", function () {
          var reason = $("review-reason").value;
          if (!reason.trim()) { note.textContent = w("need_reason"); return; }
          var body = choice.value ? {decision: "move", grid_code: choice.value, reason: reason}
            : {decision: "end", reason: reason};
          send("POST", base(generationId) + "/assignments-to-decide/" + a.id, body)
            .then(function () {
              table.removeChild(row);
              var left = table.querySelectorAll("tr[data-assignment]").length;
              title.textContent = left ? w("to_decide_title", {n: left}) : "";
              var done = G.el("div", "to-decide-done", w("decided", {id: a.id}) +
                (left ? "" : " " + w("all_decided")));
              wrap.insertBefore(done, table);
              if (!left) { wrap.removeChild(table); }
              hook.decided = (hook.decided || 0) + 1;
            })
            .catch(function (error) { showError(note, error); });
        });
        var act = G.el("td");
        act.appendChild(button);
        row.appendChild(act);
        row.appendChild(note);
        table.appendChild(row);
      });
      wrap.appendChild(table);
      return wrap;
    }

    return {loadProblems: loadProblems, loadImpact: loadImpact, loadLog: loadLog,
      review: review, publish: publish, loadToDecide: loadToDecide};
  };
})(window.GridGIS);
