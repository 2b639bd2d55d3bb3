"""--backend ray against a cluster of its own (`ray start --head`, as a team runs one) with app.py in
processes of its own: a front end started before its cluster serves its page and says the cluster cannot
be reached; once the cluster is up, its next call reaches it; a second front end, started after the first
stopped, finds the model still loaded and answers without loading it again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.launch import ROOT, assert_plain_sentence, free_port, wait_http_200, wait_until

RAY = Path(sys.executable).with_name("ray")


def start_cluster(port: int) -> subprocess.Popen:
    """A Ray head node in the foreground (--block), so stopping this process stops it and nothing else
    (`ray stop` would stop every Ray instance on the machine)."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen([str(RAY), "start", "--head", "--block", f"--port={port}", "--num-cpus=4",
                             "--include-dashboard=false", "--node-ip-address=127.0.0.1", "--disable-usage-stats"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def start_front_end(config: Path, address: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "app.py", "--backend", "ray", "--ray-address", address, "--config",
                                str(config), "--port", str(port), "--no-mcp"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    wait_http_200(url, 90, proc=process)
    return process, url


def stop(process: subprocess.Popen) -> None:
    with contextlib_suppress():
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib_suppress():
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def contextlib_suppress() -> Any:
    import contextlib

    return contextlib.suppress(ProcessLookupError)


def test_a_front_end_waits_for_its_cluster_and_a_restart_keeps_the_models(tiny_models: Any, tmp_path: Path) -> None:
    model = tiny_models["sentiment"]
    config = tmp_path / "catalog.yaml"
    config.write_text(yaml.safe_dump({"sentiment": [{"id": model, "label": "tiny sentiment"}]}))
    port = free_port()
    address = f"127.0.0.1:{port}"
    cluster = None
    first, url = start_front_end(config, address)
    try:
        client = Client(url, verbose=False)
        with pytest.raises(AppError) as raised:
            client.predict(text="I love this film", model=model, api_name="/sentiment")
        assert "cannot be reached" in str(raised.value)
        assert_plain_sentence(str(raised.value))
        cluster = start_cluster(port)
        assert wait_until(lambda: _answers(client, model), timeout=90), "the front end did not reach the cluster"
        answer = client.predict(text="I love this film", model=model, api_name="/sentiment")
        assert answer["label"] == "POSITIVE"
        loaded = client.predict(api_name="/models")
        assert [r["model"] for r in loaded] == [model]
        stop(first)
        second, url = start_front_end(config, address)
        try:
            client = Client(url, verbose=False)
            assert wait_until(lambda: client.predict(api_name="/models"), timeout=60)
            again = client.predict(api_name="/models")
            assert [(r["model"], r["loaded_at"]) for r in again] == [(r["model"], r["loaded_at"]) for r in loaded]
            assert client.predict(text="I love this film", model=model, api_name="/sentiment") == answer
        finally:
            stop(second)
    finally:
        stop(first)
        if cluster is not None:
            stop(cluster)


def _answers(client: Client, model: str) -> bool:
    try:
        client.predict(text="I love this film", model=model, api_name="/sentiment")
        return True
    except AppError:
        time.sleep(1)
        return False
