"""History as a static export: one zip with an index.html and every finished job's files,
addressed relatively, so the page works from a file manager or any web host."""
from __future__ import annotations

import time
import zipfile
from pathlib import Path

from reverie.io.files import atomic_path


def write_zip(folder: Path, jobs: list, index_html: str, stylesheet: Path) -> Path:
    """FOLDER/exports/history-TIME.zip: index.html, static/studio.css, jobs/ID/<outputs>
    (outputs, sidecars and explanations only: no uploads, previews or job records)."""
    out = folder / "exports" / time.strftime("history-%Y%m%d-%H%M%S.zip")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("history/index.html", index_html)
        z.write(stylesheet, "history/static/studio.css")
        for job in jobs:
            names = list(job.outputs.values()) + list(job.explanations.values())
            for name in names:
                path = Path(job.folder) / name
                if path.is_file():
                    z.write(path, f"history/jobs/{Path(job.folder).name}/{name}")
    return out
