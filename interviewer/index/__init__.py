from .chunks import Chunk, bank_chunks, question_chunks
from .retriever import Hit, HybridRetriever
from .store import IndexStore, SyncReport

__all__ = ["Chunk", "Hit", "HybridRetriever", "IndexStore", "SyncReport", "bank_chunks", "question_chunks"]
