"""Music: Bach chorales in four voices. Coconet (a convolutional orderless model) composes,
harmonises and continues them by blocked Gibbs sampling; a chord Markov chain is the
baseline it must beat. Data: `reverie.music.chorales`."""
from reverie.core.registry import Input, Mechanism

_PAPER = ("Huang, Cooijmans, Roberts, Courville & Eck 2017, Counterpoint by Convolution "
          "(Coconet, ISMIR); Yao et al. 2014 (annealed blocked Gibbs)")
_MODEL = Input("model", "model", "a Coconet model from `reverie music train` (.pt)")
_OUTPUTS = (".mid", ".midi")

MECHANISMS = [
    Mechanism(
        name="train_music", title="Train Coconet on chorales", domain="music",
        summary="train a convolutional orderless model of four voices (soprano, alto, tenor, "
                "bass) by erasing random parts of chorales and predicting them",
        paper=_PAPER,
        function="reverie.music.coconet_train:train_coconet",
        config="reverie.music.coconet:CoconetConfig",
        command="music train",
        inputs=(Input("corpus", "corpus", "builtin:chorales (the Bach chorales music21 ships), "
                      "or folders/files of four-part MIDI or MusicXML", many=True,
                      example="builtin:chorales"),),
        outputs=(".pt",)),
    Mechanism(
        name="compose_music", title="Compose a chorale", domain="music",
        summary="write four voices from nothing by blocked Gibbs sampling with an annealed "
                "erasure rate; MIDI, MusicXML, WAV, piano roll and the rule checks a harmony "
                "teacher makes, beside Bach's",
        paper=_PAPER,
        function="reverie.music.harmonize:compose",
        config="reverie.music.harmonize:ComposeConfig",
        command="music compose",
        inputs=(_MODEL,),
        outputs=_OUTPUTS),
    Mechanism(
        name="harmonize_music", title="Harmonise a melody", domain="music",
        summary="keep a melody as the soprano, exactly, and write alto, tenor and bass under it "
                "by blocked Gibbs sampling",
        paper=_PAPER,
        function="reverie.music.harmonize:harmonize",
        config="reverie.music.harmonize:HarmonizeConfig",
        command="music harmonize",
        inputs=(_MODEL,
                Input("melody", "score", "the melody: a MIDI or MusicXML file (its highest part), "
                      "or notes with lengths in sixteenths such as 'E4:4 E4:4 F4:4 G4:4' "
                      "(4 = a quarter note, R:4 a rest)",
                      example="E4:4 E4:4 F4:4 G4:4 G4:4 F4:4 E4:4 D4:4 C4:4 C4:4 D4:4 E4:4 "
                              "E4:6 D4:2 D4:8")),
        outputs=_OUTPUTS),
    Mechanism(
        name="continue_music", title="Continue a chorale", domain="music",
        summary="write the next bars after a beginning, which stays as given",
        paper=_PAPER,
        function="reverie.music.harmonize:continue_chorale",
        config="reverie.music.harmonize:ContinueConfig",
        command="music continue",
        inputs=(_MODEL,
                Input("start", "score", "the beginning: a MIDI or MusicXML file, four voices")),
        outputs=_OUTPUTS),
]

# MusicVAE (Roberts et al. 2018) over two-bar fragments: a latent space to walk through.
_VAE_PAPER = ("Roberts, Engel, Raffel, Hawthorne & Eck 2018, A Hierarchical Latent Vector Model "
              "for Learning Long-Term Structure in Music (MusicVAE, ICML)")
_VAE = Input("model", "model", "a MusicVAE from `reverie music train-vae` (.pt)")
_FRAGMENT_HELP = ("two bars (or more: the first two are used) of four-part music: a MIDI or "
                  "MusicXML file, or builtin:chorales/NAME@BAR")
MECHANISMS += [
    Mechanism(
        name="train_vae", title="Train MusicVAE on chorale fragments", domain="music",
        summary="learn a latent space of two-bar, four-voice fragments: a bidirectional LSTM "
                "encoder, an autoregressive LSTM decoder, KL annealing and free bits",
        paper=_VAE_PAPER,
        function="reverie.music.vae_train:train_vae",
        config="reverie.music.vae:MusicVAEConfig",
        command="music train-vae",
        inputs=(Input("corpus", "corpus", "builtin:chorales (the Bach chorales music21 ships), "
                      "or folders/files of four-part MIDI or MusicXML", many=True,
                      example="builtin:chorales"),),
        outputs=(".pt",)),
    Mechanism(
        name="interpolate_music", title="Interpolate between two fragments", domain="music",
        summary="encode two 2-bar fragments, walk between their codes (slerp) and decode each "
                "step: a path of music from A to B",
        paper=_VAE_PAPER,
        function="reverie.music.vae_latent:interpolate",
        config="reverie.music.vae_latent:InterpolateConfig",
        command="music interpolate",
        inputs=(_VAE,
                Input("a", "score", "where the path starts: " + _FRAGMENT_HELP,
                      example="builtin:chorales/bwv269@1"),
                Input("b", "score", "where it ends: " + _FRAGMENT_HELP,
                      example="builtin:chorales/bwv347@3")),
        outputs=(".mid", ".midi")),
    Mechanism(
        name="attribute_music", title="Add an attribute vector to a fragment", domain="music",
        summary="move a fragment's code along an attribute vector (more notes, major rather "
                "than minor, or the difference of two sets you give) in several amounts",
        paper=_VAE_PAPER,
        function="reverie.music.vae_latent:apply_attribute",
        config="reverie.music.vae_latent:AttributeConfig",
        command="music attribute",
        inputs=(_VAE,
                Input("fragment", "score", "the fragment to change: " + _FRAGMENT_HELP,
                      example="builtin:chorales/bwv269@1"),
                Input("positive", "score", "examples with the attribute (files or folders of "
                      "MIDI/MusicXML); with negative, replaces the stored attribute",
                      required=False, many=True),
                Input("negative", "score", "examples without it", required=False, many=True)),
        outputs=(".mid", ".midi")),
    Mechanism(
        name="analogy_music", title="A musical analogy", domain="music",
        summary="A is to B as C is to ?: decode enc(B) - enc(A) + enc(C), the arithmetic of "
                "word vectors in MusicVAE's latent space",
        paper=_VAE_PAPER + "; Mikolov et al. 2013 (the analogy arithmetic)",
        function="reverie.music.vae_latent:analogy",
        config="reverie.music.vae_latent:AnalogyConfig",
        command="music analogy",
        inputs=(_VAE,
                Input("a", "score", "A: " + _FRAGMENT_HELP, example="builtin:chorales/bwv269@1"),
                Input("b", "score", "B: " + _FRAGMENT_HELP, example="builtin:chorales/bwv269@3"),
                Input("c", "score", "C: " + _FRAGMENT_HELP, example="builtin:chorales/bwv347@1")),
        outputs=(".mid", ".midi")),
]


# builtin: data sets this domain finds (reverie.io.datasets collects them)
from reverie.io.datasets import Dataset  # noqa: E402


def _chorale_files():
    from reverie.music.chorales import chorale_files
    return chorale_files()


DATASETS = [
    Dataset("chorales", "scores", "the Bach chorales music21 ships: 350 files, 331 in four "
            "parts (SATB) on a sixteenth-note grid, shipped parsed", _chorale_files),
]
