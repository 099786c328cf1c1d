"""MusicVAE's latent space (magenta's trained_model.py and music_vae_generate.py): the
mechanisms interpolate, attribute and analogy.

Fragments are encoded to the mean of q(z|x), as trained_model.encode returns it.
Interpolation walks spherically (slerp, trained_model.interpolate's `_slerp`) or
linearly; attribute vectors are "the mean latent vector of examples with an attribute
minus the mean of those without" (Roberts et al. 2018's attribute vectors) added in
several amounts; an analogy A : B :: C : ? is `reverie.latent.analogy.Codec` over this
encoder and decoder. Decoding samples each frame at `temperature` (music_vae_generate's
default 0.5; 0 is argmax).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from reverie.core.config import Config, ConfigError, device_knob, knob, make_config, seed_knob
from reverie.core.errors import ReverieError
from reverie.core.progress import Progress, silent
from reverie.core.result import Result
from reverie.music import chorales as ch
from reverie.music.chorales import Chorale, estimate_key
from reverie.music.vae import (ATTRIBUTES, FIX, FRAMES, HIGH, LOW, MusicVAE, attribute_vector,
                               encode_tokens, from_tokens, load_vae, out_of_range, to_tokens,
                               window_tokens)
from reverie.music.vae_train import VAETrainResult


@dataclass
class DecodeConfig(Config):
    temperature: float = knob(0.5, "softmax temperature when decoding (music_vae_generate: "
                              "0.5); 0 takes the likeliest token", min=0)
    qpm: float = knob(80.0, "tempo of the MIDI and WAV written, quarter notes per minute",
                      above=0, advanced=True)
    seed: int = seed_knob()
    device: str = device_knob()


@dataclass
class InterpolateConfig(DecodeConfig):
    steps: int = knob(5, "fragments on the path, both ends included (music_vae_generate's "
                      "num_outputs: 5)", min=2, max=64)
    method: str = knob("slerp", "slerp (along the great circle, as MusicVAE's "
                       "trained_model.interpolate) or linear", choices=("slerp", "linear"))


@dataclass
class AttributeConfig(DecodeConfig):
    attribute: str = knob("density", "the attribute vector stored with the model: density "
                          "(fragments with many notes minus few: top quarter minus bottom "
                          "quarter) or major (fragments of major-key chorales minus minor); "
                          "ignored when positive and negative examples are given",
                          choices=ATTRIBUTES)
    amounts: list[float] = knob([-2.0, -1.0, 0.0, 1.0, 2.0], "multiples of the attribute "
                                "vector added to the fragment's code, one fragment each")


@dataclass
class AnalogyConfig(DecodeConfig):
    pass



def as_vae(model) -> MusicVAE:
    if isinstance(model, MusicVAE):
        return model
    if isinstance(model, VAETrainResult):
        return model.vae
    if model is None:
        raise ReverieError(f"a MusicVAE model is needed; {FIX}")
    if not isinstance(model, (str, os.PathLike)):
        raise ReverieError(f"a MusicVAE model is a file `reverie music train-vae` wrote, or one "
                           f"loaded with load_vae; got {type(model).__name__}")
    return load_vae(model)


_BUILTIN = re.compile(r"^builtin:chorales/([^@]+?)(?:@(\d+))?$")


def _builtin_fragment(text: str) -> Chorale:
    """builtin:chorales/NAME[@BAR]: two bars of a chorale music21 ships, from bar BAR
    (counted in 4/4 from the first frame; default 1)."""
    m = _BUILTIN.match(text)
    name, bar = m.group(1), int(m.group(2) or 1)
    stem = name.rsplit(".", 1)[0] if name.endswith((".mxl", ".xml", ".krn")) else name
    found = [c for c in ch.load_chorales() if c.name in (name, stem)]
    if not found:
        raise ReverieError(f"no chorale named {name!r} in builtin:chorales; give a name such as "
                           f"bwv269 (see music21's corpus)")
    c = found[0]
    start = 16 * (bar - 1)
    if bar < 1 or start + FRAMES > len(c):
        raise ReverieError(f"{c.name} has {len(c) // 16} bars; start two bars at a bar from 1 "
                           f"to {max(1, (len(c) - FRAMES) // 16 + 1)}")
    tok = window_tokens(to_tokens(c.pitches, c.onsets), c.pitches, start)
    out = from_tokens(tok, f"{c.name}@{bar}")
    out.key = c.key
    return out


def fragment_of(x, what: str = "fragment") -> tuple[Chorale, list[str]]:
    """A 2-bar, 4-voice fragment from a MIDI/MusicXML path, `builtin:chorales/NAME@BAR`, a
    Chorale or a (T, 4) pitch array: its first 32 sixteenths. Pitches outside 36..81 are
    moved by octaves into that range (said in the notes)."""
    notes: list[str] = []
    if isinstance(x, Chorale):
        c = x
    elif isinstance(x, np.ndarray):
        if x.ndim != 2 or x.shape[1] != 4:
            raise ReverieError(f"the {what} must be a (frames, 4) array of pitches; got shape "
                               f"{x.shape}")
        c = ch.from_array(x, what)
    elif isinstance(x, (str, os.PathLike)):
        s = os.fspath(x)
        c = _builtin_fragment(s) if _BUILTIN.match(s) else ch.read_score(s)
    elif x is None:
        raise ReverieError(f"no {what} given; give a MIDI or MusicXML file of at least 2 bars")
    else:
        raise ReverieError(f"the {what} must be a MIDI or MusicXML file; got "
                           f"{type(x).__name__}")
    if len(c) < FRAMES:
        raise ReverieError(f"the {what} {c.name} is {len(c)} sixteenths long; the model reads "
                           f"2 bars of 4/4 (32 sixteenths): give a longer one")
    if np.isnan(c.pitches[:FRAMES]).all():
        raise ReverieError(f"the {what} {c.name} has no notes in its first 2 bars; give one "
                           f"that starts with music")
    if len(c) > FRAMES:
        notes.append(f"the {what} {c.name} is {len(c) / 16:g} bars long; its first 2 are used")
    p = c.pitches[:FRAMES].copy()
    moved = 0
    while out_of_range(p):
        low, high = p < LOW, p > HIGH
        moved += int(low.sum() + high.sum())
        p = np.where(low, p + 12, np.where(high, p - 12, p))
    if moved:
        notes.append(f"notes of the {what} outside MIDI pitches {LOW}..{HIGH} were moved by "
                     f"octaves into that range")
    return Chorale(c.name, p, c.onsets[:FRAMES].copy(), c.key, c.fermatas[:FRAMES].copy()), notes


def fragment_tokens(c: Chorale) -> torch.Tensor:
    return torch.from_numpy(to_tokens(c.pitches[:FRAMES], c.onsets[:FRAMES]))


def encode(vae: MusicVAE, fragments: Sequence[Chorale]) -> np.ndarray:
    """The mean of q(z|x) of each fragment: (N, z_size)."""
    tok = torch.stack([fragment_tokens(f) for f in fragments])
    return encode_tokens(vae.net, tok)


def decode(vae: MusicVAE, z: np.ndarray, temperature: float = 0.5, seed: int = 0,
           names: Optional[Sequence[str]] = None) -> list[Chorale]:
    """Fragments decoded from codes (N, z_size), frame by frame at `temperature`."""
    z = torch.as_tensor(np.asarray(z, np.float32)).reshape(-1, vae.config.z_size)
    gen = torch.Generator().manual_seed(seed)
    tok = vae.net.sample(z.to(next(vae.net.parameters()).device), temperature, gen).cpu().numpy()
    names = list(names) if names is not None else [f"z{i}" for i in range(len(tok))]
    return [from_tokens(t, n) for t, n in zip(tok, names)]


def describe(c: Chorale) -> dict:
    """What the figures compare: notes started, mean pitch, the key it suggests."""
    p = c.pitches[~np.isnan(c.pitches)]
    return {"notes": int(c.onsets.sum()), "mean_pitch": float(p.mean()) if p.size else None,
            "key_estimated": estimate_key(c.pitches) if p.size else ""}


def agreement(a: Chorale, b: Chorale) -> float:
    """Share of the 32 x 4 cells where two fragments sound the same pitch (or both rest)."""
    pa, pb = a.pitches[:FRAMES], b.pitches[:FRAMES]
    same = (pa == pb) | (np.isnan(pa) & np.isnan(pb))
    return float(same.mean())


@dataclass
class FragmentsResult(Result):
    """Fragments in a row (a path, an attribute sweep, an analogy): one MIDI and WAV of
    them back to back, a piano roll, the sidecar."""
    fragments: list[Chorale]
    labels: list[str]
    suffixes = (".mid", ".midi")

    @property
    def joined(self) -> Chorale:
        p = np.concatenate([f.pitches for f in self.fragments])
        o = np.concatenate([f.onsets for f in self.fragments])
        return Chorale(" | ".join(self.labels), p, o, estimate_key(p))

    def write(self, path: Path) -> dict[str, Path]:
        from reverie.music import score
        qpm = getattr(self.config, "qpm", 80.0)
        whole = self.joined
        paths = {"midi": score.write_midi(whole, path, qpm)}
        paths["audio"], engine = score.write_wav(whole, path.with_suffix(".wav"), qpm)
        self.figures["synthesiser"] = engine
        paths["piano_roll"] = score.write_piano_roll(
            whole, path.with_suffix(".png"),
            title=f"{self.mechanism}, 2 bars each: " + " | ".join(self.labels))
        return paths

    def summary(self) -> str:
        per = self.figures.get("fragments", [])
        dens = " -> ".join(str(f["notes"]) for f in per)
        return (f"{len(self.fragments)} fragments of 2 bars ({', '.join(self.labels)}); "
                f"notes per fragment: {dens}")


def _inputs_record(**sources) -> dict:
    def one(v) -> dict:
        if isinstance(v, (list, tuple)):
            return {"many": [one(x) for x in v]}
        if isinstance(v, (str, os.PathLike)) and not _BUILTIN.match(os.fspath(v)):
            return ch.record_source(v)
        if isinstance(v, str):
            return {"value": v}            # builtin:chorales/NAME@BAR
        if v is None:
            return {"source": None}
        return {"source": None, "note": f"given in memory ({type(v).__name__})"}
    return {k: one(v) for k, v in sources.items()}


def _device_of(vae: MusicVAE, name: str) -> str:
    from reverie.core.device import resolve_device
    dev = resolve_device(name)
    vae.net.to(dev)
    return str(dev)


def _finish(cls_fragments: list[Chorale], labels: list[str], vae: MusicVAE, cfg, mechanism,
            inputs, notes, started, extra: dict) -> FragmentsResult:
    figures = {"fragments": [dict(describe(f), label=l) for f, l in zip(cls_fragments, labels)],
               **extra}
    if vae.meta.get("evaluation"):
        figures["model_held_out"] = {k: vae.meta["evaluation"].get(k) for k in
                                     ("sampled_note_accuracy", "kl_bits")}
    vae.net.cpu()
    return FragmentsResult(cls_fragments, labels, mechanism=mechanism, config=cfg,
                           inputs=inputs, figures=figures, notes=notes,
                           timings={"total": time.perf_counter() - started},
                           resolved={"device": str(cfg.device)})


def interpolate(model=None, a=None, b=None, config: Optional[InterpolateConfig] = None, *,
                progress: Progress = silent, **overrides) -> FragmentsResult:
    """A path of `steps` fragments from A to B: both encoded, the codes joined by slerp (or
    a line), each point decoded. The ends are the model's reconstructions of A and B."""
    from reverie.latent.analogy import interpolate as path
    cfg = make_config(InterpolateConfig, config, **overrides)
    started = time.perf_counter()
    inputs = _inputs_record(model=model if isinstance(model, (str, os.PathLike)) else None,
                            a=a, b=b)
    vae = as_vae(model)
    fa, na = fragment_of(a, "fragment A")
    fb, nb = fragment_of(b, "fragment B")
    cfg = cfg.replace(device=_device_of(vae, cfg.device))
    za, zb = encode(vae, [fa, fb])
    zs = path(za, zb, cfg.steps, cfg.method)
    progress(1, 2, "decoding")
    labels = ["A"] + [f"{t:.2f}" for t in np.linspace(0, 1, cfg.steps)[1:-1]] + ["B"]
    frags = decode(vae, zs, cfg.temperature, cfg.seed, labels)
    progress(2, 2, "done")
    extra = {"agreement_with_A": [agreement(f, fa) for f in frags],
             "agreement_with_B": [agreement(f, fb) for f in frags],
             "input_notes": [int(fa.onsets.sum()), int(fb.onsets.sum())],
             "latent_distance": float(np.linalg.norm(za - zb))}
    return _finish(frags, labels, vae, cfg, "interpolate_music", inputs, na + nb, started, extra)


