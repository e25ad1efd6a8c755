// GridGIS officer app: start-up. Tabs, the network and outbox indicators, the "log in again"
// notice, the poll for new tasks (every config.poll_s seconds, and at once when the network
// returns or the app comes back to the foreground), and the service worker (app shell and my
// data for offline use; /m/sw.js).
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
      $("alert-text").textContent = M.t("expired", {n: items.length});
      $("alert-login").hidden = false;
      box.hidden = false;
    });
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
        li.appendChild(M.el("strong", null, M.t("kind_" + item.kind) + " " + item.label));
        var status = item.state === "failed" ? M.t("failed")
          : !M.outbox.mine(item) ? M.t("other_user", {user: item.user})
            : state.sending ? M.t("sending") : M.t("waiting");
        li.appendChild(M.el("span", "ggm-hint", " " + M.when(item.created_at) + " · " + status +
          (item.photos.length ? " · " + item.photos.length + " " + M.t("photos") : "")));
        if (item.state === "failed") {
          li.appendChild(M.el("div", "ggm-error", item.duplicates
            ? M.t("duplicates", {m: 50}) + " " + item.duplicates.map(function (d) {
              return "#" + d.id;
            }).join(" ")
            : M.t("refused", {e: item.error})));
          var retry = M.el("button", "ggm-secondary", item.duplicates ? M.t("send_anyway") : M.t("retry"));
          retry.type = "button";
          retry.addEventListener("click", function () {
            M.outbox.retry(item.seq, item.duplicates ? {ignore_duplicates: true} : null);
          });
          var drop = M.el("button", "ggm-secondary", M.t("discard"));
          drop.type = "button";
          drop.addEventListener("click", function () { M.outbox.discard(item.seq); });
          li.appendChild(retry);
          li.appendChild(drop);
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

  function registerWorker() {
    if (!("serviceWorker" in global.navigator)) { return; }
    global.navigator.serviceWorker.register(M.config.sw, {scope: "/m/"}).then(function (reg) {
      M.worker = reg;
    }, function (e) { global.console.warn("service worker not registered:", e.message); });
  }

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
    try {
      var last = global.localStorage.getItem("ggm-user");
      if (last && last !== name && global.caches) { global.caches.delete("ggm-data"); }
      global.localStorage.setItem("ggm-user", name);
    } catch { /* no storage: nothing kept either */ }
  }

  function start() {
    Object.keys(views).forEach(function (key) {
      $("tab-" + key).addEventListener("click", function () { show(key); });
    });
    M.initReport();
    network();
    global.addEventListener("online", function () { network(); poll(); });
    global.addEventListener("offline", network);
    doc.addEventListener("visibilitychange", function () { if (!doc.hidden) { poll(); } });
    M.on("outbox", function () { drawOutbox(); });
    M.on("sent", function (ev) {
      if (ev.item.kind === "report") { M.toast(M.t("sent") + " #" + ev.answer.id); }
      drawOutbox();
    });
    M.on("refused", function () { drawOutbox(); });
    M.on("expired", function () { M.outbox.state.expired = true; expiredNotice(true); });
    M.get("/api/v1/me").then(function (me) {
      M.me = me;
      forgetOtherUsersData(me.name);
    }, function () {
      M.me = M.me || null;
    }).then(function () {
      return Promise.all([
        M.refreshTasks().catch(function () { /* offline: cached or empty */ }),
        M.loadDictionary(), M.prefetchGrid(),
      ]);
    }).then(function () {
      drawOutbox();
      M.outbox.flush();
      M.ready = true;
      doc.body.classList.add("ggm-ready");
    });
    global.setInterval(poll, M.config.poll_s * 1000);
    registerWorker();
    offerInstall();
  }

  start();
})(window);
