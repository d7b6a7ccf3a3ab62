"""Readable labels of scenario ids, shared by the charts, the report and the dashboard."""

from __future__ import annotations

#: Short words for study axes in scenario labels (others: the field name's first word).
_AXIS_WORDS = {
    "mem_overcommit_ratio": "mem",
    "cpu_overcommit_ratio": "cpu",
    "headroom_frac": "headroom",
    "ha_hosts": "N+",
    "time_limit_s": "solver s",
}


def scenario_label(name: str) -> str:
    """A readable label of a scenario id: its axis values, e.g. ``containers · mem 1.0``.

    Ids look like ``mem_overcommit_ratio=1.0,mode=containers#c44d59`` (the axis values and a
    hash); text values are shown bare and first, numbers after a short word. Any other name is
    returned as it is.
    """
    values = name.split("#", 1)[0]
    if "=" not in values:
        return name
    words: list[str] = []
    numbers: list[str] = []
    for part in values.split(","):
        key, _, value = part.partition("=")
        field = key.rsplit(".", 1)[-1]
        try:
            float(value)
        except ValueError:
            words.append(value)
            continue
        word = _AXIS_WORDS.get(field, field.split("_")[0])
        numbers.append(f"{word}{value}" if word.endswith("+") else f"{word} {value}")
    return " · ".join(words + numbers) or name
