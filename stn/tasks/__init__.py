"""LightningModules and their visualisations."""
