"""The Dash entry point: ``app = create_app(); server = app.server``.

``python app.py [--host 127.0.0.1] [--port 8050]`` serves it with Dash's own server;
``gunicorn app:server`` serves it in production (see the README). Settings come from the
``CAPPLAN_*`` environment variables (``capplan.dashboard.settings``).
"""

from capplan.dashboard import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Serve the capplan dashboard.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on")
    args = parser.parse_args()
    app.run(host=args.host, port=args.port, debug=False)
