"""Token vocabulary: the exact bytes of every token, which ids are text, and the token trie.

A :class:`Vocabulary` is what every later layer sees of a tokenizer.  It is immutable
after construction (numpy arrays are read-only) and holds:

* ``token_bytes[i]``: the exact bytes token ``i`` contributes to the decoded text when it
  appears in the *middle* of generated output.  Tokens may hold partial UTF-8 sequences,
  so everything is ``bytes``, never ``str``.  Non-text ids map to ``b""``.
* ``is_text``: which ids are text (allowed by a trie walk).  Everything else -- special
  and control tokens, EOS ids, ids the tokenizer does not define, and the padding ids
  between ``len(tokenizer)`` and the model's vocabulary size -- is never text.
* ``eos_ids``: the ids that end generation (allowed when the matcher accepts).
* The flattened token trie (:attr:`Vocabulary.trie`), DFS order, children by byte.

How token bytes are derived
---------------------------
The kind of tokenizer is read from its ``tokenizers`` backend (the decoder pipeline of
``tokenizer.json``), never from its name:

``byte_level`` (GPT-2, Llama-3, Qwen2, DeepSeek-Coder)
    The ``ByteLevel`` decoder.  Each character of the token string is mapped back to a
    byte by inverting GPT-2's ``bytes_to_unicode`` table.  As in ``tokenizers`` itself,
    a token with any character outside that table (an added token holding a literal
    space, or a character like ``｜``) contributes its raw UTF-8 bytes.
``sentencepiece`` (Llama-2, Phi-3)
    A decoder made of ``Replace("▁", " ")`` / ``Metaspace`` steps, ``ByteFallback``,
    ``Fuse`` and a final ``Strip``.  ``▁`` is a space, ``<0xNN>`` is the raw byte ``NN``.
    The ``Strip`` after ``Fuse`` (and ``Metaspace``'s prepend handling) only removes
    the space SentencePiece adds at the very start of a sequence; in the middle of the
    output ``▁a`` is ``b" a"``, and that is what ``token_bytes`` holds.

Any other decoder step (WordPiece, CTC, a per-token ``Strip`` ...) raises
``ValueError`` naming it, rather than guessing.

Which ids are text
------------------
Special: every added token with ``special=True``, every id in ``all_special_ids``, the
bos/eos/unk/pad ids, every EOS id passed in, ids with no token string, tokens whose
bytes are empty, and padding ids.  Non-special added tokens are text, with the bytes the
decoder gives them, because that is what ``tokenizer.decode`` produces, even with
``skip_special_tokens=True``:

* DeepSeek-Coder's 251 non-special added tokens (of 254): ``õ``, ``÷``, ``Á`` ... are byte-level
  characters, so they decode to the single raw bytes 0xF5, 0xF7, 0xC1 ... (bytes that
  never occur in valid UTF-8, so no grammar over text will allow them); ``<pad>``,
  ``<|User|>``, ``<|EOT|>`` and ``[PAD32022]`` ... decode to their ASCII text.
* Qwen2's ``[PAD151646]`` ... fillers decode to the ASCII text ``[PAD151646]``.
* Phi-3's ``</s>`` (id 2) is a non-special added token and decodes to ``</s>``.

These tokens are exactly as reachable as the tokenizer makes them: ``encode`` maps the
text ``[PAD151646]`` to that id too.  Pass such an id in ``eos_token_ids`` if it should
end generation instead (EOS ids are never text).

The model's vocabulary (``vocab_size``, the logits' width) may be larger than the
tokenizer: the extra ids are padding.  It may also be smaller, but only when every id
cut off is a special token that is not an EOS id (the Llama-3 tokenizer here has 128,257
entries for a 128,256-logit model: the last one is a conversion artifact); otherwise
``ValueError``.

Encoding
--------
:meth:`Vocabulary.encode` returns the tokenization of a text as it appears in the middle
of generated output (no BOS, no SentencePiece leading space), checked to reproduce the
exact bytes.  With a tokenizer it asks the tokenizer (special-token text is tokenized as
plain text), strips a SentencePiece-style added space with a separator prefix when
needed, and falls back to a minimal-token-count tokenization over the trie when the
tokenizer cannot reproduce the bytes (e.g. text that is not valid UTF-8).  Vocabularies
built by :meth:`Vocabulary.from_token_bytes` have no tokenizer and always use that
fallback.

Raises: construction raises ``ValueError`` for bad input (sizes, ids out of range,
unsupported decoders); :meth:`Vocabulary.encode` raises ``ValueError`` when no sequence
of text tokens spells the text.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numba
import numpy as np

__all__ = ["Vocabulary", "CHAT_END_TOKENS"]

#: Token strings that end a chat turn in common models.  ``from_tokenizer(...,
#: add_chat_eos=True)`` adds those present in the tokenizer to the EOS ids.
CHAT_END_TOKENS: tuple[str, ...] = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<|EOT|>",
    "<end_of_turn>",
    "<|end_of_turn|>",
    "<|END_OF_TURN_TOKEN|>",
)

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")

TrieArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (``bytes_to_unicode``)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# --------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _build_trie_kernel(flat, offs, order):
    """Build the flattened trie of the byte strings ``flat[offs[t]:offs[t+1]]``, ``t`` in
    ``order`` (already sorted by bytes, ties by id, all non-empty).

    Returns (byte, end, depth, tok_off, toks) as described on :attr:`Vocabulary.trie`.
    """
    n = order.shape[0]
    total = 0
    max_len = 0
    for k in range(n):
        t = order[k]
        length = offs[t + 1] - offs[t]
        total += length
        if length > max_len:
            max_len = length
    cap = total + 1
    tbyte = np.zeros(cap, np.uint8)
    tend = np.zeros(cap, np.int32)
    tdepth = np.zeros(cap, np.int32)
    tok_node = np.empty(n, np.int32)
    path = np.zeros(max_len + 1, np.int32)
    cur_len = 0
    prev_start = 0
    prev_len = 0
    count = 1
    for k in range(n):
        t = order[k]
        start = offs[t]
        length = offs[t + 1] - start
        m = min(length, prev_len)
        lcp = 0
        while lcp < m and flat[start + lcp] == flat[prev_start + lcp]:
            lcp += 1
        for d in range(cur_len, lcp, -1):
            tend[path[d]] = count
        for d in range(lcp + 1, length + 1):
            tbyte[count] = flat[start + d - 1]
            tdepth[count] = d
            path[d] = count
            count += 1
        cur_len = length
        tok_node[k] = path[length]
        prev_start = start
        prev_len = length
    for d in range(cur_len, 0, -1):
        tend[path[d]] = count
    tend[0] = count
    tok_off = np.zeros(count + 1, np.int32)
    for k in range(n):
        tok_off[tok_node[k] + 1] += 1
    for i in range(count):
        tok_off[i + 1] += tok_off[i]
    toks = np.empty(n, np.int32)
    for k in range(n):
        toks[k] = order[k]
    return tbyte[:count].copy(), tend[:count].copy(), tdepth[:count].copy(), tok_off, toks


@numba.njit(cache=True)
def _min_tokenize_kernel(data, tbyte, tend, tok_off, toks):
    """Fewest-tokens tokenization of ``data`` over the trie; ties prefer the longest
    first token, and among ids with the same bytes the largest id.  Returns an empty
    array when no tokenization exists (``data`` non-empty)."""
    n = data.shape[0]
    inf = n + 1
    cost = np.full(n + 1, inf, np.int64)
    cost[n] = 0
    choice_tok = np.full(n + 1, -1, np.int32)
    choice_len = np.zeros(n + 1, np.int64)
    for i in range(n - 1, -1, -1):
        node = 0
        j = i
        while j < n:
            want = data[j]
            child = node + 1
            end = tend[node]
            found = -1
            while child < end:
                b = tbyte[child]
                if b == want:
                    found = child
                    break
                if b > want:
                    break
                child = tend[child]
            if found < 0:
                break
            node = found
            j += 1
            if tok_off[node + 1] > tok_off[node] and cost[j] < inf and cost[j] + 1 <= cost[i]:
                cost[i] = cost[j] + 1
                choice_tok[i] = toks[tok_off[node + 1] - 1]
                choice_len[i] = j - i
    if cost[0] >= inf:
        return np.empty(0, np.int32)
    out = np.empty(cost[0], np.int32)
    pos = 0
    k = 0
    while pos < n:
        out[k] = choice_tok[pos]
        pos += choice_len[pos]
        k += 1
    return out


# --------------------------------------------------------------------------------------
# decoder pipelines
# --------------------------------------------------------------------------------------


def _decoder_steps(decoder_json: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Flatten a ``tokenizers`` decoder description into its list of steps."""
    if decoder_json is None:
        raise ValueError(
            "tokenizer has no decoder: its tokens would be joined with spaces; "
            "only byte-level and SentencePiece-style decoders are supported"
        )
    if decoder_json.get("type") == "Sequence":
        steps: list[dict[str, Any]] = []
        for sub in decoder_json.get("decoders", []):
            steps.extend(_decoder_steps(sub))
        return steps
    return [decoder_json]


