"""ELIZA (Weizenbaum 1966): the CACM conversation reply for reply, each part of the
mechanism on a small script of its own, malformed scripts and odd input lines."""
from __future__ import annotations

import time

import pytest

from reverie.chat.eliza import (DOCTOR, MAX_INPUT, NOMATCH, Eliza, Reply, Script, bcd_word,
                                load_script, match, read_words, slip_hash)
from reverie.core.errors import ReverieError

# Weizenbaum, CACM 9(1), 1966, page 36: the conversation as printed, with DOCTOR.
CACM = [
    ("Men are all alike.", "IN WHAT WAY"),
    ("They're always bugging us about something or other.",
     "CAN YOU THINK OF A SPECIFIC EXAMPLE"),
    ("Well, my boyfriend made me come here.", "YOUR BOYFRIEND MADE YOU COME HERE"),
    ("He says I'm depressed much of the time.", "I AM SORRY TO HEAR YOU ARE DEPRESSED"),
    ("It's true. I am unhappy.", "DO YOU THINK COMING HERE WILL HELP YOU NOT TO BE UNHAPPY"),
    ("I need some help, that much seems certain.",
     "WHAT WOULD IT MEAN TO YOU IF YOU GOT SOME HELP"),
    ("Perhaps I could learn to get along with my mother.", "TELL ME MORE ABOUT YOUR FAMILY"),
    ("My mother takes care of me.", "WHO ELSE IN YOUR FAMILY TAKES CARE OF YOU"),
    ("My father.", "YOUR FATHER"),
    ("You are like my father in some ways.", "WHAT RESEMBLANCE DO YOU SEE"),
    ("You are not very aggressive but I think you don't want me to notice that.",
     "WHAT MAKES YOU THINK I AM NOT VERY AGGRESSIVE"),
    ("You don't argue with me.", "WHY DO YOU THINK I DON'T ARGUE WITH YOU"),
    ("You are afraid of me.", "DOES IT PLEASE YOU TO BELIEVE I AM AFRAID OF YOU"),
    ("My father is afraid of everybody.",
     "WHAT ELSE COMES TO MIND WHEN YOU THINK OF YOUR FATHER"),
    ("Bullies.",
     "DOES THAT HAVE ANYTHING TO DO WITH THE FACT THAT YOUR BOYFRIEND MADE YOU COME HERE"),
]


def bot(text: str) -> Eliza:
    return Eliza(load_script(text))


# -- DOCTOR and the paper's conversation -------------------------------------------------

def test_the_cacm_conversation_reply_for_reply():
    eliza = Eliza()
    replies = [eliza.respond(said) for said, _ in CACM]
    assert [r.text for r in replies] == [want for _, want in CACM]
    first, last = replies[0], replies[-1]
    # ALIKE (rank 10) hands over to DIT, whose first reassembly answers
    assert (first.keyword, first.rank, first.rule) == ("ALIKE", 10, "DIT")
    assert (first.decomposition, first.reassembly, first.source) == ("(0)", "(IN WHAT WAY)",
                                                                     "keyword")
    # "Bullies." has no keyword: the memory made from the third line comes back
    assert last.source == "memory" and last.keyword is None
    assert last.decomposition == "(0 YOUR 0)"
    # a second conversation with the same bot after reset() is the same conversation
    eliza.reset()
    assert [eliza.respond(said).text for said, _ in CACM] == [want for _, want in CACM]


def test_doctor_is_the_appendix_script():
    script = load_script(DOCTOR)
    assert isinstance(script, Script) and script.name == "doctor.txt"
    assert script.greeting == "HOW DO YOU DO. PLEASE TELL ME YOUR PROBLEM"
    assert script.ranks["COMPUTER"] == 50 and script.ranks["NAME"] == 15
    assert script.ranks["ALIKE"] == 10 and script.ranks["MY"] == 2
    subs = script.substitutions
    assert (subs["I"], subs["ME"], subs["MY"], subs["AM"], subs["YOU"]) == \
        ("YOU", "YOU", "YOUR", "ARE", "I")
    assert {"MOTHER", "FATHER", "SISTER"} <= set(script.tags["FAMILY"])
    assert set(script.tags["BELIEF"]) == {"FEEL", "THINK", "BELIEVE", "WISH"}
    assert script.memory.keyword == "MY" and len(script.memory.transformations) == 4
    assert "NONE" not in script.keywords   # typing NONE is not a keyword
    # load_script takes a Path, a path string, the text, or a Script
    text = DOCTOR.read_text(encoding="utf-8")
    for source in (str(DOCTOR), text, script):
        assert load_script(source).greeting == script.greeting
    assert Eliza(text).respond("Men are all alike.").text == "IN WHAT WAY"


