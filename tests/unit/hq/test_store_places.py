"""Stores' coordinates: `kiosk-hq store set --lat --lon` and `kiosk-hq store import`.

A file is checked whole before anything is written: each problem names the file,
line and field, and a file with one bad row changes nothing at all.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hq.cli import main
from hq.db import Database
from hq.store_places import ImportRefused, apply_import, places, read_import

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
GOOD = (
    "\ufeffstore_id,name,region,latitude,longitude\r\n"  # as a spreadsheet saves it
    "sh-nanjing-road,上海南京东路旗舰店,east,31.2353,121.4747\r\n"
    "cd-taikoo-li,成都远洋太古里店,west,30.653,104.083\r\n"
    "km-nanping-street,昆明南屏街店,,,\r\n"
    "\r\n"
)
BAD = (
    "store_id,name,region,latitude,longitude\n"
    "sh-nanjing-road,上海南京东路旗舰店,east,31.2353,121.4747\n"  # good, yet not applied
    "cd-taikoo-li,成都远洋太古里店,west,95.2,104.083\n"
    "Chengdu Two,,west,30.6,104.1\n"
    "xa-bell-tower,西安钟楼店,West China,34.26,east\n"
    "cq-jiefangbei,重庆解放碑店,west,29.558,\n"
    "sh-nanjing-road,,,31.2,121.4\n"
)


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--data-dir", str(data_dir), *args])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_good_file_is_read_with_blank_cells_as_none() -> None:
    rows = read_import(GOOD.encode(), "stores.csv")
    assert [(r.line, r.store_id, r.region, r.latitude, r.longitude) for r in rows] == [
        (2, "sh-nanjing-road", "east", 31.2353, 121.4747),
        (3, "cd-taikoo-li", "west", 30.653, 104.083),
        (4, "km-nanping-street", None, None, None),
    ]


def test_every_bad_row_is_reported_with_its_line_and_field() -> None:
    with pytest.raises(ImportRefused) as refused:
        read_import(BAD.encode(), "stores.csv")
    assert refused.value.problems == (
        "stores.csv:3: latitude: 95.2 is not from -90 to 90",
        "stores.csv:4: store_id: 'Chengdu Two' is not a lowercase slug [a-z0-9-]{2,40}",
        "stores.csv:5: region: 'West China' is not a lowercase slug [a-z0-9-] (1-40)",
        "stores.csv:5: longitude: 'east' is not a number (decimal degrees, like 31.2304)",
        "stores.csv:6: latitude, longitude: give both or neither",
        "stores.csv:7: store_id: sh-nanjing-road is on line 2 too",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("store_id,name,lat,lon\n", "stores.csv:1: header: missing column(s) region, latitude"),
        (
            "store_id,name,region,latitude,longitude,city\n",
            "stores.csv:1: header: unknown column(s) city",
        ),
        ("store_id,name,region,latitude,longitude\nsh-a,x\n", "stores.csv:2: 5 cells expected"),
    ],
)
def test_a_wrong_header_or_row_shape_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        read_import(text.encode(), "stores.csv")
    assert refused.value.problems[0].startswith(problem)


def test_a_file_that_is_not_utf8_is_refused_saying_so() -> None:
    with pytest.raises(ImportRefused, match="not UTF-8 text"):
        read_import("store_id,name\nsh-a,上海店\n".encode("gbk"), "stores.csv")


def test_an_import_adds_new_stores_and_keeps_what_blank_cells_leave(database: Database) -> None:
    apply_import(database, read_import(GOOD.encode(), "stores.csv"), by="test", now=NOW)
    again = "store_id,name,region,latitude,longitude\nsh-nanjing-road,,,31.24,121.48\n"
    done = apply_import(database, read_import(again.encode(), "stores.csv"), by="t", now=NOW)
    assert (done.added, done.updated) == ((), ("sh-nanjing-road",))
    with database.read() as connection:
        found = {place.store_id: place for place in places(connection)}
    assert found["sh-nanjing-road"].name == "上海南京东路旗舰店"  # a blank name: kept
    assert (found["sh-nanjing-road"].latitude, found["sh-nanjing-road"].longitude) == (
        31.24,
        121.48,
    )
    assert not found["km-nanping-street"].located


def test_the_cli_imports_sets_and_lists_and_refuses_a_bad_file_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, tmp_path, "store", "add", "sh-nanjing-road", "--region", "east")[0] == 0
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")

    code, out, err = run(capsys, tmp_path, "stores", "import", str(bad))
    assert code == 1
    assert err.splitlines()[0] == f"kiosk-hq: {bad}: 6 problems, nothing imported:"
    assert f"{bad}:3: latitude: 95.2 is not from -90 to 90" in err.splitlines()
    code, out, _ = run(capsys, tmp_path, "stores", "list", "--json")
    assert [(s["store_id"], s["latitude"]) for s in json.loads(out)] == [("sh-nanjing-road", None)]

    code, out, _ = run(capsys, tmp_path, "stores", "import", str(good))
    assert (code, out) == (0, f"2 store(s) added, 1 updated from {good}\n")
    code, out, err = run(capsys, tmp_path, "stores", "set", "km-nanping-street", "--lat", "91")
    assert (code, err) == (1, "kiosk-hq: --lat and --lon go together\n")
    code, out, err = run(
        capsys, tmp_path, "stores", "set", "km-nanping-street", "--lat", "91", "--lon", "102.7"
    )
    assert (code, err) == (1, "kiosk-hq: latitude: 91 is not from -90 to 90\n")
    code, out, _ = run(
        capsys,
        tmp_path,
        "store",
        "set",
        "km-nanping-street",
        "--lat",
        "25.0406",
        "--lon",
        "102.7122",
        "--region",
        "west",
    )
    assert (code, out) == (0, "store km-nanping-street: at 25.0406, 102.7122, region west\n")
    code, out, _ = run(capsys, tmp_path, "stores", "list", "--json")
    assert [
        (s["store_id"], s["region"], s["latitude"], s["longitude"]) for s in json.loads(out)
    ] == [
        ("cd-taikoo-li", "west", 30.653, 104.083),
        ("km-nanping-street", "west", 25.0406, 102.7122),
        ("sh-nanjing-road", "east", 31.2353, 121.4747),
    ]
