"""Compiled SGD kernels for word2vec-style training (numba, nogil: threads run them hogwild).

A chunk is a run of raw token ids with ``-1`` at line ends (see ``embedlab.text.encode``).
The kernel maps raw ids to vocabulary ids, drops pruned words, subsamples frequent ones,
and trains each line with negative sampling:

* skip-gram shares one set of negative samples across a centre word's whole window, so
  the update is a small (context x targets) matrix product (Ji et al., "Parallelizing
  Word2Vec in shared and distributed memory", the pWord2Vec scheme); with
  ``pair_negatives`` (graph walks) each (context, centre) pair draws its own negatives
  and is updated on its own, as word2vec.c and gensim do;
* CBOW averages the window's input vectors and predicts the centre word.

Randomness is a 64-bit LCG seeded per chunk, so one thread and one seed give the same
vectors bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from embedlab.train._prefetch import prefetch as _prefetch

MAX_EXP = 6.0
TABLE_SIZE = 1024
_LCG_MUL = np.uint64(25214903917)
_LCG_ADD = np.uint64(11)


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    """Tables of sigmoid(x) and log(sigmoid(x)) on [-MAX_EXP, MAX_EXP]."""
    x = (np.arange(TABLE_SIZE, dtype=np.float64) + 0.5) / TABLE_SIZE * 2 * MAX_EXP - MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32)


@njit(cache=True, nogil=True)
def build_alias(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for sampling index i with probability weights[i] / sum."""
    n = weights.shape[0]
    scaled = weights.astype(np.float64) * n / weights.sum()
    prob = np.ones(n, dtype=np.float32)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = scaled[g] + scaled[s] - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    return prob, alias


@njit(cache=True, nogil=True, inline="always")
def _next(state: np.uint64) -> np.uint64:
    return state * _LCG_MUL + _LCG_ADD


@njit(cache=True, nogil=True, inline="always")
def _uniform(state: np.uint64) -> float:
    return float(state >> np.uint64(40)) * (1.0 / 16777216.0)