def test_slip_hash_picks_memory_rules_as_the_1966_program_did():
    # HERE -> 3 is fixed by the paper's conversation; the others are from runs of the
    # original MAD-SLIP ELIZA recorded by Anthony Hay (github.com/anthay/ELIZA).
    assert oct(bcd_word("HERE")) == "0o302551256060"
    assert bcd_word("INVENTED") == bcd_word("ED")       # HASH sees the last 6-character cell
    known = {"HERE": 3, "PURPOSE": 1, "DEVONSHIRE": 0, "PREDICAMENT": 3,
             "EXECUTIONERS": 3, "GLOUCESTERSHIRE": 2}
    assert {w: slip_hash(bcd_word(w), 2) for w in known} == known
    assert slip_hash(0o214366217062, 7) == 14           # the paper's example, page 38


# -- the mechanism, one part at a time, on small scripts ---------------------------------

RANKS = """
(HELLO)
(CAT 1 ((0) (CAT ANSWERS)))
(DOG 5 ((0) (DOG ANSWERS)))
(EEL 2 ((0) (EEL ANSWERS)))
(BIRD 3 ((0) (NEWKEY)))
(NONE ((0) (GO ON)))
"""


def test_a_higher_ranked_keyword_later_in_the_sentence_wins():
    eliza = bot(RANKS)
    reply = eliza.respond("the cat chased the dog")
    assert (reply.text, reply.keyword, reply.rank) == ("DOG ANSWERS", "DOG", 5)
    assert reply.keystack == (("DOG", 5), ("CAT", 1))
    assert eliza.respond("the dog chased the cat").text == "DOG ANSWERS"
    assert eliza.respond("a cat").text == "CAT ANSWERS"


def test_newkey_takes_the_next_keyword_of_the_unsorted_keystack():
    eliza = bot(RANKS)
    # CAT, then BIRD above it (rank 3 > 1), then EEL below (2 < 3): [BIRD, CAT, EEL].
    # BIRD says NEWKEY: the next is CAT, although EEL ranks higher (page 39).
    reply = eliza.respond("cat bird eel")
    assert [k for k, _ in reply.keystack] == ["BIRD", "CAT", "EEL"]
    assert (reply.text, reply.keyword) == ("CAT ANSWERS", "CAT")
    # NEWKEY with nothing left: NONE
    reply = eliza.respond("a bird")
    assert (reply.text, reply.source) == ("GO ON", "none")


def test_substitutions_swap_pronouns_in_what_is_reassembled():
    eliza = bot("""
        (HELLO)
        (I = YOU ((0 YOU ARE 0) (WHY ARE YOU 4)))
        (ME = YOU) (MY = YOUR) (AM = ARE)
        (NONE ((0) (GO ON)))""")
    reply = eliza.respond("I am angry with my brother and me")
    assert reply.text == "WHY ARE YOU ANGRY WITH YOUR BROTHER AND YOU"
    assert reply.substitutions == (("I", "YOU"), ("AM", "ARE"), ("MY", "YOUR"), ("ME", "YOU"))
    assert reply.clause == "YOU ARE ANGRY WITH YOUR BROTHER AND YOU"
    # a word with only a substitution is no keyword
    assert eliza.respond("my cat").source == "none"


def test_reassemblies_are_used_in_turn_and_wrap_round():
    eliza = bot("""
        (HELLO)
        (CAT ((0 BIG CAT 0) (BIG ONE) (BIG TWO))
             ((0) (ONE) (TWO) (THREE)))
        (NONE ((0) (GO ON)))""")
    assert [eliza.respond("cat").text for _ in range(4)] == ["ONE", "TWO", "THREE", "ONE"]
    # each decomposition rule keeps its own place
    assert eliza.respond("a big cat").text == "BIG ONE"
    assert eliza.respond("cat").text == "TWO"
    assert eliza.respond("cat").choice == (3, 3)
    eliza.reset()
    assert eliza.respond("cat").text == "ONE"


