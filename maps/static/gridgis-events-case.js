// /events/map, one case in a dot's popup (gridgis-events.js opens it): the case, its timeline
// (GET /api/v1/events/{id}) and the workflow actions the API allows the caller now
// (allowed_actions: none, no buttons). Acting POSTs to /api/v1/events/{id}/actions (and
// /routing first when a dispatch goes to another grid or person); a refusal is said in the
// page's language. Built as DOM (GridGIS.el): no text is read as HTML.
//
//   var eventCase = GridGIS.eventCase({words, subclassName: fn(code), noteActions: [...],
//                                      onActed: fn()});
//   eventCase.show(id, popup[, messageElement]) -> Promise; eventCase.when(iso) -> text
(function (G) {
  "use strict";

  // Times are shown in Beijing time whatever the browser's zone and locale, in the one format
  // of every page (GridGIS.dateTime: "2026-12-01 08:30").
  function when(iso) { return G.dateTime(iso); }

  // A step received more than 2 minutes away from its time (a queued report from a phone).
  var RECEIVED_GAP_MS = 2 * 60 * 1000;
  function lateReceipt(step) {
    if (!step.recorded_at || !step.at) { return false; }
    var gap = Math.abs(Date.parse(step.recorded_at) - Date.parse(step.at));
    return gap > RECEIVED_GAP_MS;
  }

  // the link from a case to the playback of the officers who patrolled its grid on its day
  var PATROLLED = {zh: "当天巡查过此网格的队员", en: "Officers who patrolled this grid that day"};

  G.eventCase = function (options) {
    var W = options.words, lang = G.pageLang(), noteActions = options.noteActions || [];
    var subclassName = options.subclassName;

    function statusName(s) { return W.status_names[s] || s; }
    function actionName(a) { return W.actions[a] || a; }
    function getQuiet(url) { return G.getJSON(url, W.event, {quiet: true}); }

    // --- errors in the page's language ------------------------------------------------------
    // The API explains in English; a Chinese page says the same by kind, an English page shows
    // the API's own words.
    function errorText(err) {
      var p = err.problem || {};
      if (err.status === 0) { return W.error_network; }
      if (err.status === 401) { return G.format(W.error_other, {status: 401, why: W.why_expired}); }
      if (lang === "en" && (p.detail || err.message)) { return p.detail || err.message; }
      if (err.status === 403) { return W.error_403; }
      if (err.status === 404) { return W.error_404; }
      if (p.field === "version") { return W.error_version; }
      if (err.status === 409 && p.field === "action") { return W.error_state; }
      if (p.field === "note" || p.field === "reason") { return W.error_note; }
      if (p.field === "photos") { return W.error_photos; }
      if (p.field === "grid_code" || p.field === "changes") { return W.error_grid_code; }
      return G.format(W.error_other, {status: err.status, why: G.problemText(err.status, p)});
    }


    // --- one case: details, timeline, actions ------------------------------------------------
    function showEvent(id, popup, keepMessage) {
      return getQuiet("/api/v1/events/" + encodeURIComponent(id))
        .then(function (e) { popup.setContent(eventBox(e, popup, keepMessage)); G.updatePopup(popup); })
        .catch(function (err) {
          // loading is not acting: what failed and why (GridGIS.failedText), with a Retry
          var box = G.el("div", "gridgis-event-popup gridgis-event-error");
          box.setAttribute("role", "alert");
          box.appendChild(G.el("div", null, G.failedText(W.event, err)));
          var again = box.appendChild(G.el("button", "gridgis-event-retry", W.retry));
          again.type = "button";
          again.addEventListener("click", function () {
            again.disabled = true;
            showEvent(id, popup, keepMessage);
          });
          popup.setContent(box);
        });
    }

    function eventBox(e, popup, message) {
      var box = G.el("div", "gridgis-event-popup");
      box.setAttribute("data-id", String(e.id));
      box.setAttribute("data-status", e.status);
      box.appendChild(G.el("b", null, "#" + e.id + " " + subclassName(e.subclass)));
      var status = G.el("div", null, statusName(e.status));
      if (e.overdue) {
        status.appendChild(G.el("span", null, " · "));
        status.appendChild(G.el("b", "gridgis-event-overdue-text", W.overdue));
      }
      box.appendChild(status);
      if (e.description) { box.appendChild(G.el("div", null, e.description)); }
      var routing = e.routing || {};
      // the grid by its name, code and town ("网格 澄山社区第1网格（320281001001001）· 澄江街道")
      var where = G.el("div", "gridgis-event-grid");
      function named() {
        var n = (G.gridNames && routing.grid_code) ? G.gridText(routing.grid_code) : "";
        var parts = n && n !== routing.grid_code ? n.split(" · ") : [];
        var en = lang === "en";
        where.textContent = [W.grid + " " + (parts.length ? parts[0] + (en ? " (" : "（") +
          routing.grid_code + (en ? ")" : "）") : routing.grid_code || "—"), parts[1],
        routing.department].filter(Boolean).join(" · ");
      }
      named();
      if (routing.grid_code) { G.gridNames([routing.grid_code]).then(named); }
      box.appendChild(where);
      if (routing.grid_code && e.reported_at) {  // who patrolled its grid that day
        var who = G.el("a", "gridgis-patrolled-link", PATROLLED[lang === "en" ? "en" : "zh"]);
        who.href = "/playback?" + new URLSearchParams(Object.assign({grid: routing.grid_code,
          date: G.dateOnly(e.reported_at)}, lang === "en" ? {lang: "en"} : {}));
        box.appendChild(who);
      }
      box.appendChild(G.el("div", null, W.reported + " " + when(e.reported_at) +
        (e.deadline_at ? " · " + W.deadline + " " + when(e.deadline_at) : "") +
        " · " + G.zoneLabel()));
      if (typeof e.location_accuracy_m === "number") {  // the phone fix radius (m)
        box.appendChild(G.el("div", "gridgis-event-accuracy",
          G.format(W.accuracy, {m: Math.round(e.location_accuracy_m)})));
      }
      if (e.calendar_unconfirmed) {  // a deadline in a year without a holiday table
        box.appendChild(G.el("div", "gridgis-event-unconfirmed",
          G.format(W.unconfirmed, {years: (e.calendar_unconfirmed_years || []).join(", ")})));
      }
      box.appendChild(G.el("h6", null, W.timeline));
      var list = G.el("ol", "gridgis-timeline");
      (e.timeline || []).forEach(function (s) {
        var item = G.el("li");
        item.appendChild(G.el("b", null, when(s.at)));
        if (lateReceipt(s)) {  // sent from a phone that was offline: when the server got it
          item.appendChild(G.el("span", "gridgis-timeline-received",
            " " + G.format(W.received, {at: when(s.recorded_at)})));
        }
        item.appendChild(G.el("span", null, " " + [actionName(s.action), statusName(s.to),
          s.actor, W.roles[s.role] || s.role, s.note].filter(Boolean).join(" · ")));
        list.appendChild(item);
      });
      box.appendChild(list);
      var area = G.el("div", "gridgis-event-work");
      box.appendChild(area);
      actionButtons(e, area, popup);
      if (message) { area.appendChild(message); }
      return box;
    }

    // Only the actions the API allows this caller now (allowed_actions); none: no buttons.
    function actionButtons(e, area, popup) {
      var actions = e.allowed_actions || [];
      if (!actions.length) { return; }
      area.appendChild(G.el("h6", null, W.actions_title));
      var row = G.el("div", "gridgis-event-actions");
      actions.forEach(function (a) {
        var b = G.el("button", "gridgis-action gridgis-action-" + a, actionName(a));
        b.type = "button";
        b.setAttribute("data-action", a);
        b.addEventListener("click", function () { openForm(e, a, area, popup); });
        row.appendChild(b);
      });
      area.appendChild(row);
    }

    function field(labelText, input) {
      var wrap = G.el("label", null, labelText);
      wrap.appendChild(input);
      return wrap;
    }

    // The form of one action: a note (required for some), and for dispatch the unit grid and
    // the handler (from the grid's people: GET /api/v1/grids/{code}/responsible).
    function openForm(e, action, area, popup) {
      var old = area.querySelector(".gridgis-event-form");
      if (old) { old.remove(); }
      var f = G.el("form", "gridgis-event-form gridgis-form-" + action);
      var needsNote = noteActions.indexOf(action) >= 0;
      var note = G.el("textarea");
      note.name = "note";
      note.rows = 2;
      note.maxLength = 2000;
      f.appendChild(field(W.note + (needsNote ? " " + W.note_needed : ""), note));
      var grid = null, person = null, photos = null;
      if (action === "handle") {  // a note always; a photo when the subclass's rule asks for one
        photos = G.el("input");
        photos.type = "file";
        photos.name = "photos";
        photos.accept = "image/jpeg,image/png";
        photos.multiple = true;
        f.appendChild(field(W.photos, photos));
      }
      if (action === "dispatch") {
        grid = G.el("input");
        grid.name = "grid_code";
        grid.value = (e.routing || {}).grid_code || "";
        grid.maxLength = 15;
        grid.inputMode = "numeric";
        f.appendChild(G.el("b", null, W.dispatch_to));
        f.appendChild(field(W.grid_code, grid));
        person = G.el("select");
        person.name = "person";
        f.appendChild(field(W.person, person));
        var loadedFor = null;
        var fillPeople = function () {
          var code = grid.value.trim();
          if (code === loadedFor) { return; }  // the same grid again: keep the choice
          loadedFor = code;
          person.textContent = "";
          person.appendChild(G.el("option", null, W.keep)).value = "";
          if (!/^[0-9]{15}$/.test(code)) { return; }
          G.getJSON("/api/v1/grids/" + code + "/responsible", W.person, {quiet: true})
            .then(function (answer) {
              if (code !== loadedFor) { return; }  // another grid was typed meanwhile
              var done = {};
              (answer.staff || []).forEach(function (s) {
                if (done[s.person_id]) { return; }
                done[s.person_id] = true;
                var o = G.el("option", null, s.name + " · " + (W.roles[s.role] || s.role));
                o.value = String(s.person_id);
                person.appendChild(o);
              });
            })
            .catch(function () { /* the grid code is checked when dispatching */ });
        };
        grid.addEventListener("change", fillPeople);
        fillPeople();
      }
      var go = G.el("button", "gridgis-action-submit", actionName(action));
      go.type = "submit";
      f.appendChild(go);
      var out = G.el("div", "gridgis-event-message");
      f.appendChild(out);
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        go.disabled = true;
        act(e, action, note.value.trim(), grid, person, photos)
          .then(function () {
            var ok = G.el("div", "gridgis-event-ok", G.format(W.done, {action: actionName(action)}));
            return showEvent(e.id, popup, ok).then(options.onActed);
          })
          .catch(function (err) {
            go.disabled = false;
            out.textContent = "";
            out.appendChild(G.el("div", "gridgis-event-error", errorText(err)));
            var p = err.problem || {};
            if (err.status === 409 || p.field === "version") {  // stale: show the case as it is
              var msg = G.el("div", "gridgis-event-error", errorText(err));
              showEvent(e.id, popup, msg);
            }
          });
      });
      area.appendChild(f);
      (action === "dispatch" ? grid : note).focus();
      G.updatePopup(popup);
    }

    // Dispatch to another grid or person: the routing first (logged, with the note as the
    // reason), then the action on the new version.
    function act(e, action, note, grid, person, photos) {
      var base = "/api/v1/events/" + encodeURIComponent(e.id);
      var changes = {};
      if (grid && grid.value && grid.value !== (e.routing || {}).grid_code) {
        changes.grid_code = grid.value;
      }
      if (person && person.value) { changes.worker_person_id = Number(person.value); }
      var first = Object.keys(changes).length ?
        G.sendJSON("POST", base + "/routing", {changes: changes, reason: note || W.routing_reason}) :
        Promise.resolve(e);
      return first.then(function (current) {
        var body = {action: action, version: current.version};
        if (note) { body.note = note; }
        if (photos && photos.files.length) {  // multipart: the same fields plus the photos
          var form = new FormData();
          Object.keys(body).forEach(function (k) { form.append(k, String(body[k])); });
          Array.prototype.forEach.call(photos.files, function (file) { form.append("photos", file); });
          return G.sendJSON("POST", base + "/actions", form);
        }
        return G.sendJSON("POST", base + "/actions", body);
      });
    }

    return {show: showEvent, when: when, errorText: errorText};
  };
})(window.GridGIS);
