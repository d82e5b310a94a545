"""ocigate: an OpenAI-compatible gateway in front of Oracle Cloud Generative AI."""

__version__ = "0.1.0"
