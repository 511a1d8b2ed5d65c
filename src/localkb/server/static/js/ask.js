// Ask tab: the answer streams in as the model writes it; citations [n] open the cited chunk. After it:
// the model that answered, why it refused, citations moved or unsupported, and every chunk cut to fit.
import { askStream } from "./api.js";
import { t } from "./i18n.js";
import { $, alsoIn, el, escapeHtml, openChunk, queryTerms, showError, shortSource } from "./ui.js";

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

/** The answer as HTML: each checked sentence in its own span, the unsupported ones marked. */
function answerHtml(result) {
  const sentences = result.abstained ? [] : (result.sentences || []);
  if (!sentences.length) return linkCitations(result.answer, result.citations);
  return sentences.map((s) => `<span class="sentence${s.supported ? "" : " unsupported"}" data-supported="${s.supported}"`
    + (s.quotes ? ` data-quotes="${escapeHtml(JSON.stringify(s.quotes))}"` : "")
    + ` data-score="${s.support_score}"${s.supported ? "" : ` title="${escapeHtml(t(s.quotes ? "ask.quoteNotFound" : "ask.sentenceUnsupported"))}"`}>`
    + `${linkCitations(s.text, result.citations)}</span>`).join(" ");
}

/** One note per thing the user should know to check the answer: moved citations, the withheld draft, each cut chunk. */
function answerNotes(result) {
  const notes = [];
  for (const s of result.sentences || []) {
    if (s.moved) notes.push(el("li", { class: "moved" }, `“${s.text}” — ${t("ask.moved", { from: s.cited.map((n) => `[${n}]`).join("") })}`));
  }
  if (result.draft) notes.push(el("li", { class: "draft" }, t("ask.draft"), " “", result.draft, "”"));
  const window = result.budget ? result.budget.window : "?";
  for (const c of result.cut_chunks || []) {
    notes.push(el("li", { class: "cut", dataset: { rank: c.rank, tokensCut: c.tokens_cut, dropped: String(c.dropped) } },
      t("ask.cut", { window }) + ` #${c.rank} ${shortSource(c.source)} ` + (c.dropped
        ? t("ask.cutDropped", { tokens: c.tokens }) : t("ask.cutShort", { cut: c.tokens_cut, tokens: c.tokens }))));
  }
  return notes;
}

async function runAsk(event) {
  event.preventDefault();
  showError(null);
  const question = $("#ask-input").value.trim();
  if (!question) return;
  const box = $("#ask-answer");
  const button = $("#ask-form button");
  const refusal = $("#ask-refusal");
  box.textContent = "";
  refusal.hidden = true;
  refusal.textContent = "";
  delete refusal.dataset.because;
  $("#ask-citations").replaceChildren();
  $("#ask-notes").replaceChildren();
  $("#ask-status").textContent = t("ask.thinking");
  button.disabled = true;
  let streamed = "";
  const started = performance.now();
  try {
    const result = await askStream({ question, quote: $("#ask-quote").checked }, (piece) => { streamed += piece; box.textContent = streamed; });
    const terms = queryTerms(question);
    box.innerHTML = answerHtml(result);
    box.querySelectorAll("a.cite").forEach((a) => a.addEventListener("click", () => openChunk(a.dataset.chunk, terms)));
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    const first = result.first_token_seconds;
    $("#ask-status").textContent = result.abstained_because === "retrieval"
      ? t("ask.notAsked", { model: result.model, s: secs })
      : t("ask.done", { model: result.model, s: secs })
        + (first === null || first === undefined ? "" : " " + t("ask.firstToken", { s: first.toFixed(1) }));
    $("#ask-status").dataset.model = result.model;
    if (result.abstained_because) {
      refusal.textContent = t(`ask.because.${result.abstained_because}`, { model: result.model });
      refusal.dataset.because = result.abstained_because;
      refusal.hidden = false;
    }
    $("#ask-citations").replaceChildren(...result.citations.map((c) => el("li", {
      dataset: { chunk: c.chunk_id, n: c.n, supported: String(c.supported) }, onclick: () => openChunk(c.chunk_id, terms),
    }, el("a", { class: "cite" }, `[${c.n}]`), " ", el("strong", { title: c.source }, shortSource(c.source)), " — ",
    el("span", { class: "muted" }, c.text.length > 160 ? c.text.slice(0, 160) + "…" : c.text), alsoIn(c.sources),
    c.supported ? "" : el("span", { class: "status-warn" }, ` (${t("ask.unsupported")})`))));
    $("#ask-notes").replaceChildren(...answerNotes(result));
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
