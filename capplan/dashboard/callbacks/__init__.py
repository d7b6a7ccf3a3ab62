"""Callbacks: thin adapters that parse inputs, call :mod:`capplan.dashboard.services`, build
components (pages) and figures (:mod:`capplan.viz`), and return them.

Each module exposes its adapters as plain functions (tested without a browser) and a
``register(app, services, signer)`` that wires them to the app.
"""

from __future__ import annotations

import dash

from capplan.dashboard.callbacks import results, routing, run, setup, upload
from capplan.dashboard.services import Services
from capplan.dashboard.sessions import TokenSigner


def register(app: dash.Dash, services: Services, signer: TokenSigner) -> None:
    """Register every callback of the dashboard on ``app``."""
    for module in (routing, upload, setup, run, results):
        module.register(app, services, signer)
