"""RVTools reader: workbooks generated here with openpyxl ("MB" and "MiB" spellings) and the
real export in ../shared."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from conftest import shared_or_skip
from typer.testing import CliRunner

from capplan.cli import app
from capplan.errors import TraceFormatError
from capplan.io import ReadOptions, detect_format, read_trace, read_traces, rvtools
from capplan.schema import classify_os

ESXTOP = Path(__file__).resolve().parents[1] / "fixtures" / "esxtop" / "three_vms.csv"
WIN = "Microsoft Windows Server 2019 (64-bit)"
RHEL = "Red Hat Enterprise Linux 8 (64-bit)"
W2003 = "Microsoft Windows Server 2003 Standard (32-bit)"


def sheets(unit: str = "MiB") -> dict[str, list[list[Any]]]:
    """The sheets of a small RVTools export; ``unit`` is "MiB" (4.1+) or "MB" (older)."""
    return {
        "vInfo": [
            [
                "VM",
                "Powerstate",
                "Template",
                "CPUs",
                "Memory",
                "NICs",
                "Disks",
                f"Provisioned {unit}",
                f"In Use {unit}",
                "Datacenter",
                "Cluster",
                "Host",
                "OS according to the configuration file",
                "OS according to the VMware Tools",
            ],
            [
                "web01",
                "poweredOn",
                "False",
                2,
                4096,
                1,
                2,
                53248,
                30720,
                "DC",
                "ClusterA",
                "esx01.lab.local",
                WIN,
                WIN,
            ],
            [
                "db01",
                "poweredOn",
                "False",
                8,
                32768,
                2,
                2,
                215040,
                102400,
                "DC",
                "ClusterA",
                "esx02.lab.local",
                RHEL,
                None,
            ],
            [
                "old01",
                "poweredOff",
                "False",
                1,
                1024,
                1,
                1,
                10240,
                5120,
                "DC",
                "ClusterB",
                "esx09.lab.local",
                W2003,
                "",
            ],
            [
                "tmpl-win",
                "poweredOff",
                "True",
                2,
                4096,
                1,
                1,
                40960,
                20480,
                "DC",
                "ClusterA",
                "esx01.lab.local",
                WIN,
                WIN,
            ],
        ],
        "vCPU": [
            ["VM", "Powerstate", "Template", "CPUs", "Sockets", "Cores p/s"],
            ["web01", "poweredOn", "False", 2, 1, 2],
        ],
        "vMemory": [
            ["VM", "Powerstate", "Template", f"Size {unit}"],
            ["web01", "poweredOn", "False", 4096],
        ],
        "vDisk": [
            ["VM", "Powerstate", "Template", "Disk", f"Capacity {unit}", "Thin"],
            ["web01", "poweredOn", "False", "Hard disk 1", 40960, True],
            ["web01", "poweredOn", "False", "Hard disk 2", 10240, True],
            ["db01", "poweredOn", "False", "Hard disk 1", 102400, False],
            ["db01", "poweredOn", "False", "Hard disk 2", 102400, False],
        ],
        "vPartition": [
            [
                "VM",
                "Powerstate",
                "Template",
                "Disk",
                f"Capacity {unit}",
                f"Consumed {unit}",
                f"Free {unit}",
                "Free % ",
            ],
            ["web01", "poweredOn", "False", "C:\\", 40958, 20480, 20478, 50],
            ["web01", "poweredOn", "False", "D:\\", 10238, 5120, 5118, 50],
            ["db01", "poweredOn", "False", "/", 204798, 51200, 153598, 75],
        ],
        "vHost": [
            [
                "Host",
                "Datacenter",
                "Cluster",
                "CPU Model",
                "Speed",
                "# CPU",
                "Cores per CPU",
                "# Cores",
                "# Memory",
            ],
            ["esx01.lab.local", "DC", "ClusterA", "Xeon", 2600, 2, 8, 16, 262144],
            ["esx02", "DC", "ClusterA", "Xeon", 2400, 2, 8, 16, 262144],
            ["esx10.lab.local", "DC", "ClusterB", "Xeon", 2000, 2, 8, 16, 131072],
            ["esx11.lab.local", "DC", "ClusterB", "Xeon", 2200, 2, 8, 16, 131072],
        ],
        "vNetwork": [
            ["VM", "Powerstate", "Template", "NIC label", "Adapter", "Network", "Switch"],
            [
                "web01",
                "poweredOn",
                "False",
                "Network adapter 1",
                "Vmxnet3",
                "VLAN 120 - Web",
                "dvs",
            ],
            ["db01", "poweredOn", "False", "Network adapter 1", "Vmxnet3", "dvPG-DB", "dvs"],
            ["db01", "poweredOn", "False", "Network adapter 2", "Vmxnet3", "vlan-300", "dvs"],
        ],
    }


def write_workbook(
    path: Path, data: dict[str, list[list[Any]]], *, trailing_empty_rows: int = 40
) -> Path:
    """Write ``data`` as an xlsx; vInfo gets formatted empty rows after its data, like RVTools."""
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in data.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title == "vInfo":
            for r in range(len(rows) + 1, len(rows) + 1 + trailing_empty_rows):
                sheet.cell(row=r, column=1).number_format = "@"
    book.save(path)
    return path


def _messages(trace: object) -> str:
    return "\n".join(p.render() for p in trace.problems)  # type: ignore[attr-defined]


@pytest.mark.parametrize("unit", ["MiB", "MB"])
def test_inventory_from_all_sheets(tmp_path: Path, unit: str) -> None:
    path = write_workbook(tmp_path / f"export-{unit}.xlsx", sheets(unit))
    assert detect_format(path) == "rvtools"
    trace = read_trace(path)
    assert trace.is_inventory_only and trace.usage.collect().height == 0
    inv = {row["vm_id"]: row for row in trace.inventory.iter_rows(named=True)}
    assert sorted(inv) == ["db01", "old01", "web01"]  # the template is left out
    web, db, old = inv["web01"], inv["db01"], inv["old01"]
    assert (web["n_vcpus"], web["mem_provisioned_mib"]) == (2, 4096)
    assert web["cpu_capacity_mhz"] == 2 * 2600  # exact host match
    assert db["cpu_capacity_mhz"] == 8 * 2400  # esx02.lab.local ~ vHost "esx02" (short name)
    assert old["cpu_capacity_mhz"] == 1 * 2000  # host unknown: slowest host of ClusterB
    # "MB" and "MiB" are the same binary unit: 51,200 MiB of vDisk = 50 GiB, no 1.048576.
    assert web["disk_provisioned_gib"] == pytest.approx(50.0)
    assert web["disk_used_gib"] == pytest.approx(25.0)  # Σ vPartition Consumed
    assert db["disk_provisioned_gib"] == pytest.approx(200.0)
    assert db["disk_used_gib"] == pytest.approx(50.0)
    assert old["disk_provisioned_gib"] == pytest.approx(10.0)  # vInfo Provisioned fallback
    assert old["disk_used_gib"] == pytest.approx(5.0)  # vInfo In Use fallback
    assert (web["os_family"], db["os_family"], old["os_family"]) == ("windows", "linux", "legacy")
    assert (web["vlan_id"], db["vlan_id"], old["vlan_id"]) == (120, None, None)
    assert (web["powered_on"], old["powered_on"]) == (True, False)
    assert web["current_host"] == "esx01.lab.local"
    assert web["security_zone"] is None and web["ha_group"] is None
    messages = _messages(trace)
    for expected in (
        "1 template(s) left out",
        "1 VM(s) matched to a vHost host by short name",
        "slowest host",
        "2 cluster(s) mix host CPU speeds (ClusterA, ClusterB)",
        "'dvPG-DB'",
        "1 VM(s) have no port group",
    ):
        assert expected in messages, expected


def test_mb_and_mib_variants_agree(tmp_path: Path) -> None:
    old = read_trace(write_workbook(tmp_path / "a.xlsx", sheets("MB"))).inventory
    new = read_trace(write_workbook(tmp_path / "b.xlsx", sheets("MiB"))).inventory
    assert old.equals(new)


def test_missing_optional_sheets(tmp_path: Path) -> None:
    data = {"vInfo": sheets()["vInfo"]}
    trace = read_trace(write_workbook(tmp_path / "v.xlsx", data), "rvtools")
    inv = trace.inventory.sort("vm_id")
    assert inv.get_column("cpu_capacity_mhz").null_count() == 3  # no vHost: unknown, not guessed
    assert inv.get_column("disk_provisioned_gib").to_list() == pytest.approx([210.0, 10.0, 52.0])
    assert inv.get_column("vlan_id").null_count() == 3


def test_cpus_from_vcpu_sheet_when_vinfo_lacks_them(tmp_path: Path) -> None:
    data = sheets()
    data["vInfo"] = [[c for i, c in enumerate(row) if i != 3] for row in data["vInfo"]]
    data["vInfo"] = [r for r in data["vInfo"] if r[0] in ("VM", "web01")]
    inv = read_trace(write_workbook(tmp_path / "c.xlsx", data), "rvtools").inventory
    assert inv.get_column("n_vcpus").to_list() == [2]


def test_missing_required_column_names_sheet_and_alternatives(tmp_path: Path) -> None:
    data = sheets()
    data["vInfo"] = [[c for i, c in enumerate(row) if i != 4] for row in data["vInfo"]]
    del data["vMemory"]
    with pytest.raises(TraceFormatError) as info:
        read_trace(write_workbook(tmp_path / "m.xlsx", data), "rvtools")
    message = str(info.value)
    assert "'vInfo' has no column 'Memory'" in message
    assert "'Memory MiB'" in message and "'vMemory'" in message
    data = sheets()
    data["vInfo"] = [row[1:] for row in data["vInfo"]]
    with pytest.raises(TraceFormatError, match="sheet 'vInfo' has no column 'VM'"):
        read_trace(write_workbook(tmp_path / "n.xlsx", data), "rvtools")


@pytest.mark.parametrize(
    ("sheet", "row", "col", "value", "expected"),
    [
        ("vInfo", 3, 3, "eight", "not a finite, non-negative number"),
        ("vInfo", 2, 4, -4096, "not a finite, non-negative number"),
        ("vInfo", 2, 3, 2.5, "not a whole number"),
        ("vInfo", 2, 4, "inf", "not a finite"),
        ("vDisk", 3, 4, "40 GB", "not a finite"),
        ("vHost", 2, 4, "2.6 GHz", "not a finite"),
    ],
)
def test_bad_cells_name_sheet_row_and_column(
    tmp_path: Path, sheet: str, row: int, col: int, value: object, expected: str
) -> None:
    data = sheets()
    data[sheet][row - 1][col] = value
    with pytest.raises(TraceFormatError) as info:
        read_trace(write_workbook(tmp_path / "bad.xlsx", data), "rvtools")
    assert info.value.line == row
    assert info.value.column == data[sheet][0][col]
    assert sheet in str(info.value) and expected in str(info.value)


def test_not_an_rvtools_workbook(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("VM,CPUs\nweb01,2\n")
    with pytest.raises(TraceFormatError, match="not recognised"):
        detect_format(fake)  # not claimed: an xlsx that is no zip
    with pytest.raises(TraceFormatError, match="not a readable"):
        read_trace(fake, "rvtools")
    other = write_workbook(tmp_path / "other.xlsx", {"Sheet1": [["a", "b"], [1, 2]]})
    assert detect_format(other) == "rvtools"  # an xlsx without vInfo still says why
    with pytest.raises(TraceFormatError) as info:
        read_trace(other)
    assert "no 'vInfo' sheet" in str(info.value) and "Sheet1" in str(info.value)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("xl/workbook.xml", '<workbook><sheet name="vInfo"/>')
    with pytest.raises(TraceFormatError, match="not a readable xlsx"):
        read_trace(broken, "rvtools")


def test_only_templates_is_an_error(tmp_path: Path) -> None:
    data = sheets()
    data["vInfo"] = [data["vInfo"][0], data["vInfo"][4]]
    with pytest.raises(TraceFormatError, match="only templates"):
        read_trace(write_workbook(tmp_path / "t.xlsx", data), "rvtools")


def test_xlsx_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "bomb.xlsx", sheets())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(64 * 1024 * 1024))
    with pytest.raises(TraceFormatError, match="zip bomb"):
        read_trace(path, "rvtools")
    assert detect_format(write_workbook(tmp_path / "ok.xlsx", sheets())) == "rvtools"
    small = ReadOptions(max_expanded_bytes=4096)
    with pytest.raises(TraceFormatError, match="above the limit"):
        read_trace(tmp_path / "ok.xlsx", "rvtools", small)


def test_workbook_inside_a_zip(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "export.xlsx", sheets())
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(book, "export.xlsx")
    trace = read_trace(archive, "rvtools")
    assert trace.inventory.height == 3


def test_long_empty_run_ends_the_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rvtools, "MAX_EMPTY_RUN", 5)
    data = sheets()
    data["vInfo"] = [*data["vInfo"][:2], *([[None] * 14] * 7), data["vInfo"][2]]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "vInfo"
    for row in data["vInfo"]:
        sheet.append(row)
    for r in range(3, 10):
        sheet.cell(row=r, column=2).number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "gap.xlsx"
    path.write_bytes(buffer.getvalue())
    trace = read_trace(path, "rvtools")
    assert trace.inventory.get_column("vm_id").to_list() == ["web01"]
    assert "rows after it were not read" in _messages(trace)


@pytest.mark.parametrize(
    ("name", "vlan"),
    [
        ("VLAN 120 - Web", 120),
        ("dvPG_vlan-0300", 300),
        ("VL42", 42),
        ("vlan4095", None),
        ("Production", None),
        ("Slovlan 12", None),
        (None, None),
        ("VLAN_7_DMZ", 7),
    ],
)
def test_vlan_from_port_group(name: str | None, vlan: int | None) -> None:
    assert rvtools.vlan_from_network(name) == vlan


def test_merges_with_a_usage_trace(tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "inv.xlsx", sheets())
    trace = read_traces([ESXTOP, book])
    inv = {row["vm_id"]: row for row in trace.inventory.iter_rows(named=True)}
    assert sorted(inv) == ["app01", "db01", "web01"]
    assert inv["web01"]["n_vcpus"] == 2 and inv["web01"]["mem_provisioned_mib"] == 4096
    assert inv["app01"]["mem_provisioned_mib"] == 2048  # esxtop's own figure fills the gap
    assert "1 of 3 VMs with usage have no row in the inventory" in _messages(trace)


def test_guest_percentages_take_the_inventorys_cpu_capacity(tmp_path: Path) -> None:
    # sadf run inside the db01 guest: 25 % then 50 % busy; the file does not say the CPUs, so
    # the reader assumes one 2,500 MHz core; RVTools knows 8 vCPUs on esx02's clock
    usage = tmp_path / "db01.csv"
    usage.write_text(
        "# hostname;interval;timestamp;CPU;%user;%nice;%system;%iowait;%steal;%idle\n"
        "db01;600;2024-05-02 10:10:01 UTC;-1;20.00;0.00;5.00;0.00;0.00;75.00\n"
        "db01;600;2024-05-02 10:20:01 UTC;-1;40.00;0.00;10.00;0.00;0.00;50.00\n"
    )
    book = write_workbook(tmp_path / "inv.xlsx", sheets())
    alone = read_trace(usage, "sadf")
    assumed = alone.inventory.get_column("cpu_capacity_mhz").item()
    merged = read_traces([f"sadf:{usage}", book])
    capacity = merged.inventory.filter(pl.col("vm_id") == "db01").get_column("cpu_capacity_mhz")
    assert capacity.item() != assumed and capacity.item() > 0
    demand = merged.usage.collect().sort("timestamp").get_column("cpu_demand_mhz").to_list()
    assert demand == pytest.approx([0.25 * capacity.item(), 0.5 * capacity.item()])
    assert "rescaled from the CPU capacity the reader assumed" in _messages(merged)


# --- the real export (../shared/data/rvtools-export), read in place ---------------------------


@pytest.mark.shared_data
def test_real_export_counts_and_ranges() -> None:
    path = shared_or_skip("data", "rvtools-export", "SizingWorkshop-RVTools.xlsx")
    assert detect_format(path) == "rvtools"
    trace = read_trace(path)
    inv = trace.inventory
    # SOURCE.md: 805 VMs in vInfo, 10 templates, 763 poweredOn, CPUs 1–16, Memory 512–131072.
    assert inv.height == 795
    assert inv.get_column("vm_id").n_unique() == 795
    assert int(inv.get_column("powered_on").sum()) == 763
    assert inv.get_column("powered_on").null_count() == 0
    assert (inv.get_column("n_vcpus").min(), inv.get_column("n_vcpus").max()) == (1, 16)
    memory = inv.get_column("mem_provisioned_mib")
    assert (memory.min(), memory.max()) == (512, 131072)
    disks = inv.select("disk_provisioned_gib", "disk_used_gib")
    assert disks.null_count().row(0) == (0, 0)
    assert float(disks.min_horizontal().min()) >= 0  # type: ignore[arg-type]
    raw = openpyxl.load_workbook(path, read_only=True, data_only=True)["vInfo"]
    rows = [r for r in raw.iter_rows(min_row=2, values_only=True) if r[0] and r[2] == "False"]
    families = pl.Series([classify_os(r[13] or r[12]) for r in rows]).value_counts()
    assert dict(inv.get_column("os_family").value_counts().iter_rows()) == dict(
        families.iter_rows()
    )
    speeds = inv.get_column("cpu_capacity_mhz") / inv.get_column("n_vcpus")
    assert set(speeds.unique().to_list()) <= {2699.0, 2700.0, 3196.0, 3065.0, 3066.0, 3465.0}
    assert inv.get_column("vlan_id").null_count() == 795  # vNetwork "Network" is empty
    messages = _messages(trace)
    assert "10 template(s) left out" in messages
    assert "795 VM(s) have no port group" in messages


@pytest.mark.shared_data
def test_real_export_inspects() -> None:
    path = shared_or_skip("data", "rvtools-export", "SizingWorkshop-RVTools.xlsx")
    result = CliRunner().invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["format"] == "rvtools" and payload["n_vms"] == 795


# ----------------------------------------------------------------- creation dates
def _with_created(values: list[object]) -> dict[str, list[list[object]]]:
    data = sheets()
    rows = data["vInfo"]
    rows[0] = [*rows[0], "Creation date"]
    for k in range(1, len(rows)):
        rows[k] = [*rows[k], values[(k - 1) % len(values)]]
    return data


def test_rvtools_creation_dates_as_excel_dates_iso_and_us_text(tmp_path: Path) -> None:
    data = _with_created(
        [datetime(2023, 4, 1, 10, 22), "2022-12-31T23:00:00+01:00", "3/4/2019 1:05:00 PM", None]
    )
    path = write_workbook(tmp_path / "export.xlsx", data)
    inv = read_trace(path, "rvtools", ReadOptions()).inventory
    assert inv.schema["created"] == pl.Datetime("us", "UTC")
    got = dict(zip(inv["vm_id"].to_list(), inv["created"].to_list(), strict=True))
    names = [row[0] for row in data["vInfo"][1:] if row[2] != "True"]
    expected = [
        datetime(2023, 4, 1, 10, 22, tzinfo=UTC),
        datetime(2022, 12, 31, 22, 0, tzinfo=UTC),
        datetime(2019, 3, 4, 13, 5, tzinfo=UTC),
        None,
    ]
    for k, name in enumerate(data["vInfo"][1:]):
        if name[0] in names:
            assert got[name[0]] == expected[k % 4], name[0]


def test_rvtools_bad_creation_date_names_sheet_row_and_column(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "bad.xlsx", _with_created(["last spring"]))
    with pytest.raises(TraceFormatError) as info:
        read_trace(path, "rvtools", ReadOptions())
    text = str(info.value)
    assert "'vInfo'" in text and "Creation date" in text and ":2" in text
    assert "last spring" in text and "expected an Excel date" in text
