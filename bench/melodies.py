"""Melodies that are not Bach's, for bench/music.py: public-domain hymns, folk songs, carols
and tunes by other composers, each entered by hand as a note list.

Each entry: name, source (composer or tradition and date; all public domain), the key it
is entered in, and its notes as "NAME:QUARTERS" (C4 = middle C; durations in quarter notes:
1 a quarter, 0.5 an eighth, 1.5 a dotted quarter; R a rest). Entered from memory of the
common printed versions and NOT checked against a score: a note or rhythm here or there may
differ from a given hymnal, which does not matter for what the bench measures (how a
harmonisation of a plausible tonal melody reads to a harmony teacher). Keys are those of
common editions, some moved so the tune sits in the soprano's range; pickups start on a
beat, and every tune is read on a 4/4 sixteenth-note grid whatever its metre.
"""
from __future__ import annotations

MELODIES = [
    dict(name="Ode to Joy", source="Beethoven, Symphony No. 9, finale (1824)", key="D major",
         notes="F#4 F#4 G4 A4 A4 G4 F#4 E4 D4 D4 E4 F#4 F#4:1.5 E4:0.5 E4:2 "
               "F#4 F#4 G4 A4 A4 G4 F#4 E4 D4 D4 E4 F#4 E4:1.5 D4:0.5 D4:2 "
               "E4 E4 F#4 D4 E4 F#4:0.5 G4:0.5 F#4 D4 E4 F#4:0.5 G4:0.5 F#4 E4 D4 E4 A3:2 "
               "F#4 F#4 G4 A4 A4 G4 F#4 E4 D4 D4 E4 F#4 E4:1.5 D4:0.5 D4:2"),
    dict(name="Twinkle, Twinkle, Little Star", source="French, 'Ah! vous dirai-je, maman' (1761)",
         key="F major",
         notes="F4 F4 C5 C5 D5 D5 C5:2 Bb4 Bb4 A4 A4 G4 G4 F4:2 "
               "C5 C5 Bb4 Bb4 A4 A4 G4:2 C5 C5 Bb4 Bb4 A4 A4 G4:2 "
               "F4 F4 C5 C5 D5 D5 C5:2 Bb4 Bb4 A4 A4 G4 G4 F4:2"),
    dict(name="Frère Jacques", source="French traditional round (18th century)", key="F major",
         notes="F4 G4 A4 F4 F4 G4 A4 F4 A4 Bb4 C5:2 A4 Bb4 C5:2 "
               "C5:0.5 D5:0.5 C5:0.5 Bb4:0.5 A4 F4 C5:0.5 D5:0.5 C5:0.5 Bb4:0.5 A4 F4 "
               "F4 C4 F4:2 F4 C4 F4:2"),
    dict(name="Brahms' Lullaby", source="Brahms, Wiegenlied Op. 49 No. 4 (1868)", key="F major",
         notes="A4:0.5 A4:0.5 C5:2 A4:0.5 A4:0.5 C5:2 A4:0.5 C5:0.5 F5 E5:1.5 D5:0.5 D5 C5 "
               "G4:0.5 A4:0.5 Bb4 G4 G4:0.5 A4:0.5 Bb4:2 G4:0.5 Bb4:0.5 E5:0.5 D5:0.5 C5 E5 "
               "F5:2 F4:0.5 F4:0.5 F5:2 D5:0.5 Bb4:0.5 C5:2 A4:0.5 F4:0.5 Bb4 C5 D5 C5:2 "
               "F4:0.5 F4:0.5 F5:2 D5:0.5 Bb4:0.5 C5:2 A4:0.5 F4:0.5 Bb4 A4 G4 F4:3"),
    dict(name="Old Hundredth", source="Genevan Psalter, Louis Bourgeois (1551)", key="G major",
         notes="G4:2 G4 F#4 E4 D4 G4 A4 B4:2 B4:2 B4 B4 A4 G4 C5 B4 A4:2 "
               "G4:2 A4 B4 A4 G4 E4 F#4 G4:2 D5:2 B4 G4 A4 C5 B4 A4 G4:2"),
    dict(name="Joy to the World", source="'Antioch', arr. Lowell Mason (1839) after Handel",
         key="D major",
         notes="D5 C#5:0.75 B4:0.25 A4:1.5 G4:0.5 F#4 E4 D4:1.5 A4:0.5 B4:1.5 B4:0.5 "
               "C#5:1.5 C#5:0.5 D5:1.5 D5:0.5 D5:0.5 C#5:0.5 B4:0.5 A4:0.5 A4:0.75 G4:0.25 "
               "F#4:0.5 D5:0.5 D5:0.5 C#5:0.5 B4:0.5 A4:0.5 A4:0.75 G4:0.25 F#4:0.5 "
               "F#4:0.5 F#4:0.5 F#4:0.5 F#4:0.5 F#4:0.25 G4:0.25 A4:1.5 G4:0.25 F#4:0.25 "
               "E4:0.5 E4:0.5 E4:0.5 E4:0.25 F#4:0.25 G4:1.5 F#4:0.25 E4:0.25 "
               "D4:0.5 D5 B4:0.5 A4:0.75 G4:0.25 F#4:0.5 G4:0.5 F#4 E4 D4:2"),
    dict(name="Amazing Grace", source="'New Britain', American (Southern Harmony, 1835)",
         key="G major",
         notes="D4 G4:2 B4:0.5 G4:0.5 B4:2 A4 G4:2 E4 D4:2 D4 G4:2 B4:0.5 G4:0.5 B4:2 A4 "
               "D5:3 D5:2 B4 D5:2 B4:0.5 G4:0.5 B4:2 A4 G4:2 E4 D4:2 D4 G4:2 B4:0.5 G4:0.5 "
               "B4:2 A4 G4:3"),
    dict(name="Silent Night", source="Franz Gruber, 'Stille Nacht' (1818); moved from Bb to C",
         key="C major",
         notes="G4:1.5 A4:0.5 G4 E4:3 G4:1.5 A4:0.5 G4 E4:3 D5:2 D5 B4:3 C5:2 C5 G4:3 "
               "A4:2 A4 C5:1.5 B4:0.5 A4 G4:1.5 A4:0.5 G4 E4:3 A4:2 A4 C5:1.5 B4:0.5 A4 "
               "G4:1.5 A4:0.5 G4 E4:3 D5:2 D5 F5:1.5 D5:0.5 B4 C5:3 E5:3 "
               "C5 G4 E4 G4:1.5 F4:0.5 D4 C4:6"),
    dict(name="O Come, All Ye Faithful", source="'Adeste Fideles', John Francis Wade (c. 1751); "
         "the first two lines", key="G major",
         notes="G4 G4:2 D4 G4 A4:2 D4:2 B4 A4 B4 C5 B4:2 A4 G4 G4:2 F#4 E4 F#4 G4 A4 B4 "
               "F#4:2 E4:1.5 D4:0.5 D4:3"),
    dict(name="God Rest Ye Merry, Gentlemen", source="English traditional (18th century); "
         "the first two lines", key="E minor",
         notes="E4 E4 B4 B4 A4 G4 F#4 E4 D4 E4 F#4 G4 A4 B4:3 "
               "E4 E4 B4 B4 A4 G4 F#4 E4 D4 E4 F#4 G4 A4 B4:3"),
    dict(name="Greensleeves", source="English traditional (16th century)", key="A minor",
         notes="A4:0.5 C5 D5:0.5 E5:0.75 F5:0.25 E5:0.5 D5 B4:0.5 G4:0.75 A4:0.25 B4:0.5 "
               "C5 A4:0.5 A4:0.75 G#4:0.25 A4:0.5 B4 G#4:0.5 E4 A4:0.5 "
               "C5 D5:0.5 E5:0.75 F5:0.25 E5:0.5 D5 B4:0.5 G4:0.75 A4:0.25 B4:0.5 "
               "C5:0.75 B4:0.25 A4:0.5 G#4:0.75 F#4:0.25 G#4:0.5 A4:1.5 A4:1.5 "
               "G5:1.5 G5:0.75 F#5:0.25 E5:0.5 D5 B4:0.5 G4:0.75 A4:0.25 B4:0.5 "
               "C5 A4:0.5 A4:0.75 G#4:0.25 A4:0.5 B4 G#4:0.5 E4:1.5 "
               "G5:1.5 G5:0.75 F#5:0.25 E5:0.5 D5 B4:0.5 G4:0.75 A4:0.25 B4:0.5 "
               "C5:0.75 B4:0.25 A4:0.5 G#4:0.75 F#4:0.25 G#4:0.5 A4:1.5 A4:1.5"),
    dict(name="Scarborough Fair", source="English traditional ballad", key="D minor",
         notes="D4:2 D4 A4:2 A4 E4:1.5 F4:0.5 E4 D4:3 A4 C5:2 D5:2 C5 A4 B4 G4 A4:3 "
               "D5:2 D5 D5:2 C5 A4:2 A4 G4 F4 E4 D4 A4:2 G4:2 F4 E4 D4 C4 D4:3"),
    dict(name="Auld Lang Syne", source="Scottish traditional (Burns, 1788)", key="F major",
         notes="C4 F4:1.5 F4:0.5 F4 A4 G4:1.5 F4:0.5 G4 A4 F4:1.5 F4:0.5 A4 C5 D5:3 "
               "D5 C5:1.5 A4:0.5 A4 F4 G4:1.5 F4:0.5 G4 A4 F4:1.5 D4:0.5 D4 C4 F4:3 "
               "D5 C5:1.5 A4:0.5 A4 F4 G4:1.5 F4:0.5 G4 D5 C5:1.5 A4:0.5 A4 C5 D5:3 F5 "
               "C5:1.5 A4:0.5 A4 F4 G4:1.5 F4:0.5 G4 A4 F4:1.5 D4:0.5 D4 C4 F4:3"),
    dict(name="Yankee Doodle", source="American traditional (18th century)", key="G major",
         notes="G4:0.5 G4:0.5 A4:0.5 B4:0.5 G4:0.5 B4:0.5 A4:0.5 D4:0.5 "
               "G4:0.5 G4:0.5 A4:0.5 B4:0.5 G4 F#4 "
               "G4:0.5 G4:0.5 A4:0.5 B4:0.5 C5:0.5 B4:0.5 A4:0.5 G4:0.5 "
               "F#4:0.5 D4:0.5 E4:0.5 F#4:0.5 G4 G4"),
    dict(name="Mary Had a Little Lamb", source="American, Lowell Mason's tune (1830s)",
         key="G major",
         notes="B4 A4 G4 A4 B4 B4 B4:2 A4 A4 A4:2 B4 D5 D5:2 "
               "B4 A4 G4 A4 B4 B4 B4 B4 A4 A4 B4 A4 G4:4"),
    dict(name="London Bridge", source="English traditional nursery rhyme", key="G major",
         notes="D5:1.5 E5:0.5 D5 C5 B4 C5 D5:2 A4 B4 C5:2 B4 C5 D5:2 "
               "D5:1.5 E5:0.5 D5 C5 B4 C5 D5:2 A4:2 D5:2 B4 G4:3"),
    dict(name="Jingle Bells", source="James Lord Pierpont (1857), the refrain", key="G major",
         notes="B4 B4 B4:2 B4 B4 B4:2 B4 D5 G4:1.5 A4:0.5 B4:4 "
               "C5 C5 C5:1.5 C5:0.5 C5 B4 B4 B4:0.5 B4:0.5 B4 A4 A4 B4 A4:2 D5:2 "
               "B4 B4 B4:2 B4 B4 B4:2 B4 D5 G4:1.5 A4:0.5 B4:4 "
               "C5 C5 C5 C5 C5 B4 B4 B4:0.5 B4:0.5 D5 D5 C5 A4 G4:4"),
    dict(name="Good King Wenceslas", source="'Tempus adest floridum', Piae Cantiones (1582)",
         key="G major",
         notes="G4 G4 G4 A4 G4 G4 D4:2 E4 D4 E4 F#4 G4:2 G4:2 "
               "G4 G4 G4 A4 G4 G4 D4:2 E4 D4 E4 F#4 G4:2 G4:2 "
               "D5 C5 B4 A4 B4 A4 G4:2 E4 D4 E4 F#4 G4:2 G4:2 "
               "D4 D4 E4 F#4 G4 G4 A4:2 D5 C5 B4 A4 G4:2 C5:2 G4:4"),
    dict(name="Deck the Halls", source="Welsh traditional, 'Nos Galan' (18th century)",
         key="F major",
         notes="C5:1.5 Bb4:0.5 A4 G4 F4 G4 A4 F4 G4:0.5 A4:0.5 Bb4:0.5 G4:0.5 A4:1.5 G4:0.5 "
               "F4 E4 F4:2 C5:1.5 Bb4:0.5 A4 G4 F4 G4 A4 F4 "
               "G4:0.5 A4:0.5 Bb4:0.5 G4:0.5 A4:1.5 G4:0.5 F4 E4 F4:2 "
               "G4:1.5 A4:0.5 Bb4 G4 A4:1.5 Bb4:0.5 C5 G4 A4:0.5 B4:0.5 C5 D5:0.5 E5:0.5 F5 "
               "E5 D5 C5:2 C5:1.5 Bb4:0.5 A4 G4 F4 G4 A4 F4 "
               "D5:0.5 D5:0.5 D5:0.5 D5:0.5 C5:1.5 Bb4:0.5 A4 G4 F4:2"),
    dict(name="Aura Lee", source="George R. Poulton (1861)", key="G major",
         notes="D4 G4 F#4 G4 A4 E4 A4:2 G4 F#4 E4 F#4 G4:4 "
               "D4 G4 F#4 G4 A4 E4 A4:2 G4 F#4 E4 F#4 G4:4 "
               "B4 B4 B4:2 B4 B4 B4:2 B4 A4 G4 A4 B4:4 "
               "B4 B4 C5 B4 A4 E4 A4:2 G4 F#4 B4 A4 G4:4"),
    dict(name="When the Saints Go Marching In", source="American traditional spiritual",
         key="C major",
         notes="C4 E4 F4 G4:5 C4 E4 F4 G4:4 C4 E4 F4 G4:2 E4:2 C4:2 E4:2 D4:4 "
               "E4 E4 D4 C4:3 C4 E4 G4:2 G4 F4:4 E4 F4 G4:2 E4:2 C4:2 D4:2 C4:4"),
]


def note_string(melody: dict) -> str:
    """The melody in Reverie's note format (durations in sixteenths: 'F#4:4 E4:2 ...')."""
    out = []
    for token in melody["notes"].split():
        name, _, quarters = token.partition(":")
        sixteenths = 4 * float(quarters or 1)
        if sixteenths != int(sixteenths):
            raise ValueError(f"{melody['name']}: {token} is not on the sixteenth grid")
        out.append(f"{name}:{int(sixteenths)}")
    return " ".join(out)
