"""One algorithm of the `rl` pipeline over several seeds: is its budget reliable?

    python benchmarks/rl_seeds.py [--algorithm ppo] [--timesteps 100000]
                                  [--seeds 0,1,2,3,4]

Trains with the `base` configuration (conf/base/parameters_rl.yml, the
budget overridden by --timesteps) through the pipeline's own library calls,
evaluates on the pipeline's 20 evaluation episodes and prints one row per
seed: mean ± std evaluation reward, minimum, the timestep at which the
training episodes met the solved criterion, and the training wall time.
"""

from __future__ import annotations

import argparse

import yaml
from common import ROOT

from genpipe.rl import agents, evaluation
from genpipe.rl.config import RlConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--algorithm", default="ppo", choices=["ppo", "dqn", "a2c"])
    parser.add_argument("--timesteps", type=int)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    args = parser.parse_args()
    params = yaml.safe_load((ROOT / "conf/base/parameters_rl.yml").read_text())
    rl = RlConfig.model_validate(params["rl"])
    config = getattr(rl, args.algorithm).agent
    if args.timesteps:
        config = config.model_copy(update={"total_timesteps": args.timesteps})
    print(f"\n{args.algorithm.upper()} on {rl.env_id}, {config.total_timesteps} "
          f"timesteps, {rl.eval_episodes} evaluation episodes (seeds "
          f"{rl.eval_seed}+i)")
    print(f"{'seed':>5} {'eval mean':>10} {'std':>6} {'min':>6} "
          f"{'solved at':>10} {'train s':>8}")
    for seed in (int(s) for s in args.seeds.split(",")):
        result = agents.train_agent(config, rl.env_id, seed,
                                    threads=rl.torch_threads, log_metrics=False)
        rewards = evaluation.evaluate_episodes(
            evaluation.agent_policy(result.agent), rl.env_id, rl.eval_episodes,
            rl.eval_seed)["reward"]
        solved = evaluation.timesteps_to_threshold(
            result.episodes["timestep"], result.episodes["reward"],
            rl.solved_threshold, rl.solved_window)
        print(f"{seed:>5} {rewards.mean():>10.1f} {rewards.std(ddof=0):>6.1f} "
              f"{rewards.min():>6.0f} {solved or '-':>10} {result.seconds:>8.1f}",
              flush=True)


if __name__ == "__main__":
    main()
