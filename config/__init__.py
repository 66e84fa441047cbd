"""Settings read from the environment, with embedded defaults."""

from config.settings import ConfigError, OidcProvider, Settings

__all__ = ["ConfigError", "OidcProvider", "Settings"]
