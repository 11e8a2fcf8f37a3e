"""Pure course logic: no I/O, no framework imports; time is always passed in."""
