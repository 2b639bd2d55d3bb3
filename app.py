"""Start the playground: parse flags, load the catalog, build the UI, launch.

Imports no torch: the page is served before any model library loads.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from models import TASKS, Availability, InvalidInput, ModelManager, PlaygroundError, load_catalog

SUMMARY = ", ".join(task.summary for task in TASKS.values())
PRESETS = Path(__file__).resolve().parent / "catalogs"  # --catalog NAME is catalogs/NAME.yaml


def presets() -> list[str]:
    """The catalog presets shipped with the app (--catalog NAME): the YAML files in catalogs/."""
    return sorted(path.stem for path in PRESETS.glob("*.yaml"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description=f"A browser playground for open models: {SUMMARY}.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 to accept other machines; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="port to listen on (default 7860)")
    parser.add_argument("--share", action="store_true", help="also create a public gradio.live link")
    parser.add_argument("--auth", action="append", metavar="USER:PASS", default=[],
                        help="require this user name and password for the page and the API (repeatable; "
                             "or the path of a file with one USER:PASS a line)")
    parser.add_argument("--api-key", action="append", metavar="KEY", default=[], dest="api_keys",
                        help="require this key (Authorization: Bearer KEY) for the OpenAI-compatible API at /v1 "
                             "(repeatable; or the path of a file with one key a line); with --auth and no key, "
                             "/v1 is closed")
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="YAML catalog of models per task (default: $PLAYGROUND_CONFIG or the built-in list)")
    parser.add_argument("--catalog", metavar="NAME", default=None,
                        help=f"a catalog shipped with the app, read as --config reads catalogs/NAME.yaml; presets: "
                             f"{', '.join(presets()) or 'none'} (zh: models that read Chinese, with Chinese examples); "
                             "not with --config")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where models run (default: CUDA, then Apple MPS, then CPU)")
    parser.add_argument("--max-loaded-models", type=int, default=len(TASKS), metavar="N",
                        help="keep at most N models loaded; the least recently used is unloaded "
                             f"(default {len(TASKS)}: one per task, about 8 GB with the default models on CPU)")
    parser.add_argument("--preload", nargs="*", default=[], metavar="TASK",
                        help=f"load these tasks' default models before serving ({', '.join(TASKS)})")
    parser.add_argument("--download", nargs="*", metavar="TASK", default=None,
                        help="download the catalog's models of these tasks (all when none is named) into the "
                             "Hugging Face cache for offline use, then exit")
    parser.add_argument("--hosted", action="store_true", default=bool(os.environ.get("SPACE_ID")),
                        help="public hosting: only the catalog's models can be picked (on by default on Spaces)")
    parser.add_argument("--allow-training", action="store_true",
                        help="offer the Fine-tune tab and /fine_tune when --hosted (always offered otherwise)")
    parser.add_argument("--data-dir", metavar="PATH",
                        default=os.environ.get("PLAYGROUND_DATA_DIR", "~/.cache/model-playground"),
                        help="where fine-tuned models are saved (in fine-tuned/); default %(default)s")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="also load weights stored as pickle (.bin), which can run code; off by default")
    parser.add_argument("--concurrency", type=int, default=2, metavar="N",
                        help="unbatched model calls that run at once, all tabs together (default 2); batched "
                             "classification requests have their own pool of twice --max-batch-size")
    parser.add_argument("--max-batch-size", type=int, default=16, metavar="N",
                        help="classification requests for one model that arrive together run as one batch of up to N (default 16)")
    parser.add_argument("--no-mcp", action="store_true",
                        help="do not serve the MCP server (every tab as a tool for agents, at /gradio_api/mcp/); "
                             "with --auth it needs --api-key (agents send Authorization: Bearer KEY), else it is off")
    parser.add_argument("--backend", choices=["in-process", "ray"], default="in-process",
                        help="where models run: in this process (default), or on Ray Serve deployments, one per "
                             "task family (text, generation, vision, clip, diffusion), sized by the catalog "
                             "file's serving: section; needs requirements-ray.txt")
    parser.add_argument("--ray-address", metavar="ADDRESS", default=os.environ.get("RAY_ADDRESS") or "local",
                        help="with --backend ray: local (default: start Ray on this machine, stopped with the "
                             "app), auto (the cluster this machine belongs to), host:port or ray://host:10001")
    parser.add_argument("--ray-replicas", metavar="N|MIN-MAX", default=None,
                        help="with --backend ray: replicas of each deployment (default 1; MIN-MAX autoscales on "
                             "the requests each runs, MIN 0 scales to zero); serving: in the catalog file "
                             "sets them per family")
    parser.add_argument("--no-batching", action="store_true",
                        help="run classification requests one by one instead of batching those that arrive together")
    return parser.parse_args(argv)


def catalog_path(args: argparse.Namespace) -> str | None:
    """The catalog file the flags choose: --catalog NAME's preset, or --config PATH, or $PLAYGROUND_CONFIG;
    None for the built-in catalog. --catalog with --config is refused rather than one silently winning: each
    replaces the same task lists, so one of them would be ignored (an explicit --catalog does beat
    $PLAYGROUND_CONFIG, a default from the environment)."""
    if args.catalog is None:
        return args.config or os.environ.get("PLAYGROUND_CONFIG") or None
    if args.config:
        raise InvalidInput("--catalog and --config each choose the catalog; give one of them (to change a preset, "
                           f"copy catalogs/{args.catalog}.yaml, edit it and pass it with --config).")
    names = presets()
    if args.catalog not in names:
        shown = args.catalog if len(args.catalog) <= 40 else args.catalog[:40] + "…"
        raise InvalidInput(f"There is no catalog preset {shown!r}; the presets are: {', '.join(names) or 'none'}.")
    return str(PRESETS / f"{args.catalog}.yaml")


def entries_of(values: list[str]) -> list[str]:
    """A repeatable flag's values: each a value, or the path of a file of one a line (blank lines and
    # comments skipped)."""
    entries: list[str] = []
    for value in values:
        if os.path.isfile(value):
            with open(value) as f:
                entries += [line.strip() for line in f if line.strip() and not line.startswith("#")]
        else:
            entries.append(value)
    return entries


