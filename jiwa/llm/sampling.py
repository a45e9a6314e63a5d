"""Grammar-constrained generation for llama-cpp-python: sampled the way llama.cpp's own tools do it, and written
around what the schema fixes.

llama-cpp-python puts the JSON-schema grammar inside its sampler chain, so every generated token runs the grammar
over the whole vocabulary (49,152 tokens for SmolLM2): on a small model that costs more than the decode itself.
llama.cpp's `common_sampler` samples without the grammar first, checks that one token against it, and applies the
grammar to the whole vocabulary only when that token is refused. The output obeys the same grammar either way:
an accepted token is one the grammar allows, a refused one is resampled from the grammar-filtered vocabulary.

A JSON schema's fixed text (braces, keys, separators) is not decoded token by token at all: `fill_schema` appends
it to the prompt and asks the model only for the parts it chooses (jiwa.llm.skeleton).
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from llama_cpp import Llama, LlamaGrammar, llama_cpp

from jiwa.llm.skeleton import Choice, write

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


@dataclass(frozen=True)
class Filled:
    text: str
    tokens: int  # of the text
    decoded: int  # of those, the ones the model decoded one by one; the rest were evaluated in batches
    prompt_evaluated: int  # prompt tokens evaluated, the rest reused from the previous prompt's cache


class GrammarFirstLlama(Llama):
    """A Llama whose grammar-constrained generations sample grammar-last (see the module's docstring)."""

    last_sampler: GrammarFirstSampler | None = None
    # Output tokens written before the current part of a fill_schema: the repetition penalty's memory, as in one
    # generation of the whole output.
    _history: list[int] | tuple[()] = ()

    def _init_sampler(self, *args, **kwargs):
        # Llama passes every sampler setting by keyword; the grammar is kept from the chain and checked last.
        grammar = kwargs.pop("grammar", None)
        chain = super()._init_sampler(*args, **kwargs)
        for token in self._history:
            llama_cpp.llama_sampler_accept(chain.sampler, token)
        if grammar is None:
            return chain
        self.last_sampler = GrammarFirstSampler(chain, self._model, grammar, self._n_vocab)
        return self.last_sampler

    def fill_schema(
        self,
        prompt: list[int],
        schema: dict,
        *,
        max_tokens: int,
        seed: int,
        prompt_evaluated: Callable[[], int],
        **sampling,
    ) -> Filled:
        """JSON for `schema` after the tokens of `prompt`. The schema's fixed text is evaluated in batches, and the
        model writes each choice under a grammar for that choice alone (jiwa.llm.skeleton); llama.cpp's prefix cache
        keeps what was evaluated from one choice to the next. A choice cut short by `max_tokens` ends the output
        there, unfinished, as a whole-output grammar would leave it."""
        budget, decoded, calls, first_evaluated = max_tokens, 0, 0, None

        def choose(text: str, choice: Choice) -> tuple[str, bool]:
            nonlocal budget, decoded, calls, first_evaluated
            if budget <= 0:  # llama-cpp-python reads max_tokens=0 as no limit at all
                return "", False
            written = self.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            evaluated_before = prompt_evaluated()
            self._history = written
            try:
                result = self.create_completion(
                    prompt + written,
                    grammar=self._grammar(choice),
                    max_tokens=min(choice.max_tokens or budget, budget),
                    stop=[choice.stop] if choice.stop else None,
                    seed=seed + calls,
                    **sampling,
                )
            finally:
                self._history = ()
            if first_evaluated is None:
                first_evaluated = prompt_evaluated() - evaluated_before
            calls += 1
            output, used = result["choices"][0], result["usage"]["completion_tokens"]  # type: ignore[index]
            budget, decoded = budget - used, decoded + used
            # A one-token choice ends at its length; any other that does was cut short by the budget.
            return output["text"], output["finish_reason"] == "stop" or choice.max_tokens is not None

        text = write(schema, choose)
        return Filled(
            text=text,
            tokens=len(self.tokenize(text.encode("utf-8"), add_bos=False, special=False)),
            decoded=decoded,
            prompt_evaluated=first_evaluated or 0,
        )

    def _grammar(self, choice: Choice) -> LlamaGrammar:
        cache = self.__dict__.setdefault("_grammars", {})
        if choice.grammar not in cache:
            cache[choice.grammar] = LlamaGrammar.from_string(choice.grammar, verbose=False)
        return cache[choice.grammar]
