"""Hardware drivers: real devices and their simulated twins."""
