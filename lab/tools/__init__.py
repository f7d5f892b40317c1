"""The user tooling behind `python -m lab`: the demo and its sync round, playbook runs, their history and views,
playbook checks and migration, settings, templating and the module image."""
