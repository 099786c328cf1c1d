"""HTML pages from Jinja2 templates in this folder, with autoescaping on: every value a
page shows is escaped unless a template marks it safe."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("reverie", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context) -> str:
    """Render templates/NAME with `context`."""
    return environment().get_template(name).render(**context)