class _Pipeline:
    """A tokenizer's decoder, reduced to a per-token map from token string to bytes."""

    def __init__(self, steps: list[dict[str, Any]]):
        """Check the steps and record what each token goes through.

        Raises ``ValueError`` naming the first unsupported step."""
        types = [s.get("type") for s in steps]
        if types == ["ByteLevel"]:
            self.kind = "byte_level"
            self.replacements: list[tuple[str, str]] = []
            self.byte_fallback = False
            return
        self.kind = "sentencepiece"
        self.replacements = []
        self.byte_fallback = False
        fused = False
        for pos, step in enumerate(steps):
            kind = step.get("type")
            where = f"decoder step {pos} ({kind})"
            if kind == "ByteLevel":
                raise ValueError(f"unsupported tokenizer decoder: ByteLevel combined with other steps at {where}")
            if kind == "Replace":
                pattern = step.get("pattern", {})
                if "String" not in pattern:
                    raise ValueError(f"unsupported tokenizer decoder: regex Replace at {where}")
                if self.byte_fallback or fused:
                    raise ValueError(f"unsupported tokenizer decoder: Replace after ByteFallback/Fuse at {where}")
                self.replacements.append((pattern["String"], step.get("content", "")))
            elif kind == "Metaspace":
                if self.byte_fallback or fused:
                    raise ValueError(f"unsupported tokenizer decoder: Metaspace after ByteFallback/Fuse at {where}")
                self.replacements.append((step.get("replacement", "\u2581"), " "))
            elif kind == "ByteFallback":
                if fused:
                    raise ValueError(f"unsupported tokenizer decoder: ByteFallback after Fuse at {where}")
                self.byte_fallback = True
            elif kind == "Fuse":
                fused = True
            elif kind == "Strip":
                # After Fuse the whole output is one token, so Strip only trims the start
                # and end of the sequence, never the middle.  Before Fuse it would trim
                # every token.
                if not fused:
                    raise ValueError(f"unsupported tokenizer decoder: per-token Strip (no Fuse before it) at {where}")
            else:
                raise ValueError(f"unsupported tokenizer decoder: {kind} at {where}")
        if not self.replacements and not self.byte_fallback:
            raise ValueError(f"unsupported tokenizer decoder {types}: neither byte-level nor SentencePiece-style")

    def token_bytes(self, tokens: Sequence[str | None]) -> list[bytes | None]:
        """Map token strings (``None`` for holes) to the bytes they decode to."""
        if self.kind == "byte_level":
            return _byte_level_bytes(tokens)
        out: list[bytes | None] = []
        append = out.append
        replacements = self.replacements
        byte_token = _BYTE_TOKEN.fullmatch if self.byte_fallback else None
        for s in tokens:
            if s is None:
                append(None)
                continue
            for old, new in replacements:
                s = s.replace(old, new)
            if byte_token is not None and len(s) == 6 and byte_token(s):
                append(bytes((int(s[3:5], 16),)))
            else:
                append(s.encode("utf-8"))
        return out


