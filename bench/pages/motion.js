// bench/bench_pages.py: frames per second while the map pans east, north and back, zooms in
// twice and out twice (Leaflet's own animations): a FIXED motion of `steps` steps (three rounds
// of those seven by default), each 300 ms after the one before, then 1.5 s to settle, so every
// run asks the browser for the same work whatever the machine's load (a loaded run takes longer;
// it does not make fewer steps). Run with Playwright's page.evaluate(source, steps).
// Returns {fps, longest_ms, steps, elapsed_s}.
async (steps) => {
  // kept from the first call: a layer switched off no longer knows its map
  const map = window.benchMap || (window.benchMap = window.GridGIS && window.GridGIS.home ?
    window.GridGIS.home.map : window.gridgisMap || window.gridgisLayers.level1._map);
  let frames = 0, longest = 0, last = performance.now(), running = true;
  function count(now) { frames += 1; longest = Math.max(longest, now - last); last = now;
    if (running) { requestAnimationFrame(count); } }
  requestAnimationFrame(count);
  const start = performance.now();
  const motion = [() => map.panBy([400, 0]), () => map.panBy([0, 300]),
    () => map.panBy([-400, -300]),
    () => map.zoomIn(1), () => map.zoomIn(1), () => map.zoomOut(1), () => map.zoomOut(1)];
  const count_ = steps || 3 * motion.length;
  for (let i = 0; i < count_; i += 1) {
    motion[i % motion.length]();
    await new Promise(r => setTimeout(r, 300));
  }
  await new Promise(r => setTimeout(r, 1500));
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  return {fps: frames / elapsed, longest_ms: longest, steps: count_, elapsed_s: elapsed};
}
