"""Exports as spreadsheets open them: every table's columns written once and kept by its rows, a
header even when empty, an Excel flavour of CSV, and .xlsx with typed cells read back by
openpyxl."""

import csv
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from server.domain.credit import ClaimCredit
from server.domain.people_rules import Connect, Disconnect, ImportRoster, RecordEvaluation
from server.domain.roles import CLI_ACTOR
from server.domain.roster import parse_roster
from server.reports import exports
from server.reports.sheets import render
from tests.unit.harness import SALT, SCHEDULE, Course

START, END = SCHEDULE.items[0].start, SCHEDULE.items[-1].end
ROSTER = """name,email,role,discipline,track,degree,abp_id,dob_mmdd
=HYPERLINK(x),eq@example.org,learner,physician,pediatric,MD,0001234,02-03
Zoë Ålström,zoe@example.org,learner,nurse,adult,RN,,
"""


@pytest.fixture
def course():
    c = Course()
    c.do(ImportRoster(tuple(parse_roster(ROSTER).registrations), SALT))
    for email in ("eq@example.org", "zoe@example.org"):
        a = c.actor(email)
        c.do(Connect(f"c-{a.id}"), a, START)
        c.do(Disconnect(f"c-{a.id}"), a, START + timedelta(minutes=200))
        c.do(RecordEvaluation(a.id), CLI_ACTOR, END)
    c.do(ClaimCredit("nursing_contact_hours", 2.25), c.actor("zoe@example.org"), END)
    return c


def test_every_row_has_exactly_its_tables_columns(course):
    for name, table in exports.TABLES.items():
        rows = exports.rows_of(name, course.state, SCHEDULE, END)
        assert all(list(r) == [n for n, _ in table.columns] for r in rows), name


def test_an_empty_export_still_has_its_header():
    empty = Course()
    for name, table in exports.TABLES.items():
        cols = table.columns
        text = exports.export(name, empty.state, SCHEDULE, END, "csv")
        assert isinstance(text, str) and text.splitlines() == [",".join(n for n, _ in cols)]
        book = openpyxl.load_workbook(
            io.BytesIO(exports.export(name, empty.state, SCHEDULE, END, "xlsx"))
        )
        assert book.active.max_row == 1


def test_csv_for_excel_has_a_bom_crlf_ids_as_text_and_the_formula_guard(course):
    text = exports.export("credits", course.state, SCHEDULE, END, "csv-excel")
    assert isinstance(text, str) and text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    eq = next(r for r in rows if r["email"] == "eq@example.org")
    assert eq["name"] == "'=HYPERLINK(x)"  # never run as a formula
    abp = next(r for r in rows if r["email"] == "eq@example.org" and r["board"] == "ABP")
    assert abp["board_id"] == '="0001234"'  # Excel keeps the leading zeros
    zoe = next(r for r in rows if r["email"] == "zoe@example.org")
    assert zoe["name"] == "Zoë Ålström"
    plain = exports.export("credits", course.state, SCHEDULE, END, "csv")
    assert "0001234" in plain and '="0001234"' not in plain and not plain.startswith("\ufeff")


def test_xlsx_cells_are_typed(course):
    data = exports.export("credits", course.state, SCHEDULE, END, "xlsx")
    assert isinstance(data, bytes)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header == [n for n, _ in exports.CREDITS]
    rows = [
        dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(min_row=2)
    ]
    abp = next(r for r in rows if r["board"] == "ABP")
    assert abp["board_id"] == "0001234"  # text, not 1234
    hours = next(r for r in rows if r["credit_type"] == "nursing_contact_hours")
    assert hours["claimed"] == 2.25 and isinstance(hours["earned"], float)
    assert hours["evaluation_completed"] is True
    assert isinstance(hours["claimed_on"], datetime) and hours["claimed_on"].date() == date(
        2026, 5, 15
    )
    assert sheet["A2"].number_format == "@"
    attendance = openpyxl.load_workbook(
        io.BytesIO(exports.export("attendance", course.state, SCHEDULE, END, "xlsx"))
    ).active
    assert attendance["F1"].value == "start (UTC)"
    assert attendance["F2"].value == SCHEDULE.items[0].start.replace(tzinfo=None)


def test_an_unknown_format_or_table_says_which_there_are(course):
    with pytest.raises(ValueError, match="csv, csv-excel, json, xlsx"):
        render([], "ods", exports.CREDITS)
    with pytest.raises(ValueError, match="attendance, credits"):
        exports.rows_of("salaries", course.state, SCHEDULE, END)