def _byte_level_bytes(tokens: Sequence[str | None]) -> list[bytes | None]:
    """Invert the byte-level table for every token string at once.

    All strings are joined and looked up as code points in one numpy pass; the (rare)
    tokens holding a character outside the table take their raw UTF-8 bytes instead,
    as in the ``ByteLevel`` decoder."""
    present = [s for s in tokens if s is not None]
    codes = np.frombuffer("".join(present).encode("utf-32-le"), dtype=np.uint32)
    mapped = _BYTE_LEVEL_LUT[np.minimum(codes, _BYTE_LEVEL_LUT.size - 1)]
    ends = np.cumsum(np.fromiter(map(len, present), dtype=np.int64, count=len(present)))
    data = mapped.astype(np.uint8).tobytes()
    starts = np.concatenate([[0], ends[:-1]]).tolist()
    pieces = [data[a:b] for a, b in zip(starts, ends.tolist())]
    for k in np.unique(np.searchsorted(ends, np.flatnonzero(mapped < 0), side="right")).tolist():
        pieces[k] = present[k].encode("utf-8")
    it = iter(pieces)
    return [None if s is None else next(it) for s in tokens]


def _byte_level_lut() -> np.ndarray:
    """Code point -> byte for the byte-level table; -1 for any other code point (the
    last entry stands for every code point past the table)."""
    table = _bytes_to_unicode()
    lut = np.full(max(ord(ch) for ch in table.values()) + 2, -1, dtype=np.int16)
    for b, ch in table.items():
        lut[ord(ch)] = b
    return lut


