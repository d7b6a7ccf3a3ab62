"""``capplan validate STUDY.toml``: load a study and list every problem with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capplan.cli_app import app, console, print_json, user_errors
from capplan.spec.study import load_study


@app.command()
@user_errors
def validate(
    study_path: Annotated[Path, typer.Argument(help="Study TOML file.")],
    json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Validate a study file; list every problem at once, each with its dotted path."""
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
