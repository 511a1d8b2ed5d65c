"""The house's shape, checked on the source: no import circle inside src/localkb (type-only and lazy
imports count), the subsystems do not import the facade, and no interface reaches into the facade's
private parts or runs SQL on its database."""
from __future__ import annotations

import ast

from .imports import graph, modules

#: circles inside areas other engineers own this session; each is theirs to break (remove the entry then)
#: none left: every import inside src/localkb (type-only and lazy ones included) goes one way
KNOWN_CIRCLES: list[list[str]] = []
#: modules below the facade: they get its collaborators or know it as a narrow Protocol of ``localkb.parts``,
#: never ``kb.py`` itself
SUBSYSTEMS = ("localkb.ingest", "localkb.search", "localkb.catalog", "localkb.lookup", "localkb.repair",
              "localkb.stores", "localkb.embedders", "localkb.manifest", "localkb.db", "localkb.mapping",
              "localkb.settings", "localkb.config", "localkb.parts", "localkb.rag", "localkb.sql",
              "localkb.llm", "localkb.tuning", "localkb.migrate", "localkb.models", "localkb.registry",
              # the facade's own pieces (kb.py is built on them; they never import it)
              "localkb.opened", "localkb.writing", "localkb.folder")
#: none: the harness that builds whole KBs is ``localkb.evaluation``, an application of the facade beside
#: the interfaces
FACADE_USERS: set[str] = set()
INTERFACES = ("localkb.cli", "localkb.server", "localkb.mcp", "localkb.integrations")


def test_no_import_circle():
    from .imports import cycles

    found = cycles(graph())
    assert [c for c in found if c not in KNOWN_CIRCLES] == [], found
    assert all(c in found for c in KNOWN_CIRCLES), "a known circle is gone: remove it from KNOWN_CIRCLES"


def test_subsystems_do_not_import_the_facade():
    edges = graph()
    offenders = {m: sorted(e & {"localkb.kb", "localkb"}) for m, e in edges.items()
                 if m.startswith(SUBSYSTEMS) and m not in FACADE_USERS and e & {"localkb.kb", "localkb"}}
    assert offenders == {}


def _kb_like(node: ast.AST) -> bool:
    """A name that holds the facade: ``kb``, ``_kb``, ``base`` (the CLI's), ``x.kb``, ``self._kb``."""
    return (isinstance(node, ast.Name) and node.id.lstrip("_") in ("kb", "base")) or \
        (isinstance(node, ast.Attribute) and node.attr.lstrip("_") == "kb")


#: modules an interface may not import: it would run SQL on the KB's file itself instead of asking the facade
SQL_ON_THE_KB = ("localkb.db", "sqlite3")


def facade_reaches(source: str) -> list[str]:
    """What an interface module does around the facade: ``kb._private`` (the facade's insides), ``kb.db``
    (SQL on its database), or an import of ``localkb.db`` / ``sqlite3``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _kb_like(node.value):
            if (node.attr.startswith("_") and not node.attr.startswith("__")) or node.attr == "db":
                found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name in SQL_ON_THE_KB]
        elif isinstance(node, ast.ImportFrom):
            target = ("localkb." if node.level else "") + (node.module or "")
            if target in SQL_ON_THE_KB or (node.level and any(a.name == "db" for a in node.names)
                                           and node.module in (None, "")):
                found.append(f"{node.lineno}: from {'.' * node.level}{node.module or ''} import ...")
    return sorted(found, key=lambda hit: int(hit.split(":")[0]))


def test_interfaces_use_only_the_facade_surface():
    offenders = {}
    for name, path in modules().items():
        if name.startswith(INTERFACES):
            hits = facade_reaches(path.read_text(encoding="utf-8"))
            if hits:
                offenders[name] = hits
    assert offenders == {}, offenders


def test_the_checks_can_fail():
    """The detectors find what they look for (a circle, a private access, SQL on the KB) in made-up input,
    and leave the facade's public surface alone."""
    from .imports import cycles

    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    bad = "\n".join([
        "ctx(request).kb._store = x",            # 1: the server swapping the store
        "kb.db.query('SELECT 1')",                # 2: raw SQL on the KB's database
        "self._kb._embedder.embed(['x'])",        # 3: an adapter holding the KB privately
        "rows = base.db.execute('DELETE')",       # 4: the CLI's name for the KB
        "import sqlite3",                         # 5
        "from ..db import Database",              # 6
        "from localkb.db import Database",        # 7
        "from .. import db",                      # 8
    ])
    assert [h.split(":")[0] for h in facade_reaches(bad)] == [str(n) for n in range(1, 9)], facade_reaches(bad)
    fine = "base.search('q')\nkb.ask('q')\nc.kb.documents()\nkb.__class__\nfrom ..errors import LocalKBError"
    assert facade_reaches(fine) == []


