// bench/bench_pages.py: frames per second while the map pans east, north and back, zooms in
// twice and out twice (Leaflet's own animations), for `seconds`; run with Playwright's
// page.evaluate(source, seconds). Returns {fps, longest_ms, steps}.
async (seconds) => {
  // kept from the first call: a layer switched off no longer knows its map
  const map = window.benchMap || (window.benchMap = window.GridGIS && GridGIS.home ?
    GridGIS.home.map : window.gridgisMap || window.gridgisLayers.level1._map);
  let frames = 0, longest = 0, last = performance.now(), running = true;
  function count(now) { frames += 1; longest = Math.max(longest, now - last); last = now;
    if (running) { requestAnimationFrame(count); } }
  requestAnimationFrame(count);
  const start = performance.now();
  const steps = [() => map.panBy([400, 0]), () => map.panBy([0, 300]),
    () => map.panBy([-400, -300]),
    () => map.zoomIn(1), () => map.zoomIn(1), () => map.zoomOut(1), () => map.zoomOut(1)];
  let i = 0;
  while (performance.now() - start < seconds * 1000) {
    steps[i % steps.length]();
    i += 1;
    await new Promise(r => setTimeout(r, 300));
  }
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  return {fps: frames / elapsed, longest_ms: longest, steps: i};
}
