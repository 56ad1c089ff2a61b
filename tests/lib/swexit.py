"""swexit.py - hard_exit(code) for the python helpers of the tests and benchmarks.

os._exit skips the flush of Python's stdout buffer: whatever was printed would be
lost when stdout is a pipe (it is, in `x=$(...)`), unless the caller's environment
happens to set PYTHONUNBUFFERED (one did, and hid exactly that bug). Flush first.
"""
import os
import sys


def hard_exit(code):
    # (A signal handler may land inside a write: a reentrant flush raises.)
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, RuntimeError, ValueError):
            pass
    os._exit(code)
