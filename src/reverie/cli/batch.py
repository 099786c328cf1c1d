"""`reverie zoom IMAGE`: a DeepDream zoom video as a chain of chunks on a Dask cluster.
(`reverie batch JOBS.jsonl` is generated from the registry, as every mechanism is.)"""
from __future__ import annotations

from reverie.cli.common import add_json, add_progress, parse_sets, positive_int, print_json
from reverie.cli.configargs import add_config_flags


def register(sub) -> None:
    p = sub.add_parser("zoom", help="a DeepDream zoom video dreamed on a Dask cluster in "
                       "chunks of frames; a rerun resumes",
                       description="`reverie dream --frames N` on a Dask cluster: each frame is "
                       "dreamed from the last, so chunks of --chunk frames run as a chain of "
                       "tasks; finished chunks are kept in .chunks/ beside --out, so running the "
                       "same command again resumes. Dream settings come from --config (a JSON "
                       "of DreamConfig fields, or a dream sidecar) and --set FIELD=VALUE.")
    p.add_argument("image", help="the photo to dream on (a path or sample:NAME)")
    p.add_argument("--out", required=True, metavar="PATH", help="the animation (.mp4 or .gif); "
                   "its sidecar .json is written beside it")
    p.add_argument("--frames", type=positive_int, default=None,
                   help="frames of the video (the same as --set frames=N; default: the config's)")
    p.add_argument("--chunk", type=positive_int, default=10,
                   help="frames one task dreams before handing its last frame on")
    p.add_argument("--config", default=None, metavar="FILE.json",
                   help="dream settings: {field: value} or a dream sidecar")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a DreamConfig field, repeatable: --set size=256 --set layers=stage3")
    from reverie.scale.batch import BatchConfig
    # the same cluster flags as `reverie batch` (seed and device: the dream's own, via --set)
    add_config_flags(p, BatchConfig, title="cluster", skip={"seed", "device"})
    add_progress(p)
    add_json(p)
    p.set_defaults(func=run_zoom_cmd)


def _zoom_config(args):
    import json
    from pathlib import Path

    from reverie.core.errors import ReverieError
    from reverie.core.rerun import config_of
    from reverie.core.registry import get

    recorded, written = {}, False
    if args.config:
        try:
            recorded = json.loads(Path(args.config).read_text())
        except FileNotFoundError:
            raise ReverieError(f"config file not found: {args.config}") from None
        except ValueError as exc:
            raise ReverieError(f"{args.config} is not valid JSON ({exc})") from None
        if isinstance(recorded, dict) and "mechanism" in recorded:  # a sidecar
            if recorded["mechanism"] != "dream":
                raise ReverieError(f"{args.config} is a sidecar of {recorded['mechanism']}, "
                                   f"not of dream")
            recorded, written = recorded.get("config") or {}, True
        if not isinstance(recorded, dict):
            raise ReverieError(f"{args.config} must hold a JSON object of DreamConfig fields")
    changes = parse_sets(args.set, "size=256")
    if args.frames is not None:
        changes["frames"] = str(args.frames)
    return config_of(get("dream"), recorded, changes, written)


def run_zoom_cmd(args) -> int:
    from reverie.core.progress import bar
    from reverie.scale.batch import dream_chain

    from reverie.cli.configargs import config_from_args
    from reverie.scale.batch import BatchConfig

    config = _zoom_config(args)
    cluster = config_from_args(BatchConfig, args)
    with bar("zoom", enabled=False if args.no_progress else None) as progress:
        result, paths = dream_chain(args.image, config, args.out, cluster=cluster.cluster,
                                    workers=cluster.workers, chunk=args.chunk,
                                    retries=cluster.retries, threads=cluster.threads,
                                    logs=cluster.dask_logs, progress=progress)
    if args.json:
        print_json({"outputs": {k: str(v) for k, v in paths.items()},
                     "figures": result.figures, "timings": result.timings,
                     "notes": result.notes})
        return 0
    f = result.figures
    print(f"wrote {paths['animation']}")
    print(f"{f['frames']} frames in {f['chunks']} chunks of {f['chunk']} "
          f"({f['chunks_resumed']} resumed) in {result.timings['zoom']:.1f} s")
    return 0
