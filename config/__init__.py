"""Settings read from the environment, with embedded defaults."""

from config.settings import ConfigError, Settings

__all__ = ["ConfigError", "Settings"]
