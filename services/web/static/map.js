// Shared drawing of the live page (live.js) and the after-action report (analysis/report.py):
// the base map from triwarn's bundled areas, impact ellipses, colours by warning level, the altitude profile.
// Plain script (no modules, no build step): defines window.TriwarnMap. Needs Leaflet (vendor/leaflet).
(function () {
  "use strict";
  const R_EARTH_M = 6371008.8;
  const LEVEL_COLOUR = { warning: "#d7191c", watch: "#f08c00", advisory: "#e6c619", none: "#7f8c8d", unspecified: "#7f8c8d" };
  const LEVEL_RANK = { unspecified: 0, none: 1, advisory: 2, watch: 3, warning: 4 };
  // which map layer an area kind lights up
  const AREA_LAYER = { jp_land: "jp_land", kr_land: "kr_land", jp_eez: "jp_eez", jp_overflight: "jp_land", kr_overflight: "kr_land" };
  const TRACK_COLOURS = ["#1f77b4", "#9467bd", "#17becf", "#2ca02c", "#8c564b", "#e377c2", "#bcbd22", "#ff7f0e"];

  function trackColour(id) { return TRACK_COLOURS[id % TRACK_COLOURS.length]; }

  // Destination on a sphere from (lat, lon) deg, bearing (deg clockwise from north), distance (m).
  function destination(latDeg, lonDeg, bearingDeg, distM) {
    const d = distM / R_EARTH_M, b = bearingDeg * Math.PI / 180;
    const la = latDeg * Math.PI / 180, lo = lonDeg * Math.PI / 180;
    const la2 = Math.asin(Math.sin(la) * Math.cos(d) + Math.cos(la) * Math.sin(d) * Math.cos(b));
    const lo2 = lo + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(la), Math.cos(d) - Math.sin(la) * Math.sin(la2));
    return [la2 * 180 / Math.PI, lo2 * 180 / Math.PI];
  }

  // Ring of an ellipse on the ground: semi-axes (m), major axis at orientDeg clockwise from north.
  function ellipseRing(latDeg, lonDeg, smajM, sminM, orientDeg, n) {
    n = n || 72;
    const out = [], o = orientDeg * Math.PI / 180;
    for (let k = 0; k <= n; k++) {
      const a = 2 * Math.PI * k / n;
      const along = smajM * Math.cos(a), across = sminM * Math.sin(a);
      const e = along * Math.sin(o) + across * Math.cos(o);
      const nn = along * Math.cos(o) - across * Math.sin(o);
      out.push(destination(latDeg, lonDeg, Math.atan2(e, nn) * 180 / Math.PI, Math.hypot(e, nn)));
    }
    return out;
  }

  // Great-circle distance (m) between two points (deg).
  function distanceM(lat1, lon1, lat2, lon2) {
    const r = Math.PI / 180, dla = (lat2 - lat1) * r, dlo = (lon2 - lon1) * r;
    const h = Math.sin(dla / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dlo / 2) ** 2;
    return 2 * R_EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  // Longitudes continuous across the antimeridian for Leaflet (the theatre spans 118 E .. 180 E and a bit beyond).
  function unwrap(lon) { return lon < 0 ? lon + 360 : lon; }

  const AREA_STYLE = {
    land: { color: "#8a8a7a", weight: 0.6, fillColor: "#e9e6da", fillOpacity: 1 },
    jp_eez: { color: "#3f7fbf", weight: 1, dashArray: "4 3", fillColor: "#cfe3f5", fillOpacity: 0.45 },
    jp_land: { color: "#6b6b5c", weight: 0.8, fillColor: "#dcd8c4", fillOpacity: 1 },
    kr_land: { color: "#6b6b5c", weight: 0.8, fillColor: "#dcd8c4", fillOpacity: 1 },
  };

  // The map: a Leaflet map with no tile layer, the bundled land / EEZ outlines, and layer groups.
  function createMap(elementId, areasGeojson) {
    const map = L.map(elementId, { preferCanvas: false, worldCopyJump: false, zoomSnap: 0.25, attributionControl: true });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Land: NOAA GLOBE via global-land-mask; EEZ approximate (docs/map-data.md)");
    const areaLayers = {};
    for (const f of areasGeojson.features) {
      const name = f.properties.layer;
      areaLayers[name] = L.geoJSON(f, { style: AREA_STYLE[name], interactive: false }).addTo(map);
    }
    map.setView([38.5, 133], 5);
    L.control.scale({ imperial: false }).addTo(map);
    return { map, areaLayers };
  }

  // Highlight the area layers threatened by tracks: colour of the highest warning level that threatens each.
  function highlightAreas(areaLayers, tracks) {
    const worst = {};
    for (const t of tracks) {
      for (const a of t.areas || []) {
        const layer = AREA_LAYER[a.kind];
        if (layer && (LEVEL_RANK[t.level] || 0) > (LEVEL_RANK[worst[layer]] || 0)) worst[layer] = t.level;
      }
    }
    for (const name of ["jp_eez", "jp_land", "kr_land"]) {
      const layer = areaLayers[name];
      if (!layer) continue;
      const base = AREA_STYLE[name];
      const lvl = (LEVEL_RANK[worst[name]] || 0) >= 2 ? worst[name] : "";
      if (layer.triwarnLevel === lvl) continue;  // restyling hundreds of island polygons costs a frame
      layer.triwarnLevel = lvl;
      layer.setStyle(lvl
        ? { ...base, fillColor: LEVEL_COLOUR[lvl], fillOpacity: name === "jp_eez" ? 0.3 : 0.55, color: LEVEL_COLOUR[lvl], weight: 2 }
        : base);
    }
    return worst;
  }

  // Altitude (km) against ground range (km) from the launch point (or the first point) on a <canvas>.
  // series: [{points: [[range_km, alt_km], ...], colour, dashed, label}]
  function drawProfile(canvas, series, title) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, m = { l: 44, r: 26, t: 18, b: 28 };
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    let maxR = 10, maxA = 10;
    for (const s of series) for (const [r, a] of s.points) { maxR = Math.max(maxR, r); maxA = Math.max(maxA, a); }
    maxR *= 1.05; maxA *= 1.1;
    const X = r => m.l + (w - m.l - m.r) * r / maxR, Y = a => h - m.b - (h - m.t - m.b) * a / maxA;
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.font = "10px sans-serif"; ctx.fillStyle = "#333";
    ctx.beginPath(); ctx.moveTo(m.l, m.t); ctx.lineTo(m.l, h - m.b); ctx.lineTo(w - m.r, h - m.b); ctx.stroke();
    for (let k = 0; k <= 4; k++) {
      const a = maxA * k / 4, r = maxR * k / 4;
      ctx.fillText(a.toFixed(0), 4, Y(a) + 3);
      ctx.fillText(r.toFixed(0), X(r) - 8, h - m.b + 12);
    }
    ctx.fillText("altitude km", m.l + 4, m.t - 5);
    ctx.fillText("range km", w - m.r - 50, h - 4);
    if (title) ctx.fillText(title, m.l + 80, m.t - 5);
    for (const s of series) {
      if (!s.points.length) continue;
      ctx.strokeStyle = s.colour; ctx.lineWidth = 2; ctx.setLineDash(s.dashed ? [5, 4] : []);
      ctx.beginPath();
      s.points.forEach(([r, a], k) => (k ? ctx.lineTo(X(r), Y(a)) : ctx.moveTo(X(r), Y(a))));
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  function fmtCountdown(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    if (s <= 0) return "impact";
    const m = Math.floor(s / 60), r = Math.floor(s % 60);
    return m + ":" + String(r).padStart(2, "0");
  }

  window.TriwarnMap = {
    LEVEL_COLOUR, LEVEL_RANK, trackColour, destination, ellipseRing, distanceM, unwrap, createMap,
    highlightAreas, drawProfile, fmtCountdown,
  };
})();
