"""The module's version, kept equal to manifest.json's and CHANGELOG.md's newest entry (a test checks)."""

MODULE_VERSION = "0.4.0"
USER_AGENT = f"sekoiaio-cortex-xsoar-module/{MODULE_VERSION}"
