// Small shared helpers: element building, escaping, term highlighting, errors, the chunk dialog.
import { getJSON } from "./api.js";
import { t } from "./i18n.js";

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "html") node.innerHTML = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Replace `node`'s children, leaving out null/undefined/false (conditional parts). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const STOP = new Set(["the", "a", "an", "of", "and", "or", "to", "in", "is", "are", "what", "how", "which", "for", "on",
  "with", "does", "do", "who", "why", "when", "where", "it", "be", "by", "as", "at"]);

/** Terms worth highlighting: code-like terms the server matched, query words, Chinese bigrams. */
export function queryTerms(query, matched = []) {
  const terms = new Set(matched.filter(Boolean));
  for (const word of query.match(/[\p{L}\p{N}_.\-]+/gu) || []) {
    if (/\p{Script=Han}/u.test(word)) {
      for (const run of word.match(/\p{Script=Han}+/gu) || []) {
        if (run.length <= 2) terms.add(run);
        else for (let i = 0; i + 2 <= run.length; i++) terms.add(run.slice(i, i + 2));
      }
      for (const rest of word.split(/\p{Script=Han}+/u)) if (rest.length > 1) terms.add(rest);
    } else if (word.length > 1 && !STOP.has(word.toLowerCase())) {
      terms.add(word);
    }
  }
  return [...terms].sort((a, b) => b.length - a.length);
}

/** HTML of `text` with every term wrapped in <mark> (case-insensitive), everything else escaped. */
export function highlight(text, terms) {
  if (!terms.length) return escapeHtml(text);
  const pattern = new RegExp(terms.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "giu");
  let out = "";
  let last = 0;
  for (const m of String(text).matchAll(pattern)) {
    out += escapeHtml(text.slice(last, m.index)) + "<mark>" + escapeHtml(m[0]) + "</mark>";
    last = m.index + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

export function shortSource(source) {
  const parts = String(source || "").split(/[\\/]/);
  return parts.length > 2 ? "…/" + parts.slice(-2).join("/") : source;
}

/** "also in …": the other documents a chunk is stored for (the same text in several files), or nothing. */
export function alsoIn(sources) {
  const others = (sources || []).slice(1);
  return others.length
    ? el("div", { class: "muted small also-in", title: others.join("\n") }, t("also", { names: others.map(shortSource).join(", ") }))
    : null;
}

export function formatBytes(n) {
  if (n == null) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function showError(err) {
  const bar = $("#error-bar");
  if (!err) { bar.hidden = true; return; }
  if (err.status === 401) { $("#token-bar").hidden = false; bar.textContent = t("error.auth"); }
  else bar.textContent = `${err.body && err.body.error ? err.body.error + ": " : ""}${err.message}`;
  bar.hidden = false;
}

/** Open the dialog showing one chunk (text, sources, tags, position, embedded text). */
export async function openChunk(chunkId, terms = []) {
  const dialog = $("#chunk-dialog");
  const body = $("#chunk-body");
  body.replaceChildren(el("p", { class: "muted" }, "…"));
  if (!dialog.open) dialog.showModal();
  try {
    const chunk = await getJSON(`/api/chunks/${encodeURIComponent(chunkId)}`);
    const text = el("div", { class: "text", html: highlight(chunk.text, terms) });
    fill(body,
      el("h3", {}, `${t("chunk.title")} · ${shortSource(chunk.source)}`),
      el("div", { class: "meta small muted" },
        el("span", {}, t("chunk.position", { n: chunk.position })), " · ",
        el("code", {}, chunk.id.slice(0, 16) + "…"), " ",
        ...chunk.tags.map((tag) => el("span", { class: "tag" }, tag))),
      el("p", { class: "small muted" }, chunk.sources.join(" · ")),
      text,
      chunk.embed_text !== chunk.text
        ? el("details", {}, el("summary", { class: "small" }, t("chunk.embedded")), el("pre", { class: "small" }, chunk.embed_text))
        : null,
    );
    body.dataset.chunkId = chunk.id;
  } catch (err) {
    body.replaceChildren(el("p", { class: "status-bad" }, err.message));
  }
}
