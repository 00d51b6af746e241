"""``mesakit reproduce goal-misgeneralization``: a competent agent pursues the wrong goal
(after Langosco et al. 2022, "Goal Misgeneralization in Deep Reinforcement Learning", CoinRun).

An MLP policy is trained **from reward** (REINFORCE, :func:`mesakit.divergence.gridpolicy.train_policy`) on
random gridworld levels with walls, the coin always on the right edge; the coin is the only reward.
On held-out levels of that kind it collects the coin. Then the coin moves off the right edge: we
count how often the agent still goes for it and how often it heads to the right edge instead.
The fix: the same training with the coin anywhere, measured on the same shifted levels.
All rates are over ``EVAL_LEVELS`` held-out levels, moves sampled from the policy (seeded). The
recipe and the measurements are :mod:`mesakit.divergence.goals`.

Which goal the agent pursues is judged by which it reaches *first*
(:func:`mesakit.divergence.gridworld.pursued_goal`): ``shifted_proxy_rate`` counts episodes that reach the
right edge before the moved coin, ``shifted_coin_rate`` those that reach the coin first. (Counting a
coin collected at any time within the 147-move budget would let an edge-runner drift onto the coin
while wandering along the edge, which blurs the test with the time limit. Reaching the edge first
is the behaviour Langosco et al. report in CoinRun, where the agent runs to the end of the level
past the coin.)

History: a first version cloned a shortest-path demonstrator that broke ties towards "right", and
saw the agent look at the coin wherever it had seen coins before; that injected the proxy rather
than letting training find it. Now nothing but the training levels favours the edge.
"""

from __future__ import annotations

from pathlib import Path

from ..core import models
from ..core.seeding import seeded
from ..divergence import goals
from ..moved import moved_name


def run(seed: int = 0, steps: int | None = None, progress: bool = True, save: Path | None = None) -> dict:
    with seeded(seed, threads=1):  # one thread: the figures do not depend on the machine's core count
        narrow, diverse, seconds = goals.train_both(seed, steps or goals.STEPS, progress)
        if save:
            models.save(narrow, save)
        return {**goals.evaluate(narrow, diverse), "train_seconds": seconds}


def describe(r: dict) -> str:
    return "\n".join(
        [
            "Goal misgeneralization in a coin gridworld (after Langosco et al. 2022, CoinRun)",
            f"  trained with the coin on the right edge, held-out levels:  coin {r['train_coin_rate']:.2f}",
            f"  coin moved off the edge, goal reached first:   coin {r['shifted_coin_rate']:.2f}   "
            f"right edge first {r['shifted_proxy_rate']:.2f}",
            f"  trained with the coin anywhere, same shifted levels:  coin {r['diverse_shifted_coin_rate']:.2f}",
            f"  training time (both policies)  {r['train_seconds']:.1f} s",
            f"  setup: 7×7 levels, 12% walls, REINFORCE from the coin's reward on 3,000 training levels, "
            f"{goals.EVAL_LEVELS} held-out levels, moves sampled from the policy; the paper: CoinRun with PPO, coin at the level's end",
        ]
    )


def __getattr__(name: str) -> object:  # 0.1's names of the recipe, now in mesakit.divergence.goals
    return moved_name(__name__, name)
