// Tessera dashboard: polls the silo's /api once a second and draws everything itself (SVG), with no
// dependencies, so it works on a cluster with no outside network.
"use strict";

const POLL_MS = 1000;
const COLORS = ["#2f6fde", "#e8743b", "#1f9d55", "#9b59b6", "#c98a00", "#d23b3b"];
const LOG_LINES = 20;
const LEVELS = { verbose: "VRB", debug: "DBG", information: "INF", warning: "WRN", error: "ERR", fatal: "FTL" };
const view = { id: null, next: 0, points: [], logNext: 0, logs: [], detail: null, stage: null, stagePinned: false, tick: 0 };

const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

function num(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  const a = Math.abs(x);
  if (digits !== undefined) return x.toFixed(digits);
  if (Number.isInteger(x) || a >= 10000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(3);
  if (a === 0) return "0";
  return x.toPrecision(3);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// ---- experiment list -------------------------------------------------------------------------------

function renderList(experiments) {
  const list = $("#experiments");
  if (experiments.length === 0) { list.innerHTML = '<li class="muted">none yet</li>'; return; }
  list.innerHTML = experiments.map((e) => {
    const pct = e.fraction === null ? (e.state === "succeeded" ? 100 : 0) : e.fraction * 100;
    const stage = e.current_stage ? `${esc(e.current_stage)} · stage ${e.completed_stages + 1}/${e.total_stages}` : `${e.completed_stages}/${e.total_stages} stages`;
    return `<li class="item${e.id === view.id ? " selected" : ""}" data-id="${esc(e.id)}">
      <span class="badge ${e.state}">${e.state}</span><div class="name">${esc(e.name)}</div>
      <div class="id" title="${esc(e.id)}">${esc(e.id)}</div>
      <div class="muted">${stage}${e.loss !== null ? ` · loss ${num(e.loss)}` : ""}</div>
      <div class="bar"><div style="width:${pct.toFixed(1)}%"></div></div></li>`;
  }).join("");
  list.querySelectorAll("li.item").forEach((li) => li.addEventListener("click", () => select(li.dataset.id)));
  if (!view.id) select(experiments[0].id);
}

function select(id) {
  if (view.id === id) return;
  Object.assign(view, { id, next: 0, points: [], logNext: 0, logs: [], detail: null, stage: null, stagePinned: false });
  location.hash = "#/experiments/" + encodeURIComponent(id);
  $("#main").innerHTML = '<p class="muted empty">loading…</p>';
  poll();
}

// ---- one experiment ----------------------------------------------------------------------------------

function card(label, value, extra = "") {
  return `<div class="card"><div class="label">${label}</div><div class="value">${value}</div>${extra}</div>`;
}

function renderDetail(d) {
  const p = d.progress;
  const stages = [...new Set([...d.stages.map((s) => s.name), ...view.points.map((x) => x.stage)])];
  if (!view.stagePinned || !stages.includes(view.stage)) view.stage = p ? p.stage : stages[stages.length - 1] ?? null;
  const pct = p ? (p.fraction * 100).toFixed(1) : null;
  // Without live progress (finished, or between stages) the cards show the last report of the charted stage.
  const seen = view.points.filter((x) => x.stage === view.stage);
  const last = seen[seen.length - 1];
  const meanSpeed = seen.length ? seen.reduce((a, x) => a + x.images_per_second, 0) / seen.length : null;
  const finished = ["succeeded", "failed", "cancelled", "interrupted"].includes(d.state);
  const cards = [
    card("Stage", d.current_stage ? esc(d.current_stage) : (d.state === "succeeded" ? "done" : "–"), `<div class="muted">${d.stages.filter((s) => s.state === "succeeded").length} of ${d.total_stages} done</div>`),
    card("Step", p ? `${p.step.toLocaleString("en-US")} <small>/ ${p.total_steps.toLocaleString("en-US")}</small>` : (last ? `${last.step.toLocaleString("en-US")} <small>last report</small>` : "–"),
      `<div class="bar"><div id="progress-bar" style="width:${pct ?? (d.state === "succeeded" ? 100 : 0)}%"></div></div>`),
    card("Loss", p ? num(p.loss) : (last ? `${num(last.loss)} <small>last</small>` : "–")),
    card("Throughput", p ? `${num(p.images_per_second, 0)} <small>img/s</small>` : (meanSpeed !== null ? `${num(meanSpeed, 0)} <small>img/s mean</small>` : "–"),
      p && p.steps_per_second ? `<div class="muted">${num(p.steps_per_second, 2)} steps/s</div>` : ""),
    card("Stage ETA", p ? duration(p.eta_seconds) : (finished ? d.state : "–")),
    card("Elapsed", duration(d.elapsed_seconds)),
  ].join("");

  const tabs = stages.length > 1
    ? `<span class="muted"> · stage </span>` + stages.map((s) => `<a href="#" data-stage="${esc(s)}"${s === view.stage ? ' style="font-weight:700"' : ""}>${esc(s)}</a>`).join(" ")
    : "";
  const images = d.artifacts.filter((a) => a.content_type === "image/png");
  const others = d.artifacts.filter((a) => a.content_type !== "image/png");

  $("#main").innerHTML = `
    <div class="title"><h3>${esc(d.name)}</h3><span class="badge ${d.state}">${d.state}</span><span class="id">${esc(d.id)}</span></div>
    ${d.error ? `<div class="error">${esc(d.error)}</div>` : ""}
    <div class="cards">${cards}</div>
    <div class="charts">
      <div class="panel"><h2>Training loss${view.stage ? ` — ${esc(view.stage)}` : ""}${tabs}</h2>
        <svg id="loss-chart" class="chart"></svg>
        <div class="legend"><span><i style="background:${COLORS[0]}"></i>loss (per report)</span><span><i style="background:${COLORS[1]}"></i>smoothed (EMA 0.7)</span></div></div>
      <div class="panel"><h2>Throughput — ${esc(view.stage ?? "")}</h2>
        <svg id="speed-chart" class="chart small"></svg>
        <div class="legend"><span><i style="background:${COLORS[2]}"></i>images / second</span></div></div>
    </div>
    <div class="panel"><h2>Stages</h2>${stageTables(d)}</div>
    ${alignmentPanel(d)}
    <div class="panel"><h2>Log (latest ${LOG_LINES}; all: <code>tessera logs ${esc(d.id)}</code>)</h2>${logTail()}</div>
    <div class="panel"><h2>Images</h2>${images.length ? `<div class="images">${images.map((a) =>
      `<figure><img src="${esc(a.url)}?v=${esc(a.sha256.slice(0, 12))}" alt="${esc(a.name)}"><figcaption>${esc(a.name)} · ${esc(a.stage)}</figcaption></figure>`).join("")}</div>`
      : '<p class="muted">Reconstructions and sample grids appear here when a stage writes them.</p>'}
      ${others.length ? `<table><tr><th>artifact</th><th>stage</th><th class="num">size</th><th>sha-256</th></tr>${others.map((a) =>
        `<tr><td>${a.url ? `<a href="${esc(a.url)}">${esc(a.name)}</a>` : esc(a.name)}</td><td>${esc(a.stage)}</td><td class="num">${bytes(a.length)}</td><td class="muted"><code>${esc(a.sha256.slice(0, 16))}…</code></td></tr>`).join("")}</table>` : ""}
    </div>`;

  $("#main").querySelectorAll("a[data-stage]").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault(); view.stage = a.dataset.stage; view.stagePinned = true; renderDetail(view.detail);
  }));
  drawCharts();
}

