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
      calendar: "日历", day_format: "年-月-日",
      data: "数据",
      // a failure whose answer gives no words in the page's language: its kind, by status
      status: {400: "请求有误", 403: "无权访问", 404: "未找到", 409: "与现有数据冲突",
        413: "内容过大", 422: "请求有误", 429: "请求过于频繁，请稍后再试",
        500: "服务器内部错误", 502: "服务器暂不可用", 503: "服务器暂不可用",
        504: "服务器响应超时", "4xx": "请求被拒绝", "5xx": "服务器出错"},
      minutes: "{n} 分钟", hours: "{n} 小时", days: "{n} 天",
    },
    en: {
      expired: "Your session has expired. Please log in again.",
      login: "Log in again",
      failed: "Could not load {what}: {detail}",
      network: "the server cannot be reached",
      close: "Close",
      calendar: "Calendar", day_format: "YYYY-MM-DD",
      data: "data",
      status: {400: "bad request", 403: "not allowed", 404: "not found", 409: "conflicts with existing data",
        413: "too large", 422: "bad request", 429: "too many requests, try again shortly",
        500: "internal server error", 502: "the server is unavailable", 503: "the server is unavailable",
        504: "the server timed out", "4xx": "the request was refused", "5xx": "server error"},
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

  // t(table, key, values): the label of key in a page's {zh: {...}, en: {...}} table; where
  // values.n is 1 and the table has "key_one" (English's singular), that one
  function t(table, key, values) {
    var words = table[pageLang()] || table.zh || table;
    if (values && String(values.n) === "1" && words[key + "_one"] !== undefined) { key += "_one"; }
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

  // The one date and time format of every page: Asia/Shanghai (Beijing time) whatever the
  // browser's own zone and locale, ISO-like in both languages ("2026-12-01 08:30"; never the
  // locale's dd/mm or mm/dd). A value is a Date, an ISO 8601 string, a "YYYY-MM-DD" day (kept
  // as that day) or milliseconds since 1970; none or an unreadable one gives "—".
  //   dateTime(v)                     -> "2026-12-01 08:30"
  //   dateTime(v, {seconds: true})    -> "2026-12-01 08:30:05"
  //   dateTime(v, {zone: true})       -> "2026-12-01 08:30 北京时间" / "2026-12-01 08:30 Beijing time"
  //   dateTime(v, {year: false})      -> "12-01 08:30" (a compact panel; dateOnly too: "12-01")
  //   dateOnly(v) -> "2026-12-01"; timeOnly(v, {seconds, zone}) -> "08:30"
  //   today() -> the day in Shanghai now, "2026-12-01"; zoneLabel() -> "北京时间" / "Beijing time"
  var SHANGHAI = "Asia/Shanghai";
  var ZONE_WORDS = {zh: "北京时间", en: "Beijing time"};
  var clockParts = null;
  function shanghaiParts(value) {
    if (value === null || value === undefined || value === "") { return null; }
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
      var d = value.split("-");  // a calendar day: no zone to convert
      return {year: d[0], month: d[1], day: d[2], hour: "00", minute: "00", second: "00"};
    }
    var at = value instanceof Date ? value : new Date(value);
    if (isNaN(at.getTime())) { return null; }
    if (!clockParts) {
      clockParts = new Intl.DateTimeFormat("en-GB", {timeZone: SHANGHAI, hourCycle: "h23",
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        second: "2-digit"});
    }
    var parts = {};
    clockParts.formatToParts(at).forEach(function (p) { parts[p.type] = p.value; });
    if (parts.hour === "24") { parts.hour = "00"; }
    return parts;
  }
  function zoneLabel() { return ZONE_WORDS[pageLang()]; }
  function clockText(p, options) {
    var s = p.hour + ":" + p.minute + (options && options.seconds ? ":" + p.second : "");
    return options && options.zone ? s + " " + zoneLabel() : s;
  }
  function dayText(p, options) {
    var md = p.month + "-" + p.day;
    return options && options.year === false ? md : p.year + "-" + md;
  }
  function dateOnly(value, options) {
    var p = shanghaiParts(value);
    return p ? dayText(p, options) : "—";
  }
  function timeOnly(value, options) {
    var p = shanghaiParts(value);
    return p ? clockText(p, options) : "—";
  }
  function dateTime(value, options) {
    var p = shanghaiParts(value);
    return p ? dayText(p, options) + " " + clockText(p, options) : "—";
  }
  function today() { return dateOnly(new Date()); }

  // isoDay(input): a day field that shows and takes the day as YYYY-MM-DD whatever the
  // browser's language (a native <input type=date> shows 01/12/2026 or 12/01/2026 by it): the
  // <input type=date> becomes a text field (same name, value and events; a pattern and a
  // placeholder), with a button beside it that opens the browser's calendar (a hidden native
  // date input, whose min and max it keeps). A complete, valid day typed fires "change" at once,
  // as a date input does. Returns the input.
  function isoDay(input) {
    if (!input || input.gridgisIsoDay) { return input; }
    var doc = global.document, words = MESSAGES[pageLang()];
    var native = doc.createElement("input");
    native.type = "date";
    ["min", "max"].forEach(function (k) {
      if (input.getAttribute(k)) { native.setAttribute(k, input.getAttribute(k)); }
    });
    native.tabIndex = -1;
    native.setAttribute("aria-hidden", "true");
    native.className = "gridgis-iso-day-native";
    L.extend(native.style, {position: "absolute", left: "0", bottom: "0", width: "1px",
      height: "1px", opacity: "0", border: "0", padding: "0", pointerEvents: "none"});
    input.type = "text";
    input.gridgisIsoDay = true;
    input.setAttribute("pattern", "\\d{4}-\\d{2}-\\d{2}");
    input.setAttribute("inputmode", "numeric");
    input.setAttribute("maxlength", "10");
    input.setAttribute("size", "10");
    input.setAttribute("autocomplete", "off");
    input.placeholder = words.day_format;
    input.classList.add("gridgis-iso-day");
    var button = el("button", "gridgis-iso-day-button", "▾");
    button.type = "button";
    button.title = words.calendar;
    button.setAttribute("aria-label", words.calendar);
    var wrap = el("span", "gridgis-iso-day-wrap");
    wrap.style.position = "relative";
    wrap.style.whiteSpace = "nowrap";
    input.parentNode.insertBefore(wrap, input);
    [input, button, native].forEach(function (n) { wrap.appendChild(n); });
    function valid(v) {
      return /^\d{4}-\d{2}-\d{2}$/.test(v) && dateOnly(v + "T12:00:00+08:00") === v;
    }
    var changed = null;
    function fire(name) { input.dispatchEvent(new global.Event(name, {bubbles: true})); }
    input.addEventListener("input", function () {
      if (valid(input.value) && input.value !== changed) { changed = input.value; fire("change"); }
    });
    input.addEventListener("change", function () { changed = input.value; });
    button.addEventListener("click", function () {
      native.value = valid(input.value) ? input.value : today();
      if (native.showPicker) { native.showPicker(); } else { native.focus(); }
    });
    native.addEventListener("change", function () {
      if (!valid(native.value) || native.value === input.value) { return; }
      input.value = native.value;
      fire("input");
    });
    return input;
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

  // problemText(status, body): why a request failed, in the page's language: the server's
  // problem detail (RFC 9457) where it is written in that language (the server answers in
  // Chinese where it has the words), else the kind of failure by its status; a Chinese page
  // never shows an English sentence, nor a bare "502".
  function problemText(status, body) {
    var words = MESSAGES[pageLang()];
    var said = body && typeof body === "object" ? body.detail || body.title : null;
    if (said && (pageLang() === "en" || /[\u3400-\u9fff]/.test(said))) { return String(said); }
    return words.status[status] || words.status[status >= 500 ? "5xx" : "4xx"];
  }

  // The one fetch helper: getJSON(url, what, {quiet, cache}) resolves with the JSON body of a 2xx answer.
  // On 401 it says the session has expired and offers to log in again; on any other failure
  // it says what (``what``, in the page's language) failed and why, unless {quiet: true}
  // (the caller shows it in place). Either way the promise is rejected with an Error whose
  // ``status`` is the HTTP status (0: no answer) and whose ``shown`` says whether the page
  // bar already reported it, and ``problem`` is the problem+json body (detail, field, ...).
  function getJSON(url, what, options) {
    var quiet = Boolean(options && options.quiet);
    var words = MESSAGES[pageLang()];
    function fail(status, detail, problem) {
      var error = new Error(status === 401 ? words.expired : detail);
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
    // {cache: "no-cache"}: asked of the server even when the browser holds a fresh copy (a
    // check of the session must reach the server)
    return global.fetch(url, {credentials: "same-origin", cache: (options && options.cache) || "default",
      headers: {Accept: "application/json", "Accept-Language": acceptLanguage()}})
      .catch(function () { return fail(0, words.network); })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) {
            return fail(response.status, problemText(response.status, body), body);
          }
          var bar = global.document.getElementById("gridgis-notice");
          if (bar && !bar.classList.contains("gridgis-notice-expired")) { notice(null); }
          return body;
        });
      });
  }

  // failedText(what, error): the one sentence saying a request failed, as the page bar says
  // it ("加载巡查失败：Internal Server Error（HTTP 500）" / "Could not load patrols: … (HTTP
  // 500)"; no answer: "…：无法连接服务器"), for a page that shows it in place (a panel).
  function failedText(what, error) {
    var words = MESSAGES[pageLang()];
    var status = error && error.status ? error.status : 0;
    var detail = status ? (error.message || String(status)) : words.network;
    if (status && detail !== String(status)) {
      detail += pageLang() === "en" ? " (HTTP " + status + ")" : "（HTTP " + status + "）";
    }
    return format(words.failed, {what: what || words.data, detail: detail});
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
  // A FormData body is sent as multipart/form-data (its boundary set by the browser), e.g. an
  // action with photos; the answer is read the same way.
  function sendJSON(method, url, body) {
    var form = body instanceof global.FormData;
    var headers = {Accept: "application/json", "Accept-Language": acceptLanguage()};
    if (!form) { headers["Content-Type"] = "application/json"; }
    var init = {method: method, credentials: "same-origin", headers: headers,
      body: form ? body : JSON.stringify(body === undefined ? {} : body)};
    function fail(status, problem) {
      var error = new Error(status === 401 ? MESSAGES[pageLang()].expired
        : status ? problemText(status, problem) : problem.detail);
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

  // The scale bar of every map is metric only (no mi/ft on any page, Chinese or English):
  // Leaflet's default for every L.control.scale(), folium's included (this file loads before
  // any map is made).
  if (global.L && global.L.Control && global.L.Control.Scale) {
    global.L.Control.Scale.mergeOptions({imperial: false, metric: true});
  }

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

  // fitBeside(map, sides): the one rule for showing an area beside the controls of a map (a
  // legend, panels, a form, a title), so that none of them covers any of it. sides names the
  // controls (CSS selectors, looked for inside the map) by the side of the map they stand on:
  // {left, right, top, bottom, margin (px, default 20)}. The padding of each side is the room
  // its controls take, read from their real size when the area is fitted (a left control's
  // right edge, a right control's left edge, ...; hidden ones take none).
  //   var fitter = GridGIS.fitBeside(map, {left: ".gridgis-cov-legend", right: ".gridgis-cov-panel"});
  //   fitter.fit(bounds, {maxZoom: 16})  // [[south, west], [north, east]] or L.LatLngBounds
  //   fitter.padding()                   // {paddingTopLeft: [x, y], paddingBottomRight: [x, y]}
  // The area last fitted stays fitted when a control or the map changes size (a legend filled
  // in or grown, a panel redrawn, the window or the notice bar), until the user moves the map.
  // fitBeside(map) or fitBeside(map, {margin}): every control of the map by its corner (the
  // left corners' controls on the left, the right ones' on the right, the top centre's on top).
  var CORNERS = {left: ".leaflet-left .leaflet-control", right: ".leaflet-right .leaflet-control",
    top: ".gridgis-center .leaflet-control"};
  function fitBeside(map, given) {
    var sides = given || {};
    if (!sides.left && !sides.right && !sides.top && !sides.bottom) {
      sides = L.extend({}, CORNERS, sides);
    }
    var margin = sides.margin === undefined ? 20 : sides.margin;
    var fitted = null, fittedOptions = null, fitting = false, watched = [];
    var observer = global.ResizeObserver ? new global.ResizeObserver(function () { refit(); })
      : null;
    if (observer) { observer.observe(map.getContainer()); }
    function controls(side) {
      if (!sides[side]) { return []; }
      return Array.prototype.slice.call(map.getContainer().querySelectorAll(sides[side]))
        .filter(function (c) { return c.offsetWidth > 0 && c.offsetHeight > 0; });
    }
    function watch(element) {
      if (observer && watched.indexOf(element) < 0) { watched.push(element); observer.observe(element); }
    }
    // Each control is a box the area must not overlap: it is stepped around on its side (right
    // of a left control) or, when that leaves the area bigger, above or below it (by the half
    // of the map it stands in): a short legend in a corner does not take a whole column.
    function boxes() {
      var m = map.getContainer().getBoundingClientRect();
      // a corner grows when a control is added to it later (a panel filled by the first poll)
      map.getContainer().querySelectorAll(".leaflet-control-container > div").forEach(watch);
      var found = [];
      ["left", "right", "top", "bottom"].forEach(function (side) {
        controls(side).forEach(function (c) {
          var r = c.getBoundingClientRect();
          var taken = {left: r.right - m.left, right: m.right - r.left,
            top: r.bottom - m.top, bottom: m.bottom - r.top};
          var across = side === "left" || side === "right" ?
            ((r.top + r.bottom) / 2 < (m.top + m.bottom) / 2 ? "top" : "bottom") :
            ((r.left + r.right) / 2 < (m.left + m.right) / 2 ? "left" : "right");
          found.push([[side, taken[side]], [across, taken[across]]]);
          watch(c);
        });
      });
      return found;
    }
    function paddingOf(found, choice) {
      var room = {left: 0, right: 0, top: 0, bottom: 0};
      found.forEach(function (ways, k) {
        var way = ways[(choice >> k) & 1];
        room[way[0]] = Math.max(room[way[0]], way[1]);
      });
      return {paddingTopLeft: [room.left + margin, room.top + margin],
        paddingBottomRight: [room.right + margin, room.bottom + margin]};
    }
    // padding(): every control stepped around on its own side; padding(bounds): the way round
    // each control that shows ``bounds`` biggest (ties: on their sides)
    function padding(bounds) {
      var found = boxes();
      if (!bounds || found.length > 8) { return paddingOf(found, 0); }
      var best = paddingOf(found, 0), bestZoom = -Infinity;
      for (var choice = 0; choice < (1 << found.length); choice += 1) {
        var p = paddingOf(found, choice);
        var total = L.point(p.paddingTopLeft).add(p.paddingBottomRight), free = map.getSize().subtract(total);
        if (free.x < 40 || free.y < 40) { continue; }  // no room left that way
        var zoom = map.getBoundsZoom(bounds, false, total);
        if (zoom > bestZoom + 1e-9) { best = p; bestZoom = zoom; }
      }
      return best;
    }
    function fit(bounds, options) {
      fitted = bounds;
      fittedOptions = options || {};
      fitting = true;
      try {
        map.fitBounds(bounds, L.extend({animate: false}, fittedOptions,
          padding(L.latLngBounds(bounds))));
      } finally {
        fitting = false;
      }
    }
    function refit() {
      if (!fitted || fitting) { return; }
      map.invalidateSize({pan: false});
      fit(fitted, fittedOptions);
    }
    map.on("movestart", function () { if (!fitting) { fitted = null; } });
    return {fit: fit, refit: refit, padding: padding,
      fitted: function () { return fitted; }};
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

  // updatePopup(popup): a popup's size and place after its content changed, keeping the focus
  // and the caret of the field being typed in. Leaflet 1.9's Popup.update() takes the content
  // node out and puts it back (DivOverlay._updateContent), which blurs a focused textarea: the
  // next keys typed went nowhere, and a note typed as a form grew was lost.
  function updatePopup(popup) {
    var box = popup.getElement(), active = document.activeElement;
    var inside = Boolean(box && active && active !== document.body && box.contains(active));
    var start = null, end = null;
    if (inside && typeof active.selectionStart === "number") {
      start = active.selectionStart;
      end = active.selectionEnd;
    }
    popup.update();
    if (inside && document.activeElement !== active && document.contains(active)) {
      active.focus({preventScroll: true});
      if (start !== null) { active.setSelectionRange(start, end); }
    }
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
    dateTime: dateTime, dateOnly: dateOnly, timeOnly: timeOnly, today: today,
    zoneLabel: zoneLabel, fitBeside: fitBeside, isoDay: isoDay,
    loginUrl: loginUrl, notice: notice, getJSON: getJSON, sendJSON: sendJSON, latest: latest,
    failedText: failedText,
    problemText: problemText,
    views: views,
    start: start,
    pageSetup: pageSetup, panel: panel, htmlControl: htmlControl,
    permanentLabels: permanentLabels, updatePopup: updatePopup,
  };
})(window);
