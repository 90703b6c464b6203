"""Every hash and id the service makes: article ids, claim ids and dedupe fingerprints.

No other module makes hashes, so a change of any scheme happens here, under a new
versioned strategy name, and stored fingerprints stay comparable.

Fingerprint strategy ``minhash-simhash.v1``:

- normalisation ``nfkc-casefold-words.v1``: NFKC, case-folded, ``\\w+`` word tokens joined by
  one space. Markup, punctuation, quote styles and whitespace never change a fingerprint.
- ``content_hash``: sha256 of the normalised text: exact copies (same words, same order).
- ``simhash``: 64-bit SimHash over word 3-shingles hashed with xxh64 (Charikar): near copies
  differ in few bits (Hamming distance ≤ 3 is the usual near-duplicate cut for 64 bits).
- ``minhash``: MinHash (datasketch, affine32 scheme, xxh32 shingle hash, seed 1) over word
  5-shingles, 128 permutations; its Jaccard estimate has a standard error of about 0.044.
- ``lsh_bands``: the signature cut into b bands of r rows, b and r chosen by datasketch's
  optimiser for a Jaccard threshold of 0.5 (128 perms → 25 bands × 5 rows): two bodies
  with shingle Jaccard ≥ 0.5 share at least one band key with probability ≥ 0.97, at 0.3
  with about 0.17, at 0.2 with about 0.008. Band keys are candidates; a dedupe stage confirms
  with the signatures' Jaccard estimate.

Shingle sketch (``streams.core.dedupe`` strategy ``kmv-containment.v1``): the k smallest
distinct xxh32 hashes (seed 2) of the body's word 5-shingles (a KMV / bottom-k sketch), plus
the exact number of distinct shingles. Bodies with at most k shingles keep every hash, so
their similarity is exact. 4 bytes per hash: 1,028 bytes at k = 256.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import xxhash
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from streams.core.config import CoreConfig
from streams.models import FingerprintParams, Fingerprints

NORMALISATION = "nfkc-casefold-words.v1"
SIMHASH_BITS = 64
MINHASH_SEED = 1
SKETCH_SEED = 2

_WORD = re.compile(r"\w+")
_PARENTHETICAL = re.compile(r"\s*[\(\[][^\)\]\n]{0,40}[\)\]]")
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid)$", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def normalise_text(text: str) -> str:
    """The text as fingerprints see it: NFKC, case-folded word tokens joined by one space."""
    return " ".join(_words(text))


def _digest(text: str) -> str:
    """128-bit hex digest used for ids: stable across processes, platforms and versions."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# --------------------------------------------------------------------------- ids


