"""The knobs every trainer shares, declared once under one set of names.

A model's training Config subclasses `TrainConfig` and adds its own knobs (sizes, learning
rates); the CLI, the studio and the sidecars then name the budget, the cadences, resume,
init, threads, seed and device alike in every domain. A subclass that wants another default
re-declares the field with the knob maker below, so the help text is written once:

    @dataclass
    class CoconetConfig(TrainConfig):
        max_steps: int = max_steps_knob(3000)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

from reverie.core.config import Config, device_knob, knob, seed_knob

SHARED = ("max_steps", "minutes", "eval_every", "checkpoint_every", "resume", "init",
          "threads", "seed", "device")


def _init_file(value: str) -> str | None:
    return None if value.startswith("model:") else value


def max_steps_knob(default: int) -> Any:
    return knob(default, "training steps: the budget (ignored when minutes is set)", min=1)


def eval_every_knob(default: int) -> Any:
    return knob(default, "measure the held-out figure every N steps", min=1, advanced=True)


def checkpoint_every_knob(default: int) -> Any:
    return knob(default, "write a checkpoint every N steps (and at the end), so a killed run "
                         "can resume", min=1, advanced=True)


@dataclass
class TrainConfig(Config):
    """What every training run has: a budget in steps or minutes, how often it measures
    and checkpoints, resume and init, and where it runs."""
    # Renamed in the one-trainer release; the old names work for one more release.
    ALIASES: ClassVar[dict[str, str]] = {"max_iters": "max_steps", "num_steps": "max_steps",
                                         "eval_interval": "eval_every"}
    TRAILING: ClassVar[tuple[str, ...]] = SHARED
    # Fields a resumed run takes from the new config; the rest come from its checkpoint.
    BUDGET_FIELDS: ClassVar[tuple[str, ...]] = ("max_steps", "minutes", "eval_every",
                                                "checkpoint_every", "threads", "device")
    # Fields that give the model its shape: `init` takes them from the model it starts from.
    MODEL_FIELDS: ClassVar[tuple[str, ...]] = ()

    max_steps: int = max_steps_knob(5000)
    minutes: Optional[float] = knob(None, "train for this wall-clock time instead of "
                                    "max_steps (the model then depends on the machine's "
                                    "speed)", above=0, unit="minutes")
    eval_every: int = eval_every_knob(250)
    checkpoint_every: int = checkpoint_every_knob(500)
    resume: bool = knob(False, "continue the run whose checkpoint is the output file (after "
                        "a kill, or to train on with a larger max_steps)")
    init: Optional[str] = knob(None, "start from this model's weights (a .pt made by the same "
                               "command) and train on this run's data: fine-tuning",
                               metavar="MODEL", file=_init_file)
    threads: Optional[int] = knob(None, "torch CPU threads (auto: $REVERIE_THREADS if set, "
                                  "else the cores not already busy)",
                                  min=1, resolved=True, advanced=True)
    seed: int = seed_knob(1337)
    device: str = device_knob()

    # read access under the old names, for scripts written against them
    @property
    def max_iters(self) -> int:
        return self.max_steps

    @property
    def num_steps(self) -> int:
        return self.max_steps

    @property
    def eval_interval(self) -> int:
        return self.eval_every
