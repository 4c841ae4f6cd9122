"""Generated protobuf code is current, and the packages keep their layers."""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_protobuf_code_is_not_stale():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}",
             f"--pyi_out={out}", f"--grpc_python_out={out}", str(ROOT / "proto/vetsync/v1/sync.proto")],
            check=True,
        )
        for name in ("sync_pb2.py", "sync_pb2.pyi", "sync_pb2_grpc.py"):
            fresh = (Path(out) / "vetsync/v1" / name).read_text()
            fresh = fresh.replace("from vetsync.v1 import", "from sync.wire.gen.vetsync.v1 import")
            committed = (ROOT / "sync/wire/gen/vetsync/v1" / name).read_text()
            assert fresh == committed, f"sync/wire/gen/vetsync/v1/{name} is stale: run `make proto`"


def _imports_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return set(out.split())


def test_pure_engine_modules_pull_in_neither_grpc_nor_sqlite():
    for module in ("sync.engine.hlc", "sync.engine.merge", "sync.engine.rowstate", "sync.engine.scope", "sync.engine.defaults", "sync.engine.limits", "veterans.values",
                   "veterans.petition", "sync.engine.schema"):
        loaded = _imports_after(module)
        assert "grpc" not in loaded and "sqlite3" not in loaded, module


def test_the_engine_knows_nothing_of_servers_certificates_or_cli():
    for module in ("sync.store.station", "sync.store.hub", "sync.engine.replicate", "sync.engine.merge"):
        loaded = _imports_after(module)
        # (click arrives through sqlite-utils itself; what matters is our own layers)
        assert not {"county_hub", "station_node", "cryptography", "vetsync_cli"} & loaded, module
