"""The contract: the bundled spec and its index, vendor profiles, findings, origins and quoting.

The bottom of the house: imports nothing of remixcheck but `errors`."""
