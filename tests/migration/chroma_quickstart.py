"""Chroma's getting-started guide (docs.trychroma.com), run unchanged except for the import
line. Documents are embedded by all-MiniLM-L6-v2, Chroma's default embedding function too."""

import embedlab.chroma as chromadb  # import chromadb

chroma_client = chromadb.Client()

# switch `create_collection` to `get_or_create_collection` to avoid creating a new one every time
collection = chroma_client.get_or_create_collection(name="my_collection")

# switch `add` to `upsert` to avoid adding the same documents every time
collection.upsert(
    documents=[
        "This is a document about pineapple",
        "This is a document about oranges",
    ],
    ids=["id1", "id2"],
)

results = collection.query(
    query_texts=["This is a query document about florida"],  # Chroma will embed this for you
    n_results=2,  # how many results to return
)

print(results)

# more of the documented collection API
collection.add(
    ids=["id3"],
    documents=["This is a document about apples"],
    metadatas=[{"fruit": "apple"}],
)
print(collection.count(), collection.peek(2)["ids"])
apples = collection.query(
    query_texts=["apple pie"], n_results=3, where={"fruit": "apple"}, include=["documents"]
)
print(collection.get(ids=["id3"])["metadatas"])
with_doc = collection.query(
    query_texts=["fruit"], n_results=3, where_document={"$contains": "oranges"}
)

assert results["ids"][0] == ["id2", "id1"] or results["ids"][0] == ["id1", "id2"]
assert len(results["documents"][0]) == 2 and len(results["distances"][0]) == 2
assert collection.count() == 3
assert apples["ids"] == [["id3"]]
assert with_doc["ids"] == [["id2"]]
print("Chroma quick-start: ok")
