"""Local tooling, by purpose: `lab.doubles` (simulated Sekoia.io and Cortex XSOAR, the Symphony stand-in) and
`lab.tools` (the demo, playbook runs, their history, checks and migration: `python -m lab`).

Nothing here runs inside Sekoia.io; `xsoar_module` never imports this package.
"""
