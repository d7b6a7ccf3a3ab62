"""CLI command modules; each registers its commands on :data:`capplan.cli_app.app`."""
