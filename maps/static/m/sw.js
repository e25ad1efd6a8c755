// GridGIS officer app: the service worker (served as /m/sw.js?v=<version>, scope /m/).
// - the app shell (the /m/ page, its scripts, styles, icons, Leaflet): kept in a cache named
//   after the app's version at install (the list comes from /m/shell.json), answered from the
//   cache first; a new version installs a new cache and drops the old one;
// - the officer's data (/api/v1/me, my tasks and their photos, my grids, the dictionary, patrol
//   time and coverage): from the network when there is one (and kept), else the last answer;
// - warm(): the page's first requests after the first login run before this worker controls
//   it, so they are not kept; once active (and when the page asks: another officer logged in)
//   the worker reads the officer's data itself and keeps it, then tells the pages ("warmed"):
//   opened offline right after the first login, the app has its tasks, subclasses and grid;
// - writes (POST) are never touched here: the page's outbox (store.js) queues them and sends
//   them; a Background Sync ("ggm-outbox", where the browser has it) wakes the open pages to
//   send when the network returns.
(function () {
  "use strict";

  var VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
  var SHELL = "ggm-shell-" + VERSION;
  var DATA = "ggm-data";
  var TASK_DETAILS_MAX = 50;  // the open cases whose timeline is kept for offline reading
  var DATA_PATHS = [/^\/api\/v1\/me(\/|$)/, /^\/api\/v1\/grids\/[0-9]+$/, /^\/api\/v1\/event-dictionary$/,
    /^\/api\/v1\/patrol\/daily$/, /^\/api\/v1\/coverage\/grids\/[0-9]+$/,
    /^\/api\/v1\/events\/[0-9]+\/photos\/[0-9]+$/];
  // My tasks and grid (/api/v1/me/…) are kept under their URL without ?lang=: the latest
  // answer serves both languages offline (the page names their subclasses from the dictionary,
  // report.js M.subclassName; the labels are the page's own); the dictionary is kept per language.
  var ANY_LANG = /^\/api\/v1\/me\//;
  function dataKey(url) {
    var u = new URL(url, self.location.href);
    if (ANY_LANG.test(u.pathname)) { u.searchParams.delete("lang"); }
    return u.href;
  }
  // the reference outlines under the maps (grid.js): kept once seen; one never seen is empty
  // offline (an empty tile is 204, as the server answers one), not a failed fetch
  var TILE_PATH = /^\/tiles\/grids-l[23]\/[0-9]+\/[0-9]+\/-?[0-9]+\.mvt$/;

  self.addEventListener("install", function (event) {
    event.waitUntil(caches.open(SHELL).then(function (cache) {
      return fetch("/m/shell.json", {credentials: "same-origin"}).then(function (r) {
        return r.json();
      }).then(function (shell) {
        var pages = shell.pages.map(function (url) {
          return fetch(url, {credentials: "same-origin", redirect: "error"}).then(function (r) {
            return r.ok ? cache.put(url, r) : null;
          }).catch(function () { return null; });  // not logged in: kept on the next visit
        });
        return Promise.all([cache.addAll(shell.urls)].concat(pages));
      });
    }).then(function () { return self.skipWaiting(); }));
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf("ggm-shell-") === 0 && n !== SHELL;
      }).map(function (n) { return caches.delete(n); }));
    }).then(function () { return self.clients.claim(); }).then(function () {
      // not awaited: the pages' requests would wait for the activation (the page also asks for
      // it on controllerchange, which keeps the worker alive until it is done)
      warm();
    }));
  });

  // Tell every open page of the app (the pages listen in app.js).
  function tell(message) {
    return self.clients.matchAll({type: "window"}).then(function (pages) {
      pages.forEach(function (page) { page.postMessage(message); });
    });
  }

  // keep(url) -> the JSON answer of a GET, kept in the data cache (null when it failed: not
  // logged in, offline, refused; nothing kept then)
  function keep(url) {
    return fetch(url, {credentials: "same-origin", redirect: "error",
      headers: {Accept: "application/json"}}).then(function (response) {
      if (!response.ok) { return null; }
      var copy = response.clone();
      return caches.open(DATA).then(function (cache) {
        return cache.put(dataKey(url), copy);
      }).then(function () { return response.json(); });
    }).catch(function () { return null; });
  }

  // Today in Asia/Shanghai (the API's days), as the page asks for it (app.js M.today).
  function today() {
    return new Intl.DateTimeFormat("en-CA", {timeZone: "Asia/Shanghai", year: "numeric",
      month: "2-digit", day: "2-digit"}).format(new Date());
  }

  // warm(): read and keep what the app shows offline, the same URLs the page reads (app.js,
  // tasks.js, report.js, grid.js): who I am, my tasks and their timelines, the dictionary in
  // both languages, my grids and their boundaries, my patrol time and coverage today.
  // My tasks and grid are kept once whatever the page's language (dataKey), the dictionary in
  // each: an officer who switches language in a dead zone still has them (issue 13's trial).
  var LANGS = ["zh", "en"];

  function keepTasks(lang) {
    return keep("/api/v1/me/tasks?lang=" + lang).then(function (tasks) {
      var ids = tasks ? tasks.data.slice(0, TASK_DETAILS_MAX).map(function (t) { return t.id; }) : [];
      return Promise.all(ids.map(function (id) {
        return keep("/api/v1/me/tasks/" + id + "?lang=" + lang);
      }));
    });
  }

  var warming = null;
  function warm() {
    if (warming) { return warming; }
    warming = keep("/api/v1/me").then(function (me) {
      if (!me) { return false; }
      var reads = [keepTasks("zh")].concat(LANGS.map(function (lang) {
        return keep("/api/v1/event-dictionary?lang=" + lang);
      }));
      reads.push(
        keep("/api/v1/me/grid?lang=zh").then(function (grid) {
          var grids = grid ? grid.grids : [];
          return Promise.all(grids.map(function (g) {
            var code = encodeURIComponent(g.code);
            return Promise.all([keep("/api/v1/grids/" + code),
              g.code.length === 15 ? keep("/api/v1/coverage/grids/" + code + "?date=" + today())
                : null]);
          }));
        }));
      if (me.person_id !== null && me.person_id !== undefined) {
        reads.push(keep("/api/v1/patrol/daily?person=" + me.person_id));
      }
      return Promise.all(reads).then(function () { return true; });
    }).then(function (done) {
      return tell({type: done ? "warmed" : "not-warmed"});
    }).finally(function () { warming = null; });
    return warming;
  }

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.type === "warm") { event.waitUntil(warm()); }
  });

  // Background Sync: the network is back (the browser says so, even with the page in the
  // background): the open pages send their outbox now.
  self.addEventListener("sync", function (event) {
    if (event.tag === "ggm-outbox") { event.waitUntil(tell({type: "flush"})); }
  });

  function networkFirst(request, cacheName, fallbackUrl) {
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic" && !response.redirected) {
        var copy = response.clone();
        caches.open(cacheName).then(function (cache) {
          cache.put(cacheName === DATA ? dataKey(request.url) : request, copy);
        });
      }
      return response;
    }, function (error) {
      return caches.open(cacheName).then(function (cache) {
        return cache.match(cacheName === DATA ? dataKey(request.url) : request).then(function (hit) {
          if (hit) { return hit; }
          if (fallbackUrl) {  // the page in its language, kept at install, before any other
            return cache.match(fallbackUrl).then(function (page) {
              return page || cache.match(request, {ignoreSearch: true});
            });
          }
          return null;
        });
      }).then(function (hit) {
        if (hit) { return hit; }
        throw error;
      });
    });
  }

  function cacheFirst(request) {
    return caches.open(SHELL).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
      });
    });
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) { return; }
    if (request.mode === "navigate") {
      if (url.pathname === "/m/") {
        // offline, /m/?lang=zh is the kept /m/ (zh), never the English page (nor the reverse)
        var english = url.searchParams.get("lang") === "en";
        event.respondWith(networkFirst(request, SHELL, english ? "/m/?lang=en" : "/m/"));
      }
      return;
    }
    if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/m/manifest.webmanifest") {
      event.respondWith(cacheFirst(request));
      return;
    }
    if (DATA_PATHS.some(function (re) { return re.test(url.pathname); })) {
      event.respondWith(networkFirst(request, DATA));
    } else if (TILE_PATH.test(url.pathname)) {
      event.respondWith(networkFirst(request, DATA).catch(function () {
        return new Response(null, {status: 204});
      }));
    }
  });
})();
