// The live page of `triwarn web`: server-sent events from /events (a snapshot, then deltas and status
// messages; see services/web/feed.py) drawn on the map and in the side table.
(function () {
  "use strict";
  const M = window.TriwarnMap;
  const TRACK_STALE_S = 10;     // picture seconds without an update before a track is marked stale
  const FEED_STALE_S = 3;       // wall seconds without any message (status comes every second) before the feed is stale
  const HISTORY_MAX = 900;

  const state = {
    tracks: new Map(),          // id -> track (with .history)
    warnings: new Map(),        // id -> warning
    layers: new Map(),          // id -> {hist, path, pos, launch, ellipse}
    clock: { timeMs: Date.now(), local: performance.now(), rate: 1 },
    selected: null,
    status: null,
    lastMessageWall: 0,
    connected: false,
    dirty: false,
    pending: [],                // [seq, recv_ms] of the updates applied since the last frame
    changed: new Set(),         // ids of the tracks to redraw at the next frame
    view: "?",
  };
  // numbers for tests and benches/bench_web.py
  const stats = window.triwarnStats = { messages: 0, snapshots: 0, lastSeq: null, rendered: {}, parts: {}, renderedSeqs: [], renderMs: [], lagsMs: [], firstRenderMs: null };

  let map = null, areaLayers = null;

  function pictureNowMs() {
    return state.clock.timeMs + (performance.now() - state.clock.local) * state.clock.rate;
  }

  function setClock(msg) {
    if (msg.time_ms) state.clock = { timeMs: msg.time_ms, local: performance.now(), rate: msg.clock_rate || 1 };
  }

  function apply(msg, arrived) {
    stats.messages++;
    state.lastMessageWall = Date.now();
    if (msg.kind === "status") { state.status = msg; return; }
    if (msg.view) state.view = msg.view;
    setClock(msg);
    if (msg.kind === "snapshot") {
      stats.snapshots++;
      for (const id of [...state.layers.keys()]) removeLayers(id);
      state.tracks.clear(); state.warnings.clear();
      for (const t of msg.tracks) { state.tracks.set(t.id, t); state.changed.add(t.id); }
      for (const w of msg.warnings) state.warnings.set(w.id, w);
      if (msg.status) state.status = msg.status;
    } else {
      for (const t of msg.tracks) {
        const old = state.tracks.get(t.id);
        const hist = old ? old.history : [];
        const last = hist[hist.length - 1];
        if (!last || t.t_ms - last[3] >= 1000) hist.push([t.lat, t.lon, t.alt_m, t.t_ms]);
        if (hist.length > HISTORY_MAX) hist.splice(0, hist.length - HISTORY_MAX);
        t.history = hist;
        if (t.path === undefined) { t.path = old ? old.path : []; t.path_kind = old ? old.path_kind : "none"; }
        state.tracks.set(t.id, t);
        state.changed.add(t.id);
      }
      for (const id of msg.deleted) { state.tracks.delete(id); removeLayers(id); if (state.selected === id) state.selected = null; }
      for (const w of msg.warnings) {
        if (w.state === "ended" || w.state === "cancelled") state.warnings.delete(w.id); else state.warnings.set(w.id, w);
      }
    }
    if (msg.seq !== undefined && msg.seq !== null) stats.lastSeq = msg.seq;
    if (msg.seq !== undefined && msg.seq !== null) state.pending.push([msg.seq, msg.recv_ms, msg.sent_ms, arrived]);
    if (!state.dirty) { state.dirty = true; requestAnimationFrame(render); }
  }

  function removeLayers(id) {
    const l = state.layers.get(id);
    if (!l) return;
    for (const k of ["hist", "path", "ellipse", "impact", "launch", "pos"]) map.removeLayer(l[k]);
    state.layers.delete(id);
  }

  const ll = (lat, lon) => [lat, M.unwrap(lon)];

  // setStyle on layer l[k] only when the style changed (each call rewrites the SVG attributes)
  function restyle(l, k, style) {
    const key = JSON.stringify(style);
    l.styles = l.styles || {};
    if (l.styles[k] !== key) { l[k].setStyle(style); l.styles[k] = key; }
  }

  function drawTrack(t, stale) {
    let l = state.layers.get(t.id);
    const colour = M.trackColour(t.id);
    const sel = state.selected === t.id;
    if (!l) {
      l = {
        hist: L.polyline([], { color: colour, weight: 2, className: `hist hist-${t.id}` }).addTo(map),
        path: L.polyline([], { color: colour, weight: 2, dashArray: "6 5", className: `path path-${t.id}` }).addTo(map),
        ellipse: L.polygon([], { color: "#333", weight: 1, fillOpacity: 0.35, className: `ellipse ellipse-${t.id}` }).addTo(map),
        impact: L.circleMarker([0, 0], { radius: 4, color: "#000", weight: 1, fillOpacity: 1, className: `impact impact-${t.id}` }),
        launch: L.circleMarker([0, 0], { radius: 5, color: "#000", weight: 1, fillColor: "#fff", fillOpacity: 1, className: `launch launch-${t.id}` }),
        pos: L.circleMarker([0, 0], { radius: 6, color: "#000", weight: 1.5, fillColor: colour, fillOpacity: 1, className: `trk trk-${t.id}` }).addTo(map),
      };
      for (const k of ["hist", "path", "pos", "ellipse"]) l[k].on("click", () => select(t.id));
      l.pos.bindTooltip("", { direction: "right", offset: [8, 0] });
      state.layers.set(t.id, l);
    }
    const histKey = t.history.length ? t.history.length + ":" + t.history[t.history.length - 1][3] : "0";
    if (l.histKey !== histKey) { l.hist.setLatLngs(t.history.map(p => ll(p[0], p[1]))); l.histKey = histKey; }
    if (l.pathSrc !== t.path) { l.path.setLatLngs(t.path.map(p => ll(p[0], p[1]))); l.pathSrc = t.path; }
    restyle(l, "path", { dashArray: t.path_kind === "corridor" ? "2 6" : "6 5", weight: sel ? 3.5 : 2 });
    restyle(l, "hist", { weight: sel ? 3.5 : 2, opacity: stale ? 0.4 : 1 });
    l.pos.setLatLng(ll(t.lat, t.lon));
    restyle(l, "pos", { fillColor: stale ? "#bbb" : colour, dashArray: stale ? "2 2" : null, radius: sel ? 8 : 6 });
    const tip = `#${t.id} ${t.phase} ${(t.alt_m / 1e3).toFixed(0)} km${stale ? " (stale)" : ""}`;
    if (l.tip !== tip) { l.pos.setTooltipContent(tip); l.tip = tip; }
    if (t.launch) {
      l.launch.setLatLng(ll(t.launch.lat, t.launch.lon));
      if (!map.hasLayer(l.launch)) l.launch.addTo(map);
    } else if (map.hasLayer(l.launch)) map.removeLayer(l.launch);
    if (t.impact && t.impact.smaj_m > 0) {
      const i = t.impact;
      const key = [i.lat, i.lon, i.smaj_m, i.smin_m, i.orient_deg].join();
      if (l.ellipseKey !== key) {
        l.ellipse.setLatLngs(M.ellipseRing(i.lat, i.lon, i.smaj_m, i.smin_m, i.orient_deg).map(p => ll(p[0], p[1])));
        l.ellipseKey = key;
      }
      l.impact.setLatLng(ll(i.lat, i.lon));
      restyle(l, "impact", { fillColor: M.LEVEL_COLOUR[t.level] || "#333" });
      if (!map.hasLayer(l.impact)) l.impact.addTo(map);
      const boost = t.phase === "boost";
      restyle(l, "ellipse", {
        color: M.LEVEL_COLOUR[t.level] || "#333", fillColor: M.LEVEL_COLOUR[t.level] || "#333",
        fillOpacity: boost ? 0.1 : 0.35, dashArray: boost ? "3 4" : null, weight: sel ? 3 : boost ? 1.5 : 1,
        opacity: stale ? 0.4 : 1,
      });
    } else {
      l.ellipse.setLatLngs([]);
      l.ellipseKey = null;
      if (map.hasLayer(l.impact)) map.removeLayer(l.impact);
    }
  }

  function warningFor(id) {
    let best = null;
    for (const w of state.warnings.values()) if (w.track_id === id && (!best || w.id > best.id)) best = w;
    return best;
  }

  function renderTable(nowMs) {
    const body = document.querySelector("#tracks tbody");
    const rows = [...state.tracks.values()].sort((a, b) => (M.LEVEL_RANK[b.level] - M.LEVEL_RANK[a.level]) || a.id - b.id);
    const html = rows.map(t => {
      const stale = (nowMs - t.t_ms) / 1e3 > TRACK_STALE_S;
      const tti = t.impact ? (t.impact.t_ms - nowMs) / 1e3 : null;
      const w = warningFor(t.id);
      const cls = ["row-" + t.id, state.selected === t.id ? "selected" : "", stale ? "stale" : ""].join(" ");
      return `<tr class="${cls}" data-id="${t.id}"><td>${t.id}${stale ? ' <span class="stale-mark" title="no update for ' + TRACK_STALE_S + ' s">stale</span>' : ""}</td>` +
        `<td>${t.phase}</td><td>${t.cls}${t.objects > 1 ? ' <span class="group-mark" title="' + t.objects + ' objects the sensors have not resolved yet">×' + t.objects + "</span>" : ""}</td><td>${t.nations.join("+")}</td>` +
        `<td class="tti" data-tti="${tti === null ? "" : tti.toFixed(1)}">${M.fmtCountdown(tti)}</td>` +
        `<td><span class="lvl lvl-${t.level}">${t.level}</span></td>` +
        `<td>${w ? w.state.replace("_", " ") : "–"}</td></tr>`;
    }).join("");
    body.innerHTML = html;
    document.getElementById("empty").hidden = rows.length > 0;
    const ws = [...state.warnings.values()].sort((a, b) => M.LEVEL_RANK[b.level] - M.LEVEL_RANK[a.level] || a.id - b.id);
    document.getElementById("warnings").innerHTML = ws.map(w =>
      `<li><span class="lvl lvl-${w.level}">${w.level}</span> #${w.id} track ${w.track_id}, ${w.state.replace("_", " ")}` +
      `${w.areas.length ? ": " + w.areas.join(", ").replaceAll("_", " ") : ""}<br><span class="dim">${w.reasons.join("; ")}</span></li>`).join("") ||
      '<li class="dim">none</li>';
  }

  function renderProfile() {
    const box = document.getElementById("profile-box");
    const t = state.selected !== null ? state.tracks.get(state.selected) : null;
    if (!t) { box.hidden = true; return; }
    box.hidden = false;
    const o = t.launch ? [t.launch.lat, t.launch.lon] : (t.history.length ? [t.history[0][0], t.history[0][1]] : [t.lat, t.lon]);
    const r = (lat, lon) => M.distanceM(o[0], o[1], lat, lon) / 1e3;
    const past = t.history.map(p => [r(p[0], p[1]), p[2] / 1e3]).concat([[r(t.lat, t.lon), t.alt_m / 1e3]]);
    const series = [{ points: past, colour: M.trackColour(t.id), dashed: false }];
    if (t.path_kind === "ballistic") series.push({ points: t.path.map(p => [r(p[0], p[1]), p[2] / 1e3]), colour: M.trackColour(t.id), dashed: true });
    document.getElementById("profile-title").textContent = `track ${t.id}: altitude against range from ${t.launch ? "the launch point" : "first fix"}`;
    M.drawProfile(document.getElementById("profile"), series, "");
  }

  // The releasability label of what is shown (classification, releasable-to nations, policy), and the
  // updates the console refused because their label does not release them to its nation.
  function renderLabel(st) {
    const banner = document.getElementById("label-banner");
    const label = st && st.label;
    const refused = st && st.refused ? Object.entries(st.refused) : [];
    let text = label ? label.marking : "no releasability label yet";
    if (refused.length) text += " — refused (not shown): " + refused.map(([r, n]) => `${n} ${r.replace("_", " ")}`).join(", ");
    banner.textContent = text;
    banner.className = "label-banner" + (label ? "" : " none") + (refused.length ? " refused" : "");
    banner.dataset.classification = label ? label.classification : "";
    banner.dataset.releasableTo = label ? label.releasable_to.join(",") : "";
  }

  function renderHeader(nowMs) {
    const feed = document.getElementById("feed");
    const st = state.status;
    const silent = (Date.now() - state.lastMessageWall) / 1e3;
    let text, live = false;
    if (!state.connected) text = "stale: web server unreachable";
    else if (silent > FEED_STALE_S) text = `stale: nothing for ${silent.toFixed(0)} s`;
    else if (st && st.state !== "live") text = `stale: fusion service ${st.state}`;
    else { text = "live"; live = true; }
    feed.textContent = text;
    feed.className = "pill " + (live ? "live" : "stale");
    document.body.dataset.feed = live ? "live" : "stale";
    document.getElementById("view").textContent = "view " + String(state.view).toUpperCase();
    renderLabel(st);
    document.getElementById("seq").textContent = stats.lastSeq !== null ? `seq ${stats.lastSeq}` : "";
    document.getElementById("clock").textContent = new Date(nowMs).toISOString().slice(11, 19) + " UTC (picture clock" +
      (Math.abs(state.clock.rate - 1) > 0.2 ? ` ×${state.clock.rate.toFixed(1)}` : "") + ")";
  }

  // Until the user pans or zooms, keep every track, its ballistic path, launch point and impact point in view
  // (not a boost-phase corridor: its mean can be thousands of km off).
  let userMoved = false, fitting = false;
  function autoFit() {
    if (userMoved || !state.tracks.size) return;
    const b = L.latLngBounds([]);
    for (const t of state.tracks.values()) {
      b.extend(ll(t.lat, t.lon));
      if (t.path_kind === "ballistic") for (const p of t.path) b.extend(ll(p[0], p[1]));
      if (t.launch) b.extend(ll(t.launch.lat, t.launch.lon));
      if (t.impact && t.impact.smaj_m < 2e6) b.extend(ll(t.impact.lat, t.impact.lon));
    }
    if (!b.isValid() || map.getBounds().contains(b)) return;
    fitting = true;
    map.fitBounds(b.pad(0.1), { animate: false, maxZoom: 6 });
    fitting = false;
  }

  // full: every track (staleness, selection); else only the tracks changed since the last frame
  function render(full) {
    full = full === true;
    state.dirty = false;
    if (!map) return;
    const started = performance.now();
    const nowMs = pictureNowMs();
    for (const t of state.tracks.values()) {
      if (full || state.changed.has(t.id)) drawTrack(t, (nowMs - t.t_ms) / 1e3 > TRACK_STALE_S);
    }
    state.changed.clear();
    autoFit();
    M.highlightAreas(areaLayers, [...state.tracks.values()]);
    renderTable(nowMs);
    renderProfile();
    renderHeader(nowMs);
    const wall = Date.now();
    for (const [seq, recv, sent, arrived] of state.pending) {  // every update drawn in this frame, coalesced ones included
      if (seq in stats.rendered) continue;
      stats.rendered[seq] = wall;
      if (recv && sent) stats.parts[seq] = [sent - recv, arrived - sent, wall - arrived];  // server, transport, page
      stats.renderedSeqs.push(seq);
      if (stats.renderedSeqs.length > 5000) { const gone = stats.renderedSeqs.shift(); delete stats.rendered[gone]; delete stats.parts[gone]; }
      if (recv) { stats.lagsMs.push(wall - recv); if (stats.lagsMs.length > 5000) stats.lagsMs.shift(); }
    }
    state.pending = [];
    stats.renderMs.push(performance.now() - started);
    if (stats.renderMs.length > 2000) stats.renderMs.shift();
    if (stats.firstRenderMs === null && state.tracks.size) stats.firstRenderMs = performance.now();
  }

  let ticks = 0;
  function tick() {  // countdowns between messages; once a second, everything (stale marks)
    if (!map) return;
    if (++ticks % 4 === 0) { render(true); return; }
    const nowMs = pictureNowMs();
    document.querySelectorAll("#tracks td.tti").forEach(td => {
      const t = state.tracks.get(Number(td.parentElement.dataset.id));
      if (!t || !t.impact) return;
      const tti = (t.impact.t_ms - nowMs) / 1e3;
      td.textContent = M.fmtCountdown(tti);
      td.dataset.tti = tti.toFixed(1);
    });
    renderHeader(nowMs);
  }

  function select(id) {
    state.selected = state.selected === id ? null : id;
    render(true);
  }

  function connect() {
    const es = new EventSource("/events");
    es.onopen = () => { state.connected = true; };
    es.onmessage = ev => { const arrived = Date.now(); apply(JSON.parse(ev.data), arrived); };
    es.onerror = () => { state.connected = false; renderHeader(pictureNowMs()); };  // EventSource retries by itself
  }

  document.querySelector("#tracks tbody").addEventListener("click", ev => {
    const tr = ev.target.closest("tr");
    if (tr) select(Number(tr.dataset.id));
  });

  fetch("/static/map/areas.geojson").then(r => r.json()).then(areas => {
    ({ map, areaLayers } = M.createMap("map", areas));
    map.on("dragstart", () => { userMoved = true; });
    map.on("zoomstart", () => { if (!fitting) userMoved = true; });
    render(true);
    setInterval(tick, 250);
    connect();
  });
})();
