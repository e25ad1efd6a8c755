// The panels of /coverage around the drill-down map (gridgis-coverage.js creates them first):
// render(box, ctx) after each redraw of the side panel appends the selected grid's track
// legend, the trend of the area shown (inline SVG from /api/v1/coverage/trend) and the ranking
// of the level shown (a click drills to the grid) with CSV/XLSX links; selected(code) /
// cleared() draw / remove the covering tracks of a unit grid; attach(api) gives it the map's
// drill(code). Also the compliance panel (people below the threshold). Test hooks: see
// maps/coverage_panels.py; window.gridgisCoverageExtras.
(function (G) {
  "use strict";

  G.coveragePanels = function (map, data) {

    var T = data.labels;
    // t(key, {n: 3}): the page's label of key with {n} filled in
    function t(key, values) { return G.format(T[key] || key, values); }
    var el = G.el, pct = G.pct;
    // getJSON(url): the body, or an Error; failures are shown in the panels themselves (an
    // expired session still gets the page's log-in-again message)
    function getJSON(u) { return G.getJSON(u, null, {quiet: true}); }
    var SVG = "http://www.w3.org/2000/svg";
    var extras = window.gridgisCoverageExtras = {tracks: null, tracksCode: null,
        trend: null, trendCode: null, ranking: 0, compliance: null};
    var api = {drill: function () {}};
    var tracks = {code: null, layer: null, features: null, error: null};
    // only the latest grid's tracks are drawn (GridGIS.latest): a grid clicked before another
    var tracksAsk = G.latest();
    var trends = {};  // area key -> {rows} | {error} | {} while loading
    var slots = {tracks: null, trend: null, trendKey: null};
    map.createPane("gridgisCovTracks").style.zIndex = 450;  // above the grids

    function svg(tag, attrs, text) {
        var e = document.createElementNS(SVG, tag);
        Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
        if (text !== undefined) { e.textContent = text; }
        return e;
    }
    function hm(s) {
        var m = Math.round((s || 0) / 60);
        return Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0");
    }
    function colour(i) { return data.palette[i % data.palette.length]; }
    function url(path, extra) {
        var q = Object.assign({}, data.query, extra || {});
        Object.keys(q).forEach(function (k) {
            if (q[k] === null || q[k] === undefined || q[k] === "") { delete q[k]; }
        });
        return path + "?" + new URLSearchParams(q).toString();
    }
    function section(title) {
        var s = el("div", "gridgis-cov-section");
        s.appendChild(el("h5", "", title));
        return s;
    }
    function exports(path, extra) {
        var d = el("div", "gridgis-cov-exports", t("coverage_export"));
        ["csv", "xlsx"].forEach(function (f) {
            var a = el("a", "gridgis-cov-export-" + f, f.toUpperCase());
            a.href = url(path, Object.assign({format: f}, extra));
            a.setAttribute("download", "");
            d.appendChild(a);
        });
        return d;
    }
    function lineSwatch(c) {
        var s = svg("svg", {width: 22, height: 10, "aria-hidden": "true"});
        s.appendChild(svg("line", {x1: 1, y1: 5, x2: 21, y2: 5, stroke: c,
                                  "stroke-width": 3, "stroke-linecap": "round"}));
        return s;
    }

    // --- tracks of the selected unit grid ---
    function fillTracks() {
        var slot = slots.tracks;
        if (!slot) { return; }
        slot.textContent = "";
        if (tracks.error) {
            slot.appendChild(el("div", "gridgis-legend-hint",
                                t("load_failed", {e: tracks.error})));
            return;
        }
        if (!tracks.features) {
            slot.appendChild(el("div", "gridgis-legend-hint", t("coverage_loading")));
            return;
        }
        var ul = el("ul", "gridgis-cov-tracks");
        tracks.features.forEach(function (f) {
            var li = el("li");
            li.appendChild(lineSwatch(colour(f.properties.colour)));
            li.appendChild(el("span", "", (f.properties.name || f.properties.device
                || "?") + " · " + t("coverage_minutes", {m: f.properties.minutes})));
            ul.appendChild(li);
        });
        if (!tracks.features.length) {
            ul.appendChild(el("li", "", t("coverage_tracks_none")));
        }
        slot.appendChild(ul);
    }
    function cleared() {
        tracksAsk.drop();
        if (tracks.layer) { map.removeLayer(tracks.layer); }
        tracks.code = null; tracks.layer = null; tracks.features = null;
        tracks.error = null;
        extras.tracks = null; extras.tracksCode = null;
    }
    function selected(code) {
        cleared();
        tracks.code = code;
        tracksAsk.get(url("/api/v1/coverage/grids/" + encodeURIComponent(code) + "/tracks"),
            null, {quiet: true})
            .then(function (fc) {
                tracks.features = fc.features;
                tracks.layer = L.geoJSON(fc, {
                    pane: "gridgisCovTracks", interactive: false,
                    className: "gridgis-cov-track",
                    style: function (f) {
                        return {color: colour(f.properties.colour), weight: 3.5,
                                opacity: 0.9, lineCap: "round", lineJoin: "round"};
                    },
                    onEachFeature: function (f, layer) {
                        layer.on("add", function () {
                            var e = layer.getElement && layer.getElement();
                            if (e) { e.setAttribute("data-device",
                                                    f.properties.device || ""); }
                        });
                    }
                }).addTo(map);
                extras.tracks = fc.features.length; extras.tracksCode = code;
                fillTracks();
            })
            .catch(function (err) {
                if (err.stale) { return; }
                tracks.error = err.message;
                extras.tracks = 0; extras.tracksCode = code;
                fillTracks();
            });
    }

    // --- trend of the area shown ---
    // niceTop(0.047) -> 0.05: the trend's axis runs from 0 to the first round step above the
    // data (at most 100 %), so a 5 % week is not drawn flat against a 0-100 % axis.
    function niceTop(max) {
        var steps = [0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1];
        for (var i = 0; i < steps.length; i++) {
            if (max <= steps[i]) { return steps[i]; }
        }
        return 1;
    }
    function axisPct(v) {
        var p = v * 100;  // 0.25 % -> "0.25%", 5 % -> "5%", 2.5 % -> "2.5%"
        return String(Number(p.toFixed(p < 1 ? 2 : 1))) + "%";
    }
    function drawTrend(rows) {
        var W = 290, H = 146, left = 52, right = 8, top = 30, bottom = 20;
        var n = data.trend_days, w = W - left - right, h = H - top - bottom;
        var start = Date.parse(data.trend_from + "T00:00:00Z");
        var max = 0;
        rows.forEach(function (r) {
            max = Math.max(max, r.h3_share || 0, r.buffer_share || 0);
        });
        var topValue = niceTop(max);
        function x(day) {
            var i = Math.round((Date.parse(day + "T00:00:00Z") - start) / 86400000);
            return left + (n > 1 ? i * w / (n - 1) : w / 2);
        }
        function y(v) { return top + h - (v || 0) / topValue * h; }
        var s = svg("svg", {"class": "gridgis-cov-trend", width: W, height: H,
                            viewBox: "0 0 " + W + " " + H, role: "img",
                            "data-points": rows.length, "data-axis-max": topValue});
        s.appendChild(svg("text", {x: 2, y: 14, "class": "gridgis-cov-trend-axis"},
                          t("coverage_trend_axis")));
        [0, topValue / 2, topValue].forEach(function (v) {
            s.appendChild(svg("line", {x1: left, x2: W - right, y1: y(v), y2: y(v),
                                       stroke: "#d5dde6", "stroke-width": 1}));
            s.appendChild(svg("text", {x: left - 3, y: y(v) + 4,
                                       "text-anchor": "end"}, axisPct(v)));
        });
        [data.trend_from, data.trend_to].forEach(function (d, i) {
            s.appendChild(svg("text", {x: i ? W - right : left, y: H - 4,
                "text-anchor": i ? "end" : "start"}, d.slice(5)));
        });
        [["h3_share", data.colours.h3, ""],
         ["buffer_share", data.colours.buffer, "4 3"]].forEach(function (m) {
            var d = "", prev = null;
            rows.forEach(function (r) {
                var i = Math.round((Date.parse(r.date + "T00:00:00Z") - start)
                                   / 86400000);
                d += (prev !== null && i === prev + 1 ? "L" : "M")
                    + x(r.date).toFixed(1) + " " + y(r[m[0]]).toFixed(1);
                prev = i;
            });
            if (d) {
                s.appendChild(svg("path", {d: d, fill: "none", stroke: m[1],
                    "stroke-width": 2, "stroke-dasharray": m[2],
                    "class": "gridgis-cov-trend-" + m[0]}));
            }
            rows.forEach(function (r) {
                var c = svg("circle", {cx: x(r.date), cy: y(r[m[0]]), r: 2.6,
                                       fill: m[1], "class": "gridgis-cov-trend-point"});
                c.appendChild(svg("title", {}, r.date + " " + pct(r[m[0]])));
                s.appendChild(c);
            });
        });
        return s;
    }
    function fillTrend() {
        var slot = slots.trend, got = trends[slots.trendKey];
        if (!slot || !got) { return; }
        slot.textContent = "";
        if (got.error) {
            slot.appendChild(el("div", "gridgis-legend-hint",
                                t("load_failed", {e: got.error})));
        } else if (!got.rows) {
            slot.appendChild(el("div", "gridgis-legend-hint", t("coverage_loading")));
        } else {
            slot.appendChild(drawTrend(got.rows));
            var key = el("div", "gridgis-legend-hint");
            [["coverage_trend_h3", data.colours.h3],
             ["coverage_trend_buffer", data.colours.buffer]].forEach(function (k) {
                key.appendChild(lineSwatch(k[1]));
                key.appendChild(document.createTextNode(" " + t(k[0]) + "  "));
            });
            slot.appendChild(key);
            if (!got.rows.length) {
                slot.appendChild(el("div", "gridgis-legend-hint",
                                    t("coverage_trend_none")));
            }
        }
    }
    function trend(code) {
        var key = code || "";
        slots.trendKey = key;
        if (!trends[key]) {
            trends[key] = {};
            getJSON(url("/api/v1/coverage/trend", {date: null, code: code,
                from: data.trend_from, to: data.trend_to}))
                .then(function (body) { trends[key] = {rows: body.data}; })
                .catch(function (err) {
                    if (/no coverage computed/.test((err.problem && err.problem.detail) || "")) {
                        trends[key] = {rows: []};  // no run in these days
                    } else { trends[key] = {error: err.message}; }
                })
                .then(function () {
                    if (slots.trendKey !== key) { return; }
                    var got = trends[key];
                    extras.trend = got.rows ? got.rows.length : 0;
                    extras.trendCode = code;
                    fillTrend();
                });
        } else if (trends[key].rows) {
            extras.trend = trends[key].rows.length; extras.trendCode = code;
        }
    }

    // --- ranking of the level shown ---
    function ranking(ctx) {
        var rows = ctx.features.map(function (f) { return f.properties; });
        rows.sort(function (a, b) {
            return ((b.h3 || 0) - (a.h3 || 0)) || ((b.buffer || 0) - (a.buffer || 0))
                || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
        });
        var s = section(t("coverage_ranking"));
        var ul = el("ul", "gridgis-cov-rank");
        function item(p, i) {
            var li = el("li", "gridgis-cov-rank-item");
            li.setAttribute("data-code", p.code);
            li.appendChild(el("span", "", (i + 1) + ". " + p.name));
            li.appendChild(el("span", "", pct(p.h3)));
            li.addEventListener("click", function () { api.drill(p.code); });
            ul.appendChild(li);
        }
        var k = data.ranking_shown;
        if (rows.length <= 2 * k) {
            rows.forEach(item);
        } else {
            ul.appendChild(el("li", "gridgis-cov-rank-sep", t("coverage_ranking_best")));
            rows.slice(0, k).forEach(item);
            ul.appendChild(el("li", "gridgis-cov-rank-sep",
                              t("coverage_ranking_worst")));
            rows.slice(rows.length - k).forEach(function (p, j) {
                item(p, rows.length - k + j);
            });
        }
        s.appendChild(ul);
        s.appendChild(exports("/api/v1/coverage",
                              {level: ctx.level, parent: ctx.parent}));
        extras.ranking = ul.querySelectorAll(".gridgis-cov-rank-item").length;
        return s;
    }

    function render(box, ctx) {
        if (!data.run) { return; }
        if (ctx.selected) {
            var ts = section(t("coverage_tracks"));
            slots.tracks = ts.appendChild(el("div"));
            box.appendChild(ts);
            fillTracks();
        } else {
            slots.tracks = null;
        }
        var area = ctx.selected || ctx.parent || null;
        var tr = section(t("coverage_trend", {n: data.trend_days}));
        slots.trend = tr.appendChild(el("div"));
        box.appendChild(tr);
        trend(area);
        fillTrend();
        box.appendChild(ranking(ctx));
    }

    // --- compliance: people below the threshold ---
    function compliance() {
        var box = G.panel(map, "bottomright",
            "leaflet-control gridgis-legend gridgis-cov-compliance");
        var limit = Math.round(data.threshold * 100) + "%";
        box.appendChild(el("h4", "", t("coverage_compliance", {p: limit})));
        var body = box.appendChild(el("div", "", t("coverage_loading")));
        var filter = {below_only: "true", threshold: data.threshold};
        box.appendChild(exports("/api/v1/coverage/compliance", filter));
        var shown = {below_only: "true", present_only: "true", threshold: data.threshold};
        getJSON(url("/api/v1/coverage/compliance", shown))
            .then(function (r) {
                body.textContent = "";
                if (r.absent) {
                    body.appendChild(el("div", "gridgis-legend-hint gridgis-cov-absent",
                                        t("coverage_absent", {n: r.absent})));
                }
                if (!r.data.length) {
                    body.appendChild(el("div", "gridgis-legend-hint",
                                        t("coverage_compliance_none")));
                } else {
                    var table = el("table"), head = el("tr");
                    ["coverage_col_name", "coverage_col_inside", "coverage_col_outside",
                     "coverage_col_silence"].forEach(function (k) {
                        head.appendChild(el("th", "", t(k)));
                    });
                    table.appendChild(head);
                    r.data.forEach(function (p) {
                        var tr = el("tr", "gridgis-cov-compliance-row");
                        tr.setAttribute("data-person", p.person_id);
                        [p.name, pct(p.share_inside), hm(p.outside_s),
                         t("coverage_silences", {n: p.silences, t: hm(p.silence_s)})]
                            .forEach(function (v) { tr.appendChild(el("td", "", v)); });
                        table.appendChild(tr);
                    });
                    body.appendChild(table);
                }
                extras.compliance = r.data.length;
            })
            .catch(function (err) {
                body.textContent = t("load_failed", {e: err.message});
                extras.compliance = 0;
            });
    }
    if (data.run) { compliance(); }

    return {
        attach: function (a) { api = a; },
        render: render, selected: selected, cleared: cleared
    };
  };
})(window.GridGIS);
