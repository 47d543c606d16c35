"""Converting emulated instants to real wall-clock time for what a client reads as a date.

Windows and lifetimes run on the emulator's ``ScaledClock``. A real client, though, waits on
its own clock: a ``Retry-After`` HTTP-date or a token's ``expires`` must name the *real*
moment at which the emulated instant arrives, or a client would wait far too long at a large
time scale (scale 60: a 300 s window ends 5 real seconds after it began).
"""

from __future__ import annotations

import math
import time
from email.utils import formatdate

from tillbridge.emulation import ScaledClock


def to_wall_time(clock: ScaledClock, emulated: float) -> float:
    """The real Unix time at which the emulated clock will read ``emulated``."""
    return time.time() + (emulated - clock.time()) / clock.scale


def http_date(wall_time: float) -> str:
    """RFC 1123 date (``Wed, 15 Jul 2020 15:04:05 GMT``), rounded up to the next whole second
    so a client never wakes before the moment named."""
    return formatdate(math.ceil(wall_time), usegmt=True)
