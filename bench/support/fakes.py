"""A fake LLAMA for logic tests and benchmarks: it answers the insight prompt with schema-valid JSON derived from the
prompt itself."""

from __future__ import annotations

import json
import re

from pydantic import Field

from assets.resources import LlamaResource
from jiwa.llm import Completion, StructuredLLM


class FakeChatBackend:
    """Writes an insight about whatever topic and facet the prompt names; `script` can force raw outputs first."""

    model_id = "fake-llama"
    RAW_RATE = 1000.0

    def __init__(self, script: list[str] | None = None, copies_users: bool = False) -> None:
        self.script = list(script or [])
        self.copies_users = copies_users
        self.calls: list[list[dict]] = []
        self.raw_probes = 0

    def complete(self, messages, *, json_schema, max_tokens, temperature, seed) -> Completion:
        self.calls.append(messages)
        # Which prompt asks is read from the output schema it constrains to (each prompt file names its own model),
        # never from the prompt's wording: rewording a prompt file leaves the branch a test takes alone.
        output = json_schema.get("title")
        if self.script:
            text = self.script.pop(0)
        elif output == "InsightVerdict":
            text = json.dumps({"agrees": "yes"})
        elif self.copies_users and output == "NightlyFinding":
            text = json.dumps(verbatim_finding(messages[-1]["content"]))
        elif output == "NightlyFinding":
            first = _found(r"^T\d+ user: (.*)$", messages[-1]["content"], flags=re.MULTILINE)
            rated_down = "rated this reply down" in messages[-1]["content"]
            text = json.dumps(
                {
                    "kind": "phrasing_failed" if rated_down else "cultural_pattern",
                    # A lesson drawn from the conversation, in its own words: it names what it was about, no more.
                    "insight": f"Newcomers who ask about {max(re.findall(r'[A-Za-z]+', first), key=len)} want "
                    "reassurance before the practical steps.",
                    "guidance": "Acknowledge the worry warmly, then give one concrete next step they can take today.",
                    "triggers": {"id": ["saya khawatir"], "en": ["I'm worried"], "it": ["sono preoccupato"]},
                    "tone_tags": ["warm", "reassuring"],
                }
            )
        elif output == "ConversationAnalysis":
            text = json.dumps(fake_analysis(messages[-1]["content"]))
        elif output == "IntentParaphrases":
            # Reuses the examples with a friendly prefix, as a model that paraphrases lightly would.
            examples = re.findall(r"^- (.+)$", messages[-1]["content"], flags=re.MULTILINE)
            text = json.dumps(
                {
                    "phrasings": [
                        f"{prefix} {example}" for prefix, example in zip(("pls", "ok so"), examples, strict=False)
                    ]
                }
            )
        elif output == "CachedAnswer":
            reference = _found(r"The team's answer, to keep the same facts: (.+)", messages[-1]["content"])
            text = json.dumps({"answer": reference.replace(". ", "! ", 1)})
        elif output == "CulturalInsight":
            # The insight prompt: an insight built from what the team wrote about the topic, as a good model would.
            user = messages[-1]["content"]
            topic = _found(r"Topic: (.+?) \(category", user)
            facet = _found(r"Facet: (.+)", user)
            # Following the prompt, it states no numbers: clauses of the team's line that hold one are left out.
            description = _found(r"What the team knows: (.+)", user)
            description = ",".join(part for part in description.split(",") if not re.search(r"\d", part))
            text = json.dumps(
                {
                    "insight": f"{description} {_FACET_ADDITIONS.get(facet, f'It shapes how people talk about {topic}.')}",
                    "guidance": f"Answer about {topic} gently, acknowledge the feeling, then give one clear step.",
                    "triggers": {
                        "id": [f"halo kak, saya mau tanya soal {topic} ya"],
                        "en": [f"hi, what does {topic} mean for me here? ({facet})"[:80]],
                        "it": [f"ciao, come devo capire {topic}? grazie"],
                    },
                    "tone_tags": ["warm", "patient"],
                }
            )
        else:
            raise AssertionError(f"The fake LLAMA has no answer for output {output!r}; script one.")
        prompt_tokens = sum(len(m["content"]) // 4 for m in messages)
        # Like llama.cpp's prefix cache: only what follows the system message shared with the previous call is read.
        shared = len(self.calls) > 1 and self.calls[-2][0] == messages[0]
        evaluated = prompt_tokens - len(messages[0]["content"]) // 4 if shared else prompt_tokens
        return Completion(
            text=text, prompt_tokens=prompt_tokens, completion_tokens=len(text) // 4, prompt_tokens_evaluated=evaluated
        )

    def raw_token_rate(self, prompt: str, max_tokens: int) -> tuple[int, float]:
        """A raw decode rate for the metadata: RAW_RATE tokens/s, without a model."""
        self.raw_probes += 1
        return max_tokens, max_tokens / self.RAW_RATE


def _found(pattern: str, text: str, flags: int = 0) -> str:
    """The first group of the pattern in a prompt; a prompt without it is not one the fake knows how to answer."""
    match = re.search(pattern, text, flags=flags)
    if match is None:
        raise AssertionError(f"The fake LLAMA expected the prompt to contain {pattern!r}")
    return match.group(1)


def verbatim_finding(prompt: str) -> dict:
    """The worst case of a nightly finding: everything the user wrote, and their feedback, copied as the lesson."""
    said = " ".join(re.findall(r"^T\d+ user: (.*)$", prompt, flags=re.MULTILINE))
    rated = _found(r"Ratings of Jiwa's replies: (.*)$", prompt, flags=re.MULTILINE)
    comment = rated.split(": ", 1)[1] if ": " in rated else said
    return {
        "kind": "cultural_pattern",
        "insight": f"Lesson: {said} {comment}"[:280],
        "guidance": f"Tell users: {comment}"[:280],
        "triggers": {"id": [said[:80] or "halo"], "en": [said[:80] or "hello"], "it": [said[:80] or "ciao"]},
        "tone_tags": ["warm"],
    }


# What a decent model adds to the team's description for each facet, so that insights of one topic differ.
_FACET_ADDITIONS = {
    "what the signal really means": "Underneath the words there is usually a feeling that deserves to be named kindly.",
    "how to respond warmly in a chat": "A short warm reply that mirrors the person's tone works better than a lecture.",
    "a common mistake foreigners make": "Newcomers often read it literally and react too fast, which can hurt trust.",
    "how it shows up in business or with officials": "With officials and partners it shapes every step, so polite forms pay off.",
    "how it shows up in daily life in Bali": "Neighbours, drivers and landlords show it several times a day in small ways.",
}

_WORRY = ("worried", "paura", "takut", "bingung", "malu", "capek", "stres", "confused", "overwhelmed", "preoccupat")
_NAME = re.compile(r"(?i:my name is|mi chiamo|nama saya|I'm|sono) ([A-Z][a-z]+)")


def fake_analysis(prompt: str) -> dict:
    """An analysis that cites the transcript's user turns, and the name if someone says it (as a good model would)."""
    user_turns = [(int(n), text) for n, text in re.findall(r"^T(\d+) user: (.*)$", prompt, flags=re.MULTILINE)]
    first = [user_turns[0][0]] if user_turns else [1]
    worry = next(
        (
            (n, text[text.lower().index(word) :][:100])
            for n, text in user_turns
            for word in _WORRY
            if word in text.lower()
        ),
        None,
    )
    named = next(((n, m.group(1)) for n, text in user_turns if (m := _NAME.search(text))), None)
    claim = lambda value, evidence=first: {"value": value, "evidence": evidence}  # noqa: E731
    return {
        # A summary of what they wrote, as a good model would give (and the support check expects).
        "summary": f"The person wrote about this: {user_turns[0][1][:150] if user_turns else 'moving to Bali'}",
        "emotional_state": claim("anxious" if worry else "curious"),
        "emotional_trajectory": "improving",
        "personality": claim("careful_planner"),
        "communication_style": claim("detailed"),
        "relationship_phase": claim("getting_to_know"),
        "trust_level": claim("medium"),
        "life_phase": claim("planning"),
        # What they said they fear, in their own words: a claim their turns support.
        "anxieties": [claim(worry[1], [worry[0]])] if worry else [],
        "facts": {
            "name": claim(named[1], [named[0]]) if named else None,
            "interests": [claim("yoga")] if any("yoga" in text.lower() for _, text in user_turns) else [],
            "plans": [],
        },
    }


class FakeLlamaResource(LlamaResource):
    """LlamaResource whose backend is the fake; everything else (validation, retries, counting) is the real code."""

    script: list[str] = Field(default_factory=list, description="Raw outputs to return before the generated ones.")
    copies_users: bool = Field(default=False, description="Nightly findings copy the users' words verbatim.")

    def setup_for_execution(self, context) -> None:
        settings = self.settings()
        backend = FakeChatBackend(self.script, self.copies_users)
        self._llm = StructuredLLM(
            backend, temperature=settings.temperature, seed=settings.seed, max_retries=settings.max_retries
        )
