"""The development stack: what ``ledgergate up`` and ``ledgergate demo`` run.

``supervisor`` starts broker, worker(s), ledger service and proxy as child processes;
``demo`` drives scripted traffic through them; ``fakeupstream`` is the local fake
OpenAI-compatible upstream. Only the CLI (and tests) import this package.
"""
