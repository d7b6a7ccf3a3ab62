"""The only home of unit conversion factors.

Readers convert vendor units into capplan's canonical units with these constants; only the
presentation layer converts back out of them.
"""

from __future__ import annotations

from typing import Final

KIB_PER_MIB: Final = 1024.0
MIB_PER_GIB: Final = 1024.0
GIB_PER_TIB: Final = 1024.0
BYTES_PER_MIB: Final = 1024.0 * 1024.0
BYTES_PER_KIB: Final = 1024.0
#: sysstat's "blocks" (sar -b bread/s, bwrtn/s) are 512-byte sectors (sar(1) man page).
BYTES_PER_SECTOR: Final = 512.0
#: "MB" as written by vendors that mean decimal megabytes (10**6 bytes).
BYTES_PER_MB: Final = 1_000_000.0
MIB_PER_MB: Final = BYTES_PER_MB / BYTES_PER_MIB
#: Network rates: megabits per second (10**6 bit/s).
BITS_PER_BYTE: Final = 8.0
MBPS_PER_KIB_S: Final = BYTES_PER_KIB * BITS_PER_BYTE / 1e6
MBPS_PER_BYTES_S: Final = BITS_PER_BYTE / 1e6
MBPS_PER_GBPS: Final = 1000.0

S_PER_MIN: Final = 60.0
S_PER_HOUR: Final = 3600.0
S_PER_DAY: Final = 86_400.0
S_PER_YEAR: Final = 365.0 * S_PER_DAY
MIN_PER_YEAR: Final = S_PER_YEAR / S_PER_MIN
HOURS_PER_YEAR: Final = S_PER_YEAR / S_PER_HOUR
MS_PER_S: Final = 1000.0
US_PER_S: Final = 1_000_000.0

W_PER_KW: Final = 1000.0
#: Energy of one watt held for one second, in kWh.
KWH_PER_WS: Final = 1.0 / (W_PER_KW * S_PER_HOUR)

PERCENT: Final = 100.0
