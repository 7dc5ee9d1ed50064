"""Where the console puts the files it is given: one folder, nothing overwritten."""

from __future__ import annotations

from pathlib import Path

FALLBACK_NAME = "bridgebot-file"


def save_file(directory: Path, filename: str, content: bytes) -> Path:
    """Write `content` as `filename` in `directory` (created if need be) and return where.

    Only the name's last part is used, so no file lands outside the folder; a file of
    that name already there is kept and this one is numbered: report.csv, report-2.csv.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = Path(filename.replace("\\", "/")).name.lstrip(".") or FALLBACK_NAME
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 1
    while True:
        candidate = directory / (name if number == 1 else f"{stem}-{number}{suffix}")
        try:
            with candidate.open("xb") as handle:  # "x": fails rather than overwrite
                handle.write(content)
        except FileExistsError:
            number += 1
            continue
        return candidate.resolve()
