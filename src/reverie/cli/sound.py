"""`reverie sound`: raw audio, sample by sample.

    reverie sound train builtin:chorale-audio --minutes 20 --out s.pt       (generated)
    reverie sound train my-recordings/ --model gruv --out g.pt             (generated)
    reverie sound continue s.pt start.wav --seconds 4 --temperature 0.9 --out cont.wav
    reverie sound sample s.pt --seconds 4 --seed 3 --out s.wav               (generated)
"""
from __future__ import annotations

from reverie.cli.common import group


def register(sub) -> None:
    group(sub, "sound", "raw audio: WaveNet (mu-law samples) or GRUV (blocks' DFTs) learn "
                        "sound and continue it")
