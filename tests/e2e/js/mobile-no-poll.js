// Injected by tests/e2e/test_mobile_app.py before the officer app loads: the app's poll (every
// 20 s or more) never runs, so whatever the app sends must go out on its own triggers (start,
// the network returning, a Background Sync), never because a poll came round.
(function () {
  "use strict";
  var setIntervalOriginal = window.setInterval;
  window.setInterval = function (fn, ms) {
    if (ms >= 20000) { return 0; }
    return setIntervalOriginal.apply(window, arguments);
  };
})();
