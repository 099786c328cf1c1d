"""Gallery: ELIZA replays the conversation printed in Weizenbaum's CACM paper, with the
keyword and rule behind every reply; then two networks answer the same lines: a responder
trained on chatterbot-corpus conversations (`chat train`), and the zoo's model:bard (or,
without it, the Shakespeare model of the text section) answering as Romeo, each with how much the conversation shaped its reply.
"""
from __future__ import annotations

from reverie.chat.conversation import chat
from reverie.gallery import Card, GalleryContext, Section, Table, made
from reverie.gallery.text import CORPUS, QUICK, SHAKESPEARE, _cached_lm
from reverie.text.charlm import CharLMConfig

CACM = ["Men are all alike.", "They're always bugging us about something or other.",
        "Well, my boyfriend made me come here.", "He says I'm depressed much of the time.",
        "It's true. I am unhappy.", "I need some help, that much seems certain.",
        "Perhaps I could learn to get along with my mother.", "My mother takes care of me.",
        "My father.", "You are like my father in some ways."]
# chatterbot-corpus is small (0.2 M characters): a few hundred steps are several passes
CHATTERBOT = CharLMConfig(rnn_size=256, dropout=0.1, max_steps=600, eval_every=200,
                          checkpoint_every=200)
LINES = ["Hello, how are you?", "What is your name?", "Do you like music?",
         "I feel sad today.", "Tell me a joke."]


def build(ctx: GalleryContext) -> Section:
    cards = [eliza_card(ctx)]
    cards += neural_cards(ctx)
    blurb = ("Two ends of the chatbot line. ELIZA (Weizenbaum 1966) is a script: keywords with "
             "ranks, decomposition patterns and reassembly rules that reflect your words back "
             "\"in a psychologist's fashion\"; every reply below names the keyword and rule "
             "that made it. The networks (after Vinyals & Le 2015) are character models trained "
             "on conversations that answer by continuing the dialogue; beside each reply, how "
             "many bits per character the conversation saved the model in predicting it.")
    return Section(title="Conversation: ELIZA and a neural responder", blurb=blurb, cards=cards,
                   mechanisms=["chat", "train_chat"])


def eliza_card(ctx: GalleryContext) -> Card:
    result = chat(CACM, bot="eliza")
    out = result.save(ctx.asset("chat/eliza_cacm.txt"))
    rows = [[t["you"], t["eliza"]["text"], t["eliza"]["keyword"] or t["eliza"]["source"],
             t["eliza"]["decomposition"] or ""] for t in result.turns]
    return Card(title="ELIZA and the DOCTOR script: the CACM conversation",
                lead="Reply for reply the conversation printed in the 1966 paper",
                media=[ctx.rel(out["transcript"])],
                tables=[Table(["you", "ELIZA", "keyword", "decomposition rule"], rows)],
                figures={"reply time": f"{result.figures['eliza_reply_ms']:.2f} ms"})


def neural_cards(ctx: GalleryContext) -> list[Card]:
    from reverie.chat.neural import train_chat

    q = ctx.quick
    cfg = (QUICK if q else CHATTERBOT).replace(device=str(ctx.device))
    # the zoo's model:chatterbot when installed, else a short run here (cached)
    model, fig = ctx.model("chatterbot", "chat", "chatterbot", cfg, lambda out: train_chat(
        "builtin:chatterbot", cfg, out=out, progress=ctx.progress))
    cards = [_conversation_card(ctx, "A responder trained on chatterbot-corpus", model, "BOT",
                                "HUMAN", LINES, "chat/chatterbot_bot.txt",
                                made(fig, "char LSTM", "builtin:chatterbot"))]
    # the text section's model (tiny-shakespeare is already in the turn layout): Romeo
    from reverie.io.datasets import read_text
    text = read_text(CORPUS)[:300_000] if q else None
    shakespeare, fig = _cached_lm(ctx, "shakespeare", QUICK if q else SHAKESPEARE,
                                  corpus=None if q else CORPUS, text=text, zoo="bard")
    bard = fig.get("zoo") is not None
    cards.append(_conversation_card(
        ctx, "Romeo answers: " + ("the zoo's Shakespearean responder, model:bard" if bard else
                                  "the Shakespeare model of the text section"),
        shakespeare, "ROMEO", "JULIET",
        ["Romeo, Romeo, wherefore art thou?", "What light is this?",
         "Wilt thou leave me so unsatisfied?"], "chat/romeo.txt",
        made(fig, "char LSTM on speaker turns", "builtin:shakespeare") if bard else
        "the text section's char LM, used as a responder"))
    return cards


def _conversation_card(ctx, title, model, persona, user, lines, name, made) -> Card:
    result = chat(lines, bot="neural", model=str(model), persona=persona, user=user,
                  temperature=0.6, length=200, seed=1)
    out = result.save(ctx.asset(name))
    rows = [[t["you"], t["neural"]["text"], round(t["neural"]["bits_per_char"], 2),
             round(t["neural"]["context_gain_bits"], 2)] for t in result.turns]
    return Card(title=title, media=[ctx.rel(out["transcript"])],
                lead=f"{user} says each line; the network answers as {persona}",
                tables=[Table(["you", persona, "bits/char", "saved by the conversation"], rows)],
                figures={"model": made,
                         "mean bits/char saved": round(result.figures["mean_context_gain_bits"], 3)})
