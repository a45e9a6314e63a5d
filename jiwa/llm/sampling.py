"""Grammar-constrained sampling the way llama.cpp's own tools do it, for llama-cpp-python.

llama-cpp-python puts the JSON-schema grammar inside its sampler chain, so every generated token runs the grammar
over the whole vocabulary (49,152 tokens for SmolLM2): on a small model that costs more than the decode itself.
llama.cpp's `common_sampler` samples without the grammar first, checks that one token against it, and applies the
grammar to the whole vocabulary only when that token is refused. The output obeys the same grammar either way:
an accepted token is one the grammar allows, a refused one is resampled from the grammar-filtered vocabulary.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
from llama_cpp import Llama, llama_cpp

_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
assert _TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)


class GrammarFirstSampler:
    """Stands in for llama-cpp-python's sampler chain (its `sample(ctx, idx)`), with the grammar checked last."""

    def __init__(self, chain, model, grammar, n_vocab: int) -> None:
        self.chain = chain
        self.grammar = llama_cpp.llama_sampler_init_grammar(
            model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self.grammar:
            raise ValueError("llama.cpp refused the grammar")
        self.n_vocab = n_vocab
        self.accepted = 0  # tokens the unconstrained sample got right: the whole-vocabulary pass was skipped
        self.resampled = 0
        self._ids = np.arange(n_vocab, dtype=np.intc)
        self._data = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._array = llama_cpp.llama_token_data_array(
            data=self._data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data)),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)

    def _candidates(self, ctx, idx: int):
        logits = llama_cpp.llama_get_logits_ith(ctx.ctx, idx)
        self._data["id"] = self._ids
        self._data["logit"] = np.ctypeslib.as_array(logits, shape=(self.n_vocab,))
        self._data["p"] = 0.0
        # llama-cpp-python types the field as an array; the C field, and what ctypes takes, is a pointer.
        self._array.data = self._data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data))  # type: ignore[assignment]
        self._array.size, self._array.selected, self._array.sorted = self.n_vocab, -1, False
        return ctypes.byref(self._array)

    def _allowed(self, token: int) -> bool:
        # llama-cpp-python types the id as a c_int32; ctypes takes (and gives back) a plain int for the field.
        self._one[0].id, self._one[0].logit, self._one[0].p = token, 1.0, 0.0  # type: ignore[assignment]
        self._one_array.size, self._one_array.selected, self._one_array.sorted = 1, -1, False
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self._one_array))
        return not math.isinf(self._one[0].logit)

    def sample(self, ctx, idx: int = -1) -> int:
        llama_cpp.llama_sampler_apply(self.chain.sampler, self._candidates(ctx, idx))
        token = int(self._array.data[self._array.selected].id)
        if self._allowed(token):
            self.accepted += 1
        else:
            self.resampled += 1
            candidates = self._candidates(ctx, idx)
            llama_cpp.llama_sampler_apply(self.grammar, candidates)
            llama_cpp.llama_sampler_apply(self.chain.sampler, candidates)
            token = int(self._array.data[self._array.selected].id)
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain.sampler, token)
        return token

    def close(self) -> None:
        if self.grammar:
            llama_cpp.llama_sampler_free(self.grammar)
            self.grammar = None
        self.chain.close()

    def __del__(self) -> None:
        self.close()


class GrammarFirstLlama(Llama):
    """A Llama whose grammar-constrained generations sample grammar-last (see the module's docstring)."""

    last_sampler: GrammarFirstSampler | None = None

    def _init_sampler(self, *args, **kwargs):
        # Llama passes every sampler setting by keyword; the grammar is kept from the chain and checked last.
        grammar = kwargs.pop("grammar", None)
        chain = super()._init_sampler(*args, **kwargs)
        if grammar is None:
            return chain
        self.last_sampler = GrammarFirstSampler(chain, self._model, grammar, self._n_vocab)
        return self.last_sampler
