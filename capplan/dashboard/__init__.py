"""The Dash dashboard for analysts: upload traces, set up and run studies, see and download
results. ``create_app()`` builds it; ``app.py`` at the repository root and ``capplan serve``
serve it.
"""

from capplan.dashboard.app import create_app
from capplan.dashboard.settings import Settings

__all__ = ["Settings", "create_app"]
