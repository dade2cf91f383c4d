"""The paper's networks, one file per family."""
