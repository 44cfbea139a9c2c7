// The after-action report's map (analysis/report.py inlines this file): a recording played back with a time
// slider. Data: the JSON of <script id="triwarn-report"> (see analysis/report.py map_data) and of
// <script id="triwarn-areas"> (the map layers, GeoJSON).
(function () {
  "use strict";
  const M = window.TriwarnMap;
  const D = JSON.parse(document.getElementById("triwarn-report").textContent);
  // a picture row: [t, lat, lon, alt_km, ipp_lat, ipp_lon, smaj_m, smin_m, orient_deg, ipp_t, lp_lat, lp_lon, nations]
  const T = 0, LAT = 1, LON = 2, ALT = 3, ILAT = 4, ILON = 5, SMAJ = 6, SMIN = 7, ORI = 8, IT = 9, LPLAT = 10, LPLON = 11, NAT = 12;
  const ll = (lat, lon) => [lat, M.unwrap(lon)];
  const { map, areaLayers } = M.createMap("map", JSON.parse(document.getElementById("triwarn-areas").textContent));
  const layers = L.layerGroup().addTo(map);
  const truthLayer = L.layerGroup().addTo(map);
  const slider = document.getElementById("time"), label = document.getElementById("tlabel");
  const viewSel = document.getElementById("view"), playBtn = document.getElementById("play");
  const times = [];
  for (let t = D.t0_s; t <= D.t1_s + 1e-9; t += D.period_s) times.push(t);
  slider.max = String(times.length - 1);
  let view = Object.keys(D.views).includes("us") ? "us" : Object.keys(D.views)[0];
  for (const v of Object.keys(D.views)) viewSel.add(new Option(v, v, false, v === view));
  let playing = null;

  // last row of `rows` at or before t (rows sorted by time), or null
  function at(rows, t) {
    let lo = 0, hi = rows.length - 1, best = -1;
    while (lo <= hi) { const m = (lo + hi) >> 1; if (rows[m][T] <= t + 1e-6) { best = m; lo = m + 1; } else hi = m - 1; }
    return best;
  }

  // the warning level and areas of each track of the view at time t
  function warningState(t) {
    const out = {};
    for (const [tw, v, , tid, level, state, areas] of D.warnings) {
      if (tw > t + 1e-6) break;
      if (v !== view) continue;
      out[tid] = state === "ended" || state === "cancelled" ? { level: "none", areas: [] } : { level, areas };
    }
    return out;
  }

  function bounds() {
    const b = L.latLngBounds([]);
    for (const o of Object.values(D.truth)) for (const p of o.points) b.extend(ll(p[1], p[2]));
    for (const rows of Object.values(D.views[view] || {})) for (const r of rows) b.extend(ll(r[LAT], r[LON]));
    return b;
  }

  function draw(k) {
    const t = times[k];
    layers.clearLayers(); truthLayer.clearLayers();
    for (const [id, o] of Object.entries(D.truth)) {
      L.polyline(o.points.map(p => ll(p[1], p[2])), { color: "#555", weight: 1, dashArray: "1 4", interactive: false }).addTo(truthLayer);
      const j = at(o.points.map(p => [p[0]]), t);
      if (j >= 0 && t - o.points[j][0] <= 2 * D.period_s)
        L.circleMarker(ll(o.points[j][1], o.points[j][2]), { radius: 3, color: "#333", fillOpacity: 1, className: "truth" }).bindTooltip("truth " + id).addTo(truthLayer);
      if (o.impact[0] !== null) L.marker(ll(o.impact[0], o.impact[1]), {
        icon: L.divIcon({ className: "true-impact", html: "×", iconSize: [12, 12] }), interactive: false }).addTo(truthLayer);
    }
    const ws = warningState(t);
    const rowsHtml = [], threats = [];
    for (const [tid, rows] of Object.entries(D.views[view] || {})) {
      const j = at(rows, t);
      if (j < 0) continue;
      const r = rows[j], alive = t - r[T] <= 1.5 * D.period_s;
      const colour = M.trackColour(Number(tid));
      const w = ws[tid] || { level: "none", areas: [] };
      L.polyline(rows.slice(0, j + 1).map(q => ll(q[LAT], q[LON])), { color: colour, weight: 2, opacity: alive ? 1 : 0.4, className: "hist" }).addTo(layers);
      if (!alive) continue;
      threats.push({ level: w.level, areas: w.areas.map(kind => ({ kind })) });
      L.circleMarker(ll(r[LAT], r[LON]), { radius: 6, color: "#000", weight: 1, fillColor: colour, fillOpacity: 1, className: "trk" })
        .bindTooltip(`#${tid} ${r[ALT].toFixed(0)} km`).addTo(layers);
      if (r[ILAT] !== null && r[SMAJ] !== null) {
        const huge = r[SMAJ] > 1.5e6;
        L.polygon(M.ellipseRing(r[ILAT], r[ILON], Math.min(r[SMAJ], 4e6), Math.min(r[SMIN], 4e6), r[ORI]).map(p => ll(p[0], p[1])), {
          color: M.LEVEL_COLOUR[w.level] || "#333", fillOpacity: huge ? 0.05 : 0.35, weight: 1, dashArray: huge ? "3 4" : null, className: "ellipse",
        }).addTo(layers);
      }
      if (r[LPLAT] !== null) L.circleMarker(ll(r[LPLAT], r[LPLON]), { radius: 5, color: "#000", weight: 1, fillColor: "#fff", fillOpacity: 1, className: "launch" }).addTo(layers);
      const tti = r[IT] !== null ? r[IT] - t : null;
      rowsHtml.push(`<tr><td>${tid}</td><td>${r[NAT]}</td><td><span class="lvl lvl-${w.level}">${w.level}</span></td>` +
        `<td>${r[ALT].toFixed(0)}</td><td class="tti">${M.fmtCountdown(tti)}</td></tr>`);
    }
    M.highlightAreas(areaLayers, threats);
    document.querySelector("#tracks tbody").innerHTML = rowsHtml.join("") || '<tr><td colspan="5" class="dim">no tracks</td></tr>';
    const wall = D.epoch_ns ? " (" + new Date(D.epoch_ns / 1e6 + t * 1e3).toISOString().slice(11, 19) + " UTC)" : "";
    label.textContent = `t = ${t.toFixed(0)} s${wall}`;
    drawTimeline(t);
  }

  function drawTimeline(t) {
    const c = document.getElementById("timeline"), ctx = c.getContext("2d");
    const ids = Object.keys(D.views[view] || {}).sort((a, b) => Number(a) - Number(b));
    const m = { l: 34, r: 8, t: 6, b: 16 }, w = c.width, h = c.height;
    const rowH = Math.max(4, Math.min(18, (h - m.t - m.b) / Math.max(1, ids.length)));
    const X = s => m.l + (w - m.l - m.r) * (s - D.t0_s) / Math.max(1, D.t1_s - D.t0_s);
    ctx.clearRect(0, 0, w, h); ctx.font = "10px sans-serif";
    ids.forEach((tid, k) => {
      const rows = D.views[view][tid], y = m.t + k * rowH;
      ctx.fillStyle = "#ddd"; ctx.fillRect(X(rows[0][T]), y + 1, Math.max(1, X(rows[rows.length - 1][T]) - X(rows[0][T])), rowH - 2);
      const ev = D.warnings.filter(x => x[1] === view && x[3] === tid);
      ev.forEach((e, i) => {
        const end = i + 1 < ev.length ? ev[i + 1][0] : rows[rows.length - 1][T];
        const lvl = e[5] === "ended" || e[5] === "cancelled" ? "none" : e[4];
        ctx.fillStyle = M.LEVEL_COLOUR[lvl] || "#999"; ctx.fillRect(X(e[0]), y + 1, Math.max(1, X(end) - X(e[0])), rowH - 2);
      });
      ctx.fillStyle = "#333"; if (rowH >= 9) ctx.fillText("#" + tid, 2, y + rowH - 3);
    });
    ctx.fillStyle = "#333"; ctx.fillText(`${D.t0_s.toFixed(0)} s`, m.l, h - 3); ctx.fillText(`${D.t1_s.toFixed(0)} s`, w - m.r - 40, h - 3);
    ctx.strokeStyle = "#000"; ctx.beginPath(); ctx.moveTo(X(t), 0); ctx.lineTo(X(t), h - m.b); ctx.stroke();
    c.onclick = ev => {
      const s = D.t0_s + (ev.offsetX - m.l) / (w - m.l - m.r) * (D.t1_s - D.t0_s);
      slider.value = String(Math.max(0, Math.min(times.length - 1, Math.round((s - D.t0_s) / D.period_s)))); draw(Number(slider.value));
    };
  }

  slider.addEventListener("input", () => draw(Number(slider.value)));
  viewSel.addEventListener("change", () => { view = viewSel.value; draw(Number(slider.value)); });
  playBtn.addEventListener("click", () => {
    if (playing) { clearInterval(playing); playing = null; playBtn.textContent = "▶ play"; return; }
    if (Number(slider.value) >= times.length - 1) slider.value = "0";
    playBtn.textContent = "❚❚ pause";
    const stride = Math.max(1, Math.round(times.length / 600));  // a whole recording plays in about a minute
    playing = setInterval(() => {
      const k = Math.min(times.length - 1, Number(slider.value) + stride);
      slider.value = String(k); draw(k);
      if (k >= times.length - 1) playBtn.click();
    }, 100);
  });
  const b = bounds();
  if (b.isValid()) map.fitBounds(b.pad(0.15));
  // start at the first time a warning names an area (else the middle)
  // start when the view first warns of an area (else 20 s after its first impact prediction)
  const first = D.warnings.find(w => w[1] === view && (w[4] === "warning" || w[4] === "watch"));
  let start = first ? first[0] : null;
  for (const rows of Object.values(D.views[view] || {})) for (const r of rows) {
    if (first === undefined && r[ILAT] !== null && (start === null || r[T] + 20 < start)) start = r[T] + 20;
  }
  slider.value = String(start === null ? 0 : Math.min(times.length - 1, Math.round((start - D.t0_s) / D.period_s)));
  draw(Number(slider.value));
  window.triwarnReport = { draw, times, setView: v => { view = v; viewSel.value = v; draw(Number(slider.value)); } };
})();
