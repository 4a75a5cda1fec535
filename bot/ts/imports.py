"""What a file imports, and the text of the repository modules those names come from.

    imports = Imports.of(path, text, read_module)
    imports.module_of("TagVotableEntityType")   # ModuleText("src/libs/tags.ts", "...") or None
    imports.original_name("Entity")             # "CosmeticEntity" for `import { CosmeticEntity as Entity }`

`read_module(importer, specifier)` resolves a relative or aliased import to a file of the repository and returns
its text (None for packages or unreadable files); bot.ts.file_analysis builds it over the change's head tree.
Re-exports (`export * from "./x"`, `export { A } from "./x"`) are followed a few hops so a name found through an
index file lands in the module that declares it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.ts.clients import IMPORT_LINE

ReadModule = Callable[[str, str], "ModuleText | None"]

_EXPORT_FROM = re.compile(r"""^[ \t]*export\s+(?:type\s+)?(\*|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]""", re.M)
_MAX_HOPS = 3


@dataclass(frozen=True)
class ModuleText:
    path: str
    text: str


@dataclass
class Imports:
    importer: str
    # local name -> (module specifier, name in that module)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    read: ReadModule | None = None

    @classmethod
    def of(cls, importer: str, text: str, read: ReadModule | None) -> Imports:
        found = cls(importer, read=read)
        for clause, spec in IMPORT_LINE.findall(text):
            for local, original in bindings(clause):
                found.names.setdefault(local, (spec, original))
        return found

    def original_name(self, local: str) -> str | None:
        entry = self.names.get(local)
        return entry[1] if entry is not None else None

    def module_of(self, local: str) -> ModuleText | None:
        """The module (text) that declares the imported `local`, following re-exports; None when it is a package
        or cannot be read."""
        entry = self.names.get(local)
        if entry is None or self.read is None:
            return None
        spec, name = entry
        module = self.read(self.importer, spec)
        for _ in range(_MAX_HOPS):
            if module is None or _declares(module.text, name):
                return module
            module = self._reexported(module, name)
        return module if module is not None and _declares(module.text, name) else None

    def _reexported(self, module: ModuleText, name: str) -> ModuleText | None:
        assert self.read is not None
        for clause, spec in _EXPORT_FROM.findall(module.text):
            if clause == "*" or re.search(rf"\b{re.escape(name)}\b", clause):
                target = self.read(module.path, spec)
                if target is not None and (_declares(target.text, name) or clause != "*"):
                    return target
        return None


def bindings(clause: str) -> list[tuple[str, str]]:
    """The (local name, name in the module) pairs of an import clause:
    `Default, { A, B as C, type D }` -> [(Default, default), (A, A), (C, B), (D, D)]; `* as ns` -> [(ns, *)]."""
    out: list[tuple[str, str]] = []
    clause = clause.strip()
    braces = re.search(r"\{([^}]*)\}", clause)
    if braces is not None:
        for part in braces.group(1).split(","):
            part = part.strip().removeprefix("type ").strip()
            if not part:
                continue
            if " as " in part:
                original, local = (p.strip() for p in part.split(" as ", 1))
                out.append((local, original))
            else:
                out.append((part, part))
        clause = clause[:braces.start()] + clause[braces.end():]
    for part in clause.split(","):
        part = part.strip()
        star = _STAR.fullmatch(part)
        if star is not None:
            out.append((star.group(1), "*"))
        elif _IDENT.fullmatch(part) and part != "type":
            out.append((part, "default"))
    return out


_STAR = re.compile(r"\*\s+as\s+([\w$]+)")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def _declares(text: str, name: str) -> bool:
    return bool(re.search(rf"\b(?:type|interface|enum|const|let|class|function)\s+{re.escape(name)}\b", text))
