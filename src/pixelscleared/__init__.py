"""PixelsCleared: a sidecar reverse proxy that scrubs first-party tracking calls and mirrors
them, consent-checked, to the TikTok Events API."""

__version__ = "0.1.0"
