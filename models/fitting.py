"""The controls fitted to a model before it loads: read from its small JSON config files only.

`fitted(spec)` gives, for each declared parameter of the spec's task that depends on the model,
the value and limits its control starts from: maximum new tokens from the context window, image
sizes from the model's native size, steps and guidance from its scheduler, top-k from the label
count or the vocabulary. The files are read from a local folder, or for a Hub id from the Hugging
Face cache (never the network); what cannot be read falls back to the declaration
(models/tasks.py) and the catalog's per-model `defaults`. It never raises.

The numbers a loaded model gives are computed by the same functions here: `context_window` (the
transformers adapters' `context_length`, models/hf.py) and `side_of` / `image_defaults` (the
text-to-image adapter's `defaults()`, models/diffusion.py), so the page before a load and the
adapter after it agree. No torch, transformers or diffusers here: the page stays light.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .base import ModelSpec
from .loading import is_local, resolve
from .tasks import task as declaration_of

if TYPE_CHECKING:
    from .tasks import Param, Task

# -- the context window (models/hf.py context_length reads the loaded config the same way) ----------
WINDOW_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")
DEFAULT_WINDOW = 2048
TOKENIZER_NO_LIMIT = 1_000_000  # transformers' "no limit" is 1e30; anything this large is not a window
# Names under which some config.json files store max_position_embeddings (transformers' attribute_map:
# DBRX max_seq_len, RWKV context_length); a loaded config answers max_position_embeddings for them.
WINDOW_ALIASES = ("max_seq_len", "context_length")

# -- text to image (models/diffusion.py builds its defaults() with image_defaults) ------------------
MIN_SIDE = 64
MAX_SIDE = 2048
FALLBACK_SIDE = 512     # a denoiser that names no sample size
FALLBACK_VAE_SCALE = 8  # diffusers' vae_scale_factor without a VAE
LCM_STEPS, LCM_GUIDANCE = 4, 1.0  # latent-consistency models: few steps, no guidance
STEPS, GUIDANCE = 25, 7.5
IMAGE_KEYS = ("width", "height", "steps", "guidance_scale")


def context_window(config: Mapping[str, Any], tokenizer_max_length: Any = None) -> int:
    """The most tokens a model reads: the first positive whole number among WINDOW_KEYS, in that order
    (each from the config, then its text_config), else the tokenizer's model_max_length when it is a
    real limit, else 2048."""
    window = config_window(config)
    if window is not None:
        return window
    limit = tokenizer_max_length
    return limit if isinstance(limit, int) and 0 < limit < TOKENIZER_NO_LIMIT else DEFAULT_WINDOW


def config_window(config: Mapping[str, Any]) -> int | None:
    """The window a config states (context_window's first step), or None: then the tokenizer's decides."""
    text = config.get("text_config")
    text = text if isinstance(text, Mapping) else {}
    for name in WINDOW_KEYS:
        value = config.get(name) or text.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None


def side_of(sample: Any, scale: Any) -> int:
    """The image side a model was trained at: its denoiser's sample size (the largest, if a list) times
    the VAE's scale factor, a multiple of 8 within [MIN_SIDE, MAX_SIDE]; FALLBACK_SIDE if unknown."""
    if isinstance(sample, (list, tuple)):
        sample = max(sample, default=None)
    scale = scale or FALLBACK_VAE_SCALE
    if not isinstance(sample, int) or sample <= 0 or not isinstance(scale, (int, float)):
        return FALLBACK_SIDE
    side = int(sample * scale)
    return max(MIN_SIDE, min(MAX_SIDE, side - side % 8))


def image_defaults(native: int, scheduler: str | None, overrides: Mapping[str, Any],
                   declaration: "Task") -> dict[str, Any]:
    """What text to image starts from and allows: size, steps, guidance, negative prompt and scheduler
    (the catalog's `defaults` override these), and the limits (min_side, max_side, max_steps, max_images)."""
    if scheduler == "LCMScheduler":
        steps, guidance = LCM_STEPS, LCM_GUIDANCE
    else:
        steps, guidance = STEPS, GUIDANCE
    defaults: dict[str, Any] = {"width": native, "height": native, "steps": steps, "guidance_scale": guidance,
                                "negative_prompt": "", "scheduler": "default"}
    defaults.update({k: v for k, v in overrides.items() if k in defaults})
    defaults.update({"min_side": MIN_SIDE, "max_side": min(MAX_SIDE, 2 * native),
                     "max_steps": declaration.param("steps").high,
                     "max_images": declaration.param("num_images").high})
    return defaults


# -- reading the files --------------------------------------------------------------------------------
_cache: dict[str, tuple[tuple[int, int], Any]] = {}
_cache_lock = threading.Lock()
_CACHE_ENTRIES = 512


def _read_json(path: Path | None) -> dict[str, Any] | None:
    """A JSON object file's contents, or None if it is missing, unreadable or not an object; re-read
    only when its modification time or size changed."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    key, stamp = str(path), (stat.st_mtime_ns, stat.st_size)
    hit = _cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        data = None
    with _cache_lock:
        if len(_cache) >= _CACHE_ENTRIES:
            _cache.clear()
        _cache[key] = (stamp, data)
    return data


class _Files:
    """A model's small files, from its folder or from the Hub cache, each read at most once."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id.strip() if isinstance(model_id, str) else ""
        self.folder: Path | None = None
        self.hub_id: str | None = None
        if not self.model_id:
            return
        try:
            if is_local(self.model_id):
                folder = Path(self.model_id).expanduser().resolve()
                self.folder = folder if folder.is_dir() else None
            else:
                self.hub_id = resolve(self.model_id)  # refuses what is no Hub id, touches nothing
        except Exception:  # noqa: BLE001 - a bad id, a symlink loop: nothing to read
            self.folder = self.hub_id = None

    def path(self, name: str) -> Path | None:
        if self.folder is not None:
            return self.folder / name
        if self.hub_id is not None:
            try:
                from huggingface_hub import try_to_load_from_cache

                found = try_to_load_from_cache(self.hub_id, name)
            except Exception:  # noqa: BLE001 - an id the cache cannot hold, an unreadable ref
                return None
            return Path(found) if isinstance(found, str) else None
        return None

    def json(self, name: str) -> dict[str, Any] | None:
        return _read_json(self.path(name))


# -- per task -----------------------------------------------------------------------------------------
def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _declared(param: "Param", overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The declaration's value and limits, with the catalog's default as the value (_capped keeps it within)."""
    entry: dict[str, Any] = {"value": overrides.get(param.name, param.default)}
    if param.kind == "number":
        entry.update(minimum=param.low, maximum=param.high)
    return entry


def _capped(entry: dict[str, Any], maximum: Any) -> dict[str, Any]:
    """The entry with its maximum lowered to what the model allows, and its value kept within."""
    if _number(maximum) and maximum >= 1:
        maximum = int(maximum)
        entry["maximum"] = maximum if entry.get("maximum") is None else min(entry["maximum"], maximum)
    value, low, high = entry.get("value"), entry.get("minimum"), entry.get("maximum")
    if _number(value):
        if _number(high):
            value = min(value, high)
        if _number(low):
            value = max(value, low)
        entry["value"] = value
    return entry


def _window(files: _Files) -> int | None:
    config = files.json("config.json")
    if config is None:
        return None
    if not config.get("max_position_embeddings"):
        alias = next((config[k] for k in WINDOW_ALIASES if config.get(k)), None)
        if alias is not None:
            config = {**config, "max_position_embeddings": alias}
    if config_window(config) is None:  # only then does the tokenizer's limit count
        tokenizer = files.json("tokenizer_config.json") or {}
        return context_window(config, tokenizer.get("model_max_length"))
    return context_window(config)


def _label_count(files: _Files) -> int | None:
    config = files.json("config.json")
    if config is None:
        return None
    id2label = config.get("id2label")
    if isinstance(id2label, Mapping) and id2label:
        return len(id2label)
    # A timm folder (transformers' timm_wrapper): num_classes, else its label names.
    for count in (config.get("num_classes"), config.get("num_labels"),
                  (config.get("pretrained_cfg") or {}).get("num_classes")
                  if isinstance(config.get("pretrained_cfg"), Mapping) else None):
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            return count
    names = config.get("label_names")
    return len(names) if isinstance(names, list) and names else None


def _vocab_size(files: _Files) -> int | None:
    config = files.json("config.json") or {}
    text = config.get("text_config")
    value = config.get("vocab_size") or (text.get("vocab_size") if isinstance(text, Mapping) else None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _component(index: Mapping[str, Any], name: str) -> bool:
    """Whether model_index.json names a component (diffusers leaves it None for [null, null])."""
    entry = index.get(name)
    return isinstance(entry, list) and len(entry) == 2 and entry[1] is not None


def _image(files: _Files, overrides: Mapping[str, Any], declaration: "Task") -> dict[str, Any] | None:
    """text to image's defaults() as the loaded pipeline would give them, from model_index.json and the
    denoiser's, VAE's and scheduler's configs; None without model_index.json."""
    index = files.json("model_index.json")
    if index is None:
        return None
    # As diffusers: the unet, else the transformer; the VAE's scale is 2 ** (its blocks - 1).
    denoiser = next((name for name in ("unet", "transformer") if _component(index, name)), None)
    sample = (files.json(f"{denoiser}/config.json") or {}).get("sample_size") if denoiser else None
    scale = None
    if _component(index, "vae"):
        vae = files.json("vae/config.json") or {}
        blocks = vae.get("block_out_channels") or vae.get("encoder_block_out_channels")
        if isinstance(blocks, list) and blocks:
            scale = 2 ** (len(blocks) - 1)
    scheduler = index.get("scheduler")
    if _component(index, "scheduler"):
        scheduler = scheduler[1]
    else:
        scheduler = (files.json("scheduler/scheduler_config.json") or {}).get("_class_name")
    return image_defaults(side_of(sample, scale), scheduler if isinstance(scheduler, str) else None,
                          overrides, declaration)


def fitted(spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """Per declared parameter of spec.task that depends on the model (or that the catalog gives a default
    for): {"value": ..., "minimum": ..., "maximum": ...}, read from the model's config files without
    loading it. A file that is missing or unreadable leaves the declaration's numbers. Never raises."""
    try:
        return _fitted(spec)
    except Exception:  # noqa: BLE001 - fitting a page must never fail it
        try:
            return _fitted(spec, read=False)
        except Exception:  # noqa: BLE001
            return {}


def _fitted(spec: ModelSpec, *, read: bool = True) -> dict[str, dict[str, Any]]:
    declaration = declaration_of(spec.task)
    overrides = spec.defaults if isinstance(spec.defaults, Mapping) else {}
    params = {p.name: p for p in declaration.params if not p.seed}
    out = {name: _capped(_declared(params[name], overrides), None) if params[name].kind == "number"
           else _declared(params[name], overrides)
           for name in overrides if name in params}
    # a remote model's files are on its server (models/remote.py): the declaration's numbers, and the catalog's
    files = _Files(spec.model_id) if read and not spec.endpoint else _Files("")
    key = declaration.key
    if key == "text-generation":
        out["max_new_tokens"] = _capped(_declared(params["max_new_tokens"], overrides), _window(files))
    elif key in ("image-classification", "fill-mask"):
        count = _label_count(files) if key == "image-classification" else _vocab_size(files)
        out["top_k"] = _capped(_declared(params["top_k"], overrides), count)
    elif key == "text-to-image":
        d = _image(files, overrides, declaration)
        for name in IMAGE_KEYS:
            out[name] = _capped(_declared(params[name], overrides), None)
        if d is not None:  # exactly the loaded adapter's numbers, not clamped
            for name in ("width", "height"):
                out[name] = {"value": d[name], "minimum": d["min_side"], "maximum": d["max_side"]}
            out["steps"] = {"value": d["steps"], "minimum": params["steps"].low, "maximum": d["max_steps"]}
            out["guidance_scale"] = {"value": d["guidance_scale"], "minimum": params["guidance_scale"].low,
                                     "maximum": params["guidance_scale"].high}
    return out


# -- the chat template ----------------------------------------------------------------------------------

def chat_template(spec: ModelSpec) -> tuple[bool | None, str]:
    """(whether the model has a chat template, its text) read from its tokenizer files, as transformers
    reads them: chat_template.jinja, then chat_template.json, then tokenizer_config.json's
    "chat_template" (a string, or a list of named templates: "default" is the one applied). None when
    the files cannot be read here (a Hub model not in the cache, a remote server's model). Never raises."""
    if spec.endpoint:  # its server applies its own template, unseen from here
        return None, ""
    try:
        files = _Files(spec.model_id)
        jinja = files.path("chat_template.jinja")
        if jinja is not None and jinja.is_file():
            return True, jinja.read_text(encoding="utf-8", errors="replace")
        template = (files.json("chat_template.json") or {}).get("chat_template")
        config = files.json("tokenizer_config.json")
        if template is None and config is not None:
            template = config.get("chat_template")
        if isinstance(template, list):
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default") or next(iter(named.values()), None)
        if isinstance(template, str) and template.strip():
            return True, template
        return (False, "") if config is not None else (None, "")
    except Exception:  # noqa: BLE001 - telling the page must never fail it
        return None, ""
