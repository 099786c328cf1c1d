"""Words: word2vec trained on a corpus, and the analogies its vectors answer."""
from reverie.core.registry import Input, Mechanism

MECHANISMS = [
    Mechanism(
        name="train_words", command="words train", title="word2vec", domain="words",
        summary="learn a vector per word from the words around it (CBOW or skip-gram)",
        paper="Mikolov, Chen, Corrado and Dean 2013, Efficient Estimation of Word "
              "Representations in Vector Space",
        function="reverie.words.train:train_words", config="reverie.words.train:WordsConfig",
        inputs=(Input("corpus", "corpus", "text files, folders or builtin:NAME (gcide, kjv, "
                      "shakespeare, lee)", many=True, example="builtin:lee"),),
        outputs=(".kv", ".bin", ".txt", ".vec", ".pt"),
        deterministic=False),  # threads race; workers=1 makes a run reproducible
    Mechanism(
        name="analogy", prints=True, command="words analogy", title="Word analogies", domain="words",
        summary="A is to B as C is to ?: the words nearest B - A + C, by 3CosAdd and 3CosMul",
        paper="Mikolov, Yih and Zweig 2013; Levy and Goldberg 2014 (3CosMul)",
        function="reverie.words.analogy:analogy", config="reverie.words.analogy:AnalogyConfig",
        inputs=(Input("vectors", "vectors", "word vectors: gensim .kv, word2vec .txt/.vec or "
                      ".bin, a .pt (from `reverie words train`) or model:NAME from the zoo"),
                Input("a", "value", "the word A", example="king"),
                Input("b", "value", "the word B", example="queen"),
                Input("c", "value", "the word C", example="man")),
        outputs=(".json", ".txt")),
]
