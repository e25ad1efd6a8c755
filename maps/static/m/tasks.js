// GridGIS officer app: my tasks. The open cases routed to me or my grids (/api/v1/me/tasks),
// by deadline; the work hours left come from the server's working calendar (never computed
// here); overdue in red. A case opens with its timeline and photos and the actions my role
// may take now (allowed_actions), each queued in the outbox with a note, photos and the time
// the officer acted (acted_at: an action sent later, after a dead zone, is logged at that time).
// A new case is announced once: a toast, a beep and one vibration per new case.
// Optimistic state: a case is shown as it will be once the actions queued for it in the outbox
// are sent (the workflow's transitions for my role come with my tasks, api/routes/mobile.py):
// offline, after a queued start it is in handling and offers "handled", not a second start.
(function (global) {
  "use strict";

  var M = global.GridGISMobile;
  var doc = global.document;
  var OFFICER_ACTIONS = ["start", "handle", "return", "request_extension"];
  var NOTE_REQUIRED = ["return", "request_extension"];
  var known = null;  // ids seen so far (null before the first answer: nothing is "new" then)
  var fresh = {};    // ids that arrived while the app was open
  var tasks = [];
  var queued = {};   // event id -> [actions waiting for it in the outbox, in order]
  var transitions = null;  // {status: {action: status after it}} for my role (from the API)

  // ahead(task) -> {status, actions}: the case once its queued actions are done (the API's
  // status and allowed actions when nothing waits; without the transitions, an action is at
  // least not offered twice)
  function ahead(task) {
    var status = task.status, actions = task.allowed_actions || [];
    (queued[task.id] || []).forEach(function (action) {
      var next = transitions && transitions[status] && transitions[status][action];
      if (next) {
        status = next;
        actions = Object.keys(transitions[status] || {});
      } else {
        actions = actions.filter(function (a) { return a !== action; });
      }
    });
    return {status: status, actions: actions};
  }

  function queuedText(id) {
    return M.t("queued", {n: queued[id].map(function (a) { return M.t("action_" + a); }).join("、")});
  }

  // syncQueued(): the queued actions read again from the outbox (IndexedDB: they survive a
  // reload); failed ones are not counted (refused: the case did not change)
  function syncQueued() {
    return M.outbox.items().then(function (items) {
      var now = {};
      items.forEach(function (item) {
        if (item.kind !== "action" || item.state !== "pending") { return; }
        var id = Number(item.url.split("/")[4]);
        (now[id] = now[id] || []).push(item.fields.action);
      });
      var changed = JSON.stringify(now) !== JSON.stringify(queued);
      queued = now;
      if (changed) { rerender(); }
    });
  }

  function deadlineText(task) {
    if (task.work_hours_left === null || task.work_hours_left === undefined) {
      return M.t("no_deadline");
    }
    var h = Math.abs(task.work_hours_left).toFixed(1);
    return task.overdue || task.work_hours_left < 0 ? M.t("overdue_h", {h: h}) : M.t("left_h", {h: h});
  }

  function statusText(status) { return M.t("status_" + status); }

  // the case's subclass in the page's language: the dictionary's name (the answer may be one
  // kept offline in the other language), else the answer's, else the code
  function name(task) {
    return M.subclassName(task.subclass) || task.subclass_name || task.subclass;
  }

  function card(task) {
    var li = M.el("li", "ggm-task" + (task.overdue ? " ggm-overdue" : "") +
      (fresh[task.id] ? " ggm-new" : ""));
    li.dataset.id = task.id;
    li.tabIndex = 0;
    var head = M.el("div", "ggm-task-head");
    head.appendChild(M.el("strong", null, "#" + task.id + " " + name(task)));
    var next = ahead(task);
    if (fresh[task.id]) { head.appendChild(M.el("span", "ggm-new-mark", M.t("new"))); }
    li.appendChild(head);
    li.appendChild(M.el("div", "ggm-task-status", statusText(next.status) +
      (queued[task.id] ? " · " + queuedText(task.id) : "")));
    var due = M.el("div", "ggm-deadline", M.t("deadline") + " " + M.when(task.deadline_at) + " · " +
      deadlineText(task));
    if (task.calendar_unconfirmed) { due.appendChild(M.el("span", "ggm-warn", " " + M.t("unconfirmed"))); }
    li.appendChild(due);
    if (task.description) { li.appendChild(M.el("p", "ggm-task-text", task.description)); }
    li.addEventListener("click", function () { open(task.id); });
    return li;
  }

  function render() {
    var list = doc.getElementById("task-list");
    list.textContent = "";
    if (M.me && M.me.person_id === null) {
      list.appendChild(M.el("li", "ggm-empty", M.t("no_person")));
    } else if (!tasks.length) {
      list.appendChild(M.el("li", "ggm-empty", M.t("no_tasks")));
    }
    tasks.forEach(function (task) { list.appendChild(card(task)); });
    doc.getElementById("tasks-count").textContent = tasks.length ? String(tasks.length) : "";
  }

  // One buzz per new case: [300] for one, [300, 200, 300] for two, …
  function buzzes(n) {
    var pattern = [];
    for (var i = 0; i < n; i++) { pattern.push(300); if (i < n - 1) { pattern.push(200); } }
    return pattern.length === 1 ? pattern[0] : pattern;
  }

  function alertNew(added) {
    var first = added[0];
    M.toast(M.t("new_task", {id: first.id, name: name(first)}));
    if (global.navigator.vibrate) {
      try { global.navigator.vibrate(buzzes(Math.min(added.length, 5))); } catch { /* not allowed */ }
    }
    try {  // a short beep; browsers allow it only after the user touched the page
      var Ctx = global.AudioContext || global.webkitAudioContext;
      if (Ctx) {
        var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.1;
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start();
        osc.stop(ctx.currentTime + 0.2);
        osc.onended = function () { ctx.close(); };
      }
    } catch { /* no sound */ }
  }

  // refresh(): read my tasks; new ones are marked and announced
  M.refreshTasks = function () {
    var added = [];
    return M.get(M.inLang("/api/v1/me/tasks")).then(function (answer) {
      tasks = answer.data;
      transitions = answer.transitions || transitions;
      if (known !== null) {
        tasks.forEach(function (task) {
          if (!known[task.id]) { added.push(task); fresh[task.id] = true; }
        });
      }
      known = known || {};
      tasks.forEach(function (task) {
        known[task.id] = true;
        // the open case: its newer status and actions (its timeline stays until re-read)
        if (shown && shown.id === task.id && shown !== task) {
          shown = Object.assign({}, shown, task, {timeline: shown.timeline, photos: shown.photos});
        }
      });
      return syncQueued().catch(function () { /* no IndexedDB: as the API says */ });
    }).then(function () {
      rerender();
      if (added.length) { alertNew(added); }
      return tasks;
    });
  };

  function actionForm(task, action) {
    var form = M.el("form", "ggm-form ggm-action-form");
    form.dataset.action = action;
    form.appendChild(M.el("h3", null, M.t("action_" + action)));
    var note = M.el("textarea");
    note.name = "note";
    note.rows = 3;
    note.placeholder = action === "handle" ? M.t("note_handled")
      : NOTE_REQUIRED.indexOf(action) >= 0 ? M.t("note_required") : M.t("note");
    form.appendChild(note);
    var input = M.el("input");
    input.type = "file";
    input.accept = "image/*";
    input.setAttribute("capture", "environment");
    input.multiple = true;
    input.className = "ggm-file-input ggm-action-photos";
    input.id = "action-photos-" + task.id;
    // the browser's own file button speaks the browser's language: our labelled button instead
    var chooser = M.el("label", "ggm-secondary ggm-file-button", M.t("choose_photos"));
    chooser.htmlFor = input.id;
    var previews = M.el("div", "ggm-previews");
    var error = M.el("p", "ggm-error");
    error.hidden = true;
    function showError(text) { error.textContent = text; error.hidden = false; }
    var picker = M.photoPicker(input, previews, showError);
    if (action === "handle") {
      form.appendChild(M.el("p", "ggm-field-title", task.handling_photo_required
        ? M.t("take_photo_required") : M.t("take_photo")));
      form.appendChild(input);
      form.appendChild(chooser);
      form.appendChild(previews);
    }
    form.appendChild(error);
    var submit = M.el("button", "ggm-primary", M.t("do"));
    submit.type = "submit";
    form.appendChild(submit);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = note.value.trim();
      // refused here, before queuing, by the server's rule (layers/events/workflow.py
      // check_handled): handled needs a note, and a photo when the subclass asks for one
      if (NOTE_REQUIRED.indexOf(action) >= 0 && !text) { showError(M.t("note_required")); return; }
      if (action === "handle" && !text) { showError(M.t("note_handled")); return; }
      if (action === "handle" && task.handling_photo_required && !picker.blobs().length) {
        showError(M.t("photo_required"));
        return;
      }
      var fields = {action: action, acted_at: new Date().toISOString()};
      if (text) { fields.note = text; }
      // the label is made when the outbox is shown, in the language of that moment
      M.outbox.add("action", "/api/v1/events/" + task.id + "/actions", fields, picker.blobs(),
        {event: task.id, action: action}).then(function () {
        (queued[task.id] = queued[task.id] || []).push(action);
        picker.clear();
        close();
        M.outbox.flush();
      });
    });
    return form;
  }

  var shown = null;  // the case open in the detail view

  function detail(task) {
    var box = doc.getElementById("task-detail");
    var next = ahead(task);
    shown = task;
    box.textContent = "";
    var back = M.el("button", "ggm-secondary ggm-back", "‹ " + M.t("back"));
    back.type = "button";
    back.addEventListener("click", close);
    box.appendChild(back);
    box.appendChild(M.el("h2", null, "#" + task.id + " " + name(task)));
    box.appendChild(M.el("p", "ggm-task-status", statusText(next.status)));
    box.appendChild(M.el("p", "ggm-deadline" + (task.overdue ? " ggm-overdue-text" : ""),
      M.t("deadline") + " " + M.when(task.deadline_at) + " · " + deadlineText(task)));
    if (task.description) { box.appendChild(M.el("p", null, task.description)); }
    if (task.address) { box.appendChild(M.el("p", "ggm-hint", task.address)); }
    if (task.location_accuracy_m !== null && task.location_accuracy_m !== undefined) {
      box.appendChild(M.el("p", "ggm-hint", M.t("position") + " " +
        M.t("accuracy", {m: Math.round(task.location_accuracy_m)})));
    }
    if (task.photos && task.photos.length) {
      box.appendChild(M.el("h3", null, M.t("photos")));
      var strip = M.el("div", "ggm-previews");
      task.photos.forEach(function (p) {
        var img = M.el("img", "ggm-photo");
        img.src = p.url;
        img.alt = p.filename;
        img.loading = "lazy";
        strip.appendChild(img);
      });
      box.appendChild(strip);
    }
    var actions = M.el("div", "ggm-actions");
    next.actions.filter(function (a) { return OFFICER_ACTIONS.indexOf(a) >= 0; })
      .forEach(function (action) {
        var b = M.el("button", "ggm-action ggm-action-" + action, M.t("action_" + action));
        b.type = "button";
        b.dataset.action = action;
        b.addEventListener("click", function () {
          var old = box.querySelector(".ggm-action-form");
          if (old) { old.remove(); }
          actions.after(actionForm(task, action));
        });
        actions.appendChild(b);
      });
    if (queued[task.id]) { actions.appendChild(M.el("p", "ggm-hint ggm-queued", queuedText(task.id))); }
    box.appendChild(actions);
    box.appendChild(M.el("h3", null, M.t("timeline")));
    var ol = M.el("ol", "ggm-timeline");
    (task.timeline || []).forEach(function (step) {
      var li = M.el("li");
      var name = M.labels["step_" + step.action] || step.action;
      li.appendChild(M.el("strong", null, M.when(step.at) + " " + name));
      if (step.recorded_at && Math.abs(new Date(step.recorded_at) - new Date(step.at)) > 120000) {
        // taken offline: logged at the phone's time, received later
        li.appendChild(M.el("span", "ggm-hint", " " + M.t("recorded", {at: M.when(step.recorded_at)})));
      }
      li.appendChild(M.el("span", null, " " + (step.actor || "") + " → " + statusText(step.to)));
      if (step.note) { li.appendChild(M.el("div", "ggm-hint", step.note)); }
      ol.appendChild(li);
    });
    box.appendChild(ol);
  }

  function open(id) {
    var box = doc.getElementById("task-detail");
    var list = doc.getElementById("task-list");
    delete fresh[id];
    var cached = tasks.filter(function (t) { return t.id === id; })[0];
    if (cached) { detail(cached); } else { shown = null; }  // at once from the list, then with its timeline
    list.hidden = true;
    box.hidden = false;
    box.dataset.id = id;
    return M.get(M.inLang("/api/v1/me/tasks/" + id)).then(function (full) {
      if (box.hidden || box.dataset.id !== String(id)) { return; }  // closed meanwhile
      var form = box.querySelector(".ggm-action-form");  // being filled in: kept as it is
      detail(full);
      if (form) { box.querySelector(".ggm-actions").after(form); }
    }, function (err) {
      if (!cached) { box.appendChild(M.el("p", "ggm-error", err.detail)); }
    });
  }

  function close() {
    doc.getElementById("task-detail").hidden = true;
    doc.getElementById("task-list").hidden = false;
    render();
  }

  // the list, and the open case unless a form is being filled in
  function rerender() {
    var box = doc.getElementById("task-detail");
    render();
    if (!box.hidden && shown && !box.querySelector(".ggm-action-form")) { detail(shown); }
  }

  M.on("outbox", function () { syncQueued(); });
  M.on("dictionary", function () { rerender(); });
  M.on("sent", function (ev) {
    if (ev.item.kind === "action") {
      M.refreshTasks().catch(function () { /* shown by the poll */ });
    }
  });

  M.openTask = open;
  M.closeTask = close;
})(window);
