"""Status: `report` holds the desired statuses translation produces (leaf module, imported by
translate); writers that apply them live beside it."""
