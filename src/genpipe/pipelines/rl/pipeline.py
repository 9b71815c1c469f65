"""The `rl` pipeline: one namespace per algorithm (`rl.ppo`, `rl.dqn`, `rl.a2c`)
over a shared template, then a comparison across them (namespace `rl`).

`kedro run --pipelines rl --namespaces rl.ppo` trains and evaluates PPO alone.
"""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.rl.nodes import compare_agents, evaluate_agent, train_agent
from genpipe.tracking import run_tags

ALGORITHMS = ("ppo", "dqn", "a2c")  # each has an `rl.<name>.agent` parameters block
SHARED = {"params:rl", "params:seed", "params:device"}


def _agent_pipeline(name: str) -> Pipeline:
    template = Pipeline([
        Node(train_agent,
             ["params:agent", "params:rl", "params:seed", "params:device"],
             ["policy", "training_episodes", "training_summary"],
             name="train_agent_node"),
        # Evaluates the agent as loaded back from its saved zip.
        Node(evaluate_agent,
             ["policy", "training_summary", "params:agent", "params:rl"],
             ["eval_episodes", "metrics", "eval_rewards_plot", "summary"],
             name="evaluate_agent_node"),
    ], tags=run_tags(name, "rl"))
    return Pipeline(template, namespace=f"rl.{name}", parameters=SHARED)


def create_pipeline(**kwargs) -> Pipeline:
    outputs = {"summary": "summary", "training": "training_episodes",
               "evaluation": "eval_episodes"}
    inputs = {f"{name}_{arg}": f"rl.{name}.{dataset}"
              for name in ALGORITHMS for arg, dataset in outputs.items()}
    compare = Pipeline([
        Node(compare_agents, {"rl_params": "params:rl", **inputs},
             ["rl.comparison", "rl.comparison_plot"], name="compare_agents_node",
             namespace="rl"),
    ])
    return sum((_agent_pipeline(name) for name in ALGORITHMS), compare)
