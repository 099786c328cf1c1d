"""Gallery section: style transfer and texture synthesis for sound (Ulyanov and Lebedev).

No recordings ship offline, so the sounds are synthesised (reverie.audio.samples): a plucked
melody and rain on a roof. They are written as WAV files first and the mechanisms read
those files, so every output's sidecar can make it again (`reverie rerun`).
"""
from __future__ import annotations

import time

from reverie.gallery import Card, GalleryContext, Section

SR = 22050


def build(ctx: GalleryContext) -> Section:
    from reverie.audio.samples import melody, rain
    from reverie.audio.spectral import log_spectrogram, save_spectrogram_png
    from reverie.audio.style import AudioStyleConfig, AudioTextureConfig, audio_style, audio_texture
    from reverie.io.audio import save_audio

    quick = ctx.quick
    seconds = 1.0 if quick else 4.0
    shared = dict(n_filters=64 if quick else 2048, evaluations=6 if quick else 60,
                  griffin_lim_iters=8 if quick else 50, device=str(ctx.device))
    section = Section(
        "Sound: style transfer and texture synthesis",
        "Ulyanov and Lebedev: a sound's log spectrogram seen by one layer of random 1-D filters "
        "(never trained); the Gram matrices of their responses over time are its texture. "
        "L-BFGS shapes a spectrogram to match them (and, for style transfer, another clip's "
        "features), and Griffin-Lim recovers a phase so it can be heard. Both inputs are "
        "synthesised here.",
        mechanisms=["audio_style", "audio_texture"])

    sources = {"melody": (melody(seconds, SR), "tones with harmonics and decaying envelopes"),
               "rain": (rain(seconds, SR), "band-passed noise with droplet clicks")}
    paths = {}
    for name, (x, made) in sources.items():
        paths[name] = save_audio(x, SR, ctx.asset(f"audio/{name}.wav"))
        picture = save_spectrogram_png(log_spectrogram(x), SR, ctx.asset(f"audio/{name}.spec.png"),
                                       name)
        section.cards.append(Card(f"sound input: {name}", [ctx.rel(paths[name]), ctx.rel(picture)],
                                  {"seconds": seconds, "made from": made}))

    runs = [("melody_in_rain", "the melody's content in the rain's style",
             lambda: audio_style(paths["melody"], paths["rain"], AudioStyleConfig(**shared))),
            ("rain_texture", "a rain texture from noise (style only)",
             lambda: audio_texture(paths["rain"], AudioTextureConfig(**shared)))]
    for tag, title, make in runs:
        start = time.perf_counter()
        result = make()
        saved = result.save(ctx.asset(f"audio/{tag}.wav"))
        f = result.figures
        section.cards.append(Card(
            title, [ctx.rel(saved["audio"]), ctx.rel(saved["spectrogram"])],
            {"filters": result.config.n_filters, "L-BFGS evaluations": result.config.evaluations,
             "style (Gram) loss": f"{f['style_loss_initial']:.4g} -> {f['style_loss']:.4g}",
             "seconds": round(time.perf_counter() - start, 1)},
            lead=result.summary()))
        ctx.progress(len(section.cards), 0, title)
    return section
