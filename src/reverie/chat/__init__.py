"""Chat: Weizenbaum's ELIZA (1966) and a neural responder trained on conversations."""
from reverie.core.registry import Input, Mechanism

MECHANISMS = [
    Mechanism(
        name="chat", prints=True, title="ELIZA and a neural responder", domain="chat",
        summary="say something; ELIZA's 1966 DOCTOR script and a network trained on "
                "conversations answer, each showing why",
        paper="Weizenbaum 1966, ELIZA (CACM 9(1)); Vinyals & Le 2015, A Neural "
              "Conversational Model",
        function="reverie.chat.conversation:chat", config="reverie.chat.conversation:ChatConfig",
        command="chat say",
        inputs=(Input("say", "value", "what you say: each line is one turn of the conversation",
                      many=True, example="Men are all alike."),
                Input("model", "model", "a responder from `chat train` (.pt), for the neural bot",
                      required=False),
                Input("script", "text", "an ELIZA script in the 1966 S-expression form (default: "
                      "the DOCTOR script)", required=False)),
        outputs=(".txt", ".json")),
    Mechanism(
        name="train_chat", title="Train a neural responder", domain="chat",
        summary="train a character model on dialogue turns, to answer as one of its speakers",
        paper="Vinyals & Le 2015, A Neural Conversational Model; Karpathy 2015, char-rnn",
        function="reverie.chat.neural:train_chat", config="reverie.text.charlm:CharLMConfig",
        command="chat train",
        inputs=(Input("corpus", "corpus", "dialogue: `NAME: line` transcripts (.txt), "
                      "chatterbot-corpus YAML, builtin:shakespeare or builtin:chatterbot",
                      many=True, example="builtin:shakespeare"),),
        outputs=(".pt",)),
]