// ---- alignment stages: before / after ------------------------------------------------------------------

// Each alignment stage writes <stage>.align.json (the start and the aligned model judged alike). It never changes once
// written, so it is fetched once per content hash and kept.
const alignments = new Map();

function alignmentPanel(d) {
  const files = d.artifacts.filter((a) => a.name.endsWith(".align.json") && a.url);
  for (const a of files) {
    if (alignments.has(a.sha256)) continue;
    alignments.set(a.sha256, null);
    getJson(a.url).then((json) => { alignments.set(a.sha256, json); if (view.detail) renderDetail(view.detail); })
      .catch(() => alignments.delete(a.sha256));
  }
  const sections = files.map((a) => alignments.get(a.sha256)).filter((x) => x);
  if (sections.length === 0) return "";
  return `<div class="panel"><h2>Alignment — before / after</h2>${sections.map(alignmentTable).join("")}</div>`;
}

function alignmentTable(a) {
  const o = a.Objective ?? {};
  const rows = [["before", a.From, a.Before], ["after", a.Stage, a.After]].flatMap(([when, name, m]) => ["guided", "unguided"].map((mode) => {
    const guided = mode === "guided";
    const passes = (m.forward_passes_per_image ?? NaN) * (guided ? 2 : 1);
    return `<tr><td>${when} <span class="muted">(${esc(name)})</span></td><td>${guided ? `guided (cfg ${num(m.guided_cfg)})` : "guidance-free"}</td>
      <td class="num">${num(passes, 0)}</td><td class="num">${num(100 * m[`${mode}_class_accuracy`], 1)}%</td><td class="num">${num(m[`${mode}_fd`], 2)}</td>
      <td class="num">${num(m[`${mode}_inception_score`], 2)}</td><td class="num">${num(m[`${mode}_mean_reward`], 3)}</td><td class="num">${num(m[`${mode}_samples_per_second`], 1)}</td></tr>`;
  })).join("");
  return `<h3 class="align-title">${esc(a.Stage)} <span class="muted">(${esc(a.Kind)} from ${esc(a.From)}; ${num(o.steps, 0)} steps, KL to the start ${num(o.kl_to_start, 2)} nats/image; ${a.SamplesPerClass} samples per class)</span></h3>
    <table class="align-table"><tr><th>generator</th><th>mode</th><th class="num">network evals/image</th><th class="num">class accuracy</th><th class="num">Fréchet distance</th>
    <th class="num">inception score</th><th class="num">mean reward</th><th class="num">samples/s</th></tr>${rows}</table>`;
}

