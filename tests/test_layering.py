"""Imports flow one way: the layering of ``lucidnet``, checked from the source with ``ast``.

Layers, low to high (a package may import its own layer's packages and any lower layer):

    level 0  engine        the root modules (``tensor``, ``random``, ``backend``, ``config``, any other
                           top-level ``.py`` but ``__init__``/``__main__``) and the packages ``autograd``,
                           ``ops``, ``fused``, ``kernels``, ``serialization``, ``distributed``; one layer, its
                           parts may import each other. ``distributed`` (the processes of an MPI job and
                           their collectives, like ``torch.distributed``) is engine: it moves arrays and
                           knows no layer, and nn (``DistributedDataParallel``, ``SyncBatchNorm``), data
                           (``DistributedSampler``) and train build on it
    level 1  nn            ``nn``, ``models`` (models are built from nn layers), ``decoding`` (label sequences
                           from a network's per-frame scores: CTC greedy and beam search; speech and text use it)
    level 2  optim         ``optim``
    level 2  data          ``data``, ``datasets``, ``utils`` (PyTorch's ``torch.utils.data`` path to ``data``)
                           and ``audio`` (reading audio files, spectral features, their augmentation)
    level 2  transforms    ``onnx``, ``distill``, ``quantization``, ``pruning``: model transforms, which read models
                           built of nn layers (data, optim and transforms are siblings: none imports another)
    level 3  train         ``train``
    level 4  inspect       ``inspect`` (it reads training through callbacks)
    level 5  applications  ``vision``, ``text``, ``recsys``, ``tables``, ``sklearn``, ``speech``: siblings, none
                           imports another
    level 6  cli           ``cli``

Rules, for every import statement in every module (module level and inside functions; relative imports
resolved; the body of ``if TYPE_CHECKING:`` exempt):

1. Never import a package of the same level (other than one's own layer, and for the applications other
   than one's own package) or of a higher level.
2. No private name across packages: ``from lucidnet.a.b import _x`` and ``import lucidnet.a._b`` are for
   modules of ``lucidnet.a`` only. The root modules count as one package. Dunders are not private.
3. Every package under ``lucidnet/`` is in the table: a new package is placed deliberately.

``lucidnet/__init__.py`` and ``lucidnet/__main__.py`` are the facade and exempt: they import anything,
lazily. Importing the facade itself (``import lucidnet``, ``from lucidnet import manual_seed``) from inside
the library breaks rule 1: it sits above everything. Its dunders (``__version__``) are metadata, free to import.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = "<root>"   # the root modules: tensor.py, random.py, backend.py, config.py, ...
FACADE = "<facade>"

# (layer, level, packages, whether the layer's packages may import each other)
LAYERS = (
    ("engine", 0, (ROOT, "autograd", "ops", "fused", "kernels", "serialization", "distributed"), True),
    ("nn", 1, ("nn", "models", "decoding"), True),
    ("optim", 2, ("optim",), True),
    ("data", 2, ("data", "datasets", "utils", "audio"), True),
    ("transforms", 2, ("onnx", "distill", "quantization", "pruning"), True),
    ("train", 3, ("train",), True),
    ("inspect", 4, ("inspect",), True),
    ("applications", 5, ("vision", "text", "recsys", "tables", "sklearn", "speech"), False),
    ("cli", 6, ("cli",), True),
)
LAYER_OF = {pkg: (name, level, shared) for name, level, pkgs, shared in LAYERS for pkg in pkgs}
LAYER_OF[FACADE] = ("facade", max(level for _, level, _, _ in LAYERS) + 1, False)

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "lucidnet"


@dataclass(frozen=True)
class Violation:
    where: str      # "lucidnet/nn/module.py:12"
    importer: str   # "lucidnet.nn.module"
    imported: str   # "lucidnet.inspect.summary"
    rule: str

    def __str__(self) -> str:
        return f"{self.where}: {self.importer} -> {self.imported}: {self.rule}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, outside ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


class Layering:
    """What lives under one ``lucidnet/`` directory, and the checker over it."""

    def __init__(self, package_dir: Path):
        self.dir = package_dir
        self.subpackages = {p.name for p in package_dir.iterdir()
                            if p.is_dir() and (p / "__init__.py").exists()}

    def package_of(self, dotted: str) -> str:
        """The owner of ``lucidnet.<...>``: its top-level subpackage, ROOT for a root module, FACADE."""
        parts = dotted.split(".")
        if len(parts) == 1:
            return FACADE
        return parts[1] if parts[1] in self.subpackages else ROOT

    def module_name(self, path: Path) -> str:
        rel = path.relative_to(self.dir.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def targets(self, node: ast.AST, module: str, is_package: bool):
        """(imported module, private name or None) for each lucidnet module or name one import reaches."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lucidnet":
                    private = any(_private(p) for p in alias.name.split(".")[1:])
                    yield alias.name, alias.name if private else None
            return
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        if source.split(".")[0] != "lucidnet":
            return
        source_private = any(_private(p) for p in source.split(".")[1:])
        for alias in node.names:
            # ``from lucidnet import nn`` reaches the package lucidnet.nn, not the facade
            target = source
            if source == "lucidnet" and (alias.name in self.subpackages
                                         or (self.dir / f"{alias.name}.py").exists()):
                target = f"lucidnet.{alias.name}"
            elif source == "lucidnet" and alias.name.startswith("__"):
                continue  # the facade's metadata (``__version__``) is importable from anywhere
            private = source_private or _private(alias.name)
            yield target, f"{source}.{alias.name}" if private else None

    def check_file(self, path: Path) -> list[Violation]:
        if path.parent == self.dir and path.name in ("__init__.py", "__main__.py"):
            return []  # the facade
        module = self.module_name(path)
        importer = self.package_of(module)
        if importer not in LAYER_OF:
            return []  # reported once by check(): classify it first
        ilayer, ilevel, _ = LAYER_OF[importer]
        rel = path.relative_to(self.dir.parent).as_posix()
        found = []
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for target, private in self.targets(node, module, path.name == "__init__.py"):
                owner = self.package_of(target)
                rules = []
                if owner not in LAYER_OF:
                    rules.append((target, f"classify lucidnet.{owner} in the layering table"))
                else:
                    if private and owner != importer:
                        rules.append((private, f"private name of {_label(owner)} imported from {_label(importer)}"))
                    layer, level, shared = LAYER_OF[owner]
                    if owner != importer and not (layer == ilayer and shared) and level >= ilevel:
                        rules.append((target, f"{ilayer} (level {ilevel}) imports {layer} (level {level}): "
                                              "only lower layers may be imported"))
                for imported, rule in rules:
                    v = Violation(f"{rel}:{node.lineno}", module, imported, rule)
                    if v not in found:  # ``from x import a, b`` breaks a rule once
                        found.append(v)
        return sorted(found, key=lambda v: int(v.where.rsplit(":", 1)[1]))

    def check(self) -> list[Violation]:
        found = [Violation(f"lucidnet/{name}/", f"lucidnet.{name}", "-",
                           f"classify lucidnet.{name} in the layering table")
                 for name in sorted(self.subpackages) if name not in LAYER_OF]
        for path in sorted(self.dir.rglob("*.py")):
            found += self.check_file(path)
        return found


