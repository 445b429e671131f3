"""Build, save, check and load the index: chunks, dense vectors (FAISS), BM25, a manifest.

Layout under the index folder (one per corpus folder; index/builds.py keeps the folders):

    CURRENT            name of the live build, replaced atomically (os.replace)
    .lock              held by the build in progress (fcntl.flock): builds take turns
    builds/<id>/       manifest.json, chunks.jsonl, vectors.npy, dense.faiss, keyword.*,
                       sparse.* (SPLADE term weights, when the sparse list is on)

A build is written into its own folder and only then named in CURRENT, so an interrupted
build leaves the previous index untouched. Rebuilding re-embeds only chunks whose text is new:
vectors (and SPLADE weights) of unchanged chunks are reused from the live build.

Builds hold the lock; readers take none. A build removes the builds CURRENT no longer names,
so a reader that loses its build mid-read loads the one CURRENT names now (load_index retries).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np

from index import builds
from index.builds import Notify, quiet
from index.chunk import ChunkingParams, chunk_document
from index.copies import find_copies
from index.corpus import Known, Skipped, corpus_files, file_hash, link_problem, read_corpus
from index.dense import DenseIndex
from index.errors import CorpusError, IndexCorruptError, IndexMissingError, IndexStaleError
from index.formats import Extracted
from index.keyword import KeywordIndex
from index.sparse import SparseIndex
from index.text import printable, utf8_json
from index.types import Chunk
from models.embedder import Embedder
from models.splade import SparseEncoder

FORMAT = 1
# Folder in a build for the text extracted from web pages and PDFs, one file per original hash.
TEXTS = "texts"
# What a damaged index file raises when read: a truncated .npz is a bad zip archive (EOFError when
# empty, zlib.error when a member is cut), a truncated .npy ends early, faiss says RuntimeError.
UNREADABLE = (OSError, ValueError, TypeError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile, zlib.error)
# A reader retries when its build was replaced while it read it; three tries outlast two
# switches in a row, and a tiny index loads in milliseconds while a build takes longer.
LOAD_ATTEMPTS = 3


class DocumentMeta(TypedDict, total=False):
    title: str
    date: str | None
    author: str | None


class Manifest(TypedDict, total=False):
    """manifest.json of a build: what it was built from and with. Older builds lack some keys,
    so every reader uses .get with a default."""

    format: int
    corpus: str  # the corpus folder, resolved
    embedder: dict[str, Any]  # {"id": model id, "dim": vector size}
    sparse: dict[str, str] | None  # {"id": SPLADE model id}, or None without the sparse list
    chunking: dict[str, Any]  # ChunkingParams as a dict
    files: dict[str, str]  # source -> sha256 of the original file
    documents: dict[str, DocumentMeta]
    converted: dict[str, str]  # source -> "html" or "pdf": its text is in texts/<sha256>.txt
    copies: dict[str, str]  # syndicated copy -> the article that stands for its group
    skipped: dict[str, str]  # source -> why it was not indexed
    skipped_hashes: dict[str, str]  # source -> its hash when skipped (a fixed file rebuilds)
    n_chunks: int
    dense_index: str  # "flat" or "hnsw"
    versions: dict[str, str]
    built_at: str


def index_dir_for(data_dir: Path, corpus: Path) -> Path:
    """Each corpus folder gets its own index: <data>/indexes/<folder name>-<path hash>."""
    resolved = corpus.resolve()
    tag = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    return data_dir / "indexes" / f"{resolved.name or 'corpus'}-{tag}"


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in ("seedqa", "faiss-cpu", "numpy", "scipy", "sentence-transformers", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


@dataclass(frozen=True, slots=True)
class BuildReport:
    n_documents: int
    n_chunks: int
    n_embedded: int  # chunks whose vectors were computed (the rest were reused)
    skipped: tuple[Skipped, ...]
    seconds: float
    sparse_seconds: float = 0.0  # of `seconds`, computing SPLADE weights


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """What an index is made of and where it lives: the corpus folder, the index folder, the
    embedder, the chunking, and the SPLADE encoder when the sparse list is on. A build writes
    exactly these into its manifest, and `stale_reasons` compares the live index with them."""

    corpus: Path
    index_dir: Path
    embedder: Embedder
    chunking: ChunkingParams
    sparse: SparseEncoder | None = None


class IndexStore:
    """The live index of one corpus folder, loaded for search."""

    def __init__(  # type: ignore[no-untyped-def]
        self, folder: Path, manifest: Manifest, chunks: list[Chunk], dense: DenseIndex, keyword: KeywordIndex,
        sparse: SparseIndex | None = None,
    ):  # fmt: skip
        self.folder = folder
        self.manifest = manifest
        self.chunks = chunks
        self.dense = dense
        self.keyword = keyword
        self.sparse = sparse  # SPLADE term weights; None for a build without the sparse list
        # Each syndicated copy -> the article that stands for its group (index/copies.py).
        self.copies: dict[str, str] = manifest.get("copies", {})
        self._sources: dict[str, str | None] = {}

    def source_text(self, source: str) -> str | None:
        """The text of an indexed file as it was indexed, or None if it changed or vanished.

        Chunk offsets point into this text; a file edited since indexing has other offsets,
        so its text is only returned while its hash still matches the manifest.
        """
        if source not in self._sources:
            self._sources[source] = self._read_source(source)
        return self._sources[source]

    def _read_source(self, source: str) -> str | None:
        path = Path(self.manifest.get("corpus", "")) / source
        sha256 = self.manifest.get("files", {}).get(source)
        try:
            data = path.read_bytes()
            if file_hash(data) != sha256:
                return None
            # A web page or PDF: the text extracted at build time, kept in the build.
            converted = source in self.manifest.get("converted", {})
            return _extracted_text(self.folder, sha256) if converted else data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def left_out_text(self) -> str:
        """What the cleaner left out of the indexed files, joined: the text of each file outside
        its chunks (page furniture, appeal lines, captions). Not searched and never quoted, but the
        user's files do say it: the seeds name their publication, "KJ Report", only in an appeal
        line. Read file by file, each once, and not kept (a large corpus would hold it all)."""
        spans: dict[str, list[tuple[int, int]]] = {}
        for chunk in self.chunks:
            spans.setdefault(chunk.source, []).append((chunk.start, chunk.end))
        pieces = []
        for source, chunked in spans.items():
            text = self._sources.get(source) or self._read_source(source)
            if text is not None:
                pieces.extend(outside(text, chunked))
        return "\n".join(pieces)


def outside(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The pieces of `text` that no (start, end) span covers, in order."""
    pieces, at = [], 0
    for start, end in sorted(spans):
        if start > at:
            pieces.append(text[at:start])
        at = max(at, end)
    if at < len(text):
        pieces.append(text[at:])
    return pieces


