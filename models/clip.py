"""Image-text matching on open_clip: zero-shot labels, text-to-image search, caption ranking.

Model ids come in three forms, told apart by their shape (never by words inside a name):
- "ARCH:TAG", an architecture and pretrained tag that open_clip knows (ViT-B-32:laion2b_s34b_b79k);
- "hf-hub:org/repo" (or plain "org/repo"), a repo in open_clip's export layout;
- a local folder with open_clip_config.json and open_clip_model.safetensors (the same layout).
Weights are read from safetensors; pickle checkpoints only when the app allows pickle.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import open_clip
import torch
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

from .base import MAX_LABEL_CHARS, Pipeline, check_text, check_unicode, parse_texts
from .errors import InvalidInput, ModelLoadFailed, ModelNotFound, about
from .images import open_image
from .loading import _HUB_ID, is_local, read_json, resolve
from .messages import say
from .results import ClipMatch

MAX_QUERY_CHARS = 1000
MAX_IMAGES = 64          # images per search / similarity request
MAX_FILE_BYTES = 64 * 2**20  # files larger than this are not hashed, only decoded
TEXT_CACHE_SETS = 32     # distinct label sets whose embeddings are kept
TEXT_CACHE_TEXTS = 8192  # ... holding at most this many embeddings in all
IMAGE_CACHE_SIZE = 4096  # image embeddings kept, keyed by a hash of the pixels (and of the file they came from)
BATCH = 32               # images or texts per forward pass

CONFIG_NAME = "open_clip_config.json"
SAFE_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors", "model.safetensors")
PICKLE_WEIGHTS = ("open_clip_pytorch_model.bin", "open_clip_pytorch_model.pth", "pytorch_model.bin", "model.pth")

_ARCH_TAG = re.compile(r"^([A-Za-z0-9][\w.\-]*):([\w.\-]+)$")
_MODES = {"zero-shot": "zero_shot", "search": "search", "captions": "rank_captions",
          "rank-captions": "rank_captions", "similarity": "similarity"}


class ClipMatching(Pipeline):
    """One open_clip model, with caches so repeated labels or galleries are not encoded again.

    `text_encodes` and `image_encodes` count the texts and images actually run through the
    towers, so a test (or the Models tab) can see the caches at work.
    """

    task = "clip"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model: Any = None
        self.tokenizer: Any = None
        self.preprocess: Any = None
        self.text_encodes = 0
        self.image_encodes = 0
        self._text_cache: OrderedDict[tuple[str, ...], torch.Tensor] = OrderedDict()
        self._image_cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._file_keys: OrderedDict[str, str] = OrderedDict()  # hash of a file's bytes -> of its pixels
        self._cache_lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------------
    def _load(self, device: str, dtype: Any) -> None:
        source = self._locate(self.spec.model_id)
        self.report(say("load.weights_onto", device=device))
        precision = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, "fp32")
        # load_weights=False: open_clip would pick (and maybe unpickle) a checkpoint itself;
        # pretrained_text=False: it would fetch a text tower's base weights from the Hub.
        model, _, preprocess = open_clip.create_model_and_transforms(
            source["name"], pretrained=None, load_weights=False, precision=precision, device=device,
            pretrained_text=False, pretrained_image=False, **source["options"])
        open_clip.load_checkpoint(model, source["checkpoint"], strict=True, weights_only=True)
        model.eval()
        self.model, self.preprocess = model, preprocess
        self.tokenizer = open_clip.get_tokenizer(source["tokenizer"])
        self.clear_caches()

    def _locate(self, model_id: str) -> dict[str, Any]:
        """What open_clip needs for each id form: a config name, a checked checkpoint, a tokenizer name."""
        model_id = (model_id or "").strip()
        if model_id.startswith("hf-hub:"):
            return self._from_hub(model_id[len("hf-hub:"):])
        if is_local(model_id):
            folder = resolve(model_id, needs=CONFIG_NAME, allow_pickle=self.allow_pickle)
            return self._from_folder(Path(folder), tokenizer=f"local-dir:{folder}")
        match = _ARCH_TAG.match(model_id)
        if match:
            return self._from_tag(*match.groups())
        if "/" in model_id and _HUB_ID.match(model_id):
            return self._from_hub(model_id)
        if model_id in open_clip.list_models():
            tags = list_pretrained_tags_by_model(model_id)
            if tags:
                raise ModelNotFound(say("clip.needs_tag_listed", model=model_id, tags=", ".join(tags[:8])))
            raise ModelNotFound(say("clip.needs_tag", model=model_id))
        raise ModelNotFound(say("clip.not_open_clip", model=model_id))

    def _from_folder(self, folder: Path, *, tokenizer: str) -> dict[str, Any]:
        config = read_json(folder / CONFIG_NAME)
        if not isinstance(config, dict) or "model_cfg" not in config:
            raise ModelNotFound(say("clip.not_an_export", folder=folder.name, config=CONFIG_NAME))
        names = SAFE_WEIGHTS + (PICKLE_WEIGHTS if self.allow_pickle else ())
        found = [folder / n for n in names if (folder / n).is_file()]
        if not found:
            others = sorted(folder.glob("*.safetensors"))
            if len(others) == 1:
                found = others
            elif not others:
                raise ModelNotFound(say("clip.no_weights", folder=folder.name, weights=SAFE_WEIGHTS[0]))
            else:
                raise ModelNotFound(say("clip.several_weights", folder=folder.name, weights=SAFE_WEIGHTS[0]))
        return {"name": f"local-dir:{folder}", "checkpoint": str(found[0]), "tokenizer": tokenizer, "options": {}}

    def _from_hub(self, repo: str) -> dict[str, Any]:
        if ".." in repo or not _HUB_ID.match(repo) or "/" not in repo:
            raise ModelNotFound(say("clip.not_a_hub_id", repo=repo))
        config = hf_hub_download(repo, CONFIG_NAME)
        checkpoint = self._download_weights(repo, "open_clip_pytorch_model.bin")
        info = self._from_folder(Path(config).parent, tokenizer=f"hf-hub:{repo}")
        # The snapshot folder may hold other weight files from earlier downloads: use ours.
        info["checkpoint"] = checkpoint
        return info

    def _from_tag(self, arch: str, tag: str) -> dict[str, Any]:
        if arch not in open_clip.list_models():
            raise ModelNotFound(say("clip.unknown_architecture", arch=arch))
        cfg = get_pretrained_cfg(arch, tag)
        if not cfg:
            tags = list_pretrained_tags_by_model(arch)
            first = ", ".join(tags[:12])
            raise ModelNotFound(say("clip.unknown_tag", arch=arch, tag=tag,
                                    tags=(first + (f" and {len(tags) - 12} more" if len(tags) > 12 else "")) or "none",
                                    tags_zh=(first + (f" 等（另有 {len(tags) - 12} 个）" if len(tags) > 12 else ""))
                                    or "无"))
        if cfg.get("file"):
            checkpoint = str(cfg["file"])
            self._refuse_pickle(checkpoint, f"{arch}:{tag}")
        elif cfg.get("hf_hub"):
            repo, filename = os.path.split(cfg["hf_hub"])  # "org/repo/" or "org/repo/file.bin", as open_clip reads it
            checkpoint = self._download_weights(repo, filename or "open_clip_pytorch_model.bin")
        elif cfg.get("url"):
            self._refuse_pickle(cfg["url"], f"{arch}:{tag}")
            from open_clip.pretrained import download_pretrained_from_url
            checkpoint = download_pretrained_from_url(cfg["url"])
        else:
            raise ModelNotFound(say("clip.no_download", arch=arch, tag=tag))
        options = {
            "force_quick_gelu": bool(cfg.get("quick_gelu", False)),  # open_clip only warns on a mismatch
            "image_mean": cfg.get("mean"), "image_std": cfg.get("std"),
            "image_interpolation": cfg.get("interpolation"), "image_resize_mode": cfg.get("resize_mode"),
        }
        return {"name": arch, "checkpoint": checkpoint, "tokenizer": arch, "options": options}

    def _download_weights(self, repo: str, filename: str) -> str:
        """The safetensors twin of `filename` when the repo has one; the pickle file only if allowed."""
        if filename.endswith(".safetensors"):
            return hf_hub_download(repo, filename)
        safe = ("open_clip_model.safetensors" if filename == "open_clip_pytorch_model.bin"
                else filename.rsplit(".", 1)[0] + ".safetensors")
        try:
            return hf_hub_download(repo, safe)
        except LocalEntryNotFoundError:
            raise  # offline and not cached: load_errors turns it into a sentence
        except EntryNotFoundError:
            self._refuse_pickle(filename, repo)
        return hf_hub_download(repo, filename)

    def _refuse_pickle(self, filename: str, name: str) -> None:
        if not self.allow_pickle and not str(filename).endswith(".safetensors"):
            raise ModelLoadFailed(say("clip.pickle_only", name=name))

    def _weights(self) -> list[str]:
        return ["model", "tokenizer", "preprocess"]

    def modules(self) -> list[Any]:
        return [self.model] if self.model is not None else []

    def unload(self) -> None:
        super().unload()
        self.clear_caches()

    def to(self, device: str) -> None:
        if device != self.device:
            super().to(device)
            self.clear_caches()  # cached embeddings live on the old device

    def clear_caches(self) -> None:
        with self._cache_lock:
            self._text_cache.clear()
            self._image_cache.clear()
            self._file_keys.clear()

    # -- the four tasks ----------------------------------------------------------------------------
    def predict(self, inputs: Any, *, mode: str = "zero-shot", **params: Any) -> Any:
        """Dispatch on mode: "zero-shot" (inputs: image), "search" (inputs: query text),
        "captions" (inputs: image) or "similarity" (inputs: texts)."""
        key = str(mode).strip().lower().replace("_", "-")
        if key not in _MODES:
            raise InvalidInput(say("clip.unknown_mode", mode=mode))
        return getattr(self, _MODES[key])(inputs, **params)

    def zero_shot(self, image: Any, labels: list[str] | str, template: str = "a photo of a {}.") -> list[dict[str, Any]]:
        """[{"label", "score"}] in the labels' order as given; scores are a softmax over the labels.

        `labels` is a list, or one string split on commas and newlines (use a list for labels
        that contain commas). Labels are stripped; empty ones are dropped, and repeats are
        dropped after their first occurrence, since two copies of a label would split its
        probability in half. The softmax makes the labels compete: it says which label fits
        best, not whether any fits.
        """
        model, tokenizer, preprocess = self._require_loaded("model", "tokenizer", "preprocess")
        names = parse_texts(labels, "label", split_commas=True)
        template = check_template(template)
        found = self._find_images([image])
        text = self._encode_texts(model, tokenizer, tuple(template.replace("{}", n) for n in names))
        pixels = self._encode_images(model, preprocess, found)
        scores = self._softmax(model, pixels @ text.T)[0]
        return [{"label": n, "score": float(s)} for n, s in zip(names, scores)]

    def search(self, query: str, images: list[Any], top_k: int | None = None) -> list[ClipMatch]:
        """[{"index", "score", "cosine"}] for the top_k images (all when None), best first.

        `index` points into `images` as given; `score` is a probability, as in the other modes:
        a softmax over all the images searched (not only the top_k returned) of the model's
        logit scale times each cosine, so the images compete for the query as labels compete
        for an image in zero_shot; `cosine` is the cosine similarity of the image and the query
        (about 0.2 to 0.4 for a good match with real CLIP models). Embeddings are
        cached by a hash of each image's pixels, so a second query on the same gallery
        encodes no image; files (paths or bytes) seen before are not even decoded again.
        """
        model, tokenizer, preprocess = self._require_loaded("model", "tokenizer", "preprocess")
        query = check_text(query, "search text", max_chars=MAX_QUERY_CHARS)
        sources = check_images(images)
        k = len(sources) if top_k is None else self.declaration.param("top_k").check(top_k)
        found = self._find_images(sources)
        text = self._encode_texts(model, tokenizer, (query.strip(),))
        pixels = self._encode_images(model, preprocess, found)
        cosines = (pixels @ text.T)[:, 0]
        probabilities = self._softmax(model, cosines)
        order = cosines.argsort(descending=True, stable=True)[:k]
        return [{"index": int(i), "score": float(probabilities[i]), "cosine": float(cosines[i])} for i in order]

    def rank_captions(self, image: Any, captions: list[str] | str) -> list[dict[str, Any]]:
        """[{"caption", "score"}] best first; scores are a softmax over the captions (one per line)."""
        model, tokenizer, preprocess = self._require_loaded("model", "tokenizer", "preprocess")
        texts = parse_texts(captions, "caption", split_commas=False)
        found = self._find_images([image])
        text = self._encode_texts(model, tokenizer, tuple(texts))
        pixels = self._encode_images(model, preprocess, found)
        scores = self._softmax(model, pixels @ text.T)[0]
        ranked = sorted(zip(texts, scores.tolist()), key=lambda pair: pair[1], reverse=True)
        return [{"caption": c, "score": float(s)} for c, s in ranked]

    def similarity(self, texts: list[str] | str, images: list[Any]) -> list[list[float]]:
        """Cosine similarities, one row per text and one column per image, for a heatmap.

        Texts are one per line (or a list); blank ones are dropped, repeats kept, so a list
        without blanks keeps its rows aligned with the texts as given.
        """
        model, tokenizer, preprocess = self._require_loaded("model", "tokenizer", "preprocess")
        names = parse_texts(texts, "text", split_commas=False, dedupe=False)
        found = self._find_images(check_images(images))
        text = self._encode_texts(model, tokenizer, tuple(names))
        pixels = self._encode_images(model, preprocess, found)
        return (text @ pixels.T).tolist()

    # -- encoding with caches ----------------------------------------------------------------------
    def _encode_texts(self, model: Any, tokenizer: Any, texts: tuple[str, ...]) -> torch.Tensor:
        """L2-normalised float32 embeddings on the CPU, cached per distinct tuple of texts."""
        with self._cache_lock:
            cached = self._text_cache.get(texts)
            if cached is not None:
                self._text_cache.move_to_end(texts)
                return cached
        parts = []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH * 4):
                tokens = self.tokenize(tokenizer, list(texts[start:start + BATCH * 4])).to(self.device)
                parts.append(model.encode_text(tokens, normalize=True).float().cpu())
        embeddings = torch.cat(parts)
        with self._cache_lock:
            self.text_encodes += len(texts)
            self._text_cache[texts] = embeddings
            total = sum(len(k) for k in self._text_cache)
            while len(self._text_cache) > 1 and (len(self._text_cache) > TEXT_CACHE_SETS or total > TEXT_CACHE_TEXTS):
                old, _ = self._text_cache.popitem(last=False)
                total -= len(old)
        return embeddings

    def _find_images(self, sources: list[Any]) -> "_FoundImages":
        """Each image's cache key, the embeddings already cached, and the decoded pictures of the rest.

        A file (a path or bytes) whose bytes were seen before is not decoded again: its key comes
        from the hash of its bytes (a few ms for a whole gallery, against tens of ms to decode it).
        Anything else is decoded and keyed by its pixels, so the same picture from another file
        or format still hits the cache. Every image is checked here, before anything is computed."""
        found = _FoundImages()
        for source in sources:
            digest, data = read_file(source)
            key = None
            with self._cache_lock:
                if digest is not None:
                    key = self._file_keys.get(digest)
                if key is not None and key in self._image_cache:
                    found.known[key] = self._image_cache[key]
            if key is None or key not in found.known:
                picture = open_image(source if data is None else data)  # the file is read once
                key = pixel_hash(picture)
                with self._cache_lock:
                    if key in self._image_cache:
                        found.known[key] = self._image_cache[key]
                if key not in found.known:
                    found.pictures[key] = picture  # the same picture twice: decoded, and encoded, once
                if digest is not None:
                    found.files[digest] = key
            found.keys.append(key)
        return found

    def _encode_images(self, model: Any, preprocess: Any, found: "_FoundImages") -> torch.Tensor:
        """L2-normalised float32 embeddings on the CPU; only images not seen before are encoded."""
        missing = list(found.pictures.items())
        fresh: dict[str, torch.Tensor] = {}
        with torch.inference_mode():
            for start in range(0, len(missing), BATCH):
                chunk = missing[start:start + BATCH]
                batch = torch.stack([preprocess(p) for _, p in chunk]).to(self.device, self.dtype)
                out = model.encode_image(batch, normalize=True).float().cpu()
                fresh.update({k: row for (k, _), row in zip(chunk, out)})
        with self._cache_lock:
            self.image_encodes += len(fresh)
            for k in found.keys:
                if k in self._image_cache:
                    self._image_cache.move_to_end(k)
            self._image_cache.update(fresh)
            while len(self._image_cache) > IMAGE_CACHE_SIZE:
                self._image_cache.popitem(last=False)
            self._file_keys.update(found.files)
            while len(self._file_keys) > IMAGE_CACHE_SIZE:
                self._file_keys.popitem(last=False)
        embeddings = {**found.known, **fresh}
        return torch.stack([embeddings[k] for k in found.keys])

    def _softmax(self, model: Any, cosines: torch.Tensor) -> torch.Tensor:
        scale = float(model.logit_scale.detach().float().exp().cpu().reshape(-1)[0])
        return (cosines * scale).softmax(dim=-1)


# -- checking inputs -----------------------------------------------------------------------------

def check_template(template: Any) -> str:
    with about("template"):
        return _check_template(template)


def _check_template(template: Any) -> str:
    if template is None or (isinstance(template, str) and not template.strip()):
        return "{}"
    if not isinstance(template, str):
        raise InvalidInput(say("clip.template_type", kind=type(template).__name__))
    check_unicode(template, "template")
    if len(template) > MAX_LABEL_CHARS:
        raise InvalidInput(say("clip.template_too_long", length=len(template), limit=MAX_LABEL_CHARS))
    if template.count("{}") != 1:
        raise InvalidInput(say("clip.template_braces", template=template, count=template.count("{}")))
    return template.strip()


def check_images(images: Any) -> list[Any]:
    """The gallery as a list of images (not opened yet: ClipMatching._find_images opens them)."""
    if images is None or (isinstance(images, (list, tuple)) and not images):
        raise InvalidInput(say("clip.gallery_empty"), field="images")
    if not isinstance(images, (list, tuple)):
        images = [images]
    if len(images) > MAX_IMAGES:
        raise InvalidInput(say("clip.gallery_too_big", count=len(images), limit=MAX_IMAGES), field="images")
    return list(images)


@dataclass
class _FoundImages:
    keys: list[str] = field(default_factory=list)                     # one per image, in order
    known: dict[str, torch.Tensor] = field(default_factory=dict)      # cached embeddings by key
    pictures: dict[str, Any] = field(default_factory=dict)            # decoded, to encode, by key
    files: dict[str, str] = field(default_factory=dict)               # file digest -> key, to remember


def read_file(source: Any) -> tuple[str | None, bytes | None]:
    """(a hash of its bytes, the bytes) for a file (a path or bytes); (None, None) for anything
    else, an unreadable path (open_image then says what is wrong) or a file over MAX_FILE_BYTES."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError:
            return None, None
        if len(data) > MAX_FILE_BYTES:
            return None, None
    else:
        return None, None
    return hashlib.blake2b(data, digest_size=16).hexdigest(), data


def pixel_hash(image: Any) -> str:
    """Same pixels, same key, whatever file format or path they came from."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{image.mode}{image.size}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()



class _HideRandomInitWarning(logging.Filter):
    """open_clip warns "Model initialized randomly" because we load the weights ourselves, next."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No pretrained weights loaded for model")


logging.getLogger().addFilter(_HideRandomInitWarning())
