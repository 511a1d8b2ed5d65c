// Overview tab: KB statistics, drag-and-drop upload with per-file progress, ingest jobs.
import { getJSON, uploadFile } from "./api.js";
import { t } from "./i18n.js";
import { $, el, formatBytes, showError } from "./ui.js";

let stats = null;
const listeners = [];

export function onKBChanged(fn) { listeners.push(fn); }
function changed() { listeners.forEach((fn) => fn()); }

export function currentStats() { return stats; }

export async function loadStats() {
  stats = await getJSON("/api/stats");
  const cards = [
    ["stats.documents", stats.documents], ["stats.chunks", stats.chunks], ["stats.vectors", stats.vectors],
    ["stats.size", formatBytes(stats.bytes)], ["stats.model", stats.model, true], ["stats.dim", stats.dim],
    ["stats.store", stats.store, true], ["stats.llm", stats.server.llm || t("stats.none"), true],
  ];
  $("#stats-cards").replaceChildren(...cards.map(([key, value, long]) => el("div", { class: "card", dataset: { stat: key } },
    el("div", { class: "label" }, t(key)), el("div", { class: long ? "value long" : "value" }, value))));
  $("#upload-hint").textContent = t("upload.hint", { mb: stats.server.max_upload_mb });
  renderCalibration().catch(showError);
  return stats;
}

// The calibrated cut-off and where it came from: the bank's best scores as bars, the cut-off as a line.
async function renderCalibration() {
  let box = $("#calibration");
  if (!box) {
    box = el("div", { id: "calibration", class: "calibration" });
    $("#stats-cards").after(box);
  }
  const cal = await getJSON("/api/calibration");
  if (cal.cutoff === null) { box.replaceChildren(); return; }
  const scores = cal.bank.map((b) => b.score);
  const lo = Math.min(...scores, cal.cutoff) - 0.02, hi = Math.max(...scores, cal.cutoff) + 0.02;
  const W = 360, H = 90, bins = 24, counts = new Array(bins).fill(0);
  scores.forEach((s) => { counts[Math.min(bins - 1, Math.floor(((s - lo) / (hi - lo)) * bins))] += 1; });
  const top = Math.max(...counts, 1), x = (v) => ((v - lo) / (hi - lo)) * W;
  const NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg");
  const add = (tag, attrs) => { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); svg.append(n); return n; };
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 14}`);
  svg.setAttribute("class", "cal-chart");
  counts.forEach((c, i) => { if (c) add("rect", { x: (i * W) / bins + 1, y: H - (c / top) * H, width: W / bins - 2, height: (c / top) * H, class: "cal-bar" }); });
  add("line", { x1: x(cal.cutoff), x2: x(cal.cutoff), y1: 0, y2: H, class: "cal-cut" });
  [[lo, "start"], [cal.cutoff, "middle"], [hi, "end"]].forEach(([v, anchor]) => {
    add("text", { x: x(v), y: H + 12, class: "cal-tick", "text-anchor": anchor }).textContent = v.toFixed(2);
  });
  const r = cal.calibration;
  box.replaceChildren(el("h3", {}, t("cal.title")), svg, el("p", { class: "muted" }, t("cal.text", {
    cutoff: cal.cutoff.toFixed(3), n: scores.length, median: r.bank_scores.median, max: r.bank_scores.max,
    method: r.method, spread: r.spread })));
}

function statusText(job, source) {
  if (job.status === "failed") return [t("upload.failed") + ": " + (job.error?.message || ""), "status-bad"];
  if (job.status !== "done") return [t(job.status === "queued" ? "upload.queued" : "upload.ingesting"), "status-warn"];
  const skipped = (job.report?.skipped || []).find((s) => s.path === source);
  if (skipped) return [`${t("upload.skipped")}: ${skipped.error}`, "status-bad"];
  const r = job.report || {};
  if (r.added) return [t("upload.added"), "status-ok"];
  if (r.updated) return [t("upload.updated"), "status-ok"];
  return [t("upload.unchanged"), "status-ok"];
}

async function waitForJob(id, onUpdate) {
  for (;;) {
    const job = await getJSON(`/api/jobs/${id}`);
    onUpdate(job);
    if (job.status === "done" || job.status === "failed") return job;
    await new Promise((r) => setTimeout(r, 400));
  }
}

async function uploadOne(file) {
  const bar = el("progress", { max: 1, value: 0 });
  const status = el("span", { class: "status-warn" }, t("upload.sending"));
  const row = el("li", { dataset: { file: file.name } }, el("span", { class: "name", title: file.name }, file.name), bar, status);
  $("#upload-list").prepend(row);
  try {
    const job = await uploadFile(file, (f) => { bar.value = f; });
    bar.value = 1;
    const source = job.paths[0];
    const final = await waitForJob(job.id, (j) => {
      const [text, cls] = statusText(j, source);
      status.textContent = text; status.className = cls;
      renderJobs();
    });
    row.dataset.status = final.status === "done" && !(final.report?.skipped || []).length ? "ok" : "bad";
  } catch (err) {
    status.textContent = `${t("upload.failed")}: ${err.message}`;
    status.className = "status-bad";
    row.dataset.status = "bad";
  }
}

export async function uploadFiles(files) {
  showError(null);
  await Promise.all([...files].map(uploadOne));
  await loadStats().catch(showError);
  renderJobs();
  changed();
}

export async function renderJobs() {
  let jobs;
  try { jobs = (await getJSON("/api/jobs")).jobs; } catch (err) { return showError(err); }
  const list = $("#job-list");
  if (!jobs.length) { list.replaceChildren(el("li", { class: "muted" }, t("jobs.none"))); return; }
  list.replaceChildren(...jobs.slice(0, 8).map((job) => {
    const frac = job.files_total ? job.files_done / job.files_total : (job.status === "done" ? 1 : 0);
    const names = job.paths.map((p) => p.split(/[\\/]/).pop()).join(", ");
    const r = job.report;
    const summary = job.status === "failed" ? job.error?.message
      : `${job.files_done}/${job.files_total} ${t("jobs.files")} · ${job.embedded} ${t("jobs.embedded")}`
        + (r && r.skipped.length ? ` · ${r.skipped.length} ${t("upload.skipped")}` : "");
    return el("li", { dataset: { job: job.id, status: job.status } },
      el("span", { class: "name", title: names }, names),
      el("progress", { max: 1, value: frac }),
      el("span", { class: job.status === "failed" ? "status-bad" : job.status === "done" ? "status-ok" : "status-warn" },
        `${t("job." + job.status)} · ${summary}`),
      ...(r?.notes || []).map((note) => el("div", { class: "muted note" }, note)));
  }));
}

export function initOverview() {
  const zone = $("#dropzone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) uploadFiles(e.dataTransfer.files);
  });
  $("#file-input").addEventListener("change", (e) => {
    if (e.target.files.length) uploadFiles(e.target.files);
    e.target.value = "";
  });
}
