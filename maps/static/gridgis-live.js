// /live: officers' last positions, polled (see maps/tracks_js.py)
function gridgisLive(map, opts) {
  var layer = L.layerGroup().addTo(map);
  function popup(p) {
    var esc = function (s) { var d = document.createElement('div'); d.textContent = s == null ? '' : String(s); return d.innerHTML; };
    return '<b>' + esc(p.name) + '</b> ' + esc(p.role || '') + '<br>' + esc(opts.labels.grid) + ': ' +
      esc(p.grid_name) + ' ' + esc(p.grid || '') + '<br>' + esc(opts.labels.age) + ': ' + esc(Math.round(p.age_s / 60)) +
      ' min<br><a class="gridgis-playback-link" href="/playback?device=' + encodeURIComponent(p.device_id) +
      (opts.lang === 'en' ? '&lang=en' : '') + '">' + esc(opts.labels.playback) + '</a>';
  }
  function poll() {
    fetch(opts.url, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (data) {
      layer.clearLayers();
      (data.features || []).forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties;
        L.circleMarker([c[1], c[0]], {radius: 7, weight: 2, color: '#fff', fillOpacity: 0.95,
          fillColor: p.online ? '#1a9850' : '#999', className: 'gridgis-officer'})
          .bindPopup(popup(p)).bindTooltip(p.name).addTo(layer);
      });
      window.gridgisLive = {count: data.count, online: data.online, updated: Date.now()};
    }).catch(function (e) { console.warn('live poll failed', e); });
  }
  poll();
  setInterval(poll, opts.poll_ms);
}