#: modules that may still read a ``LOCALKB_*`` variable from the environment themselves, not through the
#: resolved settings (none left; an entry here must name who removes it)
KNOWN_ENV_READS: set[str] = set()
#: where settings are resolved and validated by name (the one place allowed to)
SETTINGS_MODULE = "localkb.settings"


def _settings_like(node: ast.AST) -> bool:
    """``settings``, ``kb.settings``, ``self._settings``, ``current()``, ``current(x)``, ``load_settings()``."""
    if isinstance(node, ast.Name):
        return node.id.lstrip("_").endswith("settings")
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_").endswith("settings")
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return name in ("current", "load_settings")
    return False


def free_string_setting_lookups(source: str) -> list[str]:
    """Settings looked up by a name computed at run time, or through a by-name helper, or read from the
    environment directly: ``setting("x")``, ``checked_setting(...)``, ``check_value(...)``,
    ``getattr(settings, name)``, ``settings.model_fields[...]`` / ``model_dump()[...]``,
    ``os.environ["LOCALKB_X"]`` / ``os.environ.get("LOCALKB_X")`` / ``os.getenv("LOCALKB_X")``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in ("setting", "checked_setting", "check_value"):
                found.append(f"{node.lineno}: {name}(...)")
            elif name == "getattr" and node.args and _settings_like(node.args[0]):
                found.append(f"{node.lineno}: getattr(settings, ...)")
            elif name in ("get", "getenv") and node.args and isinstance(node.args[0], ast.Constant) \
                    and str(node.args[0].value).startswith("LOCALKB_"):
                found.append(f"{node.lineno}: environment read of {node.args[0].value}")
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant) and str(key.value).startswith("LOCALKB_"):
                found.append(f"{node.lineno}: environment read of {key.value}")
            target = node.value
            if isinstance(target, ast.Attribute) and target.attr == "model_fields" and _settings_like(target.value):
                found.append(f"{node.lineno}: settings.model_fields[...]")
            if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) \
                    and target.func.attr == "model_dump" and _settings_like(target.func.value):
                found.append(f"{node.lineno}: settings.model_dump()[...]")
    return found


def test_settings_are_read_as_typed_attributes_never_by_a_string_name():
    """Settings are resolved once at the edge (CLI root, ``create_app``, ``KnowledgeBase.open``) and read
    as attributes (``settings.ingest_batch``): no by-name lookup and no ``LOCALKB_*`` environment read
    anywhere in src/localkb but ``localkb.settings`` itself."""
    offenders = {}
    for name, path in modules().items():
        if name == SETTINGS_MODULE or name in KNOWN_ENV_READS:
            continue
        hits = free_string_setting_lookups(path.read_text(encoding="utf-8"))
        if hits:
            offenders[name] = hits
    assert offenders == {}, offenders
    still = {name for name in KNOWN_ENV_READS if free_string_setting_lookups(modules()[name].read_text("utf-8"))}
    assert still == KNOWN_ENV_READS, "a known environment read is gone: remove it from KNOWN_ENV_READS"


def test_the_settings_check_can_fail():
    src = "\n".join([
        "from localkb.config import setting",
        "a = setting('lock_timeout', None, 30)",
        "b = getattr(kb.settings, name)",
        "c = getattr(current(), field)",
        "d = os.environ.get('LOCALKB_LLM')",
        "e = os.environ['LOCALKB_DB']",
        "f = checked_setting('llm_ctx', 5)",
        "g = self._settings.model_fields[name]",
        "h = settings.ingest_batch",  # the typed way: not a hit
        "i = getattr(llm, 'uri', None)",  # not settings: not a hit
    ])
    hits = [h.split(":")[0] for h in free_string_setting_lookups(src)]
    assert sorted(hits, key=int) == ["2", "3", "4", "5", "6", "7", "8"]
