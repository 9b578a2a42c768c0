"""WMI status codes (NTSTATUS values) and the exception that carries one.

The broker's request API answers with a status, as the kernel WMI interfaces do; the consumer
convenience API (``Broker.enumerate`` and friends) raises :class:`WmiStatusError` instead, so a
caller can still tell *which* WMI failure happened from ``err.status``.
"""

from __future__ import annotations

from enum import IntEnum


class NtStatus(IntEnum):
    """The NTSTATUS values WMI data providers and consumers deal in (``ntstatus.h``)."""

    SUCCESS = 0x00000000
    INVALID_PARAMETER = 0xC000000D
    INVALID_DEVICE_REQUEST = 0xC0000010
    BUFFER_TOO_SMALL = 0xC0000023
    IO_TIMEOUT = 0xC00000B5
    WMI_GUID_NOT_FOUND = 0xC0000295
    WMI_INSTANCE_NOT_FOUND = 0xC0000296
    WMI_ITEMID_NOT_FOUND = 0xC0000297
    WMI_TRY_AGAIN = 0xC0000298
    WMI_READ_ONLY = 0xC00002C6
    WMI_SET_FAILURE = 0xC00002C7
    WMI_NOT_SUPPORTED = 0xC00002DD

    @property
    def symbol(self) -> str:
        """The ``ntstatus.h`` spelling, e.g. ``STATUS_WMI_GUID_NOT_FOUND``."""
        return f"STATUS_{self.name}"

    def __str__(self) -> str:
        return f"{self.symbol} (0x{self.value:08X})"


# Module-level aliases with the names drivers use.
STATUS_SUCCESS = NtStatus.SUCCESS
STATUS_INVALID_PARAMETER = NtStatus.INVALID_PARAMETER
STATUS_INVALID_DEVICE_REQUEST = NtStatus.INVALID_DEVICE_REQUEST
STATUS_BUFFER_TOO_SMALL = NtStatus.BUFFER_TOO_SMALL
STATUS_IO_TIMEOUT = NtStatus.IO_TIMEOUT
STATUS_WMI_GUID_NOT_FOUND = NtStatus.WMI_GUID_NOT_FOUND
STATUS_WMI_INSTANCE_NOT_FOUND = NtStatus.WMI_INSTANCE_NOT_FOUND
STATUS_WMI_ITEMID_NOT_FOUND = NtStatus.WMI_ITEMID_NOT_FOUND
STATUS_WMI_TRY_AGAIN = NtStatus.WMI_TRY_AGAIN
STATUS_WMI_READ_ONLY = NtStatus.WMI_READ_ONLY
STATUS_WMI_SET_FAILURE = NtStatus.WMI_SET_FAILURE
STATUS_WMI_NOT_SUPPORTED = NtStatus.WMI_NOT_SUPPORTED


def is_error(status: int) -> bool:
    """NTSTATUS severity bits 11 (0xC...) mean error."""
    return (status >> 30) == 3


class WmiStatusError(Exception):
    """A WMI request failed with ``status``; ``message`` says what was asked for."""

    def __init__(self, status: NtStatus, message: str) -> None:
        super().__init__(f"{message} ({status.symbol})")
        self.status = status
        self.message = message
