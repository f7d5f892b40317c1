"""Sekoia.io playbook module that creates Cortex XSOAR incidents from Sekoia.io alerts."""

import gc
import sys
from pathlib import Path

# A block's process (`python ./main.py <block>`, one per block on the platform) imports the SDK and every item, about
# a thousand modules, before it runs: the cyclic garbage collector's passes over them cost 40 to 50 ms of CPU and free
# nothing (modules live until exit). It is paused for those imports and resumed when the module is built (`resume_gc`).
GC_PAUSED_FOR_IMPORTS = gc.isenabled() and Path(sys.argv[0] if sys.argv else "").name == "main.py"
if GC_PAUSED_FOR_IMPORTS:
    gc.disable()


def resume_gc() -> None:
    """Once the imports are done: the collector runs again, over what is allocated from now on only (`gc.freeze`
    moves the imported objects out of its reach, so that its next passes stay short)."""
    global GC_PAUSED_FOR_IMPORTS
    if GC_PAUSED_FOR_IMPORTS:
        GC_PAUSED_FOR_IMPORTS = False
        gc.freeze()
        gc.enable()
