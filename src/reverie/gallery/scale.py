"""Gallery section: a batch on a local Dask cluster, DeepDream at four depths fanned out."""
from __future__ import annotations

import json

from reverie.gallery import Card, Section, Table

# the paper's point about depth, one job per layer: independent renders fan out
FULL = {"layers": ["stage1", "stage2", "stage3", "stage4"], "size": 224, "steps": 6}
QUICK = {"layers": ["stage2", "stage4"], "size": 96, "steps": 2}


def build(ctx) -> Section:
    from reverie.scale.batch import BatchConfig, batch

    plan = QUICK if ctx.quick else FULL
    folder = ctx.asset("batch")
    folder.mkdir(parents=True, exist_ok=True)
    jobs = folder / "jobs.jsonl"
    lines = [{"mechanism": "dream", "inputs": {"image": "sample:astronaut"},
              "config": {"layers": [layer], "size": plan["size"], "octaves": 2,
                         "steps": plan["steps"], "device": str(ctx.device)},
              "out": f"dream_{layer}.png"} for layer in plan["layers"]]
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    for old in folder.glob("dream_*"):  # the gallery shows this run's renders, not a resume
        old.unlink()
    result = batch(jobs, BatchConfig(workers=2), out=folder, progress=ctx.progress)
    report = result.report
    rows = [[f["out"], f"{f['seconds']:.1f}"] for f in sorted(report.finished, key=lambda f: f["line"])]
    return Section(
        title="Batch rendering on a Dask cluster",
        blurb=("Many independent renders (a style over every frame of a clip, a drawing of every "
               "ImageNet class) as Dask tasks: one line of JSON a job, with the keys of a sidecar, "
               "on this machine's cores or on any number of machines (`--cluster tcp://...`). "
               "Each output is written with its sidecar; a rerun skips what is done. Try: "
               "reverie batch jobs.jsonl --out renders/"),
        cards=[Card(
            title="DeepDream at four depths, one job each",
            media=[ctx.rel(folder / f"dream_{layer}.png") for layer in plan["layers"]],
            lead=report.summary(),
            tables=[Table(["output", "seconds on a worker"], rows,
                          caption="each job's own time, once its worker had loaded the network")],
            figures={"workers": report.workers, "jobs per minute": round(report.jobs_per_minute, 1),
                     "jobs file": ctx.rel(jobs)})],
        mechanisms=["batch"])
