"""gensim's Word2Vec quick-start (gensim.models.word2vec docs), run unchanged except for the
import lines; the test also runs it with gensim's own imports. common_texts is gensim's
test corpus (gensim.test.utils), spelled out so both runs read the same sentences."""

from embedlab import WordVectors as KeyedVectors  # from gensim.models import KeyedVectors
from embedlab.train import Word2Vec  # from gensim.models import Word2Vec

common_texts = [
    ["human", "interface", "computer"],
    ["survey", "user", "computer", "system", "response", "time"],
    ["eps", "user", "interface", "system"],
    ["system", "human", "system", "eps"],
    ["user", "response", "time"],
    ["trees"],
    ["graph", "trees"],
    ["graph", "minors", "trees"],
    ["graph", "minors", "survey"],
]

model = Word2Vec(sentences=common_texts, vector_size=100, window=5, min_count=1, workers=4)
model.save("word2vec.model")
model = Word2Vec.load("word2vec.model")
model.train([["hello", "world"]], total_examples=1, epochs=1)  # online training

vector = model.wv["computer"]  # get numpy vector of a word
sims = model.wv.most_similar("computer", topn=10)  # get other similar words

word_vectors = model.wv
word_vectors.save("word2vec.wordvectors")
wv = KeyedVectors.load("word2vec.wordvectors", mmap="r")
vector = wv["computer"]  # Get numpy vector of a word

# KeyedVectors' documented queries
print(wv.most_similar(positive=["computer", "human"], negative=["user"], topn=3))
print(wv.most_similar_cosmul(positive=["computer", "human"], negative=["user"], topn=3))
print(wv.doesnt_match(["human", "computer", "interface", "trees"]))
print(wv.similarity("computer", "human"), wv.distance("computer", "human"))
print(wv.n_similarity(["human", "computer"], ["user", "interface"]))
print(wv.rank("computer", "human"), wv.distances("computer", ["human", "trees"]))
print(wv.index_to_key[:3], wv.key_to_index["computer"], wv.get_vector("trees", norm=True)[:3])

assert vector.shape == (100,)
assert len(sims) == 10 and all(isinstance(word, str) for word, _ in sims)
assert sorted(wv.index_to_key) == sorted({w for s in common_texts for w in s})
assert 1 <= wv.rank("computer", "human") <= len(wv.index_to_key) - 1
print("gensim quick-start: ok")
