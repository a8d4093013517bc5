"""What every module stands on. `core` imports no feature module."""