@njit(cache=True, nogil=True, inline="always")
def _score(f: Any, positive: bool, sig: np.ndarray, logsig: np.ndarray) -> tuple[Any, Any]:
    """(label - sigmoid(f), log-likelihood of the label), from the tables.

    With x = f for the positive target and -f for a negative one, the likelihood is
    sigmoid(x); beyond ±MAX_EXP the sigmoid is taken as 0 or 1, as word2vec.c does.
    """
    x = f if positive else -f
    if x >= MAX_EXP:
        return 0.0, 0.0
    if x <= -MAX_EXP:
        return (1.0 if positive else -1.0), x
    i = int((x + MAX_EXP) * (TABLE_SIZE / (2 * MAX_EXP)))
    miss = 1.0 - sig[i]
    return (miss if positive else -miss), logsig[i]


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _dot(a: np.ndarray, b: np.ndarray) -> Any:
    f = np.float32(0.0)
    for k in range(a.shape[0]):
        f += a[k] * b[k]
    return f


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _add_input_rows(
    w_in: np.ndarray, sub_offsets: np.ndarray, sub_rows: np.ndarray, word: int, acc: np.ndarray
) -> int:
    """Add the input rows of word (itself, plus its n-grams for fastText) to acc; count them."""
    dim = acc.shape[0]
    for p in range(sub_offsets[word], sub_offsets[word + 1]):
        row = w_in[sub_rows[p]]
        for k in range(dim):
            acc[k] += row[k]
    return int(sub_offsets[word + 1] - sub_offsets[word])


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _update_input_rows(
    w_in: np.ndarray, sub_offsets: np.ndarray, sub_rows: np.ndarray, word: int, delta: np.ndarray
) -> None:
    """Add delta to every input row of word."""
    dim = delta.shape[0]
    for p in range(sub_offsets[word], sub_offsets[word + 1]):
        row = w_in[sub_rows[p]]
        for k in range(dim):
            row[k] += delta[k]


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _cbow_step(
    src: np.ndarray,
    idx: np.ndarray,
    weight: np.ndarray,
    pending: np.ndarray,
    cached: bool,
    n_ctx: int,
    outs: np.ndarray,
    n_out: int,
    w_out: np.ndarray,
    hidden: np.ndarray,
    err: np.ndarray,
    sig: np.ndarray,
    logsig: np.ndarray,
    alpha: float,
    frozen: int,
    learn_out: bool,
) -> float:
    """The mean of all the context's input rows predicts the centre (outs[0]).

    Context word m's input is ``src[idx[m]]``: its own row of w_in, or (cached) the
    line's mean over its rows, weighted by ``weight[idx[m]]`` rows. Input rows below
    ``frozen`` and (unless ``learn_out``) the output rows keep their values.
    """
    dim = hidden.shape[0]
    hidden[:] = 0.0
    err[:] = 0.0
    n_rows = np.float32(0.0)
    for m in range(n_ctx):
        vec = src[idx[m]]
        w = weight[idx[m]] if cached else np.float32(1.0)
        n_rows += w
        for k in range(dim):
            hidden[k] += w * vec[k]
    scale = np.float32(1.0 / n_rows)
    for k in range(dim):
        hidden[k] *= scale
    loss = 0.0
    for n in range(n_out):
        out_row = w_out[outs[n]]
        g, loglik = _score(_dot(hidden, out_row), n == 0, sig, logsig)
        loss -= loglik
        g = np.float32(g * alpha)
        for k in range(dim):
            err[k] += g * out_row[k]
        if learn_out:
            for k in range(dim):
                out_row[k] += g * hidden[k]
    for m in range(n_ctx):
        _apply(src, idx[m], pending, cached, err, frozen)
    return loss


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _skipgram_step(
    src: np.ndarray,
    idx: np.ndarray,
    pending: np.ndarray,
    cached: bool,
    n_ctx: int,
    outs: np.ndarray,
    n_out: int,
    w_out: np.ndarray,
    grads: np.ndarray,
    errs: np.ndarray,
    sig: np.ndarray,
    logsig: np.ndarray,
    alpha: float,
    frozen: int,
    learn_out: bool,
    n_pos: int,
) -> float:
    """Each context word's input ``src[idx[m]]`` predicts the centre; negatives are shared.

    As in pWord2Vec, the update is two small matrix products over the (context x
    targets) gradients, both computed from the vectors as they were before this step
    (the inputs change only in the last loop). The first ``n_pos`` targets are positive
    (more than one in PV-DBOW with shared negatives), the rest negative.
    """
    dim = w_out.shape[1]
    loss = 0.0
    for m in range(n_ctx):
        vec = src[idx[m]]
        for n in range(n_out):
            g, loglik = _score(_dot(vec, w_out[outs[n]]), n < n_pos, sig, logsig)
            loss -= loglik
            grads[m, n] = g * alpha
    for m in range(n_ctx):
        e = errs[m]
        e[:] = 0.0
        for n in range(n_out):
            g = grads[m, n]
            out_row = w_out[outs[n]]
            for k in range(dim):
                e[k] += g * out_row[k]
    if learn_out:
        for n in range(n_out):
            out_row = w_out[outs[n]]
            for m in range(n_ctx):
                g = grads[m, n]
                vec = src[idx[m]]
                for k in range(dim):
                    out_row[k] += g * vec[k]
    for m in range(n_ctx):
        _apply(src, idx[m], pending, cached, errs[m], frozen)
    return loss


