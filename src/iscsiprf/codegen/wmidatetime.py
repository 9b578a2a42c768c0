"""CIM datetime text (25 characters) <-> Python values.

`yyyymmddhhmmss.mmmmmmsUUU`: an absolute time with the UTC offset in minutes after the sign;
`ddddddddhhmmss.mmmmmm:000`: an interval. `*` marks a field that is not used; such values stay
text, as they name no single point in time.
"""

from __future__ import annotations

import datetime as dt

CIM_DATETIME_LEN = 25


class DatetimeFormatError(ValueError):
    pass


def format_cim_datetime(value: dt.datetime | dt.timedelta | str) -> str:
    if isinstance(value, str):
        if len(value) != CIM_DATETIME_LEN:
            raise DatetimeFormatError(
                f"a CIM datetime has {CIM_DATETIME_LEN} characters, got {len(value)}: {value!r}"
            )
        return value
    if isinstance(value, dt.timedelta):
        if value < dt.timedelta(0):
            raise DatetimeFormatError("a CIM interval cannot be negative")
        days = value.days
        if days > 99_999_999:
            raise DatetimeFormatError("a CIM interval holds at most 99999999 days")
        secs = value.seconds
        return (
            f"{days:08d}{secs // 3600:02d}{secs % 3600 // 60:02d}{secs % 60:02d}"
            f".{value.microseconds:06d}:000"
        )
    if isinstance(value, dt.datetime):
        off = value.utcoffset()
        minutes = 0 if off is None else int(off.total_seconds() // 60)
        if off is not None and off.total_seconds() % 60:
            raise DatetimeFormatError("a CIM datetime offset is a whole number of minutes")
        if abs(minutes) > 999:
            raise DatetimeFormatError("a CIM datetime offset is at most 999 minutes")
        sign = "-" if minutes < 0 else "+"
        return (
            f"{value.year:04d}{value.month:02d}{value.day:02d}"
            f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
            f".{value.microsecond:06d}{sign}{abs(minutes):03d}"
        )
    raise DatetimeFormatError(f"not a datetime, timedelta or CIM datetime string: {value!r}")


def parse_cim_datetime(text: str) -> dt.datetime | dt.timedelta | str:
    """The Python value of CIM datetime text; text with wildcards or odd shape is returned as is."""
    if len(text) != CIM_DATETIME_LEN or text[14] != ".":
        return text
    digits = text[:14] + text[15:21] + text[22:]
    if not digits.isascii() or not digits.isdigit():
        return text
    try:
        if text[21] == ":":
            return dt.timedelta(
                days=int(text[0:8]),
                hours=int(text[8:10]),
                minutes=int(text[10:12]),
                seconds=int(text[12:14]),
                microseconds=int(text[15:21]),
            )
        if text[21] not in "+-":
            return text
        minutes = int(text[22:25]) * (-1 if text[21] == "-" else 1)
        tz = dt.timezone(dt.timedelta(minutes=minutes))
        return dt.datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            int(text[15:21]),
            tzinfo=tz,
        )
    except ValueError:
        return text
