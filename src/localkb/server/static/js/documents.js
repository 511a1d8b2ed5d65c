// Documents tab: a page of documents; a document's chunks, in order; delete.
import { getJSON, sendJSON } from "./api.js";
import { t } from "./i18n.js";
import { moreLikeThis } from "./map.js";
import { $, el, formatBytes, showError, shortSource } from "./ui.js";

const PAGE = 50;
let offset = 0;
let selected = null;

export async function loadDocuments() {
  let page;
  try { page = await getJSON(`/api/documents?offset=${offset}&limit=${PAGE}`); } catch (err) { return showError(err); }
  $("#doc-count").textContent = t("docs.count", { n: page.total });
  $("#doc-prev").disabled = offset === 0;
  $("#doc-next").disabled = offset + PAGE >= page.total;
  const list = $("#doc-list");
  if (!page.documents.length) {
    list.replaceChildren(el("li", { class: "muted" }, t("docs.empty")));
    return;
  }
  list.replaceChildren(...page.documents.map((doc) => el("li", {
    class: doc.id === selected ? "active" : "", dataset: { doc: doc.id }, onclick: () => showDocument(doc.id),
  },
  el("div", { class: "src", title: doc.source }, shortSource(doc.source)),
  el("div", { class: "small muted" }, `${doc.format} · ${t("docs.chunks", { n: doc.chunks })} · ${formatBytes(doc.size)} `,
    ...doc.tags.map((tag) => el("span", { class: "tag" }, tag))))));
}

export async function showDocument(id) {
  selected = id;
  document.querySelectorAll("#doc-list li").forEach((li) => li.classList.toggle("active", Number(li.dataset.doc) === id));
  const detail = $("#doc-detail");
  let doc;
  try { doc = await getJSON(`/api/documents/${id}`); } catch (err) { return showError(err); }
  const del = el("button", { class: "ghost", onclick: () => removeDocument(doc) }, t("docs.delete"));
  const more = el("button", { class: "ghost more-like", onclick: () => moreLikeThis(doc.source) }, t("map.more"));
  detail.replaceChildren(
    el("div", { class: "toolbar" }, el("h3", { title: doc.path }, shortSource(doc.source)), el("div", { class: "spacer" }), more, del),
    el("p", { class: "small muted" }, `${doc.path} · ${doc.format} · ${formatBytes(doc.size)} · ${t("docs.chunks", { n: doc.chunks })}`),
    ...doc.chunk_list.map((c) => el("div", { class: "chunk", dataset: { chunk: c.id } },
      el("div", { class: "meta" }, el("span", {}, `#${c.position}`), el("code", {}, c.id.slice(0, 12))),
      c.text)),
  );
}

async function removeDocument(doc) {
  if (!confirm(t("docs.confirm", { name: shortSource(doc.source) }))) return;
  try { await sendJSON(`/api/documents/${doc.id}`, undefined, "DELETE"); } catch (err) { return showError(err); }
  selected = null;
  $("#doc-detail").replaceChildren(el("p", { class: "muted" }, t("docs.pick")));
  await loadDocuments();
}

export function initDocuments() {
  $("#doc-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); loadDocuments(); });
  $("#doc-next").addEventListener("click", () => { offset += PAGE; loadDocuments(); });
}
