"""data_catalog: the data layer (describe, read, check, align, write)."""
