// Map tab: the chunks as points (PCA of their stored vectors), coloured by cluster or tag; hover shows a
// chunk, click opens it, a search highlights its hits; "more like this" lists similar documents; the
// duplicates view lists near-duplicate groups with a diff of their texts. Canvas only, no library.
import { getJSON, sendJSON } from "./api.js";
import { t } from "./i18n.js";
import { $, el, fill, openChunk, showError, shortSource } from "./ui.js";

// the same palette as localkb.mapping.plot
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];
const GREY = "#999999";
const PAD = 14;

let data = null;          // the /api/map answer
let colourBy = "cluster";
let marked = new Set();   // chunk ids to ring (search hits, similar documents' chunks)
let screen = [];          // [x, y, point] in canvas pixels

function colourOf(point, tags) {
  if (colourBy === "tag") {
    const tag = (point.tags || [])[0];
    return tag === undefined ? GREY : PALETTE[tags.indexOf(tag) % PALETTE.length];
  }
  return point.cluster === null || point.cluster === undefined ? GREY : PALETTE[point.cluster % PALETTE.length];
}

function draw() {
  const canvas = $("#map-canvas");
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 720;
  const h = canvas.clientHeight || 520;
  canvas.width = w * ratio; canvas.height = h * ratio;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!data) return;
  const tags = [...new Set(data.points.flatMap((p) => p.tags || []))].sort();
  screen = data.points.map((p) => [PAD + (p.x + 1) / 2 * (w - 2 * PAD), PAD + (1 - (p.y + 1) / 2) * (h - 2 * PAD), p]);
  for (const [x, y, p] of screen) {
    ctx.globalAlpha = marked.size && !marked.has(p.id) ? 0.25 : 0.85;
    ctx.fillStyle = colourOf(p, tags);
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fill();
  }
  ctx.globalAlpha = 1;
  ctx.lineWidth = 2; ctx.strokeStyle = "#111";
  for (const [x, y, p] of screen) {
    if (marked.has(p.id)) { ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke(); }
  }
  canvas.dataset.points = String(screen.length);
  canvas.dataset.marked = String(screen.filter(([, , p]) => marked.has(p.id)).length);
  renderLegend(tags);
}

function renderLegend(tags) {
  const items = colourBy === "tag"
    ? tags.map((tag, i) => [PALETTE[i % PALETTE.length], tag])
    : (data.clusters || []).map((c) => [PALETTE[c.id % PALETTE.length], `${c.id} · ${c.label} (${c.size})`]);
  if (!items.length) items.push([GREY, colourBy === "tag" ? t("map.notags") : t("map.noclusters")]);
  fill($("#map-legend"), ...items.map(([colour, name]) => el("li", { class: "small" },
    el("span", { style: `display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;background:${colour}` }),
    name)));
}

function nearest(event) {
  const rect = $("#map-canvas").getBoundingClientRect();
  const mx = event.clientX - rect.left;
  const my = event.clientY - rect.top;
  let best = null;
  let bestD = 64; // within 8 px
  for (const [x, y, p] of screen) {
    const d = (x - mx) ** 2 + (y - my) ** 2;
    if (d < bestD) { bestD = d; best = [x, y, p]; }
  }
  return best;
}

function hover(event) {
  const tip = $("#map-tip");
  const hit = nearest(event);
  if (!hit) { tip.hidden = true; return; }
  const [x, y, p] = hit;
  const cluster = (data.clusters || []).find((c) => c.id === p.cluster);
  fill(tip, el("div", { class: "small muted" }, shortSource(p.source), cluster ? ` · ${cluster.label}` : ""),
    el("div", {}, p.text));
  tip.dataset.chunk = p.id;
  tip.style.left = `${Math.min(x + 12, $("#map-canvas").clientWidth - 260)}px`;
  tip.style.top = `${y + 12}px`;
  tip.hidden = false;
}

export async function loadMap() {
  try {
    data = await getJSON("/api/map");
  } catch (err) { return showError(err); }
  $("#map-meta").textContent = t("map.shown", { shown: data.shown, total: data.total });
  draw();
}

