"""The adversarial and faulty submissions (filled in below)."""
CHEATS = {}
