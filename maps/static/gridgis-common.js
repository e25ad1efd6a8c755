// GridGIS page helpers shared by every view: ONE fetch helper, ONE escaping helper, the page's
// language and its messages. Loaded before the view scripts (maps/elements.py ViewScript).
//
// Classic scripts, not ES modules, on purpose: folium writes each map's set-up as a classic
// script that defines the map in a global (map_<id>) and then starts our view with it, in page
// order. ES modules are deferred and have no globals, so folium's set-up could neither call
// them in order nor hand them its map without a loader. Each file therefore adds to ONE
// global namespace, window.GridGIS, and nothing else.
(function (global) {
  "use strict";

  var MESSAGES = {
    zh: {
      expired: "登录已过期，请重新登录。",
      login: "重新登录",
      failed: "加载{what}失败：{detail}",
      network: "无法连接服务器",
      close: "关闭",
      data: "数据",
      minutes: "{n} 分钟", hours: "{n} 小时", days: "{n} 天",
    },
    en: {
      expired: "Your session has expired. Please log in again.",
      login: "Log in again",
      failed: "Could not load {what}: {detail}",
      network: "the server cannot be reached",
      close: "Close",
      data: "data",
      minutes: "{n} min", hours: "{n} h", days: "{n} days", day: "{n} day",
    },
  };

  // "en" when the page was asked for in English (?lang=en), else "zh" (the default).
  function pageLang() {
    return new URLSearchParams(global.location.search).get("lang") === "en" ? "en" : "zh";
  }

  // format("a {n} b", {n: 3}) -> "a 3 b"
  function format(text, values) {
    var s = String(text);
    Object.keys(values || {}).forEach(function (k) {
      s = s.split("{" + k + "}").join(String(values[k]));
    });
    return s;
  }

  // t(table, key, values): the label of key in a page's {zh: {...}, en: {...}} table
  function t(table, key, values) {
    var words = table[pageLang()] || table.zh || table;
    return format(words[key] !== undefined ? words[key] : key, values);
  }

  // The one escaping helper: any value as text that is safe inside HTML (element content and
  // quoted attributes). Prefer building DOM with el()/textContent; use esc() only where a
  // library wants an HTML string.
  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  // Grid names for lists and popups (GET /api/v1/grid-names, api/routes/grid_names.py), asked
  // once per code per page: gridNames(["320281001001001", ...]) resolves with the cache
  // {code: {name, level, village, town} | null}; gridText(code) -> "澄山社区第1网格 · 澄江街道"
  // (its name and its town's), the code itself until the name is known.
  var gridNameCache = {}, gridNamePending = {}, gridNameQueue = [], gridNameBatch = null;
  function gridNames(codes) {
    var waits = [];
    (codes || []).forEach(function (c) {
      c = String(c || "");
      if (!/^[0-9]{9}([0-9]{3}){0,2}$/.test(c) || c in gridNameCache) { return; }
      if (!gridNamePending[c]) {
        if (!gridNameBatch || gridNameQueue.length >= 200) {  // one request per turn
          var queue = gridNameQueue = [];
          gridNameBatch = new Promise(function (resolve) { global.setTimeout(resolve, 0); })
            .then(function () {
              if (gridNameQueue === queue) { gridNameBatch = null; }  // sent: new codes wait for the next
              return getJSON("/api/v1/grid-names?codes=" + queue.join(","), null, {quiet: true});
            })
            .then(function (body) {
              queue.forEach(function (q) { gridNameCache[q] = body.names[q] || null; });
            })
            .catch(function () { queue.forEach(function (q) { gridNameCache[q] = null; }); })
            .then(function () { queue.forEach(function (q) { delete gridNamePending[q]; }); });
        }
        gridNameQueue.push(c);
        gridNamePending[c] = gridNameBatch;
      }
      waits.push(gridNamePending[c]);
    });
    return Promise.all(waits).then(function () { return gridNameCache; });
  }
  function gridText(code) {
    var n = gridNameCache[code];
    if (!n) { return code || ""; }
    return n.town && n.level > 1 ? n.name + " · " + n.town : n.name;
  }

  // The Accept-Language of the page's requests: its own language.
  function acceptLanguage() { return pageLang() === "en" ? "en" : "zh-CN,zh"; }

  // el("div", "cls", "text"): a new element whose text is set with textContent
  function el(tag, cls, text) {
    var e = global.document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  // pct(0.1234) -> "12.3%" ("—" for none)
  function pct(v) {
    return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";
  }

  // The one duration format of every page: duration(5400) -> "2 小时" / "2 h"; under an hour in
  // minutes, under a day in hours, else in whole days ("5 天" / "5 days").
  function duration(seconds) {
    var s = Math.max(0, Number(seconds) || 0);
    var words = MESSAGES[pageLang()];
    if (s < 3600) { return format(words.minutes, {n: Math.round(s / 60)}); }
    if (s < 86400) { return format(words.hours, {n: Math.round(s / 3600)}); }
    var d = Math.floor(s / 86400);
    return format(d === 1 && words.day ? words.day : words.days, {n: d});
  }

  // The login page, back to this page afterwards, in this page's language.
  function loginUrl() {
    var here = global.location.pathname + global.location.search;
    return "/login?next=" + encodeURIComponent(here) + "&lang=" + pageLang();
  }

  // notice(text, {login: true}): one message bar at the top of the page (role=alert);
  // notice(null) removes it.
  function notice(text, options) {
    var doc = global.document, bar = doc.getElementById("gridgis-notice");
    // The bar takes its own line under the navigation bar and pushes the page down (its height
    // in --gridgis-notice-height, which the page layouts subtract): it never covers the
    // navigation, a page's title or its controls.
    function room() {
      var h = bar && bar.isConnected ? bar.offsetHeight : 0;
      doc.documentElement.style.setProperty("--gridgis-notice-height", h + "px");
      doc.documentElement.classList.toggle("gridgis-has-notice", h > 0);
      if (global.dispatchEvent) { global.dispatchEvent(new global.Event("resize")); }
    }
    if (text === null) {
      if (bar) { bar.remove(); room(); }
      return null;
    }
    if (!bar) {
      bar = el("div", "gridgis-notice");
      bar.id = "gridgis-notice";
      bar.setAttribute("role", "alert");
      var nav = doc.querySelector(".gridgis-nav");
      if (nav && nav.parentNode === doc.body) {
        doc.body.insertBefore(bar, nav.nextSibling);
      } else {
        doc.body.insertBefore(bar, doc.body.firstChild);
      }
    }
    bar.textContent = "";
    bar.appendChild(el("span", "gridgis-notice-text", text));
    if (options && options.login) {
      var a = el("a", "gridgis-notice-login", MESSAGES[pageLang()].login);
      a.href = loginUrl();
      bar.appendChild(a);
    }
    var close = el("button", "gridgis-notice-close", "×");
    close.type = "button";
    close.title = MESSAGES[pageLang()].close;
    close.addEventListener("click", function () { bar.remove(); room(); });
    bar.appendChild(close);
    bar.className = "gridgis-notice" + (options && options.login ? " gridgis-notice-expired" : "");
    room();
    return bar;
  }

  // The one fetch helper: getJSON(url, what) resolves with the JSON body of a 2xx answer.
  // On 401 it says the session has expired and offers to log in again; on any other failure
  // it says what (``what``, in the page's language) failed and why, unless {quiet: true}
  // (the caller shows it in place). Either way the promise is rejected with an Error whose
  // ``status`` is the HTTP status (0: no answer) and whose ``shown`` says whether the page
  // bar already reported it, and ``problem`` is the problem+json body (detail, field, ...).
  function getJSON(url, what, options) {
    var quiet = Boolean(options && options.quiet);
    var words = MESSAGES[pageLang()];
    function fail(status, detail, problem) {
      var error = new Error(detail);
      error.status = status;
      error.problem = problem || {};
      error.shown = status === 401 || !quiet;
      if (status === 401) {
        notice(words.expired, {login: true});
      } else if (!quiet) {
        notice(format(words.failed, {what: what || words.data, detail: detail}));
      }
      throw error;
    }
    // the server writes its problem details in the page's language where it has them
    return global.fetch(url, {credentials: "same-origin",
      headers: {Accept: "application/json", "Accept-Language": acceptLanguage()}})
      .catch(function () { return fail(0, words.network); })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) {
            return fail(response.status, (body && (body.detail || body.title)) ||
              String(response.status), body);
          }
          var bar = global.document.getElementById("gridgis-notice");
          if (bar && !bar.classList.contains("gridgis-notice-expired")) { notice(null); }
          return body;
        });
      });
  }

  // latest(): a guard for one kind of request of a page (a panel, a list, a poll): only the
  // answer to the LATEST request made through it is drawn. An answer to an older request (the
  // previous selection, filter, page, day or officer; a slower poll) that arrives after a newer
  // request was made is never passed on: its promise is rejected with an Error whose ``stale``
  // is true (``shown`` true: nothing to report), so .then(draw) does not run and a .catch
  // that shows failures in place returns early on ``error.stale``. A user's change never waits
  // for a poll: it asks at once and so makes the poll's answer stale.
  //   var rows = G.latest();
  //   rows.get(url, what, {quiet}).then(draw).catch(function (e) { if (!e.stale) { show(e); } })
  //   rows.track(Promise.all([...]))        // any promise (several requests as one), guarded
  //   if (rows.pending()) { return; }       // a poll may skip while a request is under way
  //   rows.drop()                           // every answer under way is stale from now on
  // One request per guard at a time: a second get() makes the first stale (combine requests
  // with Promise.all and track() the whole). The page bar reports the failure of the latest
  // request only (getJSON's notice, unless {quiet: true}); a 401 always says the session has
  // expired.
  function latest() {
    var asked = 0, answered = 0;
    function stale() {
      var error = new Error("superseded by a newer request");
      error.stale = true;
      error.shown = true;
      error.status = 0;
      error.problem = {};
      return error;
    }
    function track(promise) {
      var mine = ++asked;
      return Promise.resolve(promise).then(function (value) {
        if (mine !== asked) { throw stale(); }
        answered = mine;
        return value;
      }, function (error) {
        if (mine !== asked) { throw stale(); }
        answered = mine;
        throw error;
      });
    }
    function get(url, what, options) {
      var quiet = Boolean(options && options.quiet);
      return track(getJSON(url, what, {quiet: true})).catch(function (error) {
        if (!quiet && !error.stale && error.status !== 401) {
          var words = MESSAGES[pageLang()];
          notice(format(words.failed, {what: what || words.data, detail: error.message}));
          error.shown = true;
        }
        throw error;
      });
    }
    return {
      get: get,
      track: track,
      pending: function () { return answered !== asked; },
      drop: function () { asked += 1; answered = asked; },
    };
  }

  // sendJSON(method, url, body): a write (POST/PUT/PATCH/DELETE) with a JSON body, same-origin
  // with the session cookie; resolves with the JSON answer of a 2xx. On 401 it says the session
  // has expired (as getJSON); any other failure is left to the caller, who knows what was
  // tried: the Error carries ``status`` (0: no answer) and ``problem`` (the problem+json body:
  // detail, field, ...), so a page can say it in its own language.
  function sendJSON(method, url, body) {
    var init = {method: method, credentials: "same-origin",
      headers: {Accept: "application/json", "Content-Type": "application/json",
        "Accept-Language": acceptLanguage()},
      body: JSON.stringify(body === undefined ? {} : body)};
    function fail(status, problem) {
      var error = new Error((problem && (problem.detail || problem.title)) || String(status));
      error.status = status;
      error.problem = problem || {};
      if (status === 401) { notice(MESSAGES[pageLang()].expired, {login: true}); }
      throw error;
    }
    return global.fetch(url, init)
      .catch(function () { return fail(0, {detail: MESSAGES[pageLang()].network}); })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (answer) {
          return response.ok ? answer : fail(response.status, answer);
        });
      });
  }

  // --- map furniture, called from the set-up script folium writes (maps/elements.py) ---

  // pageSetup(map, {lang, classes}): <html lang>, a plain "Leaflet" attribution prefix (no
  // link out of the intranet), CSS classes on the map container.
  function pageSetup(map, options) {
    global.document.documentElement.lang = options.lang;
    map.attributionControl.setPrefix("Leaflet");
    (options.classes || []).forEach(function (name) {
      L.DomUtil.addClass(map.getContainer(), name);
    });
  }

  // panel(map, position, css_class): a Leaflet control in a corner of the map, added now; its
  // <div class=css_class> (returned) keeps clicks and the mouse wheel from the map.
  function panel(map, position, cssClass) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", cssClass);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
    return control.getContainer();
  }

  // htmlControl(map, {source, position, css_class}): a Leaflet control holding the content of
  // the page's <template id=source> (a title, a legend), in a corner or "topcenter".
  function htmlControl(map, options) {
    var position = options.position;
    if (!map._controlCorners[position]) {
      map._controlCorners[position] = L.DomUtil.create("div", "leaflet-top gridgis-center",
        map._controlContainer);
    }
    var div = panel(map, position, options.css_class);
    var source = global.document.getElementById(options.source);
    if (source) { div.appendChild(source.content.cloneNode(true)); }
  }

  // permanentLabels(group, {rows: [[lon, lat, text]], css_class}): text labels at fixed
  // points (non-interactive markers), added to a layer group or the map.
  function permanentLabels(group, options) {
    options.rows.forEach(function (row) {
      var icon = L.divIcon({html: el("div", options.css_class, row[2]),
        className: "gridgis-label-anchor", iconSize: [0, 0]});
      L.marker([row[1], row[0]], {icon: icon, interactive: false, keyboard: false})
        .addTo(group);
    });
  }

  // views.NAME(map, options, layers) are registered by the view scripts; start() runs one of them
  // (called from the map's set-up script that folium writes, see maps/elements.py ViewScript).
  var views = {};
  function start(name, map, options, layers) {
    if (!views[name]) { throw new Error("no GridGIS view " + name); }
    return views[name](map, options || {}, layers || {});
  }

  global.GridGIS = {
    pageLang: pageLang, format: format, t: t, esc: esc, el: el, pct: pct, duration: duration,
    gridNames: gridNames, gridText: gridText,
    loginUrl: loginUrl, notice: notice, getJSON: getJSON, sendJSON: sendJSON, latest: latest,
    views: views,
    start: start,
    pageSetup: pageSetup, panel: panel, htmlControl: htmlControl,
    permanentLabels: permanentLabels,
  };
})(window);
