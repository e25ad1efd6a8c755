// GridGIS officer app (/m/): the shared part. ONE namespace (window.GridGISMobile), the page's
// settings and labels (JSON in <body data-config / data-labels>, api/pages/mobile.py), a tiny
// event bus and ONE fetch helper that tells the callers why a request failed: no answer
// (status 0), session ended (401: the app asks to log in again), refused (4xx) or server
// trouble (5xx), each in the app's own words and language (the API's English problem detail
// is kept as error.serverDetail, for the console and the English page's "refused" text).
(function (global) {
  "use strict";

  var doc = global.document;
  var M = global.GridGISMobile = global.GridGISMobile || {};
  M.config = JSON.parse(doc.body.dataset.config);
  M.labels = JSON.parse(doc.body.dataset.labels);

  // t("left_h", {h: 3}) -> the label in the page's language with {h} filled in
  M.t = function (key, values) {
    return global.GridGIS.format(M.labels[key] !== undefined ? M.labels[key] : key, values);
  };
  M.el = global.GridGIS.el;

  // on("expired", fn) / emit("expired", detail)
  var handlers = {};
  M.on = function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); };
  M.emit = function (name, detail) {
    (handlers[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { global.console.error(e); }
    });
  };

  // Why a request failed, in the page's language: by status, and for a refused field the
  // phone sends by itself (the officer cannot mend those; the fields they type are named).
  var BY_STATUS = {401: "session_expired", 403: "err_forbidden", 404: "err_not_found",
    413: "err_too_large", 429: "err_busy"};
  // (a possible duplicate: the API names its override field "ignore_duplicates"; the officer
  // reads that a similar open event is near, never the field's name)
  var BY_FIELD = {acted_at: "err_acted_at", note: "note_required", photos: "err_photos",
    description: "err_description", subclass: "no_category", ignore_duplicates: "err_duplicate"};
  function ownWords(status, body, serverDetail) {
    var field = body && body.field;
    if (status === 0) { return M.t("network"); }
    if (status >= 500) { return M.t("err_server"); }
    if (BY_STATUS[status]) { return M.t(BY_STATUS[status]); }
    if (status === 409 && body && body.current_status) {
      return M.t("err_state", {status: M.t("status_" + body.current_status)});
    }
    if (body && body.duplicates) { return M.t("err_duplicate"); }
    if (body && body.rule === "handling_note") { return M.t("note_handled"); }
    if (body && body.rule === "handling_photo") { return M.t("photo_required"); }
    if (field && BY_FIELD[field]) { return M.t(BY_FIELD[field]); }
    return M.config.lang === "en" ? serverDetail : M.t("err_refused");
  }

  // An API failure: status (0 = no answer), detail (in the app's words), serverDetail (the
  // API's own message), field, body.
  function ApiError(status, serverDetail, body) {
    var detail = ownWords(status, body, serverDetail);
    var error = new Error(detail);
    error.status = status;
    error.detail = detail;
    error.serverDetail = serverDetail;
    error.body = body || null;
    error.field = body && body.field ? body.field : null;
    return error;
  }
  M.ApiError = ApiError;

  // request(method, url, {json, form, headers}) -> the JSON answer of a 2xx; rejects with an
  // ApiError otherwise. Same-origin with the session cookie (the API's CSRF check wants the
  // page's own Origin, which fetch sends).
  M.request = function (method, url, options) {
    options = options || {};
    var headers = Object.assign({Accept: "application/json"}, options.headers || {});
    var init = {method: method, credentials: "same-origin", headers: headers};
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      init.body = options.form;  // multipart: the browser sets the boundary
    }
    return global.fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch { body = null; }
        if (!response.ok) {
          var detail = (body && (body.detail || body.title)) || String(response.status);
          if (response.status === 401) { M.emit("expired", detail); }
          throw ApiError(response.status, detail, body);
        }
        return body;
      });
    }, function () {
      throw ApiError(0, "no answer (network)");
    });
  };
  M.get = function (url) { return M.request("GET", url); };

  // inLang(url): the URL with ?lang= of the page, for answers that carry names people read
  // (the API answers in the request's language, api/lang.py; the worker keeps both)
  M.inLang = function (url) {
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "lang=" + (M.config.lang === "en" ? "en" : "zh");
  };

  // toast(text): a short message at the bottom of the screen
  var toastTimer = null;
  M.toast = function (text) {
    var box = doc.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    global.clearTimeout(toastTimer);
    toastTimer = global.setTimeout(function () { box.hidden = true; }, 4000);
  };

  // Days and times by the one rule of every page (GridGIS.today / GridGIS.dateTime: Beijing
  // time whatever the phone's zone, ISO-like in both languages): today "2026-12-01" (the
  // API's days), a time "12-01 08:30" (compact, the year left out).
  M.today = global.GridGIS.today;
  M.when = function (iso) { return global.GridGIS.dateTime(iso, {year: false}); };
})(window);
