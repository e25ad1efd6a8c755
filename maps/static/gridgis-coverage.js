// /coverage: patrol coverage per grid level with drill-down (maps/coverage_map.py starts it):
// towns coloured by their H3 share; a click on a town shows its villages, on a village its
// unit grids, on a unit grid its blind-spot cells and who covered it (fetched from
// /api/v1/coverage/grids/{code}). Test hooks: window.gridgisCoverage, gridgisCoverageMap
// (see maps/coverage_map.py).
(function (G) {
  "use strict";

  G.views.coverage = function (map, data) {

    var T = data.labels;
    // t(key, {n: 3}): the page's label of key with {n} filled in
    function t(key, values) { return G.format(T[key] || key, values); }
    var el = G.el, pct = G.pct;
    // getJSON(url): the body, or an Error; failures are shown in the panels themselves (an
    // expired session still gets the page's log-in-again message)
    function getJSON(u) { return G.getJSON(u, null, {quiet: true}); }
    var pad = {paddingTopLeft: [data.legend_px, 80],
               paddingBottomRight: [data.panel_px, 24], animate: false};
    var P = G.coveragePanels(map, data.panels);
    var byCode = {};
    [1, 2, 3].forEach(function (n) {
        data.levels[n].forEach(function (f) { byCode[f.properties.code] = f; });
    });
    L.geoJSON({type: "FeatureCollection", features: data.levels[1]},
        {interactive: false, style: {color: "#0b2e59", weight: 1.2, opacity: 0.6,
                                     fill: false}}).addTo(map);
    var state = {level: 1, parent: null, path: [], current: null, outline: null,
                 blind: null, selected: null, selectedLayer: null, seq: 0};
    var panel = L.control({position: "topright"});
    panel.onAdd = function () {
        var div = L.DomUtil.create("div",
            "leaflet-control gridgis-legend gridgis-cov-panel");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    panel.addTo(map);
    var box = panel.getContainer();

    function publish(extra) {
        var shown = state.current ? state.current.getLayers().length : 0;
        window.gridgisCoverage = Object.assign({
            level: state.level, parent: state.parent, shown: shown,
            selected: state.selected, blind: null, who: null, missing: !data.run
        }, extra || {});
    }
    function styleOf(f) {
        return {color: "#4a5a6b", weight: state.level === 3 ? 0.8 : 1.4, opacity: 0.9,
                fillColor: f.properties.fill, fillOpacity: 0.82};
    }
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
        var steps = [{name: t("coverage_all"), go: function () { show(1, null, []); }}];
        state.path.forEach(function (f, i) {
            steps.push({name: f.properties.name, go: function () {
                show(i + 2, f.properties.code, state.path.slice(0, i + 1));
            }});
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
            c.appendChild(el("b", "", byCode[state.selected].properties.name));
        }
        return c;
    }
    function render(detail) {
        box.textContent = "";
        box.appendChild(crumbs());
        var hint = ["coverage_click_town", "coverage_click_village",
                    "coverage_click_grid"][state.level - 1];
        if (state.selected) {
            var p = byCode[state.selected].properties;
            box.appendChild(figures(p));
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
                    li.appendChild(el("span", "", w.name || w.device || "?"));
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
                box.appendChild(figures(state.path[state.path.length - 1].properties));
            }
            if (data.run) { box.appendChild(el("div", "gridgis-legend-hint", t(hint))); }
        }
        if (P) {
            P.render(box, {level: state.level, parent: state.parent,
                selected: state.selected, features: state.current
                    ? state.current.getLayers().map(function (l) { return l.feature; })
                    : []});
        }
    }
    function clearSelection() {
        if (P) { P.cleared(); }
        if (state.blind) { map.removeLayer(state.blind); state.blind = null; }
        if (state.selectedLayer && state.current) {
            state.current.resetStyle(state.selectedLayer);
        }
        state.selected = null; state.selectedLayer = null;
    }
    function select(f, layer) {
        clearSelection();
        state.selected = f.properties.code;
        state.selectedLayer = layer;
        layer.setStyle({color: "#0b2e59", weight: 3});
        layer.bringToFront();
        var seq = ++state.seq;
        if (P) { P.selected(f.properties.code); }
        render();
        publish();
        var url = "/api/v1/coverage/grids/" + encodeURIComponent(f.properties.code)
            + "?" + new URLSearchParams(data.query).toString();
        getJSON(url)
            .then(function (d) {
                if (seq !== state.seq) { return; }
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
                if (seq !== state.seq) { return; }
                render({error: err.message});
                publish({error: err.message});
            });
    }
    function show(level, parent, path) {
        clearSelection();
        state.seq++;
        if (state.current) { map.removeLayer(state.current); }
        if (state.outline) { map.removeLayer(state.outline); state.outline = null; }
        state.level = level; state.parent = parent; state.path = path;
        var fs = data.levels[level].filter(function (f) {
            return parent === null || f.properties.parent === parent;
        });
        state.current = L.geoJSON({type: "FeatureCollection", features: fs}, {
            className: "gridgis-cov-l" + level,
            style: styleOf,
            onEachFeature: function (f, layer) {
                var tip = el("div");
                tip.appendChild(el("b", "", f.properties.name));
                tip.appendChild(el("div", "", t("coverage_field_h3") + " "
                                   + pct(f.properties.h3)));
                layer.bindTooltip(tip, {sticky: true});
                layer.on("add", function () {
                    var e = layer.getElement();
                    if (e) { e.setAttribute("data-code", f.properties.code); }
                });
                if (!data.run) { return; }
                layer.on("click", function (ev) {
                    L.DomEvent.stop(ev);
                    if (level < 3) {
                        show(level + 1, f.properties.code, path.concat([f]));
                    } else {
                        select(f, layer);
                    }
                });
                layer.on("mouseover", function () {
                    if (layer !== state.selectedLayer) {
                        layer.setStyle({weight: 2.5, color: "#1f5fbf"});
                    }
                });
                layer.on("mouseout", function () {
                    if (layer !== state.selectedLayer) {
                        state.current.resetStyle(layer);
                    }
                });
            }
        }).addTo(map);
        if (parent !== null && byCode[parent]) {
            state.outline = L.geoJSON(byCode[parent], {interactive: false,
                style: {color: "#0b2e59", weight: 3.5, fill: false}}).addTo(map);
        }
        var bounds = state.outline ? state.outline.getBounds()
                                   : state.current.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, pad); }
        render();
        publish();
    }
    function drill(code) {  // from the ranking: into a town or village, onto a grid
        var f = byCode[code];
        if (!f) { return; }
        var chain = [], up = byCode[f.properties.parent];
        while (up) { chain.unshift(up); up = byCode[up.properties.parent]; }
        if (chain.length < 2) {
            show(chain.length + 2, code, chain.concat([f]));
            return;
        }
        show(3, f.properties.parent, chain);
        state.current.eachLayer(function (layer) {
            if (layer.feature.properties.code === code) {
                select(f, layer);
                map.fitBounds(layer.getBounds(), pad);
            }
        });
    }
    if (P) { P.attach({drill: drill}); }
    map.whenReady(function () {
        window.gridgisCoverageMap = map;
        show(1, null, []);
    });
  };
})(window.GridGIS);
