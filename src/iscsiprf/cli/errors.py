"""How every command reports a user error: one line on stderr and a non-zero exit status."""

from __future__ import annotations

from typing import IO, Any, NoReturn

import click


class UserError(click.ClickException):
    """`iscsiprf: error: MESSAGE`, or the message as is when it already names its place
    (`path:line:col: error: ...`); exit status 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        text = self.message if ": error: " in self.message else f"iscsiprf: error: {self.message}"
        click.echo(text, err=True)


class BadInvocation(UserError):
    """A user error in how the command was called (options, sources): exit status 2."""

    exit_code = 2


def fail(message: str, exit_code: int = 1) -> NoReturn:
    raise (BadInvocation if exit_code == 2 else UserError)(message)


def fail_query(line: int, col: int, message: str) -> NoReturn:
    """A WQL given on the command line is an input: `<query>:LINE:COL: error: ...`, exit 1."""
    fail(f"<query>:{line}:{col}: error: {message}")
