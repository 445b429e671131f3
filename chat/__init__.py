"""Question -> passages -> prompt -> streamed answer with verified citations.

The CLI, the web UI and the evaluation harness are thin shells over `chat.ask`.
"""
