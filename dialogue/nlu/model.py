"""The learned part of the spotter: a linear model over character and word n-grams.

Multinomial logistic regression, trained by :mod:`dialogue.nlu.train` and shipped as one JSON
file (:data:`DEFAULT_WEIGHTS`, about 300 kB). Inference is pure Python and needs no
numeric library: weights are signed bytes, and each feature's row (one byte per label) is
packed into one Python int of 24-bit fields, each holding ``weight + 128``, plus a last
field holding 1. Summing the rows of a message's features is then one C-level ``sum()``
over dict lookups; the last field counts the rows found, which removes the offsets. A
field cannot overflow: a message has far fewer than 2**24 / 255 features.

The file (``format`` :data:`FORMAT`) holds:

- ``labels``: the classes, in weight-column order;
- ``char_sizes``: the character n-gram lengths it was trained with (checked on load);
- ``vocab``: the features, joined by newlines (a folded text never holds one);
- ``weights``: base64 of signed bytes, ``len(labels)`` per feature, row by row, each
  times ``scale``; ``bias``: one float per label;
- ``thresholds``: the decision thresholds chosen on the dev split
  (:class:`dialogue.nlu.combine.Thresholds`);
- ``trained``: provenance (rows, hyper-parameters, checksums of the files).
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from dialogue.nlu.features import CHAR_SIZES, extract

__all__ = ["DEFAULT_WEIGHTS", "FORMAT", "LinearModel", "ModelError"]

FORMAT = "salebell-nlu-linear/1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "weights.json"
_BITS = 24
_MASK = (1 << _BITS) - 1
_OFFSET = 128


class ModelError(ConfigError, ValueError):
    """A weights file that cannot be used (missing, malformed, or made for other features)."""


def _pack(row: Sequence[int]) -> int:
    packed = 1 << (_BITS * len(row))  # the counting field
    for c, v in enumerate(row):
        packed |= (v + _OFFSET) << (_BITS * c)
    return packed


@dataclass(frozen=True)
class LinearModel:
    """A trained model: signed-byte weights per feature, their scale, biases and thresholds."""

    labels: tuple[str, ...]
    weights: Mapping[str, tuple[int, ...]]  # feature -> one signed byte per label
    scale: float
    bias: tuple[float, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    trained: dict[str, Any] = field(default_factory=dict)
    _packed: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_packed", {f: _pack(row) for f, row in self.weights.items()})

    @classmethod
    def quantised(cls, labels: Sequence[str], rows: Mapping[str, Sequence[float]], bias: Sequence[float],
                  **extra: Any) -> LinearModel:
        """From float weights: scaled to signed bytes; features whose bytes are all 0 are dropped."""
        top = max((abs(v) for row in rows.values() for v in row), default=0.0) or 1.0
        scale = top / 127
        weights = {}
        for feature, row in rows.items():
            q = tuple(max(-127, min(127, round(v / scale))) for v in row)
            if any(q):
                weights[feature] = q
        return cls(tuple(labels), weights, scale, tuple(bias), **extra)

    def scores(self, folded: str, tagged: bool = False, norm: str | None = None,
               seen: MutableMapping[str, bool] | None = None) -> list[float]:
        """Unnormalised log-probabilities per label for a :func:`~dialogue.nlu.normalize.fold`-ed message
        (``norm``, ``seen``: see :func:`~dialogue.nlu.features.extract`)."""
        features = extract(folded, tagged, norm, seen)
        total = sum(map(self._packed.get, features, repeat(0)))
        k = len(self.labels)
        found = total >> (_BITS * k)
        unit = self.scale / math.sqrt(len(features)) if features else 0.0
        return [b + unit * (((total >> (_BITS * c)) & _MASK) - _OFFSET * found) for c, b in enumerate(self.bias)]

    def probabilities(self, folded: str, tagged: bool = False, norm: str | None = None,
                      seen: MutableMapping[str, bool] | None = None) -> dict[str, float]:
        """P(label | message) for a folded message."""
        scores = self.scores(folded, tagged, norm, seen)
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {label: e / total for label, e in zip(self.labels, exps)}

    # -- the weights file ------------------------------------------------------
    @classmethod
    def load(cls, path: Path = DEFAULT_WEIGHTS) -> LinearModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ModelError(f"cannot read NLU weights {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ModelError(f"NLU weights {path} are not JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, where: str = "weights") -> LinearModel:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{where}: not a {FORMAT} weights file")
        if tuple(data.get("char_sizes") or ()) != CHAR_SIZES:
            raise ModelError(f"{where}: trained with character n-grams {data.get('char_sizes')}, "
                             f"this code extracts {list(CHAR_SIZES)}; retrain (python -m dialogue.nlu.train)")
        try:
            labels = tuple(str(label) for label in data["labels"])
            vocab = data["vocab"].split("\n") if data["vocab"] else []
            scale = float(data["scale"])
            packed = array("b", base64.b64decode(data["weights"], validate=True))
            bias = tuple(float(b) for b in data["bias"])
            thresholds = {str(n): float(v) for n, v in (data.get("thresholds") or {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{where}: malformed weights ({type(exc).__name__}: {exc})") from None
        k = len(labels)
        if not k or len(bias) != k or len(packed) != k * len(vocab) or len(set(vocab)) != len(vocab):
            raise ModelError(f"{where}: {len(packed)} weights do not fit {len(vocab)} distinct features "
                             f"x {k} labels")
        weights = {f: tuple(packed[i * k:(i + 1) * k]) for i, f in enumerate(vocab)}
        return cls(labels, weights, scale, bias, thresholds, dict(data.get("trained") or {}))

    def to_dict(self) -> dict[str, Any]:
        """The file's content."""
        vocab = sorted(self.weights)
        packed = array("b", (v for f in vocab for v in self.weights[f]))
        return {
            "format": FORMAT, "labels": list(self.labels), "char_sizes": list(CHAR_SIZES),
            "thresholds": self.thresholds, "trained": self.trained,
            "bias": [round(b, 6) for b in self.bias], "scale": self.scale,
            "vocab": "\n".join(vocab), "weights": base64.b64encode(packed.tobytes()).decode("ascii"),
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")

    def with_thresholds(self, thresholds: Mapping[str, float], trained: Mapping[str, Any]) -> LinearModel:
        return LinearModel(self.labels, self.weights, self.scale, self.bias, dict(thresholds), dict(trained))
