"""Page layouts: functions from plain data to Dash components (no callbacks, no engine calls)."""