def _extracted_text(build: Path, sha256: str) -> str:
    return (build / TEXTS / f"{sha256}.txt").read_text(encoding="utf-8")


def _previous_extractions(index_dir: Path) -> Known:
    """The live build's extracted texts by original-file hash: an unchanged web page or PDF is
    not converted again (nor, with the same text, embedded again)."""
    build = builds.live_build(index_dir)
    manifest = read_manifest(index_dir)
    if build is None or manifest is None:
        return lambda sha256: None
    by_hash = {
        manifest["files"][source]: (kind, manifest.get("documents", {}).get(source, {}))
        for source, kind in manifest.get("converted", {}).items()
        if source in manifest.get("files", {})
    }

    def known(sha256: str) -> Extracted | None:
        if sha256 not in by_hash:
            return None
        kind, meta = by_hash[sha256]
        try:
            text = _extracted_text(build, sha256)
        except (OSError, UnicodeDecodeError):
            return None
        return Extracted(text, meta.get("title"), meta.get("author"), meta.get("date"), kind)

    return known


def read_manifest(index_dir: Path) -> Manifest | None:
    build = builds.live_build(index_dir)
    if build is None:
        return None
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cast(Manifest, manifest) if isinstance(manifest, dict) else None


def stale_reasons(spec: IndexSpec) -> list[str]:
    """Why the live index does not match the corpus and settings; empty when it is fresh.

    With the sparse list on (`spec.sparse`), an index built without it (or with another model)
    is stale. An index with a sparse list still serves a search without one.

    Raises CorpusError first when the corpus folder is missing, before any "indexing" notice.
    """
    corpus, embedder, params, sparse = spec.corpus, spec.embedder, spec.chunking, spec.sparse
    files = corpus_files(corpus)
    manifest = read_manifest(spec.index_dir)
    if manifest is None:
        return ["no index has been built"]
    reasons: list[str] = []
    if manifest.get("format") != FORMAT:
        reasons.append(f"index format {manifest.get('format')} != {FORMAT}")
    if manifest.get("embedder", {}).get("id") != embedder.model_id:
        reasons.append(f"embedder changed ({manifest.get('embedder', {}).get('id')} -> {embedder.model_id})")
    built_sparse = (manifest.get("sparse") or {}).get("id")
    if sparse is not None and built_sparse is None:
        reasons.append("the index has no SPLADE weights (built with the sparse list off)")
    elif sparse is not None and built_sparse != sparse.model_id:
        reasons.append(f"sparse model changed ({built_sparse} -> {sparse.model_id})")
    if manifest.get("chunking") != dataclasses.asdict(params):
        reasons.append(f"chunking changed ({manifest.get('chunking')} -> {dataclasses.asdict(params)})")
    indexed: dict[str, str] = manifest.get("files", {})
    skipped = set(manifest.get("skipped", {}))
    skipped_hashes: dict[str, str] = manifest.get("skipped_hashes", {})  # absent in older builds
    current = {path.relative_to(corpus).as_posix(): _current_hash(corpus, path) for path in files}
    for source in sorted(set(indexed) | set(current)):
        shown = printable(source)
        if source not in current:
            reasons.append(f"{shown} was removed")
        elif source not in indexed and source not in skipped:
            reasons.append(f"{shown} is new")
        elif source in indexed and indexed[source] != current[source]:
            reasons.append(f"{shown} changed")
        elif source in skipped_hashes and skipped_hashes[source] != current[source]:
            reasons.append(f"{shown} changed (it was skipped)")  # re-saved as UTF-8, say
    return reasons


