// /coverage: patrol coverage per grid level with drill-down (maps/coverage_map.py starts it).
// The grids are drawn from the vector tiles of the run's generation (GridGIS.tiles, SVG so each
// grid's path carries its classes); the page carries only each grid's code, name, parent, fill
// (class colour fitted to its level), figures, bbox and label point of the towns and villages;
// a village's unit grids are asked for when it is opened (/api/v1/coverage/figures?parent=).
// Towns first; a click on a town shows its villages, on a village its unit grids, on a unit
// grid its blind-spot cells and who covered it (fetched from /api/v1/coverage/grids/{code}).
// Every request goes through a GridGIS.latest guard: only the latest answer is drawn. The
// area shown is kept in the URL (?area=<code>): Back and reload return to it. Test hooks: window.gridgisCoverage,
// gridgisCoverageMap (see maps/coverage_map.py).
(function (G) {
  "use strict";

  G.views.coverage = function (map, data) {

    var T = data.labels;
    // t(key, {n: 3}): the page's label of key with {n} filled in
    function t(key, values) { return G.format(T[key] || key, values); }
    var el = G.el, pct = G.pct;
    // areas are fitted beside the form and legend (left), the panel (right) and the title
    // (top), from their real sizes: none of them covers any of the area (GridGIS.fitBeside)
    var fitter = G.fitBeside(map, {
        left: ".gridgis-cov-form-box, .gridgis-cov-legend",
        right: ".gridgis-cov-panel, .gridgis-cov-compliance",
        top: ".gridgis-title, .gridgis-cov-missing"});
    var P = G.coveragePanels(map, data.panels);
    // the form's day as 2026-12-01 whatever the browser's language
    document.querySelectorAll(".gridgis-cov-form-box input[type=date]").forEach(G.isoDay);
    var byCode = {}, levels = {1: [], 2: [], 3: []};
    // add(n, fields, rows): grids of level n as the page or the figures API sends them
    function add(n, fields, rows) {
        rows.forEach(function (row) {
            var g = {level: n};
            fields.forEach(function (f, i) { g[f] = row[i]; });
            if (byCode[g.code]) { return; }
            // the panels read grid properties as the old GeoJSON features carried them
            g.properties = g;
            levels[n].push(g);
            byCode[g.code] = g;
        });
    }
    [1, 2, 3].forEach(function (n) { add(n, data.fields, data.levels[n] || []); });
    // Unit grids come per village, when it is opened (GET data.figures_url?parent=): the page
    // carries the towns and villages only. villages[code] is true once its grids are here.
    var villages = {};
    // Only the latest answer of each kind is drawn (GridGIS.latest): a village asked before
    // another, a grid's detail asked before another grid's.
    var asks = {village: G.latest(), detail: G.latest()};
    var VILLAGE_LEN = 12;  // grid codes: town 9 digits, village 12, unit grid 15
    function villageOf(code) {
        return code && code.length > VILLAGE_LEN ? code.slice(0, VILLAGE_LEN) : null;
    }
    // unitsOf(village): a promise of the village's unit grids, asked once
    function unitsOf(village) {
        if (villages[village]) { return Promise.resolve(); }
        var q = new URLSearchParams(data.query);
        q.set("parent", village);
        return asks.village.get(data.figures_url + "?" + q.toString(), null, {quiet: true})
            .then(function (body) {
                add(3, body.fields, body.rows);
                villages[village] = true;
            });
    }
    function boundsOf(g) {
        return L.latLngBounds([g.bbox[1], g.bbox[0]], [g.bbox[3], g.bbox[2]]);
    }
    map.createPane("gridgis-cov-grids").style.zIndex = 390;
    map.createPane("gridgis-cov-towns").style.zIndex = 395;
    G.tiles.layer("grids-l1", {params: data.tiles, pane: "gridgis-cov-towns",
        style: {color: "#0b2e59", weight: 1.2, opacity: 0.6, fill: false}}).addTo(map);
    var state = {level: 1, parent: null, path: [], current: null, outline: null,
                 blind: null, selected: null, labels: L.layerGroup().addTo(map)};
    var box = G.panel(map, "topright", "leaflet-control gridgis-legend gridgis-cov-panel");
    var tip = L.tooltip({sticky: true, direction: "top", offset: [0, -8]});

    function shownGrids() {
        return levels[state.level].filter(function (g) {
            return state.parent === null || g.parent === state.parent;
        });
    }
    function publish(extra) {
        window.gridgisCoverage = Object.assign({
            level: state.level, parent: state.parent, shown: shownGrids().length,
            selected: state.selected, blind: null, who: null, missing: !data.run
        }, extra || {});
    }
    function styleOf(level, parent) {
        return function (p) {
            var g = byCode[p.code];
            if (!g || (parent !== null && g.parent !== parent)) { return []; }
            return {className: "gridgis-cov-l" + level + " gridgis-code-" + g.code,
                    color: "#4a5a6b", weight: level === 3 ? 0.8 : 1.4, opacity: 0.9,
                    fill: true, fillColor: g.fill, fillOpacity: 0.82};
        };
    }
    // restyle(extra): the grid's own style (its class colour kept) with a heavier outline
    function restyle(extra) {
        return function (p, z) {
            var s = styleOf(state.level, state.parent)(p, z);
            return Array.isArray(s) ? s : Object.assign({}, s, extra);
        };
    }
    var SELECTED = restyle({color: "#0b2e59", weight: 3, opacity: 1});
    var HOVER = restyle({color: "#1f5fbf", weight: 2.5, opacity: 1});

    // names where the grid is wide enough on screen (recomputed after each zoom)
    function drawLabels() {
        state.labels.clearLayers();
        var z = map.getZoom(), rows = [];
        shownGrids().forEach(function (g) {
            var a = map.project([g.bbox[1], g.bbox[0]], z);
            var b = map.project([g.bbox[3], g.bbox[2]], z);
            if (Math.abs(b.x - a.x) >= data.label_min_px) {
                rows.push([g.point[0], g.point[1], g.name]);
            }
        });
        G.permanentLabels(state.labels, {rows: rows, css_class: "gridgis-label gridgis-cov-label"});
    }
    map.on("zoomend", drawLabels);

    function figures(p) {
        var g = el("div", "gridgis-cov-figures");
        [["coverage_field_code", p.code], ["coverage_field_h3", pct(p.h3)],
         ["coverage_field_buffer", pct(p.buffer)],
         ["coverage_field_cells", p.cells === null || p.cells === undefined ? "—"
             : p.covered + " / " + p.cells],
         ["coverage_field_officers", p.officers === null || p.officers === undefined
             ? "—" : p.officers]].forEach(function (r) {
            g.appendChild(el("span", "", t(r[0])));
            g.appendChild(el("span", "", r[1]));
        });
        return g;
    }
    function crumbs() {
        var c = el("div", "gridgis-cov-crumbs");
        var steps = [{name: t("coverage_all"), go: function () { go(null); }}];
        state.path.forEach(function (g) {
            steps.push({name: g.name, go: function () { go(g.code); }});
        });
        steps.forEach(function (s, i) {
            if (i) { c.appendChild(document.createTextNode(" › ")); }
            if (i < steps.length - 1 || state.selected) {
                var a = el("a", "", s.name);
                a.addEventListener("click", s.go);
                c.appendChild(a);
            } else {
                c.appendChild(el("b", "", s.name));
            }
        });
        if (state.selected) {
            c.appendChild(document.createTextNode(" › "));
            c.appendChild(el("b", "", byCode[state.selected].name));
        }
        return c;
    }
    function render(detail) {
        box.textContent = "";
        box.appendChild(crumbs());
        var hint = ["coverage_click_town", "coverage_click_village",
                    "coverage_click_grid"][state.level - 1];
        if (state.selected) {
            box.appendChild(figures(byCode[state.selected]));
            if (detail === undefined) {
                box.appendChild(el("div", "gridgis-legend-hint", t("coverage_loading")));
            } else if (detail.error) {
                box.appendChild(el("div", "gridgis-legend-hint",
                                   t("load_failed", {e: detail.error})));
            } else {
                box.appendChild(el("div", "gridgis-legend-section", t("coverage_who")));
                var ul = el("ul", "gridgis-cov-who");
                detail.covered_by.forEach(function (w) {
                    var li = el("li");
                    // the officer's playback of the run's day (Beijing time)
                    var who = el("a", "gridgis-cov-who-link", w.name || w.device || "?");
                    var q = new URLSearchParams({device: String(w.device_id), date: detail.date});
                    if (G.pageLang() === "en") { q.set("lang", "en"); }
                    who.href = "/playback?" + q.toString();
                    li.appendChild(who);
                    li.appendChild(el("span", "", t("coverage_minutes", {m: w.minutes})
                        + " · " + t("coverage_metres", {m: w.metres})));
                    ul.appendChild(li);
                });
                if (!detail.covered_by.length) {
                    ul.appendChild(el("li", "", t("coverage_who_none")));
                }
                box.appendChild(ul);
                box.appendChild(el("div", "gridgis-legend-hint gridgis-cov-blind-count",
                    t("coverage_blind_count",
                      {n: detail.blind_spots.features.length})));
            }
        } else {
            if (state.path.length) {
                box.appendChild(figures(state.path[state.path.length - 1]));
            }
            if (data.run) { box.appendChild(el("div", "gridgis-legend-hint", t(hint))); }
        }
        if (P) {
            P.render(box, {level: state.level, parent: state.parent,
                selected: state.selected, features: shownGrids()});
        }
    }
    function clearSelection() {
        if (P) { P.cleared(); }
        if (state.blind) { map.removeLayer(state.blind); state.blind = null; }
        if (state.selected && state.current) {
            state.current.resetFeatureStyle(Number(state.selected));
        }
        state.selected = null;
    }
    function select(g) {
        clearSelection();
        state.selected = g.code;
        state.current.setFeatureStyle(Number(g.code), SELECTED);
        if (P) { P.selected(g.code); }
        render();
        publish();
        var url = "/api/v1/coverage/grids/" + encodeURIComponent(g.code)
            + "?" + new URLSearchParams(data.query).toString();
        asks.detail.get(url, null, {quiet: true})
            .then(function (d) {
                state.blind = L.geoJSON(d.blind_spots, {
                    interactive: false, className: "gridgis-cov-blind",
                    style: {color: data.blind, weight: 0.6, opacity: 0.9,
                            fillColor: data.blind, fillOpacity: 0.55}
                }).addTo(map);
                render(d);
                publish({blind: d.blind_spots.features.length,
                         who: d.covered_by.length});
            })
            .catch(function (err) {
                if (err.stale) { return; }
                render({error: err.message});
                publish({error: err.message});
            });
    }
    function onClick(p) {
        var g = byCode[p.code];
        if (!g || !data.run) { return; }
        go(g.code);
    }
    function show(level, parent, path) {
        clearSelection();
        asks.detail.drop();
        if (state.current) { map.removeLayer(state.current); }
        if (state.outline) { map.removeLayer(state.outline); state.outline = null; }
        state.level = level; state.parent = parent; state.path = path;
        state.current = G.tiles.layer("grids-l" + level, {
            params: data.tiles, svg: true, pane: "gridgis-cov-grids",
            style: styleOf(level, parent),
            onClick: data.run ? onClick : null,
        });
        state.current.on("mouseover", function (e) {
            var g = e.layer && e.layer.properties && byCode[e.layer.properties.code];
            if (!g) { return; }
            var body = el("div");
            body.appendChild(el("b", "", g.name));
            body.appendChild(el("div", "", t("coverage_field_h3") + " " + pct(g.h3)));
            tip.setContent(body).setLatLng(e.latlng);
            map.openTooltip(tip);
            if (g.code !== state.selected) {
                state.current.setFeatureStyle(Number(g.code), HOVER);
            }
            state.hover = g.code;
        });
        state.current.on("mouseout", function () {
            map.closeTooltip(tip);
            if (state.hover && state.hover !== state.selected) {
                state.current.resetFeatureStyle(Number(state.hover));
            }
            state.hover = null;
        });
        state.current.addTo(map);
        window.gridgisCoverageLayer = state.current;
        var area = parent !== null ? byCode[parent] : null;
        var bounds = area ? boundsOf(area) : L.latLngBounds(data.bounds);
        fitter.fit(bounds);
        if (area) {  // the area drilled into, outlined by its own tile layer's shape
            state.outline = G.tiles.layer("grids-l" + area.level, {
                params: data.tiles, pane: "gridgis-cov-towns",
                style: function (p) {
                    return p.code === area.code
                        ? {color: "#0b2e59", weight: 3.5, opacity: 1, fill: false} : [];
                },
            }).addTo(map);
        }
        // The legend names the classes of what is drawn: inside a town or village only the
        // classes its grids fall in (none when every grid there is 0 %: the grey row says so).
        var drawn = {};
        shownGrids().forEach(function (g) { drawn[g.fill] = true; });
        document.querySelectorAll(".gridgis-cov-classes").forEach(function (c) {
            c.hidden = c.getAttribute("data-level") !== String(level);
            c.querySelectorAll(".gridgis-cov-class").forEach(function (row) {
                row.hidden = !drawn[row.getAttribute("data-fill")];
            });
        });
        drawLabels();
        render();
        publish();
    }
    function chainOf(g) {  // [town, village, ...] above g, top first
        var chain = [], up = byCode[g.parent];
        while (up) { chain.unshift(up); up = byCode[up.parent]; }
        return chain;
    }
    // open(code): the view of an area (null: the city; a town or village: its children; a
    // unit grid: its village with the grid selected)
    function open(code) {
        var g = code ? byCode[code] : null;
        var village = g ? (g.level === 2 ? g.code : null) : villageOf(code);
        if (village && byCode[village] && !villages[village]) {
            // its unit grids first (a village opened, or a unit grid named in the URL)
            box.appendChild(el("div", "gridgis-legend-hint gridgis-cov-loading",
                               t("coverage_loading")));
            unitsOf(village).then(function () { open(code); }).catch(function (err) {
                if (err.stale) { return; }
                render();
                box.appendChild(el("div", "gridgis-legend-hint",
                                   t("load_failed", {e: err.message})));
                publish({error: err.message});
            });
            return;
        }
        asks.village.drop();  // a village still loading is no longer wanted
        if (!g) { show(1, null, []); return; }
        var chain = chainOf(g);
        if (g.level < 3) {
            show(g.level + 1, g.code, chain.concat([g]));
            return;
        }
        if (state.level === 3 && state.parent === g.parent) {  // a click beside it: no move
            select(g);
            return;
        }
        show(3, g.parent, chain);
        select(g);
        fitter.fit(boundsOf(g));
    }
    var BAD_AREA = {
        zh: "地址中的范围 area={area} 不是本市的网格编码（应为 9、12 或 15 位数字），已显示全市。",
        en: "The area in the address (area={area}) is not one of the city's grid codes (9, 12 or 15 digits); showing the city.",
    };
    function areaInUrl() {
        return new URLSearchParams(window.location.search).get("area");
    }
    // go(code): open an area and remember it in the URL (a new history entry)
    function go(code) {
        var q = new URLSearchParams(window.location.search);
        if (code) { q.set("area", code); } else { q.delete("area"); }
        var s = q.toString();
        if ((areaInUrl() || null) !== (code || null)) {
            window.history.pushState({area: code || null}, "",
                                     window.location.pathname + (s ? "?" + s : ""));
        }
        open(code);
    }
    window.addEventListener("popstate", function () { open(areaInUrl()); });
    if (P) { P.attach({drill: go}); }
    map.whenReady(function () {
        window.gridgisCoverageMap = map;
        window.gridgisCoverageFitter = fitter;
        var asked = areaInUrl();
        var known = asked && (byCode[asked] || byCode[villageOf(asked)]);
        open(data.run && known ? asked : null);
        if (data.run && asked && !known) {  // a bad ?area= is named in the panel, the city shown
            var bad = el("div", "gridgis-legend-hint gridgis-cov-bad-area",
                         G.format(BAD_AREA[G.pageLang()], {area: asked}));
            bad.setAttribute("role", "alert");
            box.insertBefore(bad, box.firstChild);
            publish({badArea: asked});
        }
    });
  };
})(window.GridGIS);
