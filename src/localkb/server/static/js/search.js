// Search tab: query, mode toggle, k and min score; hits with scores, exact-match flags, highlighted terms.
import { sendJSON } from "./api.js";
import { t } from "./i18n.js";
import { moreLikeThis } from "./map.js";
import { $, alsoIn, el, fill, highlight, openChunk, queryTerms, showError, shortSource } from "./ui.js";

let mode = null;

export function setModes(modes) {
  const box = $("#mode-toggle");
  if (!mode || !modes.includes(mode)) mode = modes.includes("hybrid") ? "hybrid" : modes[0];
  box.replaceChildren(...modes.map((m) => el("button", {
    type: "button", role: "radio", "aria-checked": String(m === mode), dataset: { mode: m },
    onclick: () => { mode = m; setModes(modes); },
  }, m)));
}

function renderHit(hit, terms, top) {
  const width = Math.max(2, Math.min(100, top > 0 ? (hit.score / top) * 100 : 0));
  const signals = Object.entries(hit.scores || {}).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(" · ");
  return el("li", { class: "hit", dataset: { chunk: hit.id }, onclick: () => openChunk(hit.id, terms) },
    el("div", { class: "head" },
      el("span", { class: "score", title: t("search.score") }, hit.score.toFixed(3)),
      el("span", { class: "source", title: hit.source }, shortSource(hit.source)),
      ...hit.tags.map((tag) => el("span", { class: "tag" }, tag))),
    alsoIn(hit.sources),
    el("div", { class: "bar" }, el("span", { style: `width:${width}%` })),
    el("div", { class: "text", html: highlight(hit.text, terms) }),
    el("div", { class: "meta" }, el("span", {}, signals),
      hit.matched_terms.length ? el("span", {}, "✓ " + hit.matched_terms.join(", ")) : null,
      el("button", { type: "button", class: "ghost small more-like", onclick: (e) => { e.stopPropagation(); moreLikeThis(hit.id); } }, t("map.more"))));
}

async function runSearch(event) {
  event.preventDefault();
  showError(null);
  const query = $("#search-input").value.trim();
  if (!query) return;
  const minRaw = $("#search-min").value.trim();
  const body = { query, k: Number($("#search-k").value) || 5, mode };
  if (minRaw) body.min_score = isNaN(Number(minRaw)) ? minRaw : Number(minRaw);
  let result;
  try { result = await sendJSON("/api/search", body); } catch (err) { return showError(err); }
  const terms = queryTerms(query, result.hits.flatMap((h) => h.matched_terms));
  const flags = Object.entries(result.exact_match || {}).map(([term, found]) =>
    el("span", { class: `flag ${found ? "yes" : "no"}`, title: found ? t("search.exact") : t("search.noexact") },
      `${found ? "✓" : "✗"} ${term}`));
  fill($("#search-meta"),
    el("div", {}, t("search.hits", { n: result.hits.length, mode: result.mode }),
      result.min_score != null ? ` · min ${result.min_score.toFixed(3)}` : "",
      result.weights ? ` · ${t("search.weights", { dense: result.weights.dense.toFixed(2), lexical: result.weights.lexical.toFixed(2) })}` : "",
      result.reason ? ` · ${result.reason}` : ""),
    flags.length ? el("div", { class: "flags" }, ...flags) : null);
  const top = result.hits.length ? Math.max(...result.hits.map((h) => h.score)) : 0;
  $("#search-results").replaceChildren(...result.hits.map((h) => renderHit(h, terms, top)));
}

export function initSearch() {
  $("#search-form").addEventListener("submit", runSearch);
}
