"""Sound commands: `audio-style`, `audio-texture` (Ulyanov and Lebedev's random-filter texture synthesis)."""
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
    from reverie.audio.style import AudioStyleConfig
    a = AudioStyleConfig()

    p = sub.add_parser("audio-style", help="sound with one clip's content and another's texture (Ulyanov & Lebedev)")
    p.add_argument("content", help="content audio (WAV, FLAC, OGG)")
    p.add_argument("style", help="style audio")
    p.add_argument("--content-weight", type=float, default=a.content_weight, help=f"(default {a.content_weight})")
    p.add_argument("--init", default=a.init, choices=["noise", "content"])
    _common_audio_flags(p, a)
    p.set_defaults(func=run_audio_style)

    p = sub.add_parser("audio-texture", help="a sound texture from a style clip")
    p.add_argument("style", help="style audio")
    p.add_argument("--seconds", type=positive_float, default=None, help="length (default: the style's)")
    _common_audio_flags(p, a)
    p.set_defaults(func=run_audio_texture)


def _common_audio_flags(p, a) -> None:
    p.add_argument("--out", required=True, help="output audio (.wav, .flac, .ogg)")
    p.add_argument("--style-weight", type=float, default=a.style_weight)
    p.add_argument("--filters", type=positive_int, default=a.n_filters, help=f"random filters (default {a.n_filters})")
    p.add_argument("--kernel-width", type=positive_int, default=a.kernel_width, help="filter width in frames")
    p.add_argument("--iterations", type=positive_int, default=a.iterations, help=f"L-BFGS evaluations (default {a.iterations})")
    p.add_argument("--n-fft", type=positive_int, default=a.n_fft)
    p.add_argument("--hop-length", type=positive_int, default=a.hop_length)
    p.add_argument("--griffin-lim-iters", type=positive_int, default=a.griffin_lim_iters)
    p.add_argument("--sample-rate", type=positive_int, default=None, help="output rate (default: the input's)")
    p.add_argument("--max-seconds", type=positive_float, default=a.max_seconds, help="refuse longer inputs")
    p.add_argument("--no-spectrograms", action="store_true", help="do not write OUT.spec.png pictures")
    add_seed(p)
    add_json(p)
    add_progress(p)


# -- images ----------------------------------------------------------------------------------

def _audio_config(args, **extra):
    from reverie.audio.style import AudioStyleConfig
    return AudioStyleConfig(style_weight=args.style_weight, n_filters=args.filters,
                            kernel_width=args.kernel_width, iterations=args.iterations,
                            n_fft=args.n_fft, hop_length=args.hop_length,
                            griffin_lim_iters=args.griffin_lim_iters, sample_rate=args.sample_rate,
                            max_seconds=args.max_seconds, **extra)


def _run_audio(args, content, config, seconds=None) -> int:
    from reverie.audio.style import audio_style, log_spectrogram, load_audio, save_audio, save_spectrogram_png
    from reverie.io.images import check_writable
    from reverie.core.progress import bar

    out = Path(args.out)
    if out.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise ReverieError(f"cannot write audio with suffix {out.suffix!r}; use .wav, .flac or .ogg")
    check_writable(out)
    with bar(args.command, enabled=False if args.no_progress else None) as cb:
        result = audio_style(content, args.style, config, seconds=seconds, seed=args.seed, progress=cb)
    spectrograms = {}
    if not args.no_spectrograms:
        cfg = result.config
        for name, source in (("content", content), ("style", args.style)):
            if source is None:
                continue
            x, sr = load_audio(source, cfg.max_seconds, cfg.n_fft)
            spectrograms[name] = str(save_spectrogram_png(
                log_spectrogram(x, cfg), sr, out.with_name(f"{out.stem}.{name}.spec.png"), name, cfg.hop_length))
        spectrograms["result"] = str(save_spectrogram_png(
            log_spectrogram(result.audio, cfg), result.sample_rate,
            out.with_name(f"{out.stem}.spec.png"), "result", cfg.hop_length))
    save_audio(result.audio, result.sample_rate, out)
    record = {"command": args.command, "content": content, "style": args.style, "seed": args.seed,
              "model": f"random conv1d ({config.n_filters} filters, width {config.kernel_width}, seed {args.seed})",
              **result.record(), "spectrograms": spectrograms}
    return _report(args, out, record, result.notes,
                   f"wrote {out} ({result.timings['total_s']:.1f} s, style loss {result.losses['style']:.4g})")


def run_audio_style(args) -> int:
    return _run_audio(args, args.content, _audio_config(args, content_weight=args.content_weight, init=args.init))


def run_audio_texture(args) -> int:
    return _run_audio(args, None, _audio_config(args, content_weight=0.0), seconds=args.seconds)
