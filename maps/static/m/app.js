// GridGIS officer app: start-up. Tabs, the network and outbox indicators, the "log in again"
// notice, the poll for new tasks (every config.poll_s seconds, and at once when the network
// returns or the app comes back to the foreground), and the service worker (app shell and my
// data for offline use; /m/sw.js). The outbox is sent at start when online, the moment the
// network returns ("online", and the worker's Background Sync where the browser has it), at
// every poll, and by hand; never only at the next poll.
(function (global) {
  "use strict";

  var M = global.GridGISMobile;
  var doc = global.document;
  var views = {tasks: "closeTask", report: "showReport", grid: "showGrid", outbox: "showOutbox"};

  function $(id) { return doc.getElementById(id); }

  function show(name) {
    Object.keys(views).forEach(function (key) {
      $("view-" + key).hidden = key !== name;
      $("tab-" + key).setAttribute("aria-selected", String(key === name));
    });
    if (views[name]) { M[views[name]](); }
  }

  function network() {
    var online = global.navigator.onLine !== false;
    var net = $("net");
    net.textContent = online ? M.t("online") : M.t("offline");
    net.className = "ggm-net " + (online ? "ggm-online" : "ggm-offline");
  }

  function expiredNotice(on) {
    var box = $("alert");
    if (!on) { box.hidden = true; return; }
    M.outbox.items().then(function (items) {
      // the count only when something waits (none: just "log in again")
      $("alert-text").textContent = items.length ? M.t("expired_kept", {n: items.length})
        : M.t("expired");
      $("alert-login").hidden = false;
      box.hidden = false;
    });
  }

  // What an outbox item is, in the language of the page now (store.js keeps codes)
  function itemLabel(item) {
    var label = item.label;
    if (label && typeof label === "object") {
      if (label.subclass) { return M.subclassLabel(label.subclass); }
      if (label.event) { return "#" + label.event + " " + M.t("action_" + label.action); }
    }
    return typeof label === "string" ? label : "";
  }

  // A discard button: asks first (the item would never be sent)
  function discardButton(item) {
    var drop = M.el("button", "ggm-secondary ggm-discard", M.t("discard"));
    drop.type = "button";
    drop.addEventListener("click", function () {
      if (global.confirm(M.t("discard_confirm", {what: M.t("kind_" + item.kind) + " " + itemLabel(item)}))) {
        M.outbox.discard(item.seq);
      }
    });
    return drop;
  }

  // The outbox tab and the counters
  function drawOutbox() {
    var state = M.outbox.state;
    return M.outbox.items().then(function (items) {
      var pending = items.filter(function (i) { return i.state === "pending"; }).length;
      var count = $("queue-count");
      count.textContent = String(items.length);
      count.hidden = !items.length;
      count.classList.toggle("ggm-count-failed", items.length > pending);
      $("outbox-summary").textContent = items.length ? M.t("pending", {n: items.length})
        : M.t("none_pending");
      var err = $("outbox-error");
      err.hidden = !state.lastError;
      err.textContent = state.lastError ? M.t("last_error", {e: state.lastError}) : "";
      var list = $("outbox-list");
      list.textContent = "";
      items.forEach(function (item) {
        var li = M.el("li", "ggm-outbox-item ggm-" + item.state);
        li.dataset.seq = item.seq;
        li.appendChild(M.el("strong", null, M.t("kind_" + item.kind) + " " + itemLabel(item)));
        var status = item.state === "failed" ? M.t("failed")
          : !M.outbox.mine(item) ? M.t("other_user", {user: item.user})
            : state.expired ? M.t("session_expired")
              : state.sending ? M.t("sending") : M.t("waiting");
        li.appendChild(M.el("span", "ggm-hint", " " + M.when(item.created_at) + " · " + status +
          (item.photos.length ? " · " + item.photos.length + " " + M.t("photos") : "")));
        if (item.state === "failed") {
          li.appendChild(M.el("div", "ggm-error", item.duplicates
            ? M.t("duplicates", {m: 50}) + " " + item.duplicates.map(function (d) {
              return "#" + d.id;
            }).join(" ")
            : M.t("refused", {e: item.error})));
          // a possible duplicate: send anyway; an action that waited too long to be logged at
          // the phone's time (acted_at refused): send it with the time of sending
          var late = item.field === "acted_at";
          var retry = M.el("button", "ggm-secondary", item.duplicates ? M.t("send_anyway")
            : late ? M.t("send_now") : M.t("retry"));
          retry.type = "button";
          retry.addEventListener("click", function () {
            M.outbox.retry(item.seq, item.duplicates ? {ignore_duplicates: true}
              : late ? {acted_at: null} : null);
          });
          li.appendChild(retry);
          li.appendChild(discardButton(item));
        } else if (M.outbox.mine(item) && item.seq !== state.current) {
          li.appendChild(discardButton(item));  // waiting: may still be called off
        }
        list.appendChild(li);
      });
      expiredNotice(state.expired);
      return items;
    });
  }
  M.showOutbox = drawOutbox;

  function poll() {
    M.refreshTasks().then(function () {
      M.outbox.state.expired = false;
      expiredNotice(false);
      return M.outbox.flush();
    }, function () { /* offline or expired: the indicators say so */ });
  }

  // The service worker: it keeps the app and my data for offline use (sw.js). Opened for the
  // first time, this page is not yet under its control: the worker reads and keeps my data
  // itself once active and says "warmed"; the page then reads its tasks again through it.
  function offlineReady(announce) {
    if (announce && !M.offlineReady) { M.toast(M.t("offline_ready")); }
    M.offlineReady = true;
    doc.body.classList.add("ggm-offline-ready");
  }

  function registerWorker() {
    var sw = global.navigator.serviceWorker;
    if (!sw) { return; }
    var controlled = Boolean(sw.controller);
    sw.addEventListener("message", function (ev) {
      var data = ev.data || {};
      if (data.type === "warmed") { offlineReady(true); }
      if (data.type === "flush") { M.outbox.flush(); }
    });
    sw.addEventListener("controllerchange", function () {
      if (controlled) { return; }  // a new version took over: my data is kept already
      controlled = true;
      if (sw.controller) { sw.controller.postMessage({type: "warm"}); }
      M.refreshTasks().catch(function () { /* offline: the worker warms what it can */ });
    });
    sw.register(M.config.sw, {scope: "/m/"}).then(function (reg) {
      M.worker = reg;
    }, function (e) { global.console.warn("service worker not registered:", e.message); });
  }

  // Ask the worker to read my data again (another officer used this phone before).
  function warmWorker() {
    var sw = global.navigator.serviceWorker;
    if (!sw || !sw.controller) { return; }
    sw.ready.then(function (reg) {
      if (reg.active) { reg.active.postMessage({type: "warm"}); }
    });
  }

  // Background Sync: the worker wakes this page to send the outbox when the network returns.
  M.syncLater = function () {
    if (M.worker && M.worker.sync) {
      M.worker.sync.register("ggm-outbox").catch(function () { /* not allowed: polls send */ });
    }
  };

  // "Add to home screen" where the browser offers it (Chromium's beforeinstallprompt)
  function offerInstall() {
    global.addEventListener("beforeinstallprompt", function (ev) {
      ev.preventDefault();
      var button = $("install");
      button.hidden = false;
      button.addEventListener("click", function () {
        button.hidden = true;
        ev.prompt();
      }, {once: true});
    });
  }

  // A phone shared by two officers: the last answers kept for offline use are the previous
  // officer's; dropped when someone else logs in (their outbox items wait for them, store.js).
  function forgetOtherUsersData(name) {
    var forget = Promise.resolve(false);
    try {
      var last = global.localStorage.getItem("ggm-user");
      if (last && last !== name && global.caches) {
        forget = global.caches.delete("ggm-data").then(function () { return true; });
      }
      global.localStorage.setItem("ggm-user", name);
    } catch { /* no storage: nothing kept either */ }
    return forget;
  }

  function online() { return global.navigator.onLine !== false; }

  function start() {
    Object.keys(views).forEach(function (key) {
      $("tab-" + key).addEventListener("click", function () { show(key); });
    });
    M.initReport();
    network();
    global.addEventListener("online", function () {
      network();
      M.outbox.flush();  // at once, not after the tasks answer (nor at the next poll)
      poll();
    });
    global.addEventListener("offline", network);
    doc.addEventListener("visibilitychange", function () { if (!doc.hidden) { poll(); } });
    M.on("outbox", function () { drawOutbox(); });
    M.on("sent", function (ev) {
      if (ev.item.kind === "report") { M.toast(M.t("sent") + " #" + ev.answer.id); }
      drawOutbox();
    });
    M.on("refused", function () { drawOutbox(); });
    M.on("expired", function () { M.outbox.state.expired = true; expiredNotice(true); });
    var sw = global.navigator.serviceWorker;
    var controlled = Boolean(sw && sw.controller);  // this start's reads go through the worker
    if (online()) { M.outbox.flush(); }  // what an earlier (offline) visit left in the box
    M.get("/api/v1/me").then(function (me) {
      M.me = me;
      return forgetOtherUsersData(me.name).then(function (forgot) {
        if (forgot) { warmWorker(); }
      });
    }, function () {
      M.me = M.me || null;
    }).then(function () {
      return Promise.all([
        M.refreshTasks().catch(function () { /* offline: cached or empty */ }),
        M.loadDictionary(), M.prefetchGrid(),
      ]);
    }).then(function () {
      drawOutbox();
      if (online()) { M.outbox.flush(); }
      if (controlled) { offlineReady(); }  // what this start read is kept by the worker
      M.ready = true;
      doc.body.classList.add("ggm-ready");
    });
    global.setInterval(poll, M.config.poll_s * 1000);
    registerWorker();
    offerInstall();
  }

  start();
})(window);
