"""The registration list as CSV: every row checked, every bad row reported by its line in the file.

Pure: takes the file's text, returns the good registrations and the problems.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from server.domain.designations import parse_degrees
from server.domain.people import EMAIL, Discipline, Registration, Track
from server.domain.roles import Role

REQUIRED = ("name", "email", "role", "discipline", "track")
OPTIONAL = (
    "team",
    "abp_id",
    "dob_mmdd",
    "first_name",
    "last_name",
    "degree",
    "abim_id",
    "nabp_id",
    "zoom_email",
)
# Board id formats: ABIM ids are 6 digits, NABP e-Profile ids 6 or 7, ABP ids up to 10 digits.
BOARD_ID_DIGITS = {"abim_id": (6, 6), "abp_id": (1, 10), "nabp_id": (6, 7)}
MAX_ROWS = 20_000
MAX_FIELD = 200
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Roster:
    rows: tuple[tuple[int, Registration], ...]  # (line in the file, registration)
    problems: tuple[RowProblem, ...]

    @property
    def registrations(self) -> list[Registration]:
        return [r for _, r in self.rows]


def _choice(value: str, allowed: type[Role] | type[Discipline] | type[Track], what: str) -> str:
    options = [m.value for m in allowed]
    if value.lower() not in options:
        raise ValueError(f"unknown {what} {value!r} (expected one of: {', '.join(options)})")
    return value.lower()


def _dob(value: str) -> str:
    """MM-DD, also accepted as MM/DD or MMDD; checked to be a real month and day."""
    parts = value.replace("/", "-").split("-")
    if len(parts) == 1 and len(value) == 4:
        parts = [value[:2], value[2:]]
    if len(parts) != 2 or not all(p.isdigit() and 1 <= len(p) <= 2 for p in parts):
        raise ValueError(f"dob_mmdd {value!r} must be month and day as MM-DD")
    month, day = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or not 1 <= day <= DAYS_IN_MONTH[month - 1]:
        raise ValueError(f"dob_mmdd {value!r} is not a real month and day")
    return f"{month:02d}-{day:02d}"


def _row(values: dict[str, str]) -> Registration:
    missing = [f for f in REQUIRED if not values.get(f)]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    too_long = [k for k, v in values.items() if len(v) > MAX_FIELD]
    if too_long:
        raise ValueError(f"{too_long[0]} is longer than {MAX_FIELD} characters")
    email = values["email"].lower()
    if not EMAIL.match(email):
        raise ValueError(f"malformed email {values['email']!r}")
    ids: dict[str, str | None] = {}
    for column, (least, most) in BOARD_ID_DIGITS.items():
        value = (values.get(column) or "").strip() or None
        if value is not None and not (value.isascii() and value.isdigit()):
            raise ValueError(f"{column} {value!r} must be digits only")
        if value is not None and not least <= len(value) <= most:
            size = f"{least}" if least == most else f"{least} to {most}"
            raise ValueError(f"{column} {value!r} must be {size} digits, not {len(value)}")
        ids[column] = value
    dob = values.get("dob_mmdd") or None
    zoom = (values.get("zoom_email") or "").strip().lower() or None
    if zoom is not None and not EMAIL.match(zoom):
        raise ValueError(f"malformed zoom_email {values['zoom_email']!r}")
    first = " ".join((values.get("first_name") or "").split()) or None
    last = " ".join((values.get("last_name") or "").split()) or None
    if (first is None) != (last is None):
        given, empty = ("first_name", "last_name") if first else ("last_name", "first_name")
        raise ValueError(f"{given} is given but {empty} is empty; give both or neither")
    return Registration(
        name=" ".join(values["name"].split()),
        email=email,
        role=Role(_choice(values["role"], Role, "role")),
        discipline=Discipline(_choice(values["discipline"], Discipline, "discipline")),
        track=Track(_choice(values["track"], Track, "track")),
        team=values.get("team") or None,
        abp_id=ids["abp_id"],
        abim_id=ids["abim_id"],
        nabp_id=ids["nabp_id"],
        degrees=parse_degrees(values.get("degree") or ""),
        zoom_email=zoom,
        dob_mmdd=_dob(dob) if dob else None,
        first_name=first,
        last_name=last,
    )


def parse_roster(text: str) -> Roster:
    """The good rows and the problems of a roster CSV (header row first; columns in any order).

    A problem with the header (a required column missing, an unknown column) is reported on
    line 1 and no rows are taken. A repeated email is a problem on the later line.
    """
    text = text.removeprefix("\ufeff")  # spreadsheets often save UTF-8 with a BOM
    buf = io.StringIO(text, newline="")
    reader = csv.reader(buf)
    try:
        header = next(reader)
    except StopIteration:
        return Roster((), (RowProblem(1, "the file is empty; expected a header row"),))
    except csv.Error as e:
        return Roster((), (RowProblem(1, f"not readable as CSV: {e}"),))
    columns = [h.strip().lower() for h in header]
    problems: list[RowProblem] = []
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if missing:
        problems.append(RowProblem(1, "header lacks column(s): " + ", ".join(missing)))
    if unknown:
        problems.append(RowProblem(1, "header has unknown column(s): " + ", ".join(unknown)))
    if problems:
        return Roster((), tuple(problems))

    rows: list[tuple[int, Registration]] = []
    first_line_of: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(RowProblem(line, f"not readable as CSV: {e}"))
            break
        start, line = line, reader.line_num + 1
        if not any(v.strip() for v in record):
            continue  # blank lines are allowed
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append(RowProblem(start, f"more than {MAX_ROWS} rows; the rest was not read"))
            break
        if len(record) != len(columns):
            problems.append(
                RowProblem(start, f"has {len(record)} fields, the header has {len(columns)}")
            )
            continue
        values = {c: v.strip() for c, v in zip(columns, record, strict=True)}
        try:
            reg = _row(values)
        except ValueError as e:
            problems.append(RowProblem(start, str(e)))
            continue
        if reg.email in first_line_of:
            problems.append(
                RowProblem(
                    start, f"duplicate email {reg.email} (first on line {first_line_of[reg.email]})"
                )
            )
            continue
        first_line_of[reg.email] = start
        rows.append((start, reg))
    return Roster(tuple(rows), tuple(problems))
