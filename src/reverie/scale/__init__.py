"""Beyond one machine: DDP training (ddp.py) and Dask batch rendering (batch.py)."""