def test_references_hand_over_to_other_keywords():
    eliza = bot("""
        (HELLO)
        (ALIKE 10 (=DIT))
        (DIT ((0) (IN WHAT WAY) (HOW)))
        (WHY ((0 WHY NOT 0) (WHY NOT 4)) (=DIT))
        (YOU'RE = I'M ((0 I'M 0) (PRE (I ARE 3) (=YOU))))
        (YOU = I ((0 I ARE 0) (WHAT MAKES YOU THINK I AM 4)))
        (NONE ((0) (GO ON)))""")
    reply = eliza.respond("Men are all alike.")
    assert (reply.text, reply.keyword, reply.rule) == ("IN WHAT WAY", "ALIKE", "DIT")
    # no decomposition of WHY matches: its (=DIT) is used
    assert eliza.respond("why is that").text == "HOW"
    assert eliza.respond("why not today").text == "WHY NOT TODAY"
    # PRE rewrites the sentence, then hands it to YOU
    reply = eliza.respond("You're very clever.")
    assert reply.text == "WHAT MAKES YOU THINK I AM VERY CLEVER"
    assert (reply.keyword, reply.rule) == ("YOU'RE", "YOU")


def test_dlist_tags_and_alternatives_in_decompositions():
    eliza = bot("""
        (HELLO)
        (MY = YOUR 2
            ((0 YOUR 0 (/FAMILY) 0) (TELL ME MORE ABOUT YOUR 4))
            ((0 YOUR (*CAT DOG) 0) (YOUR PET 3))
            ((0 YOUR 0) (YOUR 3)))
        (SISTER DLIST(/FAMILY))
        (DAD = FATHER DLIST(/ FAMILY))
        (FATHER DLIST(/NOUN FAMILY))
        (NONE ((0) (GO ON)))""")
    assert eliza.respond("my older sister is kind").text == "TELL ME MORE ABOUT YOUR SISTER"
    assert eliza.respond("I miss my dad").text == "TELL ME MORE ABOUT YOUR FATHER"
    assert eliza.respond("my dog barks").text == "YOUR PET DOG"
    assert eliza.respond("my car is red").text == "YOUR CAR IS RED"


MEMORY = """
(HELLO)
(MY = YOUR 2 ((0 YOUR 0) (YOUR 3)))
(MEMORY MY
    (0 YOUR 0 = FIRST 3)
    (0 YOUR 0 = SECOND 3)
    (0 YOUR 0 = THIRD 3)
    (0 YOUR 0 = FOURTH 3))
(NONE ((0) (GO ON)))
"""


def test_memory_keeps_a_my_sentence_for_a_line_without_keywords():
    eliza = bot(MEMORY)
    # the counter runs 2, 3, 4, 1, ... from the first line; memories come back at 4
    reply = eliza.respond("My car is red.")
    kept = ("FIRST", "SECOND", "THIRD", "FOURTH")[slip_hash(bcd_word("RED"), 2)]
    assert reply.memory_stored == f"{kept} CAR IS RED" and eliza.memories == (reply.memory_stored,)
    assert eliza.respond("hello").text == "GO ON"          # counter at 3: not yet
    reply = eliza.respond("nothing to say")                 # counter at 4
    assert (reply.text, reply.source) == (f"{kept} CAR IS RED", "memory")
    assert eliza.memories == ()
    assert eliza.respond("nothing again").source == "none"


# -- the matcher ------------------------------------------------------------------------

def test_the_matcher_follows_slip_ymatch():
    words = "MARY HAD A LITTLE LAMB ITS PROBABILITY WAS ZERO".split()
    parts = match(("MARY", 2, 2, "ITS", 1, 0), words, {})
    assert [" ".join(p) for p in parts] == ["MARY", "HAD A", "LITTLE LAMB", "ITS",
                                            "PROBABILITY", "WAS ZERO"]
    # each 0 takes as few words as it can: the first I, not the last
    words = "YOU KNOW THAT I KNOW YOU HATE I".split()
    parts = match((0, "YOU", 0, "I", 0), words, {})
    assert [" ".join(p) for p in parts] == ["", "YOU", "KNOW THAT", "I", "KNOW YOU HATE I"]
    assert match(("HELLO", 1), ["HELLO"], {}) is None
    assert match((0, "YOU", 0), ["ME"], {}) is None
    assert read_words("Well, I’m “fine”! Ok?") == ["WELL", ",", "I'M", "FINE", ".", "OK", "."]


# -- malformed scripts: one line that says where ----------------------------------------

def one_line_error(source) -> str:
    with pytest.raises(ReverieError) as caught:
        load_script(source)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