function logTail() {
  if (view.logs.length === 0) return '<p class="muted">no log events on this silo yet</p>';
  const time = (t) => new Date(t).toLocaleTimeString();
  return `<pre class="log" id="log-tail">${view.logs.map((e) =>
    `<span class="lvl ${esc(e.level)}">${time(e.time)} ${LEVELS[e.level] ?? esc(e.level)}</span>${e.stage ? ` [${esc(e.stage)}]` : ""} ${esc(e.message)}${e.exception ? "\n" + esc(e.exception) : ""}`).join("\n")}</pre>`;
}

function bytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function stageTables(d) {
  if (d.stages.length === 0) return '<p class="muted">waiting for the first stage to start</p>';
  const keys = [...new Set(d.stages.flatMap((s) => Object.keys(s.metrics)))].sort();
  const head = `<tr><th>metric</th>${d.stages.map((s) => `<th class="num">${esc(s.name)} <span class="badge ${s.state}" style="float:none">${s.state}</span></th>`).join("")}</tr>`;
  const wall = `<tr><td>wall time</td>${d.stages.map((s) => `<td class="num">${duration(s.wall_seconds)}</td>`).join("")}</tr>`;
  const rows = keys.map((k) => `<tr><td>${esc(k)}</td>${d.stages.map((s) => `<td class="num">${k in s.metrics ? num(s.metrics[k]) : "–"}</td>`).join("")}</tr>`).join("");
  return `<table class="stage-table">${head}${wall}${rows}</table>`;
}

function drawCharts() {
  const pts = view.points.filter((p) => p.stage === view.stage);
  let ema = null;
  const smooth = pts.map((p) => { ema = ema === null ? p.loss : 0.7 * ema + 0.3 * p.loss; return [p.step, ema]; });
  const loss = $("#loss-chart"), speed = $("#speed-chart");
  if (!loss) return;
  loss.dataset.points = String(pts.length);
  // A running stage's x axis spans all its steps, so the curve's length shows progress too.
  const p = view.detail && view.detail.progress;
  const xMax = p && p.stage === view.stage ? p.total_steps : 0;
  lineChart(loss, [{ color: COLORS[0], points: pts.map((p) => [p.step, p.loss]), width: 1.2, opacity: 0.5, dots: true },
    { color: COLORS[1], points: smooth, width: 2 }], "step", "loss", { xMax });
  lineChart(speed, [{ color: COLORS[2], points: pts.map((p) => [p.step, p.images_per_second]), width: 1.8, dots: true }],
    "step", "img/s", { xMax, fromZero: true });
}

// ---- SVG line chart ------------------------------------------------------------------------------------

