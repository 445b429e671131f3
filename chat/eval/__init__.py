"""The evaluation harness: run reference questions (`run`), judge and summarize them (`metrics`),
present the results (`report`). It uses the answering code in `chat`; nothing there imports it.
"""
