"""Test doubles: the simulated Sekoia.io (`sekoia`) and Cortex XSOAR (`xsoar`), the Symphony stand-in (`symphony`),
and what they share: the local HTTP server (`server`) and the scripted faults they can serve (`faults`)."""
