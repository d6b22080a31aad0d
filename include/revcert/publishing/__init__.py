"""Publishing: certified figures into `viz`, the only layer people and the API read."""
