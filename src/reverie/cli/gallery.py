"""`reverie gallery`: every mechanism on bundled inputs, one HTML page."""
from __future__ import annotations

import sys

from reverie.cli.common import add_device, add_json, print_json


def register(sub) -> None:
    p = sub.add_parser("gallery", help="run every mechanism on bundled inputs into one HTML page")
    p.add_argument("--out", default="gallery", help="output folder (default: gallery)")
    p.add_argument("--quick", action="store_true", help="a small version in under 2 minutes")
    p.add_argument("--section", action="append", dest="sections",
                   help="only this section (repeatable): perception, style, text, words, perceive")
    p.add_argument("--cache", default=None, help="where trained models are cached "
                   "(default: $REVERIE_CACHE or ~/.cache/reverie)")
    add_device(p)
    add_json(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from reverie.gallery import build_gallery

    log = (lambda m: print(m, file=sys.stderr))
    summary = build_gallery(args.out, quick=args.quick, device=args.device,
                            sections=args.sections, cache_dir=args.cache, log=log)
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {summary['index']}")
    if summary["failed"]:
        print(f"error: {len(summary['failed'])} gallery section(s) failed: "
              f"{', '.join(summary['failed'])}", file=sys.stderr)
        return 1
    return 0
