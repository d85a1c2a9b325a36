"""Name -> model class, so a run directory's JSON config rebuilds the architecture.

The plugin table: the applications register their models when their module is imported, and
``import lucidnet`` imports none of them. ``PLUGINS`` maps each built-in model name to the module that
registers it, imported on the first :func:`build` (or :func:`lookup`) of that name; a new built-in model
adds its line here. Models of user code register as usual (``@register``) once their module is imported.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

_REGISTRY: dict[str, Callable] = {}

PLUGINS: dict[str, str] = {
    "mlp": "lucidnet.models.mlp",
    "cnn": "lucidnet.vision.models.simple_cnn", "vgg": "lucidnet.vision.models.vgg",
    "resnet": "lucidnet.vision.models.resnet", "mobilenet_v2": "lucidnet.vision.models.mobilenet",
    "imagenet_transfer": "lucidnet.vision.models.transfer", "pedestrian_net": "lucidnet.vision.detection.model",
    "textcnn": "lucidnet.text.models", "lstm_classifier": "lucidnet.text.models", "char_lstm": "lucidnet.text.models",
    "bert": "lucidnet.text.bert", "bert_classifier": "lucidnet.text.bert",
    "transformer_translator": "lucidnet.text.seq2seq", "attention_gru": "lucidnet.text.seq2seq",
    "tabular_mlp": "lucidnet.tables.models",
    "speech_cnn": "lucidnet.speech.models", "crnn_ctc": "lucidnet.speech.models",
    "mf": "lucidnet.recsys.models", "autorec": "lucidnet.recsys.models", "gmf": "lucidnet.recsys.models",
    "ncf_mlp": "lucidnet.recsys.models", "neumf": "lucidnet.recsys.models",
}


def register(name: str) -> Callable:
    """Class decorator: ``@register("mlp")``. The class must take its config as keyword arguments and
    expose them as ``self.config`` (a dict of JSON-able values)."""
    def deco(cls):
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls
    return deco


def registered() -> list[str]:
    """Every model name: the registered ones and the built-in ones of :data:`PLUGINS`."""
    return sorted(set(_REGISTRY) | set(PLUGINS))


def lookup(name: str) -> Callable:
    """The model class registered as ``name``, importing its module from :data:`PLUGINS` the first time."""
    if name not in _REGISTRY and name in PLUGINS:
        importlib.import_module(PLUGINS[name])
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(registered())}")
    return _REGISTRY[name]


def build(config: dict[str, Any]):
    """Build a model from ``{"name": ..., **kwargs}``."""
    cfg = dict(config)
    return lookup(cfg.pop("name", None))(**cfg)


def config_of(model) -> dict[str, Any]:
    name = getattr(type(model), "registry_name", None)
    if name is None or not hasattr(model, "config"):
        raise TypeError(f"{type(model).__name__} is not a registered model; it has no config to save")
    return {"name": name, **model.config}