_BYTE_LEVEL_LUT = _byte_level_lut()


def _backend_of(tokenizer: Any) -> Any:
    """The ``tokenizers.Tokenizer`` behind an HF tokenizer (or the object itself)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return backend
    if hasattr(tokenizer, "id_to_token") and hasattr(tokenizer, "get_added_tokens_decoder"):
        return tokenizer
    raise ValueError(
        f"{type(tokenizer).__name__} has no `tokenizers` backend (backend_tokenizer); "
        "pass a fast Hugging Face tokenizer or a tokenizers.Tokenizer"
    )


def _as_id_list(ids: int | Iterable[int] | np.ndarray, what: str) -> list[int]:
    """Normalise an id or iterable of ids to a list of Python ints; ``ValueError`` on
    anything that is not an integer."""
    if isinstance(ids, (int, np.integer)):
        items = [ids]
    else:
        items = list(np.asarray(ids).reshape(-1)) if isinstance(ids, np.ndarray) else list(ids)
    out = []
    for x in items:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
            raise ValueError(f"{what}: expected integer token ids, got {x!r}")
        out.append(int(x))
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


class Vocabulary:
    """Exact token bytes, text/special flags, EOS ids and the flattened token trie.

    Build with :meth:`from_tokenizer` or :meth:`from_token_bytes`.  Attributes (all
    read-only):

    ``size``            V, the model vocabulary size (logits width).
    ``n_words``         ``(V + 31) // 32``, the int32 words of one bitmask row.
    ``tokenizer_size``  ids below it are defined by the tokenizer; the rest is padding.
    ``token_bytes``     tuple of V ``bytes`` (``b""`` for non-text ids).
    ``token_lens``      int32[V], ``len(token_bytes[i])``.
    ``token_data``      uint8, all token bytes concatenated in id order, and
    ``token_offsets``   int64[V+1]: token i is ``token_data[token_offsets[i]:token_offsets[i+1]]``.
    ``is_text``         bool[V].
    ``special_ids``     int32, sorted: every id that is not text (EOS and padding too).
    ``eos_ids``         int32, sorted, unique.
    ``max_token_len``   longest text token in bytes.
    ``kind``            ``"byte_level"``, ``"sentencepiece"`` or ``"bytes"`` (toy).
    ``tokenizer``       the HF tokenizer, or ``None``.
    ``trie``            (byte, end, depth, tok_off, toks), see :attr:`trie`.
    """

    size: int
    n_words: int
    tokenizer_size: int
    token_bytes: tuple[bytes, ...]
    token_lens: np.ndarray
    token_data: np.ndarray
    token_offsets: np.ndarray
    is_text: np.ndarray
    special_ids: np.ndarray
    eos_ids: np.ndarray
    max_token_len: int
    kind: str
    tokenizer: Any
    trie_byte: np.ndarray
    trie_end: np.ndarray
    trie_depth: np.ndarray
    trie_tok_off: np.ndarray
    trie_toks: np.ndarray

    def __init__(
        self,
        token_bytes: Sequence[bytes | None],
        eos_ids: Sequence[int],
        *,
        size: int,
        kind: str,
        tokenizer: Any = None,
        prefer_encode_prefix: bool = False,
    ):
        """Internal: use :meth:`from_tokenizer` or :meth:`from_token_bytes`.

        ``token_bytes`` has one entry per tokenizer id (``None`` = not text); ``eos_ids``
        are validated ids, made non-text here."""
        n_tok = len(token_bytes)
        tb: list[bytes] = [b or b"" for b in token_bytes[:size]] + [b""] * max(0, size - n_tok)
        is_text = np.fromiter(map(bool, tb), dtype=bool, count=size)
        eos = np.unique(np.asarray(eos_ids, dtype=np.int64)).astype(np.int32)
        for e in eos:
            tb[e] = b""
        is_text[eos] = False
        lens = np.fromiter(map(len, tb), dtype=np.int64, count=size)
        offs = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(lens, out=offs[1:])
        # Read-only from the start, as sub_trie() passes them: one kernel specialisation.
        flat = _readonly(np.frombuffer(b"".join(tb), dtype=np.uint8))
        offs = _readonly(offs)
        order = _readonly(np.array(sorted(np.flatnonzero(is_text).tolist(), key=tb.__getitem__), dtype=np.int32))

        set_ = object.__setattr__
        set_(self, "size", int(size))
        set_(self, "n_words", (int(size) + 31) // 32)
        set_(self, "tokenizer_size", int(min(n_tok, size)))
        set_(self, "token_bytes", tuple(tb))
        set_(self, "token_lens", _readonly(lens.astype(np.int32)))
        set_(self, "is_text", _readonly(is_text))
        set_(self, "special_ids", _readonly(np.flatnonzero(~is_text).astype(np.int32)))
        set_(self, "eos_ids", _readonly(eos))
        set_(self, "max_token_len", int(lens.max()) if size else 0)
        set_(self, "kind", kind)
        set_(self, "tokenizer", tokenizer)
        set_(self, "token_data", flat)
        set_(self, "token_offsets", offs)
        set_(self, "_order", order)
        set_(self, "_prefer_encode_prefix", prefer_encode_prefix)
        set_(self, "_fingerprint", None)
        trie = tuple(_readonly(a) for a in _build_trie_kernel(flat, offs, order))
        set_(self, "trie_byte", trie[0])
        set_(self, "trie_end", trie[1])
        set_(self, "trie_depth", trie[2])
        set_(self, "trie_tok_off", trie[3])
        set_(self, "trie_toks", trie[4])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Vocabulary is immutable (tried to set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Vocabulary is immutable (tried to delete {name!r})")

    def __repr__(self) -> str:
        return (
            f"Vocabulary(kind={self.kind!r}, size={self.size}, text={int(self.is_text.sum())}, "
            f"eos={self.eos_ids.tolist()}, trie_nodes={self.trie_byte.shape[0]})"
        )

    # ---------------------------------------------------------------- constructors

    @classmethod
    def from_tokenizer(
        cls,
        hf_tokenizer: Any,
        vocab_size: int | None = None,
        eos_token_ids: int | Iterable[int] | None = None,
        *,
        add_chat_eos: bool = False,
    ) -> Vocabulary:
        """Build the vocabulary of a Hugging Face fast tokenizer (or a raw
        ``tokenizers.Tokenizer``).

        ``vocab_size``: the model's vocabulary size (default ``len(tokenizer)``); extra
        ids are padding.  ``eos_token_ids``: one id or several (default: the tokenizer's
        ``eos_token_id``, if any).  ``add_chat_eos``: also end on the chat end-of-turn
        tokens of :data:`CHAT_END_TOKENS` that the tokenizer has.  EOS ids are never
        text.

        Raises ``ValueError`` for a tokenizer without a supported ``tokenizers``
        decoder, a ``vocab_size`` that would cut off text or EOS ids, or EOS ids out of
        range or in the padding."""
        backend = _backend_of(hf_tokenizer)
        decoder = backend.decoder
        decoder_json = None if decoder is None else json.loads(decoder.__getstate__())
        pipeline = _Pipeline(_decoder_steps(decoder_json))

        try:
            n_tok = len(hf_tokenizer)
        except TypeError:
            n_tok = backend.get_vocab_size(with_added_tokens=True)
        added = backend.get_added_tokens_decoder()
        if added:
            n_tok = max(n_tok, max(added) + 1)
        id_to_token = backend.id_to_token
        strings = [id_to_token(i) for i in range(n_tok)]
        raw = pipeline.token_bytes(strings)

        special: set[int] = {i for i, tok in added.items() if tok.special}
        special.update(getattr(hf_tokenizer, "all_special_ids", None) or ())
        for attr in ("bos_token_id", "eos_token_id", "unk_token_id", "pad_token_id"):
            tid = getattr(hf_tokenizer, attr, None)
            if isinstance(tid, (int, np.integer)):
                special.add(int(tid))
        for i in special:
            if 0 <= i < n_tok:
                raw[i] = None

        size = n_tok if vocab_size is None else _check_size(vocab_size)
        if size < n_tok:
            cut = [i for i in range(size, n_tok) if raw[i]]
            if cut:
                raise ValueError(
                    f"vocab_size={size} is smaller than the tokenizer ({n_tok} ids) and would cut off "
                    f"text token {cut[0]} ({raw[cut[0]]!r})"
                )

        if eos_token_ids is None:
            default = getattr(hf_tokenizer, "eos_token_id", None)
            eos = [] if default is None else [int(default)]
        else:
            eos = _as_id_list(eos_token_ids, "eos_token_ids")
        if add_chat_eos:
            vocab_ids = {s: i for i, s in enumerate(strings) if s is not None and s in CHAT_END_TOKENS}
            eos.extend(vocab_ids[s] for s in CHAT_END_TOKENS if s in vocab_ids)
        _check_eos(eos, size, min(n_tok, size), "eos_token_ids")

        return cls(
            raw,
            eos,
            size=size,
            kind=pipeline.kind,
            tokenizer=hf_tokenizer,
            prefer_encode_prefix=pipeline.kind == "sentencepiece",
        )

    @classmethod
    def from_token_bytes(
        cls,
        tokens: Sequence[bytes | None],
        eos_ids: int | Iterable[int],
        vocab_size: int | None = None,
    ) -> Vocabulary:
        """Build a toy vocabulary: ``tokens[i]`` is the bytes of id ``i``, ``None`` for a
        special id.  ``eos_ids`` must be special (``None``) entries; ``vocab_size``
        (default ``len(tokens)``) adds padding ids.

        Raises ``ValueError`` for entries that are neither bytes nor ``None``, empty
        bytes, EOS ids out of range or that have bytes, or a ``vocab_size`` below
        ``len(tokens)``."""
        tokens = list(tokens)
        for i, t in enumerate(tokens):
            if t is None:
                continue
            if not isinstance(t, (bytes, bytearray)):
                raise ValueError(f"tokens[{i}]: expected bytes or None, got {type(t).__name__}")
            if not t:
                raise ValueError(f"tokens[{i}] is empty; use None for a token that is not text")
        size = len(tokens) if vocab_size is None else _check_size(vocab_size)
        if size < len(tokens):
            raise ValueError(f"vocab_size={size} is smaller than the number of tokens ({len(tokens)})")
        eos = _as_id_list(eos_ids, "eos_ids")
        _check_eos(eos, size, len(tokens), "eos_ids")
        for e in eos:
            if tokens[e] is not None:
                raise ValueError(f"eos id {e} has bytes {tokens[e]!r}; EOS tokens must be None (not text)")
        return cls([None if t is None else bytes(t) for t in tokens], eos, size=size, kind="bytes")

    @classmethod
    def from_bytes(cls, token_bytes: Sequence[bytes | None], eos_ids: int | Iterable[int],
                   vocab_size: int | None = None) -> Vocabulary:
        """The same as :meth:`from_token_bytes` (the name exact tests of decoders use)."""
        return cls.from_token_bytes(token_bytes, eos_ids, vocab_size)

    # ---------------------------------------------------------------- trie

    @property
    def trie(self) -> TrieArrays:
        """The flattened trie of all text tokens, in DFS order with children sorted by
        byte: ``(byte, end, depth, tok_off, toks)``.

        ``byte``: uint8[N], the byte on the edge into node n (node 0 is the root).
        ``end``: int32[N], one past n's subtree (skip a subtree with ``n = end[n]``; the
        first child of n is ``n + 1`` when ``n + 1 < end[n]``).  ``depth``: int32[N],
        root 0.  ``tok_off``: int32[N+1]; ``toks[tok_off[n]:tok_off[n+1]]`` (int32,
        ascending) are the ids whose bytes end exactly at n."""
        return (self.trie_byte, self.trie_end, self.trie_depth, self.trie_tok_off, self.trie_toks)

    def sub_trie(self, token_mask: np.ndarray) -> TrieArrays:
        """The same five arrays for the text tokens selected by ``token_mask`` (bool[V]).

        Raises ``ValueError`` if the mask has the wrong dtype or shape, or selects an id
        that is not text (intersect with ``is_text`` first)."""
        mask = np.asarray(token_mask)
        if mask.dtype != np.bool_ or mask.shape != (self.size,):
            raise ValueError(f"token_mask must be bool[{self.size}], got {mask.dtype}{list(mask.shape)}")
        bad = np.flatnonzero(mask & ~self.is_text)
        if bad.size:
            raise ValueError(
                f"token_mask selects {bad.size} non-text ids (first: {int(bad[0])}); use mask & vocab.is_text"
            )
        order = _readonly(self._order[mask[self._order]])
        return tuple(_readonly(a) for a in _build_trie_kernel(self.token_data, self.token_offsets, order))

    # ---------------------------------------------------------------- text

    def decode_bytes(self, ids: Iterable[int] | np.ndarray) -> bytes:
        """Concatenated bytes of ``ids``; non-text ids (special, EOS, padding) add nothing.

        Raises ``ValueError`` for an id outside ``[0, size)``."""
        tb = self.token_bytes
        out = []
        for i in _as_id_list(ids, "decode_bytes"):
            if not 0 <= i < self.size:
                raise ValueError(f"token id {i} out of range [0, {self.size})")
            out.append(tb[i])
        return b"".join(out)

    def encode(self, text: str | bytes) -> list[int]:
        """Tokenize ``text`` as it would appear in the middle of generated output: text
        tokens only, no BOS, no SentencePiece leading space, and the token bytes
        concatenate to exactly the UTF-8 bytes of ``text``.

        Canonical when the tokenizer can reproduce the bytes; otherwise (no tokenizer,
        bytes that are not UTF-8, tokenizer output that does not round-trip) the
        tokenization with the fewest tokens.  Raises ``ValueError`` if no sequence of text
        tokens spells ``text``."""
        if isinstance(text, str):
            data = text.encode("utf-8")
            s: str | None = text
        elif isinstance(text, (bytes, bytearray)):
            data = bytes(text)
            try:
                s = data.decode("utf-8")
            except UnicodeDecodeError:
                s = None
        else:
            raise ValueError(f"encode: expected str or bytes, got {type(text).__name__}")
        if not data:
            return []
        if self.tokenizer is not None and s is not None:
            ids = self._encode_with_tokenizer(s, data)
            if ids is not None:
                return ids
        return self._encode_min_tokens(data)

    def _round_trips(self, ids: list[int], data: bytes) -> bool:
        """Whether ``ids`` are all text tokens spelling exactly ``data``."""
        size, is_text, tb = self.size, self.is_text, self.token_bytes
        if any(not (0 <= i < size and is_text[i]) for i in ids):
            return False
        return b"".join(tb[i] for i in ids) == data

    def _raw_encode(self, s: str) -> list[int]:
        """The backend's ids for ``s``: no added BOS/EOS, special-token text as text."""
        backend = _backend_of(self.tokenizer)
        with _ENCODE_LOCK:
            previous = backend.encode_special_tokens
            backend.encode_special_tokens = True
            try:
                return backend.encode(s, add_special_tokens=False).ids
            finally:
                backend.encode_special_tokens = previous

    def _encode_with_tokenizer(self, s: str, data: bytes) -> list[int] | None:
        """Canonical ids from the tokenizer, or ``None`` if it cannot spell ``data``.

        A tokenizer that adds a leading space (SentencePiece) is run on ``P + s`` for a
        separator ``P`` whose own tokens stay intact; since BPE never undoes a merge,
        the tokens after ``P`` are then those of ``s`` in mid-sequence."""
        if not self._prefer_encode_prefix:
            ids = self._raw_encode(s)
            if self._round_trips(ids, data):
                return ids
        for prefix in ("\n", ".", "a"):
            head = self._raw_encode(prefix)
            ids = self._raw_encode(prefix + s)
            if ids[: len(head)] == head and self._round_trips(ids[len(head) :], data):
                return ids[len(head) :]
        return None

    def _encode_min_tokens(self, data: bytes) -> list[int]:
        """Fewest-tokens tokenization over the trie; ``ValueError`` if none exists."""
        ids = _min_tokenize_kernel(
            np.frombuffer(data, dtype=np.uint8), self.trie_byte, self.trie_end, self.trie_tok_off, self.trie_toks
        )
        if ids.size == 0:
            raise ValueError(f"no sequence of text tokens spells {data[:80]!r}")
        return ids.tolist()

    # ---------------------------------------------------------------- identity

    def fingerprint(self) -> str:
        """Stable hex digest of (size, token bytes, text flags, EOS ids), for caching
        compiled grammars on disk.  Independent of how the vocabulary was built."""
        fp = self._fingerprint
        if fp is None:
            h = hashlib.sha256(b"structgen.Vocabulary/v1\0")
            h.update(np.int64(self.size).tobytes())
            h.update(self.token_offsets.astype("<i8").tobytes())
            h.update(self.token_data.tobytes())
            h.update(np.packbits(self.is_text, bitorder="little").tobytes())
            h.update(self.eos_ids.astype("<i4").tobytes())
            fp = h.hexdigest()
            object.__setattr__(self, "_fingerprint", fp)
        return fp


_ENCODE_LOCK = threading.Lock()


def _check_size(vocab_size: Any) -> int:
    """Validate a vocabulary size argument."""
    if isinstance(vocab_size, (bool, np.bool_)) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    return int(vocab_size)


def _check_eos(eos: list[int], size: int, n_defined: int, what: str) -> None:
    """EOS ids must be in ``[0, size)`` and not in the padding ``[n_defined, size)``."""
    for e in eos:
        if not 0 <= e < size:
            raise ValueError(f"{what}: eos id {e} out of range [0, {size})")
        if e >= n_defined:
            raise ValueError(f"{what}: eos id {e} is a padding id (the tokenizer defines ids [0, {n_defined}))")