def _current_hash(corpus: Path, path: Path) -> str:
    """The file's hash as the manifest records it; a link the corpus does not follow is never read."""
    if link_problem(corpus, path) is not None:
        return "not followed"
    try:
        return file_hash(path.read_bytes())
    except OSError:
        return "unreadable"


def _previous_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the live build keyed by chunk-text hash, if it used the same embedder."""
    build = builds.live_build(index_dir)
    manifest = read_manifest(index_dir)
    if build is None or manifest is None or manifest.get("embedder", {}).get("id") != embedder.model_id:
        return {}
    try:
        vectors = np.load(build / "vectors.npy")
        with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
            texts = [json.loads(line)["text"] for line in handle]
    except UNREADABLE:
        return {}  # a damaged live build: embed everything again
    if vectors.shape != (len(texts), embedder.dim):
        return {}
    return {_text_key(t): v for t, v in zip(texts, vectors, strict=True)}


def _previous_sparse(index_dir: Path, encoder: SparseEncoder) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """SPLADE weights of the live build's chunks keyed by chunk-text hash, if from the same model."""
    build = builds.live_build(index_dir)
    if build is None:
        return {}
    try:
        stored = SparseIndex.load(build)
        with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
            texts = [json.loads(line)["text"] for line in handle]
    except UNREADABLE:
        return {}
    if stored is None or stored.model_id != encoder.model_id or stored.n_docs != len(texts):
        return {}
    return {_text_key(t): column for t, column in zip(texts, stored.columns(), strict=True)}


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def build_index(spec: IndexSpec, *, progress: bool = False, notify: Notify = quiet) -> BuildReport:
    """Build the index of `spec.corpus` in `spec.index_dir` and make it the live one.

    Builds of one index folder take turns; `notify` hears it when this one has to wait.
    A folder that cannot be written raises IndexWriteError before any article is read.
    """
    _check_inputs(spec)
    with builds.build_lock(spec.index_dir, notify):
        return _build(spec, progress=progress, notify=notify)


