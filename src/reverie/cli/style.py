"""`reverie style`, `texture`, `audio-style`, `audio-texture`: thin layers over reverie.image.style
and reverie.audio.style."""
from __future__ import annotations

import sys
from pathlib import Path

from reverie.core.errors import ReverieError
from reverie.cli.common import add_device, add_json, add_progress, add_seed, positive_float, positive_int, print_json



def _report(args, out, record: dict, notes: list[str], summary: str) -> int:
    """Every style command ends alike: sidecar, notes on stderr, then JSON or one line."""
    from reverie.io.images import write_sidecar

    write_sidecar(out, record)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print_json(record)
    else:
        print(summary)
    return 0

def register(sub) -> None:
    from reverie.image.style import StyleConfig
    d = StyleConfig()

    p = sub.add_parser("style", help="paint an image in the style of one or more others (Gatys et al.)")
    p.add_argument("content", help="content image (path or sample:NAME)")
    p.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
    p.add_argument("--style-weights", type=float, nargs="+", help="blend weights, one per style (e.g. 0.7 0.3)")
    p.add_argument("--size", type=positive_int, default=d.size, help=f"output long side in pixels (default {d.size})")
    _common_image_flags(p, d)
    p.add_argument("--content-weight", type=float, default=d.content_weight, help=f"(default {d.content_weight})")
    p.add_argument("--content-layer", action="append", dest="content_layers", help="content layer (repeatable)")
    p.add_argument("--init", default=d.init, help="content, noise, gray, style or an image path (default content)")
    p.add_argument("--original-colors", action="store_true", help="keep the content's colours (luminance-only transfer)")
    p.add_argument("--color-match", action="store_true", help="recolour the style(s) to the content's colours first")
    p.set_defaults(func=run_style)

    p = sub.add_parser("texture", help="synthesise a texture from a style image (style only, from noise)")
    p.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
    p.add_argument("--style-weights", type=float, nargs="+", help="blend weights, one per style")
    p.add_argument("--size", type=positive_int, nargs=2, default=[512, 512], metavar=("W", "H"),
                   help="output width and height (default 512 512)")
    _common_image_flags(p, d)
    p.add_argument("--init", default="noise", help="noise, gray, style or an image path (default noise)")
    p.set_defaults(func=run_texture)



def _common_image_flags(p, d) -> None:
    p.add_argument("--out", required=True, help="output image (.png, .jpg, .webp)")
    p.add_argument("--model", default=d.model, help="lite0, lite1, lite2, random, random:SEED or "
                   "vgg19:PATH (default lite0)")
    p.add_argument("--style-layer", action="append", dest="style_layers", help="style layer (repeatable)")
    p.add_argument("--style-weight", type=float, default=d.style_weight, help=f"(default {d.style_weight})")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight, help=f"(default {d.tv_weight})")
    p.add_argument("--style-loss", default=d.style_loss, choices=["gram", "meancov", "w2"])
    p.add_argument("--swag", action="store_true", help="softmax-smooth activations (Wang et al. 2021)")
    p.add_argument("--optimizer", default=d.optimizer, choices=["lbfgs", "adam"])
    p.add_argument("--lr", type=positive_float, default=d.lr, help=f"Adam step size (default {d.lr})")
    p.add_argument("--iterations", type=positive_int, default=d.iterations,
                   help=f"evaluations per scale (default {d.iterations})")
    p.add_argument("--initial-iterations", type=positive_int, default=d.initial_iterations,
                   help=f"evaluations at the first scale (default {d.initial_iterations})")
    p.add_argument("--min-size", type=positive_int, default=d.min_size, help=f"first scale's long side (default {d.min_size})")
    p.add_argument("--scales", type=positive_int, default=None, help="number of scales (default: from --min-size)")
    p.add_argument("--style-scale", type=positive_float, default=d.style_scale, help="style size relative to the output")
    p.add_argument("--pooling", default=d.pooling, choices=["max", "avg"], help="VGG-19 pooling")
    p.add_argument("--save-every", type=int, default=0, help="write a progress frame every N evaluations")
    p.add_argument("--gif", action="store_true", help="with --save-every: also write OUT.gif")
    add_seed(p)
    add_device(p)
    add_json(p)
    add_progress(p)


def _image_config(args, **extra):
    from reverie.image.style import StyleConfig
    return StyleConfig(model=args.model, style_layers=args.style_layers, style_weight=args.style_weight,
                       tv_weight=args.tv_weight, style_loss=args.style_loss, swag=args.swag,
                       optimizer=args.optimizer, lr=args.lr, iterations=args.iterations,
                       initial_iterations=args.initial_iterations, min_size=args.min_size,
                       scales=args.scales, style_scale=args.style_scale, pooling=args.pooling,
                       save_every=max(0, args.save_every), style_weights=args.style_weights,
                       init=args.init, **extra)


def _check_out_image(out: str) -> Path:
    from PIL import Image
    from reverie.io.images import check_writable
    path = Path(out)
    if path.suffix.lower() not in Image.registered_extensions():
        raise ReverieError(f"cannot write an image with suffix {path.suffix!r}; use .png, .jpg or .webp")
    return check_writable(path)


def _run_image(args, content, config) -> int:
    from reverie.io.images import save_image
    from reverie.core.progress import bar
    from reverie.image.style import style_transfer, write_gif

    out = _check_out_image(args.out)
    frames_dir = out.with_name(out.stem + "_frames") if config.save_every else None
    with bar(args.command, enabled=False if args.no_progress else None) as cb:
        result = style_transfer(content, args.styles, config, seed=args.seed, device=args.device,
                                progress=cb, frames_dir=frames_dir)
    save_image(result.image, out)
    outputs = {"image": str(out)}
    if args.gif and result.frames:
        outputs["gif"] = str(write_gif(result.frames, out.with_suffix(".gif")))
    if result.frames:
        outputs["frames"] = str(frames_dir)
    record = {"command": args.command, "content": content, "styles": args.styles, "seed": args.seed,
              "device": args.device, "model": config.model, **result.record(), "outputs": outputs}
    return _report(args, out, record, result.notes,
                   f"wrote {out} ({result.timings['total_s']:.1f} s, style {result.losses['style']:.4g}, "
                   f"content {result.losses.get('content', 0):.4g})")


def run_style(args) -> int:
    config = _image_config(args, size=args.size, content_weight=args.content_weight,
                           content_layers=args.content_layers, original_colors=args.original_colors,
                           color_match=args.color_match)
    return _run_image(args, args.content, config)


def run_texture(args) -> int:
    config = _image_config(args, size=tuple(args.size), content_weight=0.0)
    return _run_image(args, None, config)


# -- sound -----------------------------------------------------------------------------------
