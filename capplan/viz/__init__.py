"""Plotly figures shared by the HTML reports and the dashboard (pure: arrays in, figure out)."""
