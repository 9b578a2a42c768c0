"""iscsiprf: the WMI system around MSiSCSI_MMIPSECStats, on Linux."""

__version__ = "0.1.0"
