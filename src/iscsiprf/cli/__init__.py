"""The `iscsiprf` command. The click group lives in `app.py`; this is the process entry point.

A plain `iscsiprf mof check` runs without importing click (see `mof_check.py`).
"""

from __future__ import annotations

import sys

from . import teardown


def main() -> None:
    """Console entry point: user errors are handled by each command; this is the last guard
    so that nothing a user does ends in a Python traceback."""
    try:
        _run(sys.argv[1:])
    except SystemExit as done:
        teardown.exit_now_if_disposable(done.code)
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # e.g. `iscsiprf mof header x.mof | head`
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # a bug: say so in one line, with what to report
        print(f"iscsiprf: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("iscsiprf: please report this with the command line that caused it", file=sys.stderr)
        sys.exit(70)


def _run(argv: list[str]) -> None:
    from .mof_check import run_plain

    status = run_plain(argv)
    if status is not None:
        sys.exit(status)
    from .app import cli

    cli(prog_name="iscsiprf", standalone_mode=True)
