"""Raw audio, sample by sample: WaveNet (with cached generation) and SampleRNN over 8-bit
mu-law samples, and GRUV (an LSTM over blocks' DFTs) beside them. Data: `reverie.sound.data`."""
from reverie.core.registry import Input, Mechanism

_PAPERS = ("van den Oord et al. 2016, WaveNet: A Generative Model for Raw Audio; Paine et "
           "al. 2016, Fast Wavenet Generation; Mehri et al. 2017, SampleRNN; Nayebi & "
           "Vitelli 2015, GRUV: Algorithmic Music Generation using Recurrent Neural Networks")
_MODEL = Input("model", "model", "a sound model from `reverie sound train` (.pt)")
_OUTPUTS = (".wav", ".flac", ".ogg")

MECHANISMS = [
    Mechanism(
        name="train_sound", title="Train a raw-audio model", domain="sound",
        summary="learn to predict sound one sample at a time (WaveNet or SampleRNN, mu-law) "
                "or one block at a time (GRUV), with held-out bits per sample, checkpoints "
                "and resume",
        paper=_PAPERS,
        function="reverie.sound.train:train_sound",
        config="reverie.sound.train:SoundConfig",
        command="sound train",
        inputs=(Input("corpus", "corpus", "builtin:chorale-audio (Bach chorales rendered "
                      "through a General MIDI soundfont), builtin:speech (sentences spoken "
                      "by espeak-ng), or folders/files of WAV, FLAC or OGG", many=True,
                      example="builtin:chorale-audio"),),
        outputs=(".pt",)),
    Mechanism(
        name="continue_sound", title="Continue a sound", domain="sound",
        summary="the given start, then the model's continuation, with the seam marked on "
                "the spectrogram and the loudness and centroid followed: does it keep "
                "sounding, or decay into silence or noise?",
        paper=_PAPERS,
        function="reverie.sound.generate:continue_sound",
        config="reverie.sound.generate:ContinueConfig",
        command="sound continue",
        inputs=(_MODEL, Input("start", "audio", "the beginning: a WAV, FLAC or OGG file "
                              "(at least the model's receptive field long)")),
        outputs=_OUTPUTS),
    Mechanism(
        name="sample_sound", title="Sample a sound", domain="sound",
        summary="sound from the model alone, primed with a snippet of its training sound "
                "or with silence; the same seed gives the same sound",
        paper=_PAPERS,
        function="reverie.sound.generate:sample_sound",
        config="reverie.sound.generate:SampleConfig",
        command="sound sample",
        inputs=(_MODEL,),
        outputs=_OUTPUTS),
]


# builtin: data sets this domain makes (reverie.io.datasets collects them)
from reverie.io import datasets as _datasets  # noqa: E402


def _speech_files():
    from reverie.sound.data import espeak
    espeak()                                   # says how to install it when missing
    return _datasets.files("shakespeare")


DATASETS = [
    _datasets.Dataset("chorale-audio", "sound", "66 of those chorales (48 to train on, 8 to "
                      "validate, 10 held out) rendered through pretty_midi's General MIDI "
                      "soundfont (choir), about 55 minutes; made offline once per sample rate "
                      "and cached", lambda: _datasets.files("chorales")),
    _datasets.Dataset("speech", "sound", "288 lines of tiny-shakespeare spoken by espeak-ng in "
                      "four voices; made offline once per sample rate and cached", _speech_files),
]
