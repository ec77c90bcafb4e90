"""Prints a group's committed offsets as kafka-python's admin client reads them (OffsetFetch),
one JSON object {"topic:partition": offset}, so tests check strom's offset changes with a client
that is not strom's.

Usage: committed.py HOST:PORT GROUP
"""

import json
import sys

from kafka import KafkaAdminClient

admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=10000)
offsets = admin.list_consumer_group_offsets(sys.argv[2])
print(json.dumps({f"{tp.topic}:{tp.partition}": meta.offset for tp, meta in offsets.items()}, sort_keys=True))
admin.close()
