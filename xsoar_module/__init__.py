"""Sekoia.io playbook module that creates Cortex XSOAR incidents from Sekoia.io alerts."""
