"""Local tooling: simulated Sekoia.io and Cortex XSOAR servers, a Symphony stand-in and a playbook runner.

Nothing here runs inside Sekoia.io; `xsoar_module` never imports this package.
"""
