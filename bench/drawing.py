"""Drawing benchmark (issue #15): plotter portraits, and the stroke model (bench/drawing_strokes.py).

Portraits of three photos at A4 with the defaults (style hatch, 5 tones, Canny edges):
astronaut (a face), camera (the cameraman, three-quarter view: the frontal LBP cascade misses
him, so it shows the whole-picture fallback on a person) and chelsea
(a cat: the LBP face cascade should find nothing, so the whole picture is drawn). For each:
seconds (target <= 20 s on one thread), pen-up travel unordered -> vpype linemerge+linesort
-> greedy+2-opt (target >= 80% less than unordered), lifts, pen-down length, estimated plot
time at 25 mm/s down, 75 mm/s up, 0.15 s a lift. The baseline is the unordered drawing (the
order the shading was generated in), measured in the same run.

    python bench/drawing.py [--portraits-only] [--json]
    flock /tmp/rv/heavy.lock env OMP_NUM_THREADS=2 python bench/drawing.py   # with strokes
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "drawing"
PHOTOS = ["astronaut", "camera", "chelsea"]


def portraits(photos=PHOTOS, style: str = "hatch") -> dict:
    from reverie.draw.portrait import portrait

    OUT.mkdir(parents=True, exist_ok=True)
    rows = {}
    print(f"{'photo':10} {'face':>5} {'s':>5} {'down m':>7} {'up m: none':>10} {'vpype':>7} "
          f"{'2-opt':>7} {'kept':>6} {'saved':>6} {'lifts':>6} {'minutes':>7}")
    for name in photos:
        t = time.perf_counter()
        r = portrait(f"sample:{name}", style=style, seed=0)
        secs = time.perf_counter() - t
        r.save(OUT / f"{name}_{style}.svg")
        f = r.figures
        o = f["ordering"]
        vp = sum(v.get("vpype_pen_up_mm", v["unordered_pen_up_mm"]) for v in o.values())
        gr = sum(v.get("greedy_pen_up_mm", v["unordered_pen_up_mm"]) for v in o.values())
        row = {"seconds": round(secs, 1), "face": f["face_box"] is not None,
               "before": f["plot_before"], "after": f["plot_after"],
               "vpype_pen_up_mm": round(vp, 1), "greedy_2opt_pen_up_mm": round(gr, 1),
               "kept": {k: v["method"] for k, v in o.items()},
               "pen_up_saved_pct": f["pen_up_saved_pct"]}
        rows[name] = row
        b, a = f["plot_before"], f["plot_after"]
        print(f"{name:10} {str(row['face']):>5} {secs:5.1f} {a['pen_down_mm'] / 1000:7.1f} "
              f"{b['pen_up_mm'] / 1000:10.1f} {vp / 1000:7.1f} {gr / 1000:7.1f} "
              f"{'/'.join(sorted(set(row['kept'].values()))):>6} {f['pen_up_saved_pct']:5.1f}% "
              f"{a['lifts']:6d} {a['plot_minutes']:7.1f}")
    print("targets: <= 20 s each; pen-up >= 80% less than unordered. Plot minutes are after "
          "ordering (before: " + ", ".join(f"{k} {v['before']['plot_minutes']:.0f}"
                                           for k, v in rows.items()) + ")")
    (OUT / "portraits.json").write_text(json.dumps(rows, indent=1))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--portraits-only", action="store_true")
    ap.add_argument("--style", default="hatch")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    figures = {"portraits": portraits(style=a.style)}
    if not a.portraits_only and (HERE / "drawing_strokes.py").exists():
        sys.path.insert(0, str(HERE))
        from drawing_strokes import strokes
        figures["strokes"] = strokes()
    if a.json:
        print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