async function highlightSearch(event) {
  event.preventDefault();
  const query = $("#map-query").value.trim();
  if (!query) { marked = new Set(); draw(); return; }
  let result;
  try { result = await sendJSON("/api/search", { query, k: 20 }); } catch (err) { return showError(err); }
  marked = new Set(result.hits.map((h) => h.id));
  fill($("#map-side"), el("h4", {}, t("map.hits", { n: result.hits.length })),
    result.reason ? el("p", { class: "small muted" }, result.reason) : null,
    el("ol", { class: "small" }, ...result.hits.map((h) => el("li", { class: "linklike", onclick: () => openChunk(h.id) },
      `${h.score.toFixed(3)} ${shortSource(h.source)}`))));
  draw();
}

/** "More like this" for a document source or a chunk id: similar documents, ringed on the map. */
export async function moreLikeThis(target) {
  document.querySelector('nav [data-tab="map"]').click();
  let result;
  try { result = await getJSON(`/api/similar?target=${encodeURIComponent(target)}&k=5`); } catch (err) { return showError(err); }
  if (!data) await loadMap();
  const sources = new Set(result.similar.map((s) => s.source));
  marked = new Set(data.points.filter((p) => sources.has(p.source)).map((p) => p.id));
  fill($("#map-side"), el("h4", {}, t("map.similar", { target: shortSource(result.target) })),
    el("ol", { id: "similar-list", class: "small" }, ...result.similar.map((s) => el("li", {},
      el("b", {}, `${s.score.toFixed(3)} ${shortSource(s.source)}`),
      ...s.pairs.slice(0, 1).map((p) => el("div", { class: "muted linklike", onclick: () => openChunk(p.chunk_id) }, p.text))))));
  draw();
}

function renderOps(ops) {
  return el("div", { class: "small" }, ...ops.map((op) => el(op.op === "+" ? "ins" : "del", {
    style: op.op === "+" ? "background:#e6ffec;text-decoration:none;display:block" : "background:#ffebe9;display:block",
  }, `${op.op} ${op.text}`)));
}

async function showDuplicates() {
  fill($("#map-side"), el("p", { class: "muted" }, "…"));
  let result;
  try { result = await getJSON("/api/dedup"); } catch (err) { return showError(err); }
  const groups = result.groups.map((g) => el("div", { class: "dup-group", style: "border-top:1px solid #ddd;padding:.4rem 0" },
    el("b", {}, t("map.group", { id: g.id, n: g.members.length })),
    el("ul", { class: "small" }, ...g.members.map((m, i) => el("li", { class: "linklike", onclick: () => openChunk(m.chunk_id) },
      `${i === 0 ? t("map.kept") : m.score.toFixed(3)} · ${shortSource(m.source)}`))),
    ...g.differs.map((d) => renderOps(d.ops))));
  fill($("#map-side"), el("h4", {}, t("map.dups", { n: result.groups.length })),
    el("p", { class: "small muted" }, result.criterion),
    groups.length ? el("div", { id: "dup-list" }, ...groups) : el("p", { class: "muted" }, t("map.nodups")));
  marked = new Set(result.groups.flatMap((g) => g.members.map((m) => m.chunk_id)));
  draw();
}

async function recluster() {
  $("#map-meta").textContent = "…";
  try { await sendJSON("/api/clusters", { k: "auto" }); } catch (err) { return showError(err); }
  await loadMap();
}

export function initMap() {
  const canvas = $("#map-canvas");
  canvas.addEventListener("mousemove", hover);
  canvas.addEventListener("mouseleave", () => { $("#map-tip").hidden = true; });
  canvas.addEventListener("click", (event) => { const hit = nearest(event); if (hit) openChunk(hit[2].id); });
  $("#map-colour").addEventListener("change", (e) => { colourBy = e.target.value; draw(); });
  $("#map-search-form").addEventListener("submit", highlightSearch);
  $("#map-dups").addEventListener("click", showDuplicates);
  $("#map-recluster").addEventListener("click", recluster);
  window.addEventListener("resize", () => { if (!$("#tab-map").hidden) draw(); });
}
