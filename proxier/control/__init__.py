"""Operator control of a running proxier: activity log, device actions, API auth, metrics."""
