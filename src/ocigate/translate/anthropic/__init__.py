"""translate.anthropic: the Messages API over Chat Completions."""
