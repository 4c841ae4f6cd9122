"""Make the generated protobuf modules import each other as ``sync.wire.gen.vetsync.v1``.

grpc_tools writes ``from vetsync.v1 import sync_pb2``; our generated package
lives under ``sync/wire/gen``. Run by ``make proto`` after protoc.
"""

import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent / "sync" / "wire" / "gen"
for path in root.rglob("*.py"):
    text = path.read_text()
    fixed = re.sub(r"^from vetsync\.v1 import", "from sync.wire.gen.vetsync.v1 import", text, flags=re.M)
    if fixed != text:
        path.write_text(fixed)
for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
    (folder / "__init__.py").touch()
