"""Adapters for RAG frameworks, each behind its extra and built on embedlab's public API only.

- :mod:`embedlab.integrations.langchain`: ``EmbedlabEmbeddings`` (a LangChain
  ``Embeddings``) and ``EmbedlabVectorStore`` (a LangChain ``VectorStore``);
  ``pip install 'embedlab[langchain]'``.
- :mod:`embedlab.integrations.llamaindex`: ``EmbedlabEmbedding`` (a LlamaIndex embedding
  model) and ``EmbedlabVectorStore`` (a LlamaIndex vector store);
  ``pip install 'embedlab[llamaindex]'``.

Nothing here is imported by ``import embedlab``.
"""

from __future__ import annotations

from embedlab.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str) -> None:
    """Raise :class:`~embedlab.errors.MissingDependencyError` naming the extra when the
    framework's package is missing.

    Example:
        >>> require("json", "langchain")  # present: nothing happens
    """
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"embedlab.integrations.{extra} needs {module.split('.')[0]}: "
            f"pip install 'embedlab[{extra}]'"
        ) from None
