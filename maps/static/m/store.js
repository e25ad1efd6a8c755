// GridGIS officer app: the outbox. Reports and workflow actions are written to IndexedDB
// first and sent from there, oldest first, one at a time, each with the Idempotency-Key made
// when the officer pressed send: a resend after a lost answer acts once (the API answers the
// first result, layers/idempotency.py). What stays in the box:
//   - no network or a server error (5xx): everything waits; retried when the network returns,
//     every poll, or by hand;
//   - the session ended (401): everything waits; the app asks to log in again in its own words
//     (the box is in IndexedDB, so it survives the login page and a reload);
//   - refused (another 4xx, e.g. a possible duplicate or a case that changed meanwhile): that
//     item is set aside as failed with the API's reason (retry or discard by hand) and the
//     next ones go on;
//   - made by another user of this phone: waits until that user logs in again.
(function (global) {
  "use strict";

  var M = global.GridGISMobile;
  var DB_NAME = "gridgis-m", STORE = "outbox", VERSION = 1;
  var dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = global.indexedDB.open(DB_NAME, VERSION);
        req.onupgradeneeded = function () {
          req.result.createObjectStore(STORE, {keyPath: "seq", autoIncrement: true});
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { dbPromise = null; reject(req.error); };
      });
    }
    return dbPromise;
  }

  // run(mode, fn(store) -> IDBRequest): the request's result once the transaction is done
  function run(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = fn(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  // A v4 UUID: crypto.randomUUID where the browser has it (secure contexts), else made from
  // crypto.getRandomValues.
  function uuid() {
    var c = global.crypto;
    if (c.randomUUID) { return c.randomUUID(); }
    var b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  // current: the seq of the item on its way (it can no longer be discarded)
  var state = {sending: false, expired: false, lastError: null, current: null};

  // Only the user who made an item sends it (a shared phone: another officer's reports wait
  // until they log in again; the API would log them under the wrong name).
  function mine(item) { return !item.user || item.user === M.config.user; }
  var running = null;

  function items() { return run("readonly", function (s) { return s.getAll(); }); }

  // add(kind, url, fields, photos, label): queue one request; resolves with the stored item.
  // label: what the outbox shows, as codes ({subclass: "0401"} or {event: 12, action: "start"})
  // rendered in the language of the moment it is shown (app.js), or a plain string
  function add(kind, url, fields, photos, label) {
    var item = {key: uuid(), kind: kind, url: url, fields: fields, photos: photos || [],
      label: label || "", created_at: new Date().toISOString(), state: "pending", error: null,
      user: M.config.user};
    return run("readwrite", function (s) { return s.add(item); }).then(function (seq) {
      item.seq = seq;
      M.emit("outbox", state);
      if (global.navigator.onLine === false && M.syncLater) { M.syncLater(); }
      return item;
    });
  }

  function send(item) {
    var options = {headers: {"Idempotency-Key": item.key}};
    if (item.photos.length) {
      var form = new FormData();
      Object.keys(item.fields).forEach(function (k) {
        var v = item.fields[k];
        if (v !== null && v !== undefined) { form.append(k, String(v)); }
      });
      item.photos.forEach(function (blob, i) { form.append("photos", blob, "photo-" + (i + 1) + ".jpg"); });
      options.form = form;
    } else {
      options.json = item.fields;
    }
    return M.request("POST", item.url, options);
  }

  // flush(): send what waits, in order; resolves when the box is empty or has to wait
  function flush() {
    if (running) { return running; }
    running = (async function () {
      state.sending = true;
      M.emit("outbox", state);
      try {
        for (;;) {
          if (global.navigator.onLine === false) { break; }
          var pending = (await items()).filter(function (i) {
            return i.state === "pending" && mine(i);
          });
          if (!pending.length) { break; }
          var item = pending[0];
          state.current = item.seq;
          try {
            var answer = await send(item);
            await run("readwrite", function (s) { return s.delete(item.seq); });
            state.lastError = null;
            state.expired = false;
            M.emit("sent", {item: item, answer: answer});
          } catch (err) {
            if (err.status === 401) { state.expired = true; state.lastError = err.detail; break; }
            if (err.status === 0 || err.status >= 500 || err.status === 429) {
              state.lastError = err.detail;
              if (err.status === 0 && M.syncLater) { M.syncLater(); }
              break;
            }
            item.state = "failed";
            item.error = err.detail;
            item.status = err.status;
            item.field = err.field;
            item.duplicates = (err.body && err.body.duplicates) || null;
            await run("readwrite", function (s) { return s.put(item); });
            state.lastError = err.detail;
            M.emit("refused", item);
          }
        }
      } finally {
        state.sending = false;
        state.current = null;
        M.emit("outbox", state);
      }
    })().finally(function () { running = null; });  // after the assignment, even when the
    return running;                                   // body ends without waiting
  }

  // retry(seq, extraFields): a failed item back in line (same key: a refused request left no
  // trace on the server), e.g. {ignore_duplicates: true} after the officer confirmed it
  function retry(seq, extra) {
    return run("readonly", function (s) { return s.get(seq); }).then(function (item) {
      if (!item) { return null; }
      item.state = "pending";
      item.error = null;
      item.field = null;
      item.fields = Object.assign({}, item.fields, extra || {});
      return run("readwrite", function (s) { return s.put(item); }).then(flush);
    });
  }

  function discard(seq) {
    return run("readwrite", function (s) { return s.delete(seq); }).then(function () {
      M.emit("outbox", state);
    });
  }

  M.outbox = {add: add, flush: flush, items: items, retry: retry, discard: discard,
    state: state, uuid: uuid, mine: mine};
})(window);
