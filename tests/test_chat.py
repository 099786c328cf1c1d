"""The conversation: dialogue turns, the neural responder, ELIZA beside it, the command."""
from __future__ import annotations

import json
import math
import random

import pytest

from conftest import THREADS, assert_one_line_error, assert_rerun_identical
from reverie.chat.conversation import ChatConfig, chat
from reverie.chat.neural import load_responder, prompt, reply_bits, respond, train_chat
from reverie.chat.turns import (Turn, format_turns, parse_chatterbot, parse_play,
                                parse_transcript, read_dialogue)
from reverie.core.config import ConfigError
from reverie.core.errors import ReverieError

# Who answers what is decided by the question: only a model that reads the conversation
# can get these right.
PAIRS = {"ping": "pong", "hello": "world", "night": "day", "salt": "pepper"}
TINY = dict(rnn_size=48, n_embd=16, seq_length=48, batch_size=16, max_steps=400,
            learning_rate=1e-2, min_lr=1e-3, warmup_iters=10, eval_every=100, eval_iters=4,
            checkpoint_every=100, dropout=0.0, threads=THREADS, seed=0)


def transcript(n=600, seed=0) -> str:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        q = rng.choice(list(PAIRS))
        lines += [f"ANN: {q}", f"BOB: {PAIRS[q]}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chat")
    corpus = folder / "talk.txt"
    corpus.write_text(transcript(), encoding="utf-8")
    out = folder / "bob.pt"
    result = train_chat([corpus], out=out, **TINY)
    return out, result, corpus


# -- turns -------------------------------------------------------------------------------

def test_plays_transcripts_and_chatterbot_read_as_turns():
    play = "ROMEO:\nBut soft, what light\nthrough yonder window?\n\nJULIET:\nAy me.\n\n"
    assert parse_play(play) == [Turn("ROMEO", "But soft, what light\nthrough yonder window?"),
                                Turn("JULIET", "Ay me.")]
    assert format_turns(parse_play(play)) == play  # the layout the model learns is the play's
    # verse ending in a colon stays in the speech (tiny-shakespeare has 8,762 lines ending
    # so); a name in capitals starts a turn even without a blank line before it
    verse = ("First Citizen:\nWhither 'tis bent: most likely 'tis for you:\nGo on.\n\n"
             "ROMEO:\nBut soft:\nJULIET:\nAy me.\n")
    assert parse_play(verse) == [
        Turn("First Citizen", "Whither 'tis bent: most likely 'tis for you:\nGo on."),
        Turn("ROMEO", "But soft:"), Turn("JULIET", "Ay me.")]
    talk = "ANN: hi there\nBOB: hello: how are you?\n  still Bob\n\nANN: fine"
    assert parse_transcript(talk) == [Turn("ANN", "hi there"),
                                      Turn("BOB", "hello: how are you?\n  still Bob"),
                                      Turn("ANN", "fine")]
    yml = "conversations:\n- - Hello\n  - Hi\n  - How are you?\n- - lonely\n"
    assert parse_chatterbot(yml) == [[Turn("HUMAN", "Hello"), Turn("BOT", "Hi"),
                                      Turn("HUMAN", "How are you?")]]
    # a blank line inside a speech would end the turn early: it is dropped
    assert format_turns([Turn("A", "one\n\n\ntwo")]) == "A:\none\ntwo\n\n"


def test_builtin_dialogue():
    shakespeare = read_dialogue("builtin:shakespeare")[0]
    assert len(shakespeare) > 7000 and shakespeare[0].speaker == "First Citizen"
    bots = read_dialogue("builtin:chatterbot")
    assert len(bots) > 700 and {t.speaker for c in bots for t in c} == {"HUMAN", "BOT"}
    # each conversation once, and none answered with code (a responder learned to answer
    # everything with Python from coding.yml)
    keys = [tuple(c) for c in bots]
    assert len(set(keys)) == len(keys)
    assert not any("```" in t.text for c in bots for t in c)


@pytest.mark.parametrize("content, says", [
    (b"just some prose without anyone speaking", "no dialogue turns"),
    (b"ANN: caf\xe9", "not UTF-8"),
])
def test_files_that_are_not_dialogue(tmp_path, content, says):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(ReverieError, match=says):
        read_dialogue([path])
    with pytest.raises(ReverieError, match="does not exist"):
        read_dialogue([tmp_path / "missing.txt"])
    with pytest.raises(ReverieError, match="not dialogue"):
        read_dialogue("builtin:tweets")