def _check_inputs(spec: IndexSpec) -> None:
    """Refuse settings and corpus paths that cannot work, before any index folder is made."""
    corpus, embedder, params = spec.corpus, spec.embedder, spec.chunking
    if params.max_tokens > embedder.max_tokens:
        raise CorpusError(
            f"chunks of {params.max_tokens} tokens exceed what {embedder.model_id} reads "
            f"({embedder.max_tokens}); lower the chunk size"
        )
    if not corpus.is_dir():
        corpus_files(corpus)  # raises the CorpusError that says what is wrong with the path


def _build(spec: IndexSpec, *, progress: bool, notify: Notify) -> BuildReport:
    """build_index's work, for a caller that holds the build lock."""
    corpus, index_dir, embedder, params, sparse = spec.corpus, spec.index_dir, spec.embedder, spec.chunking, spec.sparse
    began = time.perf_counter()
    with builds.staging(index_dir) as (build_id, staging):
        documents, skipped = read_corpus(corpus, notify=notify, known=_previous_extractions(index_dir))
        from tqdm import tqdm

        chunks: list[Chunk] = []
        bar = tqdm(documents, desc="chunking", unit="article", file=sys.stderr, disable=not progress, leave=False)
        for document in bar:
            chunks.extend(chunk_document(document, params, embedder.count_tokens))
        if not chunks:
            raise CorpusError(f"the articles in {printable(str(corpus))} produced no text to index")

        reuse = _previous_vectors(index_dir, embedder)
        keys = [_text_key(c.text) for c in chunks]
        todo = [i for i, key in enumerate(keys) if key not in reuse]
        vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            if key in reuse:
                vectors[i] = reuse[key]
        if todo:
            vectors[todo] = embedder.embed_documents([chunks[i].text for i in todo], progress=progress)
        sparse_index = None
        sparse_began = time.perf_counter()
        if sparse is not None:
            known = _previous_sparse(index_dir, sparse)
            sparse_index = SparseIndex.build(
                [c.text for c in chunks], sparse, known=[known.get(k) for k in keys], progress=progress
            )
        sparse_seconds = time.perf_counter() - sparse_began

        dense = DenseIndex.build(vectors)
        manifest: Manifest = {
            "format": FORMAT,
            "corpus": str(corpus.resolve()),
            "embedder": {"id": embedder.model_id, "dim": embedder.dim},
            "sparse": {"id": sparse.model_id} if sparse is not None else None,
            "chunking": dataclasses.asdict(params),
            "files": {d.source: d.sha256 for d in documents},
            "documents": {d.source: {"title": d.title, "date": d.date, "author": d.author} for d in documents},
            "converted": {d.source: d.converted for d in documents if d.converted},
            "copies": find_copies(documents),
            "skipped": {s.source: s.reason for s in skipped},
            "skipped_hashes": {s.source: _current_hash(corpus, corpus / s.source) for s in skipped},
            "n_chunks": len(chunks),
            "dense_index": dense.kind,
            "versions": _versions(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        with builds.writing(index_dir):
            with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
                for chunk in chunks:
                    handle.write(utf8_json(dataclasses.asdict(chunk)) + "\n")
            np.save(staging / "vectors.npy", vectors)
            dense.save(staging)
            KeywordIndex.build([c.text for c in chunks]).save(staging)
            if sparse_index is not None:
                sparse_index.save(staging)
            converted = [d for d in documents if d.converted]
            if converted:
                (staging / TEXTS).mkdir()
            for document in converted:
                (staging / TEXTS / f"{document.sha256}.txt").write_text(document.text, encoding="utf-8")
            (staging / "manifest.json").write_text(utf8_json(manifest, indent=2), encoding="utf-8")
        builds.publish(index_dir, staging, build_id)
    return BuildReport(
        len(documents), len(chunks), len(todo), tuple(skipped), time.perf_counter() - began, sparse_seconds
    )


def load_index(index_dir: Path) -> IndexStore:
    """Load the live build, retrying when it was replaced while being read.

    A rebuild switches CURRENT and then removes the build it replaced, maybe halfway through this
    read; the read fails, CURRENT names another build, and that one is read. A damaged build that
    CURRENT still names raises at once.
    """
    attempt = 1
    while True:
        name = builds.current_name(index_dir)
        try:
            return _load_build(index_dir, name)
        except (IndexMissingError, IndexCorruptError):
            vanished = name is not None and not (index_dir / "builds" / name).is_dir()
            if attempt == LOAD_ATTEMPTS or (builds.current_name(index_dir) == name and not vanished):
                raise  # a damaged live build, or no index at all
            attempt += 1


def _load_build(index_dir: Path, name: str | None) -> IndexStore:
    build = index_dir / "builds" / name if name else None
    if build is None or not build.is_dir():
        raise IndexMissingError(f"no index at {index_dir}; run `seedqa index --corpus DIR`")
    try:
        loaded = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError("manifest.json does not hold an object")
        manifest = cast(Manifest, loaded)
        with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
            chunks = [Chunk(**json.loads(line)) for line in handle]
        dense = DenseIndex.load(build)
        keyword = KeywordIndex.load(build)
        sparse = SparseIndex.load(build)
        # Search does not read the vectors; mapping them checks their header and length only.
        vectors_shape = np.load(build / "vectors.npy", mmap_mode="r").shape
        manifest_sparse = manifest.get("sparse")
    except UNREADABLE as exc:
        raise IndexCorruptError(
            f"the index at {build} is unreadable ({exc}); rebuild it with `seedqa index --corpus DIR`"
        ) from exc
    if manifest.get("format") != FORMAT:
        raise IndexStaleError(f"the index at {index_dir} has format {manifest.get('format')}; run `seedqa index`")
    consistent = (
        len(chunks) == dense.size == keyword.n_docs == manifest.get("n_chunks")
        and vectors_shape == (len(chunks), dense.dim)
        and (sparse is None) == (manifest_sparse is None)  # a vanished sparse.npz reads as "no sparse list"
        and (sparse is None or sparse.n_docs == len(chunks))
    )
    if not consistent:
        raise IndexCorruptError(f"the index at {build} is inconsistent; rebuild it with `seedqa index`")
    return IndexStore(build, manifest, chunks, dense, keyword, sparse)


def ensure_index(
    spec: IndexSpec, *, rebuild: bool = True, progress: bool = False, notify: Notify = quiet
) -> IndexStore:
    """Load the index, building or refreshing it first when the corpus or settings changed.

    A fresh index is loaded without the build lock (a read-only data folder serves questions).
    A process that had to wait for another's build checks again: that build may be the one it needed.
    """
    corpus, index_dir = spec.corpus, spec.index_dir
    reasons = stale_reasons(spec)
    if reasons and not rebuild:
        raise IndexStaleError(
            f"the index is out of date ({'; '.join(reasons[:3])}); run `seedqa index --corpus {corpus}`"
        )
    if reasons:
        _check_inputs(spec)
        with builds.build_lock(index_dir, notify):
            reasons = stale_reasons(spec)
            if reasons:
                notify(f"indexing {corpus} ({'; '.join(reasons[:3])}{'; ...' if len(reasons) > 3 else ''})")
                report = _build(spec, progress=progress, notify=notify)
                for skip in report.skipped:
                    notify(f"skipped {printable(skip.source)}: {skip.reason}")
                notify(
                    f"indexed {report.n_documents} articles into {report.n_chunks} chunks "
                    f"({report.n_embedded} embedded) in {report.seconds:.1f} s"
                )
    return load_index(index_dir)
