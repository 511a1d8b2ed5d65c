// English / 中文 strings. Elements carry data-i18n (text) or data-i18n-placeholder; code calls t(key).

const STRINGS = {
  en: {
    "tab.overview": "Overview", "tab.documents": "Documents", "tab.search": "Search", "tab.ask": "Ask", "tab.sql": "SQL",
    "token.label": "This server needs a token:", "token.save": "Use token",
    "stats.documents": "Documents", "stats.chunks": "Chunks", "stats.vectors": "Vectors", "stats.model": "Model",
    "stats.store": "Store", "stats.size": "Size on disk", "stats.dim": "Dimension", "stats.llm": "LLM",
    "stats.none": "none",
    "cal.title": "Relevance cut-off",
    "cal.text": "Cut-off {cutoff}: a search answers only when its best chunk scores above what everyday text about nothing in this KB scores here — {n} such sentences, median {median}, highest {max} ({method}, spread {spread}). Bars: their best scores; line: the cut-off.",
    "upload.drop": "Drop files here to add them to the knowledge base", "upload.or": "or",
    "upload.choose": "choose files", "upload.hint": "txt, md, pdf, docx, html, csv, json · up to {mb} MB per upload",
    "upload.sending": "uploading", "upload.queued": "queued", "upload.ingesting": "ingesting",
    "upload.added": "added", "upload.updated": "updated", "upload.unchanged": "unchanged", "upload.skipped": "skipped",
    "upload.failed": "failed",
    "job.queued": "queued", "job.running": "running", "job.done": "done", "job.failed": "failed",
    "jobs.title": "Ingest jobs", "jobs.none": "No ingest yet.", "jobs.files": "files", "jobs.embedded": "chunks embedded",
    "docs.prev": "‹ Previous", "docs.next": "Next ›", "docs.pick": "Pick a document to see its chunks.",
    "docs.count": "{n} documents", "docs.chunks": "{n} chunks", "docs.delete": "Delete", "docs.confirm": "Delete {name} from the knowledge base?",
    "docs.empty": "The knowledge base is empty: drop some files on the Overview tab.",
    "search.placeholder": "Search the knowledge base", "search.go": "Search", "search.min": "min score",
    "search.hits": "{n} hits · mode {mode}", "search.exact": "exact match", "search.noexact": "not found verbatim",
    "search.score": "score", "search.weights": "weights dense {dense} / lexical {lexical}",
    "ask.placeholder": "Ask a question about your documents", "ask.go": "Ask", "ask.thinking": "Retrieving and thinking…",
    "ask.done": "Answered by {model} in {s} s", "ask.abstained": "The knowledge base does not seem to hold the answer.",
    "ask.sources": "Sources", "also": "also in {names}",
    "ask.because.retrieval": "Refused: nothing in the knowledge base is relevant enough to this question (the model was not asked).",
    "ask.because.model": "Refused: the model ({model}) read the passages and said they do not contain the answer.",
    "ask.because.unsupported": "Refused: the answer of {model} is not supported by the retrieved passages.",
    "ask.cut": "Cut to fit the {window}-token window:", "ask.cutDropped": "dropped ({tokens} tokens)",
    "ask.cutShort": "shortened by {cut} of {tokens} tokens", "ask.unsupported": "not supported by the passage",
    "ask.moved": "citation moved from {from}",
    "ask.firstToken": "(first token after {s} s)", "ask.notAsked": "Done in {s} s; {model} was not asked.", "ask.draft": "The model wrote (withheld as unsupported):",
    "ask.sentenceUnsupported": "No retrieved passage supports this sentence: check it before relying on it.",
    "ask.quote": "quote",
    "ask.quoteNotFound": "This quote is not in the passage it cites, nor in any other retrieved passage.",
    "sql.placeholder": "Ask the database in plain language", "sql.go": "Run", "sql.dry": "dry run",
    "sql.checkPlaceholder": "…or paste SQL to check it with the guard", "sql.check": "Check",
    "sql.nodb": "No database configured: start the server with --db NAME=URL.", "sql.generated": "Generated SQL",
    "sql.allowed": "allowed by the guard", "sql.rejected": "rejected by the guard", "sql.rows": "{n} rows",
    "sql.attempt": "attempt {n}", "sql.failed": "No usable SQL", "sql.running": "Asking the model…",
    "chunk.title": "Chunk", "chunk.position": "position {n}", "chunk.embedded": "Embedded text",
    "error.auth": "Wrong or missing token.",
    "tab.map": "Map", "map.colour": "colour by", "map.bycluster": "cluster", "map.bytag": "tag",
    "map.placeholder": "Search: highlight the hits on the map", "map.recluster": "Cluster now",
    "map.duplicates": "Duplicates", "map.shown": "{shown} of {total} chunks · PCA of the stored vectors",
    "map.hits": "{n} hits ringed on the map", "map.similar": "More like {target}", "map.more": "More like this",
    "map.dups": "{n} groups of near-duplicates", "map.group": "group {id} · {n} chunks", "map.kept": "kept",
    "map.nodups": "No near-duplicates.", "map.noclusters": "not clustered yet: Cluster now", "map.notags": "no tags",
  },
  zh: {
    "tab.overview": "概览", "tab.documents": "文档", "tab.search": "搜索", "tab.ask": "问答", "tab.sql": "SQL",
    "token.label": "此服务器需要令牌：", "token.save": "使用令牌",
    "stats.documents": "文档", "stats.chunks": "文本块", "stats.vectors": "向量", "stats.model": "模型",
    "stats.store": "存储", "stats.size": "磁盘占用", "stats.dim": "维度", "stats.llm": "大模型",
    "stats.none": "无",
    "cal.title": "相关性阈值",
    "cal.text": "阈值 {cutoff}：只有当最佳文本块的得分高于与本知识库无关的日常句子在此处的得分时，搜索才会给出结果——共 {n} 句，中位数 {median}，最高 {max}（{method}，系数 {spread}）。柱形：这些句子的最佳得分；竖线：阈值。",
    "upload.drop": "把文件拖到这里，加入知识库", "upload.or": "或",
    "upload.choose": "选择文件", "upload.hint": "txt、md、pdf、docx、html、csv、json · 每次上传最多 {mb} MB",
    "upload.sending": "上传中", "upload.queued": "排队中", "upload.ingesting": "入库中",
    "upload.added": "已添加", "upload.updated": "已更新", "upload.unchanged": "未变化", "upload.skipped": "已跳过",
    "upload.failed": "失败",
    "job.queued": "排队中", "job.running": "进行中", "job.done": "完成", "job.failed": "失败",
    "jobs.title": "入库任务", "jobs.none": "还没有入库任务。", "jobs.files": "个文件", "jobs.embedded": "个文本块已向量化",
    "docs.prev": "‹ 上一页", "docs.next": "下一页 ›", "docs.pick": "选择一个文档查看它的文本块。",
    "docs.count": "{n} 个文档", "docs.chunks": "{n} 个文本块", "docs.delete": "删除", "docs.confirm": "从知识库删除 {name}？",
    "docs.empty": "知识库是空的：请在“概览”页拖入文件。",
    "search.placeholder": "搜索知识库", "search.go": "搜索", "search.min": "最低分",
    "search.hits": "{n} 条结果 · 模式 {mode}", "search.exact": "精确匹配", "search.noexact": "未找到原文",
    "search.score": "分数", "search.weights": "权重 向量 {dense} / 关键词 {lexical}",
    "ask.placeholder": "就你的文档提一个问题", "ask.go": "提问", "ask.thinking": "正在检索并思考…",
    "ask.done": "由 {model} 回答，用时 {s} 秒", "ask.abstained": "知识库里似乎没有答案。",
    "ask.sources": "来源", "also": "也在 {names}",
    "ask.because.retrieval": "已拒答：知识库中没有与该问题足够相关的内容（未调用模型）。",
    "ask.because.model": "已拒答：模型（{model}）读过段落，认为其中没有答案。",
    "ask.because.unsupported": "已拒答：{model} 的回答得不到检索段落的支持。",
    "ask.cut": "为放入 {window} 个词元的上下文窗口而截取：", "ask.cutDropped": "已丢弃（{tokens} 个词元）",
    "ask.cutShort": "缩短了 {tokens} 个词元中的 {cut} 个", "ask.unsupported": "段落不支持此句",
    "ask.moved": "引用已从 {from} 移动",
    "ask.firstToken": "（{s} 秒后出现第一个词元）", "ask.notAsked": "用时 {s} 秒；未调用 {model}。", "ask.draft": "模型写的是（因缺乏支持而未作为答案）：",
    "ask.sentenceUnsupported": "没有检索到的段落支持这句话：使用前请核对。",
    "ask.quote": "引用原文",
    "ask.quoteNotFound": "这段引文不在它标注的段落里，也不在其他检索到的段落里。",
    "sql.placeholder": "用自然语言询问数据库", "sql.go": "运行", "sql.dry": "仅生成",
    "sql.checkPlaceholder": "…或粘贴 SQL，用守卫检查", "sql.check": "检查",
    "sql.nodb": "未配置数据库：启动时使用 --db 名称=URL。", "sql.generated": "生成的 SQL",
    "sql.allowed": "守卫允许", "sql.rejected": "守卫拒绝", "sql.rows": "{n} 行",
    "sql.attempt": "第 {n} 次尝试", "sql.failed": "没有可用的 SQL", "sql.running": "正在询问模型…",
    "chunk.title": "文本块", "chunk.position": "位置 {n}", "chunk.embedded": "向量化的文本",
    "error.auth": "令牌错误或缺失。",
    "tab.map": "地图", "map.colour": "着色", "map.bycluster": "聚类", "map.bytag": "标签",
    "map.placeholder": "搜索：在地图上标出结果", "map.recluster": "重新聚类", "map.duplicates": "重复内容",
    "map.shown": "显示 {shown} / {total} 个文本块 · 向量主成分投影", "map.hits": "{n} 条结果已在地图上标出",
    "map.similar": "与 {target} 相似", "map.more": "相似内容", "map.dups": "{n} 组近似重复",
    "map.group": "第 {id} 组 · {n} 个文本块", "map.kept": "保留", "map.nodups": "没有近似重复。",
    "map.noclusters": "尚未聚类：点“重新聚类”", "map.notags": "无标签"
  },
};

let lang = localStorage.getItem("localkb.lang")
  || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");

export function t(key, vars = {}) {
  const text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function currentLang() { return lang; }

export function setLang(next) {
  lang = next;
  localStorage.setItem("localkb.lang", next);
  applyStrings();
}

export function applyStrings(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  const toggle = document.getElementById("lang-toggle");
  if (toggle) toggle.textContent = lang === "zh" ? "English" : "中文";
}