# -- the neural responder ----------------------------------------------------------------

def test_training_lowers_held_out_loss_and_records_the_speakers(model):
    path, result, _ = model
    history = result.figures["history"]
    # from a uniform guess (log V nats) to a small fraction of it, still falling at the end
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert history[-1]["val_loss"] < 0.1 * math.log(result.figures["vocab_size"])
    responder = load_responder(path)
    assert responder.dialogue and [n for n, _ in responder.speakers] == ["ANN", "BOB"]
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["mechanism"] == "train_chat" and side["figures"]["turns"] == 1200


def test_a_checkpoint_left_by_a_killed_run_is_a_responder(model, tmp_path):
    out = tmp_path / "killed.pt"

    def kill(done, total, message=""):
        if done >= 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_chat([model[2]], out=out, progress=kill, **{**TINY, "checkpoint_every": 20})
    responder = load_responder(out)  # written at step 20, before the kill
    assert responder.dialogue and [n for n, _ in responder.speakers] == ["ANN", "BOB"]


def test_the_reply_depends_on_the_conversation(model):
    responder = load_responder(model[0])
    for question, answer in PAIRS.items():
        reply, ended = respond(responder, [Turn("ANN", question)], "BOB", temperature=0)
        assert (reply, ended) == (answer, True)
    # the question makes its answer far likelier than another question does, and far
    # likelier than another answer (seeds 0-4: at least 1.10 and 1.43 bits per character;
    # 2 threads train the same model as 1. The gain over the name alone is no measure: a
    # reply with no question before it is nothing the model saw, and that figure went from
    # 0.16 to 1.97 bits over the same seeds at 400 or 600 steps)
    bits = reply_bits(responder, [Turn("ANN", "night")], "BOB", "day")
    for other in sorted(set(PAIRS) - {"night"}):
        asked = reply_bits(responder, [Turn("ANN", other)], "BOB", "day")
        assert asked["bits_per_char"] > bits["bits_per_char"] + 0.5, other
    wrong = reply_bits(responder, [Turn("ANN", "night")], "BOB", "pong")
    assert wrong["bits_per_char"] > bits["bits_per_char"] + 1


def test_the_cache_lets_a_reply_echo_what_was_just_said(model):
    """A reply that repeats a word it never learned to answer with: the network alone
    gains nothing from having heard it; with the continuous cache of ChatConfig's defaults
    the conversation makes it likelier."""
    responder = load_responder(model[0])
    history = [Turn("ANN", "pongsaltday")]
    plain = reply_bits(responder, history, "BOB", "pongsaltday")
    cached = reply_bits(responder, history, "BOB", "pongsaltday", cache=ChatConfig().cache)
    assert cached["bits_per_char"] < plain["bits_per_char"] - 0.5
    assert cached["context_gain_bits"] > plain["context_gain_bits"] + 0.5


def test_a_conversation_recorded_before_the_cache_reruns_without_it(model, tmp_path):
    # its sidecar has no cache_lambda: the default (0.15) would answer otherwise
    say = ["pongsaltday", "pongsaltday pongsaltday"]
    old = chat(say, bot="neural", model=model[0], temperature=1.5, cache_lambda=0.0)
    paths = old.save(tmp_path / "old.txt")
    record = json.loads(paths["sidecar"].read_text())
    del record["config"]["cache_lambda"], record["config"]["cache_theta"]
    paths["sidecar"].write_text(json.dumps(record))
    assert ChatConfig.from_dict(record["config"]).cache_lambda == 0.0
    assert ChatConfig.from_dict({**record["config"], "cache_lambda": 0.3}).cache_lambda == 0.3
    assert chat(say, bot="neural", model=model[0], temperature=1.5).as_text() != old.as_text()
    assert_rerun_identical(paths, tmp_path)


def test_replies_are_deterministic_per_seed(model):
    responder = load_responder(model[0])
    history = [Turn("ANN", "salt")]
    a = [respond(responder, history, "ANN", temperature=1.5, seed=s) for s in range(4)]
    b = [respond(responder, history, "ANN", temperature=1.5, seed=s) for s in range(4)]
    assert a == b and len(set(a)) > 1