def parse_auth(values: list[str]) -> list[tuple[str, str]] | None:
    users = []
    for pair in entries_of(values):
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise InvalidInput("--auth takes USER:PASS (or a file of such lines); one entry has no ':' or an empty part.")
        users.append((user, password))
    return users or None


def parse_api_keys(values: list[str]) -> tuple[str, ...]:
    """--api-key values: keys, or files of one key a line."""
    keys = [key.strip() for key in entries_of(values)]
    if any(not key or any(ch.isspace() or not ch.isprintable() for ch in key) for key in keys):
        raise InvalidInput("--api-key takes a key without spaces (or a file of such keys); one is empty or has spaces.")
    return tuple(keys)


def zero_gpu() -> bool:
    """On a ZeroGPU Space: the spaces package is there and SPACES_ZERO_GPU is set."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = logging.getLogger("playground")  # what the server can get, and what went wrong, in the console
    if not console.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        console.addHandler(handler)
        console.setLevel(logging.INFO)
        console.propagate = False
    on_zero_gpu = zero_gpu()
    if on_zero_gpu:
        import spaces  # noqa: F401 - must come before torch, which it patches
    try:
        catalog = load_catalog(catalog_path(args))
        if args.download is not None:
            from models.download import download

            results = download(catalog, args.download)
            return 0 if all(r["ok"] for r in results) else 1
        auth = parse_auth(args.auth)
        api_keys = parse_api_keys(args.api_keys)
        allow_custom = not args.hosted or os.environ.get("ALLOW_CUSTOM_MODELS") == "1"
        availability = Availability(catalog)  # the Hub and the cache, checked once the page is built
        if args.backend == "ray":
            from models.cluster import ClusterManager, parse_serving

            serving = parse_serving(catalog.serving, replicas=args.ray_replicas, source=catalog.source,
                                    max_batch_size=1 if args.no_batching else args.max_batch_size)
            manager: Any = ClusterManager(catalog, address=args.ray_address, serving=serving, device=args.device,
                                          allow_custom=allow_custom, allow_pickle=args.allow_pickle)
            manager.start()  # Ray and the deployments in the background: the page is served meanwhile
            print(f"Serving the models on Ray Serve ({args.ray_address}); the first call waits for it.", flush=True)
        else:
            manager = ModelManager(catalog, device="cpu" if on_zero_gpu else args.device,
                                   dtype="bfloat16" if on_zero_gpu else None, max_loaded=args.max_loaded_models,
                                   allow_custom=allow_custom, allow_pickle=args.allow_pickle,
                                   max_batch_size=1 if args.no_batching else args.max_batch_size,
                                   availability=availability)
        for task in args.preload:
            print(f"Loading the {task} model…", flush=True)
            manager.preload([task])
    except PlaygroundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from components import Settings, build_demo  # gradio, not torch

    if auth and not api_keys and not args.no_mcp:
        console.warning("The MCP server is off: behind --auth it needs --api-key KEY (agents send it as "
                        "Authorization: Bearer KEY).")
    settings = Settings(allow_custom_models=allow_custom, concurrency_limit=args.concurrency, hosted=args.hosted,
                        zero_gpu=on_zero_gpu, mcp_server=not args.no_mcp, api_keys=api_keys,
                        allow_training=not args.hosted or args.allow_training, data_dir=args.data_dir)
    demo = build_demo(catalog, manager, settings, availability)
    availability.start()  # in the background: says in the console what the server can get
    start(demo, settings, auth, server_name=args.host, server_port=args.port, share=args.share)
    say_mcp_state(demo, settings)
    if args.share:
        if demo.share_url:
            print(f"Public link: {demo.share_url}", flush=True)
        else:
            print(f"No public link could be made (is this machine offline?); the app keeps running at "
                  f"{demo.local_url}", flush=True)
    try:
        demo.block_thread()
    finally:
        if hasattr(manager, "close"):
            manager.close()  # a local Ray instance stops with the app
    return 0


def say_mcp_state(demo: Any, settings: Any) -> bool:
    """Gradio starts its MCP server inside launch() and, when that fails (an `mcp` package it was not
    written for, as mcp 2.x with Gradio 6.31), only prints a line in a non-quiet launch and serves on
    without it. Say it in the log either way; True when it runs as asked."""
    log = logging.getLogger("playground")
    if not settings.mcp_server:
        return True
    if getattr(demo, "mcp_server", False) and getattr(demo, "mcp_server_obj", None) is not None:
        key = " (behind the login: agents send Authorization: Bearer KEY, a --api-key)" if settings.login_required else ""
        log.info("MCP server: %sgradio_api/mcp/ (every tab as a tool; --no-mcp turns it off)%s",
                 demo.local_url or "/", key)
        return True
    log.warning("The MCP server did not start: %s", getattr(demo, "mcp_error", None) or "no reason given by Gradio")
    return False


def start(demo: Any, settings: Any, users: list[tuple[str, str]] | None, **options: Any) -> None:
    """demo.launch() as every start does, the tests' included: the shared options (launch_options), the
    login (--auth) as a function that also knows the MCP server's service account, and the MCP server
    then given a client logged in with it (components/access.py)."""
    from components.access import Login, let_mcp_in

    settings.login_required = bool(users)
    settings.mcp_server = settings.mcp_server and (not users or bool(settings.api_keys))  # a key to ask agents for
    login = Login(users) if users else None
    demo.launch(auth=login, prevent_thread_lock=True, **options, **launch_options(settings, demo))
    if login is not None and settings.mcp_server:
        let_mcp_in(demo, login)


def launch_options(settings: Any, demo: Any = None) -> dict:
    """What every launch shares, tests included: upload limit, the only extra folder served, the theme
    and the page's style, how many sessions Gradio keeps (components/serving.py), and with the demo
    build_demo made, the OpenAI-compatible API's routes and key guard (components/openai_api.py:
    Gradio takes them only as FastAPI's arguments, at launch)."""
    import gradio as gr

    from starlette.middleware import Middleware

    from components import CSS, openai_api
    from components.language import PageLanguage
    from components.serving import SESSION_CAPACITY
    from components.words import I18N

    options = {"max_file_size": "20mb", "allowed_paths": [os.path.abspath(settings.examples_dir)],
               "theme": gr.themes.Soft(), "css": CSS, "head": IMAGES_FROM_THE_APP_ONLY, "show_error": False,
               "state_session_capacity": SESSION_CAPACITY, "mcp_server": settings.mcp_server,
               "ssr_mode": False}  # the page from this server, so its language script goes first (components/language.py)
    if demo is not None:
        options["app_kwargs"] = openai_api.app_kwargs(demo)
        # the page's language, mapped before Gradio's own script reads it (components/language.py)
        options["app_kwargs"].setdefault("middleware", []).append(Middleware(PageLanguage))
    options["i18n"] = I18N  # the page's fixed words in English and Chinese (components/words.py)
    return options


# Generated text is drawn as Markdown: an image link in it (a model can be prompted to write one) would
# make each visitor's browser fetch it from any host. The page takes images from the app only.
IMAGES_FROM_THE_APP_ONLY = """<meta http-equiv="Content-Security-Policy" content="img-src 'self' data: blob:">"""


if __name__ == "__main__":
    sys.exit(main())