def apply_attribute(model=None, fragment=None, config: Optional[AttributeConfig] = None, *,
                    positive=None, negative=None, progress: Progress = silent,
                    **overrides) -> FragmentsResult:
    """The fragment's code plus each amount times an attribute vector, decoded. The vector
    is one the model stores (density, major) or, with `positive` and `negative` (files or
    folders of MIDI/MusicXML, 2 bars or more each), the mean code of the positives minus
    the mean code of the negatives."""
    cfg = make_config(AttributeConfig, config, **overrides)
    started = time.perf_counter()
    inputs = _inputs_record(model=model if isinstance(model, (str, os.PathLike)) else None,
                            fragment=fragment, positive=positive, negative=negative)
    vae = as_vae(model)
    frag, notes = fragment_of(fragment)
    cfg = cfg.replace(device=_device_of(vae, cfg.device))
    if not cfg.amounts:
        raise ConfigError("amounts", "give at least one amount, e.g. -1 0 1")
    if (positive is None) != (negative is None):
        raise ReverieError("give both positive and negative examples (or neither, to use an "
                           "attribute the model stores)")
    if positive is not None:
        zp = encode(vae, _fragment_set(positive, "positive"))
        zn = encode(vae, _fragment_set(negative, "negative"))
        vector = attribute_vector(zp, zn)
        name = "positive minus negative"
    else:
        if cfg.attribute not in vae.attributes:
            raise ReverieError(f"this model stores no {cfg.attribute!r} attribute vector (it "
                               f"has: {', '.join(vae.attributes) or 'none'}); choose another, "
                               f"or give positive and negative examples")
        vector = vae.attributes[cfg.attribute]
        name = cfg.attribute
    z = encode(vae, [frag])[0]
    amounts = [float(a) for a in cfg.amounts]
    zs = np.stack([z + a * vector for a in amounts])
    progress(1, 2, "decoding")
    labels = [f"{a:+g} {name}" for a in amounts]
    frags = decode(vae, zs, cfg.temperature, cfg.seed, labels)
    progress(2, 2, "done")
    extra = {"attribute": name, "amounts": amounts,
             "vector_norm": float(np.linalg.norm(vector)),
             "input_notes": int(frag.onsets.sum()),
             "notes_by_amount": {f"{a:g}": int(f.onsets.sum()) for a, f in zip(amounts, frags)}}
    return _finish(frags, labels, vae, cfg, "attribute_music", inputs, notes, started, extra)


