"""The soak harnesses (many alerts through the chain, the sync under changes on both sides) and measuring helpers."""