def _label(package: str) -> str:
    return "the root modules" if package == ROOT else f"lucidnet.{package}"


def test_imports_follow_the_layers():
    violations = Layering(PACKAGE_DIR).check()
    if violations:
        pytest.fail(f"{len(violations)} layering violation(s) (the rules: tests/test_layering.py):\n"
                    + "\n".join(f"  {v}" for v in violations), pytrace=False)


def test_checker_catches_violations(tmp_path):
    pkg = tmp_path / "lucidnet"
    for sub in ("nn", "models", "data", "optim", "text", "vision", "ops", "fused", "widgets"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .text import lm\nfrom .tensor import _secret\n")
    (pkg / "tensor.py").write_text("from .random import _seed\nfrom .ops import add\n")
    (pkg / "random.py").write_text("")
    (pkg / "config.py").write_text("")
    (pkg / "fused" / "lstm.py").write_text("from ..config import threads\nfrom ..nn import Linear\n")
    (pkg / "widgets" / "w.py").write_text("from ..nn import Linear\n")  # reported once, as unclassified
    (pkg / "nn" / "module.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..tensor import Tensor, _to_array\n"              # 2: private across packages
        "from . import _helpers\n"                              # 3: own package: fine
        "import lucidnet.ops._kernels as k\n"                   # 4: private module across packages
        "if TYPE_CHECKING:\n"
        "    from lucidnet.text import Vocab\n"                 # 6: exempt
        "def summary(self):\n"
        "    from lucidnet.vision import models\n"              # 8: higher layer, in a function
        "    return models\n"
        "__all__ = ['summary']\n")
    (pkg / "nn" / "__init__.py").write_text("from .. import text\nfrom .module import summary\n")
    (pkg / "models" / "mlp.py").write_text("from .. import nn\nfrom ..data import loader\n")  # nn's layer; up
    (pkg / "data" / "loader.py").write_text("from ..optim import SGD\nfrom ..ops import _kernels\n")
    (pkg / "text" / "lm.py").write_text("from lucidnet.vision import resnet\nfrom lucidnet import nn\n"
                                        "import lucidnet\nfrom lucidnet import __version__, manual_seed\n")
    got = sorted(str(v) for v in Layering(pkg).check())
    assert got == sorted([
        "lucidnet/widgets/: lucidnet.widgets -> -: classify lucidnet.widgets in the layering table",
        "lucidnet/fused/lstm.py:2: lucidnet.fused.lstm -> lucidnet.nn: "
        "engine (level 0) imports nn (level 1): only lower layers may be imported",
        "lucidnet/nn/module.py:2: lucidnet.nn.module -> lucidnet.tensor._to_array: "
        "private name of the root modules imported from lucidnet.nn",
        "lucidnet/nn/module.py:4: lucidnet.nn.module -> lucidnet.ops._kernels: "
        "private name of lucidnet.ops imported from lucidnet.nn",
        "lucidnet/nn/module.py:8: lucidnet.nn.module -> lucidnet.vision: "
        "nn (level 1) imports applications (level 5): only lower layers may be imported",
        "lucidnet/nn/__init__.py:1: lucidnet.nn -> lucidnet.text: "
        "nn (level 1) imports applications (level 5): only lower layers may be imported",
        "lucidnet/models/mlp.py:2: lucidnet.models.mlp -> lucidnet.data: "
        "nn (level 1) imports data (level 2): only lower layers may be imported",
        "lucidnet/data/loader.py:1: lucidnet.data.loader -> lucidnet.optim: "
        "data (level 2) imports optim (level 2): only lower layers may be imported",
        "lucidnet/data/loader.py:2: lucidnet.data.loader -> lucidnet.ops._kernels: "
        "private name of lucidnet.ops imported from lucidnet.data",
        "lucidnet/text/lm.py:1: lucidnet.text.lm -> lucidnet.vision: "
        "applications (level 5) imports applications (level 5): only lower layers may be imported",
        "lucidnet/text/lm.py:3: lucidnet.text.lm -> lucidnet: "
        "applications (level 5) imports facade (level 7): only lower layers may be imported",
        "lucidnet/text/lm.py:4: lucidnet.text.lm -> lucidnet: "
        "applications (level 5) imports facade (level 7): only lower layers may be imported",
    ])
