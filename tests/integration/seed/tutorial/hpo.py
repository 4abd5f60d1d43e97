"""The tutorial's hpo.py: the seed's Ray Tune script, Step 1 to Step 4, with pipetune as the
package. Ray is imported before pipetune, as in the seed.

    python hpo.py --num_samples 2 --max_iterations 2 --ncpus 2           # embedded Ray
    python hpo.py --address auto ...                                     # a running cluster
    python hpo.py --load_old_results --experiment_path DIR               # Tuner.restore

The differences from the seed are the ones docs/itwinai.md lists: the search space's
``optim_lr`` is written into the config's ``learning_rate`` (the seed's override of a key the
config does not have is refused), no GPU is asked for when there is none, and the results go
under ``--storage_path``.
"""

import argparse
from typing import Dict

import ray
import torch
from ray import train, tune

from pipetune.parser import ConfigParser


def run_trial(config: Dict, data: Dict):
    pipeline_name = data["pipeline_name"]
    parser = ConfigParser(
        config="config.yaml",
        override_keys={
            # Set hyperparameters controlled by ray
            "batch_size": config["batch_size"],
            "learning_rate": config["optim_lr"],
        },
    )
    my_pipeline = parser.parse_pipeline(pipeline_nested_key=pipeline_name, verbose=False)

    my_pipeline.execute()


def run_hpo(args):
    if not args.load_old_results:
        ray.init(address=args.address)

        search_space = {
            "batch_size": tune.choice([8, 16]),
            "optim_lr": tune.uniform(1e-3, 1e-2),
        }

        tune_config = tune.TuneConfig(
            metric=args.metric,  # Metric to optimize (loss by default)
            mode="min",  # Minimize the loss
            num_samples=args.num_samples,  # Number of trials to run
        )

        run_config = train.RunConfig(
            name=args.name,
            storage_path=args.storage_path,
            stop={"training_iteration": args.max_iterations},
        )

        # If not using GPUs, set ngpus_per_trial to 0 (the seed's adaptation note)
        ngpus_per_trial = max(1, args.ngpus // args.num_samples) if args.ngpus else 0
        ncpus_per_trial = max(1, args.ncpus // args.num_samples)

        resources_per_trial = {"gpu": ngpus_per_trial, "cpu": ncpus_per_trial}
        run_with_resources = tune.with_resources(run_trial, resources=resources_per_trial)

        data = {"pipeline_name": args.pipeline_name}
        trainable_with_parameters = tune.with_parameters(run_with_resources, data=data)

        tuner = tune.Tuner(
            trainable_with_parameters,
            tune_config=tune_config,
            run_config=run_config,
            param_space=search_space,
        )

        result_grid = tuner.fit()

    else:
        print(f"Loading results from {args.experiment_path}...")
        restored_tuner = tune.Tuner.restore(args.experiment_path, trainable=run_trial)
        result_grid = restored_tuner.get_results()

    result_df = result_grid.get_dataframe()
    print(f"All results dataframe: {result_df}")
    print(f"All result columns: {list(result_df.columns)}")
    errors = [str(result.error) for result in result_grid if result.error is not None]
    print(f"Trials: {len(result_grid)}, errors: {len(errors)}")
    for error in errors:
        print(f"Trial error: {error}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Hyperparameter Optimization with Ray Tune")
    parser.add_argument("--load_old_results", action="store_true")
    parser.add_argument("--pipeline_name", type=str, default="training_pipeline")
    parser.add_argument("--experiment_path", type=str, default=None)
    parser.add_argument("--storage_path", type=str, default=None)
    parser.add_argument("--name", type=str, default="Toy-Ray-Experiment")
    parser.add_argument("--address", type=str, default=None)
    parser.add_argument("--num_samples", type=int, default=2, help="Number of trials to run")
    parser.add_argument("--ngpus", type=int, default=0, help="Number of GPUs available on node.")
    parser.add_argument("--ncpus", type=int, default=2, help="Number of CPUs available on node.")
    parser.add_argument("--metric", type=str, default="loss", help="Metric to optimise.")
    parser.add_argument("--max_iterations", type=int, default=2, help="Maximum iterations")

    args = parser.parse_args()

    if torch.cuda.is_available():
        device = "cuda"
        print(f"Using GPU: {torch.cuda.get_device_name(torch.cuda.current_device())}")
    else:
        device = "cpu"
        print("Using CPU")

    run_hpo(args)
