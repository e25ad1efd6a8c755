// GridGIS officer app: the service worker (served as /m/sw.js?v=<version>, scope /m/).
// - the app shell (the /m/ page, its scripts, styles, icons, Leaflet): kept in a cache named
//   after the app's version at install (the list comes from /m/shell.json), answered from the
//   cache first; a new version installs a new cache and drops the old one;
// - the officer's data (/api/v1/me, my tasks and their photos, my grids, the dictionary, patrol
//   time and coverage): from the network when there is one (and kept), else the last answer;
// - writes (POST) are never touched here: the page's outbox (store.js) queues them.
(function () {
  "use strict";

  var VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
  var SHELL = "ggm-shell-" + VERSION;
  var DATA = "ggm-data";
  var DATA_PATHS = [/^\/api\/v1\/me(\/|$)/, /^\/api\/v1\/grids\/[0-9]+$/, /^\/api\/v1\/event-dictionary$/,
    /^\/api\/v1\/patrol\/daily$/, /^\/api\/v1\/coverage\/grids\/[0-9]+$/,
    /^\/api\/v1\/events\/[0-9]+\/photos\/[0-9]+$/];

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
    }).then(function () { return self.clients.claim(); }));
  });

  function networkFirst(request, cacheName, fallbackUrl) {
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic" && !response.redirected) {
        var copy = response.clone();
        caches.open(cacheName).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }, function (error) {
      return caches.open(cacheName).then(function (cache) {
        return cache.match(request).then(function (hit) {
          if (hit) { return hit; }
          if (fallbackUrl) {
            return cache.match(request, {ignoreSearch: true}).then(function (any) {
              return any || cache.match(fallbackUrl);
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
      if (url.pathname === "/m/") { event.respondWith(networkFirst(request, SHELL, "/m/")); }
      return;
    }
    if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/m/manifest.webmanifest") {
      event.respondWith(cacheFirst(request));
      return;
    }
    if (DATA_PATHS.some(function (re) { return re.test(url.pathname); })) {
      event.respondWith(networkFirst(request, DATA));
    }
  });
})();
