"""Any language model, by the front door: `load_lm` / `as_lm` give a char LM (`text train`,
.pt) or an n-gram (`text ngram`, .json) by what the file holds, and `sample_text` (the
`text sample` mechanism) writes text with either: a model file in, a text file out.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch.nn as nn

from reverie.core.config import Config, ConfigError, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.inputs import record as record_input
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.io.files import save_text
from reverie.text.cache import Cache, lambda_knob, theta_knob
from reverie.text.charlm import CharLM, load_charlm, sample, unit_states
from reverie.text.ngram import NGramLM, NGramResult
from reverie.text.train import TrainResult


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

def load_lm(path: str | os.PathLike):
    """A `text train` model (CharLM) or a `text ngram` model (NGramLM), by what the file holds."""
    if str(path).startswith("model:"):  # the zoo holds char models
        return load_charlm(str(path))
    p = Path(path)
    if not p.exists():
        raise ReverieError(f"model not found: {p}; train one with `reverie text train` or "
                           f"`reverie text ngram`")
    if p.is_file():
        with open(p, "rb") as f:
            if f.read(64).lstrip().startswith(b"{"):
                return NGramLM.load(p)
    return load_charlm(p)


def as_lm(model):
    """A model input as a CharLM or NGramLM: a path, or something already loaded."""
    if isinstance(model, (str, os.PathLike)):
        return load_lm(model)
    if isinstance(model, TrainResult):
        return model.lm
    if isinstance(model, NGramResult):
        return model.model
    if isinstance(model, (CharLM, NGramLM)):
        return model
    if isinstance(model, tuple) and len(model) >= 2 and isinstance(model[0], nn.Module):
        return CharLM(model[0], model[1])
    raise ReverieError(f"a model is a file `reverie text train` or `text ngram` wrote, or one "
                       f"loaded with load_charlm; got {type(model).__name__}")


def record_model(model) -> dict:
    """The sidecar's record of a model input (a file, or one handed over in memory)."""
    if isinstance(model, (str, os.PathLike)):
        return record_input(model)
    return {"source": None, "note": f"given in memory ({type(model).__name__})"}


# ---------------------------------------------------------------------------------------
# Sampling: the mechanism
# ---------------------------------------------------------------------------------------

@dataclass
class SampleConfig(Config):
    prime: str = knob("", "text to start from; the samples continue it")
    length: int = knob(1000, "characters to generate per sample", min=1)
    temperature: float = knob(0.8, "softmax temperature: lower is safer and duller; 0 is "
                              "argmax", min=0)
    top_k: Optional[int] = knob(None, "draw only among the k likeliest characters (none: "
                                "all)", min=1)
    num_samples: int = knob(1, "independent samples", min=1)
    cache_lambda: float = lambda_knob(0.0)
    cache_theta: float = theta_knob()
    seed: int = seed_knob()


@dataclass
class SampleResult(Result):
    texts: list[str]                    # each sample's continuation (prime not included)
    prime: str = ""
    lm: Any = field(default=None, repr=False)   # the model that wrote them, for `explain`

    suffixes = (".txt",)

    def write(self, path: Path) -> dict[str, Path]:
        return {"text": save_text(self.as_text(), path)}

    def explain(self, folder: Path) -> dict[str, Path]:
        """Karpathy's unit trace of the first sample, for the unit whose output moves most
        over it: what the network was keeping track of as it wrote."""
        if not isinstance(self.lm, CharLM) or not self.texts:
            return {}
        from reverie.text.trace import write_trace_page
        text = (self.prime + self.texts[0])[:2000]
        pieces, states = unit_states(self.lm.model, self.lm.vocab, text, "h")
        unit = int(states.std(axis=0).argmax())
        return {"unit trace": write_trace_page(
            Path(folder) / "unit-trace.html", pieces, states[:, unit].tolist(),
            title=f"unit {unit} (h), the one that changes most over this sample")}

    def as_text(self) -> str:
        return "\n\n".join(self.prime + t for t in self.texts) + "\n"

    def summary(self) -> str:
        first = (self.prime + self.texts[0]).strip().splitlines() if self.texts else []
        preview = (first[0][:60] + "...") if first else ""
        return (f"{len(self.texts)} sample(s) of {sum(map(len, self.texts)) // max(1, len(self.texts))}"
                f" characters ({self.figures.get('chars_per_second', 0):,.0f} chars/s): {preview}")


def sample_text(model, config: Optional[SampleConfig] = None, *, progress: Progress = silent,
                on_text: Optional[Callable[[str], None]] = None, **overrides) -> SampleResult:
    """Generate text from a trained model: a `.pt` from `text train`, a `.json` n-gram from
    `text ngram`, or a loaded one. The same seed gives the same text; `on_text` receives
    the first sample as it is made."""
    cfg = make_config(SampleConfig, config, **overrides)
    inputs = {"model": record_model(model)}
    lm = as_lm(model)
    start = time.perf_counter()
    if isinstance(lm, CharLM):
        kind = "charlm"
        texts = sample(lm.model, lm.vocab, cfg.prime, cfg.length, cfg.temperature, cfg.top_k,
                       cfg.seed, None, cfg.num_samples, on_text=on_text, progress=progress,
                       cache=Cache(cfg.cache_theta, cfg.cache_lambda))
    elif cfg.cache_lambda:
        raise ConfigError("cache_lambda", "needs a network from `text train`: an n-gram model "
                                          "has no states to look up; set it to 0")
    else:
        kind = "ngram"
        texts = []
        for i in range(cfg.num_samples):  # one stream per sample, seeds seed, seed+1, ...
            texts.append(lm.sample(cfg.prime, cfg.length, cfg.temperature, cfg.top_k,
                                   cfg.seed + i, on_text=on_text if i == 0 else None))
            progress(i + 1, cfg.num_samples, "sampling")
    seconds = time.perf_counter() - start
    return SampleResult(texts, cfg.prime, lm, mechanism="sample_text", config=cfg, inputs=inputs,
                        figures={"kind": kind, "characters": cfg.length * cfg.num_samples,
                                 "chars_per_second": cfg.length * cfg.num_samples / max(seconds, 1e-9)},
                        timings={"sample": seconds})
