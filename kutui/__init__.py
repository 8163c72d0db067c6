"""kutui: a terminal app that keeps many KuCoin API keys safe, checked and rotated."""

__version__ = "0.1.0"
