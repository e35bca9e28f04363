"""The `vetted` command, packaged as a wheel: the scanner is the native binary installed beside
this package (``vetted`` on PATH); this package only makes ``python -m vetted`` find it."""
