"""proxier: a TR-069 CPE Proxier for UPnP Device Management devices (BBF TR-330)."""

__version__ = "0.1.0"
