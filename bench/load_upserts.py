#!/usr/bin/env python3
"""Create customers the way ERP does, through the service's command socket:
customer.upsert commands (with ERP-owned tax ids) in apply_batch requests.

  load_upserts.py ENDPOINT FILE.jsonl [BATCH]

FILE holds one customer.upsert data object a line (gen_data.py upserts).
cmd_ids are derived from the line, so a rerun changes nothing.
"""
import json
import sys
import uuid

import zmq

NS = uuid.UUID("5d6f3b7e-0c1a-4f0e-9d55-6b2f6a1e7c10")


def main():
    endpoint, path = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 120000)
    sock.connect(endpoint)
    done = 0
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    for start in range(0, len(lines), batch):
        commands = []
        for line in lines[start:start + batch]:
            data = json.loads(line)
            commands.append({"cmd_id": str(uuid.uuid5(NS, data["erp_id"])),
                             "type": "customer.upsert", "data": data})
        sock.send_multipart([b"", json.dumps({"op": "apply_batch", "commands": commands}).encode()])
        frames = sock.recv_multipart()
        reply = json.loads(frames[-1])
        bad = [r for r in reply.get("replies", []) if not r or r.get("status") != "ok"]
        if reply.get("op") != "batch_reply" or bad:
            sys.exit("load_upserts: batch at line %d failed: %s" % (start, (bad or [reply])[0]))
        done += len(commands)
    print("upserted %d" % done)
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
