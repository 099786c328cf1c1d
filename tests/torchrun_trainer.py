"""Run one trainer's tiny case for a few steps (test_train.py starts this under torchrun)."""
import sys
from pathlib import Path

from reverie.core import registry
from reverie.scale import ddp
from trainers import CASES

name, out = sys.argv[1], sys.argv[2]
mech = registry.get(name)
case = CASES[name]
changes = {**case.config, "max_steps": 4, "eval_every": 2, "checkpoint_every": 2, "threads": 1,
           **case.torchrun}
result = mech.load()(**case.inputs(Path(out).parent), config=mech.config_class()(**changes), out=out)
if ddp.is_main():
    print(f"processes: {result.resolved.get('processes', 1)}")
