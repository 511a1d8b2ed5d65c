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
  return stats;
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
