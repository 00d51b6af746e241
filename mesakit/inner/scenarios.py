"""Lesson 01's concept check: short scenarios in which the learner names the base optimizer, the
base objective and the mesa objective, each as a multiple-choice question.

The scenarios and their options are plain data (:data:`SCENARIOS`), rendered by :func:`as_markdown`.
The answer key is stored only as salted SHA-256 hashes (:data:`ANSWER_HASHES`), so reading this file
does not reveal it; :func:`grade` says which scenario/field is wrong. With four options per question
this is a speed bump against peeking, not cryptography: the point is that the key is not *readable*.
The check that the notebook calls is ``mesakit.checks.check_concept_answers``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SALT = "mesakit/01_base_and_mesa/concept-check/v1"
FIELDS = ("base_optimizer", "base_objective", "mesa_objective")
FIELD_NAMES = {
    "base_optimizer": "base optimizer",
    "base_objective": "base objective",
    "mesa_objective": "mesa objective",
}

# What to re-read when a field is wrong (deliberately the same for every scenario: no key leaks).
FIELD_HINTS = {
    "base_optimizer": "the base optimizer is the process that shapes the system from the outside, by "
    "updating or selecting its parameters; it is never something running inside the trained system",
    "base_objective": "the base objective is the score the base optimizer uses to judge the system "
    "during training or selection, not what the system itself ends up wanting",
    "mesa_objective": "the mesa objective is what the trained system itself optimizes when it runs; it "
    "can differ from the base objective, and a system that does no optimization inside has none",
}


@dataclass(frozen=True)
class Scenario:
    key: str  # identifier used in the learner's answer dict
    title: str
    text: str  # the story, a few sentences
    options: dict[str, dict[str, str]]  # field -> {letter: option text}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        key="evolution",
        title="Evolution and the human brain",
        text=(
            "Over millions of years, natural selection favoured the ancestors who left more surviving "
            "descendants. One product of that process, the human brain, plans: people work out how to "
            "get tasty food, friendship, comfort and status, and many deliberately choose to have few "
            "or no children."
        ),
        options={
            "base_optimizer": {
                "a": "the planning that goes on in each person's brain",
                "b": "natural selection acting on heritable variation",
                "c": "each person's parents and teachers",
                "d": "gradient descent on the brain's synapses",
            },
            "base_objective": {
                "a": "spreading one's genes: leaving many descendants who carry them",
                "b": "pleasure and comfort",
                "c": "the survival of the species as a whole",
                "d": "accurate predictions about the world",
            },
            "mesa_objective": {
                "a": "spreading one's genes: leaving many descendants who carry them",
                "b": "whatever natural selection intended",
                "c": "the goals people actually plan for: food, friends, comfort, status",
                "d": "none: people do not optimize anything",
            },
        },
    ),
    Scenario(
        key="handbuilt",
        title="This lesson's hand-built mesa optimizer",
        text=(
            "A model's forward pass runs K steps of gradient descent on the N context examples "
            "(x_i, y_i) of its prompt, then predicts the query's label y_q. SGD tunes the model's one "
            "parameter, the inner step size η, on many prompts."
        ),
        options={
            "base_optimizer": {
                "a": "the K gradient-descent steps inside the forward pass",
                "b": "the least-squares formula for the best w",
                "c": "SGD updating the step size η",
                "d": "none: nothing is trained",
            },
            "base_objective": {
                "a": "the least-squares loss on the prompt's N context examples",
                "b": "the squared error of the prediction of y_q, averaged over prompts",
                "c": "making η as small as possible",
                "d": "the number of inner steps K",
            },
            "mesa_objective": {
                "a": "the squared error of the prediction of y_q, averaged over prompts",
                "b": "making η as large as possible",
                "c": "none: a fixed formula cannot optimize",
                "d": "the least-squares loss on the prompt's N context examples",
            },
        },
    ),
    Scenario(
        key="coinrun",
        title="The coin at the end of the level",
        text=(
            "An agent in a platform game is trained by reinforcement learning: a policy-gradient "
            "algorithm updates its network's weights to earn reward, given for touching a coin. In every "
            "training level the coin sits at the far right end. The trained network plans routes around "
            "obstacles. In test levels with the coin placed elsewhere, it skilfully runs to the right "
            "end of the level and ignores the coin."
        ),
        options={
            "base_optimizer": {
                "a": "the policy-gradient algorithm updating the network's weights",
                "b": "the agent's route planning",
                "c": "the designer who placed the coins",
                "d": "the coin",
            },
            "base_objective": {
                "a": "reaching the right end of the level",
                "b": "moving as fast as possible",
                "c": "staying alive",
                "d": "the reward for touching the coin",
            },
            "mesa_objective": {
                "a": "the reward for touching the coin",
                "b": "reaching the right end of the level",
                "c": "maximizing the policy gradient",
                "d": "none: a game agent cannot have a goal",
            },
        },
    ),
    Scenario(
        key="spam",
        title="A spam filter",
        text=(
            "A spam filter is a logistic-regression model: it scores an email by a fixed weighted sum of "
            "its word counts. The weights were fitted by stochastic gradient descent to minimize the "
            "cross-entropy against labels 'spam' / 'not spam' given by people."
        ),
        options={
            "base_optimizer": {
                "a": "the weighted sum of word counts",
                "b": "the people who labelled the emails",
                "c": "none: logistic regression is not an optimizer",
                "d": "SGD fitting the weights",
            },
            "base_objective": {
                "a": "the cross-entropy against the people's labels",
                "b": "the number of emails it reads",
                "c": "the weighted sum of word counts",
                "d": "none",
            },
            "mesa_objective": {
                "a": "the cross-entropy against the people's labels",
                "b": "catching as much spam as it can",
                "c": "the weighted sum of word counts",
                "d": "none: its forward pass is a fixed weighted sum, with no search or optimization inside",
            },
        },
    ),
)

# sha256(f"{SALT}|{scenario}|{field}|{letter}") of the correct letter, per scenario and field.
ANSWER_HASHES: dict[str, dict[str, str]] = {
    "evolution": {
        "base_optimizer": "2f55622a8077252d60c8ecb3f93572a6f5cbda1dfa7c34ed82a972463dcdb03e",
        "base_objective": "8fb611ed88419b40f887075a5b4a45ddcd0176e1d82e26da76df8f8d7cb70132",
        "mesa_objective": "d81d7a8b8d4a737a7ccf743382844fc326b4d1c6aa3d6a930e7a578cec39cff1",
    },
    "handbuilt": {
        "base_optimizer": "8a53bad200dca1ca649d680787aef5de615bdc0a4eda66521bd73f1eb250d62b",
        "base_objective": "33f3abfb41dfe1fd0305dc456f38c050e507ddbd3e87d28336af38b81c1bf5b9",
        "mesa_objective": "e6a19d9fdedacb551e16567da2dac85c3fbe5821164c114b0572a9951098401c",
    },
    "coinrun": {
        "base_optimizer": "36d40d1677dd60a02147bb8a6e8a948897300b49047cd2e092402b63ba34c073",
        "base_objective": "7a4fd32dc756789f9e3c9e414b9f9d218027a4f69469293d3f311b7cca8544ed",
        "mesa_objective": "06a40a4fbdd285330d79cd110ce5556022489b8212666ff7a1c5f4aa997f4ad3",
    },
    "spam": {
        "base_optimizer": "99c75a2bc2f9c5d7158fda7a6ca6696933ebfcd72ae1245e0df392f2450258bf",
        "base_objective": "9ef0a4002abe2fc3cad440025cea2e02ad1aeeeedd279a0ed649a85403722525",
        "mesa_objective": "b5696e357ca238ad2a54914ae9b6986edb935f0c6525f78ce93aece2a7c9001c",
    },
}


def feedback_keystream(scenario: str, field: str, letter: str, n: int) -> bytes:
    """``n`` bytes that seal/unseal the feedback text of one option (see ``scenarios_feedback``)."""
    out = b""
    block = 0
    while len(out) < n:
        out += hashlib.sha256(f"{SALT}|feedback|{scenario}|{field}|{letter}|{block}".encode()).digest()
        block += 1
    return out[:n]


def explain(scenario: str, field: str, letter: str) -> str:
    """Why option ``letter`` of this question is wrong (or, for the right one, why it is right)."""
    import base64

    from .scenarios_feedback import SEALED

    data = base64.b64decode(SEALED[scenario][field][letter])
    return bytes(a ^ b for a, b in zip(data, feedback_keystream(scenario, field, letter, len(data)))).decode()


def right_letter(scenario: str, field: str) -> str:
    """The right option's letter (found by trying each against the salted hash)."""
    return next(
        l for l in get(scenario).options[field] if answer_hash(scenario, field, l) == ANSWER_HASHES[scenario][field]
    )


