"""Files the server writes, read back by parsers that are not ours: csv-parse under node (locked
in tests/js, installed by scripts/test)."""

import json
import subprocess
from pathlib import Path

JS = Path(__file__).resolve().parent / "js"


def read_table(path: Path, kind: str) -> list[dict[str, str]]:
    """The records of a CSV ("csv") or tab-delimited ("tsv") file with a header row, as
    csv-parse reads it; raises if it cannot."""
    out = subprocess.run(
        ["node", str(JS / "read_table.mjs"), str(path), kind],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    records: list[dict[str, str]] = json.loads(out.stdout)
    return records
