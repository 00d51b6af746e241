"""Seal lesson 01's concept-check feedback into mesakit/scenarios_feedback.py.

The plain text below is instructor material (like solutions/): for every option, why it is wrong
(or, for the right one, why it is right, shown only after two different wrong tries). The package
stores each text XOR-ed with a keystream derived from (scenario, field, letter), so reading the
installed package does not reveal which option is right; the check unseals only the text of the
letter a learner chose. A speed bump against peeking, not cryptography (see mesakit/inner/scenarios.py).

    .venv/bin/python tools/concept_feedback.py        # rewrites mesakit/scenarios_feedback.py
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from mesakit.inner.scenarios import FIELDS, SCENARIOS, feedback_keystream  # noqa: E402

TEXT = {
    "evolution": {
        "base_optimizer": {
            "a": "planning happens inside the finished product, while a person lives; the base optimizer is the process that shaped brains from the outside, over generations",
            "b": "natural selection is the outer process: it kept the variants that left more descendants",
            "c": "parents and teachers shape one person within one lifetime; ask what, over millions of years, produced the brain itself",
            "d": "learning within a lifetime is something the brain does; the scenario names another process that acted on the ancestors",
        },
        "base_objective": {
            "a": "selection favoured whoever left more descendants carrying their genes: that is the score it applied",
            "b": "pleasure and comfort are what people pursue; the base objective is the score the selecting process itself used to favour some ancestors over others",
            "c": "selection favours the reproductive success of individuals (their genes), not the good of the species: re-read what the scenario says was favoured",
            "d": "good predictions helped, but selection did not score ancestors on prediction as such: what did it count?",
        },
        "mesa_objective": {
            "a": "that is the criterion of the process that built brains; the scenario says many people choose few children, so look at what they actually plan for",
            "b": "natural selection has no intentions, and the mesa objective is the system's own goal, whatever that turns out to be",
            "c": "people plan for food, friends, comfort and status: goals of their own, which differ from spreading genes",
            "d": "people plan: they search among ways to reach their goals, which is optimization at run time",
        },
    },
    "handbuilt": {
        "base_optimizer": {
            "a": "those steps run inside the forward pass, on every prompt: that is the mesa level; the base optimizer is what trains the model",
            "b": "no closed-form solve appears anywhere in this model: look for what updates its trainable parameter",
            "c": "SGD on η is the outer training loop that shapes the model",
            "d": "the scenario says the model's one parameter is tuned on many prompts: by what?",
        },
        "base_objective": {
            "a": "that is what the forward pass itself lowers on each prompt; the base optimizer judges the model by something else",
            "b": "SGD tunes η so that the predictions of y_q are good across prompts",
            "c": "nothing rewards a small η; SGD follows the gradient of a loss: which loss is computed in training?",
            "d": "K is fixed by the designer; it is a setting, not a score",
        },
        "mesa_objective": {
            "a": "the model never sees y_q in its forward pass, so it cannot optimize it: that is the loss it is trained on",
            "b": "η is set by the base optimizer; ask what each inner step makes smaller",
            "c": "the forward pass runs gradient descent, an optimizer, on a loss computed from the prompt",
            "d": "every inner step lowers the least-squares loss on the prompt's context examples",
        },
    },
    "coinrun": {
        "base_optimizer": {
            "a": "the policy-gradient algorithm is the outer process that updates the weights",
            "b": "route planning runs inside the trained network while it plays: that is the mesa level",
            "c": "the designer chose the training levels, but something else updates the weights",
            "d": "the coin is part of the environment; it updates nothing",
        },
        "base_objective": {
            "a": "that is what the agent ended up pursuing; training paid out reward for something else",
            "b": "nothing in the scenario rewards speed",
            "c": "the scenario says what reward was given for, and it is not survival",
            "d": "reward was given for touching the coin: that is what training scored",
        },
        "mesa_objective": {
            "a": "at test time it ignores the coin: its behaviour shows what it actually pursues",
            "b": "it skilfully heads for the right end even when the coin is elsewhere: that is its own goal",
            "c": "the policy gradient belongs to the training algorithm; the agent computes nothing of the kind while it plays",
            "d": "it plans routes around obstacles towards one place, level after level: that is goal-directed behaviour",
        },
    },
    "spam": {
        "base_optimizer": {
            "a": "the weighted sum is the model's forward pass: it computes a score, it does not optimize",
            "b": "the people produced the labels; something else fitted the weights",
            "c": "the model is not an optimizer, but its weights were fitted by one, and that one is the base optimizer",
            "d": "SGD fitted the weights: it is the outer optimizer",
        },
        "base_objective": {
            "a": "SGD minimized the cross-entropy against the people's labels",
            "b": "the number of emails is not a score anything was trained to improve",
            "c": "the weighted sum is the model's output, not the criterion it was trained on",
            "d": "the scenario names what SGD minimized",
        },
        "mesa_objective": {
            "a": "that is the base objective; does the filter minimize anything while it scores an email?",
            "b": "it behaves as if it wanted that, but there is no search inside it: behaving well is not optimizing",
            "c": "the weighted sum is the computation itself, not a goal it pursues",
            "d": "its forward pass is one fixed weighted sum: nothing inside searches or optimizes, so it has no mesa objective",
        },
    },
}


def seal(scenario: str, field: str, letter: str, text: str) -> str:
    data = text.encode()
    stream = feedback_keystream(scenario, field, letter, len(data))
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, stream))).decode()


def main() -> None:
    lines = [
        '"""Lesson 01 concept-check feedback, sealed (written by tools/concept_feedback.py; do not edit).',
        "",
        "For each scenario, field and letter: why that option is wrong (or, for the right one, why it is",
        "right), XOR-ed with :func:`mesakit.inner.scenarios.feedback_keystream`. :func:`mesakit.inner.scenarios.explain`",
        'unseals the text of a letter a learner chose."""',
        "",
        "SEALED: dict[str, dict[str, dict[str, str]]] = {",
    ]
    for s in SCENARIOS:
        lines.append(f"    {s.key!r}: {{")
        for field in FIELDS:
            lines.append(f"        {field!r}: {{")
            for letter in s.options[field]:
                lines.append(f"            {letter!r}: {seal(s.key, field, letter, TEXT[s.key][field][letter])!r},")
            lines.append("        },")
        lines.append("    },")
    lines.append("}")
    (ROOT / "mesakit" / "scenarios_feedback.py").write_text("\n".join(lines) + "\n")
    # The texts must agree with the answer key: exactly the right letter's text says why it is right.
    for s in SCENARIOS:
        for field in FIELDS:
            assert set(TEXT[s.key][field]) == set(s.options[field]), (s.key, field)


if __name__ == "__main__":
    main()
