"""Recorded human facts: incidents, notifications, overrides and route suspensions.

A human fact is a ``GovernanceEvent`` (schemas/avro/GovernanceEvent.avsc)
published by the CLI with the caller's verified identity on the
``<prefix>.governance`` topic. The ledger service records each one as its own
signed record (kind ``governance``); workers read overrides and every proxy
reads suspensions from the same topic, so both take effect without a restart.

Everything here is pure: building and checking events (:mod:`.facts`),
folding them into the state workers and proxies act on (:mod:`.state`) and the
keyed request hash overrides are matched by. The loops that read the topic
live with the processes that use them (``streams/overrides.py``,
``proxy/suspensions.py``).
"""
