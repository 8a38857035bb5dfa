"""Keep freed memory in the process: numpy temporaries must not page-fault on every block.

Rendering a block allocates and frees tens of megabytes of numpy temporaries. glibc's malloc
gives freed memory back to the kernel as soon as the free space at the top of the heap passes
its trim threshold (and serves big arrays from fresh ``mmap``s), so the next block touches
brand-new pages: ~500 minor page faults per 64k-frame block, each several microseconds in a
virtual machine (measured: a 4-row ramp that computes in 0.16 ms took 1.9 ms). Raising the trim
and mmap thresholds keeps the freed pages for reuse; memory stays bounded by the largest
working set (a few tens of MB), it is just not returned between blocks. Without glibc (macOS,
musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 512 * 1024 * 1024
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's maximum for the mmap threshold on 64-bit


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds once per process; True if glibc took them."""
    library = ctypes.util.find_library("c")
    if library is None:
        return False
    try:
        mallopt = ctypes.CDLL(library).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    )
