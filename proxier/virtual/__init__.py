"""Virtual CWMP Devices (TR-069 Annex J): registry, lifecycle and per-device state."""