def test_the_prompt_keeps_whole_recent_turns_and_known_characters(model):
    responder = load_responder(model[0])
    turns = [Turn("ANN", "ping"), Turn("BOB", "pong"), Turn("ANN", "h\u00e9llo \u2603")]
    text = prompt(turns, "BOB", responder.lm.vocab, context=25)  # the last two turns fit
    # after a turn's end, as every turn in training; accent folded, snowman dropped
    assert text == "\n\nBOB:\npong\n\nANN:\nhello\n\nBOB:\n"
    assert prompt(turns, "BOB", responder.lm.vocab, context=0) == "\n\nBOB:\n"
    # a turn longer than the context is heard by its end; names fitted as the text is
    long = [Turn("ANN", "ping " * 100 + "last words")]
    assert prompt(long, "B\u00d6B", responder.lm.vocab, context=30).endswith(
        "pinglastwords\n\nBOB:\n")  # (this model never saw a space)


def test_models_of_another_kind_are_refused(tmp_path, model):
    from reverie.text.ngram import train_ngram
    ngram = tmp_path / "ngram.json"
    train_ngram([model[2]], order=3).save(ngram)
    with pytest.raises(ReverieError, match="n-gram"):
        load_responder(ngram)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(ReverieError, match="use a model made by"):
        load_responder(junk)
    import torch
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)  # a checkpoint of something else
    with pytest.raises(ReverieError, match="not a Reverie character model"):
        load_responder(other)


# -- the conversation: ELIZA beside the network ------------------------------------------

def test_both_bots_answer_each_line_and_say_why(model):
    result = chat(["ping", "night"], bot="both", model=model[0], temperature=0, persona="bob")
    assert [t["neural"]["text"] for t in result.turns] == ["pong", "day"]
    assert all(t["eliza"]["text"] and t["eliza"]["why"] for t in result.turns)
    assert "bits/char after the conversation" in result.turns[0]["neural"]["why"]
    # the persona as the model spells it; the user is the other speaker
    assert (result.figures["persona"], result.figures["user"]) == ("BOB", "ANN")
    text = result.as_text(explain=True)
    assert "> night\nELIZA: " in text and "BOB: day\n    " in text
    # by default the network answers as its most frequent speaker (a tie: by name)
    assert chat("ping", bot="neural", model=model[0]).figures["persona"] == "ANN"


def test_bad_inputs_get_a_reply_or_a_clear_error(model):
    with pytest.raises(ConfigError, match="needs a model"):
        chat("hello", bot="neural")
    with pytest.raises(ConfigError):
        ChatConfig(bot="marvin")
    odd = chat([b"caf\xe9 \xff", "", "x" * 100_000])
    assert [t["you"][:4] for t in odd.turns] == ["caf\ufffd", "", "xxxx"]
    assert all(t["eliza"]["text"] for t in odd.turns)
    assert any("cut to its first" in n for n in odd.notes)


def test_command_line(cli, model, tmp_path):
    code, out, _ = cli("chat", "--bot", "eliza", "--say", "Men are all alike.")
    assert code == 0 and out.strip() == "ELIZA: IN WHAT WAY"
    code, out, _ = cli("chat", "--both", "--model", model[0], "--say", "hello",
                       "--temperature", "0", "--persona", "bob", "--json")
    turn = json.loads(out)["turns"][0]
    assert code == 0 and turn["neural"]["text"] == "world" and turn["neural"]["speaker"] == "BOB"
    code, _, err = cli("chat", "--bot", "neural", "--say", "hi")
    assert_one_line_error(code, err)
    assert "--bot" in err and "model" in err
    out_path = tmp_path / "talk.txt"
    code, _, _ = cli("chat", "say", "I am unhappy.", "--out", out_path)
    assert code == 0 and "UNHAPPY" in out_path.read_text()
    assert_rerun_identical({"transcript": out_path, "sidecar": out_path.with_suffix(".json")},
                           tmp_path)


def test_interactive_conversation(monkeypatch, capsys, tmp_path):
    import io
    from reverie.cli import main
    lines = ["Men are all alike.", "/explain", "They're always bugging us about something or other.",
             "/bot neural", f"/save {tmp_path / 'talk.txt'}", "/quit"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "ELIZA: IN WHAT WAY" in out and "CAN YOU THINK OF A SPECIFIC EXAMPLE" in out
    assert "error: bot" in out  # no model: the conversation goes on
    assert "MEN ARE ALL ALIKE" not in out and (tmp_path / "talk.txt").read_text().count("> ") == 2
