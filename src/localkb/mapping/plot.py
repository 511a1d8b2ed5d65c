"""Write the map as a PNG (matplotlib, Agg: no display needed) or a self-contained offline HTML page."""
from __future__ import annotations

import html
import json
from pathlib import Path

from ..errors import MapError, MissingDependency
from .projection import MapPoints

#: the web page uses the same colours (static/js/map.js)
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"]
NO_CLUSTER = "#999999"


def colour(cluster: int | None) -> str:
    return NO_CLUSTER if cluster is None else PALETTE[int(cluster) % len(PALETTE)]


def write_plot(points: MapPoints, path: str | Path) -> Path:
    """Write ``points`` to ``path``: ``.png`` or ``.html``.

    Raises:
        MapError: another file extension. MissingDependency: no matplotlib for a PNG.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise MapError(f"--plot writes .png or .html, not '{out.suffix or out.name}'.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        _png(points, out)
    else:
        out.write_text(_html(points), encoding="utf-8")
    return out


def _names(points: MapPoints) -> dict[int, str]:
    return {int(c["id"]): f"{c['id']}: {c['label']}" for c in points.clusters}


def _png(points: MapPoints, out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependency("--plot map.png needs matplotlib: pip install 'localkb[map]'") from exc
    import warnings

    # Chinese labels: a CJK font when one is installed (Debian: fonts-wqy-microhei), never a warning
    plt.rcParams["font.sans-serif"] = ["DejaVu Sans", "WenQuanYi Micro Hei", "Noto Sans CJK SC"]
    warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
    names = _names(points)
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    groups: dict[int | None, list[dict[str, object]]] = {}
    for p in points.points:
        groups.setdefault(p["cluster"], []).append(p)
    for cluster, ps in sorted(groups.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
        ax.scatter([float(p["x"]) for p in ps], [float(p["y"]) for p in ps], s=14,  # type: ignore[arg-type]
                   c=colour(cluster), alpha=0.8, label=names.get(cluster, "not clustered") if cluster is not None
                   else "not clustered")
    ax.set_title(f"localkb map: {len(points.points)} of {points.total} chunks (PCA)")
    ax.set_xticks([])
    ax.set_yticks([])
    if len(groups) <= 20:
        ax.legend(loc="best", fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _html(points: MapPoints) -> str:
    size = 640
    names = _names(points)
    dots = []
    for p in points.points:
        x = (float(p["x"]) + 1) / 2 * (size - 20) + 10
        y = (1 - (float(p["y"]) + 1) / 2) * (size - 20) + 10
        tip = html.escape(f"{p['source']}\n{names.get(p['cluster'], '')}\n{p['text']}")
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour(p["cluster"])}" '
                    f'data-id="{p["id"]}"><title>{tip}</title></circle>')
    legend = "".join(f'<li><span style="background:{colour(c)}"></span>{html.escape(n)}</li>'
                     for c, n in sorted(names.items()))
    data = html.escape(json.dumps({"total": points.total, "shown": len(points.points)}))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>localkb map</title>
<style>body{{font:14px system-ui,sans-serif;margin:16px;display:flex;gap:16px}}
svg{{border:1px solid #ddd;background:#fff}} ul{{list-style:none;padding:0}}
li span{{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:50%}}</style></head>
<body data-map="{data}"><svg width="{size}" height="{size}" viewBox="0 0 {size} {size}">{''.join(dots)}</svg>
<div><h2>localkb map</h2><p>{len(points.points)} of {points.total} chunks, PCA. Hover a point to read it.</p>
<ul>{legend}</ul></div></body></html>
"""
