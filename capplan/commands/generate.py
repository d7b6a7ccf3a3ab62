"""``capplan generate``: write a seeded synthetic workload (canonical Parquet or Bitbrains)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from capplan.cli_app import app, console, err_console, print_json, user_errors
from capplan.errors import SpecError
from capplan.generate import GeneratorParams
from capplan.generate.bitbrains import write_bitbrains_set
from capplan.generate.canonical import write_canonical_set

FORMATS = ("canonical", "bitbrains")
_FLAGS = {
    "n_vms": "--vms",
    "days": "--days",
    "step_s": "--step",
    "start": "--start",
    "site_profile": "--site-profile",
}


def _parse_start(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SpecError(
            [("--start", f"is {text!r}; expected an ISO 8601 time such as 2024-01-01T00:00Z")]
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def generate_to(
    out: Path,
    *,
    n_vms: int,
    days: float,
    step_s: int,
    seed: int,
    fmt: str = "canonical",
    start: datetime | None = None,
    site_profile: str = "global",
    quiet: bool = True,
) -> dict[str, object]:
    """Generate a workload and write it; return the JSON summary ``capplan generate`` prints."""
    if fmt not in FORMATS:
        raise SpecError([("--format", f"is {fmt!r}; expected one of {list(FORMATS)}")])
    try:
        params = GeneratorParams(
            n_vms=n_vms,
            days=days,
            step_s=step_s,
            start=start or GeneratorParams().start,
            site_profile=site_profile,
        ).validate()
    except SpecError as exc:
        raise SpecError(
            [(_FLAGS.get(where, where), what) for where, what in exc.problems]
        ) from None
    if seed < 0:
        raise SpecError([("--seed", f"is {seed}; expected a non-negative integer")])
    if fmt == "canonical":
        if out.suffix.lower() != ".parquet":
            raise SpecError([("--out", f"is {str(out)!r}; expected a .parquet file name")])
    elif out.exists() and not out.is_dir():
        raise SpecError([("--out", f"{str(out)!r} is a file; expected a folder")])

    def write(on_block: Callable[[int, int], None] | None) -> list[Path]:
        if fmt == "canonical":
            return [write_canonical_set(params, seed, out, on_block=on_block)]
        return write_bitbrains_set(params, seed, out, on_block=on_block)

    if quiet:
        files = write(None)
    else:
        columns = (
            TextColumn("generating VMs"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("generate", total=n_vms)
            files = write(lambda done, total: bar.update(task, completed=done, total=total))
    end = params.start.timestamp() + (params.n_steps - 1) * params.step_s
    return {
        "format": fmt,
        "out": str(out),
        "n_files": len(files),
        "size_bytes": sum(f.stat().st_size for f in files),
        "n_vms": n_vms,
        "n_steps": params.n_steps,
        "step_s": step_s,
        "seed": seed,
        "site_profile": site_profile,
        "start": params.start.isoformat(),
        "end": datetime.fromtimestamp(end, tz=UTC).isoformat(),
    }


@app.command("generate")
@user_errors
def generate_command(
    out: Annotated[
        Path, typer.Option("--out", help="FILE.parquet (canonical) or a folder (bitbrains).")
    ],
    vms: Annotated[int, typer.Option("--vms", help="Number of VMs.")] = 200,
    days: Annotated[float, typer.Option("--days", help="Length in days.")] = 7.0,
    step: Annotated[int, typer.Option("--step", help="Seconds between samples.")] = 300,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed; the same seed gives the same data.")
    ] = 1,
    start: Annotated[
        str, typer.Option("--start", help="UTC time of the first sample (ISO 8601).")
    ] = "2024-01-01T00:00:00Z",
    fmt: Annotated[
        str, typer.Option("--format", help="canonical (one Parquet file) or bitbrains (folder).")
    ] = "canonical",
    site_profile: Annotated[
        str,
        typer.Option(
            "--site-profile",
            help="'global' (VMs spread over time zones and independent, like PlanetLab) or "
            "'single-site' (one enterprise data centre: shared peak hours and part of the CPU "
            "noise, fitted to Bitbrains).",
        ),
    ] = "global",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Generate a seeded synthetic workload with statistics fitted to real traces."""
    summary = generate_to(
        out,
        n_vms=vms,
        days=days,
        step_s=step,
        seed=seed,
        fmt=fmt,
        start=_parse_start(start),
        site_profile=site_profile,
        quiet=as_json,
    )
    if as_json:
        print_json(summary)
        return
    console.print(
        f"wrote {summary['n_vms']} VMs × {summary['n_steps']} steps of {step} s "
        f"({summary['start']} – {summary['end']}) as {fmt}: {summary['out']} "
        f"({summary['n_files']} file(s), {int(summary['size_bytes']) / 1e6:,.1f} MB)"  # type: ignore[call-overload]
    )
