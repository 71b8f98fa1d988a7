"""Wire codecs and listen state machines: pure functions and classes, no I/O."""
