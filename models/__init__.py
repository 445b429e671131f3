"""The embedder and the LLM behind small interfaces, plus fakes for tests.

`models` knows nothing of chunks, passages or prompts: it turns text into vectors and
messages into tokens.
"""
