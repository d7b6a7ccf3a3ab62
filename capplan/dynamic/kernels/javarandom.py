"""The random VM selection's generator: ``java.util.Random``'s, number for number.

CloudSim's RS selection (``PowerVmSelectionPolicyRandomSelection``) draws
``nextInt(n)`` from ``java.util.Random``. Its algorithm is fixed by the Java API
specification (a 48-bit linear congruential generator, Knuth's *The Art of Computer
Programming* vol. 2 §3.2.1, with the rejection loop of ``nextInt(bound)``), so the same seed
gives the same numbers on any JVM. capplan draws RS picks from this generator: a CloudSim run
whose RS generator is seeded the same way (one ``new Random(seed)`` for the whole run instead
of an unseeded one per draw) then makes the same picks, and the two runs can be compared
migration by migration rather than only in distribution.

The state is a one-element int64 array, so the compiled round can advance it in place. The
arithmetic keeps only the low 48 bits, which wrap-around int64 products (compiled) and
Python integers (interpreted) agree on.
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

#: ``java.util.Random``'s multiplier, addend and 48-bit mask.
MULTIPLIER: Final = 0x5DEECE66D
ADDEND: Final = 0xB
MASK_48: Final = (1 << 48) - 1
_INT_MAX: Final = (1 << 31) - 1


def java_state(seed: int) -> IntArray:
    """The generator state of ``new java.util.Random(seed)`` (the seed scrambled)."""
    return np.array([(int(seed) ^ MULTIPLIER) & MASK_48], dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def _next31(state: IntArray) -> int:  # pragma: no cover - compiled; same code runs in tests
    s = (state[0] * MULTIPLIER + ADDEND) & MASK_48
    state[0] = s
    return s >> 17


@numba.njit(cache=True, nogil=True)
def next_int(state: IntArray, bound: int) -> int:  # pragma: no cover - compiled
    """``java.util.Random.nextInt(bound)``: a uniform int in ``[0, bound)``; advances ``state``.

    ``bound`` must be positive (Java throws otherwise; the callers never pass 0).
    """
    r = _next31(state)
    m = bound - 1
    if (bound & m) == 0:  # a power of two: the high bits
        return (bound * r) >> 31
    u = r
    r = u % bound
    while u - r + m > _INT_MAX:  # Java's int overflow test: reject the top partial block
        u = _next31(state)
        r = u % bound
    return r