@njit(cache=True, nogil=True, inline="always")
def _prefetch_pair(
    src: np.ndarray, i: int, w_out: np.ndarray, outs: np.ndarray, n_out: int
) -> None:
    """Prefetch input row src[i] and the output rows of its targets, 16 floats a line."""
    dim = w_out.shape[1]
    for c in range(0, dim, 16):
        _prefetch(src, i, c)
    for n in range(n_out):
        for c in range(0, dim, 16):
            _prefetch(w_out, outs[n], c)


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _pair_step(
    src: np.ndarray,
    i: int,
    pending: np.ndarray,
    cached: bool,
    outs: np.ndarray,
    n_out: int,
    w_out: np.ndarray,
    work: np.ndarray,
    sig: np.ndarray,
    logsig: np.ndarray,
    alpha: float,
    frozen: int,
    learn_out: bool,
    n_pos: int,
) -> float:
    """One input ``src[i]`` predicts its own draw of targets, as gensim's fast_sentence_sg_neg.

    Targets are taken in turn (an output row drawn twice sees its first update); the
    input moves once, by the summed error, at the end. A target whose dot product lies
    beyond ±MAX_EXP is skipped, loss included (gensim's rule; word2vec.c instead applies
    the saturated gradient, which on a graph keeps pushing hubs apart).
    """
    dim = w_out.shape[1]
    vec = src[i]
    work[:] = 0.0
    loss = 0.0
    for n in range(n_out):
        out_row = w_out[outs[n]]
        f = _dot(vec, out_row)
        if f <= -MAX_EXP or f >= MAX_EXP:
            continue
        x = f if n < n_pos else -f
        t = int((x + MAX_EXP) * (TABLE_SIZE / (2 * MAX_EXP)))
        miss = 1.0 - sig[t]
        loss -= logsig[t]
        g = np.float32((miss if n < n_pos else -miss) * alpha)
        for k in range(dim):
            work[k] += g * out_row[k]
        if learn_out:
            for k in range(dim):
                out_row[k] += g * vec[k]
    _apply(src, i, pending, cached, work, frozen)
    return loss


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _apply(
    src: np.ndarray, i: int, pending: np.ndarray, cached: bool, delta: np.ndarray, frozen: int
) -> None:
    """Add delta to input src[i]; when cached, also to the update waiting for the line's end.

    Adding delta to all of a word's rows adds delta to their mean, so a cached mean stays
    exact for the word's own rows. Uncached rows below ``frozen`` are left as they are.
    """
    if not cached and i < frozen:
        return
    row = src[i]
    for k in range(delta.shape[0]):
        row[k] += delta[k]
    if cached:
        wait = pending[i]
        for k in range(delta.shape[0]):
            wait[k] += delta[k]


@njit(cache=True, nogil=True, inline="always")
def _draw_negatives(
    outs: np.ndarray,
    n_pos: int,
    negative: int,
    alias_prob: np.ndarray,
    alias_idx: np.ndarray,
    vocab_size: np.uint64,
    state: np.uint64,
) -> tuple[int, np.uint64]:
    """Append up to ``negative`` noise draws to the n_pos positives at the head of outs.

    A draw equal to a positive is dropped (word2vec.c does the same). Returns the number
    of targets and the advanced random state.
    """
    n_out = n_pos
    for _ in range(negative):
        state = _next(state)
        cand = np.int64((state >> np.uint64(16)) % vocab_size)
        state = _next(state)
        target = cand if _uniform(state) < alias_prob[cand] else np.int64(alias_idx[cand])
        clash = False
        for g in range(n_pos):
            if target == outs[g]:
                clash = True
        if not clash:
            outs[n_out] = target
            n_out += 1
    return n_out, state


@njit(cache=True, nogil=True, fastmath=True)
def train_chunk(
    tokens: np.ndarray,
    remap: np.ndarray,
    keep: np.ndarray,
    w_in: np.ndarray,
    w_out: np.ndarray,
    sub_offsets: np.ndarray,
    sub_rows: np.ndarray,
    alias_prob: np.ndarray,
    alias_idx: np.ndarray,
    sig: np.ndarray,
    logsig: np.ndarray,
    window: int,
    negative: int,
    cbow: bool,
    cache_lines: bool,
    alpha_start: float,
    alpha_end: float,
    seed: np.uint64,
) -> tuple[float, int, int]:
    """Train on one chunk; return (loss sum, loss terms, words trained after subsampling).

    Without ``cache_lines`` (word2vec) word w's input vector is row w of w_in and the
    two sub arrays are not read. With it (fastText) the input is the mean of rows
    ``sub_rows[sub_offsets[w]:sub_offsets[w+1]]`` (the word's row and its n-grams' rows);
    each word of a line gets that mean computed once, and the updates to its rows are
    summed and written back when the line ends, so a word with n-grams is read and
    written once per line instead of once per window it falls in.
    """
    return train_lines(
        tokens, remap, keep, w_in, w_out, sub_offsets, sub_rows, alias_prob, alias_idx,
        sig, logsig, window, negative, cbow, cache_lines, alpha_start, alpha_end, seed,
        np.empty(0, dtype=np.int64), 0, True, 0, True, 1, False,
    )  # fmt: skip