def _fragment_set(source, what: str) -> list[Chorale]:
    """Files, folders of MIDI/MusicXML, or Chorales -> 2-bar fragments (each file's first 2
    bars)."""
    items = source if isinstance(source, (list, tuple)) else [source]
    out: list[Chorale] = []
    for item in items:
        if isinstance(item, (str, os.PathLike)) and Path(item).is_dir():
            files = sorted(f for f in Path(item).rglob("*") if f.suffix.lower() in ch.SCORE_SUFFIXES)
            if not files:
                raise ReverieError(f"the {what} folder {item} holds no MIDI or MusicXML files; "
                                   f"give .mid or .musicxml scores of 2 bars or more")
            out += [fragment_of(f, f"{what} example")[0] for f in files]
        else:
            out.append(fragment_of(item, f"{what} example")[0])
    return out


def analogy(model=None, a=None, b=None, c=None, config: Optional[AnalogyConfig] = None, *,
            progress: Progress = silent, **overrides) -> FragmentsResult:
    """A is to B as C is to D: D decoded from enc(B) - enc(A) + enc(C), through
    `reverie.latent.analogy.Codec`, the arithmetic every latent space in Reverie shares.
    The output plays A, B, C and D in turn (A, B and C as the model reconstructs them)."""
    from reverie.latent.analogy import Codec
    cfg = make_config(AnalogyConfig, config, **overrides)
    started = time.perf_counter()
    inputs = _inputs_record(model=model if isinstance(model, (str, os.PathLike)) else None,
                            a=a, b=b, c=c)
    vae = as_vae(model)
    notes: list[str] = []
    frags_in = []
    for x, what in ((a, "fragment A"), (b, "fragment B"), (c, "fragment C")):
        f, n = fragment_of(x, what)
        frags_in.append(f)
        notes += n
    cfg = cfg.replace(device=_device_of(vae, cfg.device))
    codec = Codec(encode=lambda f: encode(vae, [f])[0], decode=lambda z: z)
    zd = codec.analogy(*frags_in)
    zs = np.stack([*encode(vae, frags_in), zd])
    labels = ["A", "B", "C", "D = B - A + C"]
    frags = decode(vae, zs, cfg.temperature, cfg.seed, labels)
    progress(1, 1, "done")
    extra = {"notes_in": [int(f.onsets.sum()) for f in frags_in],
             "agreement_D_with_C": agreement(frags[3], frags_in[2]),
             "agreement_D_with_B": agreement(frags[3], frags_in[1])}
    return _finish(frags, labels, vae, cfg, "analogy_music", inputs, notes, started, extra)
