// Ask tab: the answer streams in as the model writes it; citations [n] open the cited chunk. After it:
// the model that answered, why it refused, citations moved or unsupported, and every chunk cut to fit.
import { askStream } from "./api.js";
import { t } from "./i18n.js";
import { $, el, escapeHtml, openChunk, queryTerms, showError, shortSource } from "./ui.js";

const CITE = /[\[【]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】]/g;

/** Answer text as HTML with each cited number turned into a link to its chunk. */
function linkCitations(text, citations) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  let out = "";
  let last = 0;
  for (const m of text.matchAll(CITE)) {
    out += escapeHtml(text.slice(last, m.index));
    const nums = m[1].split(/[,，、;]/).map((s) => Number(s.trim()));
    out += nums.map((n) => byN.has(n)
      ? `<a class="cite" data-chunk="${escapeHtml(byN.get(n).chunk_id)}" data-n="${n}">[${n}]</a>` : `[${n}]`).join("");
    last = m.index + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

async function runAsk(event) {
  event.preventDefault();
  showError(null);
  const question = $("#ask-input").value.trim();
  if (!question) return;
  const box = $("#ask-answer");
  const button = $("#ask-form button");
  box.textContent = "";
  $("#ask-citations").replaceChildren();
  $("#ask-notes").replaceChildren();
  $("#ask-status").textContent = t("ask.thinking");
  button.disabled = true;
  let streamed = "";
  const started = performance.now();
  try {
    const result = await askStream({ question }, (piece) => { streamed += piece; box.textContent = streamed; });
    const terms = queryTerms(question);
    box.innerHTML = linkCitations(result.answer, result.citations);
    box.querySelectorAll("a.cite").forEach((a) => a.addEventListener("click", () => openChunk(a.dataset.chunk, terms)));
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    $("#ask-status").textContent = result.abstained_because
      ? t(`ask.because.${result.abstained_because}`, { model: result.model }) + " " + t("ask.done", { model: result.model, s: secs })
      : t("ask.done", { model: result.model, s: secs });
    $("#ask-status").dataset.model = result.model;
    $("#ask-citations").replaceChildren(...result.citations.map((c) => el("li", {
      dataset: { chunk: c.chunk_id, n: c.n, supported: String(c.supported) }, onclick: () => openChunk(c.chunk_id, terms),
    }, el("a", { class: "cite" }, `[${c.n}]`), " ", el("strong", { title: c.source }, shortSource(c.source)), " — ",
    el("span", { class: "muted" }, c.text.length > 160 ? c.text.slice(0, 160) + "…" : c.text),
    c.supported ? "" : el("span", { class: "status-warn" }, ` (${t("ask.unsupported")})`))));
    const notes = [];
    for (const s of result.sentences || []) {
      if (s.moved) notes.push(el("li", {}, `“${s.text}” — ${t("ask.moved", { from: s.cited.map((n) => `[${n}]`).join("") })}`));
    }
    if (result.cut_chunks && result.cut_chunks.length) {
      notes.push(el("li", { class: "cut" }, t("ask.cut", { window: result.budget ? result.budget.window : "?" }) + " " +
        result.cut_chunks.map((c) => `#${c.rank} ${shortSource(c.source)} ` + (c.dropped
          ? t("ask.cutDropped", { tokens: c.tokens }) : t("ask.cutShort", { cut: c.tokens_cut, tokens: c.tokens }))).join("; ")));
    }
    $("#ask-notes").replaceChildren(...notes);
  } catch (err) {
    $("#ask-status").textContent = "";
    showError(err);
  } finally {
    button.disabled = false;
  }
}

export function initAsk() {
  $("#ask-form").addEventListener("submit", runAsk);
}
