"""Text: char-rnn language models, the Kneser-Ney n-gram baseline, and the sentiment neuron."""
from reverie.core.registry import Input, Mechanism

_MODEL = "a model from `text train` (.pt)"

MECHANISMS = [
    Mechanism(
        name="train_charlm", title="Character language model", domain="text",
        summary="train a character LSTM or mLSTM to predict the next character (char-rnn)",
        paper="Karpathy 2015, The Unreasonable Effectiveness of Recurrent Neural Networks; "
              "Krause et al. 2016 (mLSTM)",
        function="reverie.text.train:train_charlm", config="reverie.text.charlm:CharLMConfig",
        command="text train",
        inputs=(Input("corpus", "corpus", "UTF-8 text files, folders or builtin:shakespeare "
                      "(any file when modelling bytes)", many=True, example="builtin:shakespeare"),),
        outputs=(".pt",)),
    Mechanism(
        name="sample_text", prints=True, title="Sample a language model", domain="text",
        summary="generate text one character at a time from a trained model",
        paper="Karpathy 2015, char-rnn; Chen & Goodman 1998 (n-gram)",
        function="reverie.text.lm:sample_text", config="reverie.text.lm:SampleConfig",
        command="text sample",
        inputs=(Input("model", "model", _MODEL + " or `text ngram` (.json)"),),
        outputs=(".txt",)),
    Mechanism(
        name="train_ngram", title="Character n-gram baseline", domain="text",
        summary="count an interpolated Kneser-Ney character n-gram: the bar a neural model "
                "must clear",
        paper="Chen & Goodman 1998; Ney, Essen & Kneser 1994",
        function="reverie.text.ngram:train_ngram", config="reverie.text.ngram:NGramConfig",
        command="text ngram",
        inputs=(Input("corpus", "corpus", "UTF-8 text files, folders or builtin:shakespeare",
                      many=True, example="builtin:shakespeare"),),
        outputs=(".json",)),
    Mechanism(
        name="fit_sentiment", title="Sentiment neuron probe", domain="text",
        summary="fit an L1 logistic-regression probe on a language model's state and find "
                "the unit that adds most over the text's length",
        paper="Radford, Jozefowicz & Sutskever 2017, Learning to Generate Reviews and "
              "Discovering Sentiment",
        function="reverie.text.sentiment:fit_sentiment",
        config="reverie.text.sentiment:ProbeConfig", command="sentiment fit",
        inputs=(Input("lm", "model", _MODEL),
                Input("data", "corpus", "labelled CSV/TSV, or builtin:airline-tweets / "
                      "builtin:tweets / builtin:drugs", example="builtin:airline-tweets")),
        outputs=(".png",)),
    Mechanism(
        name="generate_clamped", prints=True, title="Generate with a unit clamped", domain="text",
        summary="generate text with one unit held at a value at every step (or at a "
                "percentile of its values on real texts)",
        paper="Radford, Jozefowicz & Sutskever 2017",
        function="reverie.text.sentiment:generate_clamped",
        config="reverie.text.sentiment:ClampConfig", command="sentiment generate",
        inputs=(Input("lm", "model", _MODEL),
                Input("data", "corpus", "with percentile: the texts whose values of the unit "
                      "set the clamp (CSV/TSV or builtin:airline-tweets / builtin:tweets / "
                      "builtin:drugs)", required=False, example="builtin:airline-tweets")),
        outputs=(".txt",)),
]