function niceTicks(lo, hi, count) {
  if (hi <= lo) { hi = lo + 1; }
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function tickLabel(t, step) {
  // As many decimals as the tick step needs (0.025 -> 3), so neighbouring labels never round to the same text.
  let decimals = 0;
  while (decimals < 8 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
  return decimals === 0 ? Math.round(t).toLocaleString("en-US") : t.toFixed(decimals);
}

function lineChart(svg, series, xLabel, yLabel, { xMax = 0, fromZero = false } = {}) {
  const W = svg.clientWidth || 600, H = svg.clientHeight || 260, m = { l: 58, r: 24, t: 10, b: 36 };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    svg.innerHTML = `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="axis-title">waiting for the first progress report…</text>`;
    return;
  }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]).filter(Number.isFinite);
  let x0 = 0, x1 = Math.max(xMax, ...xs), y0 = fromZero ? 0 : Math.min(...ys), y1 = Math.max(...ys);
  if (x1 === x0) x1 = x0 + 1;
  const pad = (y1 - y0) * 0.06 || Math.abs(y1) * 0.1 || 1;
  if (!fromZero) y0 -= pad;
  y1 += pad;
  const X = (x) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  let out = "";
  const yTicks = niceTicks(y0, y1, 5), xTicks = niceTicks(x0, x1, 6);
  for (const t of yTicks) {
    if (t < y0 || t > y1) continue;
    out += `<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${Y(t)}" y2="${Y(t)}"/><g class="axis"><text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${tickLabel(t, yTicks[1] - yTicks[0])}</text></g>`;
  }
  for (const t of xTicks) {
    if (t < x0 || t > x1) continue;
    out += `<line class="grid" x1="${X(t)}" x2="${X(t)}" y1="${m.t}" y2="${H - m.b}"/><g class="axis"><text x="${X(t)}" y="${H - m.b + 15}" text-anchor="middle">${tickLabel(t, Math.max(1, xTicks[1] - xTicks[0]))}</text></g>`;
  }
  out += `<text class="axis-title" x="${(W + m.l) / 2}" y="${H - 4}" text-anchor="middle">${xLabel}</text>`;
  out += `<text class="axis-title" transform="translate(12 ${(H - m.b) / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`;
  for (const s of series) {
    const d = s.points.filter((p) => Number.isFinite(p[1])).map((p, i) => `${i ? "L" : "M"}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join("");
    out += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width}" stroke-opacity="${s.opacity ?? 1}" stroke-linejoin="round"/>`;
    // Dots while the curve is short, so the first reports are visible; the newest point is always marked.
    const finite = s.points.filter((p) => Number.isFinite(p[1]));
    const marked = s.dots && finite.length <= 60 ? finite : finite.slice(-1);
    out += marked.map((p) => `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`).join("");
  }
  svg.innerHTML = out;
}

// ---- cluster ------------------------------------------------------------------------------------------

function renderCluster(c) {
  const silos = c.silos.map((s) => `<tr><td title="${esc(s.address)}">${esc(s.name)}</td><td>${esc(s.status)}</td><td class="num">${s.activations ?? "–"}</td><td class="muted">${duration((Date.now() - Date.parse(s.started_at)) / 1000)}</td></tr>`).join("");
  const queue = c.queue.length ? c.queue.map((q) => `<tr><td>${esc(q.name)}</td><td colspan="3"><span class="badge ${q.state}">${q.state}</span></td></tr>`).join("")
    : '<tr><td colspan="4" class="muted">queue empty</td></tr>';
  $("#cluster").classList.remove("muted");
  $("#cluster").innerHTML = `<table><tr><th>silo</th><th>status</th><th class="num">grains</th><th>up</th></tr>${silos}
    <tr><th colspan="4" style="padding-top:10px">queue (${c.queue.length})</th></tr>${queue}</table>`;
}

// ---- polling ------------------------------------------------------------------------------------------

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const list = await getJson("api/experiments");
    renderList(list.experiments);
    if (view.id) {
      const id = view.id;
      const [detail, page, logs] = await Promise.all([
        getJson(`api/experiments/${encodeURIComponent(id)}`),
        getJson(`api/experiments/${encodeURIComponent(id)}/metrics?since=${view.next}`),
        getJson(`api/experiments/${encodeURIComponent(id)}/logs?since=${view.logNext}`),
      ]);
      if (id === view.id) {
        view.points.push(...page.points);
        view.next = page.next;
        view.logs = [...view.logs, ...logs.events].slice(-LOG_LINES);
        view.logNext = logs.next;
        view.detail = detail;
        renderDetail(detail);
      }
    }
    if (view.tick++ % 3 === 0) renderCluster(await getJson("api/cluster"));
    $("#conn").textContent = `updated ${new Date().toLocaleTimeString()}`;
    $("#conn").classList.remove("down");
  } catch (e) {
    $("#conn").textContent = `silo unreachable (${e.message})`;
    $("#conn").classList.add("down");
  } finally {
    polling = false;
  }
}

const fromHash = decodeURIComponent((location.hash.match(/^#\/experiments\/(.+)$/) || [])[1] || "");
if (fromHash) view.id = fromHash;
window.addEventListener("resize", drawCharts);
poll();
setInterval(poll, POLL_MS);