def test_unbalanced_parentheses_name_line_and_column():
    message = one_line_error("(HELLO)\n\n(CAT ((0) (MEOW))\n(NONE ((0) (GO ON)))\n")
    assert "line 3, column 1" in message and "unbalanced" in message
    message = one_line_error("(HELLO))\n(NONE ((0) (GO ON)))")
    assert "line 1, column 8" in message and "unbalanced" in message


def test_a_reassembly_that_refers_to_a_missing_part_says_which():
    message = one_line_error("(HELLO)\n(YOU = I\n    ((0 YOU 0)\n        (WHY 4)))\n"
                             "(NONE ((0) (GO ON)))")
    assert "line 4" in message and "keyword YOU" in message
    assert "(WHY 4)" in message and "part 4" in message and "(0 YOU 0) has 3 parts" in message


def test_other_malformed_scripts(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("; nothing but a comment\n", encoding="utf-8")
    assert "empty" in one_line_error(empty)
    assert "NONE" in one_line_error("(HELLO) (CAT ((0) (MEOW)))")
    message = one_line_error("(HELLO)\n(CAT (=DOG))\n(NONE ((0) (GO ON)))")
    assert "line 2" in message and "DOG" in message
    assert "FAMILY" in one_line_error("(HELLO) (MY ((0 (/FAMILY) 0) (HI))) (NONE ((0) (GO ON)))")
    assert "exactly 4" in one_line_error("(HELLO) (MY ((0) (HI))) (MEMORY MY (0 = A)) "
                                         "(NONE ((0) (GO ON)))")
    assert "greeting" in one_line_error("((0) (HI)) (NONE ((0) (GO ON)))")
    assert "CAT" in one_line_error("(HELLO) (CAT) (NONE ((0) (GO ON)))")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"(HELLO)\n(CAF\xc9 ((0) (OUI)))\n(NONE ((0) (GO ON)))\n")
    message = one_line_error(latin1)
    assert "latin1.txt line 2" in message and "UTF-8" in message
    assert "no ELIZA script" in one_line_error(tmp_path / "missing.txt")
    assert "folder" in one_line_error(tmp_path)
    with pytest.raises(ReverieError):
        Eliza("(HELLO) (NONE ((0) (GO ON))")


# -- odd input lines: a reply, never a traceback ----------------------------------------

def test_odd_lines_get_a_reply():
    eliza = Eliza()
    for line in ("", "   \t ", ".,.,", "\x00\x07 \u2603", b"caf\xe9 \xff"):
        reply = eliza.respond(line)
        assert isinstance(reply, Reply) and reply.text and reply.source in ("none", "memory")
    assert "not UTF-8" in eliza.respond(b"\xff\xfe my \xc0").explain()
    start = time.perf_counter()
    reply = eliza.respond("I think you hate me " * 5_000)      # 100,000 characters
    assert time.perf_counter() - start < 1.0
    assert reply.text and f"first {MAX_INPUT:,} of 100,000 characters" in reply.explain()
    assert eliza.respond("x" * 100_000).text


def test_a_script_whose_references_loop_still_answers():
    eliza = bot("(HELLO) (PING (=PONG)) (PONG (=PING)) (NONE ((0) (GO ON)))")
    reply = eliza.respond("ping")
    assert reply.source == "nomatch" and reply.text in NOMATCH
    assert "loop" in reply.explain()
    # a keyword none of whose decompositions match: the 1966 program's own remarks
    eliza = bot("(HELLO) (CAT ((0 BIG CAT 0) (BIG))) (NONE ((0) (GO ON)))")
    assert eliza.respond("cat").text in NOMATCH


# -- seeing why -------------------------------------------------------------------------

def test_explain_names_the_keyword_the_rule_and_the_reassembly():
    eliza = Eliza()
    why = eliza.respond("Men are all alike.").explain()
    assert "keyword ALIKE (rank 10)" in why and "(=DIT)" in why
    assert "DIT: decomposition (0) matched" in why and "(IN WHAT WAY)" in why
    eliza.respond("They're always bugging us about something or other.")
    why = eliza.respond("Well, my boyfriend made me come here.").explain()
    assert "MY -> YOUR" in why and "ME -> YOU" in why and "dropped: WELL ," in why
    assert "MEMORY rule 4 of 4 (the HASH of HERE)" in why
    assert "remembered for later: DOES THAT HAVE" in why
    assert "NONE" in eliza.respond("").explain()
