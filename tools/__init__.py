"""Developer tools that are not part of the installed package (parity checks, launchers)."""
