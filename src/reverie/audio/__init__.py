"""Sound: style transfer and texture synthesis on spectrograms (Ulyanov and Lebedev)."""
from reverie.core.registry import Input, Mechanism

_PAPER = "Ulyanov and Lebedev 2016, Audio texture synthesis and style transfer"

MECHANISMS = [
    Mechanism(
        name="audio_style", command="audio-style", title="Audio style transfer", domain="audio",
        summary="sound with one clip's content and another's texture, matched through the Gram "
                "matrices of random 1-D filters on its spectrogram",
        paper=_PAPER,
        function="reverie.audio.style:audio_style", config="reverie.audio.style:AudioStyleConfig",
        inputs=(Input("content", "audio", "the sound whose content is kept (WAV, FLAC or OGG)"),
                Input("style", "audio", "the sound whose texture is taken (WAV, FLAC or OGG)")),
        outputs=(".wav", ".flac")),
    Mechanism(
        name="audio_texture", command="audio-texture", title="Audio texture synthesis",
        domain="audio",
        summary="a new sound with a clip's texture, from noise, matched through the Gram "
                "matrices of random 1-D filters on its spectrogram",
        paper=_PAPER,
        function="reverie.audio.style:audio_texture",
        config="reverie.audio.style:AudioTextureConfig",
        inputs=(Input("style", "audio", "the sound whose texture is made anew (WAV, FLAC or OGG)"),),
        outputs=(".wav", ".flac")),
]
