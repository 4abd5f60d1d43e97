"""The seed tutorial's hpo.py, step by step, on pipetune.

    python hpo.py --num_samples 4 --max_iterations 2
    python hpo.py --load_old_results --experiment_path runs/Fashion-Ray-Experiment

`pipetune tune config.yaml` does all of this (and more) from the YAML's `tune:` section.
Ray is imported before pipetune, as in the seed: pipetune.pth has set Ray's defaults
(Train V1, so train.RunConfig(stop=...) and train.report work) when Python started.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch
from ray import train, tune

from pipetune.parser import ConfigParser

HERE = Path(__file__).resolve().parent


def run_trial(config: dict[str, Any], data: dict[str, Any]) -> None:
    """One trial: the pipeline with Ray's sampled values written into the YAML."""
    parser = ConfigParser(
        config=str(HERE / "config.yaml"),
        override_keys={
            # Keys as the YAML names them: the trainer reads ${batch_size} and ${learning_rate}.
            "batch_size": config["batch_size"],
            "learning_rate": config["learning_rate"],
            "epochs": data["epochs"],
            # The seed-style trainer reports "loss" itself with ray.train.report.
            "training_pipeline.init_args.steps.2": {
                "class_path": "model.FashionTrainer",
                "init_args": {
                    "epochs": "${epochs}",
                    "config": {"batch_size": "${batch_size}", "optim_lr": "${learning_rate}"},
                },
            },
        },
    )
    my_pipeline = parser.parse_pipeline(pipeline_nested_key=data["pipeline_name"], verbose=False)
    my_pipeline.execute()


def run_hpo(args: argparse.Namespace) -> None:
    if args.load_old_results:
        tuner = tune.Tuner.restore(args.experiment_path, trainable=build_trainable(args))
        result_grid = tuner.fit()
    else:
        search_space = {
            "batch_size": tune.choice([64, 128, 256]),
            "learning_rate": tune.uniform(1e-4, 1e-2),
        }
        tune_config = tune.TuneConfig(
            metric=args.metric, mode="min", num_samples=args.num_samples, reuse_actors=True
        )
        run_config = train.RunConfig(
            name="Fashion-Ray-Experiment",
            storage_path=str(HERE / "runs"),
            stop={"training_iteration": args.max_iterations},
            verbose=0,
        )
        tuner = tune.Tuner(
            build_trainable(args),
            tune_config=tune_config,
            run_config=run_config,
            param_space=search_space,
        )
        result_grid = tuner.fit()
    frame = result_grid.get_dataframe()
    columns = [c for c in frame.columns if c.startswith("config/")] + [args.metric]
    print(frame[columns].sort_values(args.metric).to_string(index=False))
    best = result_grid.get_best_result()
    print(f"best {args.metric}: {best.metrics[args.metric]:.4f} with {best.config}")


def build_trainable(args: argparse.Namespace) -> Any:
    ngpus_per_trial = max(1, args.ngpus // args.num_samples) if args.ngpus else 0
    ncpus_per_trial = max(1, args.ncpus // args.num_samples)
    resources_per_trial = {"gpu": ngpus_per_trial, "cpu": ncpus_per_trial}
    run_with_resources = tune.with_resources(run_trial, resources=resources_per_trial)
    data = {"pipeline_name": args.pipeline_name, "epochs": args.max_iterations}
    return tune.with_parameters(run_with_resources, data=data)


def main() -> None:
    parser = argparse.ArgumentParser(description="Hyperparameter optimisation with Ray Tune")
    parser.add_argument("--load_old_results", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--experiment_path", default=str(HERE / "runs" / "Fashion-Ray-Experiment"))
    parser.add_argument("--pipeline_name", default="training_pipeline")
    parser.add_argument("--num_samples", type=int, default=4)
    parser.add_argument("--max_iterations", type=int, default=2)
    parser.add_argument("--metric", default="loss")
    parser.add_argument("--ngpus", type=int, default=torch.cuda.device_count())
    parser.add_argument("--ncpus", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if torch.cuda.is_available():
        print(f"Using GPU: {torch.cuda.get_device_name(torch.cuda.current_device())}")
    else:
        print("Using CPU")
    run_hpo(args)


if __name__ == "__main__":
    main()