@njit(cache=True, nogil=True, fastmath=True)
def train_lines(
    tokens: np.ndarray,
    remap: np.ndarray,
    keep: np.ndarray,
    w_in: np.ndarray,
    w_out: np.ndarray,
    sub_offsets: np.ndarray,
    sub_rows: np.ndarray,
    alias_prob: np.ndarray,
    alias_idx: np.ndarray,
    sig: np.ndarray,
    logsig: np.ndarray,
    window: int,
    negative: int,
    cbow: bool,
    cache_lines: bool,
    alpha_start: float,
    alpha_end: float,
    seed: np.uint64,
    line_rows: np.ndarray,
    first_line: int,
    word_context: bool,
    frozen_rows: int,
    learn_out: bool,
    share: int,
    pair_negatives: bool,
) -> tuple[float, int, int]:
    """:func:`train_chunk` generalised to document vectors (Doc2Vec) and frozen weights.

    When ``line_rows`` is not empty, line ``l`` of the chunk (counting every line end)
    has the document row ``line_rows[first_line + l]`` of w_in (-1: none), which joins
    every window of that line as one more context input: with CBOW that is PV-DM, with
    skip-gram PV-DBOW with word training; without ``word_context`` the document row is
    the only input (plain PV-DBOW). A line with a document trains from one word on.
    Uncached input rows below ``frozen_rows`` are never updated, nor, unless
    ``learn_out``, the output rows (inferring a new document's vector). In plain PV-DBOW,
    ``share`` consecutive words of a document are predicted together from its row with
    one draw of negatives (the pWord2Vec idea, turned around: one input, several
    positives); ``share=1`` draws negatives for every word, as gensim does.
    With ``pair_negatives`` (skip-gram only), every (context, centre) pair draws its own
    ``negative`` samples and is trained on its own, instead of one draw shared by the
    whole window: word2vec.c's and gensim's scheme, which node2vec's walks need (a
    window's shared draw gives a sparse graph's nodes ten times fewer distinct
    negatives; see benchmarks/node2vec.py).
    """
    n_tokens = tokens.shape[0]
    dim = w_in.shape[1]
    vocab_size = np.uint64(alias_prob.shape[0])
    state = seed
    sent = np.empty(n_tokens, dtype=np.int32)
    ctx = np.empty(2 * window + 1, dtype=np.int32)
    ctx_pos = np.empty(2 * window + 1, dtype=np.int32)
    outs = np.empty(negative + share, dtype=np.int32)
    grads = np.empty((2 * window + 1, negative + share), dtype=np.float32)
    pair_outs = np.empty((2 * window + 1, negative + share), dtype=np.int32)
    pair_n = np.empty(2 * window + 1, dtype=np.int64)
    err = np.zeros((2 * window + 1, dim), dtype=np.float32)
    has_docs = line_rows.shape[0] > 0
    min_length = 1 if has_docs else 2
    line = first_line
    doc = -1
    hidden = np.empty(dim, dtype=np.float32)
    # The line cache (fastText): mean input, pending update and row count per position.
    comp = np.empty((16, dim), dtype=np.float32)
    pending = np.empty((16, dim), dtype=np.float32)
    weight = np.empty(16, dtype=np.float32)
    loss = 0.0
    terms = 0
    trained = 0
    length = 0
    for pos in range(n_tokens + 1):
        raw = tokens[pos] if pos < n_tokens else -1
        if raw >= 0:
            word = remap[raw]
            if word < 0:
                continue
            state = _next(state)
            if keep[word] < 1.0 and keep[word] < _uniform(state):
                continue
            sent[length] = word
            length += 1
            continue
        this_line = line
        line += 1
        if length < min_length:
            length = 0
            continue
        if has_docs:
            doc = line_rows[this_line]
            if doc < 0 and length < 2:
                length = 0
                continue
        # A line ends: train on its retained words.
        alpha = alpha_start + (alpha_end - alpha_start) * (pos / max(n_tokens, 1))
        trained += length
        if cache_lines:
            if comp.shape[0] < length:
                size = max(length, 2 * comp.shape[0])
                comp = np.empty((size, dim), dtype=np.float32)
                pending = np.empty((size, dim), dtype=np.float32)
                weight = np.empty(size, dtype=np.float32)
            for p in range(length):
                mean = comp[p]
                mean[:] = 0.0
                pending[p][:] = 0.0
                n = _add_input_rows(w_in, sub_offsets, sub_rows, sent[p], mean)
                weight[p] = n
                scale = np.float32(1.0 / n)
                for k in range(dim):
                    mean[k] *= scale
        src = comp if cache_lines else w_in
        idx = ctx_pos if cache_lines else ctx
        i = 0
        while i < length:
            group = 1
            if doc >= 0 and not word_context:
                group = min(share, length - i)
            n_ctx = 0
            if word_context:
                state = _next(state)
                reach = window - int((state >> np.uint64(16)) % np.uint64(window))
                for j in range(max(0, i - reach), min(length, i + reach + 1)):
                    if j != i:
                        ctx[n_ctx] = sent[j]
                        ctx_pos[n_ctx] = j
                        n_ctx += 1
            if doc >= 0:
                ctx[n_ctx] = doc
                n_ctx += 1
            if n_ctx == 0:
                i += group
                continue
            for g in range(group):
                outs[g] = sent[i + g]
            if pair_negatives and not cbow:
                # Every pair's targets are drawn first (the same random numbers in the same
                # order as drawing pair by pair); while one pair trains, the next pair's
                # rows are fetched into cache, so their memory latencies overlap.
                for m in range(n_ctx):
                    row = pair_outs[m]
                    for g in range(group):
                        row[g] = outs[g]
                    pair_n[m], state = _draw_negatives(
                        row, group, negative, alias_prob, alias_idx, vocab_size, state
                    )
                _prefetch_pair(src, idx[0], w_out, pair_outs[0], pair_n[0])
                for m in range(n_ctx):
                    if m + 1 < n_ctx:
                        _prefetch_pair(src, idx[m + 1], w_out, pair_outs[m + 1], pair_n[m + 1])
                    loss += _pair_step(
                        src, idx[m], pending, cache_lines, pair_outs[m], pair_n[m], w_out,
                        err[0], sig, logsig, alpha, frozen_rows, learn_out, group,
                    )  # fmt: skip
                    terms += pair_n[m]
                i += group
                continue
            n_out, state = _draw_negatives(
                outs, group, negative, alias_prob, alias_idx, vocab_size, state
            )
            if cbow:
                loss += _cbow_step(
                    src, idx, weight, pending, cache_lines, n_ctx, outs, n_out, w_out,
                    hidden, err[0], sig, logsig, alpha, frozen_rows, learn_out,
                )  # fmt: skip
                terms += n_out
            else:
                loss += _skipgram_step(
                    src, idx, pending, cache_lines, n_ctx, outs, n_out, w_out, grads, err,
                    sig, logsig, alpha, frozen_rows, learn_out, group,
                )  # fmt: skip
                terms += n_ctx * n_out
            i += group
        if cache_lines:
            for p in range(length):
                _update_input_rows(w_in, sub_offsets, sub_rows, sent[p], pending[p])
        length = 0
    return loss, terms, trained


def chunk_seed(seed: int, epoch: int, chunk: int) -> np.uint64:
    """A well-mixed 64-bit seed for one (epoch, chunk) job (splitmix64)."""
    z = seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + chunk * 0x94D049BB133111EB + 1
    z &= 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(z ^ (z >> 31))


__all__ = [
    "MAX_EXP",
    "build_alias",
    "chunk_seed",
    "sigmoid_tables",
    "train_chunk",
    "train_lines",
]
