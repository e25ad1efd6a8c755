// /playback: a device's track replayed (see maps/tracks_js.py)
function gridgisPlayback(map, opts) {
  var pts = [], stops = [], t0 = 0, t1 = 0, t = 0, playing = false, speed = 60;
  var marker = null, timer = null, last = null;
  var box = L.control({position: 'bottomright'});
  box.onAdd = function () {
    var d = L.DomUtil.create('div', 'gridgis-playback leaflet-bar');
    d.style.cssText = 'background:#fff;padding:6px 8px;font:13px sans-serif;min-width:360px';
    d.innerHTML = '<button id="gg-play" type="button">' + opts.labels.play + '</button> ' +
      '<select id="gg-speed"><option value="10">10×</option><option value="60" selected>60×</option>' +
      '<option value="300">300×</option><option value="1200">1200×</option></select> ' +
      '<span id="gg-clock"></span><br><input id="gg-slider" type="range" min="0" max="1000" value="0" style="width:100%">' +
      '<div id="gg-summary"></div>';
    L.DomEvent.disableClickPropagation(d);
    return d;
  };
  box.addTo(map);
  function at(time) {
    if (!pts.length) return null;
    var lo = 0, hi = pts.length - 1;
    if (time <= pts[0][0]) return pts[0];
    if (time >= pts[hi][0]) return pts[hi];
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (pts[mid][0] <= time) lo = mid; else hi = mid; }
    var a = pts[lo], b = pts[hi];
    if (a[3] !== b[3]) return a;  // across a GPS silence: stay put
    var f = (time - a[0]) / Math.max(1, b[0] - a[0]);
    return [time, a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), a[3]];
  }
  function show() {
    var p = at(t);
    if (p && marker) marker.setLatLng([p[2], p[1]]);
    document.getElementById('gg-clock').textContent = new Date(t).toLocaleString();
    document.getElementById('gg-slider').value = t1 > t0 ? Math.round(1000 * (t - t0) / (t1 - t0)) : 0;
    window.gridgisPlayback = {ready: true, vertices: pts.length, stops: stops.length, t: t, playing: playing, speed: speed};
  }
  function tick(now) {
    if (!playing) return;
    if (last !== null) t = Math.min(t1, t + (now - last) * speed);
    last = now;
    if (t >= t1) { playing = false; document.getElementById('gg-play').textContent = opts.labels.play; }
    show();
    if (playing) requestAnimationFrame(tick);
  }
  document.getElementById('gg-play').onclick = function () {
    playing = !playing; last = null;
    if (playing && t >= t1) t = t0;
    this.textContent = playing ? opts.labels.pause : opts.labels.play;
    show();
    if (playing) requestAnimationFrame(tick);
  };
  document.getElementById('gg-speed').onchange = function () { speed = Number(this.value); show(); };
  document.getElementById('gg-slider').oninput = function () { t = t0 + (t1 - t0) * Number(this.value) / 1000; show(); };
  // the track of ?device= (and ?from=/&to=) of this page's own address: one page serves all
  function trackUrl() {
    var q = new URLSearchParams(window.location.search), p = new URLSearchParams();
    ['from', 'to'].forEach(function (k) { if (q.get(k)) { p.set(k, q.get(k)); } });
    var rest = p.toString();
    return '/api/v1/devices/' + encodeURIComponent(q.get('device')) + '/track' +
      (rest ? '?' + rest : '');
  }
  fetch(trackUrl(), {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (data) {
    var bounds = [];
    (data.features || []).forEach(function (f) {
      var p = f.properties;
      if (p.kind === 'segment') {
        var line = f.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
        L.polyline(line, {color: '#d7301f', weight: 4, opacity: 0.85, className: 'gridgis-track'}).addTo(map);
        f.geometry.coordinates.forEach(function (c, i) { pts.push([p.times[i], c[0], c[1], p.segment]); });
        bounds = bounds.concat(line);
      } else if (p.kind === 'stop') {
        var c = f.geometry.coordinates;
        stops.push(p);
        L.circleMarker([c[1], c[0]], {radius: 9, color: '#08519c', fillOpacity: 0.6, className: 'gridgis-stop'})
          .bindTooltip(opts.labels.stop + ' ' + Math.round(p.duration_s / 60) + ' min', {permanent: true, direction: 'right'})
          .addTo(map);
      }
    });
    if (pts.length) {
      t0 = t = pts[0][0]; t1 = pts[pts.length - 1][0];
      marker = L.circleMarker([pts[0][2], pts[0][1]], {radius: 8, color: '#000', fillColor: '#fee08b', fillOpacity: 1, className: 'gridgis-cursor'}).addTo(map);
      map.fitBounds(bounds, {padding: [30, 30]});
    }
    var s = data.summary || {};
    document.getElementById('gg-summary').textContent = opts.labels.mileage + ' ' + ((s.mileage_m || 0) / 1000).toFixed(2) +
      ' km · ' + opts.labels.moving + ' ' + Math.round((s.moving_time_s || 0) / 60) + ' min · ' + opts.labels.stop + ' ' + (s.stops || 0);
    show();
  });
}
