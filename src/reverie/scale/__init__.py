"""Beyond one machine: DDP training (ddp.py) and Dask batch rendering (batch.py)."""
from reverie.core.registry import Input, Mechanism

MECHANISMS = [
    Mechanism(
        name="batch", title="Batch rendering", domain="scale",
        summary="run a JSON Lines file of jobs (a sidecar's keys a line) as Dask tasks: each "
                "output with its sidecar, failures retried then listed, a rerun resumes",
        paper="Rocklin 2015, Dask: Parallel Computation with Blocked Algorithms and Task "
              "Scheduling",
        function="reverie.scale.batch:batch", config="reverie.scale.batch:BatchConfig",
        inputs=(Input("jobs", "jobs", "a .jsonl file, one job a line: {\"mechanism\": NAME, "
                      "\"config\": {...}, \"inputs\": {...}, \"out\": FILE}"),),
        outputs=(".jsonl",), deterministic=False),
]
