"""``capplan validate STUDY.toml``: load a study and list every problem with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capplan.cli_app import app, console, print_json, user_errors
from capplan.errors import CapplanError
from capplan.spec.study import load_study


@app.command()
@user_errors
def validate(
    study_path: Annotated[Path | None, typer.Argument(help="Study TOML file.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    schema: Annotated[
        bool,
        typer.Option(
            "--schema",
            help="Print the JSON Schema of a study file (every setting with its default, "
            "description and unit) for editors, and exit.",
        ),
    ] = False,
    storage_schema: Annotated[
        bool,
        typer.Option(
            "--storage-schema",
            help="Print the JSON Schema of a storage spec file (pools and planning policy) "
            "for editors, and exit.",
        ),
    ] = False,
    catalog_schema: Annotated[
        bool,
        typer.Option(
            "--catalog-schema",
            help="Print the JSON Schema of a hardware catalog file (hosts, modes, SAN tiers, "
            "SAN, fabric, memory, guest, sources) for editors, and exit.",
        ),
    ] = False,
    economics_schema: Annotated[
        bool,
        typer.Option(
            "--economics-schema",
            help="Print the JSON Schema of an economics settings file for editors, and exit.",
        ),
    ] = False,
) -> None:
    """Validate a study file; list every problem at once, each with its dotted path."""
    if schema:
        from capplan.spec.study import Study

        print_json(Study.model_json_schema())
        return
    if storage_schema:
        from capplan.storage.spec import StorageSpecFile

        print_json(StorageSpecFile.model_json_schema())
        return
    if catalog_schema:
        from capplan.spec.catalog import catalog_schema as schema_of_catalog

        print_json(schema_of_catalog())
        return
    if economics_schema:
        from capplan.spec.economics import economics_schema as schema_of_economics

        print_json(schema_of_economics())
        return
    if study_path is None:
        raise CapplanError("give a study TOML file (or --schema)", spec_path="STUDY")
    study = load_study(study_path)
    scenarios = study.expand()
    if json:
        print_json(
            {
                "valid": True,
                "name": study.name,
                "n_scenarios": len(scenarios),
                "scenarios": [s.name for s in scenarios],
            }
        )
        return
    console.print(f"{study_path}: valid; {len(scenarios)} scenario(s)", highlight=False)
    for scenario in scenarios:
        console.print(f"  - {scenario.name}", highlight=False)
