"""`reverie fast-style ...`: the group the generated commands land in (`fast-style train`,
`fast-style apply`); `style-video` is a mechanism of its own at the top level."""
from __future__ import annotations

from reverie.cli.common import group


def register(sub) -> None:
    group(sub, "fast-style", "fast style networks (Johnson et al.): train one on style "
                             "images, paint photos with it in a second")
