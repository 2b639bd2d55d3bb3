"""The state one `python -m benchmarks.run` shares between benchmarks: mode, work folder, servers."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import common, models


def row(measure: str, app: str = "-", baseline: str = "-", compare: str = "-", goal: str = "",
        verdict: str = "", **values: Any) -> dict[str, Any]:
    """One line of the results table; `values` keeps the raw numbers for latest.json."""
    return {"measure": measure, "app": app, "baseline": baseline, "compare": compare, "goal": goal,
            "verdict": verdict, "values": values}


def main_catalog() -> dict[str, Any]:
    """The catalog the API benchmarks' servers serve (other tasks keep the built-in Hub ids, unused)."""
    effnet = common.efficientnet()
    return {
        "sentiment": [{"id": common.tiny("sentiment"), "label": "tiny sentiment"},
                      {"id": models.bert(), "label": "bert-4x256"},
                      {"id": models.distilbert(), "label": "distilbert-6x768"}],
        "image-classification": [{"id": common.tiny("vit"), "label": "tiny vit"}]
        + ([{"id": effnet, "label": "efficientnet_lite0"}] if effnet else []),
        "text-generation": [{"id": models.gpt2(), "label": "gpt2-6x256"},
                            {"id": common.tiny("gpt2"), "label": "tiny gpt2"}],
        "text-to-image": [{"id": common.tiny("diffusion"), "label": "tiny diffusion"}],
    }


# name -> (app flags, YIELD_EVERY override)
SERVERS: dict[str, tuple[list[str], float | None]] = {
    "main": ([], None),                       # as shipped: batching on (max batch 16), updates every 0.05 s
    "nobatch": (["--no-batching"], None),     # ModelManager(max_batch_size=1)
    "stream": ([], None),                     # as shipped, fresh: only the streaming benchmark uses it
    "pertoken": ([], 0.0),                    # one streamed update per token
}


@dataclass
class Context:
    quick: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="playground-bench-")))
    servers: dict[str, common.Server] = field(default_factory=dict)

    def server(self, name: str) -> common.Server:
        if name not in self.servers:
            flags, yield_every = SERVERS[name]
            print(f"  (starting server {name}…)", flush=True)
            self.servers[name] = common.start_server(name, main_catalog(), self.workdir, app_args=flags,
                                                     yield_every=yield_every)
        return self.servers[name]

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.servers.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
