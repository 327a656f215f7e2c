"""sentence-transformers' quick-start (sbert.net, "Usage"), run unchanged except for the
import line. The hub name all-MiniLM-L6-v2 is the model embedlab packages (no download)."""

from embedlab.encoders import SentenceTransformer  # from sentence_transformers import ...

# 1. Load a pretrained Sentence Transformer model
model = SentenceTransformer("all-MiniLM-L6-v2")

# The sentences to encode
sentences = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
]

# 2. Calculate embeddings by calling model.encode()
embeddings = model.encode(sentences)
print(embeddings.shape)
# [3, 384]

# 3. Calculate the embedding similarities
similarities = model.similarity(embeddings, embeddings)
print(similarities)

# one text, normalised, a query with the model's query prompt
one = model.encode("The weather is lovely today.", normalize_embeddings=True)
query = model.encode_query("How is the weather?")
docs = model.encode_document(sentences, batch_size=2, show_progress_bar=False)
print(model.similarity(query, docs))

assert tuple(embeddings.shape) == (3, 384)
assert tuple(similarities.shape) == (3, 3)
assert float(similarities[0][1]) > float(similarities[0][2])  # weather ~ sunny, not stadium
assert tuple(one.shape) == (384,)
print("sentence-transformers quick-start: ok")
