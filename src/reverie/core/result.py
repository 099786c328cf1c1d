"""Results: what a mechanism made, what was measured, and `save()`.

Every mechanism returns a subclass of `Result`: its outputs as fields (image, frames,
audio, text, drawing, vectors ...) and, from here, `mechanism`, `config`, `inputs` (where
each came from, with its sha256), `figures` (what was measured), `timings` (seconds),
`notes` (what the user should know) and `resolved` (what each `auto` became).
`save(path)` writes the outputs and the sidecar atomically and returns their paths.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from reverie.core.config import Config
from reverie.core.errors import ReverieError


@dataclass(kw_only=True)
class Result(ABC):
    mechanism: str = ""
    config: Config | None = None
    inputs: dict[str, dict] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    resolved: dict[str, Any] = field(default_factory=dict)
    deterministic: bool = True
    saved: dict[str, Path] | None = field(default=None, repr=False)  # set by save()

    # Suffixes `save` accepts, the first the default; subclasses set it.
    suffixes: ClassVar[tuple[str, ...]] = ()

    def output_path(self, path: str | os.PathLike) -> Path:
        """The main output's path: a missing suffix gets the default, a wrong one an error."""
        path = Path(path)
        if not path.suffix and self.suffixes:
            return path.with_suffix(self.suffixes[0])
        if self.suffixes and path.suffix.lower() not in self.suffixes:
            raise ReverieError(f"cannot write a {self.mechanism} result as {path.suffix!r}; "
                               f"use {', '.join(self.suffixes)}")
        return path

    @abstractmethod
    def write(self, path: Path) -> dict[str, Path]:
        """Write the outputs (atomically); return {role: path}, the main one first."""

    def save(self, path: str | os.PathLike) -> dict[str, Path]:
        """The outputs and, beside the main one, the sidecar (`"sidecar"` in the paths)."""
        from reverie.core import sidecar
        from reverie.io.files import check_writable

        main = check_writable(self.output_path(path))
        paths = self.write(main)
        paths["sidecar"] = sidecar.write(self, paths, next(iter(paths.values())))
        self.saved = paths
        return paths

    def sidecar(self, paths: dict[str, Path] | None = None) -> dict:
        """The sidecar record (as `save` writes it)."""
        from reverie.core import sidecar
        return sidecar.build(self, paths or {"output": Path("unsaved")})

    def explain(self, folder: Path) -> dict[str, Path]:
        """Figures that show why the output looks as it does (a loss curve, a unit's trace,
        an analogy's arrows), written into `folder`: {role: path}. The studio shows them
        beside the output; most results explain themselves through `figures` instead."""
        return {}

    def summary(self) -> str:
        """One line for the terminal: what was made and the figure that matters."""
        return ""

    def as_text(self) -> str | None:
        """The output as text for a terminal, where it is text (samples, answers)."""
        return None