def canonical_url(url: str) -> str:
    """The URL without fragment, tracking parameters, default ports or host case.

    Two fetches of the same page (with utm_* tags, #anchors, upper-case host) get one
    article id.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    netloc = parts.netloc.lower()
    if parts.scheme == "http" and netloc.endswith(":80"):
        netloc = netloc[:-3]
    elif parts.scheme == "https" and netloc.endswith(":443"):
        netloc = netloc[:-4]
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def article_id(url: str, part_index: int) -> str:
    """Stable id of a story on a page: the same page always gets the same id.

    Args:
        url (str): the page's URL (canonicalised here).
        part_index (int): 0 for the page's own story, 1.. for embedded wire stories.

    Returns:
        str: 32 hex digits.
    """
    return _digest(f"article:{canonical_url(url)}#{part_index}")


def normalise_claim(text: str) -> str:
    """A statement as claim ids see it (strategy ``claim-norm.v1``).

    Curly and straight quotes, case, punctuation, whitespace and short editorial
    insertions in brackets ("The deployment (of) troops") do not change the id.
    """
    return " ".join(_words(_PARENTHETICAL.sub(" ", text)))


def claim_id(text: str) -> str:
    """Stable id of a statement: the same quote on fifty sites has one id (32 hex digits)."""
    return _digest(f"claim:{normalise_claim(text)}")


# --------------------------------------------------------------------------- fingerprints


def _shingles(words: list[str], size: int) -> list[bytes]:
    if len(words) < size:
        return [" ".join(words).encode("utf-8")] if words else []
    return [" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)]


def simhash(shingles: Iterable[bytes]) -> int:
    """64-bit Charikar SimHash of shingles (each weighted once)."""
    hashes = np.fromiter((xxhash.xxh64_intdigest(s) for s in shingles), dtype=np.uint64)
    if hashes.size == 0:
        return 0
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - hashes.size
    value = 0
    for bit in np.flatnonzero(votes > 0):
        value |= 1 << int(bit)
    return value


@functools.cache
def _lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(bands), int(rows)


def fingerprint_params(config: CoreConfig) -> FingerprintParams:
    """The parameters fingerprints are made with, recorded in every article."""
    bands, rows = _lsh_shape(config.lsh_threshold, config.minhash_num_perm)
    return FingerprintParams(
        strategy=config.fingerprint_strategy,
        normalisation=NORMALISATION,
        simhash_bits=SIMHASH_BITS,
        simhash_shingle_words=config.simhash_shingle_words,
        minhash_shingle_words=config.minhash_shingle_words,
        minhash_num_perm=config.minhash_num_perm,
        minhash_seed=MINHASH_SEED,
        lsh_bands=bands,
        lsh_rows=rows,
        lsh_threshold=config.lsh_threshold,
    )


def fingerprint(body: str, config: CoreConfig) -> Fingerprints:
    """Dedupe fingerprints of an article body.

    Args:
        body (str): the article body.
        config (CoreConfig): shingle sizes, permutations and LSH threshold.

    Returns:
        Fingerprints: content hash, SimHash, MinHash signature, LSH band keys, parameters.
    """
    params = fingerprint_params(config)
    words = _words(body)
    normalised = " ".join(words)
    minhash = MinHash(
        num_perm=params.minhash_num_perm,
        seed=MINHASH_SEED,
        hashfunc=xxhash.xxh32_intdigest,
        scheme="affine32",
    )
    minhash.update_batch(_shingles(words, params.minhash_shingle_words))
    signature = minhash.hashvalues
    rows = params.lsh_rows
    bands = [
        f"{band}:{xxhash.xxh64_hexdigest(signature[band * rows : (band + 1) * rows].tobytes())}"
        for band in range(params.lsh_bands)
    ]
    return Fingerprints(
        content_hash=hashlib.sha256(normalised.encode("utf-8")).hexdigest(),
        simhash=f"{simhash(_shingles(words, params.simhash_shingle_words)):016x}",
        minhash=[int(v) for v in signature],
        lsh_bands=bands,
        params=params,
    )


def minhash_similarity(a: Fingerprints, b: Fingerprints) -> float:
    """Jaccard estimate of two bodies' shingle sets from their MinHash signatures."""
    if a.params != b.params:
        raise ValueError("fingerprints made with different parameters cannot be compared")
    sig_a, sig_b = np.asarray(a.minhash), np.asarray(b.minhash)
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


def simhash_distance(a: Fingerprints, b: Fingerprints) -> int:
    """Hamming distance between two SimHashes (0 = same, ≤ 3 = near copy)."""
    return (int(a.simhash, 16) ^ int(b.simhash, 16)).bit_count()


# --------------------------------------------------------------------------- shingle sketch


@dataclass(frozen=True, slots=True)
class ShingleSketch:
    """Bottom-k sketch of a body's word shingles, to confirm near-duplicate candidates.

    `hashes` are the k smallest distinct 32-bit shingle hashes, ascending (all of them when
    the body has at most k distinct shingles); `size` is the exact number of distinct
    shingles, so intersections can be estimated from a Jaccard estimate.
    """

    hashes: tuple[int, ...]
    size: int

    def to_bytes(self) -> bytes:
        """Compact encoding: size, then the hashes, all little-endian uint32."""
        return np.asarray((self.size, *self.hashes), dtype="<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ShingleSketch:
        """Inverse of `to_bytes`."""
        values = np.frombuffer(data, dtype="<u4")
        return cls(hashes=tuple(int(v) for v in values[1:]), size=int(values[0]))


def shingle_sketch(body: str, config: CoreConfig) -> ShingleSketch:
    """Bottom-k sketch of the normalised body's word shingles (see the module docstring).

    Args:
        body (str): the article body.
        config (CoreConfig): `minhash_shingle_words` (shingle size) and
            `dedupe_sketch_size` (k).

    Returns:
        ShingleSketch: the k smallest distinct shingle hashes, ascending, and the number of
        distinct shingles.
    """
    shingles = _shingles(_words(body), config.minhash_shingle_words)
    distinct = np.unique(
        np.fromiter(
            (xxhash.xxh32_intdigest(s, seed=SKETCH_SEED) for s in shingles),
            dtype=np.uint32,
            count=len(shingles),
        )
    )
    kept = distinct[: config.dedupe_sketch_size]
    return ShingleSketch(hashes=tuple(int(v) for v in kept), size=int(distinct.size))
