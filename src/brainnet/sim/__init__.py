"""Networks and agents that drive the real stack: the in-process demo network lives here."""
