"""Comments to vectors: encoders and their registry, the embedding cache, measured speeds, user profiles, the
projection to a clustering space and a map.

``base`` holds what every encoder shares (the protocol, the registry, ``get_encoder``, ``encoder_status``,
``l2_normalise``); each encoder lives in its own module (``minilm``, ``multilingual``, ``tfidf``, ``fast``,
``fitted``, ``openai``) and registers its class when imported; ``estimate`` holds the rough times before any
are measured.
This ``__init__`` imports the encoders, so that :data:`~segmentation.embed.base.ENCODERS` is full whichever
module of the package is imported first; none of them imports a model library before it first encodes. The
order below is the registry's order, which the encoder picker follows: the bundled encoders first, then any
sentence-transformers model, then an OpenAI-compatible endpoint.
"""

# isort: off
from segmentation.embed import minilm, multilingual, tfidf, fast, fitted  # noqa: F401
from segmentation.embed.base import register

# Registered here rather than at its class so the picker lists the bundled encoders first.
register("sentence-transformers")(minilm.SentenceTransformerEncoder)

from segmentation.embed import openai  # noqa: E402, F401
# isort: on