def answer_hash(scenario: str, field: str, letter: str) -> str:
    """The salted hash stored for a correct answer."""
    return hashlib.sha256(f"{SALT}|{scenario}|{field}|{letter}".encode()).hexdigest()


def get(key: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.key == key:
            return scenario
    raise KeyError(f"no scenario {key!r}; the scenarios are: {', '.join(s.key for s in SCENARIOS)}")


def answer_template() -> dict[str, dict[str, str | None]]:
    """The shape of an answer: ``{scenario: {field: None}}``, to fill with option letters."""
    return {s.key: {f: None for f in FIELDS} for s in SCENARIOS}


def as_markdown() -> str:
    """All scenarios with their lettered options, for display in the notebook."""
    parts = []
    for i, s in enumerate(SCENARIOS, 1):
        parts.append(f'**Scenario {i} — {s.title}** (`"{s.key}"`)\n\n{s.text}\n')
        # One table per scenario: a row per letter, a column per field.
        parts.append("| | " + " | ".join(f'`"{field}"`' for field in FIELDS) + " |")
        parts.append("|---|" + "---|" * len(FIELDS))
        for letter in s.options[FIELDS[0]]:
            cells = " | ".join(s.options[field][letter] for field in FIELDS)
            parts.append(f"| **{letter}** | {cells} |")
        parts.append("")
    return "\n".join(parts)


def validate(answers: object, only: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Normalize an answer dict (letters lower-cased and stripped); raise ``ValueError`` naming the
    first problem with its structure (missing scenario or field, unknown letter...).

    ``only`` names the scenarios to validate (default: all); the others may be left blank, so a
    learner who has answered one scenario gets that one graded."""
    if not isinstance(answers, dict):
        raise ValueError(f"answers must be a dict {{scenario: {{field: letter}}}}, got {type(answers).__name__}")
    unknown = sorted(set(answers) - {s.key for s in SCENARIOS})
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; the scenarios are: {', '.join(s.key for s in SCENARIOS)}")
    wanted = selected(only)
    clean: dict[str, dict[str, str]] = {}
    for s in wanted:
        given = answers.get(s.key)
        if not isinstance(given, dict):
            raise ValueError(f"scenario {s.key!r} is missing: give a dict {{field: letter}} for it")
        extra = sorted(set(given) - set(FIELDS))
        if extra:
            raise ValueError(f"scenario {s.key!r} has unknown field(s) {extra}; the fields are {', '.join(FIELDS)}")
        clean[s.key] = {}
        for field in FIELDS:
            letter = given.get(field)
            if not isinstance(letter, str) or letter.strip().lower() not in s.options[field]:
                choices = ", ".join(repr(k) for k in s.options[field])
                raise ValueError(f"{s.key} → {field}: answer with one of the letters {choices}, got {letter!r}")
            clean[s.key][field] = letter.strip().lower()
    return clean


def selected(only: list[str] | None = None) -> list[Scenario]:
    """The scenarios named by ``only`` (default: all), in that order; unknown keys raise KeyError."""
    if only is None:
        return list(SCENARIOS)
    if isinstance(only, str):  # a bare key would be split into letters
        only = [only]
    return [get(key) for key in only]


def grade(answers: object, only: list[str] | None = None) -> list[tuple[str, str]]:
    """The ``(scenario, field)`` pairs answered wrongly, in order; empty when all are right.
    ``only`` grades (and validates) just those scenarios."""
    clean = validate(answers, only)
    return [
        (s.key, field)
        for s in selected(only)
        for field in FIELDS
        if answer_hash(s.key, field, clean[s.key][field]) != ANSWER_HASHES[s.key][field]
    ]
